package synth

import (
	"errors"
	"math"
	"testing"

	"golang.org/x/image/font/gofont/goregular"
)

// goRegular is the Go font: a print face, but always at hand (it is Go source in
// golang.org/x/image), so the tests need no installed fonts.
func goRegular(t *testing.T) *Font {
	t.Helper()
	f, err := ParseFont(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGlyphShapes(t *testing.T) {
	f := goRegular(t)
	if f.Name() != "Go Regular" {
		t.Errorf("Name() = %q, want %q", f.Name(), "Go Regular")
	}
	one, err := f.Glyph('1', 180)
	if err != nil {
		t.Fatal(err)
	}
	// Go's '1' has a foot and a flag, so its box is only 1.8 times as tall as
	// wide; in between it is a thin stem.
	b := one.Bounds(0.5)
	if b.Dy() < 3*b.Dx()/2 || b.Dy() < 100 || b.Dy() > 140 {
		t.Errorf("'1' at 180 ppem: ink box %d×%d, want a tall box about 128 px tall", b.Dx(), b.Dy())
	}
	for y := b.Min.Y + b.Dy()/3; y < b.Min.Y+2*b.Dy()/3; y++ {
		if w := inkRuns(one, y); len(w) != 1 || w[0] > b.Dy()/6 {
			t.Fatalf("'1': row %d has ink runs %v px wide, want one thin stem", y, w)
		}
	}
	zero, err := f.Glyph('0', 180)
	if err != nil {
		t.Fatal(err)
	}
	// A '0' is a ring: two sides of ink at mid-height (Go's has a slash too).
	if w := inkRuns(zero, zero.H/2); len(w) < 2 {
		t.Errorf("'0': ink runs %v across its middle, want at least 2 (a ring)", w)
	}
	// A '7' has its bar at the top: more ink in the top fifth than in the bottom fifth.
	seven, err := f.Glyph('7', 180)
	if err != nil {
		t.Fatal(err)
	}
	top := seven.Crop(seven.Bounds(0.5)).Crop(rectRows(seven.Bounds(0.5).Dx(), 0, seven.Bounds(0.5).Dy()/5)).Ink()
	sb := seven.Bounds(0.5)
	bottom := seven.Crop(sb).Crop(rectRows(sb.Dx(), sb.Dy()*4/5, sb.Dy())).Ink()
	if top < 2*bottom {
		t.Errorf("'7': %.0f px of ink in the top fifth, %.0f in the bottom fifth; want the bar on top (upside down?)", top, bottom)
	}
}

func TestGlyphScales(t *testing.T) {
	f := goRegular(t)
	small, _ := f.Glyph('8', 60)
	big, _ := f.Glyph('8', 240)
	if r := float64(big.Bounds(0.5).Dy()) / float64(small.Bounds(0.5).Dy()); math.Abs(r-4) > 0.15 {
		t.Errorf("'8' at 240 vs 60 ppem: height ratio %.2f, want 4", r)
	}
}

func TestGlyphMissing(t *testing.T) {
	f := goRegular(t)
	for _, r := range []rune{' ', '\U0001F600', '\u0915'} { // a space, an emoji, Devanagari ka
		if _, err := f.Glyph(r, 100); !errors.Is(err, ErrNoGlyph) {
			t.Errorf("Glyph(%q): error %v, want ErrNoGlyph", r, err)
		}
	}
	if f.Has('\U0001F600') || !f.Has('A') {
		t.Errorf("Has: emoji %v, 'A' %v; want false, true", f.Has('\U0001F600'), f.Has('A'))
	}
}

func TestParseFontRejectsGarbage(t *testing.T) {
	if _, err := ParseFont([]byte("not a font at all")); err == nil {
		t.Error("ParseFont(garbage): no error")
	}
	if _, err := LoadFont("testdata/no-such-font.ttf"); err == nil {
		t.Error("LoadFont(missing file): no error")
	}
}

// inkRuns returns the widths of the runs of ink (coverage ≥ 0.5) along row y.
func inkRuns(m *Mask, y int) []int {
	var runs []int
	n := 0
	for x := 0; x <= m.W; x++ {
		if m.At(x, y) >= 0.5 {
			n++
		} else if n > 0 {
			runs = append(runs, n)
			n = 0
		}
	}
	return runs
}
