package synth

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
)

// Layout says how the digits of a number are set side by side. Lengths are
// fractions of the digits' height.
type Layout struct {
	// GapMin and GapMax bound the space between neighbouring digits' ink boxes,
	// drawn uniformly for each pair. Negative gaps overlap the boxes: digits then
	// often touch. An overlap never exceeds half the narrower digit's width, so
	// the digits stay in order.
	GapMin, GapMax float64
	SizeJitter     float64 // each digit's height varies by up to ± this fraction
	Wobble         float64 // each digit's baseline moves up or down by up to this
	SlantJitter    float64 // each digit's slant differs from the style's by up to ±
	RotateJitter   float64 // each digit turns by up to ± this many degrees
}

// DefaultLayout is a number written with care: small gaps, a little unevenness.
var DefaultLayout = Layout{GapMin: 0.05, GapMax: 0.3, SizeJitter: 0.08, Wobble: 0.05, SlantJitter: 0.05, RotateJitter: 3}

// Box is where one digit of a number lies in its picture: the box of its ink.
type Box struct {
	Label string
	Rect  image.Rectangle
}

// Number is a picture of a number and where its digits are.
type Number struct {
	Image *image.RGBA
	Boxes []Box // left to right
	// Touching[i] reports whether the ink of digits i and i+1 touches or overlaps.
	Touching []bool
}

// TouchingAny reports whether any two neighbouring digits touch.
func (n *Number) TouchingAny() bool { return slices.Contains(n.Touching, true) }

// ComposeNumber writes the digits (their masks and labels, left to right) side by
// side as lay says, in style st, and returns the picture with each digit's box.
// The picture is about st.Size pixels tall (more when rotated) and as wide as the
// number needs; the digits are st.Scale of the height tall, scaled together so
// a source's own size differences (a short "0" in an old-style font) are kept,
// up to twice the nominal height.
// st.Slant, st.Rotate and st.Perspective apply to the whole number, st.OffsetX
// and OffsetY are ignored. It returns an error when there are no digits, when
// masks and labels differ in number, or when a mask has no ink.
func ComposeNumber(digits []*Mask, labels []string, lay Layout, st Style, rng *rand.Rand) (*Number, error) {
	if len(digits) == 0 || len(digits) != len(labels) {
		return nil, fmt.Errorf("synth: ComposeNumber: %d masks and %d labels", len(digits), len(labels))
	}
	ms := make([]*Mask, len(digits))
	boxes := make([]image.Rectangle, len(digits))
	heights := make([]float64, len(digits))
	var pens float64
	for i, d := range digits {
		m, pen := prepare(d, st.Pen)
		ms[i], boxes[i] = m, m.Bounds(0.5)
		if boxes[i].Empty() {
			return nil, fmt.Errorf("synth: ComposeNumber: digit %d (%q) has no ink", i, labels[i])
		}
		heights[i] = float64(boxes[i].Dy())
		pens += pen
	}
	H := float64(st.Size * supersample)
	ref := median(heights)
	s0 := st.Scale * H / ref // the number's scale: mask pixels → canvas pixels
	ts := layoutDigits(ms, boxes, ref*s0, s0, lay, st, rng)

	// Turn the whole number, then size the canvas to hold it with a margin of
	// the style's blank space above and below a digit.
	turn := shear(st.Slant).then(rotation(st.Rotate))
	lo, hi := Point{math.Inf(1), math.Inf(1)}, Point{math.Inf(-1), math.Inf(-1)}
	for i := range ts {
		ts[i] = ts[i].then(turn)
		l, h := boxOf(ts[i], boxes[i])
		lo = Point{min(lo.X, l.X), min(lo.Y, l.Y)}
		hi = Point{max(hi.X, h.X), max(hi.Y, h.Y)}
	}
	margin := max((1-st.Scale)/2*H, 0.05*H)
	W := int(math.Ceil((hi.X-lo.X+2*margin)/supersample)) * supersample
	Hc := int(math.Ceil((hi.Y-lo.Y+2*margin)/supersample)) * supersample
	tilt := perspective(float64(W), float64(Hc), st.Perspective, rng)
	place := translate(margin-lo.X, margin-lo.Y).then(tilt)

	ink := NewMask(W, Hc)
	layers := make([]*Mask, len(ms))
	n := &Number{Boxes: make([]Box, len(ms)), Touching: make([]bool, len(ms)-1)}
	for i, m := range ms {
		layers[i] = NewMask(W, Hc)
		r := layers[i].draw(m, ts[i].then(place))
		n.Boxes[i] = Box{Label: labels[i], Rect: outputRect(r)}
		for j, v := range layers[i].Pix {
			ink.Pix[j] = max(ink.Pix[j], v)
		}
	}
	for i := range n.Touching {
		n.Touching[i] = touching(layers[i], layers[i+1])
	}
	penOut := pens / float64(len(ms)) * s0 / supersample
	n.Image = finish(ink.shrink(supersample), st, penOut, rng)
	return n, nil
}

// layoutDigits returns, for each digit, the transform from its mask to the
// number's canvas before the number is turned: each scaled from s0 with jitter,
// slanted and turned a little on its own, its ink box's bottom on a wobbling
// baseline, its left edge after the previous digit's right edge plus a gap.
// height is the digits' nominal height in canvas pixels. It draws 5 numbers from
// rng per digit.
func layoutDigits(ms []*Mask, boxes []image.Rectangle, height, s0 float64, lay Layout, st Style, rng *rand.Rand) []mat3 {
	sym := func() float64 { return 2*rng.Float64() - 1 }
	ts := make([]mat3, len(ms))
	cursor := 0.0
	prevW := 0.0
	for i, b := range boxes {
		// A digit is at most twice the nominal height, whatever its mask says: one
		// mask at a wrong scale must not make a picture of gigabytes.
		s := min(s0, 2*height/float64(b.Dy())) * (1 + lay.SizeJitter*sym())
		slant := lay.SlantJitter * sym()
		rot := lay.RotateJitter * sym()
		baseline := lay.Wobble * height * sym()
		gap := (lay.GapMin + (lay.GapMax-lay.GapMin)*rng.Float64()) * height
		cx, cy := float64(b.Min.X)+float64(b.Dx())/2, float64(b.Min.Y)+float64(b.Dy())/2
		t := translate(-cx, -cy).then(scaling(s, s)).then(shear(slant)).then(rotation(rot))
		lo, hi := boxOf(t, b)
		w := hi.X - lo.X
		if i > 0 {
			gap = max(gap, -0.5*min(w, prevW)) // overlap at most half the narrower digit
			cursor += gap
		}
		ts[i] = t.then(translate(cursor-lo.X, baseline-hi.Y))
		cursor += w
		prevW = w
	}
	return ts
}

// outputRect converts a rectangle of the supersampled canvas to output pixels,
// rounding outwards.
func outputRect(r image.Rectangle) image.Rectangle {
	k := supersample
	return image.Rect(r.Min.X/k, r.Min.Y/k, (r.Max.X+k-1)/k, (r.Max.Y+k-1)/k)
}

// touching reports whether some ink pixel (coverage ≥ 0.3) of a lies next to,
// or on, one of b. Diagonal neighbours count: strokes meeting at a corner touch.
func touching(a, b *Mask) bool {
	const t = 0.3
	for y := range a.H {
		for x := range a.W {
			if a.Pix[y*a.W+x] < t {
				continue
			}
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if b.At(x+dx, y+dy) >= t {
						return true
					}
				}
			}
		}
	}
	return false
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
