package synth

import (
	"image"
	"math"
	"slices"
)

// Thicken returns m with every stroke grown by d pixels on each side, or thinned
// when d < 0: a morphological dilation (erosion) by a disc of radius |d|. It is
// computed from the Euclidean distance of every pixel to the ink's edge, so it
// costs the same for any d and the disc is round, not a square's corners. The
// result is m's size plus room for the grown ink; its edges are anti-aliased over
// one pixel. Thinning by more than half a stroke's width erases the stroke.
func (m *Mask) Thicken(d float64) *Mask {
	if d == 0 {
		return m.Clone()
	}
	pad := max(0, int(math.Ceil(d))+1)
	src := m.Crop(image.Rect(-pad, -pad, m.W+pad, m.H+pad))
	sd := signedDistance(src)
	for i, s := range sd {
		// The edge sits at sd = 0; moving it out by d covers pixels with sd < d,
		// ramping over the pixel the edge crosses.
		src.Pix[i] = clamp01(float32(d - s + 0.5))
	}
	return src
}

// Dilate grows m's strokes by r pixels on each side (Thicken(r)).
func (m *Mask) Dilate(r float64) *Mask { return m.Thicken(math.Abs(r)) }

// Erode thins m's strokes by r pixels on each side (Thicken(-r)).
func (m *Mask) Erode(r float64) *Mask { return m.Thicken(-math.Abs(r)) }

// ThinWidth estimates the width in pixels of m's thinnest strokes: the 10th
// percentile of the width along the strokes' middle lines (pixels of ink, coverage
// ≥ 0.5, at least as far from the paper as their four neighbours, where the width
// is twice that distance less one pixel). StrokeWidth is an average; thinning by
// it would erase the hairlines of a font whose strokes vary (a "4" whose bar is
// half as thick as its stems). It returns 0 for a mask without ink.
func (m *Mask) ThinWidth() float64 {
	// Pixels outside the mask are paper too: pad by one.
	p := m.Crop(image.Rect(-1, -1, m.W+1, m.H+1))
	paper := make([]bool, len(p.Pix))
	for i, v := range p.Pix {
		paper[i] = v < 0.5
	}
	d2 := squaredDistance(paper, p.W, p.H)
	var widths []float64
	for y := 1; y < p.H-1; y++ {
		for x := 1; x < p.W-1; x++ {
			i := y*p.W + x
			if paper[i] || d2[i] < d2[i-1] || d2[i] < d2[i+1] || d2[i] < d2[i-p.W] || d2[i] < d2[i+p.W] {
				continue
			}
			widths = append(widths, 2*math.Sqrt(d2[i])-1)
		}
	}
	if len(widths) == 0 {
		return 0
	}
	slices.Sort(widths)
	return widths[len(widths)/10]
}

// signedDistance returns, for every pixel of m, its distance to the edge of the
// ink (coverage ≥ 0.5): positive on paper, negative in ink. Distances are measured
// between pixel centres, and the edge is taken half a pixel beyond the last ink
// pixel's centre.
func signedDistance(m *Mask) []float64 {
	inkPix := make([]bool, len(m.Pix))
	paper := make([]bool, len(m.Pix))
	for i, v := range m.Pix {
		inkPix[i] = v >= 0.5
		paper[i] = !inkPix[i]
	}
	toInk := squaredDistance(inkPix, m.W, m.H)
	toPaper := squaredDistance(paper, m.W, m.H)
	sd := make([]float64, len(m.Pix))
	for i := range sd {
		if inkPix[i] {
			sd[i] = 0.5 - math.Sqrt(toPaper[i])
		} else {
			sd[i] = math.Sqrt(toInk[i]) - 0.5
		}
	}
	return sd
}

