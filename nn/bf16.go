package nn

import (
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// Mixed-precision training: the products of a dense layer's training step in bfloat16.
//
// The standard recipe (Micikevicius et al. 2018; PyTorch's autocast): the operands of
// each product are rounded to bf16 as it starts (the input, W, the output gradient),
// the product sums in float32, and the master weights, gradients, optimizer state and
// every other operation stay float32. bf16 keeps float32's exponent range, so no loss
// scaling is needed. oneDNN's matmul runs the products (kernels.GemmBF16, vdpbf16ps:
// twice the multiplications per instruction of a float32 FMA).

// bf16Columns: the packed first layer pads its columns to a multiple of this, so that
// oneDNN prepares a handful of product shapes rather than one per batch.
const bf16Columns = 64

// SetBF16 makes the network's dense layers and convolutions run their training
// products in bf16 (on), or in float32 (off). Turning it on fails, changing nothing,
// where bf16 cannot run (kernels.BF16 says why).
func (net *Network) SetBF16(on bool) error {
	if on {
		if err := kernels.BF16(); err != nil {
			return err
		}
	}
	for _, l := range net.Layers {
		switch l := l.(type) {
		case *Dense:
			l.BF16 = on
		case *Conv2D:
			l.BF16, l.bf16Refused = on, nil
		}
	}
	return nil
}

// forwardBF16: y (holding b) += bf16(x)·bf16(W), on the packed columns where the
// layer packs them.
func (d *Dense) forwardBF16(x *tensor.Tensor, N int) {
	a, k, W := x.Data[:N*d.In], d.In, d.W.Value.Data
	if d.packed = d.SparseColumns && d.packColumns(x.Data, N, bf16Columns, false); d.packed {
		k = len(d.cols)
		a = d.xc[:N*k]
	}
	d.xb, d.wb = resize(d.xb, N*k), resize(d.wb, k*d.Out)
	kernels.ToBF16(d.xb, a)
	if d.packed { // W's rows of the packed columns, gathered and rounded in one pass
		kernels.GatherRowsBF16(d.wb, W, d.Out, d.cols, d.Out)
	} else {
		kernels.ToBF16(d.wb, W)
	}
	if k > 0 {
		kernels.GemmBF16(false, false, N, d.Out, k, d.xb, k, d.wb, d.Out, true, d.y.Data, d.Out)
	}
}

// backwardBF16: dW += bf16(x)ᵀ·bf16(dy) (into the packed rows, then added back), dx =
// bf16(dy)·bf16(W)ᵀ. db is done by Backward.
func (d *Dense) backwardBF16(dy *tensor.Tensor, N int) *tensor.Tensor {
	d.dyb = resize(d.dyb, N*d.Out)
	kernels.ToBF16(d.dyb, dy.Data[:N*d.Out])
	if d.packed {
		if k := len(d.cols); k > 0 {
			d.dwc = resize(d.dwc, k*d.Out)
			kernels.GemmBF16(true, false, k, d.Out, N, d.xb, k, d.dyb, d.Out, false, d.dwc, d.Out)
			d.W.addRows(d.cols, d.dwc, &d.rows, d.DeferGrad)
		}
	} else {
		d.W.Materialize()
		kernels.GemmBF16(true, false, d.In, d.Out, N, d.xb, d.In, d.dyb, d.Out, true, d.W.Grad.Data, d.Out)
		d.W.accumulatedDense()
	}
	if d.NoInputGrad {
		return nil
	}
	if d.packed { // the packed W has only some rows; dx needs all of them
		d.wb = resize(d.wb, d.In*d.Out)
		kernels.ToBF16(d.wb, d.W.Value.Data)
	}
	d.dx.Resize(d.x.Shape...)
	kernels.GemmBF16(false, true, N, d.In, d.Out, d.dyb, d.Out, d.wb, d.Out, false, d.dx.Data, d.In)
	return d.dx
}
