package augment

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// Coordinates are in pixels: pixel (x, y) is column x, row y, its centre at (x, y); y
// grows downwards. An image of w×h pixels has its centre at ((w-1)/2, (h-1)/2).

// affine maps an output position (x, y) to the source position
// (a·x + b·y + c, d·x + e·y + f) it is read from.
type affine struct{ a, b, c, d, e, f float64 }

// transform returns the map from output to source positions of the distortion that
// turns the image anticlockwise (as displayed) by deg degrees and scales it by scale,
// both about the centre of a w×h image, then shifts it by (tx, ty):
// source = centre + R(-deg)·(p - centre - t) / scale.
func transform(w, h int, deg, scale, tx, ty float64) affine {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	sin, cos := math.Sincos(deg * math.Pi / 180)
	sin, cos = sin/scale, cos/scale
	// With y down, an anticlockwise turn by θ is (x, y) → (x cos θ + y sin θ,
	// -x sin θ + y cos θ); its inverse turns by -θ.
	ox, oy := -cx-tx, -cy-ty // p - centre - t = p + (ox, oy)
	return affine{
		a: cos, b: -sin, c: cx + cos*ox - sin*oy,
		d: sin, e: cos, f: cy + sin*ox + cos*oy,
	}
}

// widen returns t preceded by a stretch of the source's ink sideways about its centre,
// by 1 + u·(height/width - 1) of the w×h image src's ink box (nothing when the ink is
// not taller than wide): an output position mapped to the source by t is pulled
// towards the ink's centre column by that factor.
func widen(t affine, src []uint8, w, h int, u float64) affine {
	x0, x1, y0, y1 := w, -1, h, -1
	for y := range h {
		for x, v := range src[y*w : (y+1)*w] {
			if v != 0 {
				x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
			}
		}
	}
	bw, bh := x1-x0+1, y1-y0+1
	if x1 < 0 || bh <= bw {
		return t
	}
	k := 1 + u*(float64(bh)/float64(bw)-1)
	// source x = cx + (x_t - cx)/k, with x_t = a·x + b·y + c the position t gives.
	cx := float64(x0+x1) / 2
	t.a, t.b, t.c = t.a/k, t.b/k, cx+(t.c-cx)/k
	return t
}

// field is a displacement field known at the nodes of a grid: node (i, j) sits at pixel
// (i·step, j·step) and moves by (dx, dy)[j·nx+i]. The nodes reach one step past the
// image's last row and column, and the field is bilinear between them. The step is a
// power of two, 1<<shift.
type field struct {
	step, shift, nx, ny int
	dx, dy              []float32
}

// newField returns a zero field for a w×h image, its nodes step pixels apart; step
// must be a power of two.
func newField(w, h, step int) field {
	if step <= 0 || step&(step-1) != 0 {
		panic(fmt.Sprintf("augment: node step %d, want a power of two", step))
	}
	nx, ny := (w-1)/step+2, (h-1)/step+2
	return field{step: step, shift: bits.TrailingZeros(uint(step)), nx: nx, ny: ny, dx: make([]float32, nx*ny), dy: make([]float32, nx*ny)}
}

