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
#include <signal.h>
#include <string.h>
#include <dlfcn.h>
#include <math.h>
#include <stddef.h>

typedef int (*dn_gemm_u8s8s32_fn)(char transa, char transb, char offsetc, int64_t M, int64_t N,
		int64_t K, float alpha, const uint8_t *A, int64_t lda, uint8_t ao, const int8_t *B,
		int64_t ldb, int8_t bo, float beta, int32_t *C, int64_t ldc, const int32_t *co);

static dn_gemm_u8s8s32_fn dn_gemm_u8s8s32;
static void *dn_lib;
// OpenMP's thread count, per calling thread (libgomp, which libdnnl.so.2 links).
static void (*dn_omp_set_threads)(int);
static int (*dn_omp_max_threads)(void);

static const char *dn_dnnl_load(void) {
	if (dn_lib) return NULL;
	void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!lib) return dlerror();
	dn_lib = lib;
	return NULL;
}

// dn_omp_open finds OpenMP's thread-count functions beside libdnnl.so.2.
static const char *dn_omp_open(void) {
	dn_omp_set_threads = (void (*)(int))dlsym(dn_lib, "omp_set_num_threads");
	dn_omp_max_threads = (int (*)(void))dlsym(dn_lib, "omp_get_max_threads");
	if (!dn_omp_set_threads || !dn_omp_max_threads) return "no OpenMP runtime beside libdnnl.so.2";
	return NULL;
}

const char *dn_int8_open(void) {
	if (dn_gemm_u8s8s32) return NULL;
	const char *err = dn_dnnl_load();
	if (!err) err = dn_omp_open();
	if (err) return err;
	dn_gemm_u8s8s32 = (dn_gemm_u8s8s32_fn)dlsym(dn_lib, "dnnl_gemm_u8s8s32");
	if (!dn_gemm_u8s8s32) return "libdnnl.so.2 has no dnnl_gemm_u8s8s32";
	return NULL;
}

