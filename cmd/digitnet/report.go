package main

import (
	"fmt"
	"strings"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/diag"
	"github.com/digitnet/digitnet/internal/report"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/train"
)

// worstDigits are the n misclassified examples of d the network was most confident
// about, with their pixels from set (d is set's data, as the network sees it).
func worstDigits(net *nn.Network, d train.Data, set *dataset.Set, n int) []report.Digit {
	return digitsOf(train.Mistakes(net, d, 1000, n), set)
}

// digitsOf is the report's view of mistakes on set.
func digitsOf(ms []train.Mistake, set *dataset.Set) []report.Digit {
	var out []report.Digit
	for _, m := range ms {
		out = append(out, report.Digit{Pixels: set.Image(m.Index), True: m.True, Predicted: m.Predicted, Probability: m.Probability})
	}
	return out
}

func findingsOf(fs []diag.Finding) []report.Finding {
	out := make([]report.Finding, len(fs))
	for i, f := range fs {
		out[i] = report.Finding{ID: f.ID, Severity: string(f.Severity), Message: f.Message, Fix: fixFlags(f.Fix)}
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
