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
	digitAspect = 0.62
	splitAt     = 1.35
	// minDigitWidth: no digit is narrower than this share of its height (a 1's
	// stroke aside, which never needs a cut).
	minDigitWidth = 0.2
	// minCutWidth: a piece cut out of touching digits is at least this share of
	// their height wide; a narrower one is a sliver of a digit, which a network
	// readily takes for a confident 1.
	minCutWidth = 0.3
)

// Segment finds the digits written in a row in img — a number on paper, a photo, a
// drawing — and returns them left to right, each made into the 28×28 input of an
// MNIST network as Preprocess makes one digit. The ink is found as Preprocess finds
// it (steps 1-4); then
//
//  1. specks (marks much smaller than the row's digits, away from them) and lines
//     (marks many times wider than tall) are dropped;
//  2. marks whose columns overlap or nearly touch are one digit, so a digit broken
//     in pieces (a 5's loose bar) stays whole;
//  3. a group much wider than a digit is touching digits: it is cut into as many as
//     its width suggests, each cut at the column with the least ink near where an
//     even split would put it.
//
// It returns ErrNoInk when nothing looks like writing.
func Segment(img image.Image) ([]Group, error) {
	in, err := findInk(img)
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
	// 1. Candidates: neither lines nor small marks; small marks join later if they
	// overlap a candidate's columns (a 5's bar, the dot of a broken stroke).
	type span struct{ x0, x1, y0, y1 int }
	big := make([]bool, len(in.comps))
	var spans []span
	small := float64(digitH) * speckSide
	for i, c := range in.comps {
		w, h := c.x1-c.x0, c.y1-c.y0
		if float64(w) >= lineAspect*float64(h) || float64(w) < small && float64(h) < small {
			continue
		}
		big[i] = true
		spans = append(spans, span{c.x0, c.x1, c.y0, c.y1})
	}
	if len(spans) == 0 {
		return nil, ErrNoInk
	}
	// 2. Groups of overlapping columns.
	slices.SortFunc(spans, func(a, b span) int { return a.x0 - b.x0 })
	gap := max(1, int(partGap*float64(digitH)))
	var groups []span
	for i := 0; i < len(spans); {
		g := spans[i]
		for i++; i < len(spans) && spans[i].x0 < g.x1+gap; i++ {
			g.x1, g.y0, g.y1 = max(g.x1, spans[i].x1), min(g.y0, spans[i].y0), max(g.y1, spans[i].y1)
		}
		// A group much shorter than the row's digits is a speck or a stray mark.
		if float64(g.y1-g.y0) >= 0.4*float64(digitH) {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		return nil, ErrNoInk
	}
	// The small marks within a group's columns belong to it.
	keep := make([]bool, len(in.comps))
	for i, c := range in.comps {
		if big[i] {
			keep[i] = true
			continue
		}
		w, h := c.x1-c.x0, c.y1-c.y0
		if float64(w) >= lineAspect*float64(h) {
			continue
		}
		for _, g := range groups {
			if c.x0 >= g.x0-gap && c.x1 <= g.x1+gap && c.y0 >= g.y0-digitH/4 && c.y1 <= g.y1+digitH/4 {
				keep[i] = true
				break
			}
		}
	}
	// 3. The row's digit shape: the median width over height of its groups, most of
	// them single digits (not less than a narrow digit's, so a row of 1s is not cut).
	var aspects []float64
	for _, g := range groups {
		aspects = append(aspects, float64(g.x1-g.x0)/float64(g.y1-g.y0))
	}
	slices.Sort(aspects)
	aspect := max(digitAspect, aspects[len(aspects)/2])
	if len(aspects) < 3 {
		aspect = digitAspect
	}
	// 4. Each group's ways: the number of digits its width suggests, one fewer and
	// one more.
	var out []Group
	for _, g := range groups {
		runs := in.select_(keep, g.x0, g.x1)
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
		for n := max(1, est-1); n <= est+1 && float64(w) >= float64(n)*minDigitWidth*float64(h); n++ {
			var way []Part
			cuts := in.cuts(runs, box.Min.X, box.Max.X, n)
			for k := 0; k+1 < len(cuts); k++ {
				piece := clip(runs, cuts[k], cuts[k+1])
				if len(piece) == 0 {
					continue
				}
				pb := bounds(piece)
				if n > 1 && float64(pb.Dx()) < minCutWidth*float64(h) {
					way = nil // a sliver: not a way to cut this ink
					break
				}
				way = append(way, Part{Box: pb.Add(in.origin), Pixels: in.render(piece)})
			}
			if way == nil {
				continue
			}
			if n == est {
				grp.Best = len(grp.Ways)
			}
			grp.Ways = append(grp.Ways, way)
		}
		if len(grp.Ways) == 0 { // narrower than any digit: one
			grp.Ways = [][]Part{{{Box: box.Add(in.origin), Pixels: in.render(runs)}}}
		}
		out = append(out, grp)
	}
	if len(out) == 0 {
		return nil, ErrNoInk
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
