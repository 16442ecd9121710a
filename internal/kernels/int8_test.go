package kernels

import (
	"math/rand/v2"
	"testing"
)

// needInt8 skips where int8 cannot run: the pure-Go build, or a CPU without VNNI. On
// the cgo build on a VNNI CPU a missing oneDNN fails the test: scripts/setup installs it.
func needInt8(t *testing.T) {
	t.Helper()
	if err := Int8(); err != nil {
		if Backend == "openblas" && hasVNNI() && oneDNNOff() == nil {
			t.Fatalf("int8 unavailable on a VNNI CPU: %v", err)
		}
		t.Skip(err)
	}
}

func TestGemmU8S8(t *testing.T) {
	needInt8(t)
	rng := rand.New(rand.NewPCG(3, 3))
	for _, s := range []struct{ m, n, k, lda, ldb, ldc int }{
		{1, 1, 1, 1, 1, 1}, {7, 5, 33, 40, 6, 9}, {128, 300, 784, 784, 300, 300},
	} {
		a := make([]uint8, (s.m-1)*s.lda+s.k)
		b := make([]int8, (s.k-1)*s.ldb+s.n)
		for i := range a {
			a[i] = uint8(rng.IntN(256))
			if rng.IntN(3) == 0 {
				a[i] = 37 // at the zero point: the row kernel skips it
			}
		}
		for i := range b {
			b[i] = int8(rng.IntN(255) - 127)
		}
		const za = 37
		c := make([]int32, (s.m-1)*s.ldc+s.n)
		GemmU8S8(s.m, s.n, s.k, a, s.lda, za, b, s.ldb, c, s.ldc)
		for i := 0; i < s.m; i++ {
			for j := 0; j < s.n; j++ {
				var want int32
				for p := 0; p < s.k; p++ {
					want += (int32(a[i*s.lda+p]) - za) * int32(b[p*s.ldb+j])
				}
				if got := c[i*s.ldc+j]; got != want {
					t.Fatalf("%+v: c[%d,%d] = %d, want %d", s, i, j, got, want)
				}
			}
			row := make([]int32, s.n) // the one-row kernel, on the same row
			w := make([]int8, s.k*s.n)
			for p := 0; p < s.k; p++ {
				copy(w[p*s.n:(p+1)*s.n], b[p*s.ldb:p*s.ldb+s.n])
			}
			GemvU8S8(row, a[i*s.lda:i*s.lda+s.k], za, w, s.n)
			for j := 0; j < s.n; j++ {
				if row[j] != c[i*s.ldc+j] {
					t.Fatalf("%+v: GemvU8S8 row %d [%d] = %d, GemmU8S8 %d", s, i, j, row[j], c[i*s.ldc+j])
				}
			}
		}
	}
}

func TestQuantizeDequantize(t *testing.T) {
	src := []float32{-1, 0, 0.49, 0.5, 1.5, 2.5, 100, 1000}
	dst := make([]uint8, len(src))
	QuantizeU8(dst, src, 1, 3) // round half to even, then + 3, clamped
	want := []uint8{2, 3, 3, 3, 5, 5, 103, 255}
	for i := range want {
		if dst[i] != want[i] {
			t.Errorf("QuantizeU8(%g) = %d, want %d", src[i], dst[i], want[i])
		}
	}
	y := make([]float32, 4)
	Dequantize(y, []int32{2, -4, 6, 8}, 2, 2, 0.5, []float32{1, 2}, []float32{10, 20})
	for i, w := range []float32{11, 16, 13, 28} {
		if y[i] != w {
			t.Errorf("Dequantize y[%d] = %g, want %g", i, y[i], w)
		}
	}
}

// BenchmarkInt8VsFloat: batch-1000 inference's first product, 1000×784·784×300, in u8·s8
// (oneDNN) and in float32 (Gemm), in GOP/s.
func BenchmarkInt8VsFloat(b *testing.B) {
	const m, n, k = 1000, 300, 784
	ops := 2.0 * m * n * k
	b.Run("u8s8", func(b *testing.B) {
		if err := Int8(); err != nil {
			b.Skip(err)
		}
		a, w, c := make([]uint8, m*k), make([]int8, k*n), make([]int32, m*n)
		for b.Loop() {
			GemmU8S8(m, n, k, a, k, 0, w, n, c, n)
		}
		b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
	})
	b.Run("f32", func(b *testing.B) {
		a, w, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for b.Loop() {
			Gemm(false, false, m, n, k, 1, a, k, w, n, 0, c, n)
		}
		b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
	})
}

// TestIm2rowU8: the patches as rows by the definition, the padding being z, over kernel
// sizes (the C kernel copies whole in-bounds runs, sized 3 and 5 apart), strides and
// paddings; DequantizeT writes the transpose, each channel with its own scale and bias.
func TestIm2rowU8(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, k := range []int{1, 3, 4, 5, 7} {
		for s := 1; s <= 3; s++ {
			for p := 0; p <= 3; p++ {
				const C, H, W, z = 2, 9, 8, 7
				oh, ow := (H+2*p-k)/s+1, (W+2*p-k)/s+1
				if oh <= 0 || ow <= 0 {
					continue
				}
				x := make([]uint8, C*H*W)
				for i := range x {
					x[i] = uint8(rng.IntN(256))
				}
				K := C * k * k
				got := make([]uint8, oh*ow*K)
				Im2rowU8(got, x, C, H, W, k, s, p, oh, ow, z)
				for i := 0; i < oh; i++ {
					for j := 0; j < ow; j++ {
						for c := 0; c < C; c++ {
							for u := 0; u < k; u++ {
								for v := 0; v < k; v++ {
									r, q := i*s+u-p, j*s+v-p
									want := uint8(z)
									if r >= 0 && q >= 0 && r < H && q < W {
										want = x[(c*H+r)*W+q]
									}
									if g := got[(i*ow+j)*K+(c*k+u)*k+v]; g != want {
										t.Fatalf("k %d s %d p %d: patch (%d,%d) [%d %d %d] = %d, want %d", k, s, p, i, j, c, u, v, g, want)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	const rows, n = 5, 3
	c := make([]int32, rows*n)
	for i := range c {
		c[i] = int32(rng.IntN(2001) - 1000)
	}
	colScale, bias := []float32{0.5, 2, -1}, []float32{1, -3, 10}
	y := make([]float32, rows*n)
	DequantizeT(y, c, rows, n, 0.25, colScale, bias)
	for r := 0; r < rows; r++ {
		for o := 0; o < n; o++ {
			if want := float32(c[r*n+o])*(0.25*colScale[o]) + bias[o]; y[o*rows+r] != want {
				t.Fatalf("DequantizeT: y[%d][%d] = %g, want %g", o, r, y[o*rows+r], want)
			}
		}
	}
}
