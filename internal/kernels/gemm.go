package kernels

import (
	"fmt"

	"github.com/digitnet/digitnet/tensor"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where op(X) is X or
// Xᵀ as transA/transB say. op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb, ldc are the
// row strides of A, B, C as stored. It is the BLAS sgemm contract, which lets one call
// cover the forward product x·W, the weight gradient xᵀ·dy and the input gradient dy·Wᵀ
// without transposing anything in memory.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if Workers() == 1 || m*n*k < 1<<17 {
		gemm(true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Split C into blocks of rows (or columns, when C is wide) on the workers; each
	// block is an independent product, so the result does not depend on the split.
	if m >= n {
		Parallel(m, 16, func(_, lo, hi int) {
			aOff := lo * lda
			if transA {
				aOff = lo
			}
			gemm(false, transA, transB, hi-lo, n, k, alpha, a[aOff:], lda, b, ldb, beta, c[lo*ldc:], ldc)
		})
		return
	}
	Parallel(n, 16, func(_, lo, hi int) {
		bOff := lo
		if transB {
			bOff = lo * ldb
		}
		gemm(false, transA, transB, m, hi-lo, k, alpha, a, lda, b[bOff:], ldb, beta, c[lo:], ldc)
	})
}

// GemmSerial is Gemm on the calling goroutine only, for code that already runs on
// Parallel's workers.
func GemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	// With one worker, Parallel runs on the caller alone: the product may use the
	// product threads, as OpenBLAS's pool does.
	gemm(Workers() == 1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	switch {
	case lda < max(1, ac) || (ar > 0 && la < (ar-1)*lda+ac):
		panic(fmt.Sprintf("tensor: Gemm: A is %d×%d with stride %d but has %d values", ar, ac, lda, la))
	case ldb < max(1, bc) || (br > 0 && lb < (br-1)*ldb+bc):
		panic(fmt.Sprintf("tensor: Gemm: B is %d×%d with stride %d but has %d values", br, bc, ldb, lb))
	case ldc < max(1, n) || lc < (m-1)*ldc+n:
		panic(fmt.Sprintf("tensor: Gemm: C is %d×%d with stride %d but has %d values", m, n, ldc, lc))
	}
}

// MatMul sets dst = op(a)·op(b) + beta·dst for 2-D views of a, b and dst (rows = first
// dimension, columns = the rest). Shape mismatches panic naming both shapes.
func MatMul(dst, a, b *tensor.Tensor, transA, transB bool, beta float32) {
	ar, ac := a.Rows(), a.Cols()
	br, bc := b.Rows(), b.Cols()
	m, k := ar, ac
	if transA {
		m, k = ac, ar
	}
	kb, n := br, bc
	if transB {
		kb, n = bc, br
	}
	if k != kb || dst.Rows() != m || dst.Cols() != n {
		panic(fmt.Sprintf("tensor: MatMul: %s%s · %s%s into %s", tensor.ShapeString(a.Shape), tmark(transA), tensor.ShapeString(b.Shape), tmark(transB), tensor.ShapeString(dst.Shape)))
	}
	Gemm(transA, transB, m, n, k, 1, a.Data, ac, b.Data, bc, beta, dst.Data, n)
}

func tmark(t bool) string {
	if t {
		return "ᵀ"
	}
	return ""
}
