// int8 products through oneDNN, loaded at run time (int8.c): a build needs no oneDNN
// headers or library, and a machine without libdnnl2 runs fp32.

#ifndef DN_INT8_H
#define DN_INT8_H

#include <stdint.h>

// dn_int8_open loads libdnnl.so.2 and finds dnnl_gemm_u8s8s32; it returns NULL, or a
// message saying what failed (static storage).
const char *dn_int8_open(void);

// dn_gemm_u8s8 sets c = (a - za)·b: a u8 [m k] (row stride lda), b s8 [k n] (ldb), c s32
// [m n] (ldc), all row-major. It returns oneDNN's status (0: success).
int dn_gemm_u8s8(int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t lda, uint8_t za,
		const int8_t *b, int64_t ldb, int32_t *c, int64_t ldc);

void dn_gemv_u8s8(int32_t *restrict acc, const uint8_t *restrict xq, int64_t k, uint8_t z, const int8_t *restrict w, int64_t n);
void dn_quantize_u8(uint8_t *restrict dst, const float *restrict src, int64_t n, float inv, float zero);
void dn_dequantize(float *restrict y, const int32_t *restrict c, int64_t rows, int64_t n, float scale,
		const float *restrict col_scale, const float *restrict bias);

#endif
