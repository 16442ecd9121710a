package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

const (
	gradEps = 1e-2 // central-difference step; float32 forward passes need a large one
	gradTol = 2e-3 // largest accepted RelError; a wrong derivative gives 0.1 to 1
)

func testRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func randTensor(rng *rand.Rand, scale float64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	fillNormal(t.Data, scale, rng)
	return t
}

// offKinks moves values away from ReLU's kink at 0 so finite differences stay on one side.
func offKinks(t *tensor.Tensor) {
	for i, v := range t.Data {
		if math.Abs(float64(v)) < 0.1 {
			t.Data[i] = 0.1 + v
		}
	}
}

// checkLayer checks a layer's input and parameter gradients through the scalar
// L = Σ r⊙layer(x) for a fixed random r.
func checkLayer(t *testing.T, l Layer, x *tensor.Tensor) {
	t.Helper()
	rng := testRNG()
	y := l.Forward(x, true)
	r := randTensor(rng, 1, y.Shape...)
	for _, p := range l.Params() {
		p.ZeroGrad()
	}
	dx := append([]float32(nil), l.Backward(r).Data...)
	L := func() float64 {
		y := l.Forward(x, true)
		var s float64
		for i, v := range y.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	if e := RelError(dx, NumericGrad(L, x.Data, gradEps)); e > gradTol {
		t.Errorf("%s: input gradient RelError %.2g, want ≤ %g", l, e, gradTol)
	}
	for _, p := range l.Params() {
		p.Materialize()
		analytic := append([]float32(nil), p.Grad.Data...)
		if e := RelError(analytic, NumericGrad(L, p.Value.Data, gradEps)); e > gradTol {
			t.Errorf("%s: %s gradient RelError %.2g, want ≤ %g", l, p.Name, e, gradTol)
		}
	}
}

func TestLayerGradients(t *testing.T) {
	rng := testRNG()
	dense := func(batch int) (Layer, *tensor.Tensor) {
		d := NewDense("d", 6, 4)
		d.Initialize(InitGlorotNormal, rng)
		fillNormal(d.B.Value.Data, 0.5, rng)
		return d, randTensor(rng, 1, batch, 6)
	}
	cases := []struct {
		name string
		make func() (Layer, *tensor.Tensor)
	}{
		{"dense batch 3", func() (Layer, *tensor.Tensor) { return dense(3) }},
		{"dense batch 1", func() (Layer, *tensor.Tensor) { return dense(1) }},
		{"dense batch 1 sparse input", func() (Layer, *tensor.Tensor) {
			l, x := dense(1)
			x.Data[0], x.Data[2], x.Data[3], x.Data[5] = 0, 0, 0, 0
			return l, x
		}},
		{"dense batch 3 zero columns", func() (Layer, *tensor.Tensor) {
			l, x := dense(3)
			l.(*Dense).SparseColumns = true
			for n := range 3 { // columns 1 and 4 are zero in every example: the packed path
				x.Data[n*6+1], x.Data[n*6+4] = 0, 0
			}
			return l, x
		}},
		{"sigmoid", func() (Layer, *tensor.Tensor) { return NewSigmoid(), randTensor(rng, 2, 3, 5) }},
		{"tanh", func() (Layer, *tensor.Tensor) { return NewTanh(), randTensor(rng, 1, 3, 5) }},
		{"relu", func() (Layer, *tensor.Tensor) {
			x := randTensor(rng, 1, 3, 5)
			offKinks(x)
			return NewReLU(), x
		}},
		{"softmax", func() (Layer, *tensor.Tensor) { return NewSoftmax(), randTensor(rng, 2, 3, 5) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, x := c.make()
			checkLayer(t, l, x)
		})
	}
}

func TestDenseSparsePathMatchesDense(t *testing.T) {
	rng := testRNG()
	d := NewDense("d", 8, 5)
	d.Initialize(InitGlorotUniform, rng)
	d.DeferGrad = true
	x := tensor.New(1, 8)
	x.Data[1], x.Data[6] = 0.7, -1.3 // 2 of 8 nonzero: the sparse path
	dy := randTensor(rng, 1, 1, 5)
	ySparse := d.Forward(x, true).Clone()
	if !d.sparse {
		t.Fatal("batch-1 input with 2 of 8 nonzero did not take the sparse path")
	}
	d.Backward(dy)
	if o, ok := d.W.DeferredOuter(); !ok || fmt.Sprint(o.Rows) != "[1 6]" {
		t.Errorf("DeferredOuter() = %+v, %v; want rows [1 6], true", o, ok)
	}
	d.W.Materialize()
	gSparse := d.W.Grad.Clone()
	d.W.ZeroGrad()
	// The same product through GEMM: a batch of two identical rows, halved.
	x2 := tensor.New(2, 8)
	copy(x2.Data, x.Data)
	copy(x2.Data[8:], x.Data)
	yDense := d.Forward(x2, true)
	dy2 := tensor.New(2, 5)
	for i, v := range dy.Data {
		dy2.Data[i], dy2.Data[5+i] = v/2, v/2
	}
	for i := range 5 {
		if diff := math.Abs(float64(yDense.Data[i] - ySparse.Data[i])); diff > 1e-6 {
			t.Errorf("y[%d]: sparse %g, dense %g", i, ySparse.Data[i], yDense.Data[i])
		}
	}
	d.Backward(dy2)
	for i, v := range d.W.Grad.Data {
		if diff := math.Abs(float64(v - gSparse.Data[i])); diff > 1e-6 {
			t.Fatalf("dW[%d]: sparse %g, dense %g", i, gSparse.Data[i], v)
		}
	}
	if _, ok := d.W.DeferredOuter(); ok {
		t.Error("dense path left a deferred gradient")
	}
}

func TestLossGradients(t *testing.T) {
	rng := testRNG()
	labels := []int{2, 0, 4}
	probs := func() *tensor.Tensor { // in (0.05, 0.95), away from the clamp
		p := tensor.New(3, 5)
		for i := range p.Data {
			p.Data[i] = 0.05 + 0.9*rng.Float32()
		}
		return p
	}
	cases := []struct {
		loss Loss
		out  *tensor.Tensor
	}{
		{&MSE{}, randTensor(rng, 1, 3, 5)},
		{&BCE{}, probs()},
		{&CrossEntropy{}, probs()},
		{&SoftmaxCrossEntropy{}, randTensor(rng, 2, 3, 5)},
		{&SoftmaxCrossEntropy{Smoothing: 0.1}, randTensor(rng, 2, 3, 5)},
		{&SigmoidBCE{}, randTensor(rng, 2, 3, 5)},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s/%d", c.loss, i), func(t *testing.T) {
			c.loss.Forward(c.out, labels)
			analytic := append([]float32(nil), c.loss.Backward().Data...)
			numeric := NumericGrad(func() float64 { return c.loss.Forward(c.out, labels) }, c.out.Data, 1e-3)
			if e := RelError(analytic, numeric); e > gradTol {
				t.Errorf("RelError %.2g, want ≤ %g", e, gradTol)
			}
		})
	}
}

