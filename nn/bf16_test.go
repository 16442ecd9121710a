package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// TestBF16Gradients: a training step with bf16 products gives the float32 step's loss
// and gradients to within bf16's rounding (8 bits of mantissa: relative errors of a few
// thousandths), on the packed first layer and the plain second one, and is not the
// float32 step itself (the bf16 path ran).
func TestBF16Gradients(t *testing.T) {
	if err := kernels.BF16(); err != nil {
		t.Skip(err)
	}
	for _, zeroCols := range []bool{true, false} {
		rng := testRNG()
		net, err := MLP{Sizes: []int{100, 24, 6}, Activation: "tanh", Output: "softmax", Loss: "ce", Init: InitGlorotNormal}.Build(rng)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(rng, 1, 16, 100)
		if zeroCols {
			for n := range 16 {
				for c := 0; c < 100; c += 3 {
					x.Data[n*100+c] = 0
				}
			}
		}
		labels := []int{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3}
		step := func() (float64, [][]float32) { return gradStep(net, x, labels) }
		loss32, g32 := step()
		if err := net.SetBF16(true); err != nil {
			t.Fatal(err)
		}
		loss16, g16 := step()
		d0 := net.Layers[0].(*Dense)
		if !d0.bf16 || d0.packed != zeroCols {
			t.Fatalf("zero columns %v: first layer bf16 %v packed %v", zeroCols, d0.bf16, d0.packed)
		}
		if rel := (loss16 - loss32) / loss32; rel > 5e-3 || rel < -5e-3 {
			t.Errorf("zero columns %v: loss %g in bf16, %g in float32", zeroCols, loss16, loss32)
		}
		identical := true
		for i, p := range net.Params() {
			if e := RelError(g16[i], f64(g32[i])); e > 2e-2 {
				t.Errorf("zero columns %v: %s gradient RelError %.2g between bf16 and float32, want ≤ 0.02", zeroCols, p.Name, e)
			}
			for j := range g16[i] {
				identical = identical && g16[i][j] == g32[i][j]
			}
		}
		if identical {
			t.Errorf("zero columns %v: bf16 gradients equal float32's bit for bit: the bf16 path did not run", zeroCols)
		}
		// A batch of one after bf16 batches takes the float32 path, gradient included:
		// the same gradient as a network that never ran bf16 (no step was taken, so the
		// weights are still the initial ones).
		one := tensor.New(1, 100) // a few nonzero inputs: the sparse batch-1 path
		for c := 1; c < 100; c += 7 {
			one.Data[c] = x.Data[c]
		}
		net.ZeroGrad()
		net.TrainBatch(one, labels[:1])
		fresh, _ := MLP{Sizes: []int{100, 24, 6}, Activation: "tanh", Output: "softmax", Loss: "ce", Init: InitGlorotNormal}.Build(testRNG())
		fresh.TrainBatch(one, labels[:1])
		for i, p := range net.Params() {
			q := fresh.Params()[i]
			p.Materialize()
			q.Materialize()
			if e := RelError(p.Grad.Data, f64(q.Grad.Data)); e > 1e-6 {
				t.Errorf("zero columns %v: batch of one after bf16 batches: %s gradient RelError %.2g against float32's", zeroCols, p.Name, e)
			}
		}
		// Inference stays float32.
		net.SetBF16(false)
		a := net.Predict(x).Clone()
		net.SetBF16(true)
		if b := net.Predict(x); RelError(a.Data, f64(b.Data)) != 0 {
			t.Errorf("zero columns %v: inference changed with SetBF16", zeroCols)
		}
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestBF16Conv: a CNN's training step with bf16 convolutions (two workers, one
// convolution fused with ReLU and pooling, one padded and strided on its own, one with
// a ReLU only) gives the float32 step's loss and gradients to within bf16's rounding
// (≤ 5 %: looser than the dense layers' test, as x rounded to bf16 moves some of the
// pooling's maxima and the ReLU's signs, which sends those gradients elsewhere); every
// convolution ran in bf16; inference stays float32. kernels.TestConvBF16 checks the
// convolution's values themselves to float32's precision.
func TestBF16Conv(t *testing.T) {
	if err := kernels.BF16(); err != nil {
		t.Skip(err)
	}
	was := kernels.Workers()
	t.Cleanup(func() { kernels.SetWorkers(was) })
	kernels.SetWorkers(2)
	spec := Spec{Input: []int{3, 12, 12}, Output: "softmax", Loss: "ce", Init: InitHeNormal, Layers: []LayerSpec{
		{Type: "conv2d", Out: 16, Kernel: 3, Padding: 1}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "conv2d", Out: 8, Kernel: 3, Stride: 2, Padding: 1}, {Type: "tanh"},
		{Type: "conv2d", Out: 8, Kernel: 1}, {Type: "relu"},
		{Type: "flatten"}, {Type: "dense", Out: 5},
	}}
	net, err := spec.BuildFrom(rand.NewPCG(3, 3))
	if err != nil {
		t.Fatal(err)
	}
	rng := testRNG()
	x := randTensor(rng, 1, 10, 3, 12, 12)
	labels := []int{0, 1, 2, 3, 4, 0, 1, 2, 3, 4}
	step := func() (float64, [][]float32) { return gradStep(net, x, labels) }
	loss32, g32 := step()
	before := net.Predict(x).Clone()
	if err := net.SetBF16(true); err != nil {
		t.Fatal(err)
	}
	loss16, g16 := step()
	for _, l := range net.Layers {
		if c, ok := l.(*Conv2D); ok && (!c.direct || !c.directBF16 || c.bf16Refused != nil) {
			t.Fatalf("%s: direct %v, bf16 %v, refused: %v", c, c.direct, c.directBF16, c.bf16Refused)
		}
	}
	if rel := (loss16 - loss32) / loss32; rel > 5e-3 || rel < -5e-3 {
		t.Errorf("loss %g in bf16, %g in float32", loss16, loss32)
	}
	for i, p := range net.Params() {
		e := RelError(g16[i], f64(g32[i]))
		if e > 5e-2 {
			t.Errorf("%s gradient RelError %.2g between bf16 and float32, want ≤ 0.05", p.Name, e)
		}
		if e == 0 {
			t.Errorf("%s gradient equals float32's bit for bit: the bf16 path did not run", p.Name)
		}
	}
	// Backward adds to the gradients: a second step without ZeroGrad doubles them.
	net.TrainBatch(x, labels)
	for i, p := range net.Params() {
		p.Materialize()
		twice := make([]float64, len(g16[i]))
		for j, v := range g16[i] {
			twice[j] = 2 * float64(v)
		}
		if e := RelError(p.Grad.Data, twice); e > 1e-5 {
			t.Errorf("%s: two bf16 steps without ZeroGrad give RelError %.2g against twice one step's gradient", p.Name, e)
		}
	}
	if after := net.Predict(x); RelError(after.Data, f64(before.Data)) != 0 {
		t.Errorf("inference changed with SetBF16")
	}
}

// TestBF16ConvConcurrent: two networks of one architecture training at once in one
// process (sharing oneDNN's per-worker convolutions) each get the gradients they get
// alone, bit for bit.
func TestBF16ConvConcurrent(t *testing.T) {
	if err := kernels.BF16(); err != nil {
		t.Skip(err)
	}
	was := kernels.Workers()
	t.Cleanup(func() { kernels.SetWorkers(was) })
	kernels.SetWorkers(2)
	spec := Spec{Input: []int{2, 10, 10}, Output: "softmax", Loss: "ce", Init: InitHeNormal, Layers: []LayerSpec{
		{Type: "conv2d", Out: 8, Kernel: 3, Padding: 1}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "flatten"}, {Type: "dense", Out: 3},
	}}
	labels := []int{0, 1, 2, 0, 1, 2}
	type run struct {
		net *Network
		x   *tensor.Tensor
	}
	newRun := func(seed uint64) run {
		net, err := spec.BuildFrom(rand.NewPCG(seed, seed))
		if err != nil {
			t.Fatal(err)
		}
		if err := net.SetBF16(true); err != nil {
			t.Fatal(err)
		}
		return run{net, randTensor(rand.New(rand.NewPCG(seed, 1)), 1, 6, 2, 10, 10)}
	}
	step := func(r run) [][]float32 {
		_, g := gradStep(r.net, r.x, labels)
		return g
	}
	r1, r2 := newRun(1), newRun(2)
	alone1, alone2 := step(r1), step(r2)
	for round := range 30 {
		var g1, g2 [][]float32
		done := make(chan bool)
		go func() { g1 = step(r1); done <- true }()
		g2 = step(r2)
		<-done
		for i := range alone1 {
			if RelError(g1[i], f64(alone1[i])) != 0 || RelError(g2[i], f64(alone2[i])) != 0 {
				t.Fatalf("round %d, parameter %d: gradients differ from each network's alone", round, i)
			}
		}
	}
}