// oneDNN's JIT GEMM kernels do not survive a signal handled on the stack they run on
// (reproduced in C: a SIGPROF every millisecond corrupts the heap within seconds,
// unless the handler runs on an alternate signal stack). Go gives each of its threads
// an alternate stack; OpenMP's worker threads have none. So a call that may start an
// OpenMP team blocks the asynchronous signals first: the workers the team creates
// inherit that mask and keep it, and the caller gets its own back. Every worker must be
// *created* under the mask, since libgomp keeps a calling thread's workers for its next
// teams: the other oneDNN calls here run with one thread, which starts none. The
// synchronous signals (faults) stay unblocked, for Go's report of a crash in C. (Go's
// CPU profiler therefore never samples those workers: `--cpuprofile` shows the
// calling thread's share of a threaded product only.)
static void dn_signals_block(sigset_t *old) {
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

static void dn_signals_restore(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

// A call on threads OpenMP threads: OpenMP's thread count is the calling thread's own
// setting, and Go moves goroutines between threads, so it is set for the call and put
// back after; a team of more than one starts with the signals blocked (above).
typedef struct {
	int threads, was;
	sigset_t old;
} dn_team;

static dn_team dn_team_begin(int threads) {
	dn_team t = {.threads = threads, .was = dn_omp_max_threads()};
	if (t.was != threads) dn_omp_set_threads(threads);
	if (threads > 1) dn_signals_block(&t.old);
	return t;
}

static void dn_team_end(const dn_team *t) {
	if (t->threads > 1) dn_signals_restore(&t->old);
	if (t->was != t->threads) dn_omp_set_threads(t->was);
}

int dn_gemm_u8s8(int threads, int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t lda, uint8_t za,
		const int8_t *b, int64_t ldb, int32_t *c, int64_t ldc) {
	const int32_t zero = 0;
	if (!dn_gemm_u8s8s32 || !dn_omp_set_threads) return -1; // dn_int8_open has not run (or failed)
	dn_team t = dn_team_begin(threads);
	const int st = dn_gemm_u8s8s32('N', 'N', 'F', m, n, k, 1.0f, a, lda, za, b, ldb, 0, 0.0f, c, ldc, &zero);
	dn_team_end(&t);
	return st;
}

// oneDNN's float32 GEMM (dnnl_sgemm: row-major, the BLAS contract), needing no header
// either. On AVX-512 it ran at about twice OpenBLAS 0.3.21's rate on our shapes, one
// thread a call (BENCHMARKS.md). It threads with OpenMP: a call from Go's workers runs
// on its own thread (threads 1), a product of the whole process on an OpenMP team
// (whose threads wake in ~10 µs where a goroutine took 40-90 µs, measured).
typedef int (*dn_sgemm_fn)(char transa, char transb, int64_t M, int64_t N, int64_t K, float alpha,
		const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
static dn_sgemm_fn dn_sgemm_p;

const char *dn_sgemm_open(void) {
	if (dn_sgemm_p) return NULL;
	const char *err = dn_dnnl_load();
	if (!err) err = dn_omp_open();
	if (err) return err;
	dn_sgemm_fn f = (dn_sgemm_fn)dlsym(dn_lib, "dnnl_sgemm");
	if (!f) return "libdnnl.so.2 has no dnnl_sgemm";
	dn_sgemm_p = f;
	return NULL;
}

int dn_sgemm(int threads, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
		int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
	if (!dn_sgemm_p) return -1; // dn_sgemm_open has not run (or failed)
	dn_team t = dn_team_begin(threads);
	const int st = dn_sgemm_p(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
	dn_team_end(&t);
	return st;
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

// A quantized image's patches as rows, for the int8 convolution's product patches·Wᵀ:
// dst[i·OW + j][(c·k + u)·k + v] = x[c][i·s + u − p][j·s + v − p], or z off the image
// (z is the quantized 0, which the padding is).
KERNEL8 void dn_im2row_u8(uint8_t *restrict dst, const uint8_t *restrict x, int64_t C, int64_t H, int64_t W, int64_t k,
		int64_t s, int64_t p, int64_t OH, int64_t OW, uint8_t z) {
	const int64_t K = C * k * k;
	for (int64_t i = 0; i < OH; i++)
		for (int64_t j = 0; j < OW; j++) {
			uint8_t *row = dst + (i * OW + j) * K;
			for (int64_t c = 0; c < C; c++)
				for (int64_t u = 0; u < k; u++) {
					uint8_t *out = row + (c * k + u) * k;
					const int64_t r = i * s + u - p;
					if (r < 0 || r >= H) {
						memset(out, z, (size_t)k);
						continue;
					}
					const uint8_t *in = x + (c * H + r) * W;
					const int64_t q0 = j * s - p;
					if (q0 >= 0 && q0 + k <= W) { // inside: a copy (of a constant length, inlined, for 3 and 5)
						if (k == 5) memcpy(out, in + q0, 5);
						else if (k == 3) memcpy(out, in + q0, 3);
						else memcpy(out, in + q0, (size_t)k);
						continue;
					}
					for (int64_t v = 0; v < k; v++) {
						const int64_t q = q0 + v;
						out[v] = (q < 0 || q >= W) ? z : in[q];
					}
				}
		}
}

// y[o][r] = c[r][o]·(scale·col_scale[o]) + bias[o]: one image's int8 convolution output,
// from the product's [rows n] to NCHW's [n rows].
KERNEL8 void dn_dequantize_t(float *restrict y, const int32_t *restrict c, int64_t rows, int64_t n, float scale,
		const float *restrict col_scale, const float *restrict bias) {
	for (int64_t o = 0; o < n; o++) {
		const float f = scale * col_scale[o], b = bias[o];
		float *restrict yo = y + o * rows;
		for (int64_t r = 0; r < rows; r++) yo[r] = (float)c[r * n + o] * f + b;
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
	X(dnnl_primitive_destroy) X(dnnl_stream_destroy) X(dnnl_memory_desc_init_by_tag) \
	X(dnnl_memory_desc_equal) X(dnnl_convolution_forward_desc_init) \
	X(dnnl_convolution_backward_data_desc_init) X(dnnl_convolution_backward_weights_desc_init) \
	X(dnnl_reorder_primitive_desc_create) X(dnnl_primitive_desc_query_md) \
	X(dnnl_primitive_attr_set_scratchpad_mode) X(dnnl_memory_desc_get_size)
#define DN_DECLARE(f) static __typeof__(&f) p_##f;
DN_BF16_FUNCS(DN_DECLARE)
static dnnl_engine_t dn_engine;
static dnnl_stream_t dn_stream;

const char *dn_bf16_open(void) {
	if (dn_stream) return NULL;
	const char *err = dn_dnnl_load();
	if (err) return err;
#define DN_LOOKUP(f) if (!(p_##f = (__typeof__(&f))dlsym(dn_lib, #f))) return "libdnnl.so.2 has no " #f;
	DN_BF16_FUNCS(DN_LOOKUP)
	if ((err = dn_omp_open())) return err;
	if (p_dnnl_engine_create(&dn_engine, dnnl_cpu, 0) != dnnl_success) return "oneDNN: no CPU engine";
	if (p_dnnl_stream_create(&dn_stream, dn_engine, dnnl_stream_default_flags) != dnnl_success) return "oneDNN: no stream";
	return NULL;
}

// One primitive per product shape, made on first use (a few milliseconds) and kept.
typedef struct {
	int64_t m, n, k, lda, ldb, ldc;
	int ta, tb, beta;
	dnnl_primitive_t prim;
	dnnl_memory_t a, b, c, scratch; // scratch: the primitive's scratchpad, or NULL
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
		if (e->scratch) p_dnnl_memory_destroy(e->scratch);
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
	// The scratchpad is ours (user mode): oneDNN's default keeps one per thread, sized
	// on the thread that made the primitive, and Go calls from whichever thread is free.
	if (!st) st = p_dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
	if (!st && beta) { // C += A·B: a sum post-op over what C holds
		st = p_dnnl_post_ops_create(&po);
		if (!st) st = p_dnnl_post_ops_append_sum(po, 1.0f);
		if (!st) st = p_dnnl_primitive_attr_set_post_ops(attr, po);
	}
	// One thread: the thread count is fixed when a primitive is made, and two OpenMP
	// threads measured slower than one whenever the other core was busy.
	const int threads = dn_omp_max_threads();
	dn_omp_set_threads(1);
	if (!st) st = p_dnnl_primitive_desc_create(&pd, &md, attr, dn_engine, NULL);
	if (!st) st = p_dnnl_primitive_create(&e->prim, pd);
	dn_omp_set_threads(threads);
	if (!st) st = p_dnnl_memory_create(&e->a, &amd, dn_engine, DNNL_MEMORY_NONE);
	if (!st) st = p_dnnl_memory_create(&e->b, &bmd, dn_engine, DNNL_MEMORY_NONE);
	if (!st) st = p_dnnl_memory_create(&e->c, &cmd, dn_engine, DNNL_MEMORY_NONE);
	const dnnl_memory_desc_t *smd = st ? NULL : p_dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
	if (smd && p_dnnl_memory_desc_get_size(smd) > 0)
		st = p_dnnl_memory_create(&e->scratch, smd, dn_engine, DNNL_MEMORY_ALLOCATE);
	if (pd) p_dnnl_primitive_desc_destroy(pd);
	if (po) p_dnnl_post_ops_destroy(po);
	if (attr) p_dnnl_primitive_attr_destroy(attr);
	if (st) { // free what was made; the slot stays outside the cache's range
		if (e->prim) p_dnnl_primitive_destroy(e->prim);
		if (e->a) p_dnnl_memory_destroy(e->a);
		if (e->b) p_dnnl_memory_destroy(e->b);
		if (e->c) p_dnnl_memory_destroy(e->c);
		if (e->scratch) p_dnnl_memory_destroy(e->scratch);
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
		dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c},
			{DNNL_ARG_SCRATCHPAD, e->scratch}};
		// The primitive was made for one thread; running with one too means no OpenMP
		// worker can start here unmasked (dn_signals_block), whatever oneDNN's version.
		const int threads = dn_omp_max_threads();
		dn_omp_set_threads(1);
		st = p_dnnl_primitive_execute(e->prim, dn_stream, e->scratch ? 4 : 3, args);
		if (!st) st = p_dnnl_stream_wait(dn_stream);
		dn_omp_set_threads(threads);
		// Keep no pointer into Go's memory past the call.
		p_dnnl_memory_set_data_handle(e->a, NULL);
		p_dnnl_memory_set_data_handle(e->b, NULL);
		p_dnnl_memory_set_data_handle(e->c, NULL);
	}
	pthread_mutex_unlock(&dn_bf16_mu);
	return st;
}

// Direct convolutions: oneDNN's convolution primitives (forward, backward data, backward
// weights; jit_bf16:avx512_core_bf16 or jit:avx512_core on these CPUs), in bf16 (bf16
// source, weights and output gradient, float32 sums and float32 results) or in float32.
// They run only on oneDNN's blocked layouts (nChw16c and kin: asked for NCHW, oneDNN
// falls back to a GEMM at a quarter of the speed), so the tensors are reordered at the
// edges, and in bf16 the reorders round as they go: x and dy into the blocked bf16
// layout, y and dx back.
//
// Each worker (slot) has its own primitives, streams and blocked buffers: a primitive
// made for one thread runs in the calling thread, so the batch's halves run side by
// side on the two cores (measured: two one-thread convolutions side by side take as
// long as one, where one two-thread convolution loses to a busy core). A slot keeps
// DN_CONV_KEEP shapes, reusing the least recently used: a training run uses two a layer
// and precision (its batch's share and the last, smaller batch's), so 48 keep 24 layers'
// primitives (made in tens of milliseconds: a network with more would remake some at
// every step), each entry's buffers only as large as its layer's. Every primitive gets its own
// scratchpad (user mode): oneDNN's default keeps it per thread, sized on the thread
// that made the primitive, and Go runs a worker on whichever thread is free.
typedef struct {
	dnnl_primitive_t p;
	dnnl_memory_t scratch; // NULL when the primitive needs none
} dn_prim;

typedef struct {
	int64_t shape[9]; // n c h w o k stride pad, bf16 (1) or float32 (0)
	uint64_t used;    // when last used (a count of calls), 0: empty
	dnnl_stream_t stream;
	dn_prim fwd, bwd_data, bwd_weights;
	dn_prim to_x, to_wf, to_wb, from_y, to_dy, from_dx, from_dw;
	dn_prim to_xw, to_dyw; // x and dy for the weight gradient, where it wants other layouts
	dnnl_memory_t x, w, b, y, dy, dx, dw, db;  // the caller's (NCHW, OIHW), handles set per call
	dnnl_memory_t xb, wfb, wbb, yb, dyb, dxb, dwb, xwb, dywb; // blocked, allocated by oneDNN
	const float *x_of; // the x that xb (and xwb) hold, with x_token
	uint64_t x_token;
} dn_conv_entry;

enum { DN_CONV_SLOTS = 64, DN_CONV_KEEP = 48 };
static dn_conv_entry dn_conv_cache[DN_CONV_SLOTS][DN_CONV_KEEP];
static uint64_t dn_conv_clock[DN_CONV_SLOTS];
static pthread_mutex_t dn_conv_mu[DN_CONV_SLOTS];
static pthread_once_t dn_conv_once = PTHREAD_ONCE_INIT;
static dnnl_primitive_attr_t dn_conv_attr; // user scratchpad

static void dn_conv_init(void) {
	for (int i = 0; i < DN_CONV_SLOTS; i++) pthread_mutex_init(&dn_conv_mu[i], NULL);
	if (p_dnnl_primitive_attr_create(&dn_conv_attr) == dnnl_success &&
			p_dnnl_primitive_attr_set_scratchpad_mode(dn_conv_attr, dnnl_scratchpad_mode_user) != dnnl_success) {
		p_dnnl_primitive_attr_destroy(dn_conv_attr);
		dn_conv_attr = NULL;
	}
}

static void dn_conv_free(dn_conv_entry *e) {
	dn_prim *prims[] = {&e->fwd, &e->bwd_data, &e->bwd_weights, &e->to_x, &e->to_wf, &e->to_wb, &e->from_y,
		&e->to_dy, &e->from_dx, &e->from_dw, &e->to_xw, &e->to_dyw};
	for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) {
		if (prims[i]->p) p_dnnl_primitive_destroy(prims[i]->p);
		if (prims[i]->scratch) p_dnnl_memory_destroy(prims[i]->scratch);
	}
	dnnl_memory_t *mems[] = {&e->x, &e->w, &e->b, &e->y, &e->dy, &e->dx, &e->dw, &e->db, &e->xb, &e->wfb,
		&e->wbb, &e->yb, &e->dyb, &e->dxb, &e->dwb, &e->xwb, &e->dywb};
	for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++)
		if (*mems[i]) p_dnnl_memory_destroy(*mems[i]);
	if (e->stream) p_dnnl_stream_destroy(e->stream);
	*e = (dn_conv_entry){0};
}

// dn_prim_make makes the primitive of pd and its scratchpad.
static int dn_prim_make(dn_prim *pr, const_dnnl_primitive_desc_t pd) {
	int st = p_dnnl_primitive_create(&pr->p, pd);
	const dnnl_memory_desc_t *md = p_dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
	if (!st && md && p_dnnl_memory_desc_get_size(md) > 0)
		st = p_dnnl_memory_create(&pr->scratch, md, dn_engine, DNNL_MEMORY_ALLOCATE);
	return st;
}

static int dn_reorder(dn_prim *pr, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
	dnnl_primitive_desc_t pd = NULL;
	int st = p_dnnl_reorder_primitive_desc_create(&pd, from, dn_engine, to, dn_engine, dn_conv_attr);
	if (!st) st = dn_prim_make(pr, pd);
	if (pd) p_dnnl_primitive_desc_destroy(pd);
	return st;
}

static int dn_conv_make(dn_conv_entry *e, const int64_t s[9]) {
	if (!dn_conv_attr) return dnnl_runtime_error;
	const int64_t n = s[0], c = s[1], h = s[2], w = s[3], o = s[4], k = s[5], stride = s[6], pad = s[7];
	const dnnl_data_type_t in = s[8] ? dnnl_bf16 : dnnl_f32; // x, w and dy as the convolution reads them
	const int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
	dnnl_dims_t xd = {n, c, h, w}, wd = {o, c, k, k}, bd = {o}, yd = {n, o, oh, ow};
	dnnl_dims_t strides = {stride, stride}, pads = {pad, pad};
	dnnl_memory_desc_t x_any, w_any, y_any, dy_any, dx_any, dw_any, x_md, w_md, b_md, y_md;
	int st = p_dnnl_memory_desc_init_by_tag(&x_any, 4, xd, in, dnnl_format_tag_any);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&w_any, 4, wd, in, dnnl_format_tag_any);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&y_any, 4, yd, dnnl_f32, dnnl_format_tag_any);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&dy_any, 4, yd, in, dnnl_format_tag_any);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&dx_any, 4, xd, dnnl_f32, dnnl_format_tag_any);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&dw_any, 4, wd, dnnl_f32, dnnl_format_tag_any);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&x_md, 4, xd, dnnl_f32, dnnl_nchw);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&w_md, 4, wd, dnnl_f32, dnnl_oihw);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_a);
	if (!st) st = p_dnnl_memory_desc_init_by_tag(&y_md, 4, yd, dnnl_f32, dnnl_nchw);
	if (st) return st;
	dnnl_convolution_desc_t fd, bdd, bwd;
	dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
	// Made for one thread (see dn_bf16_find).
	const int threads = dn_omp_max_threads();
	dn_omp_set_threads(1);
	st = p_dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &x_any, &w_any,
		&b_md, &y_any, strides, pads, pads);
	if (!st) st = p_dnnl_primitive_desc_create(&fpd, &fd, dn_conv_attr, dn_engine, NULL);
	if (!st) st = p_dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &dx_any, &w_any, &dy_any,
		strides, pads, pads);
	if (!st) st = p_dnnl_primitive_desc_create(&bdpd, &bdd, dn_conv_attr, dn_engine, fpd);
	if (!st) st = p_dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &x_any, &dw_any, &b_md,
		&dy_any, strides, pads, pads);
	if (!st) st = p_dnnl_primitive_desc_create(&bwpd, &bwd, dn_conv_attr, dn_engine, fpd);
	const dnnl_memory_desc_t *xb = NULL, *wfb = NULL, *yb = NULL, *dyb = NULL, *dxb = NULL, *wbb = NULL, *dwb = NULL;
	const dnnl_memory_desc_t *xwb = NULL, *dywb = NULL;
	if (!st) {
		xb = p_dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
		wfb = p_dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
		yb = p_dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
		dyb = p_dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_dst_md, 0);
		dxb = p_dnnl_primitive_desc_query_md(bdpd, dnnl_query_diff_src_md, 0);
		wbb = p_dnnl_primitive_desc_query_md(bdpd, dnnl_query_weights_md, 0);
		dwb = p_dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_weights_md, 0);
		// The weight gradient reads the forward's x and the data gradient's dy as they are
		// where its kernel wants their layouts (it does on the shapes that matter); else
		// its own copies.
		xwb = p_dnnl_primitive_desc_query_md(bwpd, dnnl_query_src_md, 0);
		dywb = p_dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_dst_md, 0);
		if (p_dnnl_memory_desc_equal(xb, xwb)) xwb = NULL;
		if (p_dnnl_memory_desc_equal(dyb, dywb)) dywb = NULL;
	}
	if (!st) st = dn_prim_make(&e->fwd, fpd);
	if (!st) st = dn_prim_make(&e->bwd_data, bdpd);
	if (!st) st = dn_prim_make(&e->bwd_weights, bwpd);
	if (!st) st = dn_reorder(&e->to_x, &x_md, xb);
	if (!st) st = dn_reorder(&e->to_wf, &w_md, wfb);
	if (!st) st = dn_reorder(&e->to_wb, &w_md, wbb);
	if (!st) st = dn_reorder(&e->from_y, yb, &y_md);
	if (!st) st = dn_reorder(&e->to_dy, &y_md, dyb);
	if (!st) st = dn_reorder(&e->from_dx, dxb, &x_md);
	if (!st) st = dn_reorder(&e->from_dw, dwb, &w_md);
	if (!st && xwb) st = dn_reorder(&e->to_xw, &x_md, xwb);
	if (!st && dywb) st = dn_reorder(&e->to_dyw, &y_md, dywb);
	dn_omp_set_threads(threads);
	if (!st) st = p_dnnl_stream_create(&e->stream, dn_engine, dnnl_stream_default_flags);
	struct { dnnl_memory_t *m; const dnnl_memory_desc_t *md; void *handle; } mems[] = {
		{&e->x, &x_md, DNNL_MEMORY_NONE}, {&e->w, &w_md, DNNL_MEMORY_NONE}, {&e->b, &b_md, DNNL_MEMORY_NONE},
		{&e->y, &y_md, DNNL_MEMORY_NONE}, {&e->dy, &y_md, DNNL_MEMORY_NONE}, {&e->dx, &x_md, DNNL_MEMORY_NONE},
		{&e->dw, &w_md, DNNL_MEMORY_NONE}, {&e->db, &b_md, DNNL_MEMORY_NONE},
		{&e->xb, xb, DNNL_MEMORY_ALLOCATE}, {&e->wfb, wfb, DNNL_MEMORY_ALLOCATE}, {&e->wbb, wbb, DNNL_MEMORY_ALLOCATE},
		{&e->yb, yb, DNNL_MEMORY_ALLOCATE}, {&e->dyb, dyb, DNNL_MEMORY_ALLOCATE}, {&e->dxb, dxb, DNNL_MEMORY_ALLOCATE},
		{&e->dwb, dwb, DNNL_MEMORY_ALLOCATE}, {&e->xwb, xwb, DNNL_MEMORY_ALLOCATE},
		{&e->dywb, dywb, DNNL_MEMORY_ALLOCATE}};
	for (size_t i = 0; !st && i < sizeof mems / sizeof mems[0]; i++)
		if (mems[i].md) st = p_dnnl_memory_create(mems[i].m, mems[i].md, dn_engine, mems[i].handle);
	if (fpd) p_dnnl_primitive_desc_destroy(fpd);
	if (bdpd) p_dnnl_primitive_desc_destroy(bdpd);
	if (bwpd) p_dnnl_primitive_desc_destroy(bwpd);
	if (st) {
		dn_conv_free(e);
		return st;
	}
	memcpy(e->shape, s, sizeof e->shape);
	return 0;
}

