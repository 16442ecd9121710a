package nn

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/digitnet/digitnet/tensor"
)

// LayerSpec is one layer of an architecture, as written in a JSON spec file.
type LayerSpec struct {
	Type    string  `json:"type"`              // dense, conv2d, maxpool, flatten, dropout, batchnorm, relu, sigmoid, tanh
	Out     int     `json:"out,omitempty"`     // dense units or conv2d channels
	Kernel  int     `json:"kernel,omitempty"`  // conv2d and maxpool window
	Stride  int     `json:"stride,omitempty"`  // conv2d (default 1)
	Padding int     `json:"padding,omitempty"` // conv2d zero padding
	P       float64 `json:"p,omitempty"`       // dropout probability
}

// Spec describes any network digitnet builds: an input shape, a stack of layers, and
// the output function and loss that close it. The last layer must produce one value per
// class. A spec file (`train --arch net.json`) is this struct as JSON:
//
//	{"input": [1, 28, 28], "init": "he-normal", "output": "softmax", "loss": "ce",
//	 "layers": [{"type": "conv2d", "out": 32, "kernel": 3}, {"type": "relu"},
//	            {"type": "maxpool", "kernel": 2}, {"type": "flatten"},
//	            {"type": "dense", "out": 10}]}
type Spec struct {
	Input  []int       `json:"input"`
	Layers []LayerSpec `json:"layers"`
	Output string      `json:"output"`
	Loss   string      `json:"loss"`
	Init   Init        `json:"init"`
	// LabelSmoothing ε softens softmax cross-entropy's targets to (1-ε)·onehot + ε/K.
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
}

// LayerTypes lists the layer types a Spec accepts.
var LayerTypes = []string{"dense", "conv2d", "maxpool", "flatten", "dropout", "batchnorm", "relu", "sigmoid", "tanh"}

// Spec returns the MLP as a general architecture.
func (m MLP) Spec() Spec {
	s := Spec{Input: []int{m.Sizes[0]}, Output: m.Output, Loss: m.Loss, Init: m.Init}
	for i, n := range m.Sizes[1:] {
		s.Layers = append(s.Layers, LayerSpec{Type: "dense", Out: n})
		if i < len(m.Sizes)-2 {
			s.Layers = append(s.Layers, LayerSpec{Type: m.Activation})
		}
	}
	return s
}

// ReadSpec reads a JSON spec file; unknown keys are an error naming the file.
func ReadSpec(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("nn: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("nn: %s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return s, nil
}

// InputSize is the number of input values per example.
func (s Spec) InputSize() int { return tensor.Size(s.Input) }

// Outputs is the number of values the network produces per example (classes, or 1 for
// a binary classifier), or 0 when the spec is invalid.
func (s Spec) Outputs() int {
	shape, err := s.shapes()
	if err != nil {
		return 0
	}
	return tensor.Size(shape[len(shape)-1])
}

// HiddenActivation is the first activation in the spec ("relu" when there is none),
// the one initialization advice is about.
func (s Spec) HiddenActivation() string {
	for _, l := range s.Layers {
		if l.Type == "relu" || l.Type == "sigmoid" || l.Type == "tanh" {
			return l.Type
		}
	}
	return "relu"
}

// shapes runs shape inference: the per-example shape after each layer, input first.
func (s Spec) shapes() ([][]int, error) {
	if len(s.Input) == 0 || slices.ContainsFunc(s.Input, func(d int) bool { return d <= 0 }) {
		return nil, fmt.Errorf("nn: input shape %v: want positive sizes", s.Input)
	}
	if len(s.Layers) == 0 {
		return nil, fmt.Errorf("nn: the spec has no layers")
	}
	out := [][]int{s.Input}
	for i, ls := range s.Layers {
		l, err := ls.layer("", out[i], nil)
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d (%s): %w", i, ls.Type, err)
		}
		shape, err := l.OutShape(out[i])
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d: %w", i, err)
		}
		out = append(out, shape)
	}
	return out, nil
}

