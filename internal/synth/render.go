package synth

import (
	"bytes"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// supersample is how many times finer than the output the ink is drawn before
// being averaged down: resampling a mask at an angle aliases otherwise.
const supersample = 2

// Render draws the mask m in style st: the pen changed to st.Pen, the ink scaled to
// st.Scale of the picture's height (and at most 0.8 of its width), slanted,
// rotated and moved, then inked on paper and photographed as st says. The
// picture is st.Size pixels square and opaque. rng supplies the paper's texture,
// the light's direction, the grain, the noise and the photo's tilt. A mask
// without ink gives the paper alone.
func Render(m *Mask, st Style, rng *rand.Rand) *image.RGBA {
	m, pen := prepare(m, st.Pen)
	S := st.Size * supersample
	ink := NewMask(S, S)
	t, ok := placeOne(m, st, float64(S))
	tilt := perspective(float64(S), float64(S), st.Perspective, rng)
	if ok {
		ink.draw(m, t.then(tilt))
	}
	penOut := pen * math.Sqrt(math.Abs(det2(t))) / supersample
	return finish(ink.shrink(supersample), st, penOut, rng)
}

// prepare returns m with its strokes set to pen times its ink's height (pen = 0:
// unchanged), and the resulting stroke width in m's pixels. Thinning takes at
// most 30 % of the width of the thinnest strokes off each side, so no stroke
// disappears.
func prepare(m *Mask, pen float64) (*Mask, float64) {
	w0 := m.StrokeWidth()
	h := float64(m.Bounds(0.5).Dy())
	if pen <= 0 || w0 == 0 || h == 0 {
		return m, w0
	}
	d := (pen*h - w0) / 2
	if d < 0 {
		d = max(d, -0.3*min(w0, m.ThinWidth()))
	}
	return m.Thicken(d), w0 + 2*d
}

// placeOne returns the transform from m's pixels to an S×S canvas that puts m's
// ink where st says, and false when m has no ink.
func placeOne(m *Mask, st Style, S float64) (mat3, bool) {
	b := m.Bounds(0.5)
	if b.Empty() {
		b = m.Bounds(1.0 / 255)
	}
	if b.Empty() {
		return identity(), false
	}
	bw, bh := float64(b.Dx()), float64(b.Dy())
	// A wide mark (a "2" of a scan stretched to its box, a "w") is held to 80 %
	// of the width: pictures have paper around the ink, and digit.Preprocess
	// takes a blot filling the frame for the paper.
	s := min(st.Scale*S/bh, 0.8*S/bw)
	cx, cy := float64(b.Min.X)+bw/2, float64(b.Min.Y)+bh/2
	t := translate(-cx, -cy).then(scaling(s, s)).then(shear(st.Slant)).then(rotation(st.Rotate))
	t = t.then(translate(S/2+st.OffsetX*S, S/2+st.OffsetY*S))
	return keepInside(t, b, S, S), true
}

// keepInside returns t changed so that the box b, mapped by t, lies inside the
// w×h canvas with a 2 % margin: shrunk about its centre if too big, then moved.
// Random slant, rotation and offset could otherwise push a digit's edge out of the
// picture, which would change what digit it is.
func keepInside(t mat3, b image.Rectangle, w, h float64) mat3 {
	lo, hi := boxOf(t, b)
	mw, mh := 0.02*w, 0.02*h
	if f := min((w-2*mw)/(hi.X-lo.X), (h-2*mh)/(hi.Y-lo.Y)); f < 1 {
		c := Point{(lo.X + hi.X) / 2, (lo.Y + hi.Y) / 2}
		t = t.then(translate(-c.X, -c.Y)).then(scaling(f, f)).then(translate(c.X, c.Y))
		lo, hi = boxOf(t, b)
	}
	dx := max(0, mw-lo.X) - max(0, hi.X-(w-mw))
	dy := max(0, mh-lo.Y) - max(0, hi.Y-(h-mh))
	return t.then(translate(dx, dy))
}

// boxOf returns the bounding box of rectangle r mapped by t.
func boxOf(t mat3, r image.Rectangle) (lo, hi Point) {
	return translate(float64(r.Min.X), float64(r.Min.Y)).then(t).box(float64(r.Dx()), float64(r.Dy()))
}

// det2 is the determinant of t's linear part: how much t scales areas.
func det2(t mat3) float64 { return t[0]*t[4] - t[1]*t[3] }

// perspective returns the tilt of a photo not taken square on: the w×h canvas's
// corners move independently by about amount·min(w, h) (a normal deviate each,
// bounded at 2.5σ). It always draws 8 numbers from rng.
func perspective(w, h, amount float64, rng *rand.Rand) mat3 {
	var q [4]Point
	d := amount * min(w, h)
	for i, c := range []Point{{0, 0}, {w, 0}, {w, h}, {0, h}} {
		dx := min(max(rng.NormFloat64(), -2.5), 2.5) * d
		dy := min(max(rng.NormFloat64(), -2.5), 2.5) * d
		q[i] = Point{c.X + dx, c.Y + dy}
	}
	return scaling(1/w, 1/h).then(squareToQuad(q))
}

// draw samples src into m through t (src's pixel coordinates → m's), bilinearly,
// keeping the larger coverage where something is drawn already. It returns the
// rectangle of m it covered with ink above 0.1.
func (m *Mask) draw(src *Mask, t mat3) image.Rectangle {
	// Shrink a source much finer than its footprint first: bilinear sampling of a
	// 128-pixel glyph into 30 pixels would skip over thin strokes.
	if s := math.Sqrt(math.Abs(det2(t))); s < 0.6 {
		k := int(1 / s)
		src = src.shrink(k)
		t = scaling(float64(k), float64(k)).then(t)
	}
	lo, hi := t.box(float64(src.W), float64(src.H))
	x0, y0 := max(0, int(math.Floor(lo.X))), max(0, int(math.Floor(lo.Y)))
	x1, y1 := min(m.W, int(math.Ceil(hi.X))), min(m.H, int(math.Ceil(hi.Y)))
	inv := t.inverse()
	var inked image.Rectangle
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			p := inv.apply(Point{float64(x) + 0.5, float64(y) + 0.5})
			v := src.bilinear(p.X-0.5, p.Y-0.5)
			if i := y*m.W + x; v > m.Pix[i] {
				m.Pix[i] = v
			}
			if v > 0.1 {
				inked = inked.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return inked
}

// bilinear interpolates m at (x, y) in pixel-index coordinates (pixel i's centre at
// i), paper outside.
func (m *Mask) bilinear(x, y float64) float32 {
	fx, fy := math.Floor(x), math.Floor(y)
	i, j := int(fx), int(fy)
	if i < -1 || j < -1 || i >= m.W || j >= m.H {
		return 0
	}
	ax, ay := float32(x-fx), float32(y-fy)
	top := m.At(i, j)*(1-ax) + m.At(i+1, j)*ax
	bot := m.At(i, j+1)*(1-ax) + m.At(i+1, j+1)*ax
	return top*(1-ay) + bot*ay
}

// finish turns the ink coverage a (output resolution) into the picture: soft
// edges, grain, paper, ink colour, noise, blur, JPEG, in that order, as light
// goes from the pen to the camera. penOut is the stroke width in output pixels,
// which Soft is relative to.
func finish(a *Mask, st Style, penOut float64, rng *rand.Rand) *image.RGBA {
	w, h := a.W, a.H
	if st.Soft > 0 && penOut > 0 {
		a = softEdges(a, st.Soft*penOut)
	}
	grain := valueNoise(w, h, 2.5, rng)
	speck := valueNoise(w, h, 1, rng)
	light := lightField(w, h, st.Light, rng)
	texture := paperTexture(w, h, st.Texture, rng)
	rules := ruledLines(w, h, st.Rule, st.RuleGap, rng)
	ruleInk := RGB{120, 160, 215} // the pale blue of a notebook's lines
	var planes [3]*Mask
	for c := range planes {
		planes[c] = NewMask(w, h)
	}
	for i := range a.Pix {
		k := float64(a.Pix[i]) * st.Alpha * (1 - st.Grain*(0.5*float64(grain.Pix[i])+0.5*float64(speck.Pix[i])))
		L := float64(light.Pix[i])
		paper := st.Paper
		if r := float64(rules.Pix[i]); r > 0 {
			paper = mix(paper, ruleInk, r)
		}
		col := mix(paper.scale(L*(1+float64(texture.Pix[i]))), st.Ink.scale(L), k)
		planes[0].Pix[i], planes[1].Pix[i], planes[2].Pix[i] = float32(col.R), float32(col.G), float32(col.B)
	}
	if st.Noise > 0 {
		for i := range a.Pix {
			for c := range planes {
				planes[c].Pix[i] += float32(rng.NormFloat64() * st.Noise)
			}
		}
	}
	if st.Blur > 0 {
		for c := range planes {
			planes[c] = planes[c].blur(st.Blur, true)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range a.Pix {
		for c := range planes {
			img.Pix[4*i+c] = uint8(min(max(math.Round(float64(planes[c].Pix[i])), 0), 255))
		}
		img.Pix[4*i+3] = 255
	}
	if st.JPEG > 0 {
		img = jpegRoundTrip(img, st.JPEG)
	}
	return img
}

// softEdges blurs the ink by sigma pixels, as a soft brush's edge fades, then
// scales it back so the strongest ink is as strong as before: the stroke's middle
// stays dark, only its edge softens.
func softEdges(a *Mask, sigma float64) *Mask {
	b := a.Blur(sigma)
	before, after := peak(a), peak(b)
	if after == 0 {
		return b
	}
	g := before / after
	for i, v := range b.Pix {
		b.Pix[i] = min(v*g, 1)
	}
	return b
}

func peak(m *Mask) float32 {
	var p float32
	for _, v := range m.Pix {
		p = max(p, v)
	}
	return p
}

func mix(a, b RGB, k float64) RGB {
	return RGB{a.R + (b.R-a.R)*k, a.G + (b.G-a.G)*k, a.B + (b.B-a.B)*k}
}

func (c RGB) scale(k float64) RGB { return RGB{c.R * k, c.G * k, c.B * k} }

// jpegRoundTrip encodes img as JPEG at quality q and decodes it again. Encoding to
// memory cannot fail.
func jpegRoundTrip(img *image.RGBA, q int) *image.RGBA {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: min(max(q, 1), 100)}); err != nil {
		panic("synth: JPEG encoding to memory: " + err.Error())
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		panic("synth: decoding our own JPEG: " + err.Error())
	}
	out := image.NewRGBA(dec.Bounds())
	draw.Draw(out, out.Bounds(), dec, dec.Bounds().Min, draw.Src)
	return out
}
