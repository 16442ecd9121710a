//go:build cgo && !purego

// The vectorized kernels behind kernels_cgo.go (its Go wrappers document them); the
// pure-Go build has the same functions in kernels_go.go.

#include "kernels.h"
#include "winograd_tables.h"
#include <math.h>
#include <string.h>

static int dn_avx512_off;
void dn_set_avx512_off(int off) { dn_avx512_off = off; }

// Compiled for AVX2+FMA and for baseline x86-64; the loader picks the clone the CPU
// runs (GCC function multiversioning). Elsewhere the plain build.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERNEL
#endif

// Four rows are folded in per pass over y, and the next four rows are prefetched: the
// rows sit scattered through a matrix larger than L2, so waiting on them dominates.
KERNEL void dn_axpy_rows(float *restrict y, const float *restrict w, int64_t ld,
		const int64_t *rows, const float *coef, int64_t nrows, int64_t n) {
	int64_t k = 0;
	for (; k + 4 <= nrows; k += 4) {
		for (int64_t p = k + 4; p < k + 8 && p < nrows; p++)
			for (int64_t j = 0; j < n; j += 16) __builtin_prefetch(w + rows[p] * ld + j);
		const float a0 = coef[k], a1 = coef[k + 1], a2 = coef[k + 2], a3 = coef[k + 3];
		const float *restrict w0 = w + rows[k] * ld, *restrict w1 = w + rows[k + 1] * ld;
		const float *restrict w2 = w + rows[k + 2] * ld, *restrict w3 = w + rows[k + 3] * ld;
		for (int64_t j = 0; j < n; j++) y[j] += a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j];
	}
	for (; k < nrows; k++) {
		const float a = coef[k];
		const float *restrict row = w + rows[k] * ld;
		for (int64_t j = 0; j < n; j++) y[j] += a * row[j];
	}
}

KERNEL void dn_add_outer_rows(float *restrict w, int64_t ld, const int64_t *rows,
		const float *coef, int64_t nrows, const float *restrict v, int64_t n) {
	for (int64_t k = 0; k < nrows; k++) {
		if (k + 4 < nrows)
			for (int64_t j = 0; j < n; j += 16) __builtin_prefetch(w + rows[k + 4] * ld + j, 1);
		const float a = coef[k];
		float *restrict row = w + rows[k] * ld;
		for (int64_t j = 0; j < n; j++) row[j] += a * v[j];
	}
}

// exp's constants, shared by its scalar, 8- and 16-lane forms (Cephes' expf):
// the clamp, log2(e), ln 2 split in two for the reduction r = x - n·ln 2, and the
// polynomial e^r ≈ 1 + r + r²·P(r), P's coefficients highest first.
#define DN_EXP_HI 88.0f
#define DN_EXP_LO -87.0f
#define DN_LOG2E 1.44269504088896341f
#define DN_LN2_HI 0.693359375f
#define DN_LN2_LO 2.12194440e-4f
static const float dn_exp_poly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
	1.6666665459e-1f, 5.0000001201e-1f};

// expf without a libm call: 2^n·p(r) with x = n·ln2 + r, |r| ≤ ln2/2, p a degree-6
// polynomial (Cephes' coefficients); relative error ~2e-7. Inputs are clamped to
// [-87, 88], where expf stays finite and normal.
static inline float dn_expf(float x) {
	x = x < DN_EXP_LO ? DN_EXP_LO : (x > DN_EXP_HI ? DN_EXP_HI : x);
	const float fn = __builtin_floorf(x * DN_LOG2E + 0.5f);
	const float r = (x - fn * DN_LN2_HI) + fn * DN_LN2_LO;
	float p = dn_exp_poly[0];
	for (int j = 1; j < 6; j++) p = p * r + dn_exp_poly[j];
	p = p * r * r + r + 1.0f;
	union { float f; int32_t i; } scale = { .i = ((int32_t)fn + 127) << 23 };
	return p * scale.f;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DN_X86 1
// The AVX-512 paths, unless a test has switched them off (dn_avx512_off) to run the
// AVX2 and portable paths they stand in for on this CPU.
static int dn_avx512(void) { return !dn_avx512_off && __builtin_cpu_supports("avx512f"); }
// dn_expf on 8 lanes. Written with intrinsics: the compiler does not vectorize the
// scalar form (its clamps and floor become control flow without -ffast-math, which cgo
// does not allow).
__attribute__((target("avx2,fma"))) static inline __m256 dn_exp8(__m256 x) {
	// The constant first: max/min return their second operand when one is NaN, so a NaN
	// input stays NaN (the scalar form's comparisons leave it through too).
	x = _mm256_min_ps(_mm256_set1_ps(DN_EXP_HI), _mm256_max_ps(_mm256_set1_ps(DN_EXP_LO), x));
	const __m256 fn = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(DN_LOG2E), _mm256_set1_ps(0.5f)));
	const __m256 r = _mm256_fmadd_ps(fn, _mm256_set1_ps(DN_LN2_LO), _mm256_fnmadd_ps(fn, _mm256_set1_ps(DN_LN2_HI), x));
	__m256 p = _mm256_set1_ps(dn_exp_poly[0]);
	for (int j = 1; j < 6; j++) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(dn_exp_poly[j]));
	p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
	const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fn), _mm256_set1_epi32(127)), 23);
	return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// y = a/(1+e^(k·x)) + c over 8 lanes at a time: sigmoid is (k,a,c) = (-1,1,0),
// tanh x = 2σ(2x) - 1 is (-2,2,-1). Returns how many elements it did.
__attribute__((target("avx2,fma"))) static int64_t dn_logistic_avx2(float *y, const float *x,
		int64_t n, float k, float a, float c) {
	const __m256 K = _mm256_set1_ps(k), A = _mm256_set1_ps(a), Cc = _mm256_set1_ps(c), one = _mm256_set1_ps(1.0f);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m256 e = dn_exp8(_mm256_mul_ps(K, _mm256_loadu_ps(x + i)));
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(A, _mm256_div_ps(one, _mm256_add_ps(one, e)), Cc));
	}
	return i;
}

// dn_exp8 on 16 lanes (the same steps; AVX-512 scales by 2^n itself).
__attribute__((target("avx512f"))) static inline __m512 dn_exp16(__m512 x) {
	x = _mm512_min_ps(_mm512_set1_ps(DN_EXP_HI), _mm512_max_ps(_mm512_set1_ps(DN_EXP_LO), x)); // NaN stays NaN
	const __m512 fn = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(DN_LOG2E), _mm512_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
	const __m512 r = _mm512_fmadd_ps(fn, _mm512_set1_ps(DN_LN2_LO), _mm512_fnmadd_ps(fn, _mm512_set1_ps(DN_LN2_HI), x));
	__m512 p = _mm512_set1_ps(dn_exp_poly[0]);
	for (int j = 1; j < 6; j++) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(dn_exp_poly[j]));
	p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
	return _mm512_scalef_ps(p, fn); // p·2^fn
}