// dn_conv_find returns the slot's entry for the shape, made now if need be in place of
// the least recently used.
static dn_conv_entry *dn_conv_find(int slot, const int64_t s[9], int *st) {
	dn_conv_entry *row = dn_conv_cache[slot], *victim = &row[0];
	const uint64_t now = ++dn_conv_clock[slot];
	for (int i = 0; i < DN_CONV_KEEP; i++) {
		dn_conv_entry *e = &row[i];
		if (e->used && !memcmp(e->shape, s, sizeof e->shape)) {
			e->used = now;
			return e;
		}
		if (e->used < victim->used) victim = e;
	}
	if (victim->used) dn_conv_free(victim);
	if ((*st = dn_conv_make(victim, s))) return NULL;
	victim->used = now;
	return victim;
}

static int dn_run(dn_conv_entry *e, const dn_prim *pr, int nargs, const dnnl_exec_arg_t *args) {
	dnnl_exec_arg_t all[6];
	memcpy(all, args, (size_t)nargs * sizeof all[0]);
	if (pr->scratch) all[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pr->scratch};
	return p_dnnl_primitive_execute(pr->p, e->stream, nargs, all);
}

static int dn_reorder_run(dn_conv_entry *e, const dn_prim *pr, dnnl_memory_t from, dnnl_memory_t to) {
	dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
	return dn_run(e, pr, 2, args);
}

