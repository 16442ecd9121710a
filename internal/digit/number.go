package digit

import (
	"image"
	"math"
	"slices"
)

// Part is one digit of a number Segment found.
type Part struct {
	Box    image.Rectangle // where its ink is, in the image's coordinates
	Pixels []uint8         // its 28×28 input, as Preprocess makes it
}

// Group is a run of ink Segment found standing apart from the rest: one digit, or
// several touching. Ways are the ways to read it, each a number of digits cut apart
// (one way for a group as narrow as a digit); Best is the way its width suggests. A
// reader picks the way whose digits it recognises best.
type Group struct {
	Box  image.Rectangle
	Ways [][]Part
	Best int
	// Joined, when set, is this group and the next read as one digit: offered when
	// they are close and together no wider than a digit (a digit broken apart, as a
	// slanted 8 drawn in two strokes). A reader takes it when it reads better.
	Joined *Part
}

// The layout of a row of digits.
const (
	// A mark is a speck, and dropped, when both its sides are under speckSide of
	// the row's digit height and it does not overlap a digit's columns.
	speckSide = 0.25
	// A mark at least lineAspect times as wide as it is tall is a line (an underline,
	// a ruled line, a box's edge), not a digit.
	lineAspect = 6.0
	// digitAspect is a digit's usual width over its height; a group of ink much
	// wider than that (splitAt times) holds touching digits and is cut.
	digitAspect                = 0.62
	minRowAspect, maxRowAspect = 0.5, 0.9
	splitAt                    = 1.35
	// minDigitWidth: no digit is narrower than this share of its height (a 1's
	// stroke aside, which never needs a cut).
	minDigitWidth = 0.2
	// minCutWidth: a piece cut out of touching digits is at least this share of
	// their height wide; a narrower one is a sliver of a digit, which a network
	// readily takes for a confident 1.
	minCutWidth = 0.3
	// samePartOverlap: marks whose columns overlap by this share of the narrower
	// one's width are parts of one digit.
	samePartOverlap = 0.5
	// Marks stacked one above the other (sharing under stackedOverlap of the shorter
	// one's rows, their columns touching) are one digit when together they are no
	// taller than maxDigitHeight of the row's digits.
	stackedOverlap = 0.5
	maxDigitHeight = 1.3
	// Neighbouring groups no further apart than joinGap of the row's digit height,
	// and together no wider than joinWidth of their height, may be one digit.
	joinGap, joinWidth = 0.12, 0.9
)