// dn_logistic_avx2 on 16 lanes: 300k sigmoids (a batch of 1,000 through 300 units)
// took 65 µs against AVX2's 125. (A reciprocal estimate with a Newton step instead of
// the division was slower, and less exact: the int8 path's quantized activations moved.)
__attribute__((target("avx512f"))) static int64_t dn_logistic_avx512(float *y, const float *x,
		int64_t n, float k, float a, float c) {
	const __m512 K = _mm512_set1_ps(k), A = _mm512_set1_ps(a), Cc = _mm512_set1_ps(c), one = _mm512_set1_ps(1.0f);
	int64_t i = 0;
	for (; i + 16 <= n; i += 16) {
		const __m512 d = _mm512_add_ps(one, dn_exp16(_mm512_mul_ps(K, _mm512_loadu_ps(x + i))));
		_mm512_storeu_ps(y + i, _mm512_fmadd_ps(A, _mm512_div_ps(one, d), Cc));
	}
	return i;
}
#endif

static void dn_logistic(float *y, const float *x, int64_t n, float k, float a, float c) {
	int64_t i = 0;
#ifdef DN_X86
	if (dn_avx512())
		i = dn_logistic_avx512(y, x, n, k, a, c);
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		i += dn_logistic_avx2(y + i, x + i, n - i, k, a, c);
#endif
	for (; i < n; i++) y[i] = a / (1.0f + dn_expf(k * x[i])) + c;
}

void dn_sigmoid(float *y, const float *x, int64_t n) { dn_logistic(y, x, n, -1.0f, 1.0f, 0.0f); }

// tanh x = 2σ(2x) - 1: exact in the limits and within a few ulps elsewhere.
void dn_tanh(float *y, const float *x, int64_t n) { dn_logistic(y, x, n, -2.0f, 2.0f, -1.0f); }

#ifdef DN_X86
__attribute__((target("avx2,fma"))) static int64_t dn_exp_avx2(float *y, int64_t n) {
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, dn_exp8(_mm256_loadu_ps(y + i)));
	return i;
}
#endif

// y = e^y in place.
static void dn_exp_inplace(float *y, int64_t n) {
	int64_t i = 0;
#ifdef DN_X86
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) i = dn_exp_avx2(y, n);
#endif
	for (; i < n; i++) y[i] = dn_expf(y[i]);
}

// y[r,:] = softmax(x[r,:]) for rows of k values: e^(x-max)/Σ, the exponentials of all
// rows in one vectorized pass (a row of 10 classes is too short to vectorize alone).
// dn_expf clamps its input, so a row with a NaN or an infinity takes libm's expf,
// which propagates them as the definition does.
void dn_softmax_rows(float *y, const float *x, int64_t rows, int64_t k) {
	for (int64_t r = 0; r < rows; r++) {
		const float *xr = x + r * k;
		float *yr = y + r * k;
		float m = xr[0];
		for (int64_t j = 1; j < k; j++) m = xr[j] > m ? xr[j] : m;
		for (int64_t j = 0; j < k; j++) yr[j] = xr[j] - m;
	}
	dn_exp_inplace(y, rows * k);
	for (int64_t r = 0; r < rows; r++) {
		const float *xr = x + r * k;
		float *yr = y + r * k;
		int finite = 1;
		float m = xr[0];
		for (int64_t j = 0; j < k; j++) {
			finite &= isfinite(xr[j]);
			m = (xr[j] > m || isnan(xr[j])) ? xr[j] : m;
		}
		// libm's expf where dn_expf's clamp would be wrong: a NaN or an infinity in the
		// row, or a logit more than 87 below the row's largest (e^-87 is the smallest
		// value dn_expf gives; the true one is subnormal or 0).
		for (int64_t j = 0; j < k; j++)
			if (!finite || xr[j] - m < -87.0f) yr[j] = expf(xr[j] - m);
		double s = 0;
		for (int64_t j = 0; j < k; j++) s += yr[j];
		const float inv = (float)(1 / s);
		for (int64_t j = 0; j < k; j++) yr[j] *= inv;
	}
}

// c[j] = alpha·Σ_p a[p·inca]·op(B)[p, j] + beta·c[j]: a product whose op(A) is one row
// (a batch of one: a seed-network step's second layer, forward and back). oneDNN and
// OpenBLAS took 0.9-2 µs for 1×10·10×300 and 1×300·300×10, mostly getting started.
// op(B) is B [k n] (stride ldb) or, with tb, B [n k] read transposed. C is not read
// when beta is 0, as in BLAS.
#ifdef DN_X86
// dn_gemv_row's non-transposed case on AVX-512: 16 columns of c per register, the last
// ones masked (c's row is 10 wide in the seed network); rows of B taken two at a time
// into two sums, so consecutive FMAs do not wait on each other.
__attribute__((target("avx512f"))) static void dn_gemv_row_avx512(int64_t n, int64_t k, float alpha,
		const float *restrict a, int64_t inca, const float *restrict b, int64_t ldb, float beta, float *restrict c) {
	for (int64_t j0 = 0; j0 < n; j0 += 16) {
		const __mmask16 mask = n - j0 >= 16 ? 0xffff : (__mmask16)((1u << (n - j0)) - 1);
		__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
		int64_t p = 0;
		for (; p + 2 <= k; p += 2) {
			s0 = _mm512_fmadd_ps(_mm512_set1_ps(a[p * inca]), _mm512_maskz_loadu_ps(mask, b + p * ldb + j0), s0);
			s1 = _mm512_fmadd_ps(_mm512_set1_ps(a[(p + 1) * inca]), _mm512_maskz_loadu_ps(mask, b + (p + 1) * ldb + j0), s1);
		}
		if (p < k) s0 = _mm512_fmadd_ps(_mm512_set1_ps(a[p * inca]), _mm512_maskz_loadu_ps(mask, b + p * ldb + j0), s0);
		__m512 y = _mm512_mul_ps(_mm512_set1_ps(alpha), _mm512_add_ps(s0, s1));
		if (beta != 0) y = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, c + j0), y);
		_mm512_mask_storeu_ps(c + j0, mask, y);
	}
}

// The transposed case on AVX-512 for k ≤ 16 (the seed network's input gradient, k = 10):
// a in one register, each c[j] one masked FMA and a horizontal sum.
__attribute__((target("avx512f"))) static void dn_gemv_row_t_avx512(int64_t n, int64_t k, float alpha,
		const float *restrict a, const float *restrict b, int64_t ldb, float beta, float *restrict c) {
	const __mmask16 mask = k >= 16 ? 0xffff : (__mmask16)((1u << k) - 1);
	const __m512 av = _mm512_maskz_loadu_ps(mask, a);
	for (int64_t j = 0; j < n; j++) {
		const float s = _mm512_reduce_add_ps(_mm512_mul_ps(av, _mm512_maskz_loadu_ps(mask, b + j * ldb)));
		c[j] = beta == 0 ? alpha * s : alpha * s + beta * c[j];
	}
}
#endif

