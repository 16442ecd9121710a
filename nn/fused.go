package nn

import (
	"github.com/digitnet/digitnet/tensor"
)

// ConvReLU is a convolution followed by a ReLU and, when Pool is set, a max pooling,
// run as one layer in training: the convolution applies the ReLU and the pooling to
// each image while that image's output is still in cache, and backward starts from the
// pooled gradient, instead of two or three more passes over a batch of outputs too large
// for the cache. In inference it runs the three layers one after another, as the
// network lists them (Network.Layers). Both give the values the layers apart give, to
// the bit (tested). Spec.Build makes one for every conv2d, relu (, maxpool) in a spec;
// the network trains through it.
type ConvReLU struct {
	Conv *Conv2D
	ReLU *ReLU
	Pool *MaxPool2D // nil: no pooling
}

func (f *ConvReLU) String() string {
	s := f.Conv.String() + " → " + f.ReLU.String()
	if f.Pool != nil {
		s += " → " + f.Pool.String()
	}
	return s
}

// Params are the convolution's.
func (f *ConvReLU) Params() []*Param { return f.Conv.Params() }

func (f *ConvReLU) OutShape(in []int) ([]int, error) {
	out, err := f.Conv.OutShape(in)
	if err == nil && f.Pool != nil {
		out, err = f.Pool.OutShape(out)
	}
	return out, err
}

func (f *ConvReLU) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	if training {
		return f.Conv.forward(x, true, fusion{relu: true, pool: f.Pool})
	}
	y := f.ReLU.Forward(f.Conv.Forward(x, false), false)
	if f.Pool != nil {
		y = f.Pool.Forward(y, false)
	}
	return y
}

// Backward of a training Forward: through the pooling (to each window's maximum, where
// it was positive) and the ReLU, by the convolution image by image.
func (f *ConvReLU) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if !f.Conv.fused.relu {
		if f.Pool != nil {
			dy = f.Pool.Backward(dy)
		}
		dy = f.ReLU.Backward(dy)
	}
	return f.Conv.Backward(dy)
}

// fuse is the layers training runs: layers with each convolution followed by a ReLU
// (and a max pooling) made one ConvReLU.
func fuse(layers []Layer) []Layer {
	var out []Layer
	for i := 0; i < len(layers); i++ {
		c, isConv := layers[i].(*Conv2D)
		if !isConv || i+1 >= len(layers) {
			out = append(out, layers[i])
			continue
		}
		r, isReLU := layers[i+1].(*ReLU)
		if !isReLU {
			out = append(out, layers[i])
			continue
		}
		f := &ConvReLU{Conv: c, ReLU: r}
		i++
		if i+1 < len(layers) {
			if m, ok := layers[i+1].(*MaxPool2D); ok {
				f.Pool = m
				i++
			}
		}
		out = append(out, f)
	}
	return out
}