// squaredDistance returns, for each pixel of the w×h grid, the squared Euclidean
// distance to the nearest pixel where feature is true (+Inf when there is none):
// Felzenszwalb and Huttenlocher's exact transform, a 1-D pass along the rows and
// then along the columns, each the lower envelope of parabolas, O(w·h).
func squaredDistance(feature []bool, w, h int) []float64 {
	f := make([]float64, len(feature))
	for i, on := range feature {
		if !on {
			f[i] = math.Inf(1)
		}
	}
	n := max(w, h)
	line, out := make([]float64, n), make([]float64, n)
	v, z := make([]int, n), make([]float64, n+1)
	for y := range h {
		copy(line, f[y*w:(y+1)*w])
		distance1D(line[:w], out[:w], v, z)
		copy(f[y*w:(y+1)*w], out[:w])
	}
	for x := range w {
		for y := range h {
			line[y] = f[y*w+x]
		}
		distance1D(line[:h], out[:h], v, z)
		for y := range h {
			f[y*w+x] = out[y]
		}
	}
	return f
}

// distance1D writes d[q] = min over p of (q-p)² + f[p]. v and z are scratch space
// of len(f) and len(f)+1: the parabolas of the lower envelope and the boundaries
// between them.
func distance1D(f, d []float64, v []int, z []float64) {
	k := -1
	for q := range f {
		if math.IsInf(f[q], 1) {
			continue
		}
		fq := f[q] + float64(q*q)
		for k >= 0 {
			p := v[k]
			s := (fq - (f[p] + float64(p*p))) / float64(2*(q-p))
			if s > z[k] {
				k++
				v[k], z[k] = q, s
				break
			}
			k--
		}
		if k < 0 {
			k = 0
			v[0], z[0] = q, math.Inf(-1)
		}
		z[k+1] = math.Inf(1)
	}
	if k < 0 { // no feature on this line
		for q := range d {
			d[q] = math.Inf(1)
		}
		return
	}
	j := 0
	for q := range d {
		for z[j+1] < float64(q) {
			j++
		}
		dq := float64(q - v[j])
		d[q] = dq*dq + f[v[j]]
	}
}

// Blur returns m convolved with a Gaussian of standard deviation sigma pixels,
// paper beyond the edges. sigma ≤ 0 returns a copy.
func (m *Mask) Blur(sigma float64) *Mask { return m.blur(sigma, false) }

// blur is Blur; with clampEdges the image is taken to continue beyond its edges
// with its edge values (for a picture's colour planes, which are not 0 outside).
func (m *Mask) blur(sigma float64, clampEdges bool) *Mask {
	if sigma <= 0 {
		return m.Clone()
	}
	k := gaussKernel(sigma)
	return m.convolveRows(k, clampEdges).transpose().convolveRows(k, clampEdges).transpose()
}

// convolveRows convolves every row with the odd-length kernel k, centred.
func (m *Mask) convolveRows(k []float32, clampEdges bool) *Mask {
	r := len(k) / 2
	dst := NewMask(m.W, m.H)
	for y := range m.H {
		in, out := m.Pix[y*m.W:(y+1)*m.W], dst.Pix[y*m.W:(y+1)*m.W]
		for x := range out {
			var s float32
			for i, w := range k {
				xi := x + i - r
				if clampEdges {
					xi = min(max(xi, 0), m.W-1)
				} else if xi < 0 || xi >= m.W {
					continue
				}
				s += w * in[xi]
			}
			out[x] = s
		}
	}
	return dst
}

func (m *Mask) transpose() *Mask {
	t := NewMask(m.H, m.W)
	for y := range m.H {
		for x := range m.W {
			t.Pix[x*m.H+y] = m.Pix[y*m.W+x]
		}
	}
	return t
}

// gaussKernel returns the normalized Gaussian weights for offsets -r..r, r = ⌈3σ⌉.
func gaussKernel(sigma float64) []float32 {
	r := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*r+1)
	var sum float64
	for i := range k {
		x := float64(i - r)
		sum += math.Exp(-x * x / (2 * sigma * sigma))
	}
	for i := range k {
		x := float64(i - r)
		k[i] = float32(math.Exp(-x*x/(2*sigma*sigma)) / sum)
	}
	return k
}
