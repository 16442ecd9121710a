//go:build cgo && !purego

package kernels

/*
#cgo LDFLAGS: -ldl
#include "dnnl.h"
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// passiveOpenMP asks OpenMP's idle threads to sleep: oneDNN threads with OpenMP, whose
// idle threads spin by default and would take the cores from OpenBLAS's between
// oneDNN's products. libgomp reads it when oneDNN loads it, so it is set before.
func passiveOpenMP() {
	if _, set := os.LookupEnv("OMP_WAIT_POLICY"); !set {
		os.Setenv("OMP_WAIT_POLICY", "passive")
	}
}

// openOneDNN is the check behind Int8 and BF16: DIGITNET_ONEDNN, the CPU's instructions
// (cpuName as /proc/cpuinfo lists them), then oneDNN's functions (open's message when
// they are missing).
func openOneDNN(what string, hasCPU bool, cpuName, cpuFlag string, open func() *C.char) error {
	if err := oneDNNOff(); err != nil {
		return err
	}
	if !hasCPU {
		return fmt.Errorf("kernels: %s needs a CPU with %s (%s in /proc/cpuinfo)", what, cpuName, cpuFlag)
	}
	passiveOpenMP()
	if msg := open(); msg != nil {
		return fmt.Errorf("kernels: %s needs oneDNN (apt-get install libdnnl2): %s", what, C.GoString(msg))
	}
	return nil
}

var int8Once = sync.OnceValue(func() error {
	return openOneDNN("int8", cpu.X86.HasAVX512VNNI, "AVX-512 VNNI", "avx512_vnni", func() *C.char { return C.dn_int8_open() })
})

// Int8 reports whether GemmU8S8 can run on this machine: nil, or why not.
func Int8() error { return int8Once() }

func gemmU8S8(m, n, k int, a []uint8, lda int, za uint8, b []int8, ldb int, c []int32, ldc int) {
	// On the product threads, as Gemm: from workers (a convolution's images) one thread
	// each, since their two-thread teams side by side put four threads on two cores.
	threads := 1
	if Workers() == 1 {
		threads = Threads()
	}
	st := C.dn_gemm_u8s8(C.int(threads), C.int64_t(m), C.int64_t(n), C.int64_t(k), (*C.uint8_t)(unsafe.SliceData(a)), C.int64_t(lda), C.uint8_t(za),
		(*C.int8_t)(unsafe.SliceData(b)), C.int64_t(ldb), (*C.int32_t)(unsafe.SliceData(c)), C.int64_t(ldc))
	if st != 0 {
		panic(fmt.Sprintf("tensor: GemmU8S8: oneDNN status %d for %d×%d·%d×%d", int(st), m, k, k, n))
	}
}

func quantizeU8(dst []uint8, src []float32, inv, zero float32) {
	if len(src) > 0 {
		C.dn_quantize_u8((*C.uint8_t)(unsafe.SliceData(dst)), fp(src), C.int64_t(len(src)), C.float(inv), C.float(zero))
	}
}

func dequantize(y []float32, c []int32, rows, n int, scale float32, colScale, bias []float32) {
	if rows > 0 && n > 0 {
		C.dn_dequantize(fp(y), (*C.int32_t)(unsafe.SliceData(c)), C.int64_t(rows), C.int64_t(n), C.float(scale), fp(colScale), fp(bias))
	}
}

func hasVNNI() bool { return cpu.X86.HasAVX512VNNI }

func gemvU8S8(acc []int32, xq []uint8, z uint8, w []int8, n int) {
	C.dn_gemv_u8s8((*C.int32_t)(unsafe.SliceData(acc)), (*C.uint8_t)(unsafe.SliceData(xq)), C.int64_t(len(xq)), C.uint8_t(z),
		(*C.int8_t)(unsafe.SliceData(w)), C.int64_t(n))
}

func hasBF16() bool { return cpu.X86.HasAVX512BF16 }

func im2rowU8(dst, x []uint8, c, h, w, k, s, p, oh, ow int, z uint8) {
	C.dn_im2row_u8((*C.uint8_t)(unsafe.SliceData(dst)), (*C.uint8_t)(unsafe.SliceData(x)), C.int64_t(c), C.int64_t(h), C.int64_t(w),
		C.int64_t(k), C.int64_t(s), C.int64_t(p), C.int64_t(oh), C.int64_t(ow), C.uint8_t(z))
}

func dequantizeT(y []float32, c []int32, rows, n int, scale float32, colScale, bias []float32) {
	C.dn_dequantize_t(fp(y), (*C.int32_t)(unsafe.SliceData(c)), C.int64_t(rows), C.int64_t(n), C.float(scale), fp(colScale), fp(bias))
}
