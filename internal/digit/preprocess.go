package digit

import (
	"fmt"
	"image"
	"math"
)

// Tuning of Preprocess. Lengths in "blocks" refer to the background grid of
// step 3; "contrast" is ink darkness as a fraction of the paper's brightness,
// in 1/255ths.
const (
	// gridCells is the number of background blocks along the image's shorter
	// side; a block is at least one pixel.
	gridCells = 32
	// closeRadius is the radius, in blocks, of the closing that estimates the
	// paper. It removes dark features narrower than 2*closeRadius+1 blocks
	// (9/32, about 28% of the shorter side): every stroke of a digit, but
	// not a shadow, which is wide, nor a linear light gradient, which a
	// closing keeps.
	closeRadius = 4
	// paperQuantile picks a block's paper level among its pixel values: the
	// paper as long as ink covers less than a quarter of the block; the
	// closing fills in blocks with more.
	paperQuantile = 0.75
	// minPaper bounds the paper brightness the contrast is divided by, so
	// noise in a nearly black shadow is not amplified without bound.
	minPaper = 32
	// minContrast is the weakest ink accepted (6%); noiseSigmas is how far
	// above the paper's noise ink must be, in standard deviations.
	minContrast = 16
	noiseSigmas = 4
	// inkQuantile of the ink pixels' contrast maps to full ink (255).
	inkQuantile = 0.75
	// minExtentDiv: the largest ink component must span at least 1/50 of
	// the image's shorter side (and 3 pixels), or the image is blank.
	minExtentDiv = 50
	// A component is a speck, and dropped, when its area is below 1/20 of
	// the largest one's, unless it lies near the largest (within a quarter
	// of its size) and is at least 1/200 of it: a broken-off stroke.
	speckDiv, fragmentDiv = 20, 200
	// minStroke is the thinnest stroke, in output pixels, Preprocess
	// produces; thinner strokes are dilated to it before downscaling. The
	// width is measured as 2·area/perimeter·π/4 over the ink mask, which
	// gives 2.6 on average (mostly 1.5 to 3.5) for MNIST's own digits
	// thresholded at 128.
	minStroke = 2.2
)

