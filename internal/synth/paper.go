package synth

import (
	"math"
	"math/rand/v2"
)

// The fields below are w×h masks used as plain grids of numbers. Each draws from
// rng a number of values that depends only on w, h and the cell size, never on
// the strength asked for, so that turning an effect off does not change the
// others' randomness.

// valueNoise returns smooth random values in [0, 1]: uniform values on a grid of
// cells cell pixels wide, interpolated with a smoothstep between them. cell ≈ 1
// is per-pixel noise; larger cells give blotches of that size.
func valueNoise(w, h int, cell float64, rng *rand.Rand) *Mask {
	gw, gh := int(float64(w)/cell)+2, int(float64(h)/cell)+2
	grid := make([]float32, gw*gh)
	for i := range grid {
		grid[i] = rng.Float32()
	}
	smooth := func(t float64) float32 { return float32(t * t * (3 - 2*t)) }
	m := NewMask(w, h)
	for y := range h {
		gy := (float64(y) + 0.5) / cell
		j := min(int(gy), gh-2)
		ty := smooth(gy - float64(j))
		for x := range w {
			gx := (float64(x) + 0.5) / cell
			i := min(int(gx), gw-2)
			tx := smooth(gx - float64(i))
			top := grid[j*gw+i]*(1-tx) + grid[j*gw+i+1]*tx
			bot := grid[(j+1)*gw+i]*(1-tx) + grid[(j+1)*gw+i+1]*tx
			m.Pix[y*w+x] = top*(1-ty) + bot*ty
		}
	}
	return m
}

// lightField returns how much light falls on each pixel, from 1 down to
// 1-strength: a linear gradient in a random direction (a window on one side)
// mixed with a soft round shadow (a hand or a phone over the page).
func lightField(w, h int, strength float64, rng *rand.Rand) *Mask {
	angle := rng.Float64() * 2 * math.Pi
	cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
	radius := (0.3 + 0.5*rng.Float64()) * float64(max(w, h))
	m := NewMask(w, h)
	dx, dy := math.Cos(angle), math.Sin(angle)
	// The gradient's projection runs over [lo, hi] across the picture.
	lo := min(0, dx*float64(w)) + min(0, dy*float64(h))
	hi := max(0, dx*float64(w)) + max(0, dy*float64(h))
	for y := range h {
		for x := range w {
			px, py := float64(x)+0.5, float64(y)+0.5
			ramp := (px*dx + py*dy - lo) / (hi - lo)
			d2 := (px-cx)*(px-cx) + (py-cy)*(py-cy)
			shadow := math.Exp(-d2 / (2 * radius * radius))
			m.Pix[y*w+x] = float32(1 - strength*(0.6*ramp+0.4*shadow))
		}
	}
	return m
}

// paperTexture returns the paper's relative brightness change, about ±amount:
// blotches a sixth of the picture wide (uneven pulp, stains) and per-pixel fibres.
func paperTexture(w, h int, amount float64, rng *rand.Rand) *Mask {
	coarse := valueNoise(w, h, float64(max(w, h))/6, rng)
	fine := valueNoise(w, h, 1.5, rng)
	m := NewMask(w, h)
	for i := range m.Pix {
		m.Pix[i] = float32(amount * (1.2*(float64(coarse.Pix[i])-0.5) + 0.8*(float64(fine.Pix[i])-0.5)))
	}
	return m
}

// ruledLines returns how much of a notebook's ruled lines covers each pixel, up to
// dark: horizontal lines gap·h apart (one line when gap ≥ 1), the first in the
// middle half of the picture, about 1.2 % of h thick (at least a pixel).
func ruledLines(w, h int, dark, gap float64, rng *rand.Rand) *Mask {
	phase := (0.25 + 0.5*rng.Float64()) * float64(h)
	m := NewMask(w, h)
	if dark <= 0 || gap <= 0 {
		return m
	}
	step := gap * float64(h)
	thick := max(1, 0.012*float64(h))
	for y := range h {
		py := float64(y) + 0.5
		// distance to the nearest line phase + k·step
		k := math.Round((py - phase) / step)
		d := math.Abs(py - (phase + k*step))
		c := float32(dark * min(max(thick/2-d+0.5, 0), 1))
		for x := range w {
			m.Pix[y*w+x] = c
		}
	}
	return m
}
