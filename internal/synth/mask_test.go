package synth

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// ring draws a circle of radius 30 with a pen width pixels wide: a closed
// stroke with no ends, so its width is easy to predict.
func ring(width float64) *Mask {
	var s Stroke
	for a := 0; a <= 360; a += 5 {
		sin, cos := math.Sincos(float64(a) * math.Pi / 180)
		s = append(s, Point{40 + 30*cos, 40 + 30*sin})
	}
	return DrawStrokes([]Stroke{s}, width, 1)
}

func TestStrokeWidth(t *testing.T) {
	for _, w := range []float64{3, 6, 12} {
		got := ring(w).StrokeWidth()
		if math.Abs(got-w) > 0.15*w+0.3 {
			t.Errorf("ring drawn %g px wide: StrokeWidth %.2f, want about %g", w, got, w)
		}
	}
	if got := NewMask(5, 5).StrokeWidth(); got != 0 {
		t.Errorf("blank mask: StrokeWidth %g, want 0", got)
	}
}

func TestThicken(t *testing.T) {
	m := ring(6)
	for _, tc := range []struct {
		d    float64
		want float64 // stroke width after
	}{{2, 10}, {4.5, 15}, {-1.5, 3}, {0, 6}} {
		got := m.Thicken(tc.d).StrokeWidth()
		if math.Abs(got-tc.want) > 0.12*tc.want+0.3 {
			t.Errorf("ring 6 px wide, Thicken(%g): width %.2f, want about %g", tc.d, got, tc.want)
		}
	}
	dil, ero := m.Dilate(2).Ink(), m.Erode(2).Ink()
	if !(dil > m.Ink() && m.Ink() > ero) {
		t.Errorf("ink: dilated %.0f, original %.0f, eroded %.0f; want dilated > original > eroded", dil, m.Ink(), ero)
	}
	if got := m.Erode(4).Ink(); got > 1 {
		t.Errorf("ring 6 px wide eroded by 4 px on each side still has %.0f px of ink, want none", got)
	}
	// Growing must not clip: the result is padded to hold the new ink.
	g := m.Dilate(5)
	if b := g.Bounds(0.5); b.Min.X == 0 || b.Min.Y == 0 || b.Max.X == g.W || b.Max.Y == g.H {
		t.Errorf("Dilate(5) ink %v touches the mask's edge (%d×%d): clipped", b, g.W, g.H)
	}
}

// TestSquaredDistance compares the linear-time transform with brute force on
// random grids, including an empty one.
func TestSquaredDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		w, h := 1+rng.IntN(17), 1+rng.IntN(13)
		f := make([]bool, w*h)
		p := []float64{0, 0.05, 0.3}[trial%3]
		for i := range f {
			f[i] = rng.Float64() < p
		}
		got := squaredDistance(f, w, h)
		for y := range h {
			for x := range w {
				want := math.Inf(1)
				for v := range h {
					for u := range w {
						if f[v*w+u] {
							want = min(want, float64((x-u)*(x-u)+(y-v)*(y-v)))
						}
					}
				}
				if got[y*w+x] != want {
					t.Fatalf("%d×%d grid, pixel (%d,%d): squared distance %g, want %g", w, h, x, y, got[y*w+x], want)
				}
			}
		}
	}
}

func TestResizeKeepsInk(t *testing.T) {
	m := NewMask(16, 16)
	for y := 4; y < 12; y++ {
		for x := 6; x < 10; x++ {
			m.Set(x, y, 1)
		}
	}
	for _, tc := range []struct{ w, h int }{{64, 64}, {100, 40}, {8, 8}} {
		r := m.Resize(tc.w, tc.h)
		want := m.Ink() * float64(tc.w*tc.h) / (16 * 16)
		if got := r.Ink(); math.Abs(got-want) > 0.05*want {
			t.Errorf("16×16 with %.0f px of ink resized to %d×%d: %.1f px of ink, want about %.1f", m.Ink(), tc.w, tc.h, got, want)
		}
		for _, v := range r.Pix {
			if v < 0 || v > 1 {
				t.Fatalf("resized to %d×%d: coverage %g outside [0, 1]", tc.w, tc.h, v)
			}
		}
	}
}