// An outlier's loss is the cross-entropy to the uniform distribution,
// logsumexp(z) - mean(z), with its gradient, and it is smallest (log K, zero gradient)
// when every class is equally likely.
func TestOutlierLossIsUniformCrossEntropy(t *testing.T) {
	rng := testRNG()
	labels := []int{2, Outlier, 0, Outlier}
	for _, smoothing := range []float64{0, 0.1} {
		l := &SoftmaxCrossEntropy{Smoothing: smoothing}
		if smoothing > 0 {
			l.OutlierWeight = 0.5 // checked below against the unweighted loss
		}
		z := randTensor(rng, 2, 4, 5)
		l.Forward(z, labels)
		analytic := append([]float32(nil), l.Backward().Data...)
		numeric := NumericGrad(func() float64 { return l.Forward(z, labels) }, z.Data, 1e-3)
		if e := RelError(analytic, numeric); e > gradTol {
			t.Errorf("smoothing %g: RelError %.2g, want ≤ %g", smoothing, e, gradTol)
		}
		row := z.Data[5:10] // example 1, an outlier
		var s, mean float64
		for _, v := range row {
			s += math.Exp(float64(v))
			mean += float64(v) / 5
		}
		want := math.Log(s) - mean
		if got := l.Forward(tensor.FromSlice(slices.Clone(row), 1, 5), []int{Outlier}); math.Abs(got-l.weight(Outlier)*want) > 1e-5 {
			t.Errorf("smoothing %g, outlier weight %g: outlier loss %g, want the weight × (logsumexp(z)-mean(z) = %g)", smoothing, l.OutlierWeight, got, want)
		}
	}
	l := &SoftmaxCrossEntropy{}
	flat := tensor.FromSlice([]float32{3, 3, 3, 3, 3}, 1, 5)
	if got := l.Forward(flat, []int{Outlier}); math.Abs(got-math.Log(5)) > 1e-6 {
		t.Errorf("outlier loss at equal logits %g, want log 5", got)
	}
	for k, g := range l.Backward().Data {
		if math.Abs(float64(g)) > 1e-7 {
			t.Errorf("gradient[%d] %g at equal logits, want 0", k, g)
		}
	}
}