// Preprocess turns img into the 28×28 grayscale input of an MNIST network:
// Size*Size bytes in row-major order, 0 for background and 255 for ink. It
// returns ErrEmpty for an image without pixels and ErrNoInk when nothing in
// the image looks like ink. img is not modified; the result is newly
// allocated. The time is linear in the number of pixels (about 10 ms for a
// 1600×1200 photo).
//
// The steps, each commented where it happens:
//
//  1. Grayscale: luma, alpha composited on white paper.
//  2. Polarity: decide whether the ink is darker than the paper, and if it
//     is not, invert, so the following steps always see dark ink.
//  3. Illumination: estimate the paper's brightness everywhere by a closing
//     (max then min filter) on a coarse grid of blocks, and measure ink as
//     contrast against it, which flattens gray paper, shadows and light
//     gradients.
//  4. Threshold: cut the paper's noise (Otsu's threshold, raised above the
//     noise level measured on the paper), keep the ink's intensities above
//     it (soft, so anti-aliased edges stay smooth), and drop specks.
//  5. Crop to the ink's bounding box.
//  6. Scale the longer side to 20 pixels with an anti-aliasing tent
//     filter, first thickening strokes too thin to survive that.
//  7. Centre: paste into 28×28 with the centre of mass at (14, 14).
//  8. Quantize to bytes; the caller applies its model's normalization.
func Preprocess(img image.Image) ([]uint8, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, fmt.Errorf("%w: bounds %v", ErrEmpty, b)
	}
	W, H := b.Dx(), b.Dy()

	// 1. Grayscale. A transparent pixel is paper: a drawing on a transparent
	// canvas is strokes on nothing, and white is what users see behind it.
	g := luma(img)

	// 2. Polarity. Statistics of s×s blocks serve this step and the next.
	s := max(1, min(W, H)/gridCells)
	st := blockStats(g, W, H, s)
	if !st.darkInk() {
		for i, v := range g {
			g[i] = 255 - v
		}
		st.invert()
	}

	// 3. Illumination. g becomes the ink contrast, in place.
	paper := closing(st.paper, st.nx, st.ny, closeRadius)
	h := contrast(g, W, H, s, paper, st.nx, st.ny)

	// 4. Threshold.
	t, full := h.threshold()
	runs, ids, comps := label(g, W, H, t)
	if len(comps) == 0 {
		return nil, fmt.Errorf("%w: no pixel darker than the paper by %d/255", ErrNoInk, t)
	}
	big := 0
	for i, c := range comps {
		if c.area > comps[big].area {
			big = i
		}
	}
	if ext, want := comps[big].extent(), max(3, min(W, H)/minExtentDiv); ext < want {
		return nil, fmt.Errorf("%w: largest mark spans %d pixels, want at least %d", ErrNoInk, ext, want)
	}
	keep := keepers(comps, big)
	kept := runs[:0:0]
	for i, r := range runs {
		if keep[ids[i]] {
			kept = append(kept, r)
		}
	}

	// 5. Crop. The box holds the kept runs' pixels, with their soft values:
	// contrast t maps to 0 and contrast full to 1.
	box := bounds(kept)
	cw, ch := box.Dx(), box.Dy()

	// 6. Scale. A stroke narrower than minStroke output pixels would fade
	// into gray or vanish when shrunk, as a pen line in a large photo does:
	// dilate it first by r pixels so its width w+2r, scaled by
	// Box/(L+2r), reaches minStroke (L is the longer side of the box).
	L := max(cw, ch)
	w := strokeWidth(kept)
	r := 0
	if w*Box/float64(L) < minStroke {
		f := minStroke / Box
		r = int(math.Ceil((f*float64(L) - w) / (2 * (1 - f))))
	}
	cw, ch = cw+2*r, ch+2*r
	crop := make([]float32, cw*ch)
	scale := 1 / float32(full-t)
	for _, run := range kept {
		row := crop[(int(run.y)-box.Min.Y+r)*cw:]
		for x := run.x0; x < run.x1; x++ {
			v := float32(g[int(run.y)*W+int(x)]-t) * scale
			row[int(x)-box.Min.X+r] = min(v, 1)
		}
	}
	if r > 0 {
		dilate(crop, cw, ch, r)
	}
	L = max(cw, ch)
	dw := max(1, (cw*Box+L/2)/L)
	dh := max(1, (ch*Box+L/2)/L)
	small := resize(crop, cw, ch, dw, dh)

	// 7. Centre. Shift by whole pixels, as MNIST did, keeping the digit
	// inside the frame. Stretch the intensities so the strongest is full ink:
	// a faint pencil digit comes out as bright as a marker one.
	var sum, sx, sy, peak float64
	for y := range dh {
		for x := range dw {
			v := float64(small[y*dw+x])
			sum += v
			sx += v * float64(x)
			sy += v * float64(y)
			peak = max(peak, v)
		}
	}
	if sum == 0 {
		return nil, fmt.Errorf("%w: ink vanished when scaled", ErrNoInk) // not expected: r keeps strokes
	}
	ox := min(max(int(math.Round(Size/2-sx/sum)), 0), Size-dw)
	oy := min(max(int(math.Round(Size/2-sy/sum)), 0), Size-dh)

	// 8. Quantize.
	out := make([]uint8, Size*Size)
	k := 255 / peak
	for y := range dh {
		for x := range dw {
			out[(oy+y)*Size+ox+x] = uint8(min(float64(small[y*dw+x])*k+0.5, 255))
		}
	}
	return out, nil
}

