package digit

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/bits"
	"slices"
)

// Tuning of Preprocess. Lengths in "blocks" refer to the background grid of
// step 3; "contrast" is ink darkness as a fraction of the paper's brightness,
// in 1/255ths.
const (
	// gridCells is the number of background blocks along the image's longer
	// side; a block is at least one pixel.
	gridCells = 32
	// closeRadius is the radius, in blocks, of the closing that estimates the
	// paper. It removes dark features narrower than 2*closeRadius+1 blocks
	// (9/32, about 28% of the longer side): every stroke of a digit, even of
	// a thick "1" cropped tightly, but not a broad shadow nor a linear light
	// gradient, which a closing keeps.
	closeRadius = 4
	// paperQuantile picks a block's paper level among its pixel values: the
	// paper as long as ink covers less than a quarter of the block; the
	// closing fills in blocks with more.
	paperQuantile = 0.75
	// minPaper bounds the paper brightness the contrast is divided by, so
	// noise in a nearly black shadow is not amplified without bound.
	minPaper = 32
	// minContrast is the weakest ink accepted (6%); noiseSigmas is how far
	// above the paper's noise ink must be, in standard deviations (a pixel
	// of Gaussian noise passes with probability 3e-5).
	minContrast = 16
	noiseSigmas = 4
	// minInkContrast (31%): ink whose strong pixels (inkQuantile) stand out from the
	// paper by less than this is no ink at all but the paper's texture, a shadow's
	// edge or a faint printed line; pens and pencils reach above it. Chosen on
	// synthetic blank and ruled pages (tools/heldout -seed 2, not the held-out seed):
	// 99 % and 98 % of them withheld at 80, 92 % and 64 % at 48.
	minInkContrast = 80
	// inkQuantile of the ink pixels' contrast maps to full ink (255).
	inkQuantile = 0.75
	// maxRunsDiv bounds the memory spent on marks, a run of ink pixels in
	// a row taking 20 bytes: at most one run for 16 pixels (or 65536 runs).
	// A digit has a few runs a row; only texture or dithering has more.
	maxRunsDiv = 16
	// minExtentDiv: a mark counts when it spans at least 1/50 of the
	// image's shorter side (and 3 pixels); an image without one is blank.
	minExtentDiv = 50
	// A component is a speck, and dropped, when its area is below 1/20 of
	// the largest one's, unless it lies near the largest (within a quarter
	// of its size) and is at least 1/200 of it: a broken-off stroke.
	speckDiv, fragmentDiv = 20, 200
	// workSize bounds the longer side of the crop Preprocess thickens
	// strokes in: 6.4 times the output's, so no detail is lost.
	workSize = 128
	// minStroke is the thinnest stroke, in output pixels, Preprocess
	// produces; thinner strokes are dilated to it before downscaling. The
	// width is measured as 2·area/perimeter·π/4 over the ink mask, which
	// gives 2.6 on average (mostly 1.5 to 3.5) for MNIST's own digits
	// thresholded at 128.
	minStroke = 2.2
	// partGap: ink columns closer than this share of the ink's height belong to one
	// digit (parts).
	partGap = 0.08
	// tightBlocks: ink closer than this many blocks to two opposite edges makes Analyze
	// look again with paper around it (within reach of the closing, closeRadius, less
	// a margin); padReach: how far, in blocks, padded looks for the paper near an edge:
	// past the widest stroke the closing keeps as ink (2·closeRadius+1 blocks).
	tightBlocks, padReach = 3, 2*closeRadius + 2
	// strongInk (63 %): a second look that finds ink where the first found none is
	// believed when its ink stands out at least this much (a pen or marker on paper;
	// a tightly cropped pencil digit stays unread). Chosen on synthetic blank, ruled
	// and noise pages (tools/heldout -sets nondigits -seed 2, not the held-out seed).
	strongInk = 160
	// smallSide: a picture no longer than this is always looked at twice (Analyze). At
	// 32×32 or less a background block is one pixel, and a scan's fat strokes (a third
	// of the picture wide) are taken for paper even with paper around the digit.
	smallSide = 64
	// minFitSide: a crop shorter than this is first enlarged, each pixel to a k×k
	// square, to at least this size: a 16×16 scan then shrinks into the 20-pixel box
	// averaging whole pixels, as its enlarged copy would, where resampling it directly
	// gave hard, blocky strokes (Semeion's bitmaps at their own size read 89 % right
	// against 94 % enlarged).
	minFitSide = 64
	// maxPadded: a second look's padded image may have this many pixels (16 MB) or
	// four times the image's, whichever is more (2.25 times for a square image).
	maxPadded = 1 << 24
)

