//go:build !cgo || purego

package kernels

import (
	"errors"
	"math"
)

// BF16 reports whether GemmBF16 can run on this machine: never on the pure-Go build.
func BF16() error {
	return errors.New("kernels: bf16 needs the cgo build with oneDNN (this is the pure-Go build)")
}

func gemmBF16(transA, transB bool, m, n, k int, a []uint16, lda int, b []uint16, ldb int, accumulate bool, c []float32, ldc int) {
	panic("tensor: GemmBF16 on the pure-Go build")
}

func toBF16(dst []uint16, src []float32) {
	for i, f := range src {
		u := math.Float32bits(f)
		if u&0x7fffffff > 0x7f800000 {
			dst[i] = uint16(u>>16) | 0x40
			continue
		}
		dst[i] = uint16((u + 0x7fff + (u>>16)&1) >> 16)
	}
}

func gatherRowsBF16(dst []uint16, w []float32, ld int, rows []int, n int) {
	for k, r := range rows {
		toBF16(dst[k*n:(k+1)*n], w[r*ld:r*ld+n])
	}
}

// ConvF32 reports whether ConvForwardF32 can run on this machine: never on the pure-Go build.
func ConvF32() error {
	return errors.New("kernels: oneDNN's fp32 convolutions need the cgo build with oneDNN (this is the pure-Go build)")
}

func convForward(slot int, s ConvShape, bf16 bool, x, w, b, y []float32, token uint64) error {
	return convCan(bf16)
}

func convBackward(slot int, s ConvShape, bf16 bool, x, w, dy, dw, db, dx []float32, token uint64) error {
	return convCan(bf16)
}