KERNEL void dn_gemv_row(int tb, int64_t n, int64_t k, float alpha, const float *restrict a, int64_t inca,
		const float *restrict b, int64_t ldb, float beta, float *restrict c) {
	enum { CHUNK = 256 };
#ifdef DN_X86
	if (dn_avx512()) {
		if (!tb) {
			dn_gemv_row_avx512(n, k, alpha, a, inca, b, ldb, beta, c);
			return;
		}
		if (k <= 16 && inca == 1) {
			dn_gemv_row_t_avx512(n, k, alpha, a, b, ldb, beta, c);
			return;
		}
	}
#endif
	if (tb) { // c[j] = alpha·(a · B[j, :]) + beta·c[j]
		for (int64_t j = 0; j < n; j++) {
			const float *restrict bj = b + j * ldb;
			float s = 0;
			if (inca == 1) { // eight partial sums: a vector the compiler can keep
				float s8[8] = {0};
				int64_t p = 0;
				for (; p + 8 <= k; p += 8)
					for (int i = 0; i < 8; i++) s8[i] += a[p + i] * bj[p + i];
				for (; p < k; p++) s += a[p] * bj[p];
				s += ((s8[0] + s8[1]) + (s8[2] + s8[3])) + ((s8[4] + s8[5]) + (s8[6] + s8[7]));
			} else {
				for (int64_t p = 0; p < k; p++) s += a[p * inca] * bj[p];
			}
			c[j] = beta == 0 ? alpha * s : alpha * s + beta * c[j];
		}
		return;
	}
	for (int64_t j0 = 0; j0 < n; j0 += CHUNK) { // c += a[p]·B[p, :], a chunk of c at a time
		const int64_t w = n - j0 < CHUNK ? n - j0 : CHUNK;
		float acc[CHUNK] = {0};
		for (int64_t p = 0; p < k; p++) {
			const float ap = a[p * inca];
			const float *restrict bp = b + p * ldb + j0;
			for (int64_t j = 0; j < w; j++) acc[j] += ap * bp[j];
		}
		for (int64_t j = 0; j < w; j++) c[j0 + j] = beta == 0 ? alpha * acc[j] : alpha * acc[j] + beta * c[j0 + j];
	}
}

