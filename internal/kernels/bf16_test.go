package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// bf16Ref rounds to bf16 by the definition: to nearest, ties to even.
func bf16Ref(f float32) float32 {
	u := math.Float32bits(f)
	lo := u & 0xffff
	u &^= 0xffff
	if lo > 0x8000 || (lo == 0x8000 && u&0x10000 != 0) {
		u += 0x10000
	}
	return math.Float32frombits(u)
}

func TestToBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	// Ties both ways, signs, overflow first, where the vector instructions see them,
	// then random values and a tail shorter than a vector.
	src := []float32{1 + 1.0/256, 1 + 3.0/256, float32(math.Copysign(0, -1)), float32(math.Inf(-1)), 3.0e38}
	src = append(src, randSlice(rng, 1037)...)
	dst := make([]uint16, len(src))
	ToBF16(dst, src)
	for i, f := range src {
		got, want := math.Float32frombits(uint32(dst[i])<<16), bf16Ref(f)
		if got != want && !(math.IsInf(float64(want), 0) && math.IsInf(float64(got), 0)) {
			t.Fatalf("ToBF16(%g) = %g, want %g", f, got, want)
		}
	}
	nan := make([]uint16, 1)
	ToBF16(nan, []float32{float32(math.NaN())})
	if v := math.Float32frombits(uint32(nan[0]) << 16); !math.IsNaN(float64(v)) {
		t.Errorf("ToBF16(NaN) = %g", v)
	}
}

// TestGemmBF16: the bf16 product is the float32 product of the rounded inputs, up to
// summation order, in all four transpose combinations, overwriting and accumulating.
func TestGemmBF16(t *testing.T) {
	if err := BF16(); err != nil {
		if Backend == "openblas" && hasBF16() && oneDNNOff() == nil {
			t.Fatalf("bf16 unavailable: %v", err)
		}
		t.Skip(err)
	}
	rng := rand.New(rand.NewPCG(6, 6))
	const m, n, k = 37, 29, 131
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		for _, acc := range []bool{false, true} {
			ta, tb := tr[0], tr[1]
			a, b := randSlice(rng, m*k), randSlice(rng, k*n)
			ab, bb := make([]uint16, len(a)), make([]uint16, len(b))
			ToBF16(ab, a)
			ToBF16(bb, b)
			for i := range a {
				a[i] = bf16Ref(a[i])
			}
			for i := range b {
				b[i] = bf16Ref(b[i])
			}
			lda, ldb := k, n
			if ta {
				lda = m
			}
			if tb {
				ldb = k
			}
			c0 := randSlice(rng, m*n)
			got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
			beta := float32(0)
			if acc {
				beta = 1
			}
			GemmBF16(ta, tb, m, n, k, ab, lda, bb, ldb, acc, got, n)
			Gemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, want, n)
			closeTo(t, "GemmBF16", got, want, 1e-5)
		}
	}
}

// TestGemmBF16ManyShapes: more product shapes than the primitive cache holds (256); the
// oldest are freed and made again when they come back, and every product stays right.
func TestGemmBF16ManyShapes(t *testing.T) {
	if err := BF16(); err != nil {
		t.Skip(err)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	const n, k = 3, 5
	b := randSlice(rng, k*n)
	bb := make([]uint16, len(b))
	ToBF16(bb, b)
	for i := range b {
		b[i] = bf16Ref(b[i])
	}
	for _, m := range append(seq(1, 300), seq(1, 10)...) {
		a := randSlice(rng, m*k)
		ab := make([]uint16, len(a))
		ToBF16(ab, a)
		for i := range a {
			a[i] = bf16Ref(a[i])
		}
		got, want := make([]float32, m*n), make([]float32, m*n)
		GemmBF16(false, false, m, n, k, ab, k, bb, n, false, got, n)
		Gemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
		closeTo(t, "GemmBF16", got, want, 1e-5)
	}
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

func TestGatherRowsBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	const ld, n = 45, 37
	w := randSlice(rng, 20*ld)
	rows := []int{19, 0, 7, 8}
	got := make([]uint16, len(rows)*n)
	GatherRowsBF16(got, w, ld, rows, n)
	for k, r := range rows {
		want := make([]uint16, n)
		ToBF16(want, w[r*ld:r*ld+n])
		for j := range want {
			if got[k*n+j] != want[j] {
				t.Fatalf("row %d (w row %d) [%d] = %#x, want %#x", k, r, j, got[k*n+j], want[j])
			}
		}
	}
}

// convRef is a direct convolution in float64 over the given (already rounded) values:
// y = conv(x, w) + b, and for dy, dw = ∂/∂w, db, dx, by the definition.
func convRef(s ConvShape, x, w, b, dy []float32) (y, dw, db, dx []float64) {
	oh, ow := s.Out()
	y, dw, db, dx = make([]float64, s.N*s.O*oh*ow), make([]float64, len(w)), make([]float64, s.O), make([]float64, len(x))
	for n := 0; n < s.N; n++ {
		for o := 0; o < s.O; o++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					at := ((n*s.O+o)*oh+i)*ow + j
					sum := float64(b[o])
					for c := 0; c < s.C; c++ {
						for u := 0; u < s.K; u++ {
							for v := 0; v < s.K; v++ {
								r, q := i*s.Stride+u-s.Pad, j*s.Stride+v-s.Pad
								if r < 0 || q < 0 || r >= s.H || q >= s.W {
									continue
								}
								xi, wi := ((n*s.C+c)*s.H+r)*s.W+q, ((o*s.C+c)*s.K+u)*s.K+v
								sum += float64(w[wi]) * float64(x[xi])
								if dy != nil {
									dw[wi] += float64(dy[at]) * float64(x[xi])
									dx[xi] += float64(dy[at]) * float64(w[wi])
								}
							}
						}
					}
					y[at] = sum
					if dy != nil {
						db[o] += float64(dy[at])
					}
				}
			}
		}
	}
	return y, dw, db, dx
}

func roundedBF16(s []float32) []float32 {
	r := make([]float32, len(s))
	for i, f := range s {
		r[i] = bf16Ref(f)
	}
	return r
}

// nearScaled fails unless got is want up to float32 sums: a relative error of tol against
// the largest |want|.
func nearScaled(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*scale || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %g, want %g (scale %g)", what, i, got[i], want[i], scale)
		}
	}
}

// TestConvBF16: oneDNN's bf16 convolution is the convolution of the bf16-rounded x, w
// and dy with float32 sums, forward and backward, with padding and strides, on two
// slots; a backward pass whose x changed since its forward (another token) reads x anew.
func TestConvBF16(t *testing.T) {
	if err := BF16(); err != nil {
		if Backend == "openblas" && hasBF16() && oneDNNOff() == nil {
			t.Fatalf("bf16 unavailable: %v", err)
		}
		t.Skip(err)
	}
	testConvDirect(t, true)
}

// TestConvF32: the same in float32, x, w and dy as they are.
func TestConvF32(t *testing.T) {
	if err := ConvF32(); err != nil {
		if Products() == "oneDNN" && BF16() == nil {
			t.Fatalf("oneDNN runs products and bf16 convolutions but not fp32 convolutions: %v", err)
		}
		t.Skip(err)
	}
	testConvDirect(t, false)
}

