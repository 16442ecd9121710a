// A measurement, not part of digitnet: do memory-bound passes and compute-bound loops
// get faster on two threads than on one on this machine? Adam's update over the
// 784×300 layer's weights, moments and gradient (2.8 MB of state, hot), a 1.9 MB copy,
// and a loop of independent AVX-512 FMAs, each on one thread and split over two
// (BENCHMARKS.md, "One call a step").
//
//   gcc -O3 -march=native -fno-math-errno -fopenmp -o bandwidth bandwidth.c -lm
//   OMP_WAIT_POLICY=passive ./bandwidth
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
enum { N = 784 * 300 };
static void adam(float *restrict w, float *restrict m, float *restrict v, const float *restrict g, long n) {
	for (long i = 0; i < n; i++) { float gi = g[i], mi = 0.9f * m[i] + 0.1f * gi, vi = 0.999f * v[i] + 0.001f * gi * gi; m[i] = mi; v[i] = vi; w[i] -= 1e-3f * mi / (sqrtf(vi) + 1e-8f); }
}
static float fmaloop(long iters) {
	__m512 a[24]; for (int i = 0; i < 24; i++) a[i] = _mm512_set1_ps(i * 1e-3f);
	const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-4f);
	for (long it = 0; it < iters; it++) for (int i = 0; i < 24; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
	float s = 0; for (int i = 0; i < 24; i++) s += _mm512_reduce_add_ps(a[i]); return s;
}
int main(void) {
	float *w = aligned_alloc(64, 4 * N), *m = aligned_alloc(64, 4 * N), *v = aligned_alloc(64, 4 * N), *g = aligned_alloc(64, 4 * N);
	float *src = aligned_alloc(64, 8 * N), *dst = aligned_alloc(64, 8 * N);
	for (long i = 0; i < N; i++) { w[i] = 0.01f; m[i] = 0; v[i] = 1e-6f; g[i] = 1e-3f * (i % 7); }
	memset(src, 1, 8 * N); memset(dst, 0, 8 * N);
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now(); for (int it = 0; it < 500; it++) adam(w, m, v, g, N); double a1 = (now() - t0) / 500;
		t0 = now();
		for (int it = 0; it < 500; it++) {
			#pragma omp parallel num_threads(2)
			{ int t = omp_get_thread_num(); adam(w + t * N / 2, m + t * N / 2, v + t * N / 2, g + t * N / 2, N / 2); }
		}
		double a2 = (now() - t0) / 500;
		t0 = now();
		#pragma omp parallel num_threads(2)
		{ int t = omp_get_thread_num(); for (int it = 0; it < 500; it++) { adam(w + t * N / 2, m + t * N / 2, v + t * N / 2, g + t * N / 2, N / 2);
		#pragma omp barrier
		} }
		double a3 = (now() - t0) / 500;
		printf("Adam, 2 threads in one region, a barrier each time: %.1f us\n", a3 * 1e6);
		t0 = now(); for (int it = 0; it < 500; it++) memcpy(dst, src, 8 * N); double c1 = (now() - t0) / 500;
		t0 = now();
		for (int it = 0; it < 500; it++) {
			#pragma omp parallel num_threads(2)
			{ int t = omp_get_thread_num(); memcpy(dst + t * N, src + t * N, 4 * N); }
		}
		double c2 = (now() - t0) / 500;
		t0 = now(); volatile float s = fmaloop(2000000); double f1 = now() - t0;
		t0 = now();
		static float sink[2];
		#pragma omp parallel num_threads(2)
		{ sink[omp_get_thread_num()] = fmaloop(2000000); }
		if (sink[0] == 12345) printf("x");
		double f2 = now() - t0; (void)s;
		printf("Adam on 235k values: 1 thread %.1f us, 2 threads (a half each) %.1f us (%.2fx)\n", a1 * 1e6, a2 * 1e6, a1 / a2);
		printf("copy 1.9 MB: 1 thread %.1f us, 2 threads %.1f us (%.2fx)\n", c1 * 1e6, c2 * 1e6, c1 / c2);
		printf("FMA loop: 1 thread %.1f GFLOP/s, 2 threads %.1f GFLOP/s (%.2fx)\n", 2e6 * 24 * 32 / f1 / 1e9, 2 * 2e6 * 24 * 32 / f2 / 1e9, 2 * f1 / f2);
	}
}
