//go:build cgo && !purego

// oneDNN's integer GEMM (dnnl_gemm_u8s8s32, the kernel PyTorch's quantized linear layers
// reach through oneDNN too), loaded with dlopen so that neither building nor running
// digitnet needs oneDNN unless int8 is asked for. On AVX-512 VNNI it multiplies four
// u8·s8 pairs per lane and instruction, without the 16-bit saturation older int8 paths
// have (kernels.Int8 asks for VNNI).

#include "int8.h"
#include <dlfcn.h>
#include <math.h>
#include <stddef.h>

typedef int (*dn_gemm_u8s8s32_fn)(char transa, char transb, char offsetc, int64_t M, int64_t N,
		int64_t K, float alpha, const uint8_t *A, int64_t lda, uint8_t ao, const int8_t *B,
		int64_t ldb, int8_t bo, float beta, int32_t *C, int64_t ldc, const int32_t *co);

static dn_gemm_u8s8s32_fn dn_gemm_u8s8s32;

const char *dn_int8_open(void) {
	if (dn_gemm_u8s8s32) return NULL;
	void *lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!lib) return dlerror();
	dn_gemm_u8s8s32 = (dn_gemm_u8s8s32_fn)dlsym(lib, "dnnl_gemm_u8s8s32");
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
		q = q < 0.0f ? 0.0f : (q > 255.0f ? 255.0f : q);
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
