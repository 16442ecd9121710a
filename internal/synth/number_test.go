package synth

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func digits(t *testing.T, s string) ([]*Mask, []string) {
	t.Helper()
	var ms []*Mask
	var ls []string
	for _, r := range s {
		ms = append(ms, glyph(t, r))
		ls = append(ls, string(r))
	}
	return ms, ls
}

func TestComposeNumberBoxes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := range 12 {
		n := 2 + trial%11
		var sb strings.Builder
		for range n {
			sb.WriteByte(byte('0' + rng.IntN(10)))
		}
		ms, ls := digits(t, sb.String())
		st := Random(rng)
		st.Size = 60
		lay := DefaultLayout
		if trial%2 == 1 {
			lay.GapMin, lay.GapMax = -0.25, 0
		}
		num, err := ComposeNumber(ms, ls, lay, st, rng)
		if err != nil {
			t.Fatal(err)
		}
		b := num.Image.Bounds()
		if len(num.Boxes) != n || len(num.Touching) != n-1 {
			t.Fatalf("%s: %d boxes and %d touching flags, want %d and %d", sb.String(), len(num.Boxes), len(num.Touching), n, n-1)
		}
		for i, bx := range num.Boxes {
			if bx.Label != ls[i] {
				t.Errorf("%s: box %d labelled %q, want %q", sb.String(), i, bx.Label, ls[i])
			}
			if bx.Rect.Empty() || !bx.Rect.In(b) {
				t.Errorf("%s (%s): box %d %v is empty or outside the picture %v", sb.String(), st.Name, i, bx.Rect, b)
			}
			if i > 0 {
				prev := num.Boxes[i-1].Rect
				if bx.Rect.Min.X <= prev.Min.X || bx.Rect.Max.X <= prev.Max.X {
					t.Errorf("%s: box %d %v does not come after box %d %v, left to right", sb.String(), i, bx.Rect, i-1, prev)
				}
			}
		}
		if b.Dy() < st.Size*9/10 || b.Dy() > st.Size*2 {
			t.Errorf("%s: picture %v for Size %d, want about %d px tall", sb.String(), b, st.Size, st.Size)
		}
	}
}

func TestComposeNumberTouching(t *testing.T) {
	ms, ls := digits(t, "0000")
	st, _ := Preset("clean")
	apart := Layout{GapMin: 0.3, GapMax: 0.3}
	num, err := ComposeNumber(ms, ls, apart, st, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if num.TouchingAny() {
		t.Errorf("0000 with gaps of 0.3 digit heights: touching %v, want none", num.Touching)
	}
	for i := 1; i < len(num.Boxes); i++ {
		if gap := num.Boxes[i].Rect.Min.X - num.Boxes[i-1].Rect.Max.X; gap < 15 {
			t.Errorf("0000 with gaps of 0.3×70 px: boxes %d and %d are %d px apart, want about 21", i-1, i, gap)
		}
	}
	over := Layout{GapMin: -0.15, GapMax: -0.15}
	num, err = ComposeNumber(ms, ls, over, st, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for i, touch := range num.Touching {
		if !touch {
			t.Errorf("0000 overlapping by 0.15 digit heights: digits %d and %d do not touch", i, i+1)
		}
	}
}

func TestComposeNumberDeterministic(t *testing.T) {
	ms, ls := digits(t, "31415")
	st, _ := Preset("photo")
	a, err := ComposeNumber(ms, ls, DefaultLayout, st, rand.New(rand.NewPCG(2, 7)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ComposeNumber(ms, ls, DefaultLayout, st, rand.New(rand.NewPCG(2, 7)))
	if !bytes.Equal(pngBytes(t, a.Image), pngBytes(t, b.Image)) {
		t.Error("two numbers composed with seed (2,7) differ")
	}
}

func TestComposeNumberErrors(t *testing.T) {
	ms, ls := digits(t, "12")
	st, _ := Preset("clean")
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name string
		ms   []*Mask
		ls   []string
	}{
		{"no digits", nil, nil},
		{"labels missing", ms, ls[:1]},
		{"blank digit", []*Mask{ms[0], NewMask(5, 5)}, ls},
	} {
		if _, err := ComposeNumber(tc.ms, tc.ls, DefaultLayout, st, rng); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
