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
	// SparseColumns looks for the input columns that are zero in every example of a
	// batch and leaves them out of the products (see packColumns). Spec.Build sets it
	// on a first layer: image pixels are often background in every image of a batch
	// (a third of MNIST's at batch 128), hidden units seldom are.
	SparseColumns bool
	// DeferGrad keeps W's gradient deferred where it is nonzero in a few rows only: a
	// batch of one with sparse inputs as an outer product (Param.DeferredOuter, which
	// plain SGD applies in one pass), a packed batch as its rows (Param.DeferredRows,
	// which Adam updates from), instead of adding them into Grad. For optimizers that
	// know of it (Network.SetDeferGrad); off, Grad holds the whole gradient.
	DeferGrad bool
	// BF16 runs a training batch's products in bfloat16 with float32 sums (mixed
	// precision: the weights, their gradients and everything else stay float32; see
	// Network.SetBF16, which says when the CPU or build cannot: then, set directly, the
	// products stay float32). Inference and batches of one are float32.
	BF16 bool

	x      *tensor.Tensor // input of the last Forward (not owned)
	y, dx  *tensor.Tensor
	nz     []int     // indices of the nonzero inputs on the sparse batch-1 path
	nzVal  []float32 // their values
	sparse bool
	outer  Outer // storage for W's deferred gradient on the sparse path
	rows   Rows  // W's deferred gradient on the packed path (cols, dwc)

	// The sparse-column path of the last Forward (packed): cols are the input columns
	// with a nonzero value, xc the input restricted to them [N len(cols)], wc the rows
	// of W they select [len(cols) Out], dwc their gradient; mask is scratch.
	packed      bool
	cols        []int
	mask        []uint32
	xc, wc, dwc []float32

	q *int8State // the int8 form for inference (Quantize), or nil

	// The bf16 path of the last Forward: its input, W and dy rounded to bf16.
	bf16        bool
	xb, wb, dyb []uint16
}

// sparseDensity is the largest fraction of nonzero inputs for which the batch-1 path
// walks the nonzero inputs instead of calling GEMM.
const sparseDensity = 0.5

// packedDensity is the largest fraction of nonzero input columns for which a batch's
// products run on the packed columns: below it, the smaller products save more than
// packing the input and W's rows costs (BenchmarkDenseColumns). With oneDNN's products
// (twice OpenBLAS's rate) packing stopped paying at batch 1000 of MNIST (78 % of the
// columns: 600k img/s dense against 510-550k packed) and still pays at batch 128
// (67 %); with OpenBLAS's it paid at both.
func packedDensity() float64 {
	if kernels.Products() == "oneDNN" {
		return 0.75
	}
	return 0.9
}

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
	if d.W.rows != nil {
		d.W.Materialize() // it refers to cols and dwc, which this pass may overwrite
	}
	d.x = x
	d.y.Resize(N, d.Out)
	y, b, W := d.y.Data, d.B.Value.Data, d.W.Value.Data
	d.sparse, d.packed, d.bf16 = false, false, false
	if d.q != nil && !training {
		d.forwardInt8(x, N)
		return d.y
	}
	if N == 1 {
		d.nz, d.nzVal = kernels.Nonzeros(d.nz, d.nzVal, x.Data)
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
	if d.bf16 = training && d.BF16 && N > 1 && kernels.BF16() == nil; d.bf16 {
		d.forwardBF16(x, N)
		return d.y
	}
	if d.packed = N > 1 && d.SparseColumns && d.packColumns(x.Data, N, 1, true); d.packed {
		if k := len(d.cols); k > 0 {
			kernels.Gemm(false, false, N, d.Out, k, 1, d.xc, k, d.wc, d.Out, 1, y, d.Out)
		}
		return d.y
	}
	kernels.Gemm(false, false, N, d.Out, d.In, 1, x.Data, d.In, W, d.Out, 1, y, d.Out)
	return d.y
}

// packColumns finds the columns of x [N In] that are nonzero in some example and, when
// few enough of them are, packs x and W down to them and reports true. The products on
// the packed matrices are the dense ones without the terms that are exactly zero: the
// same values up to the order the product library sums them in. (A zero input times an infinite or
// NaN weight, NaN in the dense product, is left out too.)
//
// With multiple > 1 the columns are padded, with columns that are zero in the batch, to
// a multiple of it (or to all of them): fewer distinct shapes for a library that
// prepares each shape once (oneDNN, bf16).
//
// withW false leaves W's rows to the caller (the bf16 path gathers them rounded).
func (d *Dense) packColumns(x []float32, N, multiple int, withW bool) bool {
	if len(d.mask) < d.In {
		d.mask = make([]uint32, d.In)
	}
	var few bool
	d.cols, few = kernels.NonzeroColumnsAtMost(d.cols[:0], d.mask, x, N, d.In, int(packedDensity()*float64(d.In)))
	if !few {
		return false
	}
	k := len(d.cols)
	if want := min(d.In, (k+multiple-1)/multiple*multiple); k < want {
		for c := 0; c < d.In && k < want; c++ {
			if d.mask[c] == 0 {
				d.cols = append(d.cols, c)
				k++
			}
		}
	}
	d.xc = resize(d.xc, N*k)
	kernels.GatherColumns(d.xc, x, N, d.In, d.cols)
	if !withW {
		return true
	}
	d.wc = resize(d.wc, k*d.Out)
	W, O := d.W.Value.Data, d.Out
	for i, c := range d.cols {
		copy(d.wc[i*O:(i+1)*O], W[c*O:(c+1)*O])
	}
	return true
}

// Backward: dW += xᵀ·dy, db += Σ_n dy[n], dx = dy·Wᵀ.
func (d *Dense) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if d.W.rows != nil {
		d.W.Materialize() // a pending term refers to dwc, which this pass overwrites
	}
	N := d.x.Rows()
	sameShape(d, "output gradient", dy.Shape, d.y.Shape)
	dW, db, W := d.W.Grad.Data, d.B.Grad.Data, d.W.Value.Data
	for n := 0; n < N; n++ {
		kernels.Axpy(1, dy.Data[n*d.Out:(n+1)*d.Out], db)
	}
	d.B.accumulatedDense()
	switch {
	case d.bf16:
		return d.backwardBF16(dy, N)
	case d.sparse: // dW += x·dyᵀ, nonzero rows of x only
		d.W.addOuter(d.nz, d.nzVal, dy.Data, &d.outer, d.DeferGrad)
	case d.packed: // dW[cols] += xcᵀ·dy; the other rows of xᵀ·dy are zero
		if k := len(d.cols); k > 0 {
			d.dwc = resize(d.dwc, k*d.Out)
			kernels.Gemm(true, false, k, d.Out, N, 1, d.xc, k, dy.Data, d.Out, 0, d.dwc, d.Out)
			d.W.addRows(d.cols, d.dwc, &d.rows, d.DeferGrad)
		}
	default:
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
