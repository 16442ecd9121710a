package synth

import (
	"fmt"
	"image"
	"math"
)

// Mask is a grayscale coverage image: how much of each pixel ink covers, from 0
// (paper) to 1 (ink), W×H pixels in row-major order. The zero Mask is empty.
type Mask struct {
	W, H int
	Pix  []float32 // len W*H; pixel (x, y) is Pix[y*W+x]
}

// NewMask returns an empty (all paper) w×h mask. It panics if w or h is negative.
func NewMask(w, h int) *Mask {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("synth: NewMask(%d, %d): negative size", w, h))
	}
	return &Mask{W: w, H: h, Pix: make([]float32, w*h)}
}

// At returns the coverage of pixel (x, y), 0 outside the mask.
func (m *Mask) At(x, y int) float32 {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return 0
	}
	return m.Pix[y*m.W+x]
}

// Set sets the coverage of pixel (x, y); it panics outside the mask.
func (m *Mask) Set(x, y int, v float32) {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		panic(fmt.Sprintf("synth: Mask(%d×%d).Set(%d, %d): outside", m.W, m.H, x, y))
	}
	m.Pix[y*m.W+x] = v
}

// Clone returns a copy of m.
func (m *Mask) Clone() *Mask {
	c := NewMask(m.W, m.H)
	copy(c.Pix, m.Pix)
	return c
}

// Ink returns the total coverage, in pixels' worth of ink.
func (m *Mask) Ink() float64 {
	var s float64
	for _, v := range m.Pix {
		s += float64(v)
	}
	return s
}

// Bounds returns the smallest rectangle holding every pixel whose coverage is at
// least t; it is empty when there is none.
func (m *Mask) Bounds(t float32) image.Rectangle {
	r := image.Rectangle{}
	for y := range m.H {
		row := m.Pix[y*m.W : (y+1)*m.W]
		for x, v := range row {
			if v >= t {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// Crop returns the part of m inside r; parts of r outside m are paper.
func (m *Mask) Crop(r image.Rectangle) *Mask {
	c := NewMask(max(r.Dx(), 0), max(r.Dy(), 0))
	for y := range c.H {
		for x := range c.W {
			c.Pix[y*c.W+x] = m.At(r.Min.X+x, r.Min.Y+y)
		}
	}
	return c
}

// Trim returns m cropped to its ink (coverage above 1/255) with pad pixels of paper
// on every side, so a source's placement in its own frame does not matter. A mask
// without ink trims to a (2·pad)×(2·pad) blank.
func (m *Mask) Trim(pad int) *Mask {
	return m.Crop(m.Bounds(1.0 / 255).Inset(-pad))
}

// Invert returns 1 - m: for a source whose ink is the low value.
func (m *Mask) Invert() *Mask {
	c := m.Clone()
	for i, v := range c.Pix {
		c.Pix[i] = 1 - v
	}
	return c
}

// Level returns m with its coverage pushed towards 0 and 1 around the midpoint
// 0.5: v → clamp((v-0.5)·gain + 0.5). After a blur it turns a blocky binary scan
// into smooth strokes with sharp edges.
func (m *Mask) Level(gain float64) *Mask {
	c := m.Clone()
	for i, v := range c.Pix {
		c.Pix[i] = clamp01(float32((float64(v)-0.5)*gain + 0.5))
	}
	return c
}

// StrokeWidth estimates the width in pixels of m's strokes as 2·area/perimeter of
// the ink (coverage ≥ 0.5): a stroke of width w and length L has area wL and
// perimeter about 2L. The perimeter is counted as pixel edges between ink and
// paper, times π/4, the mean ratio of a curve's length to its staircase's. It
// returns 0 for a mask without ink.
func (m *Mask) StrokeWidth() float64 {
	ink := func(x, y int) bool { return m.At(x, y) >= 0.5 }
	area, edges := 0, 0
	for y := range m.H {
		for x := range m.W {
			if !ink(x, y) {
				continue
			}
			area++
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				if !ink(x+d[0], y+d[1]) {
					edges++
				}
			}
		}
	}
	if area == 0 {
		return 0
	}
	return 2 * float64(area) / (float64(edges) * math.Pi / 4)
}

// Resize returns m scaled to w×h with a separable filter: Catmull-Rom cubic when
// growing (smooth, no blocks), a tent as wide as the scale factor when shrinking
// (area averaging, no aliasing). Coverage is clamped to [0, 1] (the cubic
// overshoots at sharp edges).
func (m *Mask) Resize(w, h int) *Mask {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("synth: Mask(%d×%d).Resize(%d, %d): size must be positive", m.W, m.H, w, h))
	}
	xt, yt := filterTaps(m.W, w), filterTaps(m.H, h)
	tmp := NewMask(w, m.H) // rows resized
	for y := range m.H {
		in, out := m.Pix[y*m.W:(y+1)*m.W], tmp.Pix[y*w:(y+1)*w]
		for x, t := range xt {
			var v float32
			for i, wt := range t.w {
				v += wt * in[t.first+i]
			}
			out[x] = v
		}
	}
	dst := NewMask(w, h)
	for y, t := range yt {
		out := dst.Pix[y*w : (y+1)*w]
		for i, wt := range t.w {
			in := tmp.Pix[(t.first+i)*w : (t.first+i+1)*w]
			for x := range out {
				out[x] += wt * in[x]
			}
		}
	}
	for i, v := range dst.Pix {
		dst.Pix[i] = clamp01(v)
	}
	return dst
}

// taps are the weights of source samples first, first+1, ... in one output sample.
type taps struct {
	first int
	w     []float32
}

// filterTaps returns the taps resampling n samples to m (see Resize). Output sample
// i is centred on source coordinate (i+0.5)·n/m - 0.5; beyond the source's ends
// samples count as 0 (paper), and the weights are normalized over the whole kernel.
func filterTaps(n, m int) []taps {
	scale := float64(n) / float64(m)
	kernel, support := catmullRom, 2.0
	if scale > 1 {
		kernel = func(x float64) float64 { return max(0, 1-math.Abs(x)/scale) }
		support = scale
	}
	ts := make([]taps, m)
	for i := range ts {
		c := (float64(i)+0.5)*scale - 0.5
		lo, hi := int(math.Floor(c-support))+1, int(math.Ceil(c+support))-1
		var sum float64
		for j := lo; j <= hi; j++ {
			sum += kernel(float64(j) - c)
		}
		t := taps{first: max(lo, 0)}
		for j := t.first; j <= min(hi, n-1); j++ {
			t.w = append(t.w, float32(kernel(float64(j)-c)/sum))
		}
		ts[i] = t
	}
	return ts
}

// catmullRom is the cubic convolution kernel with a = -0.5, support [-2, 2].
func catmullRom(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 1:
		return (1.5*x-2.5)*x*x + 1
	case x < 2:
		return ((-0.5*x+2.5)*x-4)*x + 2
	}
	return 0
}

// shrink returns m reduced by the integer factor k, each output pixel the mean of a
// k×k block; a partial block at the right or bottom edge counts its missing pixels
// as paper.
func (m *Mask) shrink(k int) *Mask {
	if k == 1 {
		return m.Clone()
	}
	d := NewMask((m.W+k-1)/k, (m.H+k-1)/k)
	for y := range m.H {
		row := m.Pix[y*m.W : (y+1)*m.W]
		out := d.Pix[(y/k)*d.W : (y/k+1)*d.W]
		for x, v := range row {
			out[x/k] += v
		}
	}
	inv := 1 / float32(k*k)
	for i := range d.Pix {
		d.Pix[i] *= inv
	}
	return d
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }
