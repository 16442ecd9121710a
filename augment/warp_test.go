package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomImage returns a w×h image of random bytes.
func randomImage(w, h int, seed uint64) []uint8 {
	r := rand.New(rand.NewPCG(seed, 1))
	px := make([]uint8, w*h)
	for i := range px {
		px[i] = uint8(r.IntN(256))
	}
	return px
}

// blob returns a w×h image with ink in the rectangle [x0,x1)×[y0,y1) and a tail, so
// that it has no symmetry.
func blob(w, h, x0, y0, x1, y1 int) []uint8 {
	px := make([]uint8, w*h)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			px[y*w+x] = uint8(100 + 10*(x-x0) + 3*(y-y0))
		}
	}
	px[y1*w+x0] = 255 // the tail, below the bottom-left corner
	return px
}

// centreOfMass returns the ink-weighted mean position of a w-wide image.
func centreOfMass(px []uint8, w int) (cx, cy float64) {
	var sum float64
	for i, v := range px {
		cx += float64(v) * float64(i%w)
		cy += float64(v) * float64(i/w)
		sum += float64(v)
	}
	return cx / sum, cy / sum
}

// zeroField returns a warp worker for w×h images with a zero displacement field whose
// nodes are step pixels apart.
func zeroField(w, h, step int) (*worker, *field) {
	s := newWorker(w, h, step)
	return s, &s.f
}

func TestWarpIdentity(t *testing.T) {
	for _, tc := range []struct{ w, h, step int }{
		{28, 28, 8}, {28, 28, 1}, {28, 28, 2}, {28, 28, 4}, {5, 7, 2}, {1, 1, 1}, {13, 4, 32},
	} {
		src := randomImage(tc.w, tc.h, 1)
		s, f := zeroField(tc.w, tc.h, tc.step)
		dst := make([]uint8, len(src))
		s.warp(dst, src, transform(tc.w, tc.h, 0, 1, 0, 0), f)
		if i := firstDiff(dst, src); i >= 0 {
			t.Errorf("%d×%d, node step %d: identity warp changed pixel %d: got %d, want %d", tc.w, tc.h, tc.step, i, dst[i], src[i])
		}
	}
}

func firstDiff(a, b []uint8) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestWarpTranslate(t *testing.T) {
	const w, h = 28, 28
	src := blob(w, h, 9, 8, 17, 19)
	cx, cy := centreOfMass(src, w)
	for _, tc := range []struct{ tx, ty, step int }{
		{0, 0, 8}, {2, 0, 8}, {0, -3, 8}, {-2, 2, 2}, {5, 4, 1}, {-7, -6, 4},
	} {
		t.Run(fmt.Sprintf("%+d%+d/step%d", tc.tx, tc.ty, tc.step), func(t *testing.T) {
			s, f := zeroField(w, h, tc.step)
			dst := make([]uint8, w*h)
			s.warp(dst, src, transform(w, h, 0, 1, float64(tc.tx), float64(tc.ty)), f)
			gx, gy := centreOfMass(dst, w)
			if math.Abs(gx-cx-float64(tc.tx)) > 0.5 || math.Abs(gy-cy-float64(tc.ty)) > 0.5 {
				t.Errorf("centre of mass moved from (%.2f, %.2f) to (%.2f, %.2f), want a shift of (%d, %d)", cx, cy, gx, gy, tc.tx, tc.ty)
			}
			// The blob stays inside the image, so the shift is exact.
			for y := range h {
				for x := range w {
					var want uint8
					if sx, sy := x-tc.tx, y-tc.ty; sx >= 0 && sx < w && sy >= 0 && sy < h {
						want = src[sy*w+sx]
					}
					if got := dst[y*w+x]; got != want {
						t.Fatalf("pixel (%d, %d) = %d, want source (%d, %d) = %d", x, y, got, x-tc.tx, y-tc.ty, want)
					}
				}
			}
		})
	}
}