func TestBlurKeepsInk(t *testing.T) {
	r := ring(4)
	m := r.Crop(image.Rect(0, 0, r.W, r.H).Inset(-10)) // ink well away from the edges
	for _, s := range []float64{0.5, 2} {
		if got, want := m.Blur(s).Ink(), m.Ink(); math.Abs(got-want) > 0.01*want {
			t.Errorf("Blur(%g): %.1f px of ink, want %.1f", s, got, want)
		}
	}
}

func TestTrimAndCrop(t *testing.T) {
	m := NewMask(30, 20)
	m.Set(10, 5, 1)
	m.Set(12, 9, 0.5)
	tr := m.Trim(2)
	if tr.W != 3+4 || tr.H != 5+4 {
		t.Errorf("Trim(2) of ink in x 10..12, y 5..9: %d×%d, want 7×9", tr.W, tr.H)
	}
	if got := tr.At(2, 2); got != 1 {
		t.Errorf("Trim(2): pixel (2,2) is %g, want the ink at (10,5)", got)
	}
	if got := m.Crop(image.Rect(-5, -5, 0, 0)).Ink(); got != 0 {
		t.Errorf("crop outside the mask has ink %g, want 0", got)
	}
}

// rectRows is the rectangle of rows y0..y1 of a mask w pixels wide.
func rectRows(w, y0, y1 int) image.Rectangle { return image.Rect(0, y0, w, y1) }

// hShape draws an "H": two stems width wide, joined by a bar bar pixels thick, as
// fonts with thick and thin strokes have (Yusei Magic's open "4").
func hShape(width, bar float64) *Mask {
	return DrawStrokes([]Stroke{{{10, 10}, {10, 110}}, {{70, 10}, {70, 110}}}, width, 1).
		Crop(image.Rect(-2, -2, 100, 130)).maxOver(DrawStrokes([]Stroke{{{10, 60}, {70, 60}}}, bar, 1), 2, 2)
}

// maxOver returns m with o drawn over it at (dx, dy), keeping the larger coverage.
func (m *Mask) maxOver(o *Mask, dx, dy int) *Mask {
	c := m.Clone()
	for y := range o.H {
		for x := range o.W {
			if v := o.At(x, y); v > c.At(x+dx, y+dy) && x+dx < c.W && y+dy < c.H {
				c.Set(x+dx, y+dy, v)
			}
		}
	}
	return c
}

func TestThinWidth(t *testing.T) {
	h := hShape(12, 3)
	if got := h.ThinWidth(); got < 2 || got > 4.5 {
		t.Errorf("H with 12 px stems and a 3 px bar: ThinWidth %.1f, want about 3", got)
	}
	if got := ring(8).ThinWidth(); got < 6.5 || got > 9 {
		t.Errorf("ring 8 px wide: ThinWidth %.1f, want about 8", got)
	}
	if got := NewMask(4, 4).ThinWidth(); got != 0 {
		t.Errorf("blank: ThinWidth %g, want 0", got)
	}
}

// TestThinPenKeepsHairlines: asking for a pen much thinner than the stems must not
// erase the thin bar between them.
func TestThinPenKeepsHairlines(t *testing.T) {
	h := hShape(12, 3)
	thin, _ := prepare(h, 0.02)
	bar := thin.Bounds(0.5)
	mid := bar.Min.X + bar.Dx()/2
	if got := thin.Crop(image.Rect(mid, 0, mid+1, thin.H)).Ink(); got < 1.5 {
		t.Errorf("H thinned to a 0.02 pen: %.1f px of ink across the bar's middle, want the bar kept", got)
	}
	if thin.Ink() >= h.Ink() {
		t.Errorf("H thinned: %.0f px of ink, not less than the original %.0f", thin.Ink(), h.Ink())
	}
}
