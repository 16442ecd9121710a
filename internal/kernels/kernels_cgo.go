//go:build cgo && !purego

package kernels

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#include "kernels.h"
*/
import "C"

import "unsafe"

func fp(s []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(s))) }
func ip(s []int) *C.int64_t   { return (*C.int64_t)(unsafe.Pointer(unsafe.SliceData(s))) }

// ip hands Go's int slices to C as int64_t: this build needs a 64-bit int (a 32-bit
// platform fails to compile here rather than have C write 8-byte indices into 4-byte
// ones; the pure-Go build, -tags purego, runs there).
var _ [unsafe.Sizeof(int(0)) - 8]struct{}

func axpyRows(y, w []float32, ld int, rows []int, coef []float32) {
	if len(rows) == 0 {
		return
	}
	C.dn_axpy_rows(fp(y), fp(w), C.int64_t(ld), ip(rows), fp(coef), C.int64_t(len(rows)), C.int64_t(len(y)))
}

func addOuterRows(w []float32, ld int, rows []int, coef, v []float32) {
	if len(rows) == 0 {
		return
	}
	C.dn_add_outer_rows(fp(w), C.int64_t(ld), ip(rows), fp(coef), C.int64_t(len(rows)), fp(v), C.int64_t(len(v)))
}

// setAVX512 lets tests run the AVX2 and portable paths that the AVX-512 ones stand in
// for on this CPU (false), and put them back (true).
func setAVX512(on bool) {
	off := C.int(1)
	if on {
		off = 0
	}
	C.dn_set_avx512_off(off)
}

func nonzeros(idx []int, val, x []float32) int {
	if len(x) == 0 {
		return 0
	}
	return int(C.dn_nonzeros(ip(idx), fp(val), fp(x), C.int64_t(len(x))))
}

func axpy(a float32, x, y []float32) {
	if len(x) < 64 { // a call into C costs more than a few dozen in Go
		axpyGo(a, x, y)
		return
	}
	C.dn_axpy(fp(y), C.float(a), fp(x), C.int64_t(len(x)))
}

func sigmoid(y, x []float32) {
	if len(x) > 0 {
		C.dn_sigmoid(fp(y), fp(x), C.int64_t(len(x)))
	}
}

func softmaxRows(y, x []float32, rows, k int) {
	if rows > 0 && k > 0 {
		C.dn_softmax_rows(fp(y), fp(x), C.int64_t(rows), C.int64_t(k))
	}
}

func tanh(y, x []float32) {
	if len(x) > 0 {
		C.dn_tanh(fp(y), fp(x), C.int64_t(len(x)))
	}
}

func im2col(cols, x []float32, ch, H, W, k, s, p, OH, OW int) {
	C.dn_im2col_chw(fp(cols), fp(x), C.int64_t(ch), C.int64_t(H), C.int64_t(W), C.int64_t(k), C.int64_t(s), C.int64_t(p), C.int64_t(OH), C.int64_t(OW))
}

func col2im(dx, cols []float32, ch, H, W, k, s, p, OH, OW int) {
	C.dn_col2im_chw(fp(dx), fp(cols), C.int64_t(ch), C.int64_t(H), C.int64_t(W), C.int64_t(k), C.int64_t(s), C.int64_t(p), C.int64_t(OH), C.int64_t(OW))
}

func maxPool(y []float32, argmax []int32, x []float32, NC, H, W, k, OH, OW int) {
	C.dn_maxpool(fp(y), (*C.int32_t)(unsafe.Pointer(unsafe.SliceData(argmax))), fp(x), C.int64_t(NC), C.int64_t(H), C.int64_t(W), C.int64_t(k), C.int64_t(OH), C.int64_t(OW))
}

func addRowSums8(dst, x []float32) {
	C.dn_add_row_sums8(fp(dst), fp(x), C.int64_t(len(dst)), C.int64_t(len(x)/len(dst)))
}

func relu(y, x []float32) {
	if len(x) > 0 {
		C.dn_relu(fp(y), fp(x), C.int64_t(len(x)))
	}
}

func reluBackward(dx, y, dy []float32) {
	if len(y) > 0 {
		C.dn_relu_backward(fp(dx), fp(y), fp(dy), C.int64_t(len(y)))
	}
}

func mul(dst, a, b []float32) {
	C.dn_mul(fp(dst), fp(a), fp(b), C.int64_t(len(dst)))
}

func fillRows(y, v []float32, n int) {
	C.dn_fill_rows(fp(y), fp(v), C.int64_t(len(v)), C.int64_t(n))
}

func winogradWeightGrad(dw, du []float32, stride, n int, G []float64, a, r int) {
	C.dn_winograd_weight_grad(fp(dw), fp(du), C.int64_t(stride), C.int64_t(n), (*C.double)(unsafe.SliceData(G)), C.int64_t(a), C.int64_t(r))
}

