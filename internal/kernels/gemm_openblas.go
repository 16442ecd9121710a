//go:build cgo && !purego

package kernels

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
// Declared here rather than taken from cblas.h: Debian's cblas.h is an alternatives link
// that may point at the reference CBLAS, which lacks OpenBLAS's own entry points.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

import "unsafe"

// Backend names the implementation behind Gemm.
const Backend = "openblas"

func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(unsafe.SliceData(a))), C.blasint(lda),
		(*C.float)(unsafe.Pointer(unsafe.SliceData(b))), C.blasint(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(unsafe.SliceData(c))), C.blasint(ldc))
}

// SetThreads sets how many threads a product may use. Call it from one goroutine only:
// OpenBLAS keeps one pool, and two goroutines driving it at once on few cores fight.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	C.openblas_set_num_threads(C.int(n))
}

// Threads reports the thread count products use.
func Threads() int { return int(C.openblas_get_num_threads()) }
