package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// curves draws the learning curves: training loss in the top panel, train and test
// accuracy (in percent) in the bottom one, sharing the epoch axis. Non-finite values (a
// diverged run) break the lines, and the panel titles name their epochs.
func curves(h []Epoch) (pngData, svgData []byte, err error) {
	loss := newCurve(h, func(e Epoch) float64 { return e.Loss })
	train := newCurve(h, func(e Epoch) float64 { return 100 * e.TrainAccuracy })
	test := newCurve(h, func(e Epoch) float64 { return 100 * e.TestAccuracy })

	lo, hi := float64(h[0].Epoch), float64(h[0].Epoch)
	for _, e := range h {
		lo, hi = math.Min(lo, float64(e.Epoch)), math.Max(hi, float64(e.Epoch))
	}
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	markers := len(h) <= 40 // dots on every epoch help with few epochs, clutter with many

	// Loss.
	title := "training loss"
	if last := h[len(h)-1].Loss; len(loss.bad) == 0 || !math.IsNaN(last) && !math.IsInf(last, 0) {
		title += fmt.Sprintf(" — last %.4g", last)
	}
	pl := newPlot(withNote(title, notFinite(loss.bad)), "epoch", "loss")
	pl.Add(gridStyle(plotter.NewGrid()))
	if err := addCurve(pl, loss, blue, false, markers, ""); err != nil {
		return nil, nil, err
	}
	yLo, yHi := yRange(loss.pts, 0.05)
	pl.Y.Min, pl.Y.Max = math.Min(0, yLo), yHi // loss is ≥ 0; show it from 0 when it is

	// Accuracy.
	title = "accuracy"
	if best, ok := bestEpoch(test.pts); ok {
		title += fmt.Sprintf(" — best test %.2f%% at epoch %d", best.Y, int(best.X))
	}
	pa := newPlot(withNote(title, notFinite(union(train.bad, test.bad))), "epoch", "accuracy (%)")
	pa.Add(gridStyle(plotter.NewGrid()))
	if err := addCurve(pa, train, orange, true, markers, "train"); err != nil {
		return nil, nil, err
	}
	if err := addCurve(pa, test, blue, false, markers, "test"); err != nil {
		return nil, nil, err
	}
	yLo, yHi = yRange(append(append(plotter.XYs{}, train.pts...), test.pts...), 0.08)
	pa.Y.Min, pa.Y.Max = math.Max(0, yLo), math.Min(100, yHi)

	for _, p := range []*plot.Plot{pl, pa} {
		p.X.Min, p.X.Max = lo, hi
		p.X.Tick.Marker = intTicks{max: 12}
		p.Y.Tick.Marker = niceTicks{n: 6}
		p.X.Padding, p.Y.Padding = vg.Points(6), vg.Points(6)
	}
	placeLegend(pa, train, test)
	return renderPlots(7*vg.Inch, 6.6*vg.Inch, [][]*plot.Plot{{pl}, {pa}})
}

// curve is one learning curve.
type curve struct {
	pts  plotter.XYs   // the finite points
	runs []plotter.XYs // runs of consecutive finite points, drawn as separate lines
	bad  []int         // epochs whose value is not finite
}

func newCurve(h []Epoch, f func(Epoch) float64) curve {
	var c curve
	var run plotter.XYs
	for _, e := range h {
		v := f(e)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			c.bad = append(c.bad, e.Epoch)
			if len(run) > 0 {
				c.runs = append(c.runs, run)
			}
			run = nil
			continue
		}
		p := plotter.XY{X: float64(e.Epoch), Y: v}
		c.pts = append(c.pts, p)
		run = append(run, p)
	}
	if len(run) > 0 {
		c.runs = append(c.runs, run)
	}
	return c
}

// withNote appends note to a panel title: "title — note", or "title — …; note".
func withNote(title, note string) string {
	switch {
	case note == "":
		return title
	case strings.Contains(title, " — "):
		return title + "; " + note
	}
	return title + " — " + note
}

// notFinite names the epochs with non-finite values, or is empty.
func notFinite(epochs []int) string {
	switch n := len(epochs); {
	case n == 0:
		return ""
	case n == 1:
		return fmt.Sprintf("not finite at epoch %d", epochs[0])
	case n <= 3:
		s := make([]string, n)
		for i, e := range epochs {
			s[i] = fmt.Sprint(e)
		}
		return "not finite at epochs " + strings.Join(s, ", ")
	default:
		return fmt.Sprintf("not finite in %d epochs, first %d", n, epochs[0])
	}
}

