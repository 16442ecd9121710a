package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// pngDPI renders PNGs at twice the CSS pixel density (96 dpi), so figures stay sharp on
// high-density screens; index.html shows them at their CSS size.
const pngDPI = 2 * vgimg.DefaultDPI

// Font sizes in points. gonum's defaults (12pt serif everywhere) read small once a
// figure is scaled to fit a page; these are tuned by looking at the rendered report.
const (
	titleSize = 14
	labelSize = 13
	tickSize  = 11.5
)

// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
var (
	blue      = color.NRGBA{0x00, 0x72, 0xB2, 0xff}
	orange    = color.NRGBA{0xE6, 0x9F, 0x00, 0xff}
	vermilion = color.NRGBA{0xD5, 0x5E, 0x00, 0xff}
	grey      = color.NRGBA{0x66, 0x66, 0x66, 0xff}
	gridGrey  = color.NRGBA{0xdd, 0xdd, 0xdd, 0xff}
)

var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

// textStyle is a plain-text style in the report's sans-serif face.
func textStyle(f font.Font, size vg.Length, xa draw.XAlignment, ya draw.YAlignment) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(f, size),
		XAlign:  xa,
		YAlign:  ya,
		Handler: plot.DefaultTextHandler,
	}
}

// newPlot returns a plot with the report's fonts and the given title and axis names.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle = textStyle(sansBold, titleSize, draw.XCenter, draw.YTop)
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle = textStyle(sans, labelSize, draw.XCenter, draw.YBottom)
		a.Label.Padding = vg.Points(4)
		a.Tick.Label.Font = font.From(sans, tickSize)
		a.Tick.Label.Color = color.Black
	}
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.TextStyle = textStyle(sans, tickSize, draw.XLeft, draw.YBottom)
	p.Legend.ThumbnailWidth = vg.Points(24)
	return p
}

// renderPlots draws plots (rows of columns, aligned so their axes line up) on a w×h
// canvas, and returns the figure as PNG and SVG.
func renderPlots(w, h vg.Length, plots [][]*plot.Plot) (pngData, svgData []byte, err error) {
	tiles := draw.Tiles{
		Rows: len(plots), Cols: len(plots[0]),
		PadX: vg.Points(20), PadY: vg.Points(18),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(14),
	}
	return renderFunc(w, h, func(dc draw.Canvas) {
		canvases := plot.Align(plots, tiles, dc)
		for i, row := range plots {
			for j, p := range row {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	})
}

// renderFunc runs drawFn on a w×h PNG canvas and on an SVG canvas of the same size.
func renderFunc(w, h vg.Length, drawFn func(draw.Canvas)) (pngData, svgData []byte, err error) {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	drawFn(draw.New(img))
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("report: encode png: %w", err)
	}

	sc := vgsvg.New(w, h)
	dc := draw.New(sc)
	// vgsvg leaves the background transparent; paint it so the SVG looks like the PNG
	// on dark viewers too.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	drawFn(dc)
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("report: encode svg: %w", err)
	}
	return pb.Bytes(), svgFonts(sb.Bytes()), nil
}

// svgFonts adds fallbacks to the font-family vgsvg writes: it names only "Liberation
// Sans", which many machines lack. Arial is metric-compatible with it, so text keeps
// its measured width and nothing overlaps.
func svgFonts(svg []byte) []byte {
	return bytes.ReplaceAll(svg,
		[]byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
}

// intTicks marks integers with a step of 1, 2, 5, 10, … chosen so that at most max
// ticks show.
type intTicks struct{ max int }

func (t intTicks) Ticks(lo, hi float64) []plot.Tick {
	lo, hi = math.Ceil(lo), math.Floor(hi)
	if hi < lo {
		return nil
	}
	step := 1.0
	for n := 0; (hi-lo)/step+1 > float64(t.max); n++ {
		step *= []float64{2, 2.5, 2}[n%3] // 1, 2, 5, 10, 20, 50, …
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprint(int(v))})
	}
	return ticks
}

// niceTicks labels multiples of a round step (1, 2, 2.5 or 5 × 10^k), the finest that
// spans the range in at most n steps; gonum's default ticker labels only two or three.
type niceTicks struct{ n int }

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	raw := (hi - lo) / float64(max(t.n, 2))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step, decimals := 10*mag, -math.Log10(10*mag)
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw*(1-1e-9) {
			step = m * mag
			decimals = -math.Log10(mag)
			if m == 2.5 {
				decimals++
			}
			break
		}
	}
	d := max(0, int(math.Ceil(decimals-1e-9)))
	var ticks []plot.Tick
	for i := math.Ceil(lo/step - 1e-9); i*step <= hi+step*1e-9; i++ {
		v := i * step
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0"
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', d, 64)})
	}
	return ticks
}

// percent formats a fraction in [0,1] as a percentage with d decimals.
func percent(f float64, d int) string {
	return fmt.Sprintf("%.*f%%", d, 100*f)
}
