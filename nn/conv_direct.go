package nn

import (
	"fmt"
	"sync/atomic"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// Direct convolutions: oneDNN's direct convolution primitives for training passes, in
// two precisions.
//   - float32 (ConvDirect, and ConvAuto where it measured faster than Winograd and
//     im2col: see directF32): the same sums as the definition's, in oneDNN's order. On
//     the default CNN preset's 16→32 5×5 layer, forward and backward of a batch of 128
//     take 4.0-4.5 ms against Winograd F(2×2,5×5)'s 9.4-10.6 ms (2 workers,
//     BenchmarkConvAlgorithms; /BENCHMARKS.md).
//   - bf16 (train --precision bf16): x, W and dy rounded to bf16 as each pass starts,
//     float32 sums, float32 results, as in the dense layers' recipe (bf16.go): on the
//     example network's 32→64 layer, forward and backward of a batch of 64 take 8.6 ms
//     against Winograd's 13.6 ms in float32 (2 workers, medians of BenchmarkConv;
//     /BENCHMARKS.md).
//
// The ReLU, pooling and the gradients' sums over workers stay in Go and float32. The
// batch is split over kernels.Parallel's workers, each running a one-thread convolution
// on its images. Inference keeps Algorithm's Winograd or im2col: a oneDNN primitive is
// made for each batch size it meets (tens of milliseconds), which a training run pays
// once and a one-image prediction would pay every time.

// directTokens numbers forward passes, so a backward pass knows the blocked copy of its
// input that oneDNN kept is its own.
var directTokens atomic.Uint64

// directMinChannels: below it oneDNN's direct convolution loses to im2col + GEMM
// (BenchmarkConvAlgorithms, forward and backward, batch 128: 1→16 5×5 on 28×28, 5.7-6.4
// ms against 2.9-3.4; 3→16, 7.2-8.9 against 8.1-11.9; 6→16 on 14×14, 1.9-2.5 against
// 2.7-3.5).
const directMinChannels = 3

// directF32 reports whether this layer's float32 training passes run through oneDNN's
// direct convolution: where it runs (kernels.ConvF32) and took this layer's shapes, for
// ConvDirect, and for ConvAuto on layers of at least directMinChannels input channels
// but those that Winograd F(6×6, 3×3) takes (32→64 3×3 on 26×26, batch 64: 10.5-14.4
// ms against oneDNN's 16.0-17.6; 32→32: 14.9-22.7 against 17.7-23.7). The other layers
// measured ran as fast (64→64 3×3 on 14×14) or 1.1-2.9× faster direct.
func (c *Conv2D) directF32() bool {
	if c.f32Refused != nil || kernels.ConvF32() != nil {
		return false
	}
	switch c.Algorithm {
	case ConvDirect:
		return true
	case ConvAuto:
		return c.In >= directMinChannels && c.plan() != winogradF6
	}
	return false
}

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

// forwardDirect runs the forward pass through oneDNN, in bf16 or float32, and applies
// the fusion, reporting whether it could; where oneDNN refuses the layer, it remembers
// why (bf16Refused, f32Refused) and the caller runs Winograd or im2col.
func (c *Conv2D) forwardDirect(N int, bf16 bool) bool {
	c.directToken = directTokens.Add(1)
	run := kernels.ConvForwardF32
	if bf16 {
		run = kernels.ConvForwardBF16
	}
	inSize, outSize := c.In*c.inH*c.inW, c.Out*c.outH*c.outW
	used := kernels.Parallel(N, 1, func(w, lo, hi int) {
		s := &c.scratch[w]
		y := c.y.Data[lo*outSize : hi*outSize]
		s.err = run(w, c.shapeOf(hi-lo), c.x.Data[lo*inSize:hi*inSize], c.W.Value.Data, c.B.Value.Data, y, c.directToken)
		if s.err != nil {
			return
		}
		for n := lo; n < hi; n++ {
			c.finishImage(y[(n-lo)*outSize:(n-lo+1)*outSize], n)
		}
	})
	for w := range used {
		if err := c.scratch[w].err; err != nil {
			if bf16 {
				c.bf16Refused = err
			} else {
				c.f32Refused = err
			}
			return false
		}
	}
	return true
}

// backwardDirect: each worker's images' dW, db (summed after, in worker order) and dx,
// in the precision of the forward pass.
func (c *Conv2D) backwardDirect(dy *tensor.Tensor) {
	N := c.y.Shape[0]
	run := kernels.ConvBackwardF32
	if c.directBF16 {
		run = kernels.ConvBackwardBF16
	}
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
		s.err = run(w, c.shapeOf(hi-lo), c.x.Data[lo*inSize:hi*inSize], c.W.Value.Data, dyr, s.dW, s.dB, dx, c.directToken)
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