// Preprocess turns img into the 28×28 grayscale input of an MNIST network:
// Size*Size bytes in row-major order, 0 for background and 255 for ink. It
// returns ErrEmpty for an image without pixels and ErrNoInk when nothing in
// the image looks like ink. img is not modified; the result is newly
// allocated. The time is linear in the number of pixels (about 14 ms for a
// 1600×1200 photo of a digit on one core; a second look, see Analyze, costs
// about three times more: a digit cropped to its ink, or no ink found on paper
// that is not uniform).
//
// The steps, each commented where it happens:
//
//  1. Grayscale: luma, alpha composited on white paper.
//  2. Polarity: decide whether the ink is darker than the paper, and if it
//     is not, invert, so the following steps always see dark ink.
//  3. Illumination: estimate the paper's brightness everywhere by a closing
//     (max then min filter) on a coarse grid of blocks, and measure ink as
//     contrast against it, which flattens gray paper, shadows and light
//     gradients; what does not stand out from the paper's noise is paper.
//  4. Threshold: Otsu's threshold on the contrast (at least minContrast);
//     keep the ink's intensities above it, soft, so anti-aliased edges stay
//     smooth; drop specks and marks along the image's edges.
//  5. Crop to the ink's bounding box.
//  6. Scale the longer side to 20 pixels with an anti-aliasing tent
//     filter, first thickening strokes too thin to survive that.
//  7. Centre: paste into 28×28 with the centre of mass at (14, 14).
//  8. Quantize to bytes; the caller applies its model's normalization.
//
// A digit cropped tightly, its ink at two opposite edges, is looked at again with
// paper around it (see Analyze).
//
// Known limits: a sharp-edged cast shadow crossing the digit leaves a line
// of false ink along its edge (soft shadows are fine); strokes wider than
// about a quarter of the image's longer side are taken for background; ink
// touching the image's edge is dropped when the digit is elsewhere; a pencil
// digit cropped so tightly that no ink is found at first stays unread.
func Preprocess(img image.Image) ([]uint8, error) {
	r, err := Analyze(img)
	return r.Pixels, err
}

// Result is what Analyze makes of an image: the network's input and what was seen on
// the way to it.
type Result struct {
	Pixels []uint8         // the 28×28 input, as Preprocess returns it
	Box    image.Rectangle // the ink's bounding box, in the image's coordinates
	// Parts counts the groups of ink side by side with a gap between them, each at
	// least half as tall as the ink: two or more mean several digits, most likely.
	Parts int
}

// Analyze is Preprocess, also returning where the ink is and how many digits it
// looks like.
//
// A digit cropped tightly, its ink reaching two opposite edges (or, found nowhere, it
// may), is looked at again with a border of its paper around it (padded): the paper
// estimate of step 3 sees paper on one side only of a stroke
// along the edge, and takes a stroke wider than closeRadius blocks there for paper —
// a fat digit cut out of a form or a scanned set's box (ink filling it, as in USPS or
// UCI optdigits) lost its edges or all its ink. So is every small picture (smallSide).
// The second look is kept when it finds ink.
func Analyze(img image.Image) (Result, error) {
	r, _, reach, err := analyze(img)
	b := img.Bounds()
	again := tight(r, err, b)
	// A small picture is looked at again whatever the first look found (smallSide).
	onlySmall := !again && err == nil && max(b.Dx(), b.Dy()) <= smallSide
	// A page whose levels lie too close together for strong ink (a blank one) is not
	// looked at again: the paper added is the image's own levels.
	if !again && !onlySmall || err != nil && reach < strongInk {
		return r, err
	}
	p, pad, ok := padded(img)
	if !ok {
		return r, err
	}
	r2, full, _, err2 := analyze(p)
	// Where the first look found no ink at all, only ink as strong as a pen's on paper
	// is believed: a blank, shaded or noisy page with paper added around it can show
	// faint marks of its own (textures, shading at its edges).
	if err2 != nil || err != nil && full < strongInk {
		return r, err
	}
	r2.Box = r2.Box.Sub(image.Pt(pad, pad)).Add(b.Min).Intersect(b)
	// Looked at again only for its size, a picture keeps its first reading when the
	// second takes in what the first left out as not the digit: a frame, an underline
	// or a neighbour's stroke along the edges (ink reaching three more edges), or a
	// second group of ink beside the digit.
	if onlySmall && (r2.Parts > r.Parts || bits.OnesCount(edges(r2.Box, b)&^edges(r.Box, b)) >= 3 && 8*area(r.Box) >= area(b)) {
		return r, nil
	}
	return r2, nil
}

