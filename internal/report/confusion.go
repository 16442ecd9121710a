package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// confusion draws the matrix m ([true][predicted]) as a heat map, true classes down the
// left from the top, predicted classes along the bottom, every cell with its count.
// Correct cells (the diagonal) are blue, as dark as the class's recall is high; error
// cells are orange to red by the square root of their count, so that a handful of
// mistakes still shows; empty cells stay white.
func confusion(m [][]int, names []string) (pngData, svgData []byte, err error) {
	n := len(m)
	total, correct, maxErr := 0, 0, 0
	rowSum := make([]int, n)
	for i, row := range m {
		if len(row) != n {
			return nil, nil, fmt.Errorf("report: confusion row %d has %d columns, want %d", i, len(row), n)
		}
		for j, c := range row {
			if c < 0 {
				return nil, nil, fmt.Errorf("report: confusion[%d][%d] = %d is negative", i, j, c)
			}
			rowSum[i] += c
			if i == j {
				correct += c
			} else {
				maxErr = max(maxErr, c)
			}
		}
		total += rowSum[i]
	}

	// Z(col=predicted, row=true); NaN cells are left unpainted by the heat map.
	diag := grid{n: n, z: func(t, p int) float64 {
		if t != p || rowSum[t] == 0 {
			return math.NaN()
		}
		return float64(m[t][p]) / float64(rowSum[t])
	}}
	errs := grid{n: n, z: func(t, p int) float64 {
		if t == p || m[t][p] == 0 {
			return math.NaN()
		}
		return math.Sqrt(float64(m[t][p]))
	}}
	hd := plotter.NewHeatMap(diag, ramp{lo: color.NRGBA{0xde, 0xeb, 0xf7, 0xff}, hi: color.NRGBA{0x08, 0x45, 0x94, 0xff}})
	hd.Min, hd.Max = 0, 1
	he := plotter.NewHeatMap(errs, ramp{lo: color.NRGBA{0xfe, 0xe6, 0xce, 0xff}, hi: color.NRGBA{0xc0, 0x1b, 0x0c, 0xff}})
	he.Min, he.Max = 0, math.Sqrt(float64(max(maxErr, 1)))

	title := "confusion matrix"
	if total > 0 {
		title += fmt.Sprintf(" — %d of %d correct (%s)", correct, total, percent(float64(correct)/float64(total), 2))
	}
	p := newPlot(title, "predicted", "true")
	p.Add(hd, he, cellLines{n})

	// Counts, sized to fit the widest count in a cell of a 7-inch figure.
	const side = 7 * vg.Inch
	cell := (side - 1.6*vg.Inch) / vg.Length(n)
	digits := len(fmt.Sprint(max(maxErr, maxDiag(m), 1)))
	size := min(vg.Points(13), cell*0.85/(vg.Length(digits)*0.56), cell*0.6)
	size = max(size, vg.Points(5))
	var xy plotter.XYLabels
	for t := range n {
		for pr := range n {
			xy.XYs = append(xy.XYs, plotter.XY{X: float64(pr), Y: float64(t)})
			xy.Labels = append(xy.Labels, fmt.Sprint(m[t][pr]))
		}
	}
	labels, err := plotter.NewLabels(xy)
	if err != nil {
		return nil, nil, fmt.Errorf("report: confusion labels: %w", err)
	}
	for i := range labels.TextStyle {
		t, pr := i/n, i%n
		var bg color.Color = color.White
		switch {
		case t == pr && rowSum[t] > 0:
			bg = hd.Palette.Colors()[paletteIndex(diag.Z(pr, t), hd.Min, hd.Max)]
		case m[t][pr] > 0:
			bg = he.Palette.Colors()[paletteIndex(errs.Z(pr, t), he.Min, he.Max)]
		}
		st := textStyle(sans, size, draw.XCenter, draw.YCenter)
		switch {
		case m[t][pr] == 0:
			st.Color = color.Gray{0xbb}
		case dark(bg):
			st.Color = color.White
		}
		if t == pr {
			st.Font = font.From(sansBold, size)
		}
		labels.TextStyle[i] = st
	}
	p.Add(labels)

	// Class names on both axes; true classes read top to bottom.
	p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Tick.Label.Font = font.From(sans, labelSize) // class names matter more than numbers
	}
	ticks := make([]plot.Tick, n)
	widest := vg.Length(0)
	for i := range ticks {
		ticks[i] = plot.Tick{Value: float64(i), Label: names[i]}
		widest = max(widest, p.X.Tick.Label.Width(names[i]))
	}
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Min, a.Max = -0.5, float64(n)-0.5
		a.Padding = 0
		a.Width = 0
		a.Tick.Length = 0
		a.Tick.Marker = plot.ConstantTicks(ticks)
	}
	if widest > cell*0.95 {
		// Long names (Fashion-MNIST) would run into each other: slant them.
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YTop // keeps the slanted text below the matrix
		p.X.Tick.Length = vg.Points(6)    // invisible (zero width): a gap above the names
		p.X.Tick.LineStyle.Width = 0
		p.X.Tick.LineStyle.Color = color.Transparent
	}
	return renderPlots(side, side, [][]*plot.Plot{{p}})
}

// cellLines draws the lines between the cells of an n×n matrix and a frame around it.
type cellLines struct{ n int }

func (g cellLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	lo, hi := -0.5, float64(g.n)-0.5
	inner := draw.LineStyle{Color: color.Gray{0xdd}, Width: vg.Points(0.75)}
	for i := 1; i < g.n; i++ {
		v := float64(i) - 0.5
		c.StrokeLine2(inner, trX(v), trY(lo), trX(v), trY(hi))
		c.StrokeLine2(inner, trX(lo), trY(v), trX(hi), trY(v))
	}
	frame := draw.LineStyle{Color: color.Gray{0x99}, Width: vg.Points(1)}
	c.StrokeLines(frame, []vg.Point{{X: trX(lo), Y: trY(lo)}, {X: trX(hi), Y: trY(lo)}, {X: trX(hi), Y: trY(hi)}, {X: trX(lo), Y: trY(hi)}, {X: trX(lo), Y: trY(lo)}})
}

// grid is an n×n plotter.GridXYZ with cells at integer coordinates; z takes (true,
// predicted), i.e. (row, column) of the confusion matrix.
type grid struct {
	n int
	z func(t, p int) float64
}

func (g grid) Dims() (c, r int)   { return g.n, g.n }
func (g grid) Z(c, r int) float64 { return g.z(r, c) }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// ramp is a palette.Palette of 256 colours blended linearly from lo to hi.
type ramp struct{ lo, hi color.NRGBA }

func (r ramp) Colors() []color.Color {
	c := make([]color.Color, 256)
	mix := func(a, b uint8, t float64) uint8 { return uint8(math.Round(float64(a) + t*(float64(b)-float64(a)))) }
	for i := range c {
		t := float64(i) / 255
		c[i] = color.NRGBA{mix(r.lo.R, r.hi.R, t), mix(r.lo.G, r.hi.G, t), mix(r.lo.B, r.hi.B, t), 0xff}
	}
	return c
}

// paletteIndex is the index plotter.HeatMap picks for v in a 256-colour palette.
func paletteIndex(v, lo, hi float64) int {
	i := int((v-lo)*255/(hi-lo) + 0.5)
	return min(max(i, 0), 255)
}

// dark reports whether white text reads better than black on c.
func dark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return 0.299*float64(r)+0.587*float64(g)+0.114*float64(b) < 0.55*0xffff
}

func maxDiag(m [][]int) int {
	v := 0
	for i := range m {
		v = max(v, m[i][i])
	}
	return v
}
