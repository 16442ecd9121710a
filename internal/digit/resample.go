package digit

import "math"

// resize scales the sw×sh image src to dw×dh with a separable tent
// (triangle) filter. The tent's half-width is the scale factor when
// shrinking, so every source pixel contributes (area averaging, smoothed) and
// a 50× reduction does not alias; when growing it is one source pixel, linear
// interpolation. Beyond src's edges the image is taken to be 0 (no ink).
// Bytes are read as 0..255 → 0..1.
func resize[T uint8 | float32](src []T, sw, sh, dw, dh int) []float32 {
	k := float32(1)
	if _, ok := any(src[0]).(uint8); ok {
		k = 1.0 / 255
	}
	xt, yt := tent(sw, dw), tent(sh, dh)
	tmp := make([]float32, sh*dw) // rows resized
	for y := range sh {
		in, out := src[y*sw:(y+1)*sw], tmp[y*dw:(y+1)*dw]
		for x, t := range xt {
			var v float32
			for i, w := range t.w {
				v += w * float32(in[t.first+i])
			}
			out[x] = v * k
		}
	}
	dst := make([]float32, dh*dw)
	for y, t := range yt {
		out := dst[y*dw : (y+1)*dw]
		for i, w := range t.w {
			in := tmp[(t.first+i)*dw : (t.first+i+1)*dw]
			for x := range out {
				out[x] += w * in[x]
			}
		}
	}
	return dst
}

// taps are the weights of source samples first, first+1, ... in one output
// sample.
type taps struct {
	first int
	w     []float32
}

// tent returns the taps resampling n source samples to m with a tent filter
// (see resize). Output sample i is centred on source coordinate
// (i+0.5)·n/m - 0.5; weights are normalized over the whole tent, so the part
// beyond the source's ends counts as 0.
func tent(n, m int) []taps {
	scale := float64(n) / float64(m)
	half := max(1, scale)
	ts := make([]taps, m)
	for i := range ts {
		c := (float64(i)+0.5)*scale - 0.5
		lo := int(math.Floor(c-half)) + 1
		hi := int(math.Ceil(c+half)) - 1
		var sum float64
		for j := lo; j <= hi; j++ {
			sum += max(0, 1-math.Abs(float64(j)-c)/half)
		}
		t := taps{first: max(lo, 0)}
		for j := t.first; j <= min(hi, n-1); j++ {
			t.w = append(t.w, float32(max(0, 1-math.Abs(float64(j)-c)/half)/sum))
		}
		ts[i] = t
	}
	return ts
}

// dilate replaces each pixel of the w×h image a (values ≥ 0) by the maximum
// over the (2r+1)×(2r+1) square around it, outside a counting as 0. Each
// direction takes O(w·h) time whatever r (van Herk / Gil-Werman).
func dilate(a []float32, w, h, r int) {
	n := max(w, h)
	line := make([]float32, n)
	out := make([]float32, n)
	pre := make([]float32, n+2*r)
	suf := make([]float32, n+2*r)
	for y := range h {
		row := a[y*w : (y+1)*w]
		maxFilter(out[:w], row, r, pre, suf)
		copy(row, out[:w])
	}
	for x := range w {
		for y := range h {
			line[y] = a[y*w+x]
		}
		maxFilter(out[:h], line[:h], r, pre, suf)
		for y := range h {
			a[y*w+x] = out[y]
		}
	}
}

// maxFilter sets dst[i] to the maximum of src[i-r..i+r], values outside src
// being 0. It pads src with r zeros on each side, cuts the padded line p into
// blocks of k = 2r+1 and computes pre[j], the maximum of p from the start of
// j's block to j, and suf[j], from j to the end of its block; the window
// p[i..i+2r] spans at most two blocks, so its maximum is max(suf[i], pre[i+2r]).
// pre and suf hold at least len(src)+2r values.
func maxFilter(dst, src []float32, r int, pre, suf []float32) {
	n := len(src)
	k, m := 2*r+1, n+2*r
	p := func(j int) float32 {
		if j < r || j >= n+r {
			return 0
		}
		return src[j-r]
	}
	for j := range m {
		v := p(j)
		if j%k != 0 {
			v = max(v, pre[j-1])
		}
		pre[j] = v
	}
	for j := m - 1; j >= 0; j-- {
		v := p(j)
		if j != m-1 && (j+1)%k != 0 {
			v = max(v, suf[j+1])
		}
		suf[j] = v
	}
	for i := range n {
		dst[i] = max(suf[i], pre[i+2*r])
	}
}
