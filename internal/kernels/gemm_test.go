package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/digitnet/digitnet/tensor"
)

// naiveGemm is the definition of Gemm, loop by loop, in float64.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	at := func(i, p int) float64 {
		if transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	bt := func(p, j int) float64 {
		if transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += at(i, p) * bt(p, j)
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*float64(c[i*ldc+j]))
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// TestGemmMatchesDefinition checks every transpose and stride combination, on one
// worker and on two (large products are then split into blocks of rows or columns),
// with products on one thread and on two (OpenBLAS's pool, or oneDNN's OpenMP team).
func TestGemmMatchesDefinition(t *testing.T) {
	defer SetWorkers(Workers())
	defer SetThreads(Threads())
	rng := rand.New(rand.NewPCG(1, 1))
	shapes := []struct{ m, n, k int }{{1, 1, 1}, {3, 5, 7}, {1, 300, 784}, {1, 10, 300}, {1, 300, 10}, {1, 300, 13}, {1, 257, 100}, {128, 10, 300}, {17, 33, 65}, {301, 40, 64}, {20, 401, 50}, {128, 300, 784}}
	for _, workers := range []int{1, 2} {
		SetWorkers(workers)
		SetThreads(3 - workers)
		for _, s := range shapes {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, pad := range []int{0, 3} { // pad > 0: strides wider than the rows
						name := fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/pad=%d/workers=%d", s.m, s.n, s.k, ta, tb, pad, workers)
						t.Run(name, func(t *testing.T) {
							ar, ac := s.m, s.k
							if ta {
								ar, ac = s.k, s.m
							}
							br, bc := s.k, s.n
							if tb {
								br, bc = s.n, s.k
							}
							lda, ldb, ldc := ac+pad, bc+pad, s.n+pad
							a, b := randSlice(rng, ar*lda), randSlice(rng, br*ldb)
							c := randSlice(rng, s.m*ldc)
							want := append([]float32(nil), c...)
							naiveGemm(ta, tb, s.m, s.n, s.k, 0.5, a, lda, b, ldb, 0.25, want, ldc)
							Gemm(ta, tb, s.m, s.n, s.k, 0.5, a, lda, b, ldb, 0.25, c, ldc)
							for i := 0; i < s.m; i++ {
								for j := 0; j < s.n; j++ {
									got, w := c[i*ldc+j], want[i*ldc+j]
									if math.Abs(float64(got-w)) > 1e-4*(1+math.Sqrt(float64(s.k))) {
										t.Fatalf("C[%d,%d] = %g, want %g (products by %s)", i, j, got, w, Products())
									}
								}
								for j := s.n; j < ldc; j++ {
									if c[i*ldc+j] != want[i*ldc+j] {
										t.Fatalf("C[%d,%d] in the stride padding was written", i, j)
									}
								}
							}
						})
					}
				}
			}
		}
	}
}

// TestGemmOneRow: products whose op(A) is one row (a batch of one, which runs in a loop
// of our own) on both kernel paths, at the vector widths' edges, with the BLAS cases of
// alpha and beta: beta 0 must not read C (NaN there stays out), 1 adds to it.
func TestGemmOneRow(t *testing.T) { bothPaths(t, testGemmOneRow) }

func testGemmOneRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, s := range []struct{ n, k int }{{10, 300}, {300, 10}, {16, 16}, {32, 16}, {16, 17}, {15, 1}, {1, 15}, {17, 33}} {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-1.5, 0.5}} {
					lda := s.k
					if ta {
						lda = 3 // op(A) = Aᵀ, A [k 1] with a wider stride
					}
					ldb := s.n
					if tb {
						ldb = s.k
					}
					a, b := randSlice(rng, (s.k-1)*lda+s.k), randSlice(rng, s.k*s.n)
					c := randSlice(rng, s.n)
					want := append([]float32(nil), c...)
					if ab[1] == 0 {
						clear(want)
						for j := range c {
							c[j] = float32(math.NaN())
						}
					}
					naiveGemm(ta, tb, 1, s.n, s.k, ab[0], a, lda, b, ldb, ab[1], want, s.n)
					Gemm(ta, tb, 1, s.n, s.k, ab[0], a, lda, b, ldb, ab[1], c, s.n)
					for j := range c {
						if d := math.Abs(float64(c[j] - want[j])); !(d <= 1e-4*(1+math.Sqrt(float64(s.k)))) {
							t.Fatalf("1×%d·%d×%d tA=%v tB=%v alpha %g beta %g: C[%d] = %g, want %g", s.k, s.k, s.n, ta, tb, ab[0], ab[1], j, c[j], want[j])
						}
					}
				}
			}
		}
	}
}