// blocks holds per-block statistics of a grayscale image divided into s×s
// blocks, nx×ny of them in row-major order (the last row and column may be
// partial).
type blocks struct {
	s, nx, ny int
	// lo and hi are each block's 2nd and 98th percentile: its darkest and
	// brightest values, noise aside.
	lo, hi []uint8
	// paper is each block's paperQuantile and paperInv its
	// (1-paperQuantile) quantile, the paper level after inversion.
	paper, paperInv []uint8
	// border is the median of a frame along the image's edges.
	border uint8
}

func blockStats(g []uint8, W, H, s int) *blocks {
	nx, ny := (W+s-1)/s, (H+s-1)/s
	st := &blocks{s: s, nx: nx, ny: ny,
		lo: make([]uint8, nx*ny), hi: make([]uint8, nx*ny),
		paper: make([]uint8, nx*ny), paperInv: make([]uint8, nx*ny)}
	hist := make([][256]int32, nx)
	for by := range ny {
		clear(hist)
		y1 := min((by+1)*s, H)
		for y := by * s; y < y1; y++ {
			row := g[y*W : (y+1)*W]
			for bx := range hist {
				h := &hist[bx]
				for _, v := range row[bx*s : min((bx+1)*s, W)] {
					h[v]++
				}
			}
		}
		for bx := range hist {
			h := &hist[bx]
			n := (min((bx+1)*s, W) - bx*s) * (y1 - by*s)
			i := by*nx + bx
			st.lo[i] = uint8(quantile(h[:], n, 0.02))
			st.hi[i] = uint8(quantile(h[:], n, 0.98))
			st.paper[i] = uint8(quantile(h[:], n, paperQuantile))
			st.paperInv[i] = uint8(quantile(h[:], n, 1-paperQuantile))
		}
	}

	f := max(1, min(W, H)/64)
	var border [256]int32
	n := 0
	for y := range H {
		row := g[y*W : (y+1)*W]
		if y < f || y >= H-f {
			for _, v := range row {
				border[v]++
			}
			n += W
			continue
		}
		for x := range min(f, W) {
			border[row[x]]++
			border[row[W-1-x]]++
			n += 2
		}
	}
	st.border = uint8(quantile(border[:], n, 0.5))
	return st
}

// darkInk reports whether the ink is darker than the paper. The paper is what
// the border shows (its median); the ink is whichever extreme lies farther
// from it: the darkest block percentile below or the brightest above. Noise
// reaches about as far in both directions, so it cancels, and a few ink pixels
// suffice even when they cover 0.02% of the image. A tie means dark ink, by
// far the common case.
func (st *blocks) darkInk() bool {
	lo, hi := 255, 0
	for i := range st.lo {
		lo = min(lo, int(st.lo[i]))
		hi = max(hi, int(st.hi[i]))
	}
	m := int(st.border)
	return m-lo >= hi-m
}

// invert turns the statistics into those of the inverted image.
func (st *blocks) invert() {
	for i := range st.lo {
		st.lo[i], st.hi[i] = 255-st.hi[i], 255-st.lo[i]
		st.paper[i], st.paperInv[i] = 255-st.paperInv[i], 255-st.paper[i]
	}
	st.border = 255 - st.border
}

// quantile returns the smallest value v such that more than q·(n-1) of the n
// values counted in hist are at most v.
func quantile(hist []int32, n int, q float64) int {
	k := int(q * float64(n-1))
	c := 0
	for v, m := range hist {
		c += int(m)
		if c > k {
			return v
		}
	}
	return len(hist) - 1
}