func testConvDirect(t *testing.T, bf16 bool) {
	forward, backward, round := ConvForwardF32, ConvBackwardF32, slices.Clone[[]float32]
	if bf16 {
		forward, backward, round = ConvForwardBF16, ConvBackwardBF16, roundedBF16
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for i, s := range []ConvShape{
		{N: 3, C: 5, H: 11, W: 9, O: 7, K: 3, Stride: 1, Pad: 0},
		{N: 2, C: 1, H: 12, W: 12, O: 16, K: 5, Stride: 1, Pad: 2},
		{N: 4, C: 32, H: 10, W: 10, O: 64, K: 3, Stride: 2, Pad: 1},
		{N: 3, C: 16, H: 14, W: 13, O: 32, K: 5, Stride: 1, Pad: 0},
		{N: 2, C: 6, H: 9, W: 9, O: 10, K: 5, Stride: 2, Pad: 2},
	} {
		oh, ow := s.Out()
		x, w := randSlice(rng, s.N*s.C*s.H*s.W), randSlice(rng, s.O*s.C*s.K*s.K)
		b, dy := randSlice(rng, s.O), randSlice(rng, s.N*s.O*oh*ow)
		y, dw, db, dx := make([]float32, len(dy)), make([]float32, len(w)), make([]float32, s.O), make([]float32, len(x))
		slot := i % 2
		if err := forward(slot, s, x, w, b, y, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
		changed := i == 2
		if changed { // x changes in place before backward, which is told so by another token
			copy(x, randSlice(rng, len(x)))
		}
		token := uint64(i + 1)
		if changed {
			token++
		}
		if err := backward(slot, s, x, w, dy, dw, db, dx, token); err != nil {
			t.Fatal(err)
		}
		ry, rdw, rdb, rdx := convRef(s, round(x), round(w), b, round(dy))
		if !changed {
			nearScaled(t, "y", y, ry, 1e-5)
		}
		nearScaled(t, "dw", dw, rdw, 1e-5)
		nearScaled(t, "db", db, rdb, 1e-5)
		nearScaled(t, "dx", dx, rdx, 1e-5)
		if err := backward(slot, s, x, w, dy, dw, db, nil, token); err != nil {
			t.Fatal(err) // without the input gradient
		}
		nearScaled(t, "dw without dx", dw, rdw, 1e-5)
	}
}

// TestConvBF16Interleaved: two passes of one shape on one slot, forward A, forward B,
// backward A, backward B (two networks training at once): each backward pass gets its
// own input's gradient, and many rounds of it (primitives run on whichever thread Go
// gives them) stay right.
func TestConvBF16Interleaved(t *testing.T) {
	if err := BF16(); err != nil {
		t.Skip(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	s := ConvShape{N: 2, C: 4, H: 7, W: 7, O: 8, K: 3, Stride: 1, Pad: 1}
	oh, ow := s.Out()
	type pass struct{ x, w, b, y, dy, dw, db []float32 }
	newPass := func() *pass {
		return &pass{x: randSlice(rng, s.N*s.C*s.H*s.W), w: randSlice(rng, s.O*s.C*s.K*s.K), b: randSlice(rng, s.O),
			y: make([]float32, s.N*s.O*oh*ow), dy: randSlice(rng, s.N*s.O*oh*ow), dw: make([]float32, s.O*s.C*s.K*s.K), db: make([]float32, s.O)}
	}
	for round := range 20 {
		a, b := newPass(), newPass()
		ta, tb := uint64(2*round+1000), uint64(2*round+1001)
		for _, err := range []error{
			ConvForwardBF16(0, s, a.x, a.w, a.b, a.y, ta), ConvForwardBF16(0, s, b.x, b.w, b.b, b.y, tb),
			ConvBackwardBF16(0, s, a.x, a.w, a.dy, a.dw, a.db, nil, ta), ConvBackwardBF16(0, s, b.x, b.w, b.dy, b.dw, b.db, nil, tb),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		for name, p := range map[string]*pass{"A": a, "B": b} {
			_, rdw, _, _ := convRef(s, roundedBF16(p.x), roundedBF16(p.w), p.b, roundedBF16(p.dy))
			nearScaled(t, fmt.Sprintf("round %d, pass %s: dw", round, name), p.dw, rdw, 1e-5)
		}
	}
}

// TestConvMixedPrecision: float32 and bf16 passes of one shape on one slot (the cache
// keeps an entry for each precision) never read each other's blocked copy of x, in
// any order, with x changed in place between them (a review's test).
func TestConvMixedPrecision(t *testing.T) {
	if err := errors.Join(ConvF32(), BF16()); err != nil {
		t.Skip(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	s := ConvShape{N: 3, C: 16, H: 14, W: 13, O: 32, K: 5, Stride: 1, Pad: 0}
	oh, ow := s.Out()
	x, w := randSlice(rng, s.N*s.C*s.H*s.W), randSlice(rng, s.O*s.C*s.K*s.K)
	b, dy := randSlice(rng, s.O), randSlice(rng, s.N*s.O*oh*ow)
	y := make([]float32, len(dy))
	dw, db, dx := make([]float32, len(w)), make([]float32, s.O), make([]float32, len(x))
	check := func(bf16 bool) {
		round := slices.Clone[[]float32]
		if bf16 {
			round = roundedBF16
		}
		_, rdw, rdb, rdx := convRef(s, round(x), round(w), b, round(dy))
		nearScaled(t, "dw", dw, rdw, 1e-5)
		nearScaled(t, "db", db, rdb, 1e-5)
		nearScaled(t, "dx", dx, rdx, 1e-5)
	}
	// a float32 forward pass, a bf16 backward pass with its token, then the reverse: each
	// precision keeps its own blocked copy of x
	if err := ConvForwardF32(0, s, x, w, b, y, 100); err != nil {
		t.Fatal(err)
	}
	if err := ConvBackwardBF16(0, s, x, w, dy, dw, db, dx, 100); err != nil {
		t.Fatal(err)
	}
	check(true)
	if err := ConvForwardBF16(0, s, x, w, b, y, 101); err != nil {
		t.Fatal(err)
	}
	if err := ConvBackwardF32(0, s, x, w, dy, dw, db, dx, 101); err != nil {
		t.Fatal(err)
	}
	check(false)
	// interleaved: a float32 forward pass, a bf16 one on the same x, then both backward
	must(t, ConvForwardF32(0, s, x, w, b, y, 102))
	must(t, ConvForwardBF16(0, s, x, w, b, y, 103))
	must(t, ConvBackwardF32(0, s, x, w, dy, dw, db, dx, 102))
	check(false)
	must(t, ConvBackwardBF16(0, s, x, w, dy, dw, db, dx, 103))
	check(true)
	// x changed in place after a float32 forward pass, a bf16 one on the new x, then a
	// float32 backward pass with the bf16 pass's token: it must not reuse the first copy
	must(t, ConvForwardF32(1, s, x, w, b, y, 104))
	copy(x, randSlice(rng, len(x)))
	must(t, ConvForwardBF16(1, s, x, w, b, y, 105))
	must(t, ConvBackwardF32(1, s, x, w, dy, dw, db, dx, 105))
	check(false)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
