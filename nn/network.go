package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/tensor"
)

// Network is a stack of layers trained against a loss.
type Network struct {
	InShape []int // per-example input shape, e.g. [784]
	Layers  []Layer
	Loss    Loss
	// Head is the output function applied after Layers at inference when Loss is fused
	// (it takes logits): Softmax for softmax+ce, Sigmoid for sigmoid+bce. Nil otherwise.
	Head Layer

	spec *Spec // what Build built it from
	// training is the layers a training pass runs: Layers, with a convolution followed by
	// a ReLU (and max pooling) as one ConvReLU (Spec.Build); nil: Layers. ran is the list
	// the last Forward ran, which Backward goes back through.
	training, ran []Layer
}

// Spec is the architecture the network was built from (Spec.Build); ok is false for a
// network assembled by hand.
func (net *Network) Spec() (s Spec, ok bool) {
	if net.spec == nil {
		return Spec{}, false
	}
	s = *net.spec
	s.Input, s.Layers = slices.Clone(s.Input), slices.Clone(s.Layers)
	return s, true
}

// Forward runs the layers on a batch [N InShape...] and returns what the loss consumes.
func (net *Network) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	checkInput(net.Layers[0], x, net.InShape)
	net.ran = net.Layers
	if training && net.training != nil {
		net.ran = net.training
	}
	for _, l := range net.ran {
		x = l.Forward(x, training)
	}
	return x
}

// Backward propagates dL/dout back through the layers of the last Forward, accumulating
// parameter gradients.
func (net *Network) Backward(dout *tensor.Tensor) {
	layers := net.ran
	if layers == nil {
		layers = net.Layers
	}
	for i := len(layers) - 1; i >= 0 && dout != nil; i-- {
		dout = layers[i].Backward(dout)
	}
}

// TrainBatch runs forward, loss and backward on one batch and returns the batch's mean
// loss and how many of its examples the network classified right (before the update).
// Gradients accumulate into the parameters; the optimizer applies and clears them.
func (net *Network) TrainBatch(x *tensor.Tensor, labels []int) (loss float64, correct int) {
	out := net.Forward(x, true)
	loss = net.Loss.Forward(out, labels)
	K := out.Cols()
	for n, l := range labels {
		if net.Class(out.Data[n*K:(n+1)*K]) == l {
			correct++
		}
	}
	net.Backward(net.Loss.Backward())
	return loss, correct
}

// Class is the class the network predicts from one example's row of Forward's output:
// the largest output, or for a single output (a binary classifier) 1 when it is above
// the midpoint between the targets 0 and 1 (for a fused loss, the logit 0). Predict's
// probabilities (after the Head) take ProbClass instead.
func (net *Network) Class(out []float32) int {
	if len(out) == 1 {
		mid := float32(0.5) // outputs trained towards targets 0 and 1
		if net.Loss.FromLogits() {
			mid = 0 // a logit: σ(0) = ½
		}
		if out[0] > mid {
			return 1
		}
		return 0
	}
	return Argmax(out)
}

// ProbClass is the class one example's row of Predict's probabilities picks: the most
// probable, or for a binary classifier's single output (the probability of class 1) 1
// when it is above ½.
func ProbClass(probs []float32) int {
	if len(probs) == 1 {
		if probs[0] > 0.5 {
			return 1
		}
		return 0
	}
	return Argmax(probs)
}

// ClassProb is class k's probability in one example's row of Predict's probabilities:
// for a binary classifier's single output p, p for class 1 and 1-p for class 0.
func ClassProb(probs []float32, k int) float32 {
	if len(probs) == 1 {
		if k == 1 {
			return probs[0]
		}
		return 1 - probs[0]
	}
	return probs[k]
}

// Argmax is the index of the largest value. The output functions (softmax, sigmoid) are
// monotonic, so the argmax of logits is the argmax of probabilities.
func Argmax[T float32 | float64](v []T) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Predict returns the network's outputs for a batch in inference mode: class
// probabilities for softmax outputs.
func (net *Network) Predict(x *tensor.Tensor) *tensor.Tensor {
	out := net.Forward(x, false)
	if net.Head != nil {
		out = net.Head.Forward(out, false)
	}
	return out
}

