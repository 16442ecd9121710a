// int8 and bf16 products through oneDNN, loaded at run time (dnnl.c): bf16 is built
// when oneDNN 2.x's header is there (Debian's libdnnl-dev), no library is linked, and a
// machine without libdnnl2 runs digitnet in fp32.

#ifndef DN_INT8_H
#define DN_INT8_H

#include <stdint.h>

// dn_int8_open loads libdnnl.so.2 and finds dnnl_gemm_u8s8s32; it returns NULL, or a
// message saying what failed (static storage).
const char *dn_int8_open(void);

// dn_gemm_u8s8 sets c = (a - za)·b: a u8 [m k] (row stride lda), b s8 [k n] (ldb), c s32
// [m n] (ldc), all row-major, on threads OpenMP threads (1: the calling thread only). It
// returns oneDNN's status (0: success).
int dn_gemm_u8s8(int threads, int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t lda, uint8_t za,
		const int8_t *b, int64_t ldb, int32_t *c, int64_t ldc);

void dn_gemv_u8s8(int32_t *restrict acc, const uint8_t *restrict xq, int64_t k, uint8_t z, const int8_t *restrict w, int64_t n);
// dn_sgemm_open loads libdnnl.so.2 and finds dnnl_sgemm; NULL, or what failed.
const char *dn_sgemm_open(void);

// dn_sgemm: c = alpha·op(a)·op(b) + beta·c, float32, row-major, on threads OpenMP
// threads (1: the calling thread only). It returns oneDNN's status (0: success; -1:
// dn_sgemm_open has not succeeded).
int dn_sgemm(int threads, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
		int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

// dn_bf16_open loads libdnnl.so.2's matmul API; NULL, or what failed.
const char *dn_bf16_open(void);

// dn_gemm_bf16 sets c = op(a)·op(b) (+ c when beta): a, b bf16, c float32, row-major,
// op transposing when ta/tb. It returns oneDNN's status (0: success).
int dn_gemm_bf16(int ta, int tb, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda,
		const uint16_t *b, int64_t ldb, int beta, float *c, int64_t ldc);

// dn_conv_forward sets y = conv(x, w) + b by oneDNN's direct convolution, in float32 or
// with x and w rounded to bf16 and float32 sums; shape is n c h w (x, NCHW), o k (w, OIHW
// k×k), stride, pad, then 1 for bf16 or 0 for float32; y is NCHW. slot names the calling
// worker (its own primitives and buffers; workers from 64 on share them); token, with x,
// lets the backward pass reuse x's blocked copy. It returns oneDNN's status (0: success).
int dn_conv_forward(int slot, const int64_t shape[9], const float *x, const float *w, const float *b, float *y,
		uint64_t token);

// dn_conv_backward sets dw and db (overwriting) and, unless dx is NULL, dx: the
// gradients of the forward pass with the same shape, slot and token, from dy.
int dn_conv_backward(int slot, const int64_t shape[9], const float *x, const float *w, const float *dy, float *dw,
		float *db, float *dx, uint64_t token);

// dn_to_bf16 rounds to bf16 (nearest even); avx512bf16 selects vcvtne2ps2bf16.
void dn_to_bf16(uint16_t *restrict dst, const float *restrict src, int64_t n, int avx512bf16);

// dn_gather_rows_bf16 gathers rows of w and rounds them to bf16 in one pass.
void dn_gather_rows_bf16(uint16_t *restrict dst, const float *restrict w, int64_t ld, const int64_t *rows,
		int64_t nrows, int64_t n, int avx512bf16);

// dn_im2row_u8: kernels.Im2rowU8. dn_dequantize_t: kernels.DequantizeT.
void dn_im2row_u8(uint8_t *restrict dst, const uint8_t *restrict x, int64_t c, int64_t h, int64_t w, int64_t k,
		int64_t s, int64_t p, int64_t oh, int64_t ow, uint8_t z);
void dn_dequantize_t(float *restrict y, const int32_t *restrict c, int64_t rows, int64_t n, float scale,
		const float *restrict col_scale, const float *restrict bias);
void dn_quantize_u8(uint8_t *restrict dst, const float *restrict src, int64_t n, float inv, float zero);
void dn_dequantize(float *restrict y, const int32_t *restrict c, int64_t rows, int64_t n, float scale,
		const float *restrict col_scale, const float *restrict bias);

#endif