// Validate checks every layer's settings and that the shapes fit together.
func (s Spec) Validate() error {
	shapes, err := s.shapes()
	if err != nil {
		return err
	}
	if last := s.Layers[len(s.Layers)-1].Type; last != "dense" && last != "conv2d" {
		return fmt.Errorf("nn: the last layer is %s; end with a dense layer giving one value per class (the output function is set by \"output\")", last)
	}
	if len(shapes[len(shapes)-1]) != 1 {
		return fmt.Errorf("nn: the network ends with shape %v; flatten and end with a dense layer", shapes[len(shapes)-1])
	}
	if s.LabelSmoothing < 0 || s.LabelSmoothing >= 1 || (s.LabelSmoothing > 0 && (s.Output != "softmax" || s.Loss != "ce")) {
		return fmt.Errorf("nn: label smoothing %g: want 0 ≤ ε < 1, with softmax outputs and ce loss", s.LabelSmoothing)
	}
	return MLP{Sizes: []int{1, 1}, Activation: "relu", Output: s.Output, Loss: s.Loss, Init: s.Init}.Validate()
}

// layer makes one layer for a per-example input shape; rng is nil during validation.
func (ls LayerSpec) layer(prefix string, in []int, rng *rand.Rand) (Layer, error) {
	switch ls.Type {
	case "dense":
		if ls.Out <= 0 {
			return nil, fmt.Errorf("dense needs \"out\" > 0")
		}
		return NewDense(prefix, tensor.Size(in), ls.Out), nil
	case "conv2d":
		if ls.Out <= 0 || ls.Kernel <= 0 || ls.Stride < 0 || ls.Padding < 0 {
			return nil, fmt.Errorf("conv2d needs \"out\" > 0 and \"kernel\" > 0")
		}
		if len(in) != 3 {
			return nil, fmt.Errorf("conv2d needs a [C H W] input, got %v", in)
		}
		return NewConv2D(prefix, in[0], ls.Out, ls.Kernel, max(ls.Stride, 1), ls.Padding), nil
	case "maxpool":
		if ls.Kernel <= 1 {
			return nil, fmt.Errorf("maxpool needs \"kernel\" ≥ 2")
		}
		return NewMaxPool2D(ls.Kernel), nil
	case "flatten":
		return &Flatten{}, nil
	case "dropout":
		if ls.P < 0 || ls.P >= 1 {
			return nil, fmt.Errorf("dropout needs 0 ≤ \"p\" < 1")
		}
		if rng == nil {
			rng = rand.New(rand.NewPCG(0, 0))
		}
		return NewDropout(ls.P, rng), nil
	case "batchnorm":
		return NewBatchNorm(prefix, in[0]), nil
	case "relu", "sigmoid", "tanh":
		return newNamedActivation(ls.Type), nil
	}
	return nil, fmt.Errorf("unknown layer type %q, want one of %v", ls.Type, LayerTypes)
}

// BuildFrom is Build(rand.New(src)) with the dropout layers drawing straight from src
// (SetRandomSource): the same run, with faster, parallel dropout. Training builds this way.
func (s Spec) BuildFrom(src *rand.PCG) (*Network, error) {
	net, err := s.Build(rand.New(src))
	if err == nil {
		net.SetRandomSource(src)
	}
	return net, err
}

