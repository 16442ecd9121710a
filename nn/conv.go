package nn

import (
	"fmt"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// Conv2D is a 2-D convolution (cross-correlation, as in PyTorch) over [N C H W] inputs:
// y[n,o,i,j] = b[o] + Σ_{c,u,v} W[o,c,u,v]·x[n,c,i·S+u-P,j·S+v-P], zero outside the
// image. W is stored [O C K K] (PyTorch's layout), b [O].
//
// Each image is unfolded into a matrix of patches cols [C·K·K, OH·OW] (im2col), and its
// output is one product Y[O, OH·OW] = W · cols, already in NCHW order. Working image by
// image keeps cols in the L2 cache (a whole batch's patches would not fit, and moving
// them through memory cost as much as the products), and splits the batch on
// kernels.Parallel's workers. Backward unfolds each image again rather than keeping
// every image's cols from the forward pass, for the same reason. 3×3 and 5×5 stride-1
// convolutions take Winograd's route instead (winograd.go), per Algorithm.
type Conv2D struct {
	In, Out        int // channels
	Kernel, Stride int
	Padding        int
	W, B           *Param
	NoInputGrad    bool
	Algorithm      ConvAlgorithm
	// BF16 runs training passes in bfloat16 with float32 sums (conv_direct.go; set by
	// Network.SetBF16); inference stays float32, as does Algorithm's choice for it.
	BF16        bool
	direct      bool           // the last forward pass ran through oneDNN (conv_direct.go)
	directBF16  bool           // in bf16
	directToken uint64         // that pass's, for the backward pass
	bf16Refused error          // oneDNN refused this layer's shapes in bf16: float32 from then on
	f32Refused  error          // in float32: Winograd or im2col from then on
	q           *int8ConvState // int8 inference (Network.Quantize), or nil
	winogradM   int            // output tile side for Winograd: 2, 4 or 6; 0 chooses by output size
	x           *tensor.Tensor
	inH, inW    int
	outH, outW  int
	y, dx       *tensor.Tensor
	scratch     []convScratch // one per worker
	wino        *winogradPlan // the plan the last Forward used, nil for GEMM
	u           []float32     // the weights in Winograd's domain, [α² O C]
	uPlan       *winogradPlan // the plan u was made for
	uOf         []float32     // the weights u was made from
	wt          []float64     // the weight transforms' halfway products, [O C α r]
	vAll        []float32     // in training, the batch's input tiles, a block [α² C T] a group
	vKept       bool          // vAll holds the last Forward's tiles
	fused       fusion        // what the last forward applied to each image's output
}

// fusion is what a forward pass applies to each image's output while that image is in
// cache, and its backward pass undoes: nothing for a convolution on its own; for a
// ConvReLU in training, the ReLU (y is then its output) and the max pooling after it,
// into pool's output (y then keeps its shape, not its values).
type fusion struct {
	relu bool
	pool *MaxPool2D // nil: no pooling
}

// convScratch is one worker's buffers: an image's patches and their gradient, and its
// share of the parameter gradients (worker 0 adds straight into the Params).
type convScratch struct {
	cols, dcols, dW, dB    []float32
	dyMasked, yImg         []float32 // an image's output gradient through the fused ReLU; its output, when pooled
	dyRange                []float32 // direct: the worker's images' output gradients through the fused ReLU
	err                    error     // direct: what oneDNN said, if it failed
	wV, wM, wdV, wTmp, wdU []float32 // Winograd's tiles (see winogradBuffers)
}

// NewConv2D returns a convolution with zero parameters named with prefix.
func NewConv2D(prefix string, in, out, kernel, stride, padding int) *Conv2D {
	if in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || padding < 0 {
		panic(fmt.Sprintf("nn: Conv2D(%d->%d, k%d s%d p%d): sizes must be positive", in, out, kernel, stride, padding))
	}
	return &Conv2D{In: in, Out: out, Kernel: kernel, Stride: stride, Padding: padding,
		W: newParam(prefix+".weight", out, in, kernel, kernel), B: newParam(prefix+".bias", out),
		y: tensor.New(0), dx: tensor.New(0)}
}

func (c *Conv2D) String() string {
	return fmt.Sprintf("Conv2D(%d->%d, %dx%d, stride %d, pad %d)", c.In, c.Out, c.Kernel, c.Kernel, c.Stride, c.Padding)
}

func (c *Conv2D) Params() []*Param { return []*Param{c.W, c.B} }

func (c *Conv2D) outSize(h, w int) (int, int) {
	return (h+2*c.Padding-c.Kernel)/c.Stride + 1, (w+2*c.Padding-c.Kernel)/c.Stride + 1
}

func (c *Conv2D) OutShape(in []int) ([]int, error) {
	if len(in) != 3 || in[0] != c.In {
		return nil, fmt.Errorf("nn: %s: input shape %s, want [%d H W]", c, tensor.ShapeString(in), c.In)
	}
	oh, ow := c.outSize(in[1], in[2])
	if oh <= 0 || ow <= 0 {
		return nil, fmt.Errorf("nn: %s: input %dx%d is smaller than the kernel", c, in[1], in[2])
	}
	return []int{c.Out, oh, ow}, nil
}

// pointwise reports a 1×1 convolution with stride 1 and no padding, whose patches are
// the image itself.
func (c *Conv2D) pointwise() bool { return c.Kernel == 1 && c.Stride == 1 && c.Padding == 0 }

// patches returns image n's cols, unfolding it into the worker's buffer.
func (c *Conv2D) patches(s *convScratch, n int) []float32 {
	inSize := c.In * c.inH * c.inW
	xn := c.x.Data[n*inSize : (n+1)*inSize]
	if c.pointwise() {
		return xn
	}
	kernels.Im2col(s.cols, xn, c.In, c.inH, c.inW, c.Kernel, c.Stride, c.Padding, c.outH, c.outW)
	return s.cols
}

// prepare sizes the per-worker buffers for the current input.
func (c *Conv2D) prepare(backward bool) {
	K, P := c.In*c.Kernel*c.Kernel, c.outH*c.outW
	w := kernels.Workers()
	for len(c.scratch) < w {
		c.scratch = append(c.scratch, convScratch{})
	}
	if c.wino != nil {
		return // Winograd sizes its own buffers
	}
	for i := range c.scratch[:w] {
		s := &c.scratch[i]
		s.cols = resize(s.cols, K*P)
		if backward {
			s.dcols = resize(s.dcols, K*P)
			s.dW, s.dB = resize(s.dW, c.W.Value.Len()), resize(s.dB, c.Out)
		}
	}
}

// resize returns b with n elements, reusing its storage when it is large enough.
func resize[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// Forward: per image, im2col, then Y = W·cols + b.
func (c *Conv2D) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	return c.forward(x, training, fusion{})
}

// forward is Forward with fused applied to each image's output; it returns the last
// layer's output: the pooling's, or y.
func (c *Conv2D) forward(x *tensor.Tensor, training bool, fused fusion) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[1] != c.In {
		panic(fmt.Sprintf("nn: %s: input %s, want [N %d H W]", c, tensor.ShapeString(x.Shape), c.In))
	}
	N := x.Shape[0]
	c.x, c.inH, c.inW = x, x.Shape[2], x.Shape[3]
	c.outH, c.outW = c.outSize(c.inH, c.inW)
	K, P, O := c.In*c.Kernel*c.Kernel, c.outH*c.outW, c.Out
	c.y.Resize(N, O, c.outH, c.outW)
	c.wino = c.plan()
	c.fused = fused
	if fused.pool != nil {
		fused.pool.prepare(c.y.Shape)
	}
	c.direct = false
	if c.q != nil && !training {
		c.forwardInt8(x, N)
		return c.output()
	}
	c.prepare(false)
	if training && c.BF16 && c.bf16Refused == nil {
		c.direct, c.directBF16 = c.forwardDirect(N, true), true
	}
	if training && !c.direct && c.directF32() {
		c.direct, c.directBF16 = c.forwardDirect(N, false), false
	}
	if c.direct {
		return c.output()
	}
	if c.wino != nil {
		c.forwardWinograd(c.wino, training)
		return c.output()
	}
	kernels.Parallel(N, 1, func(w, lo, hi int) {
		for n := lo; n < hi; n++ {
			cols := c.patches(&c.scratch[w], n)
			yn := c.outputImage(&c.scratch[w], n)
			c.fillBias(yn)
			kernels.GemmSerial(false, false, O, P, K, 1, c.W.Value.Data, K, cols, P, 1, yn, P)
			c.finishImage(yn, n)
		}
	})
	return c.output()
}