// edges returns the sides of b that box reaches, within edgeSlack pixels, one bit each
// (left, top, right, bottom).
func edges(box, b image.Rectangle) uint {
	const edgeSlack = 2
	var m uint
	for i, near := range []bool{box.Min.X-b.Min.X <= edgeSlack, box.Min.Y-b.Min.Y <= edgeSlack,
		b.Max.X-box.Max.X <= edgeSlack, b.Max.Y-box.Max.Y <= edgeSlack} {
		if near {
			m |= 1 << i
		}
	}
	return m
}

// tight reports whether Analyze's first look at an image with bounds b, r or err,
// calls for a second with paper around it: no ink found, or ink from edge to edge.
// (Analyze also looks again at every small picture.)
func tight(r Result, err error, b image.Rectangle) bool {
	if errors.Is(err, ErrNoInk) {
		return true
	}
	if err != nil {
		return false
	}
	m := tightBlocks * blockSize(b.Dx(), b.Dy()) // near enough to an edge to suffer
	return r.Box.Min.X < b.Min.X+m && r.Box.Max.X > b.Max.X-m || r.Box.Min.Y < b.Min.Y+m && r.Box.Max.Y > b.Max.Y-m
}

// padded returns img's grayscale with a border of paper a quarter of its longer side
// wide, and that width; ok is false, and nothing is made, when that image would
// exceed both maxPadded pixels and four times img's (a long thin strip, 1×16000,
// would grow to 8001×24000: its second look is not worth the memory). The border
// continues each edge pixel outwards with the paper nearest it: the brightest block paper level (step 3's paperQuantile) within
// padReach blocks of it inside the image when the ink is dark, the darkest when it
// is light (dark ink: the edges' median lies on the bright half of the image's
// range). Along a stroke that runs on the edge that is the paper beside or below
// it; along paper, shaded or lit unevenly, it is about the paper there, so a blank
// page gets no new contrast at its edges.
func padded(img image.Image) (_ *image.Gray, pad int, ok bool) {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	pad = (max(W, H) + 3) / 4
	if n := int64(W+2*pad) * int64(H+2*pad); n > maxPadded && n > 4*int64(W)*int64(H) {
		return nil, 0, false
	}
	g := luma(img)
	s := blockSize(W, H)
	st := blockStats(g, W, H, s)
	// The paper is what the image's edges mostly show: a digit cut out tightly
	// crosses its edges a few times only, while its ink can cover more than half
	// the image, which fools the median darkInk goes by.
	var border, all [256]int32
	for x := range W {
		border[g[x]]++
		border[g[(H-1)*W+x]]++
	}
	for y := range H {
		border[g[y*W]]++
		border[g[y*W+W-1]]++
	}
	for _, v := range g {
		all[v]++
	}
	lo, hi := quantile(all[:], W*H, 0.02), quantile(all[:], W*H, 0.98)
	dark := 2*quantile(border[:], 2*(W+H), 0.5) >= lo+hi
	levels := st.paper
	if !dark {
		levels = st.paperInv
	}
	// near is the paper's extreme over the blocks within padReach of block (bx, by).
	near := func(bx, by int) uint8 {
		best := levels[by*st.nx+bx]
		for y := max(0, by-padReach); y <= min(st.ny-1, by+padReach); y++ {
			for x := max(0, bx-padReach); x <= min(st.nx-1, bx+padReach); x++ {
				if v := levels[y*st.nx+x]; dark && v > best || !dark && v < best {
					best = v
				}
			}
		}
		return best
	}
	nearX := make([][2]uint8, st.nx) // top and bottom edge
	for bx := range nearX {
		nearX[bx] = [2]uint8{near(bx, 0), near(bx, st.ny-1)}
	}
	nearY := make([][2]uint8, st.ny) // left and right edge
	for by := range nearY {
		nearY[by] = [2]uint8{near(0, by), near(st.nx-1, by)}
	}
	out := image.NewGray(image.Rect(0, 0, W+2*pad, H+2*pad))
	for y := range H + 2*pad {
		row := out.Pix[y*out.Stride : y*out.Stride+W+2*pad]
		iy := y - pad
		for x := range row {
			ix := x - pad
			switch {
			case iy >= 0 && iy < H && ix >= 0 && ix < W:
				row[x] = g[iy*W+ix]
			case iy >= 0 && iy < H: // beside the image
				side := 0
				if ix >= W {
					side = 1
				}
				row[x] = nearY[iy/s][side]
			default: // above or below, the corners from the nearest edge block
				side := 0
				if iy >= H {
					side = 1
				}
				row[x] = nearX[min(max(ix, 0), W-1)/s][side]
			}
		}
	}
	return out, pad, true
}

