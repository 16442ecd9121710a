// Package kernels is the arithmetic digitnet's layers are built on: matrix products
// (Gemm: through cgo, oneDNN's sgemm on CPUs with AVX-512 and OpenBLAS elsewhere;
// gonum's pure-Go sgemm when cgo is off or the `purego` build tag is set; all pass the
// same tests), the element-wise and reduction
// kernels of the layers (vectorized C with a Go fallback that keeps the same function
// set), Winograd tile transforms, and Parallel, which splits work over the workers.
//
// The number of BLAS threads and of workers is process-wide (SetThreads, SetWorkers):
// set it from one goroutine before the work starts.
package kernels