// output is the last forward's result: the fused pooling's output, or y.
func (c *Conv2D) output() *tensor.Tensor {
	if c.fused.pool != nil {
		return c.fused.pool.y
	}
	return c.y
}

// Backward, per image: dW += dY·colsᵀ, db += Σ dY, dcols = Wᵀ·dY, then col2im (adding
// overlaps). Workers other than the first sum their images' parameter gradients apart
// and add them at the end, so a run is repeatable for a given worker count.
func (c *Conv2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if c.fused.pool != nil {
		sameShape(c, "output gradient (pooled)", dy.Shape, c.fused.pool.y.Shape)
	} else {
		sameShape(c, "output gradient", dy.Shape, c.y.Shape)
	}
	N, K, P, O := c.y.Shape[0], c.In*c.Kernel*c.Kernel, c.outH*c.outW, c.Out
	inSize := c.In * c.inH * c.inW
	c.prepare(true)
	if !c.NoInputGrad {
		c.dx.Resize(N, c.In, c.inH, c.inW)
	}
	if c.direct {
		c.backwardDirect(dy)
		return c.finishBackward()
	}
	if c.wino != nil {
		c.backwardWinograd(c.wino, dy)
		return c.finishBackward()
	}
	used := kernels.Parallel(N, 1, func(w, lo, hi int) {
		s := &c.scratch[w]
		dW, dB := c.W.Grad.Data, c.B.Grad.Data
		if w > 0 {
			dW, dB = s.dW, s.dB
			clear(dW)
			clear(dB)
		}
		for n := lo; n < hi; n++ {
			cols := c.patches(s, n)
			dyn := c.imageGrad(s, dy, n)
			kernels.GemmSerial(false, true, O, K, P, 1, dyn, P, cols, P, 1, dW, K)
			addBiasGrad(dB, dyn, O)
			if c.NoInputGrad {
				continue
			}
			dxn := c.dx.Data[n*inSize : (n+1)*inSize]
			if c.pointwise() {
				kernels.GemmSerial(true, false, K, P, O, 1, c.W.Value.Data, K, dyn, P, 0, dxn, P)
				continue
			}
			kernels.GemmSerial(true, false, K, P, O, 1, c.W.Value.Data, K, dyn, P, 0, s.dcols, P)
			clear(dxn)
			kernels.Col2im(dxn, s.dcols, c.In, c.inH, c.inW, c.Kernel, c.Stride, c.Padding, c.outH, c.outW)
		}
	})
	for w := 1; w < used; w++ {
		kernels.Add(c.W.Grad.Data, c.scratch[w].dW)
		kernels.Add(c.B.Grad.Data, c.scratch[w].dB)
	}
	return c.finishBackward()
}