// analyze is Analyze's one look at img; full is the contrast of its full ink, reach
// the most contrast the image's levels allow (blocks.reach).
func analyze(img image.Image) (r Result, full uint8, reach int, err error) {
	in, reach, err := findInk(img)
	if err != nil {
		return Result{}, 0, reach, err
	}
	keep, err := digitMarks(in.comps, in.W, in.H)
	if err != nil {
		return Result{}, in.full, reach, err
	}
	kept := in.select_(keep, 0, in.W)
	box := bounds(kept)
	return Result{Pixels: in.render(kept), Box: box.Add(in.origin), Parts: parts(in.comps, keep, box)}, in.full, reach, nil
}

// inkMap is an image's ink, as steps 1-4 of Preprocess find it.
type inkMap struct {
	g       []uint8 // the ink contrast, 0 for paper
	W, H    int
	t, full uint8 // contrast threshold, and the contrast of full ink
	runs    []run
	ids     []int32 // each run's component
	comps   []component
	origin  image.Point // the image's Bounds().Min
}

// findInk does steps 1-4 of Preprocess: grayscale, polarity, illumination and
// threshold, and labels the ink's components. reach is blocks.reach, 0 for an
// empty image.
func findInk(img image.Image) (_ *inkMap, reach int, err error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, 0, fmt.Errorf("%w: bounds %v", ErrEmpty, b)
	}
	W, H := b.Dx(), b.Dy()

	// 1. Grayscale. A transparent pixel is paper: a drawing on a transparent
	// canvas is strokes on nothing, and white is what users see behind it.
	g := luma(img)

	// 2. Polarity. Statistics of s×s blocks serve this step and the next.
	s := blockSize(W, H)
	st := blockStats(g, W, H, s)
	if !st.darkInk() {
		for i, v := range g {
			g[i] = 255 - v
		}
		st.invert()
	}

	// 3. Illumination. g becomes the ink contrast, in place, 0 for paper.
	paper := closing(st.paper, st.nx, st.ny, closeRadius)
	hist := contrast(g, W, H, s, paper, st.nx, st.ny)

	// 4. Threshold.
	t, full := threshold(hist, W*H)
	reach = st.reach()
	if full < minInkContrast {
		return nil, reach, fmt.Errorf("%w: the darkest marks stand out from the paper by %d/255 only", ErrNoInk, full)
	}
	runs, ids, comps, ok := label(g, W, H, t, max(1<<16, W*H/maxRunsDiv))
	if !ok {
		return nil, reach, fmt.Errorf("%w: ink speckled all over the image", ErrNoInk)
	}
	if len(comps) == 0 {
		return nil, reach, fmt.Errorf("%w: no pixel darker than the paper by %d/255", ErrNoInk, t)
	}
	return &inkMap{g: g, W: W, H: H, t: t, full: full, runs: runs, ids: ids, comps: comps, origin: b.Min}, reach, nil
}

