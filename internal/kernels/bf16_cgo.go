//go:build cgo && !purego

package kernels

/*
#include "dnnl.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"
)

var bf16Once = sync.OnceValue(func() error {
	return openOneDNN("bf16", cpu.X86.HasAVX512BF16, "AVX-512 BF16", "avx512_bf16", dnnlAPIOpen)
})

// dnnlAPIOpen runs dn_bf16_open (oneDNN's primitive API: engine, stream, functions) once
// for BF16 and ConvF32 both: it sets its globals without a lock, so two first calls at
// once would race.
var dnnlAPIOpen = sync.OnceValue(func() *C.char { return C.dn_bf16_open() })

// BF16 reports whether GemmBF16 can run on this machine: nil, or why not.
func BF16() error { return bf16Once() }

func u16p(s []uint16) *C.uint16_t { return (*C.uint16_t)(unsafe.Pointer(unsafe.SliceData(s))) }

func gemmBF16(transA, transB bool, m, n, k int, a []uint16, lda int, b []uint16, ldb int, accumulate bool, c []float32, ldc int) {
	st := C.dn_gemm_bf16(cbool(transA), cbool(transB), C.int64_t(m), C.int64_t(n), C.int64_t(k), u16p(a), C.int64_t(lda),
		u16p(b), C.int64_t(ldb), cbool(accumulate), fp(c), C.int64_t(ldc))
	if st != 0 {
		panic(fmt.Sprintf("tensor: GemmBF16: oneDNN status %d for op(A) %d×%d, op(B) %d×%d", int(st), m, k, k, n))
	}
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func toBF16(dst []uint16, src []float32) {
	if len(src) > 0 {
		C.dn_to_bf16(u16p(dst), fp(src), C.int64_t(len(src)), cbool(cpu.X86.HasAVX512BF16))
	}
}

func gatherRowsBF16(dst []uint16, w []float32, ld int, rows []int, n int) {
	if len(rows) > 0 && n > 0 {
		C.dn_gather_rows_bf16(u16p(dst), fp(w), C.int64_t(ld), ip(rows), C.int64_t(len(rows)), C.int64_t(n), cbool(cpu.X86.HasAVX512BF16))
	}
}

// convF32Once: oneDNN's float32 direct convolutions run where its float32 products do
// (a CPU with AVX-512; not with DIGITNET_ONEDNN=off) and its convolution API loads (the
// build had oneDNN's header).
var convF32Once = sync.OnceValue(func() error {
	if err := fp32Once(); err != nil {
		return err
	}
	return openOneDNN("oneDNN's fp32 convolutions", cpu.X86.HasAVX512F, "AVX-512", "avx512f", dnnlAPIOpen)
})

// ConvF32 reports whether ConvForwardF32 can run on this machine: nil, or why not.
func ConvF32() error { return convF32Once() }

func convForward(slot int, s ConvShape, bf16 bool, x, w, b, y []float32, token uint64) error {
	shape := s.c(bf16)
	if st := C.dn_conv_forward(C.int(slot), &shape[0], fp(x), fp(w), fp(b), fp(y), C.uint64_t(token)); st != 0 {
		return fmt.Errorf("kernels: %s convolution %v: oneDNN status %d", precisionName(bf16), s, int(st))
	}
	return nil
}

func convBackward(slot int, s ConvShape, bf16 bool, x, w, dy, dw, db, dx []float32, token uint64) error {
	shape := s.c(bf16)
	var dxp *C.float
	if dx != nil {
		dxp = fp(dx)
	}
	if st := C.dn_conv_backward(C.int(slot), &shape[0], fp(x), fp(w), fp(dy), fp(dw), fp(db), dxp, C.uint64_t(token)); st != 0 {
		return fmt.Errorf("kernels: %s convolution %v, backward: oneDNN status %d", precisionName(bf16), s, int(st))
	}
	return nil
}

func precisionName(bf16 bool) string {
	if bf16 {
		return "bf16"
	}
	return "fp32"
}

func (s ConvShape) c(bf16 bool) [9]C.int64_t {
	return [9]C.int64_t{C.int64_t(s.N), C.int64_t(s.C), C.int64_t(s.H), C.int64_t(s.W), C.int64_t(s.O), C.int64_t(s.K),
		C.int64_t(s.Stride), C.int64_t(s.Pad), C.int64_t(cbool(bf16))}
}
