package synth

import (
	"bytes"
	"image"
	"image/png"
	"math/rand/v2"
	"testing"
)

func glyph(t *testing.T, r rune) *Mask {
	t.Helper()
	m, err := goRegular(t).Glyph(r, 180)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func pngBytes(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// styles returns every preset and a few random styles.
func styles(t *testing.T) []Style {
	var sts []Style
	for _, n := range Presets() {
		st, err := Preset(n)
		if err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 4 {
		st := Random(rng)
		st.Name = "random " + st.Name
		sts = append(sts, st)
	}
	return sts
}

func TestRenderDeterministic(t *testing.T) {
	m := glyph(t, '4')
	for _, st := range styles(t) {
		a := pngBytes(t, Render(m, st, rand.New(rand.NewPCG(1, 2))))
		b := pngBytes(t, Render(m, st, rand.New(rand.NewPCG(1, 2))))
		if !bytes.Equal(a, b) {
			t.Errorf("style %s: two renders with seed (1,2) differ", st.Name)
		}
		if st.Noise == 0 && st.Texture == 0 && st.Perspective == 0 {
			continue // nothing random to differ
		}
		c := pngBytes(t, Render(m, st, rand.New(rand.NewPCG(1, 3))))
		if bytes.Equal(a, c) {
			t.Errorf("style %s: seeds (1,2) and (1,3) give the same picture", st.Name)
		}
	}
}

func TestRenderSizeAndOpacity(t *testing.T) {
	m := glyph(t, '2')
	for _, st := range styles(t) {
		for _, size := range []int{64, 131, 200} {
			st.Size = size
			img := Render(m, st, rand.New(rand.NewPCG(5, 6)))
			if b := img.Bounds(); b != image.Rect(0, 0, size, size) {
				t.Errorf("style %s, Size %d: bounds %v", st.Name, size, b)
			}
			for i := 3; i < len(img.Pix); i += 4 {
				if img.Pix[i] != 255 {
					t.Fatalf("style %s: alpha %d at byte %d, want opaque", st.Name, img.Pix[i], i)
				}
			}
		}
	}
}

// inkBox returns the box of the pixels whose luma differs from the paper's (the
// picture's corner) by more than half the ink's contrast, and how many there are.
func inkBox(img *image.RGBA) (image.Rectangle, int) {
	luma := func(x, y int) int {
		i := img.PixOffset(x, y)
		return (299*int(img.Pix[i]) + 587*int(img.Pix[i+1]) + 114*int(img.Pix[i+2])) / 1000
	}
	paper := luma(0, 0)
	far := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			far = max(far, abs(luma(x, y)-paper))
		}
	}
	var r image.Rectangle
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if abs(luma(x, y)-paper) > far/2 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	return r, n
}

func abs(x int) int { return max(x, -x) }

func TestRenderPlacement(t *testing.T) {
	st, _ := Preset("clean")
	st.Size, st.Scale = 100, 0.6
	img := Render(glyph(t, '1'), st, rand.New(rand.NewPCG(1, 1)))
	r, _ := inkBox(img)
	if r.Dy() < 57 || r.Dy() > 63 {
		t.Errorf("'1' with Scale 0.6 in 100 px: ink %d px tall, want 60", r.Dy())
	}
	if r.Dx()*3/2 > r.Dy() {
		t.Errorf("'1': ink box %v, want tall and thin", r)
	}
	if c := (r.Min.Y + r.Max.Y) / 2; c < 48 || c > 52 {
		t.Errorf("'1' without offset: ink centred at y %d, want 50", c)
	}
	st.OffsetX = 0.15
	if r2, _ := inkBox(Render(glyph(t, '1'), st, rand.New(rand.NewPCG(1, 1)))); r2.Min.X-r.Min.X < 13 || r2.Min.X-r.Min.X > 17 {
		t.Errorf("OffsetX 0.15 moved the ink from x %d to %d, want 15 px right", r.Min.X, r2.Min.X)
	}
}

func TestRenderKeepsInkInside(t *testing.T) {
	st, _ := Preset("clean")
	st.Scale, st.OffsetX, st.Slant, st.Rotate = 0.9, 0.3, 0.4, 10
	r, _ := inkBox(Render(glyph(t, '0'), st, rand.New(rand.NewPCG(1, 1))))
	if r.Min.X < 1 || r.Min.Y < 1 || r.Max.X > st.Size-1 || r.Max.Y > st.Size-1 {
		t.Errorf("a big, slanted, off-centre '0': ink box %v reaches the edge of the %d px picture", r, st.Size)
	}
}

func TestRenderPen(t *testing.T) {
	st, _ := Preset("clean")
	m := glyph(t, '3')
	ink := map[float64]int{}
	for _, pen := range []float64{0.03, 0.08, 0.16} {
		st.Pen = pen
		_, ink[pen] = inkBox(Render(m, st, rand.New(rand.NewPCG(1, 1))))
	}
	if !(ink[0.03] < ink[0.08] && ink[0.08] < ink[0.16]) {
		t.Errorf("ink pixels for pens 0.03, 0.08, 0.16: %d, %d, %d; want growing", ink[0.03], ink[0.08], ink[0.16])
	}
}

func TestRenderPolarity(t *testing.T) {
	m := glyph(t, '8')
	for _, tc := range []struct {
		style string
		dark  bool // ink darker than paper
	}{{"clean", true}, {"marker", true}, {"pencil", true}, {"ballpoint-blue", true}, {"photo", true}, {"drawn", true}, {"chalk", false}} {
		st, _ := Preset(tc.style)
		ink, paper := inkAndPaper(t, m, st)
		if got := ink.G < paper.G; got != tc.dark {
			t.Errorf("style %s: mean ink %v, mean paper %v; want ink darker: %v", tc.style, ink, paper, tc.dark)
		}
		if tc.style == "ballpoint-blue" && ink.B < ink.R+30 {
			t.Errorf("ballpoint-blue: mean ink %v, want blue", ink)
		}
	}
}

// inkAndPaper returns the mean colour of m drawn in st where the ink is and
// where it is not, found by drawing the same geometry black on white.
func inkAndPaper(t *testing.T, m *Mask, st Style) (ink, paper RGB) {
	t.Helper()
	img := Render(m, st, rand.New(rand.NewPCG(1, 1)))
	ref := st // same geometry (and the same random tilt), black on white
	ref.Ink, ref.Alpha, ref.Paper, ref.Soft, ref.Grain = RGB{}, 1, RGB{255, 255, 255}, 0, 0
	ref.Light, ref.Texture, ref.Rule, ref.Noise, ref.Blur, ref.JPEG = 0, 0, 0, 0, 0, 0
	refImg := Render(m, ref, rand.New(rand.NewPCG(1, 1)))
	var ni, np float64
	for i := 0; i < len(img.Pix); i += 4 {
		c := RGB{float64(img.Pix[i]), float64(img.Pix[i+1]), float64(img.Pix[i+2])}
		switch refImg.Pix[i] {
		case 0:
			ink, ni = RGB{ink.R + c.R, ink.G + c.G, ink.B + c.B}, ni+1
		case 255:
			paper, np = RGB{paper.R + c.R, paper.G + c.G, paper.B + c.B}, np+1
		}
	}
	if ni < 50 || np < 50 {
		t.Fatalf("style %s: %.0f ink and %.0f paper pixels in the black-on-white reference", st.Name, ni, np)
	}
	return ink.scale(1 / ni), paper.scale(1 / np)
}

func TestRenderBlank(t *testing.T) {
	st, _ := Preset("clean")
	img := Render(NewMask(10, 10), st, rand.New(rand.NewPCG(1, 1)))
	for i, v := range img.Pix {
		if v != 255 {
			t.Fatalf("blank mask on clean white paper: byte %d is %d, want 255", i, v)
		}
	}
}

func TestPresetUnknown(t *testing.T) {
	if _, err := Preset("crayon"); err == nil {
		t.Error(`Preset("crayon"): no error`)
	}
	for _, n := range []string{"clean", "marker", "pencil", "ballpoint-blue", "photo", "drawn"} {
		if st, err := Preset(n); err != nil || st.Name != n || st.Size == 0 {
			t.Errorf("Preset(%q) = %+v, %v", n, st, err)
		}
	}
}