// select_ returns the runs of the components keep marks, clipped to the columns
// [x0, x1).
func (in *inkMap) select_(keep []bool, x0, x1 int) []run {
	var out []run
	for i, r := range in.runs {
		if !keep[in.ids[i]] {
			continue
		}
		r.x0, r.x1 = max(r.x0, int32(x0)), min(r.x1, int32(x1))
		if r.x0 < r.x1 {
			out = append(out, r)
		}
	}
	return out
}

// render does steps 5-8 of Preprocess for the ink in runs: the 28×28 input.
func (in *inkMap) render(kept []run) []uint8 {
	// 5. Crop. The box holds the kept runs' pixels, with their soft values:
	// contrast t maps to 0 and contrast full (or more) to 255.
	box := bounds(kept)
	cw, ch := box.Dx(), box.Dy()
	crop := make([]uint8, cw*ch)
	t, full, W := in.t, in.full, in.W
	for _, run := range kept {
		src := in.g[int(run.y)*W+int(run.x0) : int(run.y)*W+int(run.x1)]
		dst := crop[(int(run.y)-box.Min.Y)*cw+int(run.x0)-box.Min.X:]
		for i, v := range src {
			c := int(v) - int(t) // > 0
			dst[i] = uint8(min(255, (255*c+int(full-t)/2)/int(full-t)))
		}
	}

	// 6. Scale.
	small, dw, dh := fit(crop, cw, ch, strokeWidth(kept))

	// 7. Centre, and 8. Quantize.
	return centre(small, dw, dh)
}

// parts counts the groups of the kept components that stand side by side: their
// columns merged where they overlap or nearly touch (within partGap of the ink's
// height), and only groups at least half the ink's height counted. A digit broken in
// pieces (a 5's loose bar, a 4 in two strokes) overlaps in its columns; two digits
// written apart do not.
func parts(comps []component, keep []bool, box image.Rectangle) int {
	type span struct{ x0, x1, y0, y1 int }
	var spans []span
	for i, c := range comps {
		if keep[i] {
			spans = append(spans, span{c.x0, c.x1, c.y0, c.y1})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.x0 - b.x0 })
	h := box.Dy()
	gap := max(1, int(partGap*float64(h)))
	n := 0
	for i := 0; i < len(spans); {
		g := spans[i]
		for i++; i < len(spans) && spans[i].x0 < g.x1+gap; i++ {
			g.x1, g.y0, g.y1 = max(g.x1, spans[i].x1), min(g.y0, spans[i].y0), max(g.y1, spans[i].y1)
		}
		if 2*(g.y1-g.y0) >= h {
			n++
		}
	}
	return n
}

// fit scales the cw×ch image crop (ink 0..255) so that its longer side is Box
// pixels, returning the result (ink 0..1) and its size. w is the width of
// its strokes in pixels.
//
// A crop larger than workSize pixels is first shrunk to about that size, and
// thin strokes are thickened there, so the cost of thickening stays bounded.
func fit(crop []uint8, cw, ch int, w float64) (small []float32, dw, dh int) {
	L := max(cw, ch)
	if k := (minFitSide + L - 1) / L; k > 1 {
		big := make([]uint8, cw*k*ch*k)
		for y := range ch * k {
			for x := range cw * k {
				big[y*cw*k+x] = crop[(y/k)*cw+x/k]
			}
		}
		crop, cw, ch, L, w = big, cw*k, ch*k, L*k, w*float64(k)
	}
	var work []float32
	if L > workSize {
		k := float64(L) / workSize
		sw, sh := max(1, int(float64(cw)/k+0.5)), max(1, int(float64(ch)/k+0.5))
		work = resize(crop, cw, ch, sw, sh)
		// A stroke thinner than a pixel here becomes a faint line, as bright
		// as the part c of a pixel it covers, or half that on each of two
		// pixels if it falls between them: make it full ink again, one or two
		// pixels wide (a sixth or a third of an output pixel).
		if c := float32(w / k); c < 1 {
			for i, v := range work {
				work[i] = min(1, 2*v/c)
			}
		}
		w = max(w/k, 1)
		cw, ch, L = sw, sh, max(sw, sh)
	} else {
		work = make([]float32, len(crop))
		for i, v := range crop {
			work[i] = float32(v) / 255
		}
	}
	// A stroke narrower than minStroke output pixels would fade into gray or
	// vanish when shrunk, as a pen line in a large photo does: dilate it by
	// r pixels so its width w+2r, scaled by Box/(L+2r), reaches minStroke.
	if w*Box/float64(L) < minStroke {
		f := minStroke / Box
		r := int(math.Ceil((f*float64(L) - w) / (2 * (1 - f))))
		work = pad(work, cw, ch, r)
		cw, ch, L = cw+2*r, ch+2*r, L+2*r
		dilate(work, cw, ch, r)
	}
	dw = max(1, (cw*Box+L/2)/L)
	dh = max(1, (ch*Box+L/2)/L)
	return resize(work, cw, ch, dw, dh), dw, dh
}

