package synth

import (
	"math"
)

// mat3 is a projective transform of the plane, a row-major 3×3 matrix
// [a b c; d e f; g h i] mapping (x, y) to ((a·x+b·y+c)/w, (d·x+e·y+f)/w) with
// w = g·x+h·y+i. Affine transforms have g = h = 0, i = 1.
type mat3 [9]float64

func identity() mat3 { return mat3{1, 0, 0, 0, 1, 0, 0, 0, 1} }

func translate(tx, ty float64) mat3 { return mat3{1, 0, tx, 0, 1, ty, 0, 0, 1} }

func scaling(sx, sy float64) mat3 { return mat3{sx, 0, 0, 0, sy, 0, 0, 0, 1} }

// rotation turns by deg degrees counterclockwise as seen on screen (y down).
func rotation(deg float64) mat3 {
	s, c := math.Sincos(deg * math.Pi / 180)
	return mat3{c, s, 0, -s, c, 0, 0, 0, 1}
}

// shear slants by k: a point k pixels above the origin moves 1 pixel right per
// pixel of height, as handwriting leaning right (k > 0) does.
func shear(k float64) mat3 { return mat3{1, -k, 0, 0, 1, 0, 0, 0, 1} }

// then returns the transform applying a first, then b.
func (a mat3) then(b mat3) mat3 {
	var c mat3
	for r := range 3 {
		for k := range 3 {
			c[3*r+k] = b[3*r]*a[k] + b[3*r+1]*a[3+k] + b[3*r+2]*a[6+k]
		}
	}
	return c
}

func (a mat3) apply(p Point) Point {
	w := a[6]*p.X + a[7]*p.Y + a[8]
	return Point{(a[0]*p.X + a[1]*p.Y + a[2]) / w, (a[3]*p.X + a[4]*p.Y + a[5]) / w}
}

// inverse returns the inverse transform (the adjugate; the overall scale of a
// projective matrix does not matter). The transforms built here are never
// singular: they scale by positive factors and tilt by a few percent.
func (a mat3) inverse() mat3 {
	return mat3{
		a[4]*a[8] - a[5]*a[7], a[2]*a[7] - a[1]*a[8], a[1]*a[5] - a[2]*a[4],
		a[5]*a[6] - a[3]*a[8], a[0]*a[8] - a[2]*a[6], a[2]*a[3] - a[0]*a[5],
		a[3]*a[7] - a[4]*a[6], a[1]*a[6] - a[0]*a[7], a[0]*a[4] - a[1]*a[3],
	}
}

// squareToQuad returns the projective transform taking the unit square's corners
// (0,0), (1,0), (1,1), (0,1) to q[0..3] (Heckbert, "Fundamentals of Texture
// Mapping", 1989, §2.2.3).
func squareToQuad(q [4]Point) mat3 {
	sx := q[0].X - q[1].X + q[2].X - q[3].X
	sy := q[0].Y - q[1].Y + q[2].Y - q[3].Y
	if sx == 0 && sy == 0 { // a parallelogram: affine
		return mat3{q[1].X - q[0].X, q[2].X - q[1].X, q[0].X, q[1].Y - q[0].Y, q[2].Y - q[1].Y, q[0].Y, 0, 0, 1}
	}
	dx1, dx2 := q[1].X-q[2].X, q[3].X-q[2].X
	dy1, dy2 := q[1].Y-q[2].Y, q[3].Y-q[2].Y
	den := dx1*dy2 - dx2*dy1
	g := (sx*dy2 - dx2*sy) / den
	h := (dx1*sy - sx*dy1) / den
	return mat3{
		q[1].X - q[0].X + g*q[1].X, q[3].X - q[0].X + h*q[3].X, q[0].X,
		q[1].Y - q[0].Y + g*q[1].Y, q[3].Y - q[0].Y + h*q[3].Y, q[0].Y,
		g, h, 1,
	}
}

// box returns the bounding box of the rectangle [0,w]×[0,h] mapped by t.
func (t mat3) box(w, h float64) (lo, hi Point) {
	corners := []Point{{0, 0}, {w, 0}, {w, h}, {0, h}}
	lo, hi = t.apply(corners[0]), t.apply(corners[0])
	for _, c := range corners[1:] {
		p := t.apply(c)
		lo = Point{min(lo.X, p.X), min(lo.Y, p.Y)}
		hi = Point{max(hi.X, p.X), max(hi.Y, p.Y)}
	}
	return lo, hi
}
