//go:build cgo && !purego

package kernels

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
#include "dnnl.h"
#include "kernels.h"
// Declared here rather than taken from cblas.h: Debian's cblas.h is an alternatives link
// that may point at the reference CBLAS, which lacks OpenBLAS's own entry points.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Backend names the build behind Gemm: "openblas" is the cgo build, whose products run
// in oneDNN or OpenBLAS (Products says which).
const Backend = "openblas"

// fp32Once decides once which library runs the float32 products: oneDNN's sgemm on a
// CPU with AVX-512 where libdnnl2 loads (about twice OpenBLAS 0.3.21's rate on these
// machines, one thread against one thread and two against two: BENCHMARKS.md), else
// OpenBLAS. DIGITNET_ONEDNN=off keeps OpenBLAS.
var fp32Once = sync.OnceValue(func() error {
	return openOneDNN("oneDNN's fp32 products", cpu.X86.HasAVX512F, "AVX-512", "avx512f", func() *C.char { return C.dn_sgemm_open() })
})

// Products names the library running Gemm's float32 products: "oneDNN" or "OpenBLAS".
func Products() string {
	if fp32Once() == nil {
		return "oneDNN"
	}
	return "OpenBLAS"
}

// gemm runs a product on the calling goroutine's thread, or on the product threads
// (SetThreads) when threaded (OpenBLAS's pool, or an OpenMP team for oneDNN).
func gemm(threaded bool, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// One row (a batch of one) of a small product: a plain loop, 0.1-0.3 µs where the
	// libraries took 0.9-2 µs to get going (dn_gemv_row).
	if m == 1 && n*k <= 1<<16 {
		inca := 1
		if transA {
			inca = lda
		}
		C.dn_gemv_row(cbool(transB), C.int64_t(n), C.int64_t(k), C.float(alpha), fp(a), C.int64_t(inca), fp(b), C.int64_t(ldb), C.float(beta), fp(c))
		return
	}
	// Outer products (k of 1-3: the batch-1 weight gradient) stay with OpenBLAS, which
	// took 0.5 µs for 300×1·1×10 where oneDNN took 2.1.
	if k >= 4 && fp32Once() == nil {
		threads := 1
		// Smaller products run on one thread: waking a second costs about what it saves
		// (1000×300·300×10, 3M multiply-adds: 62 µs on one thread, 56 on two measured
		// alone, 120 inside a prediction, where the second thread has gone to sleep).
		if threaded && m*n*k >= 1<<22 {
			threads = Threads()
		}
		gemmOneDNN(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// OpenBLAS threads each product with its pool as SetThreads set it: serial callers
	// (workers) are the ones that set it to 1.
	gemmOpenBLAS(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmOneDNN(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	st := C.dn_sgemm(C.int(threads), cbool(transA), cbool(transB), C.int64_t(m), C.int64_t(n), C.int64_t(k), C.float(alpha), fp(a), C.int64_t(lda),
		fp(b), C.int64_t(ldb), C.float(beta), fp(c), C.int64_t(ldc))
	if st != 0 {
		panic(fmt.Sprintf("tensor: Gemm: oneDNN status %d for op(A) %d×%d, op(B) %d×%d", int(st), m, k, k, n))
	}
}

func gemmOpenBLAS(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
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

// SetThreads sets how many threads a product may use: OpenBLAS's pool, or oneDNN's
// OpenMP team (Gemm and GemmSerial with one worker). Call it from one goroutine only:
// OpenBLAS keeps one pool, and two goroutines driving it at once on few cores fight.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	C.openblas_set_num_threads(C.int(n))
}

// Threads reports the thread count products use.
func Threads() int { return int(C.openblas_get_num_threads()) }