// centre returns the Size×Size frame with the dw×dh image small (ink 0..1,
// some of it nonzero) pasted so that its centre of mass lies at (14, 14),
// shifted by whole pixels as MNIST did and kept inside the frame. It
// stretches the intensities so the strongest is 255: a faint pencil digit
// comes out as bright as a marker one.
func centre(small []float32, dw, dh int) []uint8 {
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
	ox, oy := 0, 0
	if sum > 0 {
		ox = min(max(int(math.Round(Size/2-sx/sum)), 0), Size-dw)
		oy = min(max(int(math.Round(Size/2-sy/sum)), 0), Size-dh)
	}
	out := make([]uint8, Size*Size)
	k := 255 / max(peak, 1e-6)
	for y := range dh {
		for x := range dw {
			out[(oy+y)*Size+ox+x] = uint8(min(float64(small[y*dw+x])*k+0.5, 255))
		}
	}
	return out
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
	// median is the median of the whole image, vmin and vmax its extremes.
	median, vmin, vmax uint8
}

func blockStats(g []uint8, W, H, s int) *blocks {
	nx, ny := (W+s-1)/s, (H+s-1)/s
	st := &blocks{s: s, nx: nx, ny: ny,
		lo: make([]uint8, nx*ny), hi: make([]uint8, nx*ny),
		paper: make([]uint8, nx*ny), paperInv: make([]uint8, nx*ny)}
	hist := make([][256]int32, nx)
	minV, maxV := make([]uint8, nx), make([]uint8, nx) // each block's value range
	var all [256]int32
	st.vmin = 255
	for by := range ny {
		for bx := range nx {
			minV[bx], maxV[bx] = 255, 0
		}
		y1 := min((by+1)*s, H)
		for y := by * s; y < y1; y++ {
			row := g[y*W : (y+1)*W]
			for bx := range hist {
				h := &hist[bx]
				lo, hi := minV[bx], maxV[bx]
				for _, v := range row[bx*s : min((bx+1)*s, W)] {
					h[v]++
					lo, hi = min(lo, v), max(hi, v)
				}
				minV[bx], maxV[bx] = lo, hi
			}
		}
		for bx := range hist {
			h := &hist[bx]
			n := (min((bx+1)*s, W) - bx*s) * (y1 - by*s)
			i := by*nx + bx
			// The four quantiles in one walk over the block's value range only (small
			// blocks span a few values), which also clears the histogram for the next
			// row of blocks.
			q := quantiles(h[:], int(minV[bx]), int(maxV[bx]), n, [4]float64{0.02, 1 - paperQuantile, paperQuantile, 0.98})
			st.lo[i], st.paperInv[i], st.paper[i], st.hi[i] = uint8(q[0]), uint8(q[1]), uint8(q[2]), uint8(q[3])
			for v := int(minV[bx]); v <= int(maxV[bx]); v++ {
				all[v] += h[v]
				h[v] = 0
			}
			st.vmin, st.vmax = min(st.vmin, minV[bx]), max(st.vmax, maxV[bx])
		}
	}

	st.median = uint8(quantile(all[:], W*H, 0.5))
	return st
}

