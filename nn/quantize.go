package nn

import (
	"fmt"
	"math"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// Int8 inference: post-training quantization of the dense layers and convolutions.
//
// A quantized dense layer keeps W as int8 with one scale per output column (symmetric:
// s_o = max_i |W[i,o]| / 127) and quantizes its input per batch to uint8 with one scale
// and zero point fitted on calibration inputs (the range they reach, widened to take in
// 0; the layer the inputs reach, given their range (QuantizeInputs: pixels/255 in
// [0, 1]), gets step 1/255 and zero point 0, so the pixels go in exactly). The product
// runs in integers, y = s_x·s_o·Σ_i (q_x − z)·q_W + b (oneDNN's u8·s8 GEMM, kernels.GemmU8S8), and everything else in float32. This is the
// per-channel QDQ scheme of ONNX (QuantizeLinear / DequantizeLinear) and PyTorch's
// fbgemm/onednn backends. A convolution is quantized the same way, one scale per
// output channel, and multiplies its quantized patches as rows (Im2rowU8) by W's
// transpose in the same u8·s8 GEMM. Training never uses it.

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

// Quantize prepares int8 inference for the network's dense layers and convolutions,
// fitting each one's input range on the calibration batch x (some hundreds of training
// images). After it, Forward(x, false) and Predict run those layers' products in int8;
// training is unchanged. Other layers stay float32. The int8 weights are a copy taken
// now (the biases are read as they are): quantize again after training further. The
// products run through oneDNN where kernels.Int8 allows, and otherwise one row at a
// time in C or Go: the same integers, slowly (callers that want speed check
// kernels.Int8 first, as the commands do).
func (net *Network) Quantize(x *tensor.Tensor) error { return net.quantize(x, nil) }

// QuantizeInputs is Quantize for a network whose inputs are known to lie in [lo, hi]
// (pixels scaled to [0, 1], say): the layer the inputs reach unchanged gets that range,
// not the calibration batch's, which images without full ink would fit too narrow —
// stronger ink would then be clipped. Pixels p/255 go in exactly (step 1/255, zero 0).
func (net *Network) QuantizeInputs(x *tensor.Tensor, lo, hi float32) error {
	if !(lo <= hi) || math.IsInf(float64(lo), 0) || math.IsInf(float64(hi), 0) {
		return fmt.Errorf("nn: QuantizeInputs: input range [%g, %g]", lo, hi)
	}
	return net.quantize(x, &[2]float32{lo, hi})
}

func (net *Network) quantize(x *tensor.Tensor, inputs *[2]float32) error {
	checkInput(net.Layers[0], x, net.InShape)
	if x.Rows() == 0 {
		return fmt.Errorf("nn: Quantize: no calibration examples")
	}
	for _, l := range net.Layers {
		if q, ok := l.(quantizable); ok {
			for _, p := range q.Params() {
				for _, v := range p.Value.Data {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						return fmt.Errorf("nn: Quantize: %s holds %g; int8 needs finite weights", p.Name, v)
					}
				}
			}
			q.shareInt8(nil)
		}
	}
	// Each layer is quantized before the calibration batch goes through it, so the
	// next layer's range is fitted on what the int8 layers before it give.
	h := x
	for _, l := range net.Layers {
		if q, ok := l.(quantizable); ok {
			if inputs != nil { // the inputs reach this layer as they are: their known range
				q.quantize(inputRange(inputs[:]))
			} else {
				q.quantize(inputRange(h.Data))
			}
		}
		switch l.(type) {
		case *Flatten, *Dropout: // the same values in inference
		default:
			inputs = nil
		}
		h = l.Forward(h, false)
	}
	return nil
}

// quantizable is a layer with an int8 form: Dense and Conv2D.
type quantizable interface {
	Layer
	quantize(inScale float32, inZero uint8) // the int8 form, with the input's step and zero point
	hasInt8() bool
	shareInt8(from Layer) // take from's int8 form (working buffers apart), or none
}

func (d *Dense) quantize(inScale float32, inZero uint8) {
	d.q = &int8State{Int8Dense: quantizeDense(d, inScale, inZero)}
}
func (d *Dense) hasInt8() bool { return d.q != nil }
func (d *Dense) shareInt8(from Layer) {
	d.q = nil
	if s, ok := from.(*Dense); ok && s.q != nil {
		d.q = &int8State{Int8Dense: s.q.Int8Dense}
	}
}

func (c *Conv2D) quantize(inScale float32, inZero uint8) {
	c.q = &int8ConvState{Int8Conv: quantizeConv(c, inScale, inZero)}
}
func (c *Conv2D) hasInt8() bool { return c.q != nil }
func (c *Conv2D) shareInt8(from Layer) {
	c.q = nil
	if s, ok := from.(*Conv2D); ok && s.q != nil {
		c.q = &int8ConvState{Int8Conv: s.q.Int8Conv}
	}
}

// quantizeDense quantizes d's weights per output column; its input takes step inScale
// and zero point inZero.
func quantizeDense(d *Dense, inScale float32, inZero uint8) *Int8Dense {
	q := &Int8Dense{W: make([]int8, d.In*d.Out), ColScale: make([]float32, d.Out)}
	W := d.W.Value.Data
	for o := 0; o < d.Out; o++ {
		var m float32
		for i := 0; i < d.In; i++ {
			m = max(m, float32(math.Abs(float64(W[i*d.Out+o]))))
		}
		s := symmetricScale(m)
		q.ColScale[o] = s
		for i := 0; i < d.In; i++ {
			q.W[i*d.Out+o] = quantizeWeight(W[i*d.Out+o], s)
		}
	}
	q.InScale, q.InZero = inScale, inZero
	return q
}