// union merges two ascending lists of epochs.
func union(a, b []int) []int {
	u := slices.Concat(a, b)
	slices.Sort(u)
	return slices.Compact(u)
}

// addCurve adds c as lines (dashed if asked) with optional dot markers and, if name is
// not empty, a legend entry.
func addCurve(p *plot.Plot, c curve, col color.Color, dashed, markers bool, name string) error {
	var thumbs []plot.Thumbnailer
	for _, run := range c.runs {
		l, err := plotter.NewLine(run)
		if err != nil {
			return fmt.Errorf("report: curve %q: %w", name, err)
		}
		l.Color = col
		l.Width = vg.Points(2)
		if dashed {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(l)
		if thumbs == nil {
			thumbs = append(thumbs, l)
		}
	}
	// A lone finite epoch between non-finite ones is no line: always mark it.
	if markers || len(c.runs) > 0 && len(c.pts) <= len(c.runs) {
		s, err := plotter.NewScatter(c.pts)
		if err != nil {
			return fmt.Errorf("report: curve %q: %w", name, err)
		}
		s.Shape = draw.CircleGlyph{}
		s.Color = col
		s.Radius = vg.Points(2.5)
		p.Add(s)
		thumbs = append(thumbs, s)
	}
	if name != "" && thumbs != nil {
		p.Legend.Add(name, thumbs...)
	}
	return nil
}

// placeLegend puts p's legend in the corner of the data area that the curves leave
// most free, trying bottom right first (where rising accuracy curves leave room).
func placeLegend(p *plot.Plot, cs ...curve) {
	corners := []struct{ top, left bool }{{false, false}, {true, false}, {false, true}, {true, true}}
	count := make([]int, len(corners))
	norm := func(v, lo, hi float64) float64 { return (v - lo) / (hi - lo) }
	for _, c := range cs {
		for _, run := range c.runs {
			for i := range run {
				// Sample the line between this point and the next.
				a, b := run[i], run[min(i+1, len(run)-1)]
				for k := range 16 {
					t := float64(k) / 16
					x := norm(a.X+t*(b.X-a.X), p.X.Min, p.X.Max)
					y := norm(a.Y+t*(b.Y-a.Y), p.Y.Min, p.Y.Max)
					for j, cn := range corners {
						inX := x > 0.7 && !cn.left || x < 0.3 && cn.left
						inY := y > 0.72 && cn.top || y < 0.28 && !cn.top
						if inX && inY {
							count[j]++
						}
					}
				}
			}
		}
	}
	best := 0
	for j := range corners {
		if count[j] < count[best] {
			best = j
		}
	}
	p.Legend.Top, p.Legend.Left = corners[best].top, corners[best].left
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(6)
	if !p.Legend.Left {
		p.Legend.XOffs = -vg.Points(8)
	}
	if !p.Legend.Top {
		p.Legend.YOffs = vg.Points(8)
	}
}

// yRange returns the span of the Y values widened by frac of it on each side (at least
// a little, so a flat curve does not sit on the frame).
func yRange(xy plotter.XYs, frac float64) (lo, hi float64) {
	if len(xy) == 0 {
		return 0, 1
	}
	lo, hi = xy[0].Y, xy[0].Y
	for _, p := range xy {
		lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
	}
	pad := math.Max(frac*(hi-lo), 1e-3*math.Max(1, math.Abs(hi)))
	return lo - pad, hi + pad
}

// bestEpoch returns the point with the highest Y, the earliest of ties.
func bestEpoch(xy plotter.XYs) (plotter.XY, bool) {
	if len(xy) == 0 {
		return plotter.XY{}, false
	}
	best := xy[0]
	for _, p := range xy[1:] {
		if p.Y > best.Y {
			best = p
		}
	}
	return best, true
}

func gridStyle(g *plotter.Grid) *plotter.Grid {
	g.Vertical.Color = gridGrey
	g.Horizontal.Color = gridGrey
	g.Vertical.Width = vg.Points(0.5)
	g.Horizontal.Width = vg.Points(0.5)
	return g
}
