package kernels

import (
	"sync"
	"sync/atomic"
)

// workers is how many goroutines Parallel and Gemm split work across (see SetWorkers).
var workers atomic.Int32

func init() { workers.Store(1) }

// SetWorkers sets how many goroutines Parallel and Gemm split work across. It is meant
// for SetThreads(1): then each goroutine drives a single-threaded BLAS on its share,
// and the Go and C code between the products (im2col, pooling, batch norm) runs on
// every core too, instead of on one core while OpenBLAS's idle threads spin on the
// other. Call it from one goroutine, before the work starts.
func SetWorkers(n int) { workers.Store(int32(max(n, 1))) }

// Workers reports the count SetWorkers set.
func Workers() int { return int(workers.Load()) }

// Parallel splits [0, n) into up to Workers() contiguous ranges of at least grain items
// and runs f on each, one goroutine per range (the caller's among them); it returns
// when all are done, and reports how many ranges there were. worker numbers the range,
// from 0, so f can use per-worker scratch.
func Parallel(n, grain int, f func(worker, lo, hi int)) (ranges int) {
	w := min(Workers(), n/max(grain, 1))
	if w <= 1 {
		if n > 0 {
			f(0, 0, n)
			return 1
		}
		return 0
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, i*n/w, (i+1)*n/w)
		}()
	}
	f(0, 0, n/w)
	wg.Wait()
	return w
}