// warp writes into dst the image src (both s.w×s.h) resampled so that output pixel p
// reads the source at T(p + Δ(p)), Δ the displacement field f: bilinear interpolation
// at positions rounded to 1/256 pixel, background (0) outside the source, rounded to
// bytes.
//
// T(p + Δ(p)) is computed at the nodes of f only and interpolated bilinearly in
// between, which is exact for the affine part. Past that, the arithmetic is in fixed
// point, where stepping from pixel to pixel is an addition, and where positions beyond
// the box holding the source's ink cost a comparison.
func (s *worker) warp(dst, src []uint8, T affine, f *field) {
	w, h, pw, pad := s.w, s.h, s.w+2, s.pad
	// Copy the source inside the border and find its ink's box [x0,x1]×[y0,y1].
	x0, x1, y0, y1 := w, -1, h, -1
	for y := range h {
		row := src[y*w : (y+1)*w]
		copy(pad[(y+1)*pw+1:], row)
		first := 0
		for first < len(row) && row[first] == 0 {
			first++
		}
		if first == len(row) {
			continue
		}
		last := len(row) - 1
		for row[last] == 0 {
			last--
		}
		x0, x1, y0, y1 = min(x0, first), max(x1, last), min(y0, y), y
	}
	// A position reads ink only if it is in the box [x0-1, x1+1)×[y0-1, y1+1) (in fixed
	// point below); its four neighbours are then inside the border.
	bx0, bx1, by0, by1 := (x0-1)<<16, (x1+1)<<16, (y0-1)<<16, (y1+1)<<16

	us, vs := s.u, s.v
	for j := range f.ny {
		for i := range f.nx {
			k := j*f.nx + i
			x, y := float64(i*f.step)+float64(f.dx[k]), float64(j*f.step)+float64(f.dy[k])
			us[k], vs[k] = fix(T.a*x+T.b*y+T.c), fix(T.d*x+T.e*y+T.f)
		}
	}
	// Cell (i, j) holds the pixels between nodes i, i+1 and j, j+1. Its positions are
	// interpolated from its corners', so they lie within the corners' range, and a cell
	// whose range misses the box stays background.
	clear(dst)
	t, sh, nx := f.step, f.shift, f.nx
	for j, cy := 0, 0; cy < h; j, cy = j+1, cy+t {
		for i, cx := 0, 0; cx < w; i, cx = i+1, cx+t {
			k := j*nx + i
			u00, u01, u10, u11 := us[k], us[k+1], us[k+nx], us[k+nx+1]
			v00, v01, v10, v11 := vs[k], vs[k+1], vs[k+nx], vs[k+nx+1]
			if max(u00, u01, u10, u11) < bx0 || min(u00, u01, u10, u11) >= bx1 ||
				max(v00, v01, v10, v11) < by0 || min(v00, v01, v10, v11) >= by1 {
				continue
			}
			for ky := range min(t, h-cy) {
				// Positions at the cell's left and right edges on this row, and the
				// step from pixel to pixel.
				uL, uR := u00+((u10-u00)*ky)>>sh, u01+((u11-u01)*ky)>>sh
				vL, vR := v00+((v10-v00)*ky)>>sh, v01+((v11-v01)*ky)>>sh
				dU, dV := (uR-uL)>>sh, (vR-vL)>>sh
				y := cy + ky
				out := dst[y*w+cx : y*w+min(cx+t, w)]
				for k, U, V := 0, uL, vL; k < len(out); k, U, V = k+1, U+dU, V+dV {
					if U < bx0 || U >= bx1 || V < by0 || V >= by1 {
						continue
					}
					// U>>16 is the column at or left of the position, (U>>8)&255 the
					// weight of the next one, in 256ths.
					p := (V>>16+1)*pw + U>>16 + 1
					fx, fy := (U>>8)&255, (V>>8)&255
					a, b := int(pad[p]), int(pad[p+1])
					c, d := int(pad[p+pw]), int(pad[p+pw+1])
					top, bot := a<<8+fx*(b-a), c<<8+fx*(d-c) // ·256
					out[k] = uint8((top<<8 + fy*(bot-top) + 1<<15) >> 16)
				}
			}
		}
	}
}

// fix returns a position x in 16.16 fixed point, plus half a 256th: then fix(x)>>16
// and (fix(x)>>8)&255 are x rounded to 256ths (the pixel at or left of x and the weight
// of the next one). Adding 2^40 makes the conversion's truncation round (to within
// 2^-12 of a unit) for x > -2^24; Validate bounds the distortions so that positions
// stay within about 10^6 pixels of the image (within 2^15 where int has 32 bits).
func fix(x float64) int {
	const offset = 1 << 40
	return int(int64(x*(1<<16)+(offset+0.5)) - offset + 1<<7)
}

// elastic holds what every image's elastic field shares: the Gaussian weights from the
// noise lattice to the field's nodes along each axis, and the bank of fields.
//
// The smoothed per-pixel noise of Simard et al. is Δ(p) = α Σ_q n_q G(p-q) over pixels
// q, n_q uniform in ±1 (variance 1/3) and G the normalized 2-D Gaussian of σ. Noise
// m_q = s·u_q, u_q uniform in ±1 (variance s²/3, that of the s² pixels a lattice point
// stands for), on a lattice of spacing s = σ gives the same covariance (the lattice sum
// of G(p-q)G(p'-q) is its integral to within 1e-4), and as G(x, y) = g(x)g(y) the field
// on the node grid is Ay·M·Axᵀ: for 28×28 at σ 4 a 15×10 by 10×10 by 10×15 product
// instead of a convolution of 784 noise values.
type elastic struct {
	w, h, step int
	lx, ly     int       // noise lattice size
	nx, ny     int       // field nodes
	axT, ay    []float32 // axT[k·nx+i], ay[j·ly+k]: the weight of lattice column (row) k at node column i (row j)
	bank       []float32 // bankSize fields, each dx then dy (ny×nx each), after fillBank
}

