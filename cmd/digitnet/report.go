package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/internal/diag"
	"github.com/digitnet/digitnet/internal/report"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

// worstDigits runs net over d (whose raw pixels are pixels, 784 per example) and returns
// the n misclassified examples it was most confident about.
func worstDigits(net *nn.Network, d train.Data, pixels []uint8, n int) []report.Digit {
	const batch = 1000
	shape := d.Shape()
	dim := tensor.Size(shape)
	x := tensor.New(append([]int{batch}, shape...)...)
	labels := make([]int, batch)
	idx := make([]int, batch)
	var wrong []report.Digit
	for lo := 0; lo < d.Len(); lo += batch {
		b := min(batch, d.Len()-lo)
		for i := range b {
			idx[i] = lo + i
		}
		x.Resize(append([]int{b}, shape...)...)
		d.Batch(idx[:b], x.Data[:b*dim], labels[:b])
		probs := net.Predict(x)
		K := probs.Cols()
		for i := range b {
			row := probs.Data[i*K : (i+1)*K]
			p := nn.Argmax(row)
			if K == 1 {
				p = net.Class(row)
			}
			if p != labels[i] {
				e := lo + i
				wrong = append(wrong, report.Digit{Pixels: pixels[e*784 : (e+1)*784], True: labels[i], Predicted: p, Probability: float64(row[min(p, K-1)])})
			}
		}
	}
	slices.SortStableFunc(wrong, func(a, b report.Digit) int {
		switch {
		case a.Probability > b.Probability:
			return -1
		case a.Probability < b.Probability:
			return 1
		}
		return 0
	})
	return wrong[:min(n, len(wrong))]
}

// withMetrics fills the per-class table from the confusion matrix.
func withMetrics(r report.Report) report.Report {
	if r.Confusion != nil {
		if m, err := report.Metrics(r.Confusion, r.Classes); err == nil {
			r.PerClass = m
		}
	}
	return r
}

func historyOf(h []train.Epoch) []report.Epoch {
	out := make([]report.Epoch, len(h))
	for i, e := range h {
		out[i] = report.Epoch{Epoch: e.Epoch, Loss: e.Loss, TrainAccuracy: e.TrainAccuracy, TestAccuracy: e.TestAccuracy}
	}
	return out
}

func findingsOf(fs []diag.Finding) []report.Finding {
	out := make([]report.Finding, len(fs))
	for i, f := range fs {
		out[i] = report.Finding{ID: f.ID, Severity: string(f.Severity), Message: f.Message, Fix: f.Fix}
	}
	return out
}

func layersOf(ss []diag.Sample) []report.Layer {
	out := make([]report.Layer, len(ss))
	for i, s := range ss {
		out[i] = report.Layer{Name: fmt.Sprintf("layer %d: %s (%d units)", s.Layer, s.Kind, s.Units), Kind: s.Kind, PreActivations: s.Values}
	}
	return out
}

func commandLine(name string, args []string) string {
	return "digitnet " + name + " " + strings.Join(args, " ")
}
