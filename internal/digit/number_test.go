package digit

import (
	"image"
	"math"
	"testing"
)

// row draws glyphs into one W×H image, each in its box, dark on light paper; extra
// strokes (in image pixels) are drawn too.
func row(W, H int, pen float64, items []struct {
	g   glyph
	box image.Rectangle
}, extra [][][2]float64) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, W, H))
	cov := make([]float32, W*H)
	for _, it := range items {
		for i, c := range it.g.coverage(W, H, it.box, pen) {
			cov[i] = max(cov[i], c)
		}
	}
	if len(extra) > 0 {
		for i, c := range glyph(extra).coverage(W, H, image.Rect(0, 0, 1, 1), pen) {
			cov[i] = max(cov[i], c)
		}
	}
	for i, c := range cov {
		m.Pix[i] = uint8(math.Round(245 * (1 - float64(c)*0.88)))
	}
	return m
}

type placed = struct {
	g   glyph
	box image.Rectangle
}

func TestSegment(t *testing.T) {
	box := func(x, w int) image.Rectangle { return image.Rect(x, 40, x+w, 140) }
	tests := []struct {
		name  string
		items []placed
		extra [][][2]float64 // in image pixels (the unit box is 1×1)
		want  int            // digits
		top   int            // the first group's box starts no lower than this
	}{
		{"apart", []placed{{glyphs['2'], box(30, 60)}, {glyphs['0'], box(120, 60)}, {glyphs['4'], box(210, 60)}, {glyphs['7'], box(300, 60)}}, nil, 4, 45},
		// The 7's top bar reaches over the 4's columns without touching it.
		{"leaning", []placed{{glyphs['4'], box(30, 60)}, {glyphs['7'], box(80, 60)}, {glyphs['1'], box(170, 50)}}, nil, 3, 45},
		// A 5 whose top bar came loose, beside a 3: still two digits.
		{"loose bar", []placed{{glyph{{{0.75, 0.3}, {0.3, 0.3}, {0.25, 0.55}}, arc(0.5, 0.72, 0.35, 0.25, 200, 450)}, box(30, 60)},
			{glyph{{{0.3, 0.02}, {0.9, 0.02}}}, box(30, 60)}, {glyphs['3'], box(120, 60)}}, nil, 2, 45},
		// An underline and specks are no digits.
		{"underline and specks", []placed{{glyphs['1'], box(40, 50)}, {glyphs['7'], box(120, 60)}},
			[][][2]float64{{{20, 160}, {230, 160}}, {{5, 5}, {6, 5}}, {{280, 30}, {281, 30}}}, 2, 45},
		// Touching: 0 and 0 drawn into each other are cut in two.
		{"touching", []placed{{glyphs['0'], box(30, 60)}, {glyphs['0'], box(84, 60)}, {glyphs['7'], box(170, 60)}}, nil, 3, 45},
	}
	for _, tc := range tests {
		img := row(400, 180, 9, tc.items, tc.extra)
		gs, err := Segment(img)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		n := 0
		for _, g := range gs {
			n += len(g.Ways[g.Best])
			for _, w := range g.Ways {
				for _, p := range w {
					if len(p.Pixels) != Size*Size {
						t.Fatalf("%s: a part of %d pixels", tc.name, len(p.Pixels))
					}
				}
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d groups giving %d digits, want %d", tc.name, len(gs), n, tc.want)
		}
		// Digits that do not touch are groups of their own, never cut.
		if apart := tc.name != "touching"; apart && len(gs) != tc.want {
			t.Errorf("%s: %d groups, want one for each of the %d digits", tc.name, len(gs), tc.want)
		}
		if len(gs) > 0 && gs[0].Box.Min.Y > tc.top {
			t.Errorf("%s: the first digit's box %v starts below y=%d: a part of it was left out", tc.name, gs[0].Box, tc.top)
		}
		for i := 1; i < len(gs); i++ {
			if gs[i].Box.Min.X < gs[i-1].Box.Min.X {
				t.Errorf("%s: groups not left to right: %v then %v", tc.name, gs[i-1].Box, gs[i].Box)
			}
		}
	}
	blank := row(200, 100, 5, nil, nil)
	if _, err := Segment(blank); !errIs(err, ErrNoInk) {
		t.Errorf("a blank page: %v, want ErrNoInk", err)
	}
}