// closing returns the morphological closing of the nx×ny grid v with a square
// of side 2r+1: a max filter (dilation) then a min filter (erosion), each
// separable. It fills in dark features narrower than the square and keeps
// everything else, linear ramps included.
func closing(v []uint8, nx, ny, r int) []float32 {
	a := make([]float32, len(v))
	for i, x := range v {
		a[i] = float32(x)
	}
	tmp := make([]float32, len(v))
	filter := func(dst, src []float32, stride, n, step, count int, better func(a, b float32) bool) {
		// For each of count lines of n values spaced step apart, starting
		// stride apart: dst = extreme of src within ±r along the line.
		for l := range count {
			base := l * stride
			for i := range n {
				best := src[base+i*step]
				for j := max(0, i-r); j <= min(n-1, i+r); j++ {
					if x := src[base+j*step]; better(x, best) {
						best = x
					}
				}
				dst[base+i*step] = best
			}
		}
	}
	bigger := func(a, b float32) bool { return a > b }
	smaller := func(a, b float32) bool { return a < b }
	filter(tmp, a, nx, nx, 1, ny, bigger)  // rows
	filter(a, tmp, 1, ny, nx, nx, bigger)  // columns
	filter(tmp, a, nx, nx, 1, ny, smaller) // rows
	filter(a, tmp, 1, ny, nx, nx, smaller) // columns
	return a
}

// contrastHist holds histograms of the ink contrast computed by contrast.
type contrastHist struct {
	// signed[d+255] counts pixels of contrast d in -255..255 (negative:
	// brighter than the estimated paper).
	signed [511]int32
	// ink counts pixels of contrast clamped to 0..255.
	ink [256]int32
	n   int
}

// contrast replaces each pixel v of the W×H grayscale image g by its ink
// contrast 255·(p-v)/p, clamped to 0..255, where p is the paper brightness at
// that pixel: the s×s block grid paper (values at block centres) interpolated
// bilinearly. Dividing by p, rather than only subtracting, makes ink in a
// shadow as strong as ink in the light, since both reflect the same fraction
// of the light that reaches them.
func contrast(g []uint8, W, H, s int, paper []float32, nx, ny int) *contrastHist {
	// Pixel centre x+0.5 lies at grid coordinate (x+0.5)/s - 0.5.
	type lerp struct {
		i0, i1 int
		w      float32
	}
	at := func(x, n int) lerp {
		f := (float64(x)+0.5)/float64(s) - 0.5
		i0 := min(max(int(math.Floor(f)), 0), n-1)
		return lerp{i0, min(i0+1, n-1), float32(min(max(f-float64(i0), 0), 1))}
	}
	xs := make([]lerp, W)
	for x := range xs {
		xs[x] = at(x, nx)
	}
	h := &contrastHist{n: W * H}
	prow := make([]float32, nx)
	for y := range H {
		ly := at(y, ny)
		r0, r1 := paper[ly.i0*nx:], paper[ly.i1*nx:]
		for j := range prow {
			prow[j] = r0[j] + ly.w*(r1[j]-r0[j])
		}
		row := g[y*W : (y+1)*W]
		for x, v := range row {
			lx := xs[x]
			p := prow[lx.i0] + lx.w*(prow[lx.i1]-prow[lx.i0])
			d := int(math.Round(float64(255 * (p - float32(v)) / max(p, minPaper))))
			d = min(max(d, -255), 255)
			h.signed[d+255]++
			d = max(d, 0)
			h.ink[d]++
			row[x] = uint8(d)
		}
	}
	return h
}

// threshold returns the contrast t above which a pixel is ink and the contrast
// full that counts as full ink (full > t).
//
// Otsu's threshold splits the contrast histogram where the two classes are
// best separated. When ink covers a tiny part of the image (a small digit in a
// large photo) Otsu splits the paper's noise instead, so t is raised to
// noiseSigmas standard deviations above the paper's level, both measured
// robustly (median and median absolute deviation) on the signed contrast,
// which the paper dominates, and at least to minContrast.
func (h *contrastHist) threshold() (t, full uint8) {
	med := quantile(h.signed[:], h.n, 0.5) - 255
	var dev [511]int32
	for i, m := range h.signed {
		d := i - 255 - med
		dev[max(d, -d)] += m
	}
	sigma := 1.4826 * float64(quantile(dev[:], h.n, 0.5))
	noise := float64(med) + noiseSigmas*sigma
	tf := max(float64(otsu(h.ink[:], h.n)), math.Ceil(noise), minContrast)
	if tf >= 254 {
		tf = 254
	}
	t = uint8(tf)
	var n int
	for _, m := range h.ink[t+1:] {
		n += int(m)
	}
	full = t + 1
	if n > 0 {
		full = t + 1 + uint8(quantile(h.ink[t+1:], n, inkQuantile))
	}
	return t, max(full, t+1)
}

