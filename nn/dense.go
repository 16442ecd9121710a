package nn

import (
	"fmt"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// Dense is a fully connected layer: y = x·W + b, with W stored [I O] and b [O].
type Dense struct {
	In, Out int
	W, B    *Param
	// NoInputGrad skips computing dL/dx in Backward: the first layer of a network has
	// no layer below it to pass the gradient to. Backward then returns nil.
	NoInputGrad bool

	x      *tensor.Tensor // input of the last Forward (not owned)
	y, dx  *tensor.Tensor
	nz     []int     // indices of the nonzero inputs on the sparse batch-1 path
	nzVal  []float32 // their values
	sparse bool
	outer  Outer // storage for W's deferred gradient on the sparse path
}

// sparseDensity is the largest fraction of nonzero inputs for which the batch-1 path
// walks the nonzero inputs instead of calling GEMM.
const sparseDensity = 0.5

// NewDense returns a Dense layer with zero parameters named with prefix (e.g. "dense0").
func NewDense(prefix string, in, out int) *Dense {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn: Dense(%d->%d): sizes must be positive", in, out))
	}
	return &Dense{In: in, Out: out,
		W: newParam(prefix+".weight", in, out), B: newParam(prefix+".bias", out),
		y: tensor.New(0, out), dx: tensor.New(0, in)}
}

func (d *Dense) String() string { return fmt.Sprintf("Dense(%d->%d)", d.In, d.Out) }

func (d *Dense) OutShape(in []int) ([]int, error) {
	if tensor.Size(in) != d.In {
		return nil, fmt.Errorf("nn: %s: input shape %s has %d values, want %d", d, tensor.ShapeString(in), tensor.Size(in), d.In)
	}
	return []int{d.Out}, nil
}

func (d *Dense) Params() []*Param { return []*Param{d.W, d.B} }

// Forward: y[n,o] = b[o] + Σ_i x[n,i]·W[i,o]. Inputs with more than two dimensions are
// read as [N I] (flattened), so a Dense can follow a convolution directly.
func (d *Dense) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	N := x.Rows()
	if x.Cols() != d.In {
		panic(fmt.Sprintf("nn: %s: input %s, want [N %d]", d, tensor.ShapeString(x.Shape), d.In))
	}
	d.x = x
	d.y.Resize(N, d.Out)
	y, b, W := d.y.Data, d.B.Value.Data, d.W.Value.Data
	d.sparse = false
	if N == 1 {
		d.nz, d.nzVal = d.nz[:0], d.nzVal[:0]
		for i, v := range x.Data {
			if v != 0 {
				d.nz, d.nzVal = append(d.nz, i), append(d.nzVal, v)
			}
		}
		d.sparse = float64(len(d.nz)) <= sparseDensity*float64(d.In)
	}
	if d.sparse {
		copy(y, b)
		kernels.AxpyRows(y, W, d.Out, d.nz, d.nzVal)
		return d.y
	}
	for n := 0; n < N; n++ {
		copy(y[n*d.Out:(n+1)*d.Out], b)
	}
	kernels.Gemm(false, false, N, d.Out, d.In, 1, x.Data, d.In, W, d.Out, 1, y, d.Out)
	return d.y
}

// Backward: dW += xᵀ·dy, db += Σ_n dy[n], dx = dy·Wᵀ.
func (d *Dense) Backward(dy *tensor.Tensor) *tensor.Tensor {
	N := d.x.Rows()
	sameShape(d, "output gradient", dy.Shape, d.y.Shape)
	dW, db, W := d.W.Grad.Data, d.B.Grad.Data, d.W.Value.Data
	for n := 0; n < N; n++ {
		axpy(1, dy.Data[n*d.Out:(n+1)*d.Out], db)
	}
	d.B.accumulatedDense()
	if d.sparse {
		d.W.deferOuter(d.nz, d.nzVal, dy.Data, &d.outer) // dW += x·dyᵀ, nonzero rows of x only
	} else {
		d.W.Materialize()
		kernels.Gemm(true, false, d.In, d.Out, N, 1, d.x.Data, d.In, dy.Data, d.Out, 1, dW, d.Out)
		d.W.accumulatedDense()
	}
	if d.NoInputGrad {
		return nil
	}
	d.dx.Resize(d.x.Shape...)
	kernels.Gemm(false, true, N, d.In, d.Out, 1, dy.Data, d.Out, W, d.Out, 0, d.dx.Data, d.In)
	return d.dx
}

// axpy sets y += a·x.
func axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}
