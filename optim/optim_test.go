package optim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// param returns a 1-parameter "network" whose gradient the test sets by hand.
func param(w float32) *nn.Param {
	return &nn.Param{Name: "w", Value: tensor.FromSlice([]float32{w}, 1), Grad: tensor.New(1)}
}

func TestSGDStep(t *testing.T) {
	p := param(1)
	p.Grad.Data[0] = 0.5
	(&SGD{Rate: 0.1}).Step([]*nn.Param{p})
	if got, want := p.Value.Data[0], float32(1-0.1*0.5); got != want {
		t.Errorf("w after one SGD step = %g, want %g", got, want)
	}
	if p.Grad.Data[0] != 0 {
		t.Errorf("gradient not cleared after Step: %g", p.Grad.Data[0])
	}
}

func TestMomentumStep(t *testing.T) {
	p := param(1)
	s := &SGD{Rate: 0.1, Momentum: 0.9}
	for _, g := range []float32{1, 1} {
		p.Grad.Data[0] = g
		s.Step([]*nn.Param{p})
	}
	// v1 = 1, w1 = 0.9; v2 = 0.9+1 = 1.9, w2 = 0.9 - 0.19 = 0.71
	if got := p.Value.Data[0]; math.Abs(float64(got)-0.71) > 1e-6 {
		t.Errorf("w after two momentum steps = %g, want 0.71", got)
	}
}

// TestAdamFirstSteps checks against values worked out from the formula: with bias
// correction, Adam's first step is lr·sign(g) whatever the gradient's size.
func TestAdamFirstSteps(t *testing.T) {
	for _, g := range []float32{1e-3, 0.5, -40} {
		p := param(0)
		p.Grad.Data[0] = g
		NewAdam(0.01).Step([]*nn.Param{p})
		want := -0.01 * math.Copysign(1, float64(g))
		if got := float64(p.Value.Data[0]); math.Abs(got-want) > 1e-5 {
			t.Errorf("g=%g: first Adam step moved w to %g, want %g", g, got, want)
		}
	}
	// Second step with g=1 then g=-1: m2 = 0.9·0.1 - 0.1 = -0.01, v2 = 0.999·0.001+0.001 = 0.001999
	p := param(0)
	a := NewAdam(0.01)
	for _, g := range []float32{1, -1} {
		p.Grad.Data[0] = g
		a.Step([]*nn.Param{p})
	}
	mhat := -0.01 / (1 - 0.81)
	vhat := 0.001999 / (1 - 0.998001)
	want := -0.01 + -0.01*mhat/(math.Sqrt(vhat)+1e-8)
	if got := float64(p.Value.Data[0]); math.Abs(got-want) > 1e-5 {
		t.Errorf("after two Adam steps w = %g, want %g", got, want)
	}
}

