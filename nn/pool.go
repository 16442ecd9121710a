package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// MaxPool2D takes the maximum of each k×k window (stride k) of [N C H W] inputs.
type MaxPool2D struct {
	K          int
	shape      []int
	argmax     []int32 // for each output, the input offset it came from
	y, dx      *tensor.Tensor
	outH, outW int
}

// NewMaxPool2D returns a k×k max pool with stride k.
func NewMaxPool2D(k int) *MaxPool2D {
	return &MaxPool2D{K: k, y: tensor.New(0), dx: tensor.New(0)}
}

func (m *MaxPool2D) String() string   { return fmt.Sprintf("MaxPool2D(%d)", m.K) }
func (m *MaxPool2D) Params() []*Param { return nil }
func (m *MaxPool2D) OutShape(in []int) ([]int, error) {
	if len(in) != 3 || in[1] < m.K || in[2] < m.K {
		return nil, fmt.Errorf("nn: %s: input shape %s, want [C H W] with H, W ≥ %d", m, tensor.ShapeString(in), m.K)
	}
	return []int{in[0], in[1] / m.K, in[2] / m.K}, nil
}

func (m *MaxPool2D) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn: %s: input %s, want [N C H W]", m, tensor.ShapeString(x.Shape)))
	}
	m.prepare(x.Shape)
	N, C, H, W := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	in, out := H*W, m.outH*m.outW
	kernels.Parallel(N*C, max(1, elementGrain/in), func(_, lo, hi int) {
		argmax := m.argmax[lo*out : hi*out]
		kernels.MaxPool(m.y.Data[lo*out:hi*out], argmax, x.Data[lo*in:hi*in], hi-lo, H, W, m.K, m.outH, m.outW)
		for i := range argmax { // offsets into the chunk → into x
			argmax[i] += int32(lo * in)
		}
	})
	return m.y
}

// prepare sizes the output and argmax for inputs of shape [N C H W].
func (m *MaxPool2D) prepare(shape []int) {
	m.shape = append(m.shape[:0], shape...)
	m.outH, m.outW = shape[2]/m.K, shape[3]/m.K
	m.y.Resize(shape[0], shape[1], m.outH, m.outW)
	if cap(m.argmax) < m.y.Len() {
		m.argmax = make([]int32, m.y.Len())
	}
	m.argmax = m.argmax[:m.y.Len()]
}

// poolImage pools image n of the input, given on its own as xn [C H W], as Forward would.
func (m *MaxPool2D) poolImage(xn []float32, n int) {
	C, H, W := m.shape[1], m.shape[2], m.shape[3]
	out := C * m.outH * m.outW
	argmax := m.argmax[n*out : (n+1)*out]
	kernels.MaxPool(m.y.Data[n*out:(n+1)*out], argmax, xn, C, H, W, m.K, m.outH, m.outW)
	for i := range argmax {
		argmax[i] += int32(n * len(xn))
	}
}

// imageGrad adds image n's share of Backward(dy), masked by the ReLU before it, onto
// dxn [C H W]: where the window's maximum was positive, its gradient goes to it.
func (m *MaxPool2D) imageGrad(dxn []float32, dy *tensor.Tensor, n int) {
	out := m.shape[1] * m.outH * m.outW
	y, dyn := m.y.Data[n*out:(n+1)*out], dy.Data[n*out:(n+1)*out]
	for j, at := range m.argmax[n*out : (n+1)*out] {
		if y[j] > 0 {
			dxn[int(at)-n*len(dxn)] += dyn[j]
		}
	}
}

// Backward: the gradient goes to the input that was the maximum of its window.
func (m *MaxPool2D) Backward(dy *tensor.Tensor) *tensor.Tensor {
	sameShape(m, "output gradient", dy.Shape, m.y.Shape)
	m.dx.Resize(m.shape...)
	in, out := m.shape[2]*m.shape[3], m.outH*m.outW
	kernels.Parallel(m.shape[0]*m.shape[1], max(1, elementGrain/in), func(_, lo, hi int) {
		dx := m.dx.Data[lo*in : hi*in]
		clear(dx)
		for o, at := range m.argmax[lo*out : hi*out] {
			dx[int(at)-lo*in] += dy.Data[lo*out+o]
		}
	})
	return m.dx
}

// Flatten views [N d1 d2 ...] as [N d1·d2·...].
type Flatten struct {
	shape []int
	y, dx tensor.Tensor
}

func (f *Flatten) String() string   { return "Flatten" }
func (f *Flatten) Params() []*Param { return nil }
func (f *Flatten) OutShape(in []int) ([]int, error) {
	return []int{tensor.Size(in)}, nil
}

func (f *Flatten) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	f.shape = append(f.shape[:0], x.Shape...)
	f.y = tensor.Tensor{Shape: []int{x.Rows(), x.Cols()}, Data: x.Data}
	return &f.y
}

