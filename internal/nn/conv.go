package nn

import (
	"fmt"

	"github.com/digitnet/digitnet/internal/tensor"
)

// Conv2D is a 2-D convolution (cross-correlation, as in PyTorch) over [N C H W] inputs:
// y[n,o,i,j] = b[o] + Σ_{c,u,v} W[o,c,u,v]·x[n,c,i·S+u-P,j·S+v-P], zero outside the
// image. W is stored [O C K K] (PyTorch's layout), b [O].
//
// Forward unfolds the input into a matrix of patches (im2col), one row per output
// position, so the whole batch is one GEMM: Y[NHW O] = cols[NHW CKK] · Wᵀ.
type Conv2D struct {
	In, Out        int // channels
	Kernel, Stride int
	Padding        int
	W, B           *Param
	NoInputGrad    bool
	inH, inW, N    int
	outH, outW     int
	cols, yr, dyr  *tensor.Tensor
	y, dx, dcols   *tensor.Tensor
}

// NewConv2D returns a convolution with zero parameters named with prefix.
func NewConv2D(prefix string, in, out, kernel, stride, padding int) *Conv2D {
	if in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || padding < 0 {
		panic(fmt.Sprintf("nn: Conv2D(%d->%d, k%d s%d p%d): sizes must be positive", in, out, kernel, stride, padding))
	}
	return &Conv2D{In: in, Out: out, Kernel: kernel, Stride: stride, Padding: padding,
		W: newParam(prefix+".weight", out, in, kernel, kernel), B: newParam(prefix+".bias", out),
		cols: tensor.New(0), yr: tensor.New(0), dyr: tensor.New(0), y: tensor.New(0), dx: tensor.New(0), dcols: tensor.New(0)}
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

// Forward: im2col, then Y = cols·Wᵀ + b, then [N H W O] → [N O H W].
func (c *Conv2D) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[1] != c.In {
		panic(fmt.Sprintf("nn: %s: input %s, want [N %d H W]", c, tensor.ShapeString(x.Shape), c.In))
	}
	N, H, W := x.Shape[0], x.Shape[2], x.Shape[3]
	c.N, c.inH, c.inW = N, H, W
	c.outH, c.outW = c.outSize(H, W)
	P, K := c.outH*c.outW, c.In*c.Kernel*c.Kernel
	c.cols.Resize(N*P, K)
	tensor.Im2col(c.cols.Data, x.Data, N, c.In, H, W, c.Kernel, c.Stride, c.Padding, c.outH, c.outW)
	c.yr.Resize(N*P, c.Out)
	for r := 0; r < N*P; r++ {
		copy(c.yr.Data[r*c.Out:(r+1)*c.Out], c.B.Value.Data)
	}
	tensor.Gemm(false, true, N*P, c.Out, K, 1, c.cols.Data, K, c.W.Value.Data, K, 1, c.yr.Data, c.Out)
	c.y.Resize(N, c.Out, c.outH, c.outW)
	rowsToNCHW(c.y.Data, c.yr.Data, N, P, c.Out)
	return c.y
}

// Backward: dW += dYᵀ·cols, db += Σ dY, dcols = dY·W, then col2im (adding overlaps).
func (c *Conv2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	sameShape(c, "output gradient", dy.Shape, c.y.Shape)
	N, P, K := c.N, c.outH*c.outW, c.In*c.Kernel*c.Kernel
	c.dyr.Resize(N*P, c.Out)
	nchwToRows(c.dyr.Data, dy.Data, N, P, c.Out)
	tensor.Gemm(true, false, c.Out, K, N*P, 1, c.dyr.Data, c.Out, c.cols.Data, K, 1, c.W.Grad.Data, K)
	c.W.accumulatedDense()
	db := c.B.Grad.Data
	for r := 0; r < N*P; r++ {
		row := c.dyr.Data[r*c.Out : (r+1)*c.Out]
		for o, v := range row {
			db[o] += v
		}
	}
	c.B.accumulatedDense()
	if c.NoInputGrad {
		return nil
	}
	c.dcols.Resize(N*P, K)
	tensor.Gemm(false, false, N*P, K, c.Out, 1, c.dyr.Data, c.Out, c.W.Value.Data, K, 0, c.dcols.Data, K)
	c.dx.Resize(N, c.In, c.inH, c.inW)
	c.dx.Zero()
	tensor.Col2im(c.dx.Data, c.dcols.Data, N, c.In, c.inH, c.inW, c.Kernel, c.Stride, c.Padding, c.outH, c.outW)
	return c.dx
}

// rowsToNCHW turns [N·P O] (one row per position) into [N O P].
func rowsToNCHW(dst, src []float32, N, P, O int) {
	for n := 0; n < N; n++ {
		for pos := 0; pos < P; pos++ {
			r := src[(n*P+pos)*O:]
			for o := 0; o < O; o++ {
				dst[(n*O+o)*P+pos] = r[o]
			}
		}
	}
}

// nchwToRows is rowsToNCHW's inverse.
func nchwToRows(dst, src []float32, N, P, O int) {
	for n := 0; n < N; n++ {
		for o := 0; o < O; o++ {
			s := src[(n*O+o)*P:]
			for pos := 0; pos < P; pos++ {
				dst[(n*P+pos)*O+o] = s[pos]
			}
		}
	}
}