#ifdef DN_X86
__attribute__((target("avx512f"))) static int64_t dn_nonzeros_avx512(int64_t *idx, float *val, const float *x, int64_t n) {
	int64_t count = 0, i = 0;
	const __m512i step = _mm512_set1_epi64(8);
	for (; i + 16 <= n; i += 16) {
		const __m512 v = _mm512_loadu_ps(x + i);
		const __mmask16 nz = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
		if (!nz) continue;
		_mm512_mask_compressstoreu_ps(val + count, nz, v);
		const __m512i lo = _mm512_add_epi64(_mm512_set1_epi64(i), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
		_mm512_mask_compressstoreu_epi64(idx + count, (__mmask8)nz, lo);
		const int64_t nlo = __builtin_popcount(nz & 0xff);
		_mm512_mask_compressstoreu_epi64(idx + count + nlo, (__mmask8)(nz >> 8), _mm512_add_epi64(lo, step));
		count += __builtin_popcount(nz);
	}
	for (; i < n; i++)
		if (x[i] != 0) idx[count] = i, val[count++] = x[i];
	return count;
}
#endif

// The positions and values of x's nonzero entries, in order (a NaN counts as nonzero,
// -0 as zero); returns how many. A batch-1 step's input: 784 pixels, about 150 inked.
int64_t dn_nonzeros(int64_t *idx, float *val, const float *x, int64_t n) {
#ifdef DN_X86
	if (dn_avx512()) return dn_nonzeros_avx512(idx, val, x, n);
#endif
	int64_t count = 0;
	for (int64_t i = 0; i < n; i++)
		if (x[i] != 0) idx[count] = i, val[count++] = x[i];
	return count;
}

KERNEL void dn_axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
	for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

// The output columns j of a tap v whose input column j·s+v-p lies inside [0, W).
static inline void dn_tap_range(int64_t W, int64_t s, int64_t p, int64_t v, int64_t OW, int64_t *lo, int64_t *hi) {
	const int64_t a = p - v, t = W - 1 + p - v;
	*lo = a > 0 ? (a + s - 1) / s : 0;
	*hi = t < 0 ? 0 : t / s + 1;
	if (*hi > OW) *hi = OW;
	if (*lo > *hi) *lo = *hi;
}

// im2col of one image x [C H W] into cols [C·k·k, OH·OW]: row (c,u,v) holds, for every
// output position, the input under tap (u,v) of channel c; zero where the kernel
// overhangs the border. With stride 1 each row is a run of shifted copies.
KERNEL void dn_im2col_chw(float *restrict cols, const float *restrict x, int64_t C, int64_t H, int64_t W,
		int64_t k, int64_t s, int64_t p, int64_t OH, int64_t OW) {
	for (int64_t c = 0; c < C; c++) {
		const float *xc = x + c * H * W;
		for (int64_t u = 0; u < k; u++) {
			for (int64_t v = 0; v < k; v++) {
				float *row = cols + ((c * k + u) * k + v) * OH * OW;
				int64_t lo, hi;
				dn_tap_range(W, s, p, v, OW, &lo, &hi);
				for (int64_t i = 0; i < OH; i++, row += OW) {
					const int64_t y = i * s + u - p;
					if (y < 0 || y >= H) {
						memset(row, 0, OW * sizeof(float));
						continue;
					}
					const float *src = xc + y * W + v - p;
					for (int64_t j = 0; j < lo; j++) row[j] = 0.0f;
					if (s == 1) for (int64_t j = lo; j < hi; j++) row[j] = src[j]; // rows are short: no memcpy call
					else for (int64_t j = lo; j < hi; j++) row[j] = src[j * s];
					for (int64_t j = hi; j < OW; j++) row[j] = 0.0f;
				}
			}
		}
	}
}

// col2im adds cols [C·k·k, OH·OW] back onto the inputs of one image dx [C H W] they
// were read from (im2col's adjoint).
KERNEL void dn_col2im_chw(float *restrict dx, const float *restrict cols, int64_t C, int64_t H, int64_t W,
		int64_t k, int64_t s, int64_t p, int64_t OH, int64_t OW) {
	for (int64_t c = 0; c < C; c++) {
		float *dc = dx + c * H * W;
		for (int64_t u = 0; u < k; u++) {
			for (int64_t v = 0; v < k; v++) {
				const float *row = cols + ((c * k + u) * k + v) * OH * OW;
				int64_t lo, hi;
				dn_tap_range(W, s, p, v, OW, &lo, &hi);
				for (int64_t i = 0; i < OH; i++, row += OW) {
					const int64_t y = i * s + u - p;
					if (y < 0 || y >= H) continue;
					float *dst = dc + y * W + v - p;
					if (s == 1) for (int64_t j = lo; j < hi; j++) dst[j] += row[j];
					else for (int64_t j = lo; j < hi; j++) dst[j * s] += row[j];
				}
			}
		}
	}
}

// dn_lincomb sets out = Σ_j L[j]·(plane j of in, stride ld), n values, over the p
// coefficients L, skipping zeros (all zero: out = 0).
static inline void dn_lincomb(float *restrict out, const float *L, int64_t p, const float *restrict in, int64_t ld, int64_t n) {
	int first = 1;
	for (int64_t j = 0; j < p; j++) {
		const float a = L[j];
		if (a == 0.0f) continue;
		const float *restrict v = in + j * ld;
		if (first) for (int64_t t = 0; t < n; t++) out[t] = a * v[t];
		else for (int64_t t = 0; t < n; t++) out[t] += a * v[t];
		first = 0;
	}
	if (first) memset(out, 0, n * sizeof(float));
}

// Winograd tiles (see tiles.go). dn_transform sets dst plane (i·q+l) to
// Σ_{j,k} L[i,j]·L[l,k]·src plane (j·p+k) in two passes through e, skipping L's zeros;
// every pass runs down whole planes of n values, so it vectorizes.
KERNEL static void dn_transform(float *restrict dst, int64_t dld, const float *restrict src, int64_t sld, int64_t n,
		const float *L, int64_t q, int64_t p, float *restrict e) {
	for (int64_t i = 0; i < q; i++) // e(i,k) = Σ_j L[i,j]·src(j,k)
		for (int64_t k = 0; k < p; k++) dn_lincomb(e + (i * p + k) * n, L + i * p, p, src + k * sld, p * sld, n);
	for (int64_t i = 0; i < q; i++) // dst(i,l) = Σ_k L[l,k]·e(i,k)
		for (int64_t l = 0; l < q; l++) dn_lincomb(dst + (i * q + l) * dld, L + l * p, p, e + i * p * n, n, n);
}


// dn_move_tile moves one S×S tile between an image channel (row stride W, its
// corner at x) and column t of the S² planes of d (stride T): gathers it into d, or
// adds it from d onto the image. Called with a constant S, the copy unrolls.
static inline __attribute__((always_inline)) void dn_move_tile(float *restrict d, int64_t T, float *restrict x, int64_t W,
		const int S, const int gather) {
#pragma GCC unroll 8
	for (int a = 0; a < S; a++)
#pragma GCC unroll 8
		for (int b = 0; b < S; b++) {
			if (gather) d[(a * S + b) * T] = x[a * W + b];
			else x[a * W + b] += d[(a * S + b) * T];
		}
}

// dn_move_tiles moves all of a channel's tiles: whole tiles through the unrolled copy,
// tiles over the border element by element (zeros gathered from outside; nothing added
// there). The tiles go last to first: where they overlap, adds then come in the order
// of the older plane-by-plane loops, so results are the same to the bit.
static inline __attribute__((always_inline)) void dn_move_tiles(float *restrict d, float *restrict xc, const dn_tiling *g,
		const int S, const int gather) {
	const int64_t T = g->TH * g->TW;
	for (int64_t ty = g->TH - 1; ty >= 0; ty--)
		for (int64_t tx = g->TW - 1; tx >= 0; tx--) {
			const int64_t t = ty * g->TW + tx, y0 = ty * g->step + g->off, x0 = tx * g->step + g->off;
			if (y0 >= 0 && x0 >= 0 && y0 + S <= g->H && x0 + S <= g->W) {
				dn_move_tile(d + t, T, xc + y0 * g->W + x0, g->W, S, gather);
				continue;
			}
			for (int a = 0; a < S; a++)
				for (int b = 0; b < S; b++) {
					const int64_t y = y0 + a, x = x0 + b;
					const int inside = y >= 0 && y < g->H && x >= 0 && x < g->W;
					if (gather) d[(a * S + b) * T + t] = inside ? xc[y * g->W + x] : 0.0f;
					else if (inside) xc[y * g->W + x] += d[(a * S + b) * T + t];
				}
		}
}

// dn_move_channel picks the copy unrolled for the tile size.
static void dn_move_channel(float *restrict d, float *restrict xc, const dn_tiling *g, const int gather) {
	switch (g->S) {
	case 2: dn_move_tiles(d, xc, g, 2, gather); return;
	case 4: dn_move_tiles(d, xc, g, 4, gather); return;
	case 6: dn_move_tiles(d, xc, g, 6, gather); return;
	case 8: dn_move_tiles(d, xc, g, 8, gather); return;
	}
	dn_move_tiles(d, xc, g, g->S, gather);
}

// Eight tiles at a time, one per vector lane: the whole 2-D transform of a tile runs
// in registers (out = L·in·Lᵀ, in p×p, L q×p). Called with constant q and p, so it
// unrolls completely.
typedef float dn_v8 __attribute__((vector_size(32)));

// *out = Σ_j row[j]·v[j·stride] over j < p. With constant set, row is a constant table and
// the loop unrolls, so the tests on its entries fold away and only the nonzero terms
// remain (0·x cannot be dropped otherwise: x may be NaN), ±1 without a multiply; both
// ways add the terms in the same order.
static inline __attribute__((always_inline)) void dn_dot8(dn_v8 *out, const float *row, const dn_v8 *v,
		const int stride, const int p, const int constant) {
	if (!constant) {
		dn_v8 acc = row[0] * v[0];
		for (int j = 1; j < p; j++) acc += row[j] * v[j * stride];
		*out = acc;
		return;
	}
	dn_v8 acc = {0};
	int first = 1;
#pragma GCC unroll 8
	for (int j = 0; j < p; j++) {
		const float a = row[j];
		if (a == 0.0f) continue;
		const dn_v8 t = a == 1.0f ? v[j * stride] : (a == -1.0f ? -v[j * stride] : a * v[j * stride]);
		acc = first ? t : acc + t;
		first = 0;
	}
	*out = acc;
}

// F(6×6, 3×3)'s four 1-D transforms written out (as NNPACK does), sharing the sums
// and differences its pairs of points ±1, ±2, ±½ have in common: about 26 vector
// operations for Bᵀ instead of the 44 its nonzero entries take one by one. o[i·os] =
// Σ_j M[i][j]·v[j·vs] with M one of Bᵀ (8×8), Aᵀ (6×8), A (8×6) and B (8×8).
enum { DN_W6_BT = 1, DN_W6_AT, DN_W6_A, DN_W6_B };

static inline __attribute__((always_inline)) void dn_f6_1d(dn_v8 *restrict o, const dn_v8 *restrict v,
		const int os, const int vs, const int which) {
#define V(j) v[(j) * vs]
#define O(i) o[(i) * os]
	if (which == DN_W6_BT) {
		O(0) = (V(0) - V(6)) + 5.25f * (V(4) - V(2));
		O(7) = (V(7) - V(1)) + 5.25f * (V(3) - V(5));
		const dn_v8 a1 = (V(2) + V(6)) - 4.25f * V(4), b1 = (V(1) + V(5)) - 4.25f * V(3);
		O(1) = a1 + b1;
		O(2) = a1 - b1;
		const dn_v8 a2 = (0.25f * V(2) + V(6)) - 1.25f * V(4), b2 = (0.5f * V(1) - 2.5f * V(3)) + 2.0f * V(5);
		O(3) = a2 + b2;
		O(4) = a2 - b2;
		const dn_v8 a3 = (4.0f * V(2) + V(6)) - 5.0f * V(4), b3 = (2.0f * V(1) - 2.5f * V(3)) + 0.5f * V(5);
		O(5) = a3 + b3;
		O(6) = a3 - b3;
	} else if (which == DN_W6_AT) {
		const dn_v8 s1 = V(1) + V(2), d1 = V(1) - V(2), s2 = V(3) + V(4), d2 = V(3) - V(4);
		const dn_v8 s3 = V(5) + V(6), d3 = V(5) - V(6);
		O(0) = ((V(0) + s1) + s2) + s3;
		O(1) = (d1 + 2.0f * d2) + 0.5f * d3;
		O(2) = (s1 + 4.0f * s2) + 0.25f * s3;
		O(3) = (d1 + 8.0f * d2) + 0.125f * d3;
		O(4) = (s1 + 16.0f * s2) + 0.0625f * s3;
		O(5) = ((d1 + 32.0f * d2) + 0.03125f * d3) + V(7);
	} else if (which == DN_W6_A) {
		const dn_v8 e1 = (V(0) + V(2)) + V(4), o1 = (V(1) + V(3)) + V(5);
		const dn_v8 e2 = (V(0) + 4.0f * V(2)) + 16.0f * V(4), o2 = (2.0f * V(1) + 8.0f * V(3)) + 32.0f * V(5);
		const dn_v8 e3 = (V(0) + 0.25f * V(2)) + 0.0625f * V(4), o3 = (0.5f * V(1) + 0.125f * V(3)) + 0.03125f * V(5);
		O(0) = V(0);
		O(1) = e1 + o1;
		O(2) = e1 - o1;
		O(3) = e2 + o2;
		O(4) = e2 - o2;
		O(5) = e3 + o3;
		O(6) = e3 - o3;
		O(7) = V(5);
	} else { // DN_W6_B
		const dn_v8 p1 = V(1) + V(2), q1 = V(1) - V(2), p2 = V(3) + V(4), q2 = V(3) - V(4);
		const dn_v8 p3 = V(5) + V(6), q3 = V(5) - V(6);
		O(0) = V(0);
		O(1) = ((q1 + 0.5f * q2) + 2.0f * q3) - V(7);
		O(2) = ((p1 - 5.25f * V(0)) + 0.25f * p2) + 4.0f * p3;
		O(3) = ((5.25f * V(7) - 4.25f * q1) - 2.5f * q2) - 2.5f * q3;
		O(4) = ((5.25f * V(0) - 4.25f * p1) - 1.25f * p2) - 5.0f * p3;
		O(5) = ((q1 + 2.0f * q2) + 0.5f * q3) - 5.25f * V(7);
		O(6) = ((p1 - V(0)) + p2) + p3;
		O(7) = V(7);
	}
#undef V
#undef O
}

// out = L·in·Lᵀ for eight tiles (in p×p, L q×p): both passes through dn_dot8, or
// through dn_f6_1d when written is one of its transforms (then L must be that matrix).
static inline __attribute__((always_inline)) void dn_tile8(dn_v8 *restrict out, const dn_v8 *restrict in,
		const float *L, const int q, const int p, const int constant, const int written) {
	dn_v8 e[8 * 8];
	if (written) {
#pragma GCC unroll 8
		for (int k = 0; k < p; k++) dn_f6_1d(e + k, in + k, p, p, written);
#pragma GCC unroll 8
		for (int i = 0; i < q; i++) dn_f6_1d(out + i * q, e + i * p, 1, 1, written);
		return;
	}
#pragma GCC unroll 8
	for (int i = 0; i < q; i++)
#pragma GCC unroll 8
		for (int k = 0; k < p; k++) dn_dot8(&e[i * p + k], L + i * p, in + k, p, p, constant);
#pragma GCC unroll 8
	for (int i = 0; i < q; i++)
#pragma GCC unroll 8
		for (int l = 0; l < q; l++) dn_dot8(&out[i * q + l], L + l * p, e + i * p, 1, p, constant);
}

// dn_tiles8 transforms T tiles: src plane j (stride sld, T values) to dst plane i
// (stride dld), eight tiles per step; the last partial step goes through a copy so no
// plane is read or written past its T values.
static inline __attribute__((always_inline)) void dn_tiles8(float *dst, int64_t dld, const float *src, int64_t sld,
		int64_t T, const float *L, const int q, const int p, const int constant, const int written) {
	dn_v8 in[8 * 8], out[8 * 8];
	int64_t t = 0;
	for (; t + 8 <= T; t += 8) {
		for (int j = 0; j < p * p; j++) memcpy(&in[j], src + j * sld + t, sizeof(dn_v8));
		dn_tile8(out, in, L, q, p, constant, written);
		for (int i = 0; i < q * q; i++) memcpy(dst + i * dld + t, &out[i], sizeof(dn_v8));
	}
	if (t < T) { // lanes past T hold whatever was there: lanes do not mix, and they are not stored
		const int64_t r = T - t;
		for (int j = 0; j < p * p; j++)
			for (int64_t l = 0; l < r; l++) in[j][l] = src[j * sld + t + l];
		dn_tile8(out, in, L, q, p, constant, written);
		for (int i = 0; i < q * q; i++)
			for (int64_t l = 0; l < r; l++) dst[i * dld + t + l] = out[i][l];
	}
}

// The transforms by Winograd's matrices (winograd_tables.h, written from winograd.go)
// run a copy compiled for that constant matrix, about twice as fast; the matrix is
// named by its ID. F(6×6, 3×3)'s run through the hand-written dn_f6_1d. Any other
// matrix of the shapes they have runs a copy unrolled for the shape; the rest, the
// plane-at-a-time loops.
#define DN_TABLE(ID, table, Q, P) \
	case ID: dn_tiles8(dst, dld, src, sld, T, table, Q, P, 1, 0); return;
#define DN_WRITTEN(ID, table, which, Q, P) \
	case ID: dn_tiles8(dst, dld, src, sld, T, table, Q, P, 1, which); return;
#define DN_ANY(Q, P) \
	if (q == Q && p == P) { dn_tiles8(dst, dld, src, sld, T, L, Q, P, 0, 0); return; }

KERNEL static void dn_tiles_transform(float *dst, int64_t dld, const float *src, int64_t sld, int64_t T,
		const float *L, int64_t id, int64_t q, int64_t p, float *e) {
	switch (id) {
	DN_WRITTEN(DN_F6_BT, dn_f6_BT, DN_W6_BT, 8, 8)
	DN_WRITTEN(DN_F6_B, dn_f6_B, DN_W6_B, 8, 8)
	DN_WRITTEN(DN_F6_A, dn_f6_A, DN_W6_A, 8, 6)
	DN_WRITTEN(DN_F6_AT, dn_f6_AT, DN_W6_AT, 6, 8)
	DN_TABLE(DN_F4_BT, dn_f4_BT, 6, 6)
	DN_TABLE(DN_F4_B, dn_f4_B, 6, 6)
	DN_TABLE(DN_F4_A, dn_f4_A, 6, 4)
	DN_TABLE(DN_F4_AT, dn_f4_AT, 4, 6)
	DN_TABLE(DN_F2_BT, dn_f2_BT, 4, 4)
	DN_TABLE(DN_F2_B, dn_f2_B, 4, 4)
	DN_TABLE(DN_F2_A, dn_f2_A, 4, 2)
	DN_TABLE(DN_F2_AT, dn_f2_AT, 2, 4)
	DN_TABLE(DN_F2K5_A, dn_f2k5_A, 6, 2)
	DN_TABLE(DN_F2K5_AT, dn_f2k5_AT, 2, 6)
	}
	DN_ANY(8, 8) DN_ANY(8, 6) DN_ANY(6, 8) DN_ANY(6, 6) DN_ANY(6, 4) DN_ANY(4, 6)
	DN_ANY(4, 4) DN_ANY(4, 2) DN_ANY(2, 4) DN_ANY(6, 2) DN_ANY(2, 6)
	dn_transform(dst, dld, src, sld, T, L, q, p, e);
}

KERNEL void dn_tiles_in(float *dst, int64_t ld, int64_t cs, const float *x, int64_t channels, dn_tiling g,
		const float *L, int64_t id, int64_t q, float *tmp) {
	const int64_t T = g.TH * g.TW, S = g.S;
	float *restrict d = tmp, *e = tmp + S * S * T;
	const int64_t plane = g.H * g.W;
	for (int64_t c = 0; c < channels; c++) {
		// The next channel is asked for now, a line per prefetch: it is usually far off
		// (the layer before wrote it a while ago), and the tile copies would otherwise
		// wait for each line in turn.
		if (c + 1 < channels)
			for (int64_t i = 0; i < plane; i += 16) __builtin_prefetch(x + (c + 1) * plane + i, 0, 3);
		dn_move_channel(d, (float *)(x + c * plane), &g, 1);
		dn_tiles_transform(dst + c * cs, ld, d, T, T, L, id, q, S, e);
	}
}

KERNEL void dn_tiles_out(float *x, int64_t channels, dn_tiling g, const float *src, int64_t ld, int64_t cs,
		const float *L, int64_t id, int64_t p, float *tmp) {
	const int64_t T = g.TH * g.TW, S = g.S;
	float *restrict d = tmp, *e = tmp + S * S * T;
	for (int64_t c = 0; c < channels; c++) {
		dn_tiles_transform(d, T, src + c * cs, ld, T, L, id, S, p, e);
		dn_move_channel(d, x + c * g.H * g.W, &g, 0);
	}
}

// maxpool over k×k windows with stride k of [NC H W]; argmax gets each output's source.
KERNEL void dn_maxpool(float *y, int32_t *argmax, const float *x, int64_t NC, int64_t H, int64_t W,
		int64_t k, int64_t OH, int64_t OW) {
	if (k == 2) { // the usual case, written as selects so it vectorizes; same first-wins order
		for (int64_t nc = 0; nc < NC; nc++)
			for (int64_t i = 0; i < OH; i++) {
				const int32_t base = (int32_t)(nc * H * W + 2 * i * W);
				const float *restrict r0 = x + base, *restrict r1 = r0 + W;
				float *restrict yo = y + (nc * OH + i) * OW;
				int32_t *restrict ao = argmax + (nc * OH + i) * OW;
				for (int64_t j = 0; j < OW; j++) {
					float best = r0[2 * j];
					int32_t at = base + 2 * (int32_t)j;
					const float b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
					at = b > best ? base + 2 * (int32_t)j + 1 : at;
					best = b > best ? b : best;
					at = c > best ? base + (int32_t)W + 2 * (int32_t)j : at;
					best = c > best ? c : best;
					at = d > best ? base + (int32_t)W + 2 * (int32_t)j + 1 : at;
					best = d > best ? d : best;
					yo[j] = best;
					ao[j] = at;
				}
			}
		return;
	}
	int64_t o = 0;
	for (int64_t nc = 0; nc < NC; nc++) {
		const int64_t base = nc * H * W;
		for (int64_t i = 0; i < OH; i++) {
			for (int64_t j = 0; j < OW; j++, o++) {
				int64_t at = base + i * k * W + j * k;
				float best = x[at];
				for (int64_t u = 0; u < k; u++) {
					const float *r = x + base + (i * k + u) * W + j * k;
					for (int64_t v = 0; v < k; v++)
						if (r[v] > best) { best = r[v]; at = base + (i * k + u) * W + j * k + v; }
				}
				y[o] = best;
				argmax[o] = (int32_t)at;
			}
		}
	}
}

// Batch-norm kernels over one channel: n planes of s values, stride apart (x points at
// the channel's first plane). Sums run in eight float lanes per plane, which GCC turns
// into vector adds, and each plane's total goes into a double.
static inline double dn_lanes_sum(const float *restrict x, int64_t s) {
	float acc[8] = {0};
	int64_t i = 0;
	for (; i + 8 <= s; i += 8)
		for (int j = 0; j < 8; j++) acc[j] += x[i + j];
	double t = 0;
	for (; i < s; i++) t += x[i];
	for (int j = 0; j < 8; j++) t += acc[j];
	return t;
}

KERNEL void dn_bn_moments(const float *restrict x, int64_t n, int64_t stride, int64_t s, double *mean, double *var) {
	double t = 0;
	for (int64_t p = 0; p < n; p++) t += dn_lanes_sum(x + p * stride, s);
	const double m = t / (double)(n * s);
	const float mf = (float)m;
	double q = 0;
	for (int64_t p = 0; p < n; p++) {
		const float *restrict xp = x + p * stride;
		float acc[8] = {0};
		int64_t i = 0;
		for (; i + 8 <= s; i += 8)
			for (int j = 0; j < 8; j++) { const float d = xp[i + j] - mf; acc[j] += d * d; }
		for (; i < s; i++) { const double d = xp[i] - m; q += d * d; }
		for (int j = 0; j < 8; j++) q += acc[j];
	}
	*mean = m;
	*var = q / (double)(n * s);
}

KERNEL void dn_bn_normalize(float *restrict y, float *restrict xhat, const float *restrict x, int64_t n, int64_t stride, int64_t s,
		float mean, float inv, float gamma, float beta) {
	for (int64_t p = 0; p < n; p++) {
		const int64_t o = p * stride;
		for (int64_t i = 0; i < s; i++) {
			const float h = (x[o + i] - mean) * inv;
			xhat[o + i] = h;
			y[o + i] = gamma * h + beta;
		}
	}
}

KERNEL void dn_bn_grad_sums(const float *restrict dy, const float *restrict xhat, int64_t n, int64_t stride, int64_t s, double *sum, double *sumx) {
	double t = 0, tx = 0;
	for (int64_t p = 0; p < n; p++) {
		const float *restrict g = dy + p * stride, *restrict h = xhat + p * stride;
		float a[8] = {0}, b[8] = {0};
		int64_t i = 0;
		for (; i + 8 <= s; i += 8)
			for (int j = 0; j < 8; j++) { a[j] += g[i + j]; b[j] += g[i + j] * h[i + j]; }
		for (; i < s; i++) { t += g[i]; tx += (double)g[i] * h[i]; }
		for (int j = 0; j < 8; j++) { t += a[j]; tx += b[j]; }
	}
	*sum = t;
	*sumx = tx;
}

KERNEL void dn_bn_input_grad(float *restrict dx, const float *restrict dy, const float *restrict xhat, int64_t n, int64_t stride, int64_t s,
		float km, float ks, float kx) {
	for (int64_t p = 0; p < n; p++) {
		const int64_t o = p * stride;
		for (int64_t i = 0; i < s; i++) dx[o + i] = km * dy[o + i] - ks - kx * xhat[o + i];
	}
}

KERNEL void dn_relu(float *y, const float *x, int64_t n) { // y may be x
	for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

KERNEL void dn_add_row_sums8(float *restrict dst, const float *restrict x, int64_t rows, int64_t n) {
	for (int64_t r = 0; r < rows; r++) {
		const float *row = x + r * n;
		dn_v8 s = {0};
		int64_t i = 0;
		for (; i + 8 <= n; i += 8) {
			dn_v8 v;
			memcpy(&v, row + i, sizeof v);
			s += v;
		}
		for (; i < n; i++) s[0] += row[i];
		dst[r] += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
	}
}

KERNEL void dn_relu_backward(float *restrict dx, const float *restrict y,
		const float *restrict dy, int64_t n) {
	for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

KERNEL void dn_mul(float *restrict dst, const float *restrict a, const float *restrict b, int64_t n) {
	for (int64_t i = 0; i < n; i++) dst[i] = a[i] * b[i];
}

KERNEL void dn_fill_rows(float *restrict y, const float *restrict v, int64_t rows, int64_t n) {
	for (int64_t r = 0; r < rows; r++) {
		float *restrict yr = y + r * n;
		const float f = v[r];
		for (int64_t i = 0; i < n; i++) yr[i] = f;
	}
}

// dW[k][u][v] += Σ_l (Σ_i G[i][u]·dU_(i·α+l)[k])·G[l][v] for the n kernels k, dU's
// planes stride apart (Winograd's weight gradient, Gᵀ·dU·G). Float64 sums in the order
// nn's Go loops had them, with no fused multiply-adds (fp-contract off: a fused one
// rounds once where the Go code rounds twice), so runs reproduce bit for bit; the
// kernels go in blocks of DN_WG_BLOCK, their partial sums stored plane by plane so that
// the loops over kernels run along memory.
enum { DN_WG_BLOCK = 64 };
KERNEL __attribute__((optimize("fp-contract=off"))) void dn_winograd_weight_grad(float *restrict dw,
		const float *restrict du, int64_t stride, int64_t n, const double *restrict G, int64_t a, int64_t r) {
	double t[8 * 8 * DN_WG_BLOCK]; // [u·α+l][kernel], α ≤ 8, r ≤ α
	double s[DN_WG_BLOCK];
	for (int64_t k0 = 0; k0 < n; k0 += DN_WG_BLOCK) {
		const int64_t m = n - k0 < DN_WG_BLOCK ? n - k0 : DN_WG_BLOCK;
		for (int64_t i = 0; i < r * a * DN_WG_BLOCK; i++) t[i] = 0;
		for (int64_t i = 0; i < a; i++)
			for (int64_t l = 0; l < a; l++) {
				const float *restrict d = du + (i * a + l) * stride + k0;
				for (int64_t u = 0; u < r; u++) {
					const double g = G[i * r + u];
					double *restrict tr = t + (u * a + l) * DN_WG_BLOCK;
					for (int64_t j = 0; j < m; j++) tr[j] += g * (double)d[j];
				}
			}
		for (int64_t u = 0; u < r; u++)
			for (int64_t v = 0; v < r; v++) {
				for (int64_t j = 0; j < m; j++) s[j] = 0;
				for (int64_t l = 0; l < a; l++) {
					const double g = G[l * r + v];
					const double *restrict tr = t + (u * a + l) * DN_WG_BLOCK;
					for (int64_t j = 0; j < m; j++) s[j] += tr[j] * g;
				}
				for (int64_t j = 0; j < m; j++) dw[(k0 + j) * r * r + u * r + v] += (float)s[j];
			}
	}
}

KERNEL void dn_bytes_to_float(float *restrict dst, const uint8_t *restrict src, int64_t n,
		float scale, float offset) {
	for (int64_t i = 0; i < n; i++) dst[i] = (float)src[i] * scale + offset;
}

void dn_gather_bytes(float *dst, const uint8_t *src, int64_t d, const int64_t *idx,
		int64_t n, float scale, float offset) {
	for (int64_t j = 0; j < n; j++) dn_bytes_to_float(dst + j * d, src + idx[j] * d, d, scale, offset);
}

static void dn_adam_scalar(float *w, float *g, float *m, float *v, int64_t i, int64_t n,
		float b1, float b2, float step, float ibc2, float eps) {
	for (; i < n; i++) {
		const float gi = g[i];
		const float mi = b1 * m[i] + (1 - b1) * gi;
		const float vi = b2 * v[i] + (1 - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		w[i] -= step * mi / (sqrtf(vi) * ibc2 + eps);
		g[i] = 0;
	}
}

#ifdef DN_X86
// dn_adam_vec runs Adam on vectors of 8 from the start of n values and returns how
// many it did; g NULL is a zero gradient, and clear (g itself, or NULL) is zeroed as it
// goes; inlined into dn_adam and dn_adam_rows. Written with intrinsics: the compiler
// will not vectorize sqrtf while it may set errno, and cgo does not allow
// -fno-math-errno.
__attribute__((target("avx2,fma"), always_inline)) static inline int64_t dn_adam_vec(float *w, const float *g,
		float *m, float *v, int64_t n, float *clear, float b1, float b2, float step, float ibc2, float eps) {
	const __m256 B1 = _mm256_set1_ps(b1), C1 = _mm256_set1_ps(1 - b1);
	const __m256 B2 = _mm256_set1_ps(b2), C2 = _mm256_set1_ps(1 - b2);
	const __m256 S = _mm256_set1_ps(step), I = _mm256_set1_ps(ibc2), E = _mm256_set1_ps(eps);
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m256 gi = g ? _mm256_loadu_ps(g + i) : _mm256_setzero_ps();
		__m256 mi = _mm256_fmadd_ps(B1, _mm256_loadu_ps(m + i), _mm256_mul_ps(C1, gi));
		__m256 vi = _mm256_fmadd_ps(B2, _mm256_loadu_ps(v + i), _mm256_mul_ps(C2, _mm256_mul_ps(gi, gi)));
		_mm256_storeu_ps(m + i, mi);
		_mm256_storeu_ps(v + i, vi);
		__m256 den = _mm256_fmadd_ps(_mm256_sqrt_ps(vi), I, E);
		_mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), _mm256_div_ps(_mm256_mul_ps(S, mi), den)));
		if (clear) _mm256_storeu_ps(clear + i, _mm256_setzero_ps());
	}
	return i;
}