func TestOnlySoftmaxCrossEntropyTakesOutliers(t *testing.T) {
	for _, l := range []Loss{&MSE{}, &BCE{}, &CrossEntropy{}, &SigmoidBCE{}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "outlier") {
					t.Errorf("%s: Forward with an outlier label: recovered %v, want a panic naming the outlier", l, r)
				}
			}()
			l.Forward(tensor.FromSlice([]float32{0.2, 0.3, 0.5}, 1, 3), []int{Outlier})
		}()
	}
}

func TestFusedLossesEqualUnfused(t *testing.T) {
	rng := testRNG()
	z := randTensor(rng, 3, 4, 6)
	labels := []int{0, 5, 2, 2}
	soft := NewSoftmax().Forward(z, false)
	sig := NewSigmoid().Forward(z, false)
	cases := []struct {
		name           string
		fused, unfused float64
	}{
		{"softmax+ce", (&SoftmaxCrossEntropy{}).Forward(z, labels), (&CrossEntropy{}).Forward(soft, labels)},
		{"sigmoid+bce", (&SigmoidBCE{}).Forward(z, labels), (&BCE{}).Forward(sig, labels)},
	}
	for _, c := range cases {
		if math.Abs(c.fused-c.unfused) > 1e-4*math.Abs(c.unfused) {
			t.Errorf("%s: fused %g, unfused %g", c.name, c.fused, c.unfused)
		}
	}
}

func TestFusedLossesStableOnHugeLogits(t *testing.T) {
	z := tensor.FromSlice([]float32{1000, -1000, 0, 88, -88, 3e4}, 1, 6)
	for _, l := range []Loss{&SoftmaxCrossEntropy{}, &SigmoidBCE{}} {
		v := l.Forward(z, []int{1})
		g := l.Backward()
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s: loss %g on huge logits", l, v)
		}
		for i, x := range g.Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Errorf("%s: gradient[%d] = %g on huge logits", l, i, x)
			}
		}
	}
}

// TestSigmoidBCEGradientIsSeedDelta: the seed network's output delta, delta3 = x3 - y,
// is exactly the gradient of binary cross-entropy through the output sigmoid.
func TestSigmoidBCEGradientIsSeedDelta(t *testing.T) {
	z := tensor.FromSlice([]float32{-2, 0.5, 3}, 1, 3)
	l := &SigmoidBCE{}
	l.Forward(z, []int{1})
	g := l.Backward()
	for k, zk := range z.Data {
		want := sigmoid(zk) - target(3, k, 1)
		if math.Abs(float64(g.Data[k]-want)) > 1e-7 {
			t.Errorf("dz[%d] = %g, want x3-y = %g", k, g.Data[k], want)
		}
	}
}

