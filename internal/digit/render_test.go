package digit

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// This file draws the test images: digits as thick anti-aliased polylines,
// on paper that can be gray, shadowed, noisy, JPEG-compressed, dark or
// transparent.

// A glyph is a digit's strokes: polylines in the unit square, x to the right
// and y down.
type glyph [][][2]float64

var glyphs = map[rune]glyph{
	'0': {arc(0.5, 0.5, 0.36, 0.48, 0, 360)},
	'1': {{{0.3, 0.2}, {0.58, 0.0}, {0.58, 1.0}}},
	'2': {append(arc(0.5, 0.3, 0.36, 0.28, 200, 380), [2]float64{0.1, 1}, [2]float64{0.92, 1})},
	'3': {arc(0.48, 0.27, 0.36, 0.25, 200, 450), arc(0.48, 0.74, 0.4, 0.26, 270, 520)},
	'4': {{{0.68, 1.0}, {0.68, 0.0}, {0.05, 0.68}, {0.95, 0.68}}},
	'7': {{{0.08, 0.03}, {0.92, 0.03}, {0.4, 1.0}}},
}

// arc returns points of an ellipse centred at (cx, cy) with radii rx, ry,
// from angle a0 to a1 in degrees, clockwise on screen from 3 o'clock.
func arc(cx, cy, rx, ry, a0, a1 float64) [][2]float64 {
	n := int(math.Ceil(math.Abs(a1-a0) / 5))
	pts := make([][2]float64, n+1)
	for i := range pts {
		a := (a0 + (a1-a0)*float64(i)/float64(n)) * math.Pi / 180
		pts[i] = [2]float64{cx + rx*math.Cos(a), cy + ry*math.Sin(a)}
	}
	return pts
}

// coverage returns how much of each pixel of a w×h image the glyph covers,
// 0..1, drawn into box (the unit square stretched over it) with round pens of
// the given width in pixels; anti-aliased over one pixel.
func (gl glyph) coverage(w, h int, box image.Rectangle, width float64) []float32 {
	cov := make([]float32, w*h)
	sx, sy := float64(box.Dx()), float64(box.Dy())
	pt := func(p [2]float64) (float64, float64) {
		return float64(box.Min.X) + p[0]*sx, float64(box.Min.Y) + p[1]*sy
	}
	half := width / 2
	for _, line := range gl {
		for i := 1; i < len(line); i++ {
			ax, ay := pt(line[i-1])
			bx, by := pt(line[i])
			x0 := max(0, int(math.Floor(min(ax, bx)-half-1)))
			x1 := min(w, int(math.Ceil(max(ax, bx)+half+1)))
			y0 := max(0, int(math.Floor(min(ay, by)-half-1)))
			y1 := min(h, int(math.Ceil(max(ay, by)+half+1)))
			dx, dy := bx-ax, by-ay
			l2 := dx*dx + dy*dy
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					px, py := float64(x)+0.5, float64(y)+0.5
					t := 0.0
					if l2 > 0 {
						t = min(max(((px-ax)*dx+(py-ay)*dy)/l2, 0), 1)
					}
					d := math.Hypot(px-ax-t*dx, py-ay-t*dy)
					c := float32(min(max(half-d+0.5, 0), 1))
					cov[y*w+x] = max(cov[y*w+x], c)
				}
			}
		}
	}
	return cov
}

// A scene describes a test image: a glyph drawn on a page and photographed.
type scene struct {
	name  string
	w, h  int
	digit rune
	box   image.Rectangle // where the glyph goes
	pen   float64         // stroke width in pixels
	// light returns the page's brightness at (x, y), 0..255 (default 245).
	light func(x, y float64) float64
	// ink is the fraction of the page's brightness ink reflects (default
	// 0.12); above 1 means light ink on a dark page.
	ink   float64
	noise float64 // standard deviation of Gaussian noise added per pixel
	jpeg  int     // JPEG quality of a round trip, 0 for none
	// transparent draws black strokes on a transparent canvas instead.
	transparent bool
}