func TestOptimizersMinimizeQuadratic(t *testing.T) {
	for _, name := range Names {
		opt, err := New(name, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		p := param(3)
		for range 500 {
			p.Grad.Data[0] = 2 * (p.Value.Data[0] - 1) // d/dw (w-1)²
			opt.Step([]*nn.Param{p})
		}
		if got := p.Value.Data[0]; math.Abs(float64(got)-1) > 1e-2 {
			t.Errorf("%s: w = %g after 500 steps on (w-1)², want 1", name, got)
		}
	}
}

// TestSGDRowSparseEqualsDense: the sparse batch-1 path of Dense (a deferred outer-product
// gradient) and plain SGD's direct row update give the weights a dense step gives.
func TestSGDRowSparseEqualsDense(t *testing.T) {
	x := tensor.FromSlice([]float32{0, 2, 0, 0, -1, 0}, 1, 6)
	dy := tensor.FromSlice([]float32{0.5, -1, 0.25}, 1, 3)
	weights := func(sparse bool) []float32 {
		d := nn.NewDense("d", 6, 3)
		d.DeferGrad = true
		for i := range d.W.Value.Data {
			d.W.Value.Data[i] = float32(i) / 10
		}
		if sparse {
			d.Forward(x, true)
		} else { // the same example twice with half the gradient: the GEMM path
			x2 := tensor.New(2, 6)
			copy(x2.Data, x.Data)
			copy(x2.Data[6:], x.Data)
			d.Forward(x2, true)
			dy = tensor.FromSlice([]float32{0.25, -0.5, 0.125, 0.25, -0.5, 0.125}, 2, 3)
		}
		d.Backward(dy)
		if _, ok := d.W.DeferredOuter(); ok != sparse {
			t.Fatalf("sparse=%v: gradient deferred = %v", sparse, ok)
		}
		(&SGD{Rate: 0.1}).Step(d.Params())
		for i, g := range d.W.Grad.Data {
			if g != 0 {
				t.Fatalf("sparse=%v: gradient %d not cleared: %g", sparse, i, g)
			}
		}
		return d.W.Value.Data
	}
	ws, wd := weights(true), weights(false)
	for i := range ws {
		if math.Abs(float64(ws[i]-wd[i])) > 1e-6 {
			t.Errorf("W[%d]: sparse path %g, dense path %g", i, ws[i], wd[i])
		}
	}
}

func TestNewRejects(t *testing.T) {
	cases := []struct {
		name string
		lr   float64
		want string
	}{
		{"rmsprop", 0.1, `unknown optimizer "rmsprop"`},
		{"sgd", 0, "learning rate 0"},
		{"adam", -1, "learning rate -1"},
		{"sgd", math.NaN(), "learning rate NaN"},
	}
	for _, c := range cases {
		if _, err := New(c.name, c.lr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %g) = %v, want error containing %q", c.name, c.lr, err, c.want)
		}
	}
}

// TestStateRoundTrip: an optimizer restored from State continues exactly as the original.
func TestStateRoundTrip(t *testing.T) {
	for _, name := range Names {
		mk := func() (*nn.Param, Optimizer) {
			o, _ := New(name, 0.05)
			return param(3), o
		}
		p, a := mk()
		step := func(p *nn.Param, o Optimizer) {
			p.Grad.Data[0] = 2 * (p.Value.Data[0] - 1)
			o.Step([]*nn.Param{p})
		}
		for range 5 {
			step(p, a)
		}
		st := a.State([]*nn.Param{p})
		q, b := mk()
		q.Value.Data[0] = p.Value.Data[0]
		if err := b.SetState([]*nn.Param{q}, st); err != nil {
			t.Fatalf("%s: SetState: %v", name, err)
		}
		for range 5 {
			step(p, a)
			step(q, b)
		}
		if p.Value.Data[0] != q.Value.Data[0] {
			t.Errorf("%s: restored optimizer gives w = %g, original %g", name, q.Value.Data[0], p.Value.Data[0])
		}
	}
	o, _ := New("adam", 0.1)
	bad := State{Buffers: map[string][]float32{"m/w": {1, 2}, "v/w": {1, 2}}}
	if err := o.SetState([]*nn.Param{param(1)}, bad); err == nil {
		t.Error("SetState accepted a buffer of the wrong size")
	}
}