// TestDensePackedColumnsMatchDense: a batch whose zero columns the first layer leaves
// out gives the output and gradients of the full product, to float32 rounding (the
// sums run in another order), including a batch with no nonzero column at all and a
// column holding only negative zeros.
func TestDensePackedColumnsMatchDense(t *testing.T) {
	rng := testRNG()
	const N, In, Out = 6, 40, 7
	for _, tc := range []struct {
		name    string
		nonzero func(col int) bool
	}{
		{"border zero", func(c int) bool { return c >= 8 && c < 30 }},
		{"every third", func(c int) bool { return c%3 == 0 }},
		{"all zero", func(int) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := tensor.New(N, In)
			for n := range N {
				for c := range In {
					switch {
					case tc.nonzero(c) && (n+c)%4 != 0: // some examples are zero there too
						x.Data[n*In+c] = float32(rng.NormFloat64())
					case c == 31:
						x.Data[n*In+c] = float32(math.Copysign(0, -1))
					}
				}
			}
			dy := randTensor(rng, 1, N, Out)
			run := func(packed bool) (y, dW, db []float32, took bool) {
				d := NewDense("d", In, Out)
				d.Initialize(InitGlorotUniform, testRNG())
				fillNormal(d.B.Value.Data, 0.5, testRNG())
				d.SparseColumns = packed
				y = slices.Clone(d.Forward(x, true).Data)
				took = d.packed
				d.Backward(dy)
				return y, d.W.Grad.Data, d.B.Grad.Data, took
			}
			yP, dWP, dbP, took := run(true)
			if !took {
				t.Fatal("a batch with zero columns did not take the packed path")
			}
			yD, dWD, dbD, _ := run(false)
			for _, c := range []struct {
				name      string
				got, want []float32
			}{{"y", yP, yD}, {"dW", dWP, dWD}, {"db", dbP, dbD}} {
				for i := range c.want {
					if math.Abs(float64(c.got[i]-c.want[i])) > 1e-5*(1+math.Abs(float64(c.want[i]))) {
						t.Fatalf("%s[%d]: packed %g, full product %g", c.name, i, c.got[i], c.want[i])
					}
				}
			}
		})
	}
}

func TestNetworkGradients(t *testing.T) {
	for _, act := range Activations {
		for _, out := range []struct{ output, loss string }{
			{"softmax", "ce"}, {"sigmoid", "bce"}, {"sigmoid", "mse"}, {"softmax", "mse"},
			{"linear", "mse"}, {"sigmoid", "ce"}, {"softmax", "bce"},
		} {
			name := fmt.Sprintf("%s/%s+%s", act, out.output, out.loss)
			t.Run(name, func(t *testing.T) {
				rng := testRNG()
				m := MLP{Sizes: []int{5, 7, 6, 4}, Activation: act, Output: out.output, Loss: out.loss, Init: InitGlorotNormal}
				net, err := m.Build(rng)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range net.Params() {
					if len(p.Value.Shape) == 1 {
						fillNormal(p.Value.Data, 0.3, rng) // nonzero biases get checked too
					}
				}
				x := randTensor(rng, 1, 3, 5)
				if act == "relu" {
					ensureOffKinks(t, net, x)
				}
				for _, r := range CheckNetwork(net, x, []int{3, 0, 1}, gradEps) {
					if r.RelError > gradTol {
						t.Errorf("%s: RelError %.2g, want ≤ %g", r.Name, r.RelError, gradTol)
					}
				}
			})
		}
	}
}

// ensureOffKinks fails the test setup if some ReLU pre-activation sits so near 0 that a
// finite-difference step would cross it.
func ensureOffKinks(t *testing.T, net *Network, x *tensor.Tensor) {
	t.Helper()
	h := x
	for _, l := range net.Layers {
		if _, ok := l.(*ReLU); ok {
			for _, v := range h.Data {
				if math.Abs(float64(v)) < 0.05 {
					t.Skipf("pre-activation %g too near the ReLU kink for this seed", v)
				}
			}
		}
		h = l.Forward(h, true)
	}
}

// brokenSigmoid forgets the derivative in Backward (dx = dy), the bug the gradient check
// exists to catch.
type brokenSigmoid struct{ *Sigmoid }

