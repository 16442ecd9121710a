package synth

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// ErrNoGlyph is returned for a rune the font does not draw (no glyph, or one
// without ink such as a space).
var ErrNoGlyph = errors.New("synth: font has no glyph for the rune")

// Font is a TrueType or OpenType (CFF) font. Its methods are safe for concurrent use.
type Font struct {
	f    *sfnt.Font
	name string
}

// LoadFont reads a .ttf or .otf file.
func LoadFont(path string) (*Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	f, err := ParseFont(data)
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %w", path, err)
	}
	return f, nil
}

// ParseFont parses the bytes of a .ttf or .otf file; it keeps data.
func ParseFont(data []byte) (*Font, error) {
	f, err := sfnt.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("synth: parsing font: %w", err)
	}
	name, err := f.Name(nil, sfnt.NameIDFull)
	if err != nil {
		name = "?"
	}
	return &Font{f: f, name: name}, nil
}

// Name is the font's full name (e.g. "Kristi"), "?" when it has none.
func (f *Font) Name() string { return f.name }

// Has reports whether the font has a glyph for r. A glyph may still have no ink.
func (f *Font) Has(r rune) bool {
	i, err := f.f.GlyphIndex(new(sfnt.Buffer), r)
	return err == nil && i != 0
}

// Glyph draws r at ppem pixels to the em, anti-aliased, and returns it trimmed to
// its ink with a margin of 2 pixels. A digit's height is about 0.7 em in most
// fonts, so ppem 180 gives digits about 128 pixels tall. It returns ErrNoGlyph
// when the font lacks r or its glyph has no ink.
func (f *Font) Glyph(r rune, ppem float64) (*Mask, error) {
	var buf sfnt.Buffer
	idx, err := f.f.GlyphIndex(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %q: %w", f.name, r, err)
	}
	if idx == 0 {
		return nil, fmt.Errorf("%w %q (%s)", ErrNoGlyph, r, f.name)
	}
	segs, err := f.f.LoadGlyph(&buf, idx, fixed.Int26_6(math.Round(ppem*64)), nil)
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %q: %w", f.name, r, err)
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("%w %q (%s): no outline", ErrNoGlyph, r, f.name)
	}
	m := rasterize(segs)
	if m.Ink() < 1 {
		return nil, fmt.Errorf("%w %q (%s): no ink", ErrNoGlyph, r, f.name)
	}
	return m.Trim(2), nil
}

// rasterize fills the outline segs (26.6 fixed point, y down, origin at the
// glyph's baseline) into a mask just big enough for it. Control points bound a
// Bézier curve, so the box of all points holds the outline.
func rasterize(segs sfnt.Segments) *Mask {
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, s := range segs {
		for _, p := range s.Args[:argCount(s.Op)] {
			x, y := fix(p.X), fix(p.Y)
			minX, minY = min(minX, x), min(minY, y)
			maxX, maxY = max(maxX, x), max(maxY, y)
		}
	}
	ox, oy := math.Floor(minX)-1, math.Floor(minY)-1
	w, h := int(math.Ceil(maxX-ox))+2, int(math.Ceil(maxY-oy))+2
	pt := func(p fixed.Point26_6) (float32, float32) {
		return float32(fix(p.X) - ox), float32(fix(p.Y) - oy)
	}
	z := vector.NewRasterizer(w, h)
	for i, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			if i > 0 {
				z.ClosePath() // contours are closed, but the rasterizer must be told
			}
			z.MoveTo(pt(s.Args[0]))
		case sfnt.SegmentOpLineTo:
			z.LineTo(pt(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			z.QuadTo(x1, y1, x2, y2)
		case sfnt.SegmentOpCubeTo:
			x1, y1 := pt(s.Args[0])
			x2, y2 := pt(s.Args[1])
			x3, y3 := pt(s.Args[2])
			z.CubeTo(x1, y1, x2, y2, x3, y3)
		}
	}
	z.ClosePath()
	a := image.NewAlpha(image.Rect(0, 0, w, h))
	z.Draw(a, a.Bounds(), image.Opaque, image.Point{})
	m := NewMask(w, h)
	for i, v := range a.Pix {
		m.Pix[i] = float32(v) / 255
	}
	return m
}

// argCount is how many points a segment of op carries in Args.
func argCount(op sfnt.SegmentOp) int {
	switch op {
	case sfnt.SegmentOpQuadTo:
		return 2
	case sfnt.SegmentOpCubeTo:
		return 3
	}
	return 1
}

func fix(v fixed.Int26_6) float64 { return float64(v) / 64 }

// Text draws each character of text (a number's digits, say) with Glyph, and returns
// the masks with their labels, ready for ComposeNumber.
func (f *Font) Text(text string, ppem float64) ([]*Mask, []string, error) {
	var ms []*Mask
	var ls []string
	for _, r := range text {
		m, err := f.Glyph(r, ppem)
		if err != nil {
			return nil, nil, err
		}
		ms, ls = append(ms, m), append(ls, string(r))
	}
	return ms, ls, nil
}
