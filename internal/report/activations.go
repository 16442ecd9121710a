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

// saturation is the |z| beyond which Sigmoid and Tanh are flat enough that their
// gradient all but vanishes (σ'(5) ≈ 0.0066, tanh'(5) ≈ 0.00018).
const saturation = 5

// zone is the interval of z where a unit of some kind learns (almost) nothing.
type zone struct {
	lo, hi   float64 // [lo, hi]; ±Inf for open ends
	mirrored bool    // also [-hi, -lo]: |z| > lo
	what     string  // "saturated", "inactive"
	rule     string  // "|z| > 5"
}

func zoneOf(kind string) (zone, bool) {
	switch strings.ToLower(kind) {
	case "sigmoid", "tanh":
		return zone{lo: saturation, hi: math.Inf(1), mirrored: true, what: "saturated", rule: fmt.Sprintf("|z| > %d", saturation)}, true
	case "relu":
		return zone{lo: math.Inf(-1), hi: 0, what: "inactive", rule: "z ≤ 0"}, true
	}
	return zone{}, false
}

func (z zone) contains(v float64) bool {
	if z.mirrored {
		return math.Abs(v) > z.lo
	}
	return v >= z.lo && v <= z.hi
}

// activations draws one histogram of pre-activations per layer, stacked, with the
// layer kind's dead zone shaded and the share of values in it in the panel title.
func activations(layers []Layer) (pngData, svgData []byte, err error) {
	var plots [][]*plot.Plot
	for _, l := range layers {
		p, err := activationPlot(l)
		if err != nil {
			return nil, nil, err
		}
		plots = append(plots, []*plot.Plot{p})
	}
	h := vg.Length(len(layers))*2.7*vg.Inch + 0.2*vg.Inch
	return renderPlots(7*vg.Inch, h, plots)
}

func activationPlot(l Layer) (*plot.Plot, error) {
	vs := make(plotter.Values, 0, len(l.PreActivations))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range l.PreActivations {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		vs = append(vs, f)
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	bad := len(l.PreActivations) - len(vs)
	z, hasZone := zoneOf(l.Kind)

	title := l.Name
	if title == "" {
		title = l.Kind
	}
	switch {
	case len(vs) == 0:
		title += " — no finite samples"
		lo, hi = -1, 1
	case hasZone:
		in := 0
		for _, v := range vs {
			if z.contains(v) {
				in++
			}
		}
		title += fmt.Sprintf(" — %s %s (%s)", percent(float64(in)/float64(len(vs)), 1), z.what, z.rule)
	}
	title += notShown(bad)
	p := newPlot(title, "pre-activation z", "count")

	// Show the zone's edge even when no value reaches it, so "none saturated" is visible.
	if hasZone && z.mirrored {
		lo, hi = math.Min(lo, -z.lo-1), math.Max(hi, z.lo+1)
	} else if hasZone {
		lo, hi = math.Min(lo, -1), math.Max(hi, 1)
	}
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	pad := 0.02 * (hi - lo)
	p.X.Min, p.X.Max = lo-pad, hi+pad

	in, out := histogram(vs, z, hasZone)
	top := 1.0
	for _, h := range []*plotter.Histogram{in, out} {
		for _, b := range h.Bins {
			top = math.Max(top, b.Weight)
		}
	}
	top *= 1.08
	p.Y.Min, p.Y.Max = 0, top

	if hasZone {
		shade := color.NRGBA{0xD5, 0x5E, 0x00, 0x38}
		rects := [][2]float64{{math.Max(z.lo, p.X.Min), math.Min(z.hi, p.X.Max)}}
		if z.mirrored {
			rects = [][2]float64{{p.X.Min, -z.lo}, {z.lo, p.X.Max}}
		}
		for _, r := range rects {
			if r[0] >= r[1] {
				continue
			}
			poly, err := plotter.NewPolygon(plotter.XYs{{X: r[0], Y: 0}, {X: r[1], Y: 0}, {X: r[1], Y: top}, {X: r[0], Y: top}})
			if err != nil {
				return nil, fmt.Errorf("report: zone of %q: %w", l.Name, err)
			}
			poly.Color = shade
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		// Dashed edges of the zone.
		edges := []float64{z.hi}
		if z.mirrored {
			edges = []float64{-z.lo, z.lo}
		}
		for _, x := range edges {
			ln, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: top}})
			if err != nil {
				return nil, fmt.Errorf("report: zone of %q: %w", l.Name, err)
			}
			ln.Color = vermilion
			ln.Width = vg.Points(1)
			ln.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(ln)
		}
	}
	p.Add(in, out)
	p.X.Padding, p.Y.Padding = 0, 0
	p.X.Tick.Marker = niceTicks{n: 8}
	p.Y.Tick.Marker = niceTicks{n: 4}
	return p, nil
}

// histogram bins vs into two histograms: the bins whose centre lies in the zone
// (vermilion) and the others (blue). The bin edges are placed on the zone's edges where
// the bin width allows, so that no bar straddles them. About √n bins, 20 to 80.
func histogram(vs []float64, z zone, hasZone bool) (in, out *plotter.Histogram) {
	newHist := func(c color.Color) *plotter.Histogram {
		return &plotter.Histogram{FillColor: c, LineStyle: draw.LineStyle{Color: color.White, Width: vg.Points(0.3)}}
	}
	in, out = newHist(vermilion), newHist(blue)
	if len(vs) == 0 {
		return in, out
	}
	lo, hi := slices.Min(vs), slices.Max(vs)
	nb := min(max(int(math.Sqrt(float64(len(vs)))), 20), 80)
	w := (hi - lo) / float64(nb)
	anchor := lo
	switch {
	case w == 0:
		w = 1
		anchor = lo - 0.5
	case hasZone && z.mirrored:
		// Both -z.lo and z.lo on edges: a whole number of bins across the middle.
		if k := math.Round(2 * z.lo / w); k >= 1 {
			w = 2 * z.lo / k
		}
		anchor = -z.lo
	case hasZone:
		anchor = z.hi
	}
	start := anchor - math.Ceil((anchor-lo)/w)*w
	n := int(math.Floor((hi-start)/w)) + 1
	counts := make([]float64, n)
	for _, v := range vs {
		counts[min(max(int(math.Floor((v-start)/w)), 0), n-1)]++
	}
	for i, c := range counts {
		if c == 0 {
			continue
		}
		b := plotter.HistogramBin{Min: start + float64(i)*w, Max: start + float64(i+1)*w, Weight: c}
		h := out
		if hasZone && z.contains((b.Min+b.Max)/2) {
			h = in
		}
		h.Bins = append(h.Bins, b)
		h.Width = w
	}
	return in, out
}

// notShown is a title suffix counting left-out non-finite values.
func notShown(bad int) string {
	switch bad {
	case 0:
		return ""
	case 1:
		return " (1 non-finite value not shown)"
	}
	return fmt.Sprintf(" (%d non-finite values not shown)", bad)
}
