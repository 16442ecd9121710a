package nn

import (
	"fmt"
	"sync/atomic"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// Convolutions in bf16 (train --precision bf16): oneDNN's direct bf16 convolution
// (kernels.ConvForwardBF16), x, W and dy rounded to bf16 as each pass starts, float32
// sums, float32 results; the ReLU, pooling, bias and parameter gradients stay float32,
// as in the dense layers' recipe (bf16.go). The batch is split over kernels.Parallel's
// workers, each running a one-thread convolution on its images: on the example
// network's 32→64 layer, forward and backward of a batch of 64 take 8.6 ms against
// Winograd's 13.6 ms in float32 (2 workers, medians of BenchmarkConv; /BENCHMARKS.md).

// bf16Tokens numbers forward passes, so a backward pass knows the bf16 copy of its
// input that oneDNN kept is its own.
var bf16Tokens atomic.Uint64

// BF16Refused says why each convolution that was to train in bf16 ran in float32
// instead (oneDNN refused its shapes); none, usually.
func (net *Network) BF16Refused() []error {
	var errs []error
	for _, l := range net.Layers {
		if c, ok := l.(*Conv2D); ok && c.bf16Refused != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, c.bf16Refused))
		}
	}
	return errs
}

// shapeOf is the convolution's sizes for n images.
func (c *Conv2D) shapeOf(n int) kernels.ConvShape {
	return kernels.ConvShape{N: n, C: c.In, H: c.inH, W: c.inW, O: c.Out, K: c.Kernel, Stride: c.Stride, Pad: c.Padding}
}

// forwardBF16 runs the forward pass in bf16 and applies the fusion, reporting whether it
// could; where oneDNN refuses the layer, it remembers why (bf16Refused) and the caller
// runs float32.
func (c *Conv2D) forwardBF16(N int) bool {
	c.bf16Token = bf16Tokens.Add(1)
	inSize, outSize := c.In*c.inH*c.inW, c.Out*c.outH*c.outW
	used := kernels.Parallel(N, 1, func(w, lo, hi int) {
		s := &c.scratch[w]
		y := c.y.Data[lo*outSize : hi*outSize]
		s.err = kernels.ConvForwardBF16(w, c.shapeOf(hi-lo), c.x.Data[lo*inSize:hi*inSize], c.W.Value.Data, c.B.Value.Data, y, c.bf16Token)
		if s.err != nil {
			return
		}
		for n := lo; n < hi; n++ {
			c.finishImage(y[(n-lo)*outSize:(n-lo+1)*outSize], n)
		}
	})
	for w := range used {
		if err := c.scratch[w].err; err != nil {
			c.bf16Refused = err
			return false
		}
	}
	return true
}

// backwardBF16: each worker's images' dW, db (summed after, in worker order) and dx.
func (c *Conv2D) backwardBF16(dy *tensor.Tensor) {
	N := c.y.Shape[0]
	inSize, outSize := c.In*c.inH*c.inW, c.Out*c.outH*c.outW
	used := kernels.Parallel(N, 1, func(w, lo, hi int) {
		s := &c.scratch[w]
		var dyr []float32 // the output gradient of images lo to hi
		if c.fused.relu {
			s.dyRange = resize(s.dyRange, (hi-lo)*outSize)
			for n := lo; n < hi; n++ {
				c.maskedGrad(s.dyRange[(n-lo)*outSize:(n-lo+1)*outSize], dy, n)
			}
			dyr = s.dyRange
		} else {
			dyr = dy.Data[lo*outSize : hi*outSize]
		}
		s.dW, s.dB = resize(s.dW, c.W.Value.Len()), resize(s.dB, c.Out)
		var dx []float32
		if !c.NoInputGrad {
			dx = c.dx.Data[lo*inSize : hi*inSize]
		}
		s.err = kernels.ConvBackwardBF16(w, c.shapeOf(hi-lo), c.x.Data[lo*inSize:hi*inSize], c.W.Value.Data, dyr, s.dW, s.dB, dx, c.bf16Token)
	})
	for w := range used {
		if err := c.scratch[w].err; err != nil {
			// The forward pass ran this shape; oneDNN failing now is a broken library.
			panic("nn: " + c.String() + ": " + err.Error())
		}
		kernels.Add(c.W.Grad.Data, c.scratch[w].dW)
		kernels.Add(c.B.Grad.Data, c.scratch[w].dB)
	}
}