func (f *Flatten) Backward(dy *tensor.Tensor) *tensor.Tensor {
	f.dx = tensor.Tensor{Shape: f.shape, Data: dy.Data}
	return &f.dx
}

// Dropout zeroes each input with probability P during training and scales the rest by
// 1/(1-P) (inverted dropout), so inference is the identity. Its random source is the
// run's, so a seed fixes the masks.
type Dropout struct {
	P     float64
	rng   *rand.Rand
	src   *rand.PCG // rng's own source, when SetRandomSource gave it: drawn directly
	mask  []float32
	y, dx *tensor.Tensor
	train bool
}

// NewDropout returns a dropout layer drawing masks from rng.
func NewDropout(p float64, rng *rand.Rand) *Dropout {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("nn: Dropout(%g): probability must be in [0, 1)", p))
	}
	return &Dropout{P: p, rng: rng, y: tensor.New(0), dx: tensor.New(0)}
}

func (d *Dropout) String() string                   { return fmt.Sprintf("Dropout(%g)", d.P) }
func (d *Dropout) Params() []*Param                 { return nil }
func (d *Dropout) OutShape(in []int) ([]int, error) { return append([]int(nil), in...), nil }

func (d *Dropout) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	d.train = training && d.P > 0
	if !d.train {
		return x
	}
	d.y.Resize(x.Shape...)
	if cap(d.mask) < x.Len() {
		d.mask = make([]float32, x.Len())
	}
	d.mask = d.mask[:x.Len()]
	keep := float32(1 / (1 - d.P))
	// rng.Float64() < P, in integers: Float64 is the low 53 bits of a draw over 2⁵³.
	drop := uint64(math.Ceil(d.P * (1 << 53)))
	keepBits := math.Float32bits(keep)
	mask, y := d.mask, d.y.Data[:len(x.Data)]
	if d.src == nil {
		for i := range mask {
			mask[i] = dropoutMask(d.rng.Uint64(), drop, keepBits)
			y[i] = x.Data[i] * mask[i]
		}
		return d.y
	}
	// Straight from the source, split over the workers: each starts its own lanes of
	// PCG where the serial stream would be at its first value, so the masks are the
	// serial ones.
	start := pcgState(d.src)
	kernels.Parallel(len(mask), 1<<14, func(_, lo, hi int) {
		lanes := newPCGLanes(pcgJump(start, uint64(lo)))
		i := lo
		for ; i+4 <= hi; i += 4 { // written out: a loop over the four was 25 % slower
			a, b, c, e := lanes.next4()
			ms, xs, ys := mask[i:i+4:i+4], x.Data[i:i+4:i+4], y[i:i+4:i+4]
			ms[0], ms[1], ms[2] = dropoutMask(a, drop, keepBits), dropoutMask(b, drop, keepBits), dropoutMask(c, drop, keepBits)
			ms[3] = dropoutMask(e, drop, keepBits)
			ys[0], ys[1], ys[2], ys[3] = xs[0]*ms[0], xs[1]*ms[1], xs[2]*ms[2], xs[3]*ms[3]
		}
		if i < hi {
			var r [4]uint64
			r[0], r[1], r[2], r[3] = lanes.next4()
			for j, v := range r[:hi-i] {
				mask[i+j] = dropoutMask(v, drop, keepBits)
				y[i+j] = x.Data[i+j] * mask[i+j]
			}
		}
	})
	end := pcgJump(start, uint64(len(mask)))
	d.src.Seed(end.hi, end.lo)
	return d.y
}

// dropoutMask is 0 for a draw v below drop (in its low 53 bits), else keep (as bits).
// In integers, for a conditional move: Go branches on a float select, and a branch is
// guessed wrong P of the time, which made dropout twice as slow.
func dropoutMask(v, drop uint64, keep uint32) float32 {
	var m uint32
	if v&(1<<53-1) >= drop {
		m = keep
	}
	return math.Float32frombits(m)
}

// SetRandomSource makes the dropout layers draw straight from src, which must be the
// source of the rng the network was built with (the numbers are the same, only faster)
// or that source restored from a checkpoint (then a resumed run draws the masks an
// uninterrupted one would).
func (net *Network) SetRandomSource(src *rand.PCG) {
	for _, l := range net.Layers {
		if d, ok := l.(*Dropout); ok {
			d.src = src
		}
	}
}

// Backward: dx = dy·mask.
func (d *Dropout) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if !d.train {
		return dy
	}
	d.dx.Resize(dy.Shape...)
	dx, mask := d.dx.Data, d.mask[:len(dy.Data)]
	kernels.Parallel(len(dx), elementGrain, func(_, lo, hi int) {
		kernels.Mul(dx[lo:hi], dy.Data[lo:hi], mask[lo:hi])
	})
	return d.dx
}
