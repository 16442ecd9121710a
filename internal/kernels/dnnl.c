//go:build cgo && !purego

// oneDNN's integer GEMM (dnnl_gemm_u8s8s32, the kernel PyTorch's quantized linear layers
// reach through oneDNN too) and its bf16 matmul, loaded with dlopen: building needs only
// oneDNN's header, and running needs libdnnl2 only when int8 or bf16 is asked for. On
// AVX-512 VNNI the integer GEMM multiplies four u8·s8 pairs per lane and instruction,
// without the 16-bit saturation older int8 paths have (kernels.Int8 asks for VNNI); on
// AVX-512 BF16 vdpbf16ps does twice the multiplications of an fp32 FMA.
//
// The bf16 part needs oneDNN 2.x's header for its types (Debian's libdnnl-dev): built
// without it, digitnet builds all the same and kernels.BF16 says why bf16 cannot run.
// The int8 GEMM needs no header.

#include "dnnl.h"
#if defined(__has_include)
#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#if DNNL_VERSION_MAJOR == 2
#define DN_HAVE_DNNL 1
#endif
#endif
#endif
#include <pthread.h>
#include <string.h>
#include <dlfcn.h>
#include <math.h>
#include <stddef.h>

typedef int (*dn_gemm_u8s8s32_fn)(char transa, char transb, char offsetc, int64_t M, int64_t N,
		int64_t K, float alpha, const uint8_t *A, int64_t lda, uint8_t ao, const int8_t *B,
		int64_t ldb, int8_t bo, float beta, int32_t *C, int64_t ldc, const int32_t *co);

static dn_gemm_u8s8s32_fn dn_gemm_u8s8s32;
static void *dn_lib;

static const char *dn_dnnl_load(void) {
	if (dn_lib) return NULL;
	void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!lib) return dlerror();
	dn_lib = lib;
	return NULL;
}

const char *dn_int8_open(void) {
	if (dn_gemm_u8s8s32) return NULL;
	const char *err = dn_dnnl_load();
	if (err) return err;
	dn_gemm_u8s8s32 = (dn_gemm_u8s8s32_fn)dlsym(dn_lib, "dnnl_gemm_u8s8s32");
	if (!dn_gemm_u8s8s32) return "libdnnl.so.2 has no dnnl_gemm_u8s8s32";
	return NULL;
}

int dn_gemm_u8s8(int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t lda, uint8_t za,
		const int8_t *b, int64_t ldb, int32_t *c, int64_t ldc) {
	const int32_t zero = 0;
	return dn_gemm_u8s8s32('N', 'N', 'F', m, n, k, 1.0f, a, lda, za, b, ldb, 0, 0.0f, c, ldc, &zero);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL8 __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KERNEL8
#endif

// Round half to even (nearbyintf in the default rounding mode), as ONNX's
// QuantizeLinear does, then clamp to the u8 range.
KERNEL8 void dn_quantize_u8(uint8_t *restrict dst, const float *restrict src, int64_t n, float inv, float zero) {
	for (int64_t i = 0; i < n; i++) {
		float q = nearbyintf(src[i] * inv) + zero;
		q = q > 0.0f ? q : 0.0f; // NaN too: a defined 0 rather than an undefined cast
		q = q < 255.0f ? q : 255.0f;
		dst[i] = (uint8_t)q;
	}
}

KERNEL8 void dn_dequantize(float *restrict y, const int32_t *restrict c, int64_t rows, int64_t n, float scale,
		const float *restrict col_scale, const float *restrict bias) {
	for (int64_t r = 0; r < rows; r++)
		for (int64_t j = 0; j < n; j++)
			y[r * n + j] = (float)c[r * n + j] * (scale * col_scale[j]) + bias[j];
}

// One row: acc[j] = sum_i (xq[i] - z)·w[i, j], skipping the inputs at the zero point (a
// digit's background): the batch-1 path, where a oneDNN call costs more in waking its
// threads than the arithmetic. Integer sums are exact, so it agrees with dn_gemm_u8s8.
KERNEL8 void dn_gemv_u8s8(int32_t *restrict acc, const uint8_t *restrict xq, int64_t k, uint8_t z,
		const int8_t *restrict w, int64_t n) {
	for (int64_t j = 0; j < n; j++) acc[j] = 0;
	for (int64_t i = 0; i < k; i++) {
		const int32_t a = (int32_t)xq[i] - (int32_t)z;
		if (a == 0) continue;
		const int8_t *restrict row = w + i * n;
		for (int64_t j = 0; j < n; j++) acc[j] += a * (int32_t)row[j];
	}
}

#ifdef DN_HAVE_DNNL

// bf16 products: oneDNN's matmul primitive with bf16 operands and float32 results
// (fp32 accumulation). The functions are looked up by name like the int8 GEMM; the
// header gives only the types.
#define DN_BF16_FUNCS(X) \
	X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_stream_wait) \
	X(dnnl_memory_desc_init_by_strides) X(dnnl_matmul_desc_init) X(dnnl_primitive_attr_create) \
	X(dnnl_primitive_attr_destroy) X(dnnl_post_ops_create) X(dnnl_post_ops_append_sum) \
	X(dnnl_post_ops_destroy) X(dnnl_primitive_attr_set_post_ops) X(dnnl_primitive_desc_create) \
	X(dnnl_primitive_desc_destroy) X(dnnl_primitive_create) X(dnnl_primitive_execute) \
	X(dnnl_memory_create) X(dnnl_memory_set_data_handle) X(dnnl_memory_destroy) \
	X(dnnl_primitive_destroy)
