// Package diag measures why a network does or does not learn: saturated and dead units,
// gradient flow, and the rules that turn those numbers into advice.
package diag

import (
	"math"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// SaturationLimit is the |pre-activation| beyond which a sigmoid or tanh unit counts as
// saturated: σ'(5) ≈ 0.0066, so gradients through it shrink 150-fold or more.
const SaturationLimit = 5

// Activity describes the pre-activations feeding one activation layer over a batch.
type Activity struct {
	Layer     int    // index in Network.Layers of the activation layer
	Name      string // e.g. "Sigmoid"
	Units     int    // units per example
	Saturated float64
	// Dead is the fraction of ReLU units never positive over the batch.
	Dead float64
	// MeanAbs is the mean |pre-activation|.
	MeanAbs float64
}

// hiddenKind names a hidden activation layer ("" for others), and lastParam is the
// index of the network's last Dense or Conv2D: activations after it are the output
// function, the loss's business, not hidden units.
func hiddenKind(l nn.Layer) string {
	switch l.(type) {
	case *nn.Sigmoid:
		return "Sigmoid"
	case *nn.Tanh:
		return "Tanh"
	case *nn.ReLU:
		return "ReLU"
	}
	return ""
}

func lastParam(net *nn.Network) int {
	last := 0
	for i, l := range net.Layers {
		switch l.(type) {
		case *nn.Dense, *nn.Conv2D:
			last = i
		}
	}
	return last
}

// Activities runs x through net in inference mode and reports every hidden Sigmoid,
// Tanh and ReLU layer (the output function is the loss's business). Saturated is the
// fraction of pre-activations with |z| > SaturationLimit, for sigmoid and tanh layers.
func Activities(net *nn.Network, x *tensor.Tensor) []Activity {
	var out []Activity
	last := lastParam(net)
	h := x
	for i, l := range net.Layers {
		if i > last {
			break
		}
		if kind := hiddenKind(l); kind != "" {
			a := Activity{Layer: i, Name: kind, Units: h.Cols()}
			sat, sumAbs := 0, 0.0
			for _, z := range h.Data {
				az := math.Abs(float64(z))
				sumAbs += az
				if az > SaturationLimit {
					sat++
				}
			}
			a.MeanAbs = sumAbs / float64(len(h.Data))
			if kind != "ReLU" {
				a.Saturated = float64(sat) / float64(len(h.Data))
			} else {
				N, U := h.Rows(), h.Cols()
				dead := 0
				for u := 0; u < U; u++ {
					alive := false
					for n := 0; n < N && !alive; n++ {
						alive = h.Data[n*U+u] > 0
					}
					if !alive {
						dead++
					}
				}
				a.Dead = float64(dead) / float64(U)
			}
			out = append(out, a)
		}
		h = l.Forward(h, false)
	}
	return out
}

// Sample is the pre-activations feeding one hidden activation layer over a batch.
type Sample struct {
	Layer  int
	Kind   string // "Sigmoid", "Tanh", "ReLU"
	Units  int
	Values []float32
}

// PreActivations runs x through net in inference mode and returns, for every hidden
// Sigmoid, Tanh and ReLU layer, up to max of the values entering it.
func PreActivations(net *nn.Network, x *tensor.Tensor, max int) []Sample {
	var out []Sample
	last := lastParam(net)
	h := x
	for i, l := range net.Layers {
		if i > last {
			break
		}
		if kind := hiddenKind(l); kind != "" {
			n := min(len(h.Data), max)
			out = append(out, Sample{Layer: i, Kind: kind, Units: h.Cols(), Values: append([]float32(nil), h.Data[:n]...)})
		}
		h = l.Forward(h, false)
	}
	return out
}