func bytesToFloat(dst []float32, src []uint8, scale, offset float32) {
	if len(src) > 0 {
		C.dn_bytes_to_float(fp(dst), (*C.uint8_t)(unsafe.SliceData(src)), C.int64_t(len(src)), C.float(scale), C.float(offset))
	}
}

func gatherBytes(dst []float32, src []uint8, d int, idx []int, scale, offset float32) {
	if len(idx) > 0 {
		C.dn_gather_bytes(fp(dst), (*C.uint8_t)(unsafe.SliceData(src)), C.int64_t(d), ip(idx), C.int64_t(len(idx)), C.float(scale), C.float(offset))
	}
}

func adamUpdate(w, g, m, v []float32, p AdamParams) {
	if len(w) == 0 {
		return
	}
	C.dn_adam(fp(w), fp(g), fp(m), fp(v), C.int64_t(len(w)), C.float(p.Beta1), C.float(p.Beta2),
		C.float(p.Step), C.float(p.InvSqrtBC2), C.float(p.Eps))
}

func adamRows(w, m, v []float32, cols int, idx []int32, vals []float32, p AdamParams) {
	var vp *C.float
	if len(vals) > 0 {
		vp = fp(vals)
	}
	C.dn_adam_rows(fp(w), fp(m), fp(v), C.int64_t(len(idx)), C.int64_t(cols), (*C.int32_t)(unsafe.Pointer(unsafe.SliceData(idx))), vp,
		C.float(p.Beta1), C.float(p.Beta2), C.float(p.Step), C.float(p.InvSqrtBC2), C.float(p.Eps))
}

func bnMoments(x []float32, n, stride, s int) (mean, variance float64) {
	var m, v C.double
	C.dn_bn_moments(fp(x), C.int64_t(n), C.int64_t(stride), C.int64_t(s), &m, &v)
	return float64(m), float64(v)
}

func bnNormalize(y, xhat, x []float32, n, stride, s int, mean, inv, gamma, beta float32) {
	C.dn_bn_normalize(fp(y), fp(xhat), fp(x), C.int64_t(n), C.int64_t(stride), C.int64_t(s), C.float(mean), C.float(inv), C.float(gamma), C.float(beta))
}

func bnGradSums(dy, xhat []float32, n, stride, s int) (sum, sumX float64) {
	var t, tx C.double
	C.dn_bn_grad_sums(fp(dy), fp(xhat), C.int64_t(n), C.int64_t(stride), C.int64_t(s), &t, &tx)
	return float64(t), float64(tx)
}

func bnInputGrad(dx, dy, xhat []float32, n, stride, s int, km, ks, kx float32) {
	C.dn_bn_input_grad(fp(dx), fp(dy), fp(xhat), C.int64_t(n), C.int64_t(stride), C.int64_t(s), C.float(km), C.float(ks), C.float(kx))
}

func cTiling(g Tiling) C.dn_tiling {
	return C.dn_tiling{H: C.int64_t(g.H), W: C.int64_t(g.W), S: C.int64_t(g.Size), step: C.int64_t(g.Step), off: C.int64_t(g.Off), TH: C.int64_t(g.TH), TW: C.int64_t(g.TW)}
}

func tilesIn(dst []float32, ld, cs int, x []float32, channels int, g Tiling, L Matrix, q int, tmp []float32) {
	C.dn_tiles_in(fp(dst), C.int64_t(ld), C.int64_t(cs), fp(x), C.int64_t(channels), cTiling(g), fp(L.Data), C.int64_t(L.ID), C.int64_t(q), fp(tmp))
}

func tilesOut(x []float32, channels int, g Tiling, src []float32, ld, cs int, L Matrix, p int, tmp []float32) {
	C.dn_tiles_out(fp(x), C.int64_t(channels), cTiling(g), fp(src), C.int64_t(ld), C.int64_t(cs), fp(L.Data), C.int64_t(L.ID), C.int64_t(p), fp(tmp))
}

func orColumns(mask []uint32, x []float32, rows, n int) {
	if rows > 0 && n > 0 {
		C.dn_or_columns((*C.uint32_t)(unsafe.SliceData(mask)), fp(x), C.int64_t(rows), C.int64_t(n))
	}
}

func gatherColumns(dst, x []float32, rows, n int, cols []int) {
	if rows > 0 && len(cols) > 0 {
		C.dn_gather_columns(fp(dst), fp(x), C.int64_t(rows), C.int64_t(n), ip(cols), C.int64_t(len(cols)))
	}
}

func addRows(w []float32, ld int, rows []int, src []float32, n int) {
	C.dn_add_rows(fp(w), C.int64_t(ld), ip(rows), C.int64_t(len(rows)), fp(src), C.int64_t(n))
}

func prefetchRows(src []uint8, d int, idx []int) {
	if len(idx) > 0 && d > 0 {
		C.dn_prefetch_rows((*C.uint8_t)(unsafe.SliceData(src)), C.int64_t(d), ip(idx), C.int64_t(len(idx)))
	}
}