__attribute__((target("avx2,fma"))) static int64_t dn_adam_avx2(float *w, float *g, float *m,
		float *v, int64_t n, float b1, float b2, float step, float ibc2, float eps) {
	return dn_adam_vec(w, g, m, v, n, g, b1, b2, step, ibc2, eps);
}
#endif

void dn_adam(float *w, float *g, float *m, float *v, int64_t n,
		float b1, float b2, float step, float ibc2, float eps) {
	int64_t i = 0;
#ifdef DN_X86
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		i = dn_adam_avx2(w, g, m, v, n, b1, b2, step, ibc2, eps);
#endif
	dn_adam_scalar(w, g, m, v, i, n, b1, b2, step, ibc2, eps);
}

// dn_adam of a matrix [rows cols] whose gradient is zero but in some rows: row r's is
// row idx[r] of vals, or zero where idx[r] < 0 (the packed first layer's weight
// gradient, never written into a dense one). Every value comes out as dn_adam gives it
// for the whole matrix with that gradient written out, bit for bit: dn_adam takes
// vectors of 8 from the matrix's start, whose lanes are independent, so a row's values
// may go through vectors of 8 from the row's start and its last few through the same
// arithmetic one lane at a time (dn_adam_lane); only the matrix's last n mod 8 values
// take the plain scalar code, as there. The gradient is not written (it is zero).
#ifdef DN_X86
__attribute__((target("avx2,fma"), optimize("fp-contract=off"))) static inline void dn_adam_lane(float *w, float g,
		float *m, float *v, float b1, float b2, float step, float ibc2, float eps) {
	const float mi = __builtin_fmaf(b1, *m, (1 - b1) * g);
	const float vi = __builtin_fmaf(b2, *v, (1 - b2) * (g * g));
	*m = mi;
	*v = vi;
	*w = *w - (step * mi) / __builtin_fmaf(__builtin_sqrtf(vi), ibc2, eps);
}