// Segment finds the digits written in a row in img — a number on paper, a photo, a
// drawing — and returns them left to right, each made into the 28×28 input of an
// MNIST network as Preprocess makes one digit. The ink is found as Preprocess finds
// it (steps 1-4); then
//
//  1. specks (marks much smaller than the row's digits, away from them) and lines
//     (marks many times wider than tall) are dropped;
//  2. marks whose columns overlap by half the narrower one's width are one digit,
//     so a digit broken in pieces (a 5's loose bar) stays whole, while digits that
//     lean into each other without touching stay apart;
//  3. a group much wider than a digit is touching digits: it is cut into as many as
//     its width suggests, each cut at the column with the least ink near where an
//     even split would put it.
//
// It returns ErrNoInk when nothing looks like writing.
//
// Unlike Analyze it does not look again, with paper around it, at a picture cropped to
// its ink: a row's background blocks are a 32nd of its width, wider than a few strokes,
// so ink along its edges still has paper beside it in its block. A single fat digit
// cropped to its ink can lose ink here that Preprocess keeps.
func Segment(img image.Image) ([]Group, error) {
	in, _, err := findInk(img)
	if err != nil {
		return nil, err
	}
	minExt := max(3, min(in.W, in.H)/minExtentDiv)
	// The row's digit height: the tallest mark that is not a line.
	digitH := 0
	for _, c := range in.comps {
		w, h := c.x1-c.x0, c.y1-c.y0
		if float64(w) < lineAspect*float64(h) && c.extent() >= minExt {
			digitH = max(digitH, h)
		}
	}
	if digitH == 0 {
		return nil, ErrNoInk
	}
	// 1. Candidates: neither lines nor small marks; small marks join a group later
	// if they lie within its columns (a 5's bar, a piece of a broken stroke).
	small := float64(digitH) * speckSide
	var cand []int
	isLine := func(c component) bool { return float64(c.x1-c.x0) >= lineAspect*float64(c.y1-c.y0) }
	for i, c := range in.comps {
		if isLine(c) || float64(c.x1-c.x0) < small && float64(c.y1-c.y0) < small {
			continue
		}
		cand = append(cand, i)
	}
	if len(cand) == 0 {
		return nil, ErrNoInk
	}
	// 2. Groups: candidates whose columns overlap by half the narrower one's width
	// (a digit in pieces) are one digit; digits leaning into each other without
	// touching stay apart.
	slices.SortFunc(cand, func(a, b int) int { return in.comps[a].x0 - in.comps[b].x0 })
	gap := max(1, int(partGap*float64(digitH)))
	group := make([]int, len(in.comps)) // group index + 1; 0: not kept
	type grp struct{ x0, x1, y0, y1 int }
	var groups []grp
	for _, i := range cand {
		c := in.comps[i]
		best, bestOverlap := -1, 0.0
		for k, g := range groups {
			ov := float64(min(c.x1, g.x1) - max(c.x0, g.x0))
			narrower := float64(min(c.x1-c.x0, g.x1-g.x0))
			// Stacked: one above the other (an 8's loops, a slanted 7's bar and
			// stem, broken apart), their columns touching, their rows hardly shared.
			yov := float64(min(c.y1, g.y1) - max(c.y0, g.y0))
			shorter := float64(min(c.y1-c.y0, g.y1-g.y0))
			tall := float64(max(c.y1, g.y1) - min(c.y0, g.y0))
			stacked := ov > -float64(gap) && yov < stackedOverlap*shorter && tall <= maxDigitHeight*float64(digitH)
			if (ov >= samePartOverlap*narrower || stacked) && ov+1 > bestOverlap {
				best, bestOverlap = k, ov+1
			}
		}
		if best < 0 {
			groups = append(groups, grp{c.x0, c.x1, c.y0, c.y1})
			best = len(groups) - 1
		} else {
			g := &groups[best]
			g.x0, g.x1, g.y0, g.y1 = min(g.x0, c.x0), max(g.x1, c.x1), min(g.y0, c.y0), max(g.y1, c.y1)
		}
		group[i] = best + 1
	}
	// The small marks within a group's columns belong to it.
	for i, c := range in.comps {
		if group[i] != 0 || isLine(c) {
			continue
		}
		for k, g := range groups {
			if c.x0 >= g.x0-gap && c.x1 <= g.x1+gap && c.y0 >= g.y0-digitH/4 && c.y1 <= g.y1+digitH/4 {
				group[i] = k + 1
				break
			}
		}
	}
	// A group much shorter than the row's digits is a speck or a stray mark.
	var order []int
	for k, g := range groups {
		if float64(g.y1-g.y0) >= 0.4*float64(digitH) {
			order = append(order, k)
		}
	}
	if len(order) == 0 {
		return nil, ErrNoInk
	}
	slices.SortFunc(order, func(a, b int) int { return groups[a].x0 - groups[b].x0 })
	// 3. The row's digit shape: the width over height of its single digits, taken as
	// the lower quartile of its groups' (within bounds: a row of 1s is not cut, nor a
	// row of wide 0s merged).
	var aspects []float64
	for _, k := range order {
		g := groups[k]
		aspects = append(aspects, float64(g.x1-g.x0)/float64(g.y1-g.y0))
	}
	slices.Sort(aspects)
	aspect := digitAspect
	if len(aspects) >= 3 {
		// The lower quartile: when digits touch, many groups hold several.
		aspect = min(max(aspects[len(aspects)/4], minRowAspect), maxRowAspect)
	}
	// 4. Each group's ways: the number of digits its width suggests, one fewer and
	// one more.
	var out []Group
	var outRuns [][]run
	members := make([]bool, len(in.comps))
	for _, k := range order {
		for i := range members {
			members[i] = group[i] == k+1
		}
		runs := in.select_(members, 0, in.W)
		if len(runs) == 0 {
			continue
		}
		box := bounds(runs)
		w, h := box.Dx(), box.Dy()
		est := max(1, int(math.Round(float64(w)/(aspect*float64(h)))))
		if float64(w) < splitAt*aspect*float64(h) {
			est = 1
		}
		grp := Group{Box: box.Add(in.origin)}
		// way cuts the group into n digits; with strict, a cut leaving a sliver (a piece
		// narrower than minCutWidth) is no way at all.
		way := func(n int, strict bool) []Part {
			var parts []Part
			cuts := in.cuts(runs, box.Min.X, box.Max.X, n)
			for k := 0; k+1 < len(cuts); k++ {
				piece := clip(runs, cuts[k], cuts[k+1])
				if len(piece) == 0 {
					continue
				}
				pb := bounds(piece)
				if strict && n > 1 && float64(pb.Dx()) < minCutWidth*float64(h) {
					return nil
				}
				parts = append(parts, Part{Box: pb.Add(in.origin), Pixels: in.render(piece)})
			}
			return parts
		}
		for n := max(1, est-1); n <= est+1 && float64(w) >= float64(n)*minDigitWidth*float64(h); n++ {
			if p := way(n, true); p != nil {
				if n == est {
					grp.Best = len(grp.Ways)
				}
				grp.Ways = append(grp.Ways, p)
			}
		}
		if len(grp.Ways) == 0 || len(grp.Ways[grp.Best]) != est { // every cut left slivers: the width's guess all the same
			grp.Ways = append(grp.Ways, way(est, false))
			grp.Best = len(grp.Ways) - 1
		}
		out = append(out, grp)
		outRuns = append(outRuns, runs)
	}
	if len(out) == 0 {
		return nil, ErrNoInk
	}
	for k := 0; k+1 < len(out); k++ {
		a, b := out[k].Box, out[k+1].Box
		u := a.Union(b)
		if len(out[k].Ways[out[k].Best]) == 1 && len(out[k+1].Ways[out[k+1].Best]) == 1 &&
			float64(b.Min.X-a.Max.X) <= joinGap*float64(digitH) && float64(u.Dx()) <= joinWidth*float64(u.Dy()) {
			runs := append(slices.Clone(outRuns[k]), outRuns[k+1]...)
			slices.SortFunc(runs, func(p, q run) int {
				if p.y != q.y {
					return int(p.y - q.y)
				}
				return int(p.x0 - q.x0)
			})
			out[k].Joined = &Part{Box: u, Pixels: in.render(runs)}
		}
	}
	return out, nil
}

