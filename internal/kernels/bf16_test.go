package kernels

import (
	"math"
	"math/rand/v2"
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