#define DN_DECLARE(f) static __typeof__(&f) p_##f;
DN_BF16_FUNCS(DN_DECLARE)
static void (*p_omp_set_num_threads)(int);
static int (*p_omp_get_max_threads)(void);
static dnnl_engine_t dn_engine;
static dnnl_stream_t dn_stream;

const char *dn_bf16_open(void) {
	if (dn_stream) return NULL;
	const char *err = dn_dnnl_load();
	if (err) return err;
#define DN_LOOKUP(f) if (!(p_##f = (__typeof__(&f))dlsym(dn_lib, #f))) return "libdnnl.so.2 has no " #f;
	DN_BF16_FUNCS(DN_LOOKUP)
	p_omp_set_num_threads = (void (*)(int))dlsym(dn_lib, "omp_set_num_threads");
	p_omp_get_max_threads = (int (*)(void))dlsym(dn_lib, "omp_get_max_threads");
	if (!p_omp_set_num_threads || !p_omp_get_max_threads) return "no OpenMP runtime beside libdnnl.so.2";
	if (p_dnnl_engine_create(&dn_engine, dnnl_cpu, 0) != dnnl_success) return "oneDNN: no CPU engine";
	if (p_dnnl_stream_create(&dn_stream, dn_engine, dnnl_stream_default_flags) != dnnl_success) return "oneDNN: no stream";
	return NULL;
}

// One primitive per product shape, made on first use (a few milliseconds) and kept.
typedef struct {
	int64_t m, n, k, lda, ldb, ldc;
	int ta, tb, beta;
	dnnl_primitive_t prim;
	dnnl_memory_t a, b, c;
} dn_bf16_entry;

enum { DN_BF16_ENTRIES = 256 };
static dn_bf16_entry dn_bf16_cache[DN_BF16_ENTRIES];
static int dn_bf16_count;
static pthread_mutex_t dn_bf16_mu = PTHREAD_MUTEX_INITIALIZER;

static dn_bf16_entry *dn_bf16_find(int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t lda,
		int64_t ldb, int64_t ldc, int beta, int *status) {
	for (int i = 0; i < dn_bf16_count; i++) {
		dn_bf16_entry *e = &dn_bf16_cache[i];
		if (e->ta == ta && e->tb == tb && e->m == m && e->n == n && e->k == k && e->lda == lda &&
				e->ldb == ldb && e->ldc == ldc && e->beta == beta)
			return e;
	}
	// Full (a process training many networks of other shapes): the oldest slot is
	// freed and reused, in turn.
	static int next_victim;
	dn_bf16_entry *e;
	if (dn_bf16_count == DN_BF16_ENTRIES) {
		e = &dn_bf16_cache[next_victim];
		next_victim = (next_victim + 1) % DN_BF16_ENTRIES;
		p_dnnl_primitive_destroy(e->prim);
		p_dnnl_memory_destroy(e->a);
		p_dnnl_memory_destroy(e->b);
		p_dnnl_memory_destroy(e->c);
		dn_bf16_count--; // counted again below
		// Move the slot to the end so that the lookup's range stays dense.
		dn_bf16_entry tmp = *e;
		*e = dn_bf16_cache[dn_bf16_count];
		dn_bf16_cache[dn_bf16_count] = tmp;
		e = &dn_bf16_cache[dn_bf16_count];
	} else {
		e = &dn_bf16_cache[dn_bf16_count];
	}
	*e = (dn_bf16_entry){.m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .ta = ta, .tb = tb, .beta = beta};
	// op(A) is m×k: stored [m k] (strides lda, 1) or [k m] read transposed (1, lda).
	dnnl_dims_t ad = {m, k}, as = {ta ? 1 : lda, ta ? lda : 1};
	dnnl_dims_t bd = {k, n}, bs = {tb ? 1 : ldb, tb ? ldb : 1};
	dnnl_dims_t cd = {m, n}, cs = {ldc, 1};
	dnnl_memory_desc_t amd, bmd, cmd;
	dnnl_matmul_desc_t md;
	dnnl_primitive_attr_t attr = NULL;
	dnnl_post_ops_t po = NULL;
	dnnl_primitive_desc_t pd = NULL;
	int st = p_dnnl_memory_desc_init_by_strides(&amd, 2, ad, dnnl_bf16, as);
	if (!st) st = p_dnnl_memory_desc_init_by_strides(&bmd, 2, bd, dnnl_bf16, bs);
	if (!st) st = p_dnnl_memory_desc_init_by_strides(&cmd, 2, cd, dnnl_f32, cs);
	if (!st) st = p_dnnl_matmul_desc_init(&md, &amd, &bmd, NULL, &cmd);
	if (!st) st = p_dnnl_primitive_attr_create(&attr);
	if (!st && beta) { // C += A·B: a sum post-op over what C holds
		st = p_dnnl_post_ops_create(&po);
		if (!st) st = p_dnnl_post_ops_append_sum(po, 1.0f);
		if (!st) st = p_dnnl_primitive_attr_set_post_ops(attr, po);
	}
	// One thread: the thread count is fixed when a primitive is made, and two OpenMP
	// threads measured slower than one whenever the other core was busy.
	const int threads = p_omp_get_max_threads();
	p_omp_set_num_threads(1);
	if (!st) st = p_dnnl_primitive_desc_create(&pd, &md, attr, dn_engine, NULL);
	if (!st) st = p_dnnl_primitive_create(&e->prim, pd);
	p_omp_set_num_threads(threads);
	if (!st) st = p_dnnl_memory_create(&e->a, &amd, dn_engine, DNNL_MEMORY_NONE);
	if (!st) st = p_dnnl_memory_create(&e->b, &bmd, dn_engine, DNNL_MEMORY_NONE);
	if (!st) st = p_dnnl_memory_create(&e->c, &cmd, dn_engine, DNNL_MEMORY_NONE);
	if (pd) p_dnnl_primitive_desc_destroy(pd);
	if (po) p_dnnl_post_ops_destroy(po);
	if (attr) p_dnnl_primitive_attr_destroy(attr);
	if (st) { // free what was made; the slot stays outside the cache's range
		if (e->prim) p_dnnl_primitive_destroy(e->prim);
		if (e->a) p_dnnl_memory_destroy(e->a);
		if (e->b) p_dnnl_memory_destroy(e->b);
		if (e->c) p_dnnl_memory_destroy(e->c);
		*e = (dn_bf16_entry){0};
		*status = st;
		return NULL;
	}
	dn_bf16_count++;
	return e;
}