func (b brokenSigmoid) Backward(dy *tensor.Tensor) *tensor.Tensor { return dy }

func TestGradientCheckCatchesDroppedSigmoidDerivative(t *testing.T) {
	rng := testRNG()
	m := MLP{Sizes: []int{5, 7, 3}, Activation: "sigmoid", Output: "sigmoid", Loss: "bce", Init: InitGlorotNormal}
	net, err := m.Build(rng)
	if err != nil {
		t.Fatal(err)
	}
	net.Layers[1] = brokenSigmoid{net.Layers[1].(*Sigmoid)}
	x := randTensor(rng, 1, 2, 5)
	worst := 0.0
	for _, r := range CheckNetwork(net, x, []int{0, 2}, gradEps) {
		worst = max(worst, r.RelError)
	}
	if worst <= gradTol {
		t.Errorf("gradient check passed a network without the sigmoid derivative: worst RelError %.2g", worst)
	}
}

func TestMLPValidate(t *testing.T) {
	good := MLP{Sizes: []int{784, 300, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: InitHeNormal}
	cases := []struct {
		name   string
		change func(*MLP)
		want   string
	}{
		{"one size", func(m *MLP) { m.Sizes = []int{784} }, "at least an input and an output"},
		{"zero size", func(m *MLP) { m.Sizes = []int{784, 0, 10} }, "sizes must be positive"},
		{"activation", func(m *MLP) { m.Activation = "swish" }, `unknown activation "swish"`},
		{"output", func(m *MLP) { m.Output = "tanh" }, `unknown output "tanh"`},
		{"loss", func(m *MLP) { m.Loss = "hinge" }, `unknown loss "hinge"`},
		{"linear with ce", func(m *MLP) { m.Output = "linear" }, "loss ce needs probabilities"},
		{"init", func(m *MLP) { m.Init = "ones" }, `unknown init "ones"`},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v, want nil", good, err)
	}
	for _, c := range cases {
		m := good
		m.Sizes = append([]int(nil), good.Sizes...)
		c.change(&m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want error containing %q", c.name, err, c.want)
		}
	}
}

func TestInitStatistics(t *testing.T) {
	cases := []struct {
		init     Init
		wantStd  float64
		biasZero bool
	}{
		{InitNormal, 1, false},
		{InitGlorotUniform, math.Sqrt(2.0 / (400 + 200)), true},
		{InitGlorotNormal, math.Sqrt(2.0 / (400 + 200)), true},
		{InitHeNormal, math.Sqrt(2.0 / 400), true},
		{InitHeUniform, math.Sqrt(2.0 / 400), true},
	}
	for _, c := range cases {
		d := NewDense("d", 400, 200)
		d.Initialize(c.init, testRNG())
		var s, ss float64
		for _, v := range d.W.Value.Data {
			s += float64(v)
			ss += float64(v) * float64(v)
		}
		n := float64(len(d.W.Value.Data))
		std := math.Sqrt(ss/n - (s/n)*(s/n))
		if math.Abs(std-c.wantStd) > 0.02*c.wantStd {
			t.Errorf("%s: weight std %.4g, want %.4g", c.init, std, c.wantStd)
		}
		allZero := true
		for _, v := range d.B.Value.Data {
			allZero = allZero && v == 0
		}
		if allZero != c.biasZero {
			t.Errorf("%s: biases all zero = %v, want %v", c.init, allZero, c.biasZero)
		}
	}
}

func TestInitDeterministic(t *testing.T) {
	a, b := NewDense("a", 30, 20), NewDense("b", 30, 20)
	a.Initialize(InitNormal, rand.New(rand.NewPCG(7, 7)))
	b.Initialize(InitNormal, rand.New(rand.NewPCG(7, 7)))
	for i := range a.W.Value.Data {
		if a.W.Value.Data[i] != b.W.Value.Data[i] {
			t.Fatalf("same seed, weight %d differs: %g vs %g", i, a.W.Value.Data[i], b.W.Value.Data[i])
		}
	}
}

func TestShapeMismatchPanicsNamingLayer(t *testing.T) {
	d := NewDense("d", 784, 300)
	defer func() {
		r := recover()
		want := "nn: Dense(784->300): input [32 100], want [N 784]"
		if r == nil || fmt.Sprint(r) != want {
			t.Errorf("panic %v, want %q", r, want)
		}
	}()
	d.Forward(tensor.New(32, 100), false)
}

// TestDeferredGradientAccumulates: two sparse batch-1 backward passes without a step in
// between add up like dense ones (the second materializes the first).
func TestDeferredGradientAccumulates(t *testing.T) {
	rng := testRNG()
	d := NewDense("d", 6, 3)
	d.Initialize(InitGlorotUniform, rng)
	xs := []*tensor.Tensor{
		tensor.FromSlice([]float32{0, 1, 0, 0, 2, 0}, 1, 6),
		tensor.FromSlice([]float32{3, 0, 0, 0, -1, 0}, 1, 6),
	}
	dys := []*tensor.Tensor{randTensor(rng, 1, 1, 3), randTensor(rng, 1, 1, 3)}
	want := make([]float32, 18)
	for k := range xs {
		for i := 0; i < 6; i++ {
			for j := 0; j < 3; j++ {
				want[i*3+j] += xs[k].Data[i] * dys[k].Data[j]
			}
		}
		d.Forward(xs[k], true)
		d.Backward(dys[k])
	}
	d.W.Materialize()
	for i, v := range d.W.Grad.Data {
		if math.Abs(float64(v-want[i])) > 1e-6 {
			t.Fatalf("dW[%d] = %g, want %g", i, v, want[i])
		}
	}
	d.W.ZeroGrad()
	for i, v := range d.W.Grad.Data {
		if v != 0 {
			t.Fatalf("dW[%d] = %g after ZeroGrad", i, v)
		}
	}
}

func TestSingleOutputGradients(t *testing.T) {
	for _, loss := range []string{"bce", "mse"} {
		rng := testRNG()
		net, err := MLP{Sizes: []int{3, 4, 1}, Activation: "tanh", Output: "sigmoid", Loss: loss, Init: InitGlorotNormal}.Build(rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range CheckNetwork(net, randTensor(rng, 1, 4, 3), []int{0, 1, 1, 0}, gradEps) {
			if r.RelError > gradTol {
				t.Errorf("%s: %s RelError %.2g", loss, r.Name, r.RelError)
			}
		}
	}
}

// TestDeferredRowsAccumulate: with DeferGrad, the packed path's gradient kept as rows
// still accumulates as Backward promises: two backward passes of one forward (two
// losses added), or a forward in between, give the gradient written out at once, in
// fp32 and in bf16.
func TestDeferredRowsAccumulate(t *testing.T) {
	const N, In, Out = 16, 12, 5
	rng := testRNG()
	x := tensor.New(N, In)
	for n := range N {
		for c := range In {
			if c%3 != 0 { // a third of the columns without ink
				x.Data[n*In+c] = float32(rng.NormFloat64())
			}
		}
	}
	dy1, dy2 := randTensor(rng, 1, N, Out), randTensor(rng, 1, N, Out)
	for _, bf16 := range []bool{false, true} {
		if bf16 && kernels.BF16() != nil {
			continue
		}
		for _, between := range []bool{false, true} {
			grad := func(deferred bool) []float32 {
				d := NewDense("d", In, Out)
				d.Initialize(InitGlorotUniform, testRNG())
				d.SparseColumns, d.NoInputGrad, d.DeferGrad, d.BF16 = true, true, deferred, bf16
				d.Forward(x, true)
				if !d.packed {
					t.Fatal("the batch did not take the packed path")
				}
				d.Backward(dy1)
				if between {
					d.Forward(x, true)
				}
				d.Backward(dy2)
				d.W.Materialize()
				return slices.Clone(d.W.Grad.Data)
			}
			got, want := grad(true), grad(false)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("bf16 %v, forward between %v: dW[%d] = %g deferred, %g written out", bf16, between, i, got[i], want[i])
				}
			}
		}
	}
}