static void dn_conv_release(dn_conv_entry *e) { // no pointer into Go's memory past a call
	dnnl_memory_t mems[] = {e->x, e->w, e->b, e->y, e->dy, e->dx, e->dw, e->db};
	for (size_t i = 0; i < sizeof mems / sizeof mems[0]; i++) p_dnnl_memory_set_data_handle(mems[i], NULL);
}

// dn_conv_begin locks the worker's slot (workers past DN_CONV_SLOTS share slots, in
// turn), has this thread's OpenMP regions (the reorders') run on it alone, as the
// convolutions do, and returns the slot's entry for the shape, or NULL with *st saying
// why; dn_conv_end undoes the rest.
static dn_conv_entry *dn_conv_begin(int slot, const int64_t shape[9], int *threads, int *st) {
	*st = 0;
	if (slot < 0) {
		*st = dnnl_invalid_arguments;
		return NULL;
	}
	pthread_once(&dn_conv_once, dn_conv_init);
	pthread_mutex_lock(&dn_conv_mu[slot % DN_CONV_SLOTS]);
	*threads = dn_omp_max_threads();
	dn_omp_set_threads(1);
	return dn_conv_find(slot % DN_CONV_SLOTS, shape, st);
}

static void dn_conv_end(int slot, int threads) {
	if (slot < 0) return;
	dn_omp_set_threads(threads);
	pthread_mutex_unlock(&dn_conv_mu[slot % DN_CONV_SLOTS]);
}