// cuts returns the columns that cut the ink in runs (columns x0..x1) into n digits:
// x0 and x1 alone for one.
func (in *inkMap) cuts(runs []run, x0, x1, n int) []int {
	w := x1 - x0
	if n <= 1 {
		return []int{x0, x1}
	}
	// The ink in each column: weak where strokes only touch.
	col := make([]int, w)
	for _, r := range runs {
		for x := r.x0; x < r.x1; x++ {
			col[int(x)-x0]++
		}
	}
	out := []int{x0}
	step := float64(w) / float64(n)
	for k := 1; k < n; k++ {
		c := int(float64(k) * step)
		lo, hi := max(out[len(out)-1]-x0+1, c-int(0.3*step)), min(w-1, c+int(0.3*step))
		best := c
		for x := lo; x <= hi; x++ {
			// the least ink; ties to the column nearest the even split
			if col[x] < col[best] || col[x] == col[best] && iabs(x-c) < iabs(best-c) {
				best = x
			}
		}
		out = append(out, x0+best)
	}
	return append(out, x1)
}

func iabs(x int) int { return max(x, -x) }

// clip returns the parts of runs within columns [x0, x1).
func clip(runs []run, x0, x1 int) []run {
	var out []run
	for _, r := range runs {
		r.x0, r.x1 = max(r.x0, int32(x0)), min(r.x1, int32(x1))
		if r.x0 < r.x1 {
			out = append(out, r)
		}
	}
	return out
}
