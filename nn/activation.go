package nn

import (
	"fmt"
	"math"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// Activations apply a function elementwise (Softmax: per example) and keep their output,
// from which each derivative is computed.

// activation is the shared shell of the elementwise activation layers.
type activation struct {
	name   string
	y, dx  *tensor.Tensor
	apply  func(y, x []float32)      // y = f(x)
	derive func(dx, y, dy []float32) // dx = f'(x)·dy, written in terms of y = f(x)
}

// elementGrain is the fewest values worth a worker of their own in elementwise loops:
// below it, starting a goroutine costs more than the loop.
const elementGrain = 1 << 14

func newActivation(name string, apply func(y, x []float32), derive func(dx, y, dy []float32)) *activation {
	return &activation{name: name, y: tensor.New(0), dx: tensor.New(0), apply: apply, derive: derive}
}

func (a *activation) String() string                   { return a.name }
func (a *activation) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }
func (a *activation) Params() []*Param                 { return nil }

func (a *activation) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	a.y.Resize(x.Shape...)
	kernels.Parallel(len(x.Data), elementGrain, func(_, lo, hi int) { a.apply(a.y.Data[lo:hi], x.Data[lo:hi]) })
	return a.y
}

func (a *activation) Backward(dy *tensor.Tensor) *tensor.Tensor {
	sameShape(a, "output gradient", dy.Shape, a.y.Shape)
	a.dx.Resize(a.y.Shape...)
	kernels.Parallel(len(dy.Data), elementGrain, func(_, lo, hi int) {
		a.derive(a.dx.Data[lo:hi], a.y.Data[lo:hi], dy.Data[lo:hi])
	})
	return a.dx
}

// Sigmoid is σ(x) = 1/(1+e^-x).
type Sigmoid struct{ *activation }

// NewSigmoid returns a Sigmoid layer.
func NewSigmoid() *Sigmoid {
	return &Sigmoid{newActivation("Sigmoid", kernels.Sigmoid,
		// dx = dy·σ(x)·(1-σ(x))
		func(dx, y, dy []float32) {
			for i, v := range y {
				dx[i] = dy[i] * v * (1 - v)
			}
		})}
}

// sigmoid is computed from e^-|x| so neither branch overflows.
func sigmoid(x float32) float32 {
	if x >= 0 {
		return float32(1 / (1 + math.Exp(-float64(x))))
	}
	e := math.Exp(float64(x))
	return float32(e / (1 + e))
}

// Tanh is the hyperbolic tangent.
type Tanh struct{ *activation }

// NewTanh returns a Tanh layer.
func NewTanh() *Tanh {
	return &Tanh{newActivation("Tanh", kernels.Tanh,
		// dx = dy·(1-tanh²(x))
		func(dx, y, dy []float32) {
			for i, v := range y {
				dx[i] = dy[i] * (1 - v*v)
			}
		})}
}

// ReLU is max(0, x).
type ReLU struct {
	*activation
}

// NewReLU returns a ReLU layer.
func NewReLU() *ReLU {
	return &ReLU{activation: newActivation("ReLU",
		kernels.ReLU,
		// dx = dy where x > 0, else 0 (the subgradient 0 at x = 0)
		kernels.ReLUBackward)}
}

// Softmax normalizes each example's K values into probabilities.
type Softmax struct {
	y, dx *tensor.Tensor
}

// NewSoftmax returns a Softmax layer over the last dimension of [N K] inputs.
func NewSoftmax() *Softmax { return &Softmax{y: tensor.New(0), dx: tensor.New(0)} }

func (s *Softmax) String() string                   { return "Softmax" }
func (s *Softmax) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }
func (s *Softmax) Params() []*Param                 { return nil }

func (s *Softmax) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	if len(x.Shape) != 2 {
		panic(fmt.Sprintf("nn: Softmax: input %s, want [N K]", tensor.ShapeString(x.Shape)))
	}
	s.y.Resize(x.Shape...)
	kernels.SoftmaxRows(s.y.Data, x.Data, x.Rows(), x.Cols())
	return s.y
}

// Backward: dx = y ⊙ (dy - Σ_k dy_k·y_k), the softmax Jacobian applied to dy.
func (s *Softmax) Backward(dy *tensor.Tensor) *tensor.Tensor {
	sameShape(s, "output gradient", dy.Shape, s.y.Shape)
	s.dx.Resize(s.y.Shape...)
	K := s.y.Cols()
	for n := 0; n < s.y.Rows(); n++ {
		y, g, dx := s.y.Data[n*K:(n+1)*K], dy.Data[n*K:(n+1)*K], s.dx.Data[n*K:(n+1)*K]
		var dot float32
		for k := range y {
			dot += g[k] * y[k]
		}
		for k := range y {
			dx[k] = y[k] * (g[k] - dot)
		}
	}
	return s.dx
}
