package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
// and runs f on each; it returns when all are done, and reports how many ranges there
// were. worker numbers the range, from 0, so f can use per-worker scratch.
//
// The ranges are fixed by n and Workers() alone, so results do not depend on which
// goroutine runs which range. The caller and a pool of helper goroutines claim ranges
// until none is left, and the caller never waits for a helper to start: on a machine
// whose other cores are busy, where a helper may wait a whole time slice before it
// runs, the caller does the rest itself (a training step has thousands of these
// hand-offs; a BLAS thread pool that waits for its threads runs 20-40 times slower
// there). Helpers poll for new work for a short while after each job, as BLAS thread
// pools do, so that back-to-back products do not pay for waking a sleeping thread.
func Parallel(n, grain int, f func(worker, lo, hi int)) (ranges int) {
	w := min(Workers(), n/max(grain, 1))
	if w <= 1 {
		if n > 0 {
			f(0, 0, n)
			return 1
		}
		return 0
	}
	j := &job{f: f, n: n, ranges: int32(w), done: make(chan struct{})}
	j.left.Store(int32(w))
	pool.post(j, w-1)
	j.run()
	j.wait()
	return w
}

// job is one Parallel call: its ranges, claimed in order by whoever comes first.
type job struct {
	f      func(worker, lo, hi int)
	n      int
	ranges int32
	next   atomic.Int32  // the next range to claim
	left   atomic.Int32  // ranges not finished yet
	done   chan struct{} // closed when left reaches 0
}

// run claims and runs ranges until none is left.
func (j *job) run() {
	w := int(j.ranges)
	for i := int(j.next.Add(1)) - 1; i < w; i = int(j.next.Add(1)) - 1 {
		j.f(i, i*j.n/w, (i+1)*j.n/w)
		if j.left.Add(-1) == 0 {
			close(j.done)
		}
	}
}

// wait returns when every range has finished: those the caller ran are, so it waits
// only for ranges a helper claimed and is still running.
func (j *job) wait() {
	for start := time.Now(); j.left.Load() > 0 && time.Since(start) < spinFor; {
		runtime.Gosched()
	}
	<-j.done
}

// spinFor is how long a helper polls for the next job, and a caller for its helpers'
// last ranges, before sleeping: longer than the gap between the products of a training
// step, short enough that an idle process sleeps.
const spinFor = 50 * time.Microsecond

// pool is Parallel's helper goroutines, started as Workers() grows.
var pool = new(helperPool)

type helperPool struct {
	mu      sync.Mutex
	started int
	current atomic.Pointer[job] // the latest job
	asleep  atomic.Int32        // helpers waiting on wake
	wake    chan struct{}
}

// post makes j the job helpers work on, with at least helpers of them running.
func (p *helperPool) post(j *job, helpers int) {
	p.mu.Lock()
	if p.wake == nil {
		p.wake = make(chan struct{}, 64)
	}
	for ; p.started < helpers; p.started++ {
		spawn(p.help)
	}
	p.mu.Unlock()
	p.current.Store(j)
	for range min(int(p.asleep.Load()), helpers) {
		select {
		case p.wake <- struct{}{}:
		default: // enough wake-ups are already pending
		}
	}
}

// help is a helper's life: run each new job's unclaimed ranges; between jobs, poll
// for spinFor, then sleep until post wakes it.
func (p *helperPool) help() {
	var last *job
	for {
		idle := time.Now()
		for {
			if j := p.current.Load(); j != last {
				last = j
				j.run()
				idle = time.Now()
				continue
			}
			if time.Since(idle) >= spinFor {
				break
			}
			runtime.Gosched()
		}
		p.asleep.Add(1)
		if p.current.Load() == last { // a job posted before asleep counted us would be missed
			<-p.wake
		}
		p.asleep.Add(-1)
	}
}

// spawn starts a helper goroutine; tests replace it to hold helpers back.
var spawn = func(f func()) { go f() }

// HelperFunction names the function Parallel's helper goroutines run, for tests that
// look for goroutines left running (goleak.IgnoreAnyFunction): the helpers live for the
// whole process, by design.
const HelperFunction = "github.com/digitnet/digitnet/internal/kernels.(*helperPool).help"
