package nn

import (
	"math"
	"math/rand/v2"

	"github.com/digitnet/digitnet/tensor"
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
	RelError float64 // RelError over the checked elements
	Checked  int     // how many elements were compared
	Kinks    int     // elements left out: the step crossed a kink (ReLU at 0)
	Size     int     // elements in the tensor
}

// CheckNetwork compares the analytic gradients of the network's loss on (x, labels)
// with numerical ones for every element of every parameter tensor, and for the input
// when the first layer computes one. Parameters are perturbed in place and restored.
func CheckNetwork(net *Network, x *tensor.Tensor, labels []int, eps float32) []GradCheck {
	return CheckNetworkSample(net, x, labels, eps, 0, nil)
}

// CheckNetworkSample is CheckNetwork on at most sample elements per tensor, drawn from
// rng (all of them when sample ≤ 0): a full check of a 784-300-10 network would take
// half a million forward passes.
func CheckNetworkSample(net *Network, x *tensor.Tensor, labels []int, eps float32, sample int, rng *rand.Rand) []GradCheck {
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
	base := loss()
	check := func(name string, analytic, values []float32) GradCheck {
		idx := make([]int, len(values))
		for i := range idx {
			idx[i] = i
		}
		if sample > 0 && sample < len(idx) {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:sample]
		}
		r := GradCheck{Name: name, Size: len(values)}
		var a []float32
		var num []float64
		for _, i := range idx {
			orig := values[i]
			values[i] = orig + eps
			plus := loss()
			values[i] = orig - eps
			minus := loss()
			values[i] = orig
			h := float64(orig+eps) - float64(orig)
			up, down := (plus-base)/h, (base-minus)/h
			// The one-sided slopes of a smooth loss agree up to curvature·ε; at a kink
			// (a ReLU input crossing 0) they differ by the jump, and the central
			// difference measures neither side.
			if d := math.Abs(up - down); d > 1e-3 && d > 0.05*max(math.Abs(up), math.Abs(down)) {
				r.Kinks++
				continue
			}
			a = append(a, analytic[i])
			num = append(num, (plus-minus)/(float64(orig+eps)-float64(orig-eps)))
		}
		r.RelError, r.Checked = RelError(a, num), len(a)
		return r
	}
	var res []GradCheck
	for _, p := range net.Params() {
		p.Materialize()
		res = append(res, check(p.Name, append([]float32(nil), p.Grad.Data...), p.Value.Data))
	}
	if dx != nil {
		res = append(res, check("input", dx, x.Data))
	}
	net.ZeroGrad()
	return res
}
