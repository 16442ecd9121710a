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

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
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
//
// The gradient can carry a deferred part (with Dense.DeferGrad, which train.Run sets for
// package optim's optimizers): Dense's batch-1 path on a sparse input (MNIST is ~81 %
// zeros) produces dW = x·dyᵀ, which is nonzero only in the rows of nonzero inputs.
// Instead of writing those rows into Grad it records the outer product (rows, their x
// values, dy), so plain SGD can apply it to the weights in one pass and the next
// ZeroGrad has nothing to clear. Likewise the packed first layer's batch gradient is
// nonzero only in the rows of the input columns with ink: it is kept as those rows
// (Rows), and Adam updates from them without a dense matrix of zeros in between.
// Anything that reads Grad calls Materialize first.
type Param struct {
	Name  string // e.g. "dense0.weight"
	Value *tensor.Tensor
	Grad  *tensor.Tensor

	clean bool // Grad is all zeros
	outer *Outer
	rows  *Rows
}

// Rows is a deferred gradient term: row Rows[i] of the gradient gets row i of Vals
// added (Vals is [len(Rows) cols]). It refers to its layer's buffers, which the layer's
// next Forward or Backward materializes before reusing.
type Rows struct {
	Rows []int
	Vals []float32
}

// Outer is a deferred gradient term Σ_k Coef[k]·e(Rows[k]) ⊗ Vec: row Rows[k] of the
// gradient gets Coef[k]·Vec added.
type Outer struct {
	Rows []int
	Coef []float32
	Vec  []float32
}

func newParam(name string, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(shape...), Grad: tensor.New(shape...), clean: true}
}

// DeferredOuter returns the deferred outer-product gradient when it is the whole
// gradient (Grad itself is zero); ok is false otherwise.
func (p *Param) DeferredOuter() (o *Outer, ok bool) {
	return p.outer, p.outer != nil && p.clean
}

// DeferredRows returns the deferred rows term when it is the whole gradient (Grad
// itself is zero); ok is false otherwise.
func (p *Param) DeferredRows() (r *Rows, ok bool) {
	return p.rows, p.rows != nil && p.clean
}

// Materialize adds any deferred gradient term into Grad, so Grad is the whole gradient.
func (p *Param) Materialize() {
	if p.outer != nil {
		kernels.AddOuterRows(p.Grad.Data, p.Grad.Cols(), p.outer.Rows, p.outer.Coef, p.outer.Vec)
		p.outer, p.clean = nil, false
	}
	if p.rows != nil {
		kernels.AddRows(p.Grad.Data, p.Grad.Cols(), p.rows.Rows, p.rows.Vals)
		p.rows, p.clean = nil, false
	}
}

// ZeroGrad clears the gradient. A gradient that was only a deferred term costs nothing.
func (p *Param) ZeroGrad() {
	if !p.clean {
		p.Grad.Zero()
	}
	p.outer, p.rows, p.clean = nil, nil, true
}

// ClearedBy records that the caller has set every element of Grad to zero itself (an
// optimizer kernel that clears as it applies) and consumed any deferred term.
func (p *Param) ClearedBy() { p.outer, p.rows, p.clean = nil, nil, true }

// accumulatedDense records an accumulation into Grad itself.
func (p *Param) accumulatedDense() { p.clean = false }

// addOuter adds the term Σ_k coef[k]·e(rows[k]) ⊗ vec to the gradient; with deferOK
// it stays deferred when it is the only term so far, in buf (reused storage for it).
func (p *Param) addOuter(rows []int, coef, vec []float32, buf *Outer, deferOK bool) {
	if !deferOK || p.outer != nil || p.rows != nil || !p.clean {
		p.Materialize()
		kernels.AddOuterRows(p.Grad.Data, p.Grad.Cols(), rows, coef, vec)
		p.clean = false
		return
	}
	buf.Rows = append(buf.Rows[:0], rows...)
	buf.Coef = append(buf.Coef[:0], coef...)
	buf.Vec = append(buf.Vec[:0], vec...)
	p.outer = buf
}

// addRows adds the term "row rows[i] += row i of vals" to the gradient; with deferOK
// it stays deferred when it is the only term so far, in buf, referring to rows and vals.
func (p *Param) addRows(rows []int, vals []float32, buf *Rows, deferOK bool) {
	if !deferOK || p.outer != nil || p.rows != nil || !p.clean {
		p.Materialize()
		kernels.AddRows(p.Grad.Data, p.Grad.Cols(), rows, vals)
		p.clean = false
		return
	}
	buf.Rows, buf.Vals = rows, vals
	p.rows = buf
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