func TestNesterovAndWeightDecay(t *testing.T) {
	// Nesterov, two steps with g = 1: v1 = 1, w1 = 1 - 0.1·(1 + 0.9) = 0.81;
	// v2 = 1.9, w2 = 0.81 - 0.1·(1 + 1.71) = 0.539.
	p := param(1)
	o, _ := New("nesterov", 0.1)
	for range 2 {
		p.Grad.Data[0] = 1
		o.Step([]*nn.Param{p})
	}
	if got := p.Value.Data[0]; math.Abs(float64(got)-0.539) > 1e-6 {
		t.Errorf("nesterov: w = %g, want 0.539", got)
	}
	weight := func() *nn.Param {
		return &nn.Param{Name: "w", Value: tensor.FromSlice([]float32{2}, 1, 1), Grad: tensor.New(1, 1)}
	}
	// SGD with L2: g = 0 + 0.5·2 = 1, w = 2 - 0.1 = 1.9. Biases (1-D) are not decayed.
	w, b := weight(), param(2)
	sgd, _ := NewDecay("sgd", 0.1, 0.5)
	sgd.Step([]*nn.Param{w, b})
	if w.Value.Data[0] != 1.9 || b.Value.Data[0] != 2 {
		t.Errorf("sgd weight decay: weight %g (want 1.9), bias %g (want 2)", w.Value.Data[0], b.Value.Data[0])
	}
	// AdamW with a zero gradient: the Adam step is 0 and w shrinks by lr·wd.
	w = weight()
	aw, _ := NewDecay("adamw", 0.1, 0.5)
	aw.Step([]*nn.Param{w})
	if got := w.Value.Data[0]; math.Abs(float64(got)-2*(1-0.05)) > 1e-6 {
		t.Errorf("adamw with zero gradient: w = %g, want %g", got, 2*(1-0.05))
	}
	if _, err := NewDecay("adam", 0.1, -1); err == nil {
		t.Error("negative weight decay accepted")
	}
}

// TestAdamPackedRowsEqualDense: the packed first layer's gradient, kept as its rows
// (nn.Param.DeferredRows) and handed to Adam and AdamW as they are, gives the weights
// the gradient written out gives, bit for bit, over steps whose batches ink different
// columns; a second batch's backward before the step (accumulation) adds to the first.
func TestAdamPackedRowsEqualDense(t *testing.T) {
	const in, out, n = 40, 9, 24
	rng := rand.New(rand.NewPCG(3, 3))
	batch := func() (*tensor.Tensor, *tensor.Tensor) {
		x, dy := tensor.New(n, in), tensor.New(n, out)
		for c := range in {
			if rng.IntN(3) == 0 {
				continue // a column without ink in this batch
			}
			for r := range n {
				if rng.IntN(2) == 0 {
					x.Data[r*in+c] = rng.Float32()
				}
			}
		}
		for i := range dy.Data {
			dy.Data[i] = rng.Float32() - 0.5
		}
		return x, dy
	}
	type step struct{ x, dy []*tensor.Tensor }
	var steps []step
	for s := range 6 {
		st := step{}
		for range 1 + s%2 { // odd steps accumulate two batches
			x, dy := batch()
			st.x, st.dy = append(st.x, x), append(st.dy, dy)
		}
		steps = append(steps, st)
	}
	for _, c := range []struct {
		name  string
		decay float64
	}{{"adam", 0}, {"adamw", 0.1}, {"adam", 0.01}} { // the last: L2 decay adds to every row, so the rows are written out
		name := c.name
		run := func(dense bool) []float32 {
			d := nn.NewDense("d", in, out)
			d.SparseColumns, d.NoInputGrad, d.DeferGrad = true, true, true
			for i := range d.W.Value.Data {
				d.W.Value.Data[i] = float32(i%17)/17 - 0.5
			}
			opt, _ := NewDecay(name, 0.01, c.decay)
			deferred := false
			for _, st := range steps {
				for i := range st.x {
					d.Forward(st.x[i], true)
					d.Backward(st.dy[i])
					if dense { // written out at once: no deferred term outlives its batch
						d.W.Materialize()
					}
				}
				if _, ok := d.W.DeferredRows(); ok {
					deferred = true
				}
				opt.Step(d.Params())
			}
			if !dense && !deferred {
				t.Fatalf("%s: the packed layer's gradient was never kept as rows", name)
			}
			return d.W.Value.Data
		}
		rows, dense := run(false), run(true)
		for i := range rows {
			if math.Float32bits(rows[i]) != math.Float32bits(dense[i]) {
				t.Fatalf("%s: W[%d] = %g from the rows, %g from the dense gradient", name, i, rows[i], dense[i])
			}
		}
	}
}