// dn_conv_x_blocked has e's blocked x (and the weight gradient's copy) hold x, unless
// they already hold it for token: the forward pass's, which the backward reuses.
static int dn_conv_x_blocked(dn_conv_entry *e, const float *x, uint64_t token) {
	if (e->x_of == x && e->x_token == token) return 0;
	int st = dn_reorder_run(e, &e->to_x, e->x, e->xb);
	if (!st && e->to_xw.p) st = dn_reorder_run(e, &e->to_xw, e->x, e->xwb);
	e->x_of = st ? NULL : x;
	e->x_token = st ? 0 : token;
	return st;
}

int dn_conv_forward(int slot, const int64_t shape[9], const float *x, const float *w, const float *b, float *y,
		uint64_t token) {
	int threads = 0, st = 0;
	dn_conv_entry *e = dn_conv_begin(slot, shape, &threads, &st);
	if (e) {
		p_dnnl_memory_set_data_handle(e->x, (void *)x);
		p_dnnl_memory_set_data_handle(e->w, (void *)w);
		p_dnnl_memory_set_data_handle(e->b, (void *)b);
		p_dnnl_memory_set_data_handle(e->y, y);
		e->x_of = NULL; // x's memory may hold other values under the same token
		st = dn_conv_x_blocked(e, x, token);
		if (!st) st = dn_reorder_run(e, &e->to_wf, e->w, e->wfb);
		dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, e->xb}, {DNNL_ARG_WEIGHTS, e->wfb}, {DNNL_ARG_BIAS, e->b},
			{DNNL_ARG_DST, e->yb}};
		if (!st) st = dn_run(e, &e->fwd, 4, args);
		if (!st) st = dn_reorder_run(e, &e->from_y, e->yb, e->y);
		if (!st) st = p_dnnl_stream_wait(e->stream);
		if (st) e->x_of = NULL;
		dn_conv_release(e);
	}
	dn_conv_end(slot, threads);
	return st;
}

