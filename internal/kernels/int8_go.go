//go:build !cgo || purego

package kernels

import (
	"errors"
	"math"
)

// Int8 reports whether GemmU8S8 can run on this machine: never on the pure-Go build.
func Int8() error {
	return errors.New("kernels: int8 needs the cgo build with oneDNN (this is the pure-Go build)")
}

func gemmU8S8(m, n, k int, a []uint8, lda int, za uint8, b []int8, ldb int, c []int32, ldc int) {
	panic("tensor: GemmU8S8 on the pure-Go build")
}

func quantizeU8(dst []uint8, src []float32, inv, zero float32) {
	for i, v := range src {
		q := math.RoundToEven(float64(v*inv)) + float64(zero)
		if !(q > 0) { // NaN too, as in C
			q = 0
		}
		dst[i] = uint8(min(q, 255))
	}
}

func dequantize(y []float32, c []int32, rows, n int, scale float32, colScale, bias []float32) {
	for r := 0; r < rows; r++ {
		for j := 0; j < n; j++ {
			y[r*n+j] = float32(c[r*n+j])*(scale*colScale[j]) + bias[j]
		}
	}
}

func hasVNNI() bool { return false }

func gemvU8S8(acc []int32, xq []uint8, z uint8, w []int8, n int) {
	clear(acc[:n])
	for i, v := range xq {
		a := int32(v) - int32(z)
		if a == 0 {
			continue
		}
		for j, wv := range w[i*n : (i+1)*n] {
			acc[j] += a * int32(wv)
		}
	}
}

func hasBF16() bool { return false }

func im2rowU8(dst, x []uint8, c, h, w, k, s, p, oh, ow int, z uint8) {
	K := c * k * k
	for i := 0; i < oh; i++ {
		for j := 0; j < ow; j++ {
			row := dst[(i*ow+j)*K : (i*ow+j+1)*K]
			for ch := 0; ch < c; ch++ {
				for u := 0; u < k; u++ {
					out := row[(ch*k+u)*k : (ch*k+u+1)*k]
					r := i*s + u - p
					for v := range out {
						q := j*s + v - p
						if r < 0 || r >= h || q < 0 || q >= w {
							out[v] = z
						} else {
							out[v] = x[(ch*h+r)*w+q]
						}
					}
				}
			}
		}
	}
}

func dequantizeT(y []float32, c []int32, rows, n int, scale float32, colScale, bias []float32) {
	for o := 0; o < n; o++ {
		for r := 0; r < rows; r++ {
			y[o*rows+r] = float32(c[r*n+o])*(scale*colScale[o]) + bias[o]
		}
	}
}
