// A prototype, not part of digitnet: one training step of 784-300-10 ReLU, softmax
// cross-entropy, Adam, batch 128 on MNIST, with the first layer packed to the batch's
// inked columns, written as one OpenMP region on two threads, split by hidden units,
// each thread owning its half of W1 and its moments as separate arrays (BENCHMARKS.md,
// "One call a step"). It times the step against two references measured in the same
// run: oneDNN's two-thread products on the step's shapes back to back (the bench's
// roofline) and two one-thread halves of them running at once (what the two cores do
// on these products out of step). The data are the training images with made-up labels:
// the timing, not the learning, is the point.
//
//   gcc -O3 -march=native -fno-math-errno -fopenmp -o onestep onestep.c -ldnnl -lm
//   OMP_WAIT_POLICY=passive ./onestep ~/.cache/digitnet/mnist/train-images-idx3-ubyte
//
// Per-thread columns (µs a step): OR of the rows' bits, packing (x and W1's rows),
// barrier, forward product, ReLU and partial logits, barrier, softmax and the second
// layer's gradients, weight-gradient product, Adam.
#include <dnnl.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
enum { N = 128, In = 784, H = 300, O = 10, IT = 3000, HW = H / 2 };
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
typedef struct { float *W1, *m1, *v1, *b1, *mb1, *vb1, *W2, *m2, *v2, *Wp, *dWp, *Y1, *dH, *Zp; uint8_t mask[In]; } half_t;
static half_t hs[2];
static float *b2, *mb2, *vb2, *X, *Xp;
static const uint8_t *images; static const int *batch, *next; static const uint8_t *labels;
static float step_s, ibc2;
static double ph[2][12];
static inline void adam_span(float *restrict w, float *restrict m, float *restrict v, const float *restrict g, int n) {
	if (g) for (int i = 0; i < n; i++) { float gi = g[i], mi = 0.9f * m[i] + 0.1f * gi, vi = 0.999f * v[i] + 0.001f * gi * gi; m[i] = mi; v[i] = vi; w[i] -= step_s * mi / (sqrtf(vi) * ibc2 + 1e-8f); }
	else for (int i = 0; i < n; i++) { float mi = 0.9f * m[i], vi = 0.999f * v[i]; m[i] = mi; v[i] = vi; w[i] -= step_s * mi / (sqrtf(vi) * ibc2 + 1e-8f); }
}
static void step_thread(int t) {
	half_t *h = &hs[t], *o = &hs[1 - t];
	double T0 = now(), Tp; int pi = 0;
#define MARK() do { Tp = now(); ph[t][pi++] += Tp - T0; T0 = Tp; } while (0)
	// A: own rows of the batch, bytes to floats, OR into own mask
	memset(h->mask, 0, In);
	for (int r = t * N / 2; r < (t + 1) * N / 2; r++) {
		const uint8_t *s = images + (size_t)batch[r] * In;
		for (int c = 0; c < In; c++) h->mask[c] |= s[c];
	}
	MARK();
	#pragma omp barrier
	int cols[In], k = 0;
	for (int c = 0; c < In; c++) if (h->mask[c] | o->mask[c]) cols[k++] = c;
	for (int r = t * N / 2; r < (t + 1) * N / 2; r++) for (int i = 0; i < k; i++) Xp[r * k + i] = images[(size_t)batch[r] * In + cols[i]] * (1.0f / 255);
	for (int i = 0; i < k; i++) memcpy(h->Wp + i * HW, h->W1 + cols[i] * HW, 4 * HW);
	MARK();
	#pragma omp barrier
	MARK();
	for (int r = 0; r < N; r++) memcpy(h->Y1 + r * HW, h->b1, 4 * HW);
	dnnl_sgemm('N', 'N', N, HW, k, 1, Xp, k, h->Wp, HW, 1, h->Y1, HW);
	MARK();
	for (int r = 0; r < N; r++) {
		float *y = h->Y1 + r * HW;
		for (int j = 0; j < HW; j++) { float a = y[j] > 0 ? y[j] : 0; y[j] = a; }
	}
	dnnl_sgemm('N', 'T', N, O, HW, 1, h->Y1, HW, h->W2, HW, 0, h->Zp, O);
	MARK();
	#pragma omp barrier
	MARK();
	float dz[N * O], db2[O] = {0};
	for (int r = 0; r < N; r++) {
		float z[O], mx = -1e30f, s = 0;
		for (int q = 0; q < O; q++) { z[q] = b2[q] + h->Zp[r * O + q] + o->Zp[r * O + q]; if (z[q] > mx) mx = z[q]; }
		for (int q = 0; q < O; q++) { z[q] = expf(z[q] - mx); s += z[q]; }
		for (int q = 0; q < O; q++) { dz[r * O + q] = (z[q] / s - (q == labels[batch[r]])) * (1.0f / N); db2[q] += dz[r * O + q]; }
	}
	float dW2[HW * O] = {0}, db1[HW] = {0};
	for (int r = 0; r < N; r++) {
		const float *y = h->Y1 + r * HW, *g = dz + r * O; float *dh = h->dH + r * HW;
		for (int j = 0; j < HW; j++) dh[j] = 0;
		for (int q = 0; q < O; q++) { const float gq = g[q], *w = h->W2 + q * HW; float *d = dW2 + q * HW; for (int j = 0; j < HW; j++) { d[j] += gq * y[j]; dh[j] += gq * w[j]; } }
		for (int j = 0; j < HW; j++) { dh[j] = y[j] > 0 ? dh[j] : 0; db1[j] += dh[j]; }
	}
	MARK();
	dnnl_sgemm('T', 'N', k, HW, N, 1, Xp, k, h->dH, HW, 0, h->dWp, HW);
	MARK();
	int i = 0;
	for (int c = 0; c < In; c++) {
		const float *g = NULL;
		if (i < k && cols[i] == c) g = h->dWp + (i++) * HW;
		adam_span(h->W1 + c * HW, h->m1 + c * HW, h->v1 + c * HW, g, HW);
	}
	adam_span(h->b1, h->mb1, h->vb1, db1, HW);
	adam_span(h->W2, h->m2, h->v2, dW2, HW * O);
	if (t == 0) adam_span(b2, mb2, vb2, db2, O);
	if (next) for (int r = t * N / 2; r < (t + 1) * N / 2; r++) for (int c = 0; c < In; c += 64) __builtin_prefetch(images + (size_t)next[r] * In + c);
	MARK();
}
static float *al(size_t n) { float *p = aligned_alloc(64, ((n * 4 + 63) / 64) * 64); memset(p, 0, n * 4); return p; }
int main(int argc, char **argv) {
	// MNIST train images if given, else synthetic strokes
	int nimg = 60000; uint8_t *img = malloc((size_t)nimg * In); uint8_t *lab = malloc(nimg);
	FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
	if (f) { fseek(f, 16, SEEK_SET); if (fread(img, In, nimg, f) != (size_t)nimg) return 1; fclose(f); }
	else { srand(1); for (size_t i = 0; i < (size_t)nimg * In; i++) img[i] = rand() % 5 == 0 ? rand() : 0; }
	for (int i = 0; i < nimg; i++) lab[i] = i % 10;
	images = img; labels = lab;
	int *perm = malloc(sizeof(int) * nimg); for (int i = 0; i < nimg; i++) perm[i] = i;
	srand(2); for (int i = nimg - 1; i > 0; i--) { int j = rand() % (i + 1), x = perm[i]; perm[i] = perm[j]; perm[j] = x; }
	for (int t = 0; t < 2; t++) {
		half_t *h = &hs[t];
		h->W1 = al(In * HW); h->m1 = al(In * HW); h->v1 = al(In * HW); h->b1 = al(HW); h->mb1 = al(HW); h->vb1 = al(HW);
		h->W2 = al(HW * O); h->m2 = al(HW * O); h->v2 = al(HW * O); h->Wp = al(In * HW); h->dWp = al(In * HW);
		h->Y1 = al(N * HW); h->dH = al(N * HW); h->Zp = al(N * O);
		for (int i = 0; i < In * HW; i++) h->W1[i] = (rand() / (float)RAND_MAX - 0.5f) * 0.1f;
		for (int i = 0; i < HW * O; i++) h->W2[i] = (rand() / (float)RAND_MAX - 0.5f) * 0.1f;
	}
	b2 = al(O); mb2 = al(O); vb2 = al(O); X = al(N * In); Xp = al(N * In);
	omp_set_num_threads(2);
	for (int rep = 0; rep < 3; rep++) {
		// roofline on a typical batch's k
		batch = perm; int k = 0; uint8_t m[In] = {0};
		for (int r = 0; r < N; r++) for (int c = 0; c < In; c++) m[c] |= img[(size_t)batch[r] * In + c];
		for (int c = 0; c < In; c++) k += m[c] != 0;
		float *A = al(N * In), *B = al(In * H), *C = al(N * H), *D = al(In * H);
		double t0 = now();
		for (int it = 0; it < 1000; it++) {
			dnnl_sgemm('N', 'N', N, H, k, 1, A, k, B, H, 0, C, H);
			dnnl_sgemm('T', 'N', k, H, N, 1, A, k, C, H, 0, D, H);
		}
		double r = (now() - t0) / 1000;
		free(A); free(B); free(C); free(D);
		double t2 = now();
		#pragma omp parallel num_threads(2)
		{
			int t = omp_get_thread_num();
			float *A = al(N * In), *B = al(In * HW), *C = al(N * HW), *D = al(In * HW);
			#pragma omp barrier
			for (int it = 0; it < 1000; it++) {
				dnnl_sgemm('N', 'N', N, HW, k, 1, A, k, B, HW, 0, C, HW);
				dnnl_sgemm('T', 'N', k, HW, N, 1, A, k, C, HW, 0, D, HW);
			}
			free(A); free(B); free(C); free(D);
		}
		double r2 = (now() - t2) / 1000;
		printf("split roofline (two one-thread halves, out of step): %.1f us (%.0f GFLOP/s)\n", r2 * 1e6, 4.0 * N * H * k / r2 / 1e9);
		memset(ph, 0, sizeof ph);
		double t1 = now();
		int steps = 0;
		for (int it = 0; it < IT; it++) {
			batch = perm + (size_t)(it % (nimg / N)) * N; next = perm + (size_t)((it + 1) % (nimg / N)) * N;
			step_s = 1e-3f / (1 - powf(0.9f, it + 1)); ibc2 = 1 / sqrtf(1 - powf(0.999f, it + 1));
			#pragma omp parallel num_threads(2)
			step_thread(omp_get_thread_num());
			steps++;
		}
		double s = (now() - t1) / steps;
		printf("k %d: roofline %.1f us (%.0f GFLOP/s); step %.1f us => %.0f %%\n", k, r * 1e6, 4.0 * N * H * k / r / 1e9, s * 1e6, 100 * r / s);
		for (int t = 0; t < 2; t++) { printf("  t%d:", t); for (int q = 0; q < 9; q++) printf(" %.1f", ph[t][q] / steps * 1e6); printf("\n"); }
	}
}
