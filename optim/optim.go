// Package optim updates parameters from their gradients: SGD (with momentum) and Adam.
//
// Step applies the accumulated gradients and clears them, so a training step is
// forward, backward, Step.
package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/nn"
)

// Optimizer applies and clears the gradients of params.
type Optimizer interface {
	Step(params []*nn.Param)
	// SetLR changes the learning rate, for schedules.
	SetLR(lr float64)
	LR() float64
	String() string
	// State returns a copy of what the optimizer carries between steps, for checkpoints;
	// SetState restores it (the params must be the same tensors, by name and size).
	State(params []*nn.Param) State
	SetState(params []*nn.Param, s State) error
}

// TakesDeferred reports whether o is one of this package's optimizers, which read a
// parameter's gradient through Materialize or its deferred terms (nn.Param): a network
// may then keep such terms (nn.Network.SetDeferGrad).
func TakesDeferred(o Optimizer) bool {
	switch o.(type) {
	case *SGD, *Adam:
		return true
	}
	return false
}

// State is an optimizer's memory: a step count and named per-parameter buffers
// ("m/<param>", "v/<param>" for Adam, "velocity/<param>" for momentum).
type State struct {
	Steps   int
	Buffers map[string][]float32
}

func saveBuffers(s *State, prefix string, params []*nn.Param, bufs map[*nn.Param][]float32) {
	for _, p := range params {
		if b, ok := bufs[p]; ok {
			s.Buffers[prefix+p.Name] = append([]float32(nil), b...)
		}
	}
}

func loadBuffers(s State, prefix string, params []*nn.Param) (map[*nn.Param][]float32, error) {
	out := make(map[*nn.Param][]float32)
	for _, p := range params {
		b, ok := s.Buffers[prefix+p.Name]
		if !ok {
			continue // not stepped yet
		}
		if len(b) != p.Value.Len() {
			return nil, fmt.Errorf("optim: state %s%s has %d values, the parameter %d", prefix, p.Name, len(b), p.Value.Len())
		}
		out[p] = append([]float32(nil), b...)
	}
	return out, nil
}

// Names lists the optimizers New accepts.
var Names = []string{"sgd", "momentum", "nesterov", "adam", "adamw"}

// New returns the named optimizer with the learning rate lr and the usual defaults
// (momentum 0.9; Adam β1 0.9, β2 0.999, ε 1e-8) and no weight decay.
func New(name string, lr float64) (Optimizer, error) { return NewDecay(name, lr, 0) }

// NewDecay is New with weight decay wd on the weights (parameters of two or more
// dimensions; biases and batch-norm scales are left alone, as is usual): added to the
// gradient (L2) for sgd, momentum, nesterov and adam, decoupled for adamw
// (Loshchilov & Hutter 2019: w -= lr·wd·w beside the Adam step).
func NewDecay(name string, lr, wd float64) (Optimizer, error) {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return nil, fmt.Errorf("optim: learning rate %g: want a positive number", lr)
	}
	if !(wd >= 0) || math.IsInf(wd, 0) {
		return nil, fmt.Errorf("optim: weight decay %g: want 0 or a positive number", wd)
	}
	switch name {
	case "sgd":
		return &SGD{Rate: lr, WeightDecay: wd}, nil
	case "momentum":
		return &SGD{Rate: lr, Momentum: 0.9, WeightDecay: wd}, nil
	case "nesterov":
		return &SGD{Rate: lr, Momentum: 0.9, Nesterov: true, WeightDecay: wd}, nil
	case "adam":
		a := NewAdam(lr)
		a.WeightDecay = wd
		return a, nil
	case "adamw":
		a := NewAdam(lr)
		a.WeightDecay, a.Decoupled = wd, true
		return a, nil
	}
	return nil, fmt.Errorf("optim: unknown optimizer %q, want one of %v", name, Names)
}

// decays says whether weight decay applies to p: weights, not biases or norm scales.
func decays(p *nn.Param) bool { return len(p.Value.Shape) >= 2 }

// SGD is stochastic gradient descent, with optional momentum:
// v = μ·v + g; w -= lr·v (PyTorch's formulation). With μ = 0 it is w -= lr·g, and on a
// row-sparse gradient (Dense's batch-1 path) only the touched rows are visited.
type SGD struct {
	Rate        float64
	Momentum    float64
	Nesterov    bool    // w -= lr·(g + μ·v) instead of lr·v (Sutskever et al. 2013, as PyTorch)
	WeightDecay float64 // L2: g += wd·w on weights
	velocity    map[*nn.Param][]float32
	coef        []float32 // scratch for a deferred gradient's scaled coefficients
}

func (s *SGD) SetLR(lr float64) { s.Rate = lr }
func (s *SGD) LR() float64      { return s.Rate }

func (s *SGD) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sgd(lr=%g", s.Rate)
	if s.Momentum != 0 {
		fmt.Fprintf(&b, ", momentum=%g", s.Momentum)
	}
	if s.Nesterov {
		b.WriteString(", nesterov")
	}
	if s.WeightDecay != 0 {
		fmt.Fprintf(&b, ", weight decay=%g", s.WeightDecay)
	}
	return b.String() + ")"
}