// darkInk reports whether the ink is darker than the paper. The paper is
// what most of the image shows, its median; the ink is whichever extreme lies
// farther from it: the darkest block percentile below or the brightest above.
// Noise reaches about as far in both directions, so it cancels, and a few
// ink pixels suffice even when they cover 0.02% of the image. (The median
// of a frame along the edges would be fooled by vignetting and dark
// corners.) A tie means dark ink, by far the common case.
func (st *blocks) darkInk() bool {
	lo, hi := 255, 0
	for i := range st.lo {
		lo = min(lo, int(st.lo[i]))
		hi = max(hi, int(st.hi[i]))
	}
	m := int(st.median)
	return m-lo >= hi-m
}

// invert turns the statistics into those of the inverted image.
func (st *blocks) invert() {
	for i := range st.lo {
		st.lo[i], st.hi[i] = 255-st.hi[i], 255-st.lo[i]
		st.paper[i], st.paperInv[i] = 255-st.paperInv[i], 255-st.paper[i]
	}
	st.median, st.vmin, st.vmax = 255-st.median, 255-st.vmax, 255-st.vmin
}

// reach bounds the contrast (step 3, rounded) of any pixel against any paper level
// between the image's extremes, whichever polarity a look takes: (paper-v)/max(paper,
// minPaper) is largest for the brightest paper and the darkest ink.
func (st *blocks) reach() int {
	return 255*int(st.vmax-st.vmin)/max(min(int(st.vmax), 255-int(st.vmin)), minPaper) + 1
}

// quantile returns the smallest value v such that more than q·(n-1) of the n
// values counted in hist are at most v.
// quantiles is quantile for ascending qs at once, over a histogram whose counts all lie
// in bins lo..hi.
func quantiles(hist []int32, lo, hi, n int, qs [4]float64) [4]int {
	var out [4]int
	j, c := 0, 0
	for v := lo; v <= hi && j < len(qs); v++ {
		c += int(hist[v])
		for j < len(qs) && c > int(qs[j]*float64(n-1)) {
			out[j] = v
			j++
		}
	}
	for ; j < len(qs); j++ {
		out[j] = hi
	}
	return out
}

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

// contrast replaces each pixel v of the W×H grayscale image g by its ink
// contrast against the paper brightness p at that pixel, which is the s×s
// block grid paper (values at block centres) interpolated bilinearly.
//
// The contrast is 255·(p-v)/p, clamped to 0..255: dividing by p, rather than
// only subtracting, makes ink in a shadow as strong as ink in the light,
// since both reflect the same fraction of the light that reaches them. But
// the division amplifies noise where the paper is dark, so the noise is
// judged before it: a pixel whose difference p-v does not stand out from
// the paper's noise, noiseSigmas standard deviations above its typical
// level, gets contrast 0. Both are measured robustly (median and median
// absolute deviation) on p-v over the whole image, which the paper
// dominates. It returns the histogram of the contrast.
func contrast(g []uint8, W, H, s int, paper []float32, nx, ny int) *[256]int32 {
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
	grow := make([]float32, nx) // the grid interpolated to a row
	prow := make([]float32, W)  // and to its pixels
	// forEach calls f for each row with the paper brightness along it.
	forEach := func(f func(row []uint8, p []float32)) {
		for y := range H {
			ly := at(y, ny)
			r0, r1 := paper[ly.i0*nx:], paper[ly.i1*nx:]
			for j := range grow {
				grow[j] = r0[j] + ly.w*(r1[j]-r0[j])
			}
			for x, lx := range xs {
				prow[x] = grow[lx.i0] + lx.w*(grow[lx.i1]-grow[lx.i0])
			}
			f(g[y*W:(y+1)*W], prow)
		}
	}

	// diff[d+255] counts pixels with p-v = d, rounded; |d| ≤ 255.
	var diff [511]int32
	forEach(func(row []uint8, p []float32) {
		for x, v := range row {
			diff[int(p[x]-float32(v)+255.5)]++
		}
	})
	med := quantile(diff[:], W*H, 0.5) - 255
	var dev [511]int32
	for i, m := range diff {
		d := i - 255 - med
		dev[max(d, -d)] += m
	}
	sigma := 1.4826 * float64(quantile(dev[:], W*H, 0.5))
	noise := float32(float64(med) + noiseSigmas*sigma)

	var hist [256]int32
	forEach(func(row []uint8, p []float32) {
		for x, v := range row {
			px := p[x]
			d := px - float32(v)
			c := 0
			if d > max(noise, 0) { // noise < 0 when most of the image is darker than its paper
				c = min(int(255*d/max(px, minPaper)+0.5), 255)
			}
			hist[c]++
			row[x] = uint8(c)
		}
	})
	return &hist
}