// Params lists every trainable parameter, first layer first.
func (net *Network) Params() []*Param {
	var ps []*Param
	for _, l := range net.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// ParamCount is how many trainable values the network has.
func (net *Network) ParamCount() int {
	n := 0
	for _, p := range net.Params() {
		n += p.Value.Len()
	}
	return n
}

// buffered is a layer with state that is not trained but saved (BatchNorm's statistics).
type buffered interface{ Buffers() []*Param }

// State lists every tensor that makes the network what it is: the parameters, then the
// layers' buffers (batch-norm running statistics).
func (net *Network) State() []*Param {
	ps := net.Params()
	for _, l := range net.Layers {
		if b, ok := l.(buffered); ok {
			ps = append(ps, b.Buffers()...)
		}
	}
	return ps
}

// Snapshot copies the network's state, for keeping the best weights of a run.
func (net *Network) Snapshot() [][]float32 {
	var out [][]float32
	for _, p := range net.State() {
		out = append(out, append([]float32(nil), p.Value.Data...))
	}
	return out
}

// Restore puts back a Snapshot of the same network.
func (net *Network) Restore(snap [][]float32) {
	for i, p := range net.State() {
		copy(p.Value.Data, snap[i])
	}
}

// SetDeferGrad sets every dense layer's DeferGrad and returns a func that puts back
// what each had: a gradient nonzero in a few rows only is kept deferred
// (Param.DeferredOuter, DeferredRows) for the optimizer. train.Run turns it on for the
// optimizers of package optim, which apply the deferred terms or Materialize them;
// code that reads Grad itself while it is on must Materialize first.
func (net *Network) SetDeferGrad(on bool) (restore func()) {
	var was []bool
	for _, l := range net.Layers {
		if d, ok := l.(*Dense); ok {
			was = append(was, d.DeferGrad)
			d.DeferGrad = on
		}
	}
	return func() {
		i := 0
		for _, l := range net.Layers {
			if d, ok := l.(*Dense); ok && i < len(was) {
				d.DeferGrad, i = was[i], i+1
			}
		}
	}
}

// ZeroGrad clears every parameter gradient.
func (net *Network) ZeroGrad() {
	for _, p := range net.Params() {
		p.ZeroGrad()
	}
}

func (net *Network) String() string {
	parts := make([]string, 0, len(net.Layers)+1)
	for _, l := range net.Layers {
		parts = append(parts, l.String())
	}
	s := strings.Join(parts, " → ")
	if net.Head != nil {
		s += " → [" + net.Head.String() + "]"
	}
	return s + " ; loss " + net.Loss.String()
}

// Activation and output-function names accepted by MLP.
var (
	Activations = []string{"sigmoid", "tanh", "relu"}
	Outputs     = []string{"softmax", "sigmoid", "linear"}
	Losses      = []string{"ce", "bce", "mse"}
)

// MLP describes a multilayer perceptron.
type MLP struct {
	Sizes      []int  `json:"layers"`     // layer widths, input first: 784,300,10
	Activation string `json:"activation"` // hidden units: sigmoid, tanh, relu
	Output     string `json:"output"`     // output units: softmax, sigmoid, linear
	Loss       string `json:"loss"`       // ce (categorical cross-entropy), bce (binary cross-entropy), mse
	Init       Init   `json:"init"`
}

// Validate reports the first thing wrong with the description, naming the allowed values.
func (m MLP) Validate() error {
	if len(m.Sizes) < 2 {
		return fmt.Errorf("nn: layers %v: want at least an input and an output size", m.Sizes)
	}
	for _, s := range m.Sizes {
		if s <= 0 {
			return fmt.Errorf("nn: layers %v: sizes must be positive", m.Sizes)
		}
	}
	if !slices.Contains(Activations, m.Activation) {
		return fmt.Errorf("nn: unknown activation %q, want one of %v", m.Activation, Activations)
	}
	if !slices.Contains(Outputs, m.Output) {
		return fmt.Errorf("nn: unknown output %q, want one of %v", m.Output, Outputs)
	}
	if !slices.Contains(Losses, m.Loss) {
		return fmt.Errorf("nn: unknown loss %q, want one of %v", m.Loss, Losses)
	}
	if m.Output == "linear" && m.Loss != "mse" {
		return fmt.Errorf("nn: loss %s needs probabilities: use --output softmax or sigmoid, or --loss mse", m.Loss)
	}
	if _, err := ParseInit(string(m.Init)); err != nil {
		return err
	}
	return nil
}

// Build creates the network with parameters drawn from rng. Softmax with ce and sigmoid
// with bce become fused losses on the logits, numerically stable; other pairs keep the
// output activation as a layer and the loss on its output.
func (m MLP) Build(rng *rand.Rand) (*Network, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m.Spec().Build(rng)
}

func newNamedActivation(name string) Layer {
	switch name {
	case "sigmoid":
		return NewSigmoid()
	case "tanh":
		return NewTanh()
	case "relu":
		return NewReLU()
	case "softmax":
		return NewSoftmax()
	}
	panic("nn: unknown activation " + name)
}
