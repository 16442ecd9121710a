//go:build cgo && !purego

package kernels

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
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
// profiler sending SIGPROF to every thread, OpenMP's among them. oneDNN's float32 JIT
// kernel, on a thread that takes a signal on its own stack, corrupts memory (before
// the signal mask in dnnl.c, `digitnet train --cpuprofile` aborted in glibc's malloc
// every time); the results must stay right and the process alive. libgomp keeps a
// thread's OpenMP workers for its next teams, whichever entry point made them, so each
// case runs in a process of its own (this test binary again), on one thread: "sgemm"
// alone, and "u8s8" first (its team's worker, if made unmasked, then runs sgemm's).
func TestGemmUnderProfiling(t *testing.T) {
	requireOneDNNProducts(t)
	if entry := os.Getenv("DIGITNET_PROFILED_ENTRY"); entry != "" {
		if err := runProfiled(entry); err != nil {
			t.Fatalf("%s: %v", entry, err)
		}
		return
	}
	for _, entry := range []string{"sgemm", "u8s8"} {
		if entry == "u8s8" && Int8() != nil {
			continue
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestGemmUnderProfiling$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DIGITNET_PROFILED_ENTRY="+entry)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s under the CPU profiler: %v\n%s", entry, err, out)
		}
	}
}

// runProfiled calls oneDNN's float32 product on an OpenMP team of two for 1.5 s (the
// corruption took under 0.5) under the CPU profiler, checking every result; with entry
// "u8s8", the int8 product (on Threads() threads: two here) runs once first on
// the same thread, so that its worker is the one the float32 teams use. Nothing else
// starts an OpenMP team: the references are OpenBLAS's and Go's.
func runProfiled(entry string) error {
	runtime.LockOSThread() // one thread, one pool of OpenMP workers
	defer runtime.UnlockOSThread()
	rng := rand.New(rand.NewPCG(12, 12))
	const m, n, k = 128, 300, 527
	a, b := randSlice(rng, m*k), randSlice(rng, k*n)
	want, c := make([]float32, m*n), make([]float32, m*n)
	gemmOpenBLAS(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	sgemm := func() error {
		gemmOneDNN(2, false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		for i, w := range want {
			if math.Abs(float64(c[i]-w)) > 1e-3 {
				return fmt.Errorf("sgemm C[%d] = %g, want %g", i, c[i], w)
			}
		}
		return nil
	}
	switch entry {
	case "sgemm":
	case "u8s8":
		if err := Int8(); err != nil {
			return err
		}
		au, bs := make([]uint8, m*k), make([]int8, k*n)
		for i := range au {
			au[i] = uint8(rng.IntN(256))
		}
		for i := range bs {
			bs[i] = int8(rng.IntN(256) - 128)
		}
		wantI, ci := make([]int32, m*n), make([]int32, m*n)
		for i := range m {
			for p := range k {
				ap := int32(au[i*k+p]) - 128
				for j := range n {
					wantI[i*n+j] += ap * int32(bs[p*n+j])
				}
			}
		}
		u8s8 := func() error {
			gemmU8S8(m, n, k, au, k, 128, bs, n, ci, n)
			for i, w := range wantI {
				if ci[i] != w {
					return fmt.Errorf("u8s8 C[%d] = %d, want %d", i, ci[i], w)
				}
			}
			return nil
		}
		if err := u8s8(); err != nil { // its worker, reused by sgemm's teams below
			return err
		}
	default:
		return fmt.Errorf("no entry point %q", entry)
	}
	var prof bytes.Buffer
	if err := pprof.StartCPUProfile(&prof); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	for start := time.Now(); time.Since(start) < 1500*time.Millisecond; {
		if err := sgemm(); err != nil {
			return err
		}
	}
	return nil
}
