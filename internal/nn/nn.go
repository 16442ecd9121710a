// Package nn holds the layers, losses and initializers networks are built from.
//
// Dimension letters used in comments: N batch size, I input features, O output features,
// K classes.
//
// A Layer's Forward keeps what its Backward needs; Backward accumulates parameter
// gradients (dW += ...) and returns the gradient with respect to the layer's input.
// Layers own their output buffers and reuse them from batch to batch, so the tensor a
// layer returns is valid until that layer's next Forward or Backward call.
package nn

import (
	"fmt"

	"github.com/digitnet/digitnet/internal/tensor"
)

// Layer is one stage of a network.
type Layer interface {
	// String names the layer and its sizes, e.g. "Dense(784->300)".
	String() string
	// OutShape is the per-example output shape for a per-example input shape, or an
	// error naming the layer when the input does not fit.
	OutShape(in []int) ([]int, error)
	// Forward maps a batch x [N ...] to the layer's output. training selects
	// training-time behaviour for layers that have one (dropout, batch norm).
	Forward(x *tensor.Tensor, training bool) *tensor.Tensor
	// Backward takes dL/dy for the last Forward and returns dL/dx, accumulating into
	// the gradients of the layer's parameters.
	Backward(dy *tensor.Tensor) *tensor.Tensor
	// Params lists the trainable parameters; nil when there are none.
	Params() []*Param
}

// Param is a trainable tensor with its gradient.
type Param struct {
	Name  string // e.g. "dense0.weight"
	Value *tensor.Tensor
	Grad  *tensor.Tensor

	// Row-sparse gradient bookkeeping. Dense's batch-1 path on a sparse input (MNIST is
	// ~81 % zeros) touches only the weight rows of nonzero inputs; recording them lets
	// plain SGD update and clear those rows instead of the whole matrix.
	clean    bool  // no gradient accumulated since the last ZeroGrad
	rowsOnly bool  // only the rows in touched can be nonzero
	touched  []int // valid when rowsOnly
}

func newParam(name string, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(shape...), Grad: tensor.New(shape...), clean: true}
}

// TouchedRows reports, when ok, that only these rows (of the first dimension) of Grad
// can be nonzero. When !ok the whole gradient must be treated as dense.
func (p *Param) TouchedRows() (rows []int, ok bool) { return p.touched, p.rowsOnly }

// ZeroGrad clears the gradient, only the touched rows when that is all there is.
func (p *Param) ZeroGrad() {
	if p.rowsOnly {
		cols := p.Grad.Cols()
		for _, r := range p.touched {
			clear(p.Grad.Data[r*cols : (r+1)*cols])
		}
	} else {
		p.Grad.Zero()
	}
	p.touched = p.touched[:0]
	p.rowsOnly = false
	p.clean = true
}

// ClearedBy records that the caller has set every element of Grad to zero itself (an
// optimizer kernel that clears as it applies), so the bookkeeping starts afresh without
// another pass over the memory.
func (p *Param) ClearedBy() {
	p.touched = p.touched[:0]
	p.rowsOnly = false
	p.clean = true
}

// accumulatedDense records a gradient accumulation that may touch every element.
func (p *Param) accumulatedDense() {
	p.rowsOnly = false
	p.clean = false
}

// accumulatedRows records an accumulation into the given distinct rows only.
func (p *Param) accumulatedRows(rows []int) {
	if p.clean {
		p.rowsOnly = true
		p.touched = append(p.touched[:0], rows...)
	} else {
		// A second accumulation could repeat rows; fall back to dense bookkeeping.
		p.rowsOnly = false
	}
	p.clean = false
}

// checkInput panics with the layer's name when a batch does not have the expected
// per-example shape: a wiring mistake, not a data problem.
func checkInput(l Layer, x *tensor.Tensor, want []int) {
	ok := len(x.Shape) == len(want)+1
	for i := 0; ok && i < len(want); i++ {
		ok = x.Shape[i+1] == want[i]
	}
	if !ok {
		panic(fmt.Sprintf("nn: %s: input %s, want [N %s]", l, tensor.ShapeString(x.Shape), tensor.ShapeString(want)[1:]))
	}
}

// sameShape panics when a gradient's shape does not match the activation it belongs to.
func sameShape(l Layer, what string, got, want []int) {
	if tensor.Size(got) != tensor.Size(want) || len(got) != len(want) || got[0] != want[0] {
		panic(fmt.Sprintf("nn: %s: %s %s, want %s", l, what, tensor.ShapeString(got), tensor.ShapeString(want)))
	}
}