// ascii draws a w-wide image with '#' for ink and '.' for background.
func ascii(px []uint8, w int) string {
	var b strings.Builder
	for i, v := range px {
		if v > 0 {
			b.WriteByte('#')
		} else {
			b.WriteByte('.')
		}
		if i%w == w-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestWarpRotate(t *testing.T) {
	// An L in a 6×6 image, its long stroke on the left.
	l := []uint8{
		0, 0, 0, 0, 0, 0,
		0, 9, 0, 0, 0, 0,
		0, 9, 0, 0, 0, 0,
		0, 9, 0, 0, 0, 0,
		0, 9, 9, 9, 0, 0,
		0, 0, 0, 0, 0, 0,
	}
	for _, tc := range []struct {
		deg  float64
		want []uint8
	}{
		// Anticlockwise as displayed: the long stroke along the bottom, the foot up.
		// The turn is about the image's centre (2.5, 2.5), not the L's.
		{90, []uint8{
			0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 9, 0,
			0, 0, 0, 0, 9, 0,
			0, 9, 9, 9, 9, 0,
			0, 0, 0, 0, 0, 0,
		}},
		{-90, []uint8{
			0, 0, 0, 0, 0, 0,
			0, 9, 9, 9, 9, 0,
			0, 9, 0, 0, 0, 0,
			0, 9, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
		}},
		{180, []uint8{
			0, 0, 0, 0, 0, 0,
			0, 0, 9, 9, 9, 0,
			0, 0, 0, 0, 9, 0,
			0, 0, 0, 0, 9, 0,
			0, 0, 0, 0, 9, 0,
			0, 0, 0, 0, 0, 0,
		}},
		{360, l},
	} {
		for _, step := range []int{1, 2, 8} {
			s, f := zeroField(6, 6, step)
			got := make([]uint8, len(l))
			s.warp(got, l, transform(6, 6, tc.deg, 1, 0, 0), f)
			if firstDiff(got, tc.want) >= 0 {
				t.Errorf("L turned by %v°, node step %d:\n%swant\n%s", tc.deg, step, ascii(got, 6), ascii(tc.want, 6))
			}
		}
	}

	// 90° of a 28×28 random image: output (x, y) reads the source at (27-y, x).
	src := randomImage(28, 28, 2)
	s, f := zeroField(28, 28, 2)
	got := make([]uint8, len(src))
	s.warp(got, src, transform(28, 28, 90, 1, 0, 0), f)
	for y := range 28 {
		for x := range 28 {
			if want := src[x*28+27-y]; got[y*28+x] != want {
				t.Fatalf("28×28 turned by 90°: pixel (%d, %d) = %d, want source (%d, %d) = %d", x, y, got[y*28+x], 27-y, x, want)
			}
		}
	}
}

func TestWarpScale(t *testing.T) {
	// Doubling about the centre keeps the centre of mass of a centred blob and doubles
	// its width.
	const w, h = 28, 28
	src := make([]uint8, w*h)
	for y := 11; y < 17; y++ {
		for x := 12; x < 16; x++ {
			src[y*w+x] = 200
		}
	}
	s, f := zeroField(w, h, 8)
	dst := make([]uint8, w*h)
	s.warp(dst, src, transform(w, h, 0, 2, 0, 0), f)
	cx, cy := centreOfMass(dst, w)
	if math.Abs(cx-13.5) > 0.01 || math.Abs(cy-13.5) > 0.01 {
		t.Errorf("centre of mass (%.2f, %.2f), want (13.5, 13.5)", cx, cy)
	}
	if got := mass(dst) / mass(src); math.Abs(got-4) > 0.3 {
		t.Errorf("ink ×%.2f, want about 4 (twice the width and height)", got)
	}
}

func mass(px []uint8) float64 {
	var s float64
	for _, v := range px {
		s += float64(v)
	}
	return s
}

func TestWarpField(t *testing.T) {
	// A constant displacement (dx, dy) reads the source at p + (dx, dy): the image moves
	// by -(dx, dy). With a shift t as well, by t - (dx, dy).
	const w, h = 28, 28
	src := blob(w, h, 9, 8, 17, 19)
	for _, step := range []int{1, 2, 4} {
		s, f := zeroField(w, h, step)
		for k := range f.dx {
			f.dx[k], f.dy[k] = 2, -1
		}
		dst := make([]uint8, w*h)
		s.warp(dst, src, transform(w, h, 0, 1, 1, 1), f)
		for y := range h {
			for x := range w {
				var want uint8
				if sx, sy := x+2-1, y-1-1; sx >= 0 && sx < w && sy >= 0 && sy < h {
					want = src[sy*w+sx]
				}
				if got := dst[y*w+x]; got != want {
					t.Fatalf("step %d: pixel (%d, %d) = %d, want %d", step, x, y, got, want)
				}
			}
		}
	}
}

func TestWarpOutside(t *testing.T) {
	// Reading half a pixel beyond the edge blends with the background.
	src := []uint8{200, 200, 200, 200}
	s, f := zeroField(2, 2, 1)
	dst := make([]uint8, 4)
	s.warp(dst, src, transform(2, 2, 0, 1, 0.5, 0), f)
	if want := []uint8{100, 200, 100, 200}; firstDiff(dst, want) >= 0 {
		t.Errorf("2×2 of 200 shifted right by half a pixel: got %v, want %v", dst, want)
	}
	s.warp(dst, src, transform(2, 2, 0, 1, 0, 5), f)
	if want := []uint8{0, 0, 0, 0}; firstDiff(dst, want) >= 0 {
		t.Errorf("2×2 shifted out of the image: got %v, want %v", dst, want)
	}
}

// fieldAt interpolates a node field at pixel (x, y) as warp does.
func fieldAt(f *field, x, y int) (dx, dy float64) {
	i, j := x/f.step, y/f.step
	fx, fy := float64(x-i*f.step)/float64(f.step), float64(y-j*f.step)/float64(f.step)
	at := func(v []float32) float64 {
		k := j*f.nx + i
		top := float64(v[k])*(1-fx) + float64(v[k+1])*fx
		bot := float64(v[k+f.nx])*(1-fx) + float64(v[k+f.nx+1])*fx
		return top*(1-fy) + bot*fy
	}
	return at(f.dx), at(f.dy)
}

// simard returns the x displacements at pixels ps of Simard et al.'s field made the
// literal way: uniform noise in ±1 at every pixel (of a 28×28 image and 4σ around it),
// smoothed with a normalized Gaussian kernel of σ cut at 4σ, times α.
func simard(r *rand.Rand, alpha, sigma float64, ps [][2]int) []float64 {
	rad := int(4 * sigma)
	m := rad
	n := 28 + 2*m
	noise := make([]float64, n*n)
	for i := range noise {
		noise[i] = 2*r.Float64() - 1
	}
	kern := make([]float64, 2*rad+1)
	var sum float64
	for i := range kern {
		d := float64(i - rad)
		kern[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += kern[i]
	}
	for i := range kern {
		kern[i] /= sum
	}
	out := make([]float64, len(ps))
	for k, p := range ps {
		var v float64
		for dy := -rad; dy <= rad; dy++ {
			for dx := -rad; dx <= rad; dx++ {
				v += noise[(p[1]+m+dy)*n+p[0]+m+dx] * kern[dx+rad] * kern[dy+rad]
			}
		}
		out[k] = alpha * v
	}
	return out
}

// TestElasticField checks that the lattice field has the statistics of Simard et al.'s
// per-pixel one: the r.m.s. displacement at a pixel and the correlation of two pixels
// σ apart, for pixels at the centre and near the edge of the box MNIST's digits fill.
func TestElasticField(t *testing.T) {
	const n = 3000
	for _, tc := range []struct{ alpha, sigma float64 }{{34, 4}, {34, 5}, {8, 2}, {40, 6}} {
		t.Run(fmt.Sprintf("α%v σ%v", tc.alpha, tc.sigma), func(t *testing.T) {
			step := nodeStep(tc.sigma)
			e := newElastic(28, 28, step, tc.alpha, tc.sigma)
			f := newField(28, 28, step)
			noise, tmp := e.buffers()
			lag := int(tc.sigma)
			ps := [][2]int{{13, 13}, {13 + lag, 13}, {4, 5}, {4, 5 + lag}}
			r := rand.New(rand.NewPCG(7, 8))
			var ours, ref [4][]float64
			for range n {
				e.fill(&f, r, noise, tmp)
				lit := simard(r, tc.alpha, tc.sigma, ps)
				for k, p := range ps {
					dx, _ := fieldAt(&f, p[0], p[1])
					ours[k] = append(ours[k], dx)
					ref[k] = append(ref[k], lit[k])
				}
			}
			// The continuous field's r.m.s.: α/√3 · (4πσ²)^-½; its correlation at
			// distance d: exp(-d²/4σ²).
			wantRMS := tc.alpha / math.Sqrt(3) / math.Sqrt(4*math.Pi*tc.sigma*tc.sigma)
			wantCorr := math.Exp(-float64(lag*lag) / (4 * tc.sigma * tc.sigma))
			for _, k := range []int{0, 2} {
				// Between nodes the interpolated field is a little weaker.
				for _, c := range []struct {
					name string
					v    [4][]float64
					tol  float64
				}{{"lattice", ours, 0.06}, {"per-pixel", ref, 0.05}} {
					rms, corr := rms(c.v[k]), correlation(c.v[k], c.v[k+1])
					t.Logf("%s field at %v: r.m.s. %.3f (%.3f), correlation %.3f (%.3f)", c.name, ps[k], rms, wantRMS, corr, wantCorr)
					if math.Abs(rms/wantRMS-1) > c.tol {
						t.Errorf("%s field at %v: r.m.s. %.3f, want %.3f ± %.0f%%", c.name, ps[k], rms, wantRMS, 100*c.tol)
					}
					if math.Abs(corr-wantCorr) > 0.05 {
						t.Errorf("%s field: correlation of %v and %v %.3f, want %.3f", c.name, ps[k], ps[k+1], corr, wantCorr)
					}
				}
			}
		})
	}
}

func rms(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s / float64(len(v)))
}

func correlation(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// TestElasticNodes checks the bilinear interpolation between nodes against the field
// computed at every pixel (nodes one pixel apart, the same noise).
func TestElasticNodes(t *testing.T) {
	for _, tc := range []struct{ alpha, sigma, want float64 }{
		{34, 4, 0.04}, {34, 5, 0.03}, {40, 6, 0.07}, {8, 1.5, 0.01}, {8, 2, 0.01},
	} {
		step := nodeStep(tc.sigma)
		fine := newElastic(28, 28, 1, tc.alpha, tc.sigma)
		coarse := newElastic(28, 28, step, tc.alpha, tc.sigma)
		ff, fc := newField(28, 28, 1), newField(28, 28, step)
		noise, ftmp := fine.buffers()
		_, ctmp := coarse.buffers()
		var diff, all float64
		for i := range 200 {
			fine.fill(&ff, rand.New(rand.NewPCG(uint64(i), 0)), noise, ftmp)
			coarse.fill(&fc, rand.New(rand.NewPCG(uint64(i), 0)), noise, ctmp)
			for y := range 28 {
				for x := range 28 {
					a, _ := fieldAt(&ff, x, y)
					b, _ := fieldAt(&fc, x, y)
					diff += (a - b) * (a - b)
					all += a * a
				}
			}
		}
		rel := math.Sqrt(diff / all)
		if rel > tc.want {
			t.Errorf("α %v σ %v: field interpolated between nodes %d apart off by %.1f%% r.m.s., want under %.0f%%", tc.alpha, tc.sigma, step, 100*rel, 100*tc.want)
		}
		t.Logf("α %v σ %v: nodes %d apart, field off by %.1f%% r.m.s. (%.2f px)", tc.alpha, tc.sigma, step, 100*rel, math.Sqrt(diff/(200*784)))
	}
}

// TestElasticBank checks that the fields combined from the bank keep the r.m.s. of
// the bank's fields and are not simply its fields.
func TestElasticBank(t *testing.T) {
	e := newElastic(28, 28, nodeStep(4), 34, 4)
	e.fillBank(rand.New(rand.NewPCG(1, 2)))
	n := e.nx * e.ny
	k := 6*e.nx + 5 // the node at pixel (15, 18)
	var bank, picked []float64
	for i := range bankSize {
		bank = append(bank, float64(e.bank[2*i*n+k]), float64(e.bank[(2*i+1)*n+k]))
	}
	f := newField(28, 28, e.step)
	r := rand.New(rand.NewPCG(3, 4))
	seen := map[float32]bool{}
	for range 4000 {
		e.pick(&f, r)
		picked = append(picked, float64(f.dx[k]), float64(f.dy[k]))
		seen[f.dx[k]] = true
	}
	if a, b := rms(bank), rms(picked); math.Abs(b/a-1) > 0.05 {
		t.Errorf("combined fields: r.m.s. %.3f at a node, bank's %.3f", b, a)
	}
	if len(seen) < 3900 {
		t.Errorf("4000 combined fields: %d distinct values at a node, want nearly 4000", len(seen))
	}
}

// BenchmarkWarp times the parts of one image's distortion (28×28, α 34 σ 4).
func BenchmarkWarp(b *testing.B) {
	const alpha, sigma = 34, 4
	e := newElastic(28, 28, nodeStep(sigma), alpha, sigma)
	e.fillBank(rand.New(rand.NewPCG(3, 4)))
	s := newWorker(28, 28, nodeStep(sigma))
	noise, tmp := e.buffers()
	r := rand.New(rand.NewPCG(1, 2))
	e.pick(&s.f, r)
	src := blob(28, 28, 6, 5, 20, 22)
	dst := make([]uint8, 784)
	T := transform(28, 28, 5, 1.05, 0.7, -1.2)
	b.Run("fill", func(b *testing.B) { // one field of the bank
		for b.Loop() {
			e.fill(&s.f, r, noise, tmp)
		}
	})
	b.Run("pick", func(b *testing.B) { // an image's field from the bank
		for b.Loop() {
			e.pick(&s.f, r)
		}
	})
	b.Run("warp", func(b *testing.B) {
		for b.Loop() {
			s.warp(dst, src, T, &s.f)
		}
	})
}