__attribute__((target("avx2,fma"))) static void dn_adam_row_avx2(float *w, const float *g, float *m, float *v,
		int64_t n, float b1, float b2, float step, float ibc2, float eps) {
	int64_t i = dn_adam_vec(w, g, m, v, n, NULL, b1, b2, step, ibc2, eps);
	for (; i < n; i++) dn_adam_lane(w + i, g ? g[i] : 0.0f, m + i, v + i, b1, b2, step, ibc2, eps);
}
#endif

void dn_adam_rows(float *w, float *m, float *v, int64_t rows, int64_t cols, const int32_t *idx,
		const float *vals, float b1, float b2, float step, float ibc2, float eps) {
	const int64_t n = rows * cols;
	int64_t vec = 0; // values below vec go the vector way (dn_adam: n rounded down to 8)
#ifdef DN_X86
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) vec = n / 8 * 8;
#endif
	for (int64_t r = 0; r < rows; r++) {
		const int64_t lo = r * cols, hi = lo + cols;
		const float *g = idx[r] >= 0 ? vals + (int64_t)idx[r] * cols : NULL;
#ifdef DN_X86
		if (lo < vec) {
			const int64_t k = (hi < vec ? hi : vec) - lo;
			dn_adam_row_avx2(w + lo, g, m + lo, v + lo, k, b1, b2, step, ibc2, eps);
		}
#endif
		for (int64_t i = lo > vec ? lo : vec; i < hi; i++) {
			const float gi = g ? g[i - lo] : 0.0f;
			const float mi = b1 * m[i] + (1 - b1) * gi;
			const float vi = b2 * v[i] + (1 - b2) * gi * gi;
			m[i] = mi;
			v[i] = vi;
			w[i] -= step * mi / (sqrtf(vi) * ibc2 + eps);
		}
	}
}

