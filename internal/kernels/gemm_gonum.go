//go:build !cgo || purego

package kernels

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Backend names the implementation behind Gemm.
const Backend = "gonum"

var impl gonum.Implementation

// Products names the library running Gemm's float32 products.
func Products() string { return "gonum" }

func gemm(_ bool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SetThreads sets how many threads a product may use. gonum parallelises through
// goroutines bounded by GOMAXPROCS, so that is what this sets.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	runtime.GOMAXPROCS(n)
}

// Threads reports the thread count products use.
func Threads() int { return runtime.GOMAXPROCS(0) }