// gradStep is one training step's loss and a copy of every parameter's gradient, from
// zeroed gradients.
func gradStep(net *Network, x *tensor.Tensor, labels []int) (float64, [][]float32) {
	net.ZeroGrad()
	loss, _ := net.TrainBatch(x, labels)
	var g [][]float32
	for _, p := range net.Params() {
		p.Materialize()
		g = append(g, append([]float32(nil), p.Grad.Data...))
	}
	return loss, g
}

// TestDenseBF16FieldSetDirectly: a library user's Dense with BF16 set by hand, without
// Network.SetBF16, trains in bf16 where the CPU has it and in float32 where it does
// not, and never crashes (it once jumped to an unopened oneDNN: SIGSEGV).
func TestDenseBF16FieldSetDirectly(t *testing.T) {
	rng := testRNG()
	d := NewDense("d", 40, 12)
	for i := range d.W.Value.Data {
		d.W.Value.Data[i] = float32(rng.NormFloat64()) * 0.3
	}
	x := randTensor(rng, 1, 4, 40)
	want := append([]float32(nil), d.Forward(x, true).Data...)
	d.BF16 = true
	got := d.Forward(x, true).Data
	for i, w := range want {
		if diff := float64(got[i] - w); diff > 0.05 || diff < -0.05 {
			t.Fatalf("output %d: %g with BF16 set, %g in float32", i, got[i], w)
		}
	}
	d.Backward(randTensor(rng, 1, 4, 12))
}
