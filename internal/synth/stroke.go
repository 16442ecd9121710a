package synth

import (
	"math"
)

// Point is a position in pixels, x to the right and y down.
type Point struct{ X, Y float64 }

// Stroke is one pen-down movement: the pen's positions in order. A single point
// is a dot.
type Stroke []Point

// StrokeBounds returns the box of the strokes' points: min and max corners. It
// returns zero Points when there are none.
func StrokeBounds(strokes []Stroke) (lo, hi Point) {
	first := true
	for _, s := range strokes {
		for _, p := range s {
			if first {
				lo, hi, first = p, p, false
				continue
			}
			lo = Point{min(lo.X, p.X), min(lo.Y, p.Y)}
			hi = Point{max(hi.X, p.X), max(hi.Y, p.Y)}
		}
	}
	return lo, hi
}

// FitStrokes returns the strokes scaled, without distortion, so that their box is
// height pixels tall, and moved so that it starts at (0, 0). When the strokes
// are much wider than tall (a dash, a hurried "1" lying on its side) the width
// is limited to 2·height instead. flipY turns the strokes upside down, for pen
// tablets whose y axis points up.
func FitStrokes(strokes []Stroke, height float64, flipY bool) []Stroke {
	lo, hi := StrokeBounds(strokes)
	w, h := hi.X-lo.X, hi.Y-lo.Y
	s := height / max(h, w/2, 1e-9)
	out := make([]Stroke, len(strokes))
	for i, st := range strokes {
		out[i] = make(Stroke, len(st))
		for j, p := range st {
			y := (p.Y - lo.Y) * s
			if flipY {
				y = h*s - y
			}
			out[i][j] = Point{(p.X - lo.X) * s, y}
		}
	}
	return out
}

// DrawStrokes draws the strokes with a round pen width pixels wide into a new
// mask holding them all (a pixel of margin beyond the pen's reach; the strokes'
// origin is lost, as in Trim). The pen's edge is ramped over soft pixels (at
// least 1, which is plain anti-aliasing; a few pixels give the soft brush of a
// drawing program). Where strokes cross, coverage is the larger, not the sum:
// ink does not get darker where a pen passes twice.
func DrawStrokes(strokes []Stroke, width, soft float64) *Mask {
	soft = max(soft, 1)
	reach := width/2 + soft/2 + 1
	lo, hi := StrokeBounds(strokes)
	ox, oy := math.Floor(lo.X-reach), math.Floor(lo.Y-reach)
	m := NewMask(int(math.Ceil(hi.X+reach-ox)), int(math.Ceil(hi.Y+reach-oy)))
	for _, s := range strokes {
		for i := range s {
			a := s[i]
			b := a
			if i+1 < len(s) {
				b = s[i+1]
			} else if len(s) > 1 {
				continue // the last point ends the previous segment
			}
			drawSegment(m, Point{a.X - ox, a.Y - oy}, Point{b.X - ox, b.Y - oy}, width/2, soft)
		}
	}
	return m
}

// drawSegment inks every pixel of m near the segment ab: coverage
// clamp((r - d)/soft + 0.5) for a pixel centre at distance d from the segment, a
// capsule of radius r with a ramp soft pixels wide at its edge.
func drawSegment(m *Mask, a, b Point, r, soft float64) {
	reach := r + soft/2 + 0.5
	x0 := max(0, int(math.Floor(min(a.X, b.X)-reach)))
	x1 := min(m.W, int(math.Ceil(max(a.X, b.X)+reach)))
	y0 := max(0, int(math.Floor(min(a.Y, b.Y)-reach)))
	y1 := min(m.H, int(math.Ceil(max(a.Y, b.Y)+reach)))
	dx, dy := b.X-a.X, b.Y-a.Y
	l2 := dx*dx + dy*dy
	for y := y0; y < y1; y++ {
		py := float64(y) + 0.5
		for x := x0; x < x1; x++ {
			px := float64(x) + 0.5
			t := 0.0 // the closest point of the segment is a + t·(b-a)
			if l2 > 0 {
				t = min(1, max(0, ((px-a.X)*dx+(py-a.Y)*dy)/l2))
			}
			ex, ey := px-(a.X+t*dx), py-(a.Y+t*dy)
			c := float32((r-math.Sqrt(ex*ex+ey*ey))/soft + 0.5)
			if i := y*m.W + x; c > m.Pix[i] {
				m.Pix[i] = min(c, 1)
			}
		}
	}
}
