package nn

import (
	"math"

	"github.com/digitnet/digitnet/internal/tensor"
)

// NumericGrad estimates ∂f/∂v[i] for every element of v by central differences,
// (f(v+εe_i) - f(v-εe_i)) / 2ε, restoring v afterwards. f must be deterministic.
func NumericGrad(f func() float64, v []float32, eps float32) []float64 {
	g := make([]float64, len(v))
	for i := range v {
		orig := v[i]
		v[i] = orig + eps
		plus := f()
		v[i] = orig - eps
		minus := f()
		v[i] = orig
		// Divide by the step actually taken: orig±eps rounds in float32.
		g[i] = (plus - minus) / (float64(orig+eps) - float64(orig-eps))
	}
	return g
}

// RelError is ‖a-n‖ / max(‖a‖+‖n‖, tiny): 0 when the analytic gradient a equals the
// numerical n, about 1 when they are unrelated. Used over a whole tensor it does not
// blow up on the individual elements that are near zero.
func RelError(analytic []float32, numeric []float64) float64 {
	var diff, na, nn float64
	for i, a := range analytic {
		d := float64(a) - numeric[i]
		diff += d * d
		na += float64(a) * float64(a)
		nn += numeric[i] * numeric[i]
	}
	den := math.Sqrt(na) + math.Sqrt(nn)
	if den < 1e-12 {
		return 0
	}
	return math.Sqrt(diff) / den
}

// GradCheck is the result of checking one tensor's gradient.
type GradCheck struct {
	Name     string  // parameter name, or "input"
	RelError float64 // RelError over the whole tensor
}

// CheckNetwork compares the analytic gradients of the network's loss on (x, labels)
// with numerical ones for every parameter tensor, and for the input when the first
// layer computes one. Parameters are perturbed in place and restored.
func CheckNetwork(net *Network, x *tensor.Tensor, labels []int, eps float32) []GradCheck {
	net.ZeroGrad()
	var dx []float32
	if d, ok := net.Layers[0].(*Dense); ok && d.NoInputGrad {
		net.TrainBatch(x, labels)
	} else {
		out := net.Forward(x, true)
		net.Loss.Forward(out, labels)
		dout := net.Loss.Backward()
		for i := len(net.Layers) - 1; i >= 0; i-- {
			dout = net.Layers[i].Backward(dout)
		}
		dx = append([]float32(nil), dout.Data...)
	}
	loss := func() float64 { return net.Loss.Forward(net.Forward(x, true), labels) }
	var res []GradCheck
	for _, p := range net.Params() {
		p.Materialize()
		analytic := append([]float32(nil), p.Grad.Data...)
		res = append(res, GradCheck{p.Name, RelError(analytic, NumericGrad(loss, p.Value.Data, eps))})
	}
	if dx != nil {
		res = append(res, GradCheck{"input", RelError(dx, NumericGrad(loss, x.Data, eps))})
	}
	net.ZeroGrad()
	return res
}