// Build creates the network with parameters drawn from rng; dropout layers draw their
// masks from rng too, so one random source fixes the whole run.
func (s Spec) Build(rng *rand.Rand) (*Network, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	init, _ := ParseInit(string(s.Init))
	kept := s
	kept.Input, kept.Layers = slices.Clone(s.Input), slices.Clone(s.Layers)
	net := &Network{InShape: append([]int(nil), s.Input...), spec: &kept}
	shape := s.Input
	counts := map[string]int{}
	first := true
	for _, ls := range s.Layers {
		name := map[string]string{"dense": "dense", "conv2d": "conv", "batchnorm": "bn"}[ls.Type]
		prefix := fmt.Sprintf("%s%d", name, counts[name])
		counts[name]++
		l, err := ls.layer(prefix, shape, rng)
		if err != nil {
			return nil, err
		}
		switch t := l.(type) {
		case *Dense:
			t.NoInputGrad, t.SparseColumns = first, first
			t.Initialize(init, rng)
			first = false
		case *Conv2D:
			t.NoInputGrad = first
			t.Initialize(init, rng)
			first = false
		}
		shape, _ = l.OutShape(shape)
		net.Layers = append(net.Layers, l)
	}
	switch {
	case s.Output == "softmax" && s.Loss == "ce":
		net.Loss, net.Head = &SoftmaxCrossEntropy{Smoothing: s.LabelSmoothing}, NewSoftmax()
	case s.Output == "sigmoid" && s.Loss == "bce":
		net.Loss, net.Head = &SigmoidBCE{}, NewSigmoid()
	default:
		if s.Output != "linear" {
			net.Layers = append(net.Layers, newNamedActivation(s.Output))
		}
		net.Loss = map[string]Loss{"mse": &MSE{}, "bce": &BCE{}, "ce": &CrossEntropy{}}[s.Loss]
	}
	if fused := fuse(net.Layers); len(fused) < len(net.Layers) {
		net.training = fused
	}
	return net, nil
}

// Initialize fills a convolution's parameters from rng like Dense.Initialize, with
// fan-in C·k·k and fan-out O·k·k.
func (c *Conv2D) Initialize(init Init, rng *rand.Rand) {
	k2 := float64(c.Kernel * c.Kernel)
	if err := initialize(c.W.Value.Data, c.B.Value.Data, init, float64(c.In)*k2, float64(c.Out)*k2, rng); err != nil {
		panic(fmt.Sprintf("nn: %s: %v", c, err))
	}
}

// Convolutional reports whether the network has a convolution.
func (s Spec) Convolutional() bool {
	for _, l := range s.Layers {
		if l.Type == "conv2d" {
			return true
		}
	}
	return false
}

// EvalBatch is the batch size for inference passes: up to 1000 examples, fewer when a
// layer's output for the whole batch would pass 2²⁰ values (4 MiB), so that a
// convolutional network's activations stay in cache instead of streaming through memory.
func (s Spec) EvalBatch() int {
	shapes, err := s.shapes()
	if err != nil {
		return 1000
	}
	largest := 1
	for _, sh := range shapes {
		largest = max(largest, tensor.Size(sh))
	}
	return min(1000, max(32, (1<<20)/largest))
}

// Summary is the architecture in one line: "784-300-10 relu, softmax" for a multilayer
// perceptron, the layer list for anything else ("1x28x28 conv2d(32,k3) relu maxpool(2)
// flatten dense(10), softmax").
func (a Spec) Summary() string {
	dims := make([]string, len(a.Input))
	for i, d := range a.Input {
		dims[i] = strconv.Itoa(d)
	}
	mlp := []string{strings.Join(dims, "x")}
	act := ""
	layers := slices.Clone(mlp)
	for _, l := range a.Layers {
		switch l.Type {
		case "dense":
			mlp = append(mlp, strconv.Itoa(l.Out))
			layers = append(layers, fmt.Sprintf("dense(%d)", l.Out))
		case "conv2d":
			mlp = nil
			c := fmt.Sprintf("conv2d(%d,k%d", l.Out, l.Kernel)
			if l.Stride > 1 {
				c += fmt.Sprintf(",s%d", l.Stride)
			}
			if l.Padding > 0 {
				c += fmt.Sprintf(",p%d", l.Padding)
			}
			layers = append(layers, c+")")
		case "maxpool":
			mlp = nil
			layers = append(layers, fmt.Sprintf("maxpool(%d)", l.Kernel))
		case "relu", "sigmoid", "tanh":
			if act != "" && act != l.Type {
				mlp = nil
			}
			act = l.Type
			layers = append(layers, l.Type)
		default:
			mlp = nil
			layers = append(layers, l.Type)
		}
	}
	if mlp != nil && len(a.Input) == 1 {
		s := strings.Join(mlp, "-")
		if act != "" {
			s += " " + act
		}
		return s + ", " + a.Output
	}
	return strings.Join(layers, " ") + ", " + a.Output
}