// image renders the scene. Ink darkens (or lightens) the page in proportion
// to coverage: v = light · (1 - c + c·ink), plus noise.
func (s scene) image() image.Image {
	cov := glyphs[s.digit].coverage(s.w, s.h, s.box, s.pen)
	if s.transparent {
		m := image.NewNRGBA(image.Rect(0, 0, s.w, s.h))
		for i, c := range cov {
			m.Pix[4*i+3] = uint8(math.Round(float64(c) * 255))
		}
		return m
	}
	light, ink := s.light, s.ink
	if light == nil {
		light = func(x, y float64) float64 { return 245 }
	}
	if ink == 0 {
		ink = 0.12
	}
	rng := rand.New(rand.NewPCG(uint64(len(s.name)), uint64(s.w*s.h)))
	m := image.NewGray(image.Rect(0, 0, s.w, s.h))
	for y := range s.h {
		for x := range s.w {
			c := float64(cov[y*s.w+x])
			v := light(float64(x), float64(y)) * (1 - c + c*ink)
			if s.noise > 0 {
				v += rng.NormFloat64() * s.noise
			}
			m.Pix[y*s.w+x] = uint8(min(max(math.Round(v), 0), 255))
		}
	}
	if s.jpeg == 0 {
		return m
	}
	// Encode as a color JPEG, as a phone would, and decode it again.
	rgb := image.NewRGBA(m.Bounds())
	for i, v := range m.Pix {
		rgb.Set(i%s.w, i/s.w, color.RGBA{v, v, uint8(max(int(v)-8, 0)), 255}) // a warm tint
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, rgb, &jpeg.Options{Quality: s.jpeg}); err != nil {
		panic(err)
	}
	img, err := Decode(&buf, DefaultLimits)
	if err != nil {
		panic(err)
	}
	return img
}

// centred returns a box of height h and width h·aspect centred in a W×H
// image.
func centred(W, H, h int, aspect float64) image.Rectangle {
	w := int(float64(h) * aspect)
	return image.Rect((W-w)/2, (H-h)/2, (W-w)/2+w, (H-h)/2+h)
}

// gradient returns a light falling linearly from a at (0, 0) to b at (w, h).
func gradient(a, b float64, w, h int) func(x, y float64) float64 {
	return func(x, y float64) float64 {
		t := (x/float64(w) + y/float64(h)) / 2
		return a + (b-a)*t
	}
}

// scenes are the test images, each with a golden file testdata/NAME.golden.
var scenes = []scene{
	{name: "clean-seven", w: 400, h: 400, digit: '7', box: centred(400, 400, 300, 0.7), pen: 24},
	{name: "clean-one", w: 400, h: 400, digit: '1', box: centred(400, 400, 300, 0.5), pen: 24},
	{name: "clean-zero", w: 400, h: 400, digit: '0', box: centred(400, 400, 300, 0.7), pen: 24},
	{name: "gray-paper-four", w: 500, h: 400, digit: '4', box: centred(500, 400, 260, 0.75), pen: 20,
		light: func(x, y float64) float64 { return 180 }, ink: 0.3},
	{name: "shadow-seven", w: 400, h: 400, digit: '7', box: centred(400, 400, 300, 0.7), pen: 24,
		light: gradient(230, 120, 400, 400)},
	{name: "noisy-two", w: 600, h: 450, digit: '2', box: centred(600, 450, 300, 0.7), pen: 22,
		light: func(x, y float64) float64 { return 215 }, noise: 14},
	{name: "jpeg-three", w: 800, h: 600, digit: '3', box: centred(800, 600, 380, 0.65), pen: 26,
		light: gradient(235, 150, 800, 600), noise: 6, jpeg: 60},
	{name: "thick-zero", w: 400, h: 400, digit: '0', box: centred(400, 400, 300, 0.75), pen: 64},
	{name: "thin-four", w: 1200, h: 900, digit: '4', box: centred(1200, 900, 700, 0.75), pen: 2},
	// A thick "1" cropped tightly: the stroke is half the image's width.
	{name: "tight-one", w: 70, h: 230, digit: '1', box: image.Rect(5, 10, 65, 220), pen: 30},
	{name: "off-centre-one", w: 800, h: 600, digit: '1', box: image.Rect(60, 40, 160, 240), pen: 14,
		light: func(x, y float64) float64 { return 225 }, noise: 4},
	{name: "small-in-big-seven", w: 1600, h: 1200, digit: '7', box: image.Rect(1100, 300, 1128, 340), pen: 5,
		light: gradient(235, 190, 1600, 1200), noise: 5},
	{name: "light-on-dark-four", w: 500, h: 500, digit: '4', box: centred(500, 500, 320, 0.75), pen: 26,
		light: gradient(45, 25, 500, 500), ink: 5, noise: 5},
	{name: "transparent-two", w: 280, h: 280, digit: '2', box: centred(280, 280, 200, 0.7), pen: 18, transparent: true},
	// A phone photo: dark desk along two edges, a soft shadow, noise, JPEG.
	{name: "photo-four", w: 1600, h: 1200, digit: '4', box: image.Rect(700, 380, 940, 700), pen: 22, noise: 5, jpeg: 70,
		light: func(x, y float64) float64 {
			if x < 120 || y > 1100 {
				return 40 + y/100
			}
			l := 215 - 50*x/1600
			return l - 90/(1+math.Exp((1700-x-0.8*y)/40)) // shadow, lower right
		}},
	{name: "mnist-like-three", w: 28, h: 28, digit: '3', box: centred(28, 28, 18, 0.65), pen: 2.5,
		light: func(x, y float64) float64 { return 10 }, ink: 25},
}
