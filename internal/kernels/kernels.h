// The C kernels of package kernels (kernels.c), as kernels_cgo.go calls them. Matrices
// are row-major float32; n, ld, stride and the like count elements.

#ifndef DN_KERNELS_H
#define DN_KERNELS_H

#include <stdint.h>

// dn_tiling places a TH×TW grid of S×S tiles, step apart from off, on an H×W channel
// (Tiling in tiles.go).
typedef struct { int64_t H, W, S, step, off, TH, TW; } dn_tiling;

void dn_adam(float *w, float *g, float *m, float *v, int64_t n, float b1, float b2, float step, float ibc2, float eps);
void dn_adam_rows(float *w, float *m, float *v, int64_t rows, int64_t cols, const int32_t *idx, const float *vals, float b1, float b2, float step, float ibc2, float eps);
void dn_add_outer_rows(float *restrict w, int64_t ld, const int64_t *rows, const float *coef, int64_t nrows, const float *restrict v, int64_t n);
void dn_add_row_sums8(float *restrict dst, const float *restrict x, int64_t rows, int64_t n);
void dn_add_rows(float *restrict w, int64_t ld, const int64_t *rows, int64_t nrows, const float *restrict src, int64_t n);
void dn_axpy_rows(float *restrict y, const float *restrict w, int64_t ld, const int64_t *rows, const float *coef, int64_t nrows, int64_t n);
void dn_bn_grad_sums(const float *restrict dy, const float *restrict xhat, int64_t n, int64_t stride, int64_t s, double *sum, double *sumx);
void dn_bn_input_grad(float *restrict dx, const float *restrict dy, const float *restrict xhat, int64_t n, int64_t stride, int64_t s, float km, float ks, float kx);
void dn_bn_moments(const float *restrict x, int64_t n, int64_t stride, int64_t s, double *mean, double *var);
void dn_bn_normalize(float *restrict y, float *restrict xhat, const float *restrict x, int64_t n, int64_t stride, int64_t s, float mean, float inv, float gamma, float beta);
void dn_bytes_to_float(float *restrict dst, const uint8_t *restrict src, int64_t n, float scale, float offset);
void dn_col2im_chw(float *restrict dx, const float *restrict cols, int64_t C, int64_t H, int64_t W, int64_t k, int64_t s, int64_t p, int64_t OH, int64_t OW);
// dn_set_avx512_off(1) keeps the kernels off their AVX-512 paths (tests of the others).
void dn_set_avx512_off(int off);
int64_t dn_nonzeros(int64_t *idx, float *val, const float *x, int64_t n);
void dn_axpy(float *restrict y, float a, const float *restrict x, int64_t n);
void dn_gemv_row(int tb, int64_t n, int64_t k, float alpha, const float *restrict a, int64_t inca, const float *restrict b, int64_t ldb, float beta, float *restrict c);
void dn_gather_bytes(float *dst, const uint8_t *src, int64_t d, const int64_t *idx, int64_t n, float scale, float offset);
void dn_gather_columns(float *restrict dst, const float *restrict x, int64_t rows, int64_t n, const int64_t *cols, int64_t ncols);
void dn_im2col_chw(float *restrict cols, const float *restrict x, int64_t C, int64_t H, int64_t W, int64_t k, int64_t s, int64_t p, int64_t OH, int64_t OW);
void dn_maxpool(float *y, int32_t *argmax, const float *x, int64_t NC, int64_t H, int64_t W, int64_t k, int64_t OH, int64_t OW);
void dn_or_columns(uint32_t *restrict mask, const float *restrict x, int64_t rows, int64_t n);
void dn_prefetch_rows(const uint8_t *src, int64_t d, const int64_t *idx, int64_t n);
void dn_relu(float *y, const float *x, int64_t n);
void dn_relu_backward(float *restrict dx, const float *restrict y, const float *restrict dy, int64_t n);
void dn_mul(float *restrict dst, const float *restrict a, const float *restrict b, int64_t n);
void dn_winograd_weight_grad(float *restrict dw, const float *restrict du, int64_t stride, int64_t n,
		const double *restrict G, int64_t a, int64_t r);
void dn_fill_rows(float *restrict y, const float *restrict v, int64_t rows, int64_t n);
void dn_sigmoid(float *y, const float *x, int64_t n);
void dn_softmax_rows(float *y, const float *x, int64_t rows, int64_t k);
void dn_tanh(float *y, const float *x, int64_t n);
void dn_tiles_in(float *dst, int64_t ld, int64_t cs, const float *x, int64_t channels, dn_tiling g, const float *L, int64_t id, int64_t q, float *tmp);
void dn_tiles_out(float *x, int64_t channels, dn_tiling g, const float *src, int64_t ld, int64_t cs, const float *L, int64_t id, int64_t p, float *tmp);

#endif