int dn_conv_backward(int slot, const int64_t shape[9], const float *x, const float *w, const float *dy, float *dw,
		float *db, float *dx, uint64_t token) {
	int threads = 0, st = 0;
	dn_conv_entry *e = dn_conv_begin(slot, shape, &threads, &st);
	if (e) {
		p_dnnl_memory_set_data_handle(e->x, (void *)x);
		p_dnnl_memory_set_data_handle(e->w, (void *)w);
		p_dnnl_memory_set_data_handle(e->dy, (void *)dy);
		p_dnnl_memory_set_data_handle(e->dw, dw);
		p_dnnl_memory_set_data_handle(e->db, db);
		p_dnnl_memory_set_data_handle(e->dx, dx);
		st = dn_conv_x_blocked(e, x, token);
		if (!st) st = dn_reorder_run(e, &e->to_dy, e->dy, e->dyb);
		if (!st && e->to_dyw.p) st = dn_reorder_run(e, &e->to_dyw, e->dy, e->dywb);
		dnnl_exec_arg_t wargs[4] = {{DNNL_ARG_SRC, e->to_xw.p ? e->xwb : e->xb},
			{DNNL_ARG_DIFF_DST, e->to_dyw.p ? e->dywb : e->dyb}, {DNNL_ARG_DIFF_WEIGHTS, e->dwb},
			{DNNL_ARG_DIFF_BIAS, e->db}};
		if (!st) st = dn_run(e, &e->bwd_weights, 4, wargs);
		if (!st) st = dn_reorder_run(e, &e->from_dw, e->dwb, e->dw);
		if (dx) {
			dnnl_exec_arg_t dargs[3] = {{DNNL_ARG_DIFF_DST, e->dyb}, {DNNL_ARG_WEIGHTS, e->wbb}, {DNNL_ARG_DIFF_SRC, e->dxb}};
			if (!st) st = dn_reorder_run(e, &e->to_wb, e->w, e->wbb);
			if (!st) st = dn_run(e, &e->bwd_data, 3, dargs);
			if (!st) st = dn_reorder_run(e, &e->from_dx, e->dxb, e->dx);
		}
		if (!st) st = p_dnnl_stream_wait(e->stream);
		if (st) e->x_of = NULL;
		dn_conv_release(e);
	}
	dn_conv_end(slot, threads);
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

int dn_conv_forward(int slot, const int64_t shape[9], const float *x, const float *w, const float *b, float *y,
		uint64_t token) {
	return -1;
}

int dn_conv_backward(int slot, const int64_t shape[9], const float *x, const float *w, const float *dy, float *dw,
		float *db, float *dx, uint64_t token) {
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