// bankSize is the number of fields in the bank.
const bankSize = 1024

func newElastic(w, h, step int, alpha, sigma float64) *elastic {
	// The lattice starts σ before the first pixel and ends at least σ after the last.
	lx, ly := int(math.Ceil(float64(w-1)/sigma))+3, int(math.Ceil(float64(h-1)/sigma))+3
	nx, ny := (w-1)/step+2, (h-1)/step+2
	// α, the lattice spacing s = σ (noise in ±1 times s has variance s²/3) and the 1-D
	// Gaussian's 1/(√(2π)σ) go into axT; ay has the other 1/(√(2π)σ).
	gauss := func(node, k int) float64 {
		d := float64(node*step) - (-sigma + float64(k)*sigma)
		return math.Exp(-d*d/(2*sigma*sigma)) / (math.Sqrt(2*math.Pi) * sigma)
	}
	e := &elastic{w: w, h: h, step: step, lx: lx, ly: ly, nx: nx, ny: ny, axT: make([]float32, lx*nx), ay: make([]float32, ny*ly)}
	for k := range lx {
		for i := range nx {
			e.axT[k*nx+i] = float32(alpha * sigma * gauss(i, k))
		}
	}
	for j := range ny {
		for k := range ly {
			e.ay[j*ly+k] = float32(gauss(j, k))
		}
	}
	return e
}

// fillBank fills the bank with fields drawn from r.
func (e *elastic) fillBank(r *rand.Rand) {
	n := e.nx * e.ny
	e.bank = make([]float32, bankSize*2*n)
	f := newField(e.w, e.h, e.step)
	noise, tmp := e.buffers()
	for k := range bankSize {
		e.fill(&f, r, noise, tmp)
		copy(e.bank[2*k*n:], f.dx)
		copy(e.bank[(2*k+1)*n:], f.dy)
	}
}

// pick writes into f a field combined from the bank with randomness from r:
// (±F_a ± F_b)/√2 for two different fields a and b.
func (e *elastic) pick(f *field, r *rand.Rand) {
	n := e.nx * e.ny
	a := r.IntN(bankSize)
	b := (a + 1 + r.IntN(bankSize-1)) % bankSize
	signs := r.Uint64()
	ca, cb := float32(math.Sqrt2/2), float32(math.Sqrt2/2)
	if signs&1 != 0 {
		ca = -ca
	}
	if signs&2 != 0 {
		cb = -cb
	}
	fa, fb := e.bank[2*a*n:2*(a+1)*n], e.bank[2*b*n:2*(b+1)*n]
	for k := range n {
		f.dx[k] = ca*fa[k] + cb*fb[k]
		f.dy[k] = ca*fa[n+k] + cb*fb[n+k]
	}
}

// buffers returns the buffers fill needs.
func (e *elastic) buffers() (noise, tmp []float32) {
	return make([]float32, 2*e.lx*e.ly), make([]float32, e.ly*e.nx)
}

// fill draws the noise lattices (x then y, row by row) from r into noise and writes the
// displacements at the nodes into f. Each Uint64 gives two noise values in ±1, its high
// then its low 32 bits read as a signed fraction.
func (e *elastic) fill(f *field, r *rand.Rand, noise, tmp []float32) {
	for i := 0; i < len(noise); i += 2 {
		b := r.Uint64()
		noise[i] = float32(int32(b>>32)) * 0x1p-31
		if i+1 < len(noise) {
			noise[i+1] = float32(int32(b)) * 0x1p-31
		}
	}
	n := e.lx * e.ly
	e.smooth(f.dx, noise[:n], tmp)
	e.smooth(f.dy, noise[n:], tmp)
}

// smooth writes ay·m·axᵀ into dst (ny×nx), m being ly×lx; tmp holds m·axᵀ (ly×nx).
// Both products are written as sums of scaled rows, whose inner loops have no
// dependence from one step to the next.
func (e *elastic) smooth(dst, m, tmp []float32) {
	clear(tmp)
	for r := range e.ly {
		out := tmp[r*e.nx : (r+1)*e.nx]
		for k, c := range m[r*e.lx : (r+1)*e.lx] {
			for i, a := range e.axT[k*e.nx : (k+1)*e.nx] {
				out[i] += c * a
			}
		}
	}
	clear(dst)
	for j := range e.ny {
		out := dst[j*e.nx : (j+1)*e.nx]
		for r, c := range e.ay[j*e.ly : (j+1)*e.ly] {
			for i, v := range tmp[r*e.nx : (r+1)*e.nx] {
				out[i] += c * v
			}
		}
	}
}