// otsu returns the threshold t maximizing the between-class variance of the
// values ≤ t and > t counted in hist (n in all).
func otsu(hist []int32, n int) int {
	var total float64
	for v, m := range hist {
		total += float64(v) * float64(m)
	}
	var n0, sum0, best float64
	t := 0
	for v, m := range hist[:len(hist)-1] {
		n0 += float64(m)
		sum0 += float64(v) * float64(m)
		n1 := float64(n) - n0
		if n0 == 0 || n1 == 0 {
			continue
		}
		d := sum0/n0 - (total-sum0)/n1
		if between := n0 * n1 * d * d; between > best {
			best, t = between, v
		}
	}
	return t
}

// keepers reports for each component whether it is part of the digit rather
// than a speck, given the index of the largest.
func keepers(comps []component, big int) []bool {
	b := comps[big]
	m := b.extent() / 4
	near := image.Rect(b.x0-m, b.y0-m, b.x1+m, b.y1+m)
	keep := make([]bool, len(comps))
	for i, c := range comps {
		keep[i] = c.area*speckDiv >= b.area ||
			c.area*fragmentDiv >= b.area && near.Overlaps(image.Rect(c.x0, c.y0, c.x1, c.y1))
	}
	return keep
}

// strokeWidth estimates the stroke width of the ink in runs (sorted by row,
// then column) as 2·area/perimeter, exact for a long straight stroke, times
// π/4 to undo the average overcount of a perimeter measured along pixel
// edges for strokes in all directions.
func strokeWidth(runs []run) float64 {
	area, perim := 0, 2*len(runs) // each run has a left and a right edge
	// Vertical edges between rows y-1 and y: pixels in one row and not the
	// other, |A|+|B|-2|A∩B|. prev and cur are the runs of rows y-1 and y.
	var prev []run
	rowArea := func(rs []run) (a int) {
		for _, r := range rs {
			a += int(r.x1 - r.x0)
		}
		return a
	}
	overlap := func(a, b []run) (o int) {
		for i, j := 0, 0; i < len(a) && j < len(b); {
			o += max(0, int(min(a[i].x1, b[j].x1)-max(a[i].x0, b[j].x0)))
			if a[i].x1 < b[j].x1 {
				i++
			} else {
				j++
			}
		}
		return o
	}
	for i := 0; i < len(runs); {
		j := i
		for j < len(runs) && runs[j].y == runs[i].y {
			j++
		}
		cur := runs[i:j]
		ca := rowArea(cur)
		area += ca
		if len(prev) > 0 && prev[0].y == cur[0].y-1 {
			perim += rowArea(prev) + ca - 2*overlap(prev, cur)
		} else {
			perim += rowArea(prev) + ca
		}
		prev = cur
		i = j
	}
	perim += rowArea(prev)
	return 2 * float64(area) / float64(perim) * math.Pi / 4
}

// bounds returns the bounding box of the pixels in runs.
func bounds(runs []run) image.Rectangle {
	// Not image.Rect, which would swap the corners.
	r := image.Rectangle{Min: image.Pt(math.MaxInt, math.MaxInt), Max: image.Pt(math.MinInt, math.MinInt)}
	for _, u := range runs {
		r.Min.X = min(r.Min.X, int(u.x0))
		r.Max.X = max(r.Max.X, int(u.x1))
		r.Min.Y = min(r.Min.Y, int(u.y))
		r.Max.Y = max(r.Max.Y, int(u.y)+1)
	}
	return r
}