// The bits of every row's value in each column, sign dropped, ORed into mask[0:n]: a
// column is zero in every row exactly when its mask stays 0 (+0 and -0 both count as
// zero). Integer ORs vectorize cleanly and never trap on NaN.
KERNEL void dn_or_columns(uint32_t *restrict mask, const float *restrict x, int64_t rows, int64_t n) {
	for (int64_t r = 0; r < rows; r++) {
		const uint32_t *restrict xr = (const uint32_t *)(x + r * n);
		for (int64_t j = 0; j < n; j++) mask[j] |= xr[j] & 0x7fffffffu;
	}
}

// dst[r, k] = x[r, cols[k]] for every row r of x [rows n]: the columns in cols, packed.
// Nonzero pixels come in runs of neighbouring columns (an image row's stretch of ink),
// so the columns are copied a run at a time, up to 64 runs per pass over the rows.
KERNEL void dn_gather_columns(float *restrict dst, const float *restrict x, int64_t rows, int64_t n,
		const int64_t *cols, int64_t ncols) {
	enum { MAXRUNS = 64 };
	int64_t from[MAXRUNS], to[MAXRUNS], len[MAXRUNS];
	for (int64_t k = 0; k < ncols;) {
		int64_t runs = 0;
		for (; k < ncols && runs < MAXRUNS; runs++) {
			int64_t l = 1;
			while (k + l < ncols && cols[k + l] == cols[k] + l) l++;
			from[runs] = cols[k], to[runs] = k, len[runs] = l;
			k += l;
		}
		for (int64_t r = 0; r < rows; r++)
			for (int64_t i = 0; i < runs; i++)
				memcpy(dst + r * ncols + to[i], x + r * n + from[i], (size_t)len[i] * sizeof(float));
	}
}

// w[rows[k], 0:n] += src[k, 0:n] (w's row stride ld): packed rows added back in place.
KERNEL void dn_add_rows(float *restrict w, int64_t ld, const int64_t *rows, int64_t nrows,
		const float *restrict src, int64_t n) {
	for (int64_t k = 0; k < nrows; k++) {
		float *restrict row = w + rows[k] * ld;
		const float *restrict s = src + k * n;
		for (int64_t j = 0; j < n; j++) row[j] += s[j];
	}
}

// Asks the cache for the rows idx of src (rows of d bytes) without waiting: the next
// batch's images, scattered through a data set far larger than the cache, while the
// current batch trains.
void dn_prefetch_rows(const uint8_t *src, int64_t d, const int64_t *idx, int64_t n) {
	for (int64_t j = 0; j < n; j++) {
		const uint8_t *row = src + idx[j] * d;
		for (int64_t k = 0; k < d; k += 64) __builtin_prefetch(row + k, 0, 1);
		__builtin_prefetch(row + d - 1, 0, 1);
	}
}
