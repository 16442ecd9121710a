package digitnet_test

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/digitnet/digitnet"
	"github.com/digitnet/digitnet/internal/synth"
)

// number draws text in the Go font as a number on paper, in style name, with gaps
// between the digits' ink of gapMin..gapMax digit heights.
func number(t testing.TB, text, style string, gapMin, gapMax float64, seed uint64) *synth.Number {
	t.Helper()
	font, err := synth.ParseFont(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	digits, labels, err := font.Text(text, 120)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	st, err := synth.Preset(style)
	if err != nil {
		t.Fatal(err)
	}
	st.Size = 80
	lay := synth.DefaultLayout
	lay.GapMin, lay.GapMax = gapMin, gapMax
	n, err := synth.ComposeNumber(digits, labels, lay, st, rng)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReadNumber(t *testing.T) {
	m, err := digitnet.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text, style string
	}{
		{"2026", "clean"}, {"31415926", "marker"}, {"907", "ballpoint-blue"}, {"5813", "pencil"}, {"460", "photo"},
	} {
		n := number(t, c.text, c.style, 0.15, 0.4, 1)
		r, err := m.ReadNumber(n.Image)
		if err != nil {
			t.Fatal(err)
		}
		if r.Text != c.text || len(r.Digits) != len(c.text) {
			t.Errorf("%s in %s: read %q (%d digits), want %q", c.text, c.style, r.Text, len(r.Digits), c.text)
			continue
		}
		for i, d := range r.Digits {
			want := n.Boxes[i].Rect
			if !d.Box.Overlaps(want) || d.Box.Intersect(want).Dx()*2 < want.Dx() {
				t.Errorf("%s: digit %d's box %v, drawn at %v", c.text, i, d.Box, want)
			}
		}
		if r.Confidence <= 0 || r.Confidence > 1 {
			t.Errorf("%s: confidence %v", c.text, r.Confidence)
		}
	}
}

// Touching digits are cut apart; specks and an underline are not digits.
func TestReadNumberTouchingAndMarks(t *testing.T) {
	m, err := digitnet.Default()
	if err != nil {
		t.Fatal(err)
	}
	n := number(t, "4807", "clean", -0.08, -0.02, 3)
	if !n.TouchingAny() {
		t.Fatal("the test number's digits do not touch")
	}
	if r, _ := m.ReadNumber(n.Image); r.Text != "4807" {
		t.Errorf("touching 4807: read %q", r.Text)
	}
	n = number(t, "735", "clean", 0.2, 0.3, 4)
	img := image.NewRGBA(n.Image.Bounds())
	draw.Draw(img, img.Bounds(), n.Image, image.Point{}, draw.Src)
	b := img.Bounds()
	ink := color.RGBA{20, 20, 20, 255}
	for x := b.Min.X + 5; x < b.Max.X-5; x++ { // an underline
		img.Set(x, b.Max.Y-4, ink)
		img.Set(x, b.Max.Y-3, ink)
	}
	for _, p := range []image.Point{{3, 3}, {b.Max.X - 6, 8}} { // two specks
		img.Set(p.X, p.Y, ink)
		img.Set(p.X+1, p.Y, ink)
	}
	if r, _ := m.ReadNumber(img); r.Text != "735" {
		t.Errorf("735 underlined with specks: read %q", r.Text)
	}
	blank := image.NewGray(image.Rect(0, 0, 300, 100))
	for i := range blank.Pix {
		blank.Pix[i] = 250
	}
	if r, err := m.ReadNumber(blank); err != nil || r.Text != "" || r.Reason != digitnet.ReasonNoInk {
		t.Errorf("a blank page: %+v, %v; want no text and reason %q", r, err, digitnet.ReasonNoInk)
	}
	// A floor above every probability marks every digit unsure.
	r, _ := m.WithMinConfidence(1.01).ReadNumber(number(t, "12", "clean", 0.2, 0.3, 5).Image)
	if r.Text != "??" || len(r.Digits) != 2 || !r.Digits[0].Unsure || r.Digits[0].Digit != 1 {
		t.Errorf("with a floor of 1.01: %q %+v, want ?? with the guesses kept", r.Text, r.Digits)
	}
	if !strings.Contains(r.Text, "?") {
		t.Error("unsure digits are not marked in the text")
	}
}

// BenchmarkReadNumber reads an 8-digit number in a 1-megapixel photo (1000×1000):
//
//	GOMAXPROCS=1 OPENBLAS_NUM_THREADS=1 go test -run - -bench ReadNumber .
func BenchmarkReadNumber(b *testing.B) {
	m, err := digitnet.Default()
	if err != nil {
		b.Fatal(err)
	}
	n := number(b, "20261203", "photo", 0.15, 0.4, 9)
	page := image.NewRGBA(image.Rect(0, 0, 1000, 1000))
	draw.Draw(page, page.Bounds(), image.NewUniform(color.RGBA{200, 196, 188, 255}), image.Point{}, draw.Src)
	// The number, scaled to about 900 px wide, in the middle of the page.
	src := n.Image.Bounds()
	k := 900.0 / float64(src.Dx())
	h := int(float64(src.Dy()) * k)
	for y := range h {
		for x := range 900 {
			page.Set(50+x, 500-h/2+y, n.Image.At(int(float64(x)/k), int(float64(y)/k)))
		}
	}
	r, err := m.ReadNumber(page)
	if err != nil || r.Text != "20261203" {
		b.Fatalf("read %q (%v), want 20261203", r.Text, err)
	}
	b.ResetTimer()
	for b.Loop() {
		m.ReadNumber(page)
	}
}
