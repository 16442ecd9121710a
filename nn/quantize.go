package nn

import (
	"fmt"
	"math"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// Int8 inference: post-training quantization of the dense layers.
//
// A quantized dense layer keeps W as int8 with one scale per output column (symmetric:
// s_o = max_i |W[i,o]| / 127) and quantizes its input per batch to uint8 with one scale
// and zero point fitted on calibration inputs (the range they reach, widened to take in
// 0; a first layer fed pixels/255 gets step 1/255 and zero point 0, so the pixels go in
// exactly). The product runs in integers, y = s_x·s_o·Σ_i (q_x − z)·q_W + b (oneDNN's
// u8·s8 GEMM, kernels.GemmU8S8), and everything else in float32. This is the
// per-channel QDQ scheme of ONNX (QuantizeLinear / DequantizeLinear) and PyTorch's
// fbgemm/onednn backends. Training never uses it.

// Int8Dense is a dense layer's quantized form, shared read-only by the replicas of a
// network.
type Int8Dense struct {
	W        []int8    // [In Out], W[i,o] ≈ ColScale[o]·W[i,o]
	ColScale []float32 // [Out]
	InScale  float32   // input step
	InZero   uint8     // input zero point
}

// int8State is a Dense layer's quantized form with its working buffers.
type int8State struct {
	*Int8Dense
	xq  []uint8
	acc []int32
}

// Quantize prepares int8 inference for the network's dense layers, fitting each one's
// input range on the calibration batch x (some hundreds of training images). After it,
// Forward(x, false) and Predict run those layers' products in int8; training is
// unchanged. Layers other than Dense stay float32. The products run through oneDNN
// where kernels.Int8 allows, and otherwise one row at a time in C or Go: the same
// integers, slowly (callers that want speed check kernels.Int8 first, as the commands
// do).
func (net *Network) Quantize(x *tensor.Tensor) error {
	checkInput(net.Layers[0], x, net.InShape)
	if x.Rows() == 0 {
		return fmt.Errorf("nn: Quantize: no calibration examples")
	}
	for _, l := range net.Layers {
		if d, ok := l.(*Dense); ok {
			d.q = nil
		}
	}
	// Each layer is quantized before the calibration batch goes through it, so the
	// next layer's range is fitted on what the int8 layers before it give.
	h := x
	for _, l := range net.Layers {
		if d, ok := l.(*Dense); ok {
			d.q = &int8State{Int8Dense: quantizeDense(d, h.Data)}
		}
		h = l.Forward(h, false)
	}
	return nil
}

// quantizeDense quantizes d's weights per output column and fits its input's range on
// the values in.
func quantizeDense(d *Dense, in []float32) *Int8Dense {
	q := &Int8Dense{W: make([]int8, d.In*d.Out), ColScale: make([]float32, d.Out)}
	W := d.W.Value.Data
	for o := 0; o < d.Out; o++ {
		var m float32
		for i := 0; i < d.In; i++ {
			m = max(m, float32(math.Abs(float64(W[i*d.Out+o]))))
		}
		s := m / 127
		if s == 0 {
			s = 1
		}
		q.ColScale[o] = s
		for i := 0; i < d.In; i++ {
			q.W[i*d.Out+o] = int8(min(max(math.RoundToEven(float64(W[i*d.Out+o]/s)), -127), 127))
		}
	}
	lo, hi := float32(0), float32(0)
	for _, v := range in {
		lo, hi = min(lo, v), max(hi, v)
	}
	q.InScale = (hi - lo) / 255
	if !(q.InScale >= 0x1p-100) { // a constant input (or NaN): any step; 1/step stays finite
		q.InScale = 1
	}
	q.InZero = uint8(math.RoundToEven(float64(-lo / q.InScale)))
	return q
}

// Quantized reports whether Quantize has run on the network.
func (net *Network) Quantized() bool {
	for _, l := range net.Layers {
		if d, ok := l.(*Dense); ok && d.q != nil {
			return true
		}
	}
	return false
}

// Int8 is the layer's int8 form (Network.Quantize), or nil when it has none.
func (d *Dense) Int8() *Int8Dense {
	if d.q == nil {
		return nil
	}
	return d.q.Int8Dense
}

// ShareQuantization gives net the int8 form of src's dense layers (a network of the
// same architecture, such as the one net replicates), or takes it away when src has
// none; net keeps buffers of its own.
func (net *Network) ShareQuantization(src *Network) {
	for i, l := range net.Layers {
		d, ok := l.(*Dense)
		if !ok || i >= len(src.Layers) {
			continue
		}
		if s, ok := src.Layers[i].(*Dense); ok && s.q != nil {
			d.q = &int8State{Int8Dense: s.q.Int8Dense}
		} else {
			d.q = nil
		}
	}
}

// gemvRows: batches of fewer rows take the products one row at a time (GemvU8S8), as
// a oneDNN call costs tens of microseconds in waking its threads (batch-1 predict: 43 µs
// a call against the row kernel's few). The sums are the same integers either way.
const gemvRows = 8

// forwardInt8 is Forward's inference product for a quantized layer: y = s_x·s_o·
// (q_x − z)·q_W + b.
func (d *Dense) forwardInt8(x *tensor.Tensor, N int) {
	q := d.q
	q.xq, q.acc = resize(q.xq, N*d.In), resize(q.acc, N*d.Out)
	xq, acc := q.xq, q.acc
	kernels.QuantizeU8(xq, x.Data[:N*d.In], 1/q.InScale, q.InZero)
	if N < gemvRows || kernels.Int8() != nil {
		for n := 0; n < N; n++ {
			kernels.GemvU8S8(acc[n*d.Out:(n+1)*d.Out], xq[n*d.In:(n+1)*d.In], q.InZero, q.W, d.Out)
		}
	} else {
		kernels.GemmU8S8(N, d.Out, d.In, xq, d.In, q.InZero, q.W, d.Out, acc, d.Out)
	}
	kernels.Dequantize(d.y.Data, acc, N, d.Out, q.InScale, q.ColScale, d.B.Value.Data)
}