// inputRange is the uint8 step and zero point for the values in: the range they reach,
// widened to take in 0 (which the zero point then is exactly).
func inputRange(in []float32) (scale float32, zero uint8) {
	lo, hi := float32(0), float32(0)
	for _, v := range in {
		lo, hi = min(lo, v), max(hi, v)
	}
	scale = (hi - lo) / 255
	if !(scale >= 0x1p-100) { // a constant input (or NaN): any step; 1/step stays finite
		scale = 1
	}
	return scale, uint8(math.RoundToEven(float64(-lo / scale)))
}

// symmetricScale is the int8 step for weights of largest magnitude m: m/127, or 1 for
// all-zero weights.
func symmetricScale(m float32) float32 {
	if s := m / 127; s != 0 {
		return s
	}
	return 1
}

func quantizeWeight(w, scale float32) int8 {
	return int8(min(max(math.RoundToEven(float64(w/scale)), -127), 127))
}

// Quantized reports whether Quantize has run on the network.
func (net *Network) Quantized() bool {
	for _, l := range net.Layers {
		if q, ok := l.(quantizable); ok && q.hasInt8() {
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

// ShareQuantization gives net the int8 form of src's dense layers and convolutions (a
// network of the same architecture, such as the one net replicates), or takes it away
// when src has none; net keeps buffers of its own.
func (net *Network) ShareQuantization(src *Network) {
	for i, l := range net.Layers {
		var from Layer
		if i < len(src.Layers) {
			from = src.Layers[i]
		}
		if q, ok := l.(quantizable); ok {
			q.shareInt8(from)
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

// Int8Conv is a convolution's quantized form, shared read-only by the replicas of a
// network.
type Int8Conv struct {
	W        []int8    // [C·K·K O]: Wᵀ, W[k,o] ≈ ColScale[o]·Conv2D.W[o,k]
	ColScale []float32 // [O]
	InScale  float32   // input step
	InZero   uint8     // input zero point
}

// int8ConvState is a Conv2D's quantized form with its working buffers.
type int8ConvState struct {
	*Int8Conv
	xq, patches []uint8
	acc         []int32
}

// quantizeConv quantizes c's weights per output channel; its input takes step inScale
// and zero point inZero.
func quantizeConv(c *Conv2D, inScale float32, inZero uint8) *Int8Conv {
	K, O, W := c.In*c.Kernel*c.Kernel, c.Out, c.W.Value.Data
	q := &Int8Conv{W: make([]int8, K*O), ColScale: make([]float32, O)}
	for o := 0; o < O; o++ {
		var m float32
		for _, w := range W[o*K : (o+1)*K] {
			m = max(m, float32(math.Abs(float64(w))))
		}
		s := symmetricScale(m)
		q.ColScale[o] = s
		for k, w := range W[o*K : (o+1)*K] {
			q.W[k*O+o] = quantizeWeight(w, s)
		}
	}
	q.InScale, q.InZero = inScale, inZero
	return q
}

// Int8 is the convolution's int8 form (Network.Quantize), or nil when it has none.
func (c *Conv2D) Int8() *Int8Conv {
	if c.q == nil {
		return nil
	}
	return c.q.Int8Conv
}

// convInt8Rows is about how many patch rows one int8 product takes: a few MB of patches
// (8192 rows of the example network's 288-byte patches: 2.4 MB), a whole number of
// images.
const convInt8Rows = 8192

// forwardInt8 is Forward's inference pass for a quantized convolution: per group of
// images, y = s_x·s_o·(patches(q_x) − z)·q_Wᵀ + b, into c.y.
func (c *Conv2D) forwardInt8(x *tensor.Tensor, N int) {
	q := c.q
	inSize, K, P, O := c.In*c.inH*c.inW, c.In*c.Kernel*c.Kernel, c.outH*c.outW, c.Out
	q.xq = resize(q.xq, N*inSize)
	kernels.QuantizeU8(q.xq, x.Data[:N*inSize], 1/q.InScale, q.InZero)
	group := max(1, convInt8Rows/P)
	for n0 := 0; n0 < N; n0 += group {
		n1 := min(N, n0+group)
		rows := (n1 - n0) * P
		q.patches, q.acc = resize(q.patches, rows*K), resize(q.acc, rows*O)
		kernels.Parallel(n1-n0, 1, func(_, lo, hi int) {
			for n := n0 + lo; n < n0+hi; n++ {
				kernels.Im2rowU8(q.patches[(n-n0)*P*K:(n-n0+1)*P*K], q.xq[n*inSize:(n+1)*inSize], c.In, c.inH, c.inW, c.Kernel, c.Stride, c.Padding, c.outH, c.outW, q.InZero)
			}
		})
		if rows < gemvRows || kernels.Int8() != nil {
			for r := 0; r < rows; r++ {
				kernels.GemvU8S8(q.acc[r*O:(r+1)*O], q.patches[r*K:(r+1)*K], q.InZero, q.W, O)
			}
		} else {
			kernels.GemmU8S8(rows, O, K, q.patches, K, q.InZero, q.W, O, q.acc, O)
		}
		kernels.Parallel(n1-n0, 1, func(_, lo, hi int) {
			for n := n0 + lo; n < n0+hi; n++ {
				kernels.DequantizeT(c.y.Data[n*O*P:(n+1)*O*P], q.acc[(n-n0)*P*O:(n-n0+1)*P*O], P, O, q.InScale, q.ColScale, c.B.Value.Data)
			}
		})
	}
}