func (c *Conv2D) finishBackward() *tensor.Tensor {
	c.W.accumulatedDense()
	c.B.accumulatedDense()
	if c.NoInputGrad {
		return nil
	}
	return c.dx
}

// outputImage is where image n's output goes: its slice of y, or, when it is pooled
// here, the worker's buffer.
func (c *Conv2D) outputImage(s *convScratch, n int) []float32 {
	size := c.Out * c.outH * c.outW
	if c.fused.pool != nil {
		s.yImg = resize(s.yImg, size)
		return s.yImg
	}
	return c.y.Data[n*size : (n+1)*size]
}

// finishImage applies the fused ReLU and max pooling, as far as this pass does, to image
// n's output yn.
func (c *Conv2D) finishImage(yn []float32, n int) {
	if !c.fused.relu {
		return
	}
	kernels.ReLU(yn, yn)
	if c.fused.pool != nil {
		c.fused.pool.poolImage(yn, n)
	}
}

// imageGrad is image n's output gradient: its slice of dy, or, through the fused ReLU
// (and max pooling), the worker's buffer.
func (c *Conv2D) imageGrad(s *convScratch, dy *tensor.Tensor, n int) []float32 {
	size := c.Out * c.outH * c.outW
	if !c.fused.relu {
		return dy.Data[n*size : (n+1)*size]
	}
	s.dyMasked = resize(s.dyMasked, size)
	c.maskedGrad(s.dyMasked, dy, n)
	return s.dyMasked
}

// maskedGrad sets dst to image n's output gradient through the fused ReLU (and max
// pooling).
func (c *Conv2D) maskedGrad(dst []float32, dy *tensor.Tensor, n int) {
	size := len(dst)
	if c.fused.pool != nil { // what MaxPool2D.Backward then ReLU's would give for this image
		clear(dst)
		c.fused.pool.imageGrad(dst, dy, n)
		return
	}
	kernels.ReLUBackward(dst, c.y.Data[n*size:(n+1)*size], dy.Data[n*size:(n+1)*size])
}

// fillBias sets each output channel of one image's yn [O P] to its bias.
func (c *Conv2D) fillBias(yn []float32) {
	kernels.FillRows(yn, c.B.Value.Data)
}

// addBiasGrad adds to dB [O] the sums of one image's output gradient dyn [O P] per
// channel: db = Σ dy, each channel's values one after another. kernels.AddRowSums8 is
// faster still but rounds differently; Winograd uses it, and the GEMM path keeps this
// order so that `--conv gemm` runs recorded before Winograd still reproduce bit for bit.
// Four channels are summed side by side: four independent chains of adds, which the
// CPU overlaps, where one chain waits on each add in turn (same order, same values).
func addBiasGrad(dB, dyn []float32, O int) {
	P := len(dyn) / O
	o := 0
	for ; o+4 <= O; o += 4 {
		r0, r1 := dyn[o*P:(o+1)*P], dyn[(o+1)*P:(o+2)*P]
		r2, r3 := dyn[(o+2)*P:(o+3)*P], dyn[(o+3)*P:(o+4)*P]
		var s0, s1, s2, s3 float32
		for i := range r0 {
			s0 += r0[i]
			s1 += r1[i]
			s2 += r2[i]
			s3 += r3[i]
		}
		dB[o] += s0
		dB[o+1] += s1
		dB[o+2] += s2
		dB[o+3] += s3
	}
	for ; o < O; o++ {
		var sum float32
		for _, v := range dyn[o*P : (o+1)*P] {
			sum += v
		}
		dB[o] += sum
	}
}