// TestParallel: the ranges cover [0, n) once, in order of worker number, no smaller
// than grain, on at most Workers() goroutines.
func TestParallel(t *testing.T) {
	defer SetWorkers(Workers())
	for _, c := range []struct{ workers, n, grain, ranges int }{
		{1, 10, 1, 1}, {2, 10, 1, 2}, {2, 1, 1, 1}, {2, 0, 1, 0}, {2, 10, 6, 1}, {2, 12, 6, 2}, {3, 7, 2, 3},
	} {
		SetWorkers(c.workers)
		seen := make([]int, c.n)
		bounds := make([][2]int, c.workers)
		got := Parallel(c.n, c.grain, func(w, lo, hi int) {
			bounds[w] = [2]int{lo, hi}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		if got != c.ranges {
			t.Errorf("workers %d, n %d, grain %d: %d ranges, want %d", c.workers, c.n, c.grain, got, c.ranges)
		}
		for i, v := range seen {
			if v != 1 {
				t.Errorf("workers %d, n %d, grain %d: item %d visited %d times", c.workers, c.n, c.grain, i, v)
			}
		}
		for w := 1; w < got; w++ {
			if bounds[w][0] != bounds[w-1][1] {
				t.Errorf("workers %d, n %d: range %d starts at %d, range %d ends at %d", c.workers, c.n, w, bounds[w][0], w-1, bounds[w-1][1])
			}
		}
	}
}

func TestGemmPanicsOnShortSlices(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "tensor: Gemm: B is 4×5 with stride 5 but has 19 values") {
			t.Errorf("panic %v, want a message naming B's shape and length", r)
		}
	}()
	Gemm(false, false, 3, 5, 4, 1, make([]float32, 12), 4, make([]float32, 19), 5, 0, make([]float32, 15), 5)
}

func TestMatMul(t *testing.T) {
	a := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := tensor.FromSlice([]float32{1, 0, 0, 1, 1, 1}, 3, 2)
	c := tensor.New(2, 2)
	MatMul(c, a, b, false, false, 0)
	if want := []float32{4, 5, 10, 11}; fmt.Sprint(c.Data) != fmt.Sprint(want) {
		t.Errorf("a·b = %v, want %v", c.Data, want)
	}
	ct := tensor.New(3, 3)
	MatMul(ct, a, a, true, false, 0) // aᵀ·a
	if want := []float32{17, 22, 27, 22, 29, 36, 27, 36, 45}; fmt.Sprint(ct.Data) != fmt.Sprint(want) {
		t.Errorf("aᵀ·a = %v, want %v", ct.Data, want)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "[2 3] · [2 3]") {
			t.Errorf("panic %v, want one naming both shapes", r)
		}
	}()
	MatMul(c, a, a, false, false, 0)
}

func TestResizeReusesStorage(t *testing.T) {
	x := tensor.New(128, 10)
	p := &x.Data[0]
	x.Resize(96, 10)
	if &x.Data[0] != p || len(x.Data) != 960 || x.Rows() != 96 {
		t.Errorf("Resize(96,10): len %d rows %d, storage reused %v", len(x.Data), x.Rows(), &x.Data[0] == p)
	}
	x.Resize(128, 10)
	if &x.Data[0] != p {
		t.Error("Resize back to the original size reallocated")
	}
}

func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	shapes := []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"forward 128x784·784x300", false, false, 128, 300, 784},
		{"weightgrad 784x128ᵀ·128x300", true, false, 784, 300, 128},
		{"inputgrad 128x300·10x300ᵀ", false, true, 128, 300, 10},
		{"forward 1000x784·784x300", false, false, 1000, 300, 784},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			ar, ac := s.m, s.k
			if s.ta {
				ar, ac = s.k, s.m
			}
			br, bc := s.k, s.n
			if s.tb {
				br, bc = s.n, s.k
			}
			a, bb, c := randSlice(rng, ar*ac), randSlice(rng, br*bc), make([]float32, s.m*s.n)
			b.ResetTimer()
			for b.Loop() {
				Gemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, ac, bb, bc, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