int dn_gemm_bf16(int ta, int tb, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
		const uint16_t *b, int64_t ldb, int beta, float *c, int64_t ldc) {
	pthread_mutex_lock(&dn_bf16_mu);
	int st = 0;
	dn_bf16_entry *e = dn_bf16_find(ta, tb, m, n, k, lda, ldb, ldc, beta, &st);
	if (e) {
		p_dnnl_memory_set_data_handle(e->a, (void *)a);
		p_dnnl_memory_set_data_handle(e->b, (void *)b);
		p_dnnl_memory_set_data_handle(e->c, c);
		dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
		st = p_dnnl_primitive_execute(e->prim, dn_stream, 3, args);
		if (!st) st = p_dnnl_stream_wait(dn_stream);
		// Keep no pointer into Go's memory past the call.
		p_dnnl_memory_set_data_handle(e->a, NULL);
		p_dnnl_memory_set_data_handle(e->b, NULL);
		p_dnnl_memory_set_data_handle(e->c, NULL);
	}
	pthread_mutex_unlock(&dn_bf16_mu);
	return st;
}

#else // no oneDNN 2.x header at build time

const char *dn_bf16_open(void) {
	return "digitnet was built without oneDNN 2.x's header (apt-get install libdnnl-dev, then go clean -cache and rebuild)";
}

int dn_gemm_bf16(int ta, int tb, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
		const uint16_t *b, int64_t ldb, int beta, float *c, int64_t ldc) {
	return -1;
}

#endif

// Round to nearest even, as vcvtneps2bf16 does; NaN stays a (quiet) NaN.
static inline uint16_t dn_bf16_of(float f) {
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
	return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
__attribute__((target("avx512bf16,avx512f,avx512bw,avx512vl")))
static void dn_to_bf16_avx512(uint16_t *restrict dst, const float *restrict src, int64_t n) {
	int64_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
		_mm512_storeu_si512((void *)(dst + i), (__m512i)v);
	}
	for (; i < n; i++) dst[i] = dn_bf16_of(src[i]);
}
#endif

void dn_to_bf16(uint16_t *restrict dst, const float *restrict src, int64_t n, int avx512bf16) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	if (avx512bf16) { dn_to_bf16_avx512(dst, src, n); return; }
#endif
	for (int64_t i = 0; i < n; i++) dst[i] = dn_bf16_of(src[i]);
}

// dst[k, 0:n] = bf16(w[rows[k], 0:n]) (w's row stride ld): the packed layer's weight rows,
// gathered and rounded in one pass.
void dn_gather_rows_bf16(uint16_t *restrict dst, const float *restrict w, int64_t ld,
		const int64_t *rows, int64_t nrows, int64_t n, int avx512bf16) {
	for (int64_t k = 0; k < nrows; k++) dn_to_bf16(dst + k * n, w + rows[k] * ld, n, avx512bf16);
}