func (s *SGD) Step(params []*nn.Param) {
	lr := float32(s.Rate)
	for _, p := range params {
		w, g := p.Value.Data, p.Grad.Data
		if s.WeightDecay != 0 && decays(p) {
			p.Materialize()
			kernels.Axpy(float32(s.WeightDecay), w, g) // g += wd·w
		}
		if s.Momentum == 0 {
			if o, ok := p.DeferredOuter(); ok {
				// w -= lr·Σ coef·e(row)⊗vec: the rows of the nonzero inputs, in one pass.
				s.coef = s.coef[:0]
				for _, c := range o.Coef {
					s.coef = append(s.coef, -lr*c)
				}
				kernels.AddOuterRows(w, p.Value.Cols(), o.Rows, s.coef, o.Vec)
			} else {
				p.Materialize()
				kernels.Axpy(-lr, g, w)
			}
			p.ZeroGrad()
			continue
		}
		p.Materialize()
		if s.velocity == nil {
			s.velocity = make(map[*nn.Param][]float32)
		}
		v, ok := s.velocity[p]
		if !ok {
			v = make([]float32, len(w))
			s.velocity[p] = v
		}
		mu := float32(s.Momentum)
		if s.Nesterov {
			for i := range w {
				v[i] = mu*v[i] + g[i]
				w[i] -= lr * (g[i] + mu*v[i])
			}
		} else {
			for i := range w {
				v[i] = mu*v[i] + g[i]
				w[i] -= lr * v[i]
			}
		}
		p.ZeroGrad()
	}
}

// State implements Optimizer.
func (s *SGD) State(params []*nn.Param) State {
	st := State{Buffers: map[string][]float32{}}
	saveBuffers(&st, "velocity/", params, s.velocity)
	return st
}

// SetState implements Optimizer.
func (s *SGD) SetState(params []*nn.Param, st State) error {
	v, err := loadBuffers(st, "velocity/", params)
	if err != nil {
		return err
	}
	s.velocity = v
	return nil
}

// Adam is Kingma & Ba's method as PyTorch computes it:
// m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
// w -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + ε).
type Adam struct {
	Rate, Beta1, Beta2, Eps float64
	WeightDecay             float64 // on weights: L2 in the gradient, or decoupled (AdamW)
	Decoupled               bool
	t                       int
	m, v                    map[*nn.Param][]float32
	idx                     []int32 // scratch: the packed position of each row (rowIndex)
}

// NewAdam returns Adam with the usual defaults.
func NewAdam(lr float64) *Adam {
	return &Adam{Rate: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

func (a *Adam) SetLR(lr float64) { a.Rate = lr }
func (a *Adam) LR() float64      { return a.Rate }
func (a *Adam) String() string {
	name, wd := "adam", ""
	if a.Decoupled {
		name = "adamw"
	}
	if a.WeightDecay != 0 {
		wd = fmt.Sprintf(", weight decay=%g", a.WeightDecay)
	}
	return fmt.Sprintf("%s(lr=%g, β1=%g, β2=%g, ε=%g%s)", name, a.Rate, a.Beta1, a.Beta2, a.Eps, wd)
}

func (a *Adam) Step(params []*nn.Param) {
	if a.m == nil {
		a.m, a.v = make(map[*nn.Param][]float32), make(map[*nn.Param][]float32)
	}
	a.t++
	bc1 := 1 - math.Pow(a.Beta1, float64(a.t))
	bc2 := 1 - math.Pow(a.Beta2, float64(a.t))
	k := kernels.AdamParams{Beta1: float32(a.Beta1), Beta2: float32(a.Beta2), Step: float32(a.Rate / bc1),
		InvSqrtBC2: float32(1 / math.Sqrt(bc2)), Eps: float32(a.Eps)}
	for _, p := range params {
		w := p.Value.Data
		m, ok := a.m[p]
		if !ok {
			m = make([]float32, len(w))
			a.m[p] = m
			a.v[p] = make([]float32, len(w))
		}
		decay := a.WeightDecay != 0 && decays(p)
		// The packed first layer's gradient, its rows with ink only, goes to the update
		// as it is (the same values as through a dense gradient, bit for bit), unless L2
		// decay must first add to every row of it.
		if r, ok := p.DeferredRows(); ok && (!decay || a.Decoupled) {
			if decay {
				a.shrink(w)
			}
			a.idx = rowIndex(a.idx, p.Value.Rows(), r.Rows)
			kernels.AdamRows(w, m, a.v[p], p.Value.Cols(), a.idx, r.Vals, k)
			p.ClearedBy() // Grad was zero all along; the rows are spent
			continue
		}
		p.Materialize()
		g := p.Grad.Data
		if decay {
			if a.Decoupled {
				a.shrink(w)
			} else {
				kernels.Axpy(float32(a.WeightDecay), w, g)
			}
		}
		kernels.AdamUpdate(w, g, m, a.v[p], k) // clears g as it goes
		p.ClearedBy()
	}
}

// shrink is AdamW's decoupled decay: w *= 1 - lr·decay.
func (a *Adam) shrink(w []float32) {
	shrink := float32(1 - a.Rate*a.WeightDecay)
	for i := range w {
		w[i] *= shrink
	}
}

// rowIndex is idx (reused) with idx[r] the position of row r in packed, or -1.
func rowIndex(idx []int32, rows int, packed []int) []int32 {
	if cap(idx) < rows {
		idx = make([]int32, rows)
	}
	idx = idx[:rows]
	for i := range idx {
		idx[i] = -1
	}
	for i, r := range packed {
		idx[r] = int32(i)
	}
	return idx
}

// State implements Optimizer.
func (a *Adam) State(params []*nn.Param) State {
	st := State{Steps: a.t, Buffers: map[string][]float32{}}
	saveBuffers(&st, "m/", params, a.m)
	saveBuffers(&st, "v/", params, a.v)
	return st
}

// SetState implements Optimizer.
func (a *Adam) SetState(params []*nn.Param, st State) error {
	m, err := loadBuffers(st, "m/", params)
	if err != nil {
		return err
	}
	v, err := loadBuffers(st, "v/", params)
	if err != nil {
		return err
	}
	if len(m) != len(v) {
		return fmt.Errorf("optim: Adam state has %d first and %d second moments", len(m), len(v))
	}
	a.t, a.m, a.v = st.Steps, m, v
	return nil
}
