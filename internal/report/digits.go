package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot/font"
)

// Layout of the misclassified grid in device pixels. Like the plots, the grid is drawn
// at twice the CSS pixel density (dpr), so it is sharp on high-density screens and
// index.html shows it at half its pixel size.
const (
	dpr        = pngDPI / 96
	digitScale = 3 * dpr                // a digit shows 3× its size: 84 CSS pixels
	digitPx    = DigitSide * digitScale // 168
	minCellW   = 128 * dpr              // digit plus room for its caption
	maxCellW   = 184 * dpr              // room for long class names
	captionPx  = 14 * dpr               // caption font size
	lineH      = 18 * dpr               // caption line height
	digitTop   = 6 * dpr                // space above a digit in its cell
	captionTop = digitTop + digitPx + 4*dpr
	captionPad = 8 * dpr // between captions of neighbouring cells
	headerH    = 30 * dpr
	gridCols   = 8          // digits a row at most
	maxGridW   = 1120 * dpr // fits the page of index.html unscaled
	margin     = 12 * dpr
)

var (
	paper = color.RGBA{0xff, 0xff, 0xff, 0xff}
	frame = color.RGBA{0xcc, 0xcc, 0xcc, 0xff}
	ink   = color.RGBA{0x22, 0x22, 0x22, 0xff}
	wrong = color.RGBA{0xc0, 0x1b, 0x0c, 0xff}
)

// misclassified draws the digits in a grid, up to 8 a row, dark ink on white, each
// captioned "true 4 → 9 (97%)" with the wrong prediction in red. A caption too wide for
// its cell (long Fashion-MNIST names) is split over two lines.
func misclassified(ds []Digit, names []string) ([]byte, error) {
	for i, d := range ds {
		if len(d.Pixels) != DigitSide*DigitSide {
			return nil, fmt.Errorf("report: worst digit %d has %d pixels, want %d×%d", i, len(d.Pixels), DigitSide, DigitSide)
		}
	}
	face := pixelFace(sans, captionPx)
	bold := pixelFace(sansBold, 16*dpr)

	// The captions, "true T → P (97%)" on one line, or on two if that is too wide;
	// cells widen (up to maxCellW) for long class names before names are shortened.
	type caption struct{ one, first, second []segment }
	caps := make([]caption, len(ds))
	cellW := minCellW
	for i, d := range ds {
		prob := ""
		if !math.IsNaN(d.Probability) {
			prob = fmt.Sprintf(" (%.0f%%)", 100*math.Min(math.Max(d.Probability, 0), 1))
		}
		truth := "true " + className(names, d.True)
		pred := "→ " + className(names, d.Predicted)
		c := caption{
			one:    []segment{{truth + " ", ink}, {pred, wrong}, {prob, ink}},
			first:  []segment{{truth, ink}},
			second: []segment{{pred, wrong}, {prob, ink}},
		}
		if width(face, c.one) > minCellW-captionPad {
			cellW = max(cellW, min(max(width(face, c.first), width(face, c.second))+captionPad, maxCellW))
		}
		caps[i] = c
	}
	lines := 1
	for i, c := range caps {
		if width(face, c.one) <= cellW-captionPad {
			caps[i].first, caps[i].second = nil, nil
			continue
		}
		lines = 2
		caps[i].one = nil
		caps[i].first = fit(face, c.first, cellW-captionPad)
		caps[i].second = fit(face, c.second, cellW-captionPad)
	}
	cellH := captionTop + lines*lineH + 10*dpr

	cols := min(len(ds), gridCols, (maxGridW-2*margin)/cellW)
	rows := (len(ds) + cols - 1) / cols
	w := max(2*margin+cols*cellW, 560*dpr) // wide enough for the header
	h := headerH + rows*cellH + margin
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(paper), image.Point{}, draw.Src)

	header := "worst misclassified digits — most confident mistakes first"
	if len(ds) == 1 {
		header = "worst misclassified digit"
	}
	drawText(img, bold, ink, margin, 21*dpr, header)

	for i, d := range ds {
		x0 := margin + (i%cols)*cellW
		y0 := headerH + (i/cols)*cellH
		// The digit, centred in its cell, with a thin frame.
		dx := x0 + (cellW-digitPx)/2
		dy := y0 + digitTop
		r := image.Rect(dx-dpr, dy-dpr, dx+digitPx+dpr, dy+digitPx+dpr)
		draw.Draw(img, r, image.NewUniform(frame), image.Point{}, draw.Src)
		for y := range DigitSide {
			for x := range DigitSide {
				v := 255 - d.Pixels[y*DigitSide+x]
				c := color.RGBA{v, v, v, 0xff}
				px := image.Rect(dx+x*digitScale, dy+y*digitScale, dx+(x+1)*digitScale, dy+(y+1)*digitScale)
				draw.Draw(img, px, image.NewUniform(c), image.Point{}, draw.Src)
			}
		}

		ty := y0 + captionTop + lineH - 4*dpr // baseline
		if c := caps[i]; c.one != nil {
			drawSegments(img, face, x0+cellW/2, ty, c.one)
		} else {
			drawSegments(img, face, x0+cellW/2, ty, c.first)
			drawSegments(img, face, x0+cellW/2, ty+lineH, c.second)
		}
	}

	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("report: encode %s: %w", MisclassifiedPNG, err)
	}
	return b.Bytes(), nil
}

// pixelFace returns f at a size of px pixels.
func pixelFace(f font.Font, px int) xfont.Face {
	face := font.DefaultCache.Lookup(f, font.Length(px))
	return face.FontFace(72) // at 72 dpi a point is a pixel
}

// segment is a run of caption text in one colour.
type segment struct {
	text string
	c    color.Color
}

func width(face xfont.Face, segs []segment) int {
	var w fixed.Int26_6
	for _, s := range segs {
		w += xfont.MeasureString(face, s.text)
	}
	return w.Ceil()
}

// fit shortens the first segment with "…" until segs fit in maxW pixels.
func fit(face xfont.Face, segs []segment, maxW int) []segment {
	for width(face, segs) > maxW {
		r := []rune(segs[0].text)
		if len(r) <= 2 {
			break
		}
		r = append(r[:len(r)-2], '…')
		segs[0].text = string(r)
	}
	return segs
}

// drawSegments draws segs centred on x with its baseline at y.
func drawSegments(img draw.Image, face xfont.Face, x, y int, segs []segment) {
	x -= width(face, segs) / 2
	for _, s := range segs {
		x = drawText(img, face, s.c, x, y, s.text)
	}
}

// drawText draws s with its baseline starting at (x, y) and returns where it ends.
func drawText(img draw.Image, face xfont.Face, c color.Color, x, y int, s string) int {
	d := xfont.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
	return d.Dot.X.Ceil()
}