// threshold returns, given the histogram of the contrast of n pixels, the
// contrast t above which a pixel is ink and the contrast full that counts as
// full ink (full > t): Otsu's threshold, which splits the histogram where the
// two classes are best separated, and at least minContrast.
func threshold(hist *[256]int32, n int) (t, full uint8) {
	t = uint8(min(max(otsu(hist[:], n), minContrast), 254))
	var m int
	for _, c := range hist[t+1:] {
		m += int(c)
	}
	full = t + 1
	if m > 0 {
		full += uint8(quantile(hist[t+1:], m, inkQuantile))
	}
	return t, full
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

// digitMarks reports for each component of a W×H image whether it belongs
// to the digit, or returns ErrNoInk if none is large enough to.
//
// A mark touching the image's edge is usually not the digit but something
// the background estimate could not follow: the dark desk beside the paper,
// a shadow's edge, a finger. So when some mark spans at least 1/minExtentDiv
// of the image without touching its edges, the digit is made of such inner
// marks; a mark touching the edge joins them only if at least half of its
// bounding box lies within theirs (a stroke drawn off the page). Otherwise
// (a digit drawn or cropped up to the edge) every mark is a candidate.
//
// Among candidates, specks are dropped: marks with under 1/speckDiv of the
// largest one's area, unless near it and over 1/fragmentDiv of it (a stroke
// broken by thresholding).
func digitMarks(comps []component, W, H int) ([]bool, error) {
	minExt := max(3, min(W, H)/minExtentDiv)
	frame := image.Rect(0, 0, W, H).Inset(1)
	inner := make([]bool, len(comps))
	big := -1 // the largest inner mark
	for i, c := range comps {
		inner[i] = c.rect().In(frame)
		if inner[i] && c.extent() >= minExt && (big < 0 || c.area > comps[big].area) {
			big = i
		}
	}
	if big < 0 {
		for i := range comps {
			inner[i] = true
			if big < 0 || comps[i].area > comps[big].area {
				big = i
			}
		}
		if ext := comps[big].extent(); ext < minExt {
			return nil, fmt.Errorf("%w: largest mark spans %d pixels, want at least %d", ErrNoInk, ext, minExt)
		}
	}
	keep := notSpecks(comps, inner, big)
	var box image.Rectangle
	for i, c := range comps {
		if keep[i] {
			box = box.Union(c.rect())
		}
	}
	edge := make([]bool, len(comps))
	for i, c := range comps {
		r := c.rect()
		edge[i] = !inner[i] && 2*area(r.Intersect(box)) >= area(r)
	}
	for i, k := range notSpecks(comps, edge, big) {
		keep[i] = keep[i] || k
	}
	return keep, nil
}

// notSpecks reports which of the components in cand are not specks beside
// the component big.
func notSpecks(comps []component, cand []bool, big int) []bool {
	b := comps[big]
	m := b.extent() / 4
	near := b.rect().Inset(-m)
	keep := make([]bool, len(comps))
	for i, c := range comps {
		keep[i] = cand[i] && (c.area*speckDiv >= b.area ||
			c.area*fragmentDiv >= b.area && near.Overlaps(c.rect()))
	}
	return keep
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

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

// pad returns the w×h image a with r zero pixels added on each side.
func pad(a []float32, w, h, r int) []float32 {
	pw := w + 2*r
	p := make([]float32, pw*(h+2*r))
	for y := range h {
		copy(p[(y+r)*pw+r:], a[y*w:(y+1)*w])
	}
	return p
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

// blockSize is the side of step 3's background blocks for a W×H image: gridCells of
// them, or a few fewer, along the longer side (rounded up, so that a small image's
// blocks reach as far as a large one's: 48 pixels make blocks of 2, not 1).
func blockSize(W, H int) int { return max(1, (max(W, H)+gridCells-1)/gridCells) }
