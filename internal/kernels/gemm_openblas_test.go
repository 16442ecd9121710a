//go:build cgo && !purego

package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"runtime/pprof"
	"testing"
	"time"

	"golang.org/x/sys/cpu"
)

// requireOneDNNProducts skips where oneDNN does not run the float32 products, and
// fails where it should (a CPU with AVX-512 on the cgo build with oneDNN on).
func requireOneDNNProducts(t *testing.T) {
	t.Helper()
	if err := fp32Once(); err != nil {
		if cpu.X86.HasAVX512F && oneDNNOff() == nil {
			t.Fatalf("oneDNN's fp32 products unavailable on an AVX-512 CPU: %v", err)
		}
		t.Skip(err)
	}
}

// TestGemmLibraries: both libraries' products, oneDNN on one thread and on an OpenMP
// team of two, against the definition, overwriting and accumulating.
func TestGemmLibraries(t *testing.T) {
	requireOneDNNProducts(t)
	rng := rand.New(rand.NewPCG(11, 11))
	type lib struct {
		name string
		run  func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	}
	libs := []lib{
		{"openblas", gemmOpenBLAS},
		{"onednn/1", func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			gemmOneDNN(1, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}},
		{"onednn/2", func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			gemmOneDNN(2, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}},
	}
	for _, l := range libs {
		for _, s := range []struct{ m, n, k int }{{1, 300, 784}, {128, 300, 527}, {527, 300, 128}, {37, 29, 131}} {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, beta := range []float32{0, 1} {
					ta, tb := tr[0], tr[1]
					lda, ldb, ldc := s.k+1, s.n+2, s.n+3
					if ta {
						lda = s.m + 1
					}
					if tb {
						ldb = s.k + 2
					}
					ar, br := s.m, s.k
					if ta {
						ar = s.k
					}
					if tb {
						br = s.n
					}
					a, b, c := randSlice(rng, ar*lda), randSlice(rng, br*ldb), randSlice(rng, s.m*ldc)
					want := append([]float32(nil), c...)
					naiveGemm(ta, tb, s.m, s.n, s.k, 0.5, a, lda, b, ldb, beta, want, ldc)
					l.run(ta, tb, s.m, s.n, s.k, 0.5, a, lda, b, ldb, beta, c, ldc)
					for i, w := range want {
						if math.Abs(float64(c[i]-w)) > 1e-4*(1+math.Sqrt(float64(s.k))) {
							t.Fatalf("%s %v tA=%v tB=%v beta=%g: C[%d] = %g, want %g", l.name, s, ta, tb, beta, i, c[i], w)
						}
					}
				}
			}
		}
	}
}

// TestGemmUnderProfiling: oneDNN's threaded products and int8 products, with Go's CPU
// profiler sending SIGPROF to every thread, OpenMP's among them. A JIT kernel whose
// thread takes a signal on its own stack corrupts memory (before the signal mask in
// dnnl.c, `digitnet train --cpuprofile` aborted in glibc's malloc every time); here
// the results must stay right and the process alive.
func TestGemmUnderProfiling(t *testing.T) {
	requireOneDNNProducts(t)
	int8OK := Int8() == nil
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		t.Skip("a CPU profile is already running:", err)
	}
	defer pprof.StopCPUProfile()
	rng := rand.New(rand.NewPCG(12, 12))
	const m, n, k = 128, 300, 527
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	want, c := make([]float32, m*n), make([]float32, m*n)
	gemmOpenBLAS(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	au, bs, ci := make([]uint8, m*k), make([]int8, k*n), make([]int32, m*n)
	for i := range au {
		au[i] = uint8(rng.IntN(256))
	}
	for i := range bs {
		bs[i] = int8(rng.IntN(256) - 128)
	}
	wantI := make([]int32, m*n)
	if int8OK {
		gemmU8S8(m, n, k, au, k, 128, bs, n, wantI, n)
	}
	// Two seconds at 100 samples a second and thread: the corruption took under one.
	for start := time.Now(); time.Since(start) < 2*time.Second; {
		gemmOneDNN(2, false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		for i, w := range want {
			if math.Abs(float64(c[i]-w)) > 1e-3 {
				t.Fatalf("C[%d] = %g, want %g", i, c[i], w)
			}
		}
		if int8OK {
			gemmU8S8(m, n, k, au, k, 128, bs, n, ci, n)
			for i, w := range wantI {
				if ci[i] != w {
					t.Fatalf("int8 C[%d] = %d, want %d", i, ci[i], w)
				}
			}
		}
	}
}
