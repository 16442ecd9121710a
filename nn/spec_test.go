package nn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMLPSpecBuildsTheSameNetwork(t *testing.T) {
	m := MLP{Sizes: []int{784, 30, 20, 10}, Activation: "tanh", Output: "softmax", Loss: "ce", Init: InitGlorotUniform}
	a, err := m.Build(testRNG())
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Spec().Build(testRNG())
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("MLP builds %s, its spec %s", a, b)
	}
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		if pa[i].Name != pb[i].Name || pa[i].Value.Data[3] != pb[i].Value.Data[3] {
			t.Errorf("parameter %d: %s vs %s", i, pa[i].Name, pb[i].Name)
		}
	}
}

func smallCNN() Spec {
	return Spec{Input: []int{1, 8, 8}, Output: "softmax", Loss: "ce", Init: InitHeNormal, Layers: []LayerSpec{
		{Type: "conv2d", Out: 3, Kernel: 3, Padding: 1}, {Type: "batchnorm"}, {Type: "relu"},
		{Type: "maxpool", Kernel: 2},
		{Type: "conv2d", Out: 4, Kernel: 3}, {Type: "tanh"},
		{Type: "flatten"}, {Type: "dense", Out: 6}, {Type: "sigmoid"}, {Type: "dense", Out: 5},
	}}
}

// TestCNNGradients checks a whole convolutional network end to end: input, every
// convolution, batch norm and dense parameter.
func TestCNNGradients(t *testing.T) {
	s := smallCNN()
	rng := testRNG()
	net, err := s.Build(rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range net.Layers {
		if c, ok := l.(*Conv2D); ok {
			c.NoInputGrad = false
			fillNormal(c.B.Value.Data, 0.3, rng)
		}
	}
	x := randTensor(rng, 1, 3, 1, 8, 8)
	ensureOffKinks(t, net, x)
	for _, r := range CheckNetwork(net, x, []int{0, 4, 2}, gradEps) {
		if r.RelError > gradTol {
			t.Errorf("%s: RelError %.2g, want ≤ %g", r.Name, r.RelError, gradTol)
		}
	}
	if got := s.Outputs(); got != 5 {
		t.Errorf("Outputs() = %d, want 5", got)
	}
}

func TestSpecValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Spec)
		want   string
	}{
		{"unknown type", func(s *Spec) { s.Layers[2].Type = "swish" }, `unknown layer type "swish"`},
		{"conv on flat input", func(s *Spec) { s.Input = []int{64} }, "conv2d needs a [C H W] input"},
		{"kernel too big", func(s *Spec) { s.Layers[4].Kernel = 9 }, "smaller than the kernel"},
		{"ends in activation", func(s *Spec) { s.Layers = s.Layers[:len(s.Layers)-1] }, "end with a dense layer"},
		{"no flatten", func(s *Spec) { s.Layers = s.Layers[:6] }, "end with a dense layer"},
		{"dense without out", func(s *Spec) { s.Layers[7].Out = 0 }, `dense needs "out" > 0`},
		{"dropout p", func(s *Spec) { s.Layers[5] = LayerSpec{Type: "dropout", P: 1} }, "dropout needs"},
		{"bad loss", func(s *Spec) { s.Loss = "hinge" }, `unknown loss "hinge"`},
	}
	if err := smallCNN().Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	for _, c := range cases {
		s := smallCNN()
		c.change(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestReadSpec(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "net.json")
	_ = os.WriteFile(good, []byte(`{"input":[1,28,28],"output":"softmax","loss":"ce","init":"he-normal",
		"layers":[{"type":"conv2d","out":8,"kernel":5},{"type":"relu"},{"type":"maxpool","kernel":2},
		{"type":"flatten"},{"type":"dropout","p":0.25},{"type":"dense","out":10}]}`), 0o644)
	s, err := ReadSpec(good)
	if err != nil || s.Outputs() != 10 || s.InputSize() != 784 {
		t.Fatalf("ReadSpec: %+v, %v", s, err)
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"input":[784],"layers":[{"type":"dense","out":10,"units":3}]}`), 0o644)
	if _, err := ReadSpec(bad); err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), `unknown field "units"`) {
		t.Errorf("ReadSpec(bad) = %v, want the file and the unknown field named", err)
	}
}
