package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveTilesIn follows TilesIn's definition value by value.
func naiveTilesIn(dst []float32, ld, cs int, x []float32, channels int, g Tiling, L []float32, q int) {
	S := g.Size
	for c := 0; c < channels; c++ {
		for ty := 0; ty < g.TH; ty++ {
			for tx := 0; tx < g.TW; tx++ {
				at := func(a, b int) float64 {
					y, z := ty*g.Step+a+g.Off, tx*g.Step+b+g.Off
					if y < 0 || y >= g.H || z < 0 || z >= g.W {
						return 0
					}
					return float64(x[(c*g.H+y)*g.W+z])
				}
				for i := 0; i < q; i++ {
					for l := 0; l < q; l++ {
						var sum float64
						for a := 0; a < S; a++ {
							for b := 0; b < S; b++ {
								sum += float64(L[i*S+a]) * float64(L[l*S+b]) * at(a, b)
							}
						}
						dst[(i*q+l)*ld+c*cs+ty*g.TW+tx] = float32(sum)
					}
				}
			}
		}
	}
}

func TestTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, tc := range []struct {
		g Tiling
		q int
	}{
		{Tiling{H: 8, W: 8, Size: 4, Step: 2, Off: -1, TH: 4, TW: 4}, 4},   // overlapping, padded
		{Tiling{H: 26, W: 26, Size: 6, Step: 4, Off: 0, TH: 6, TW: 6}, 6},  // stops short of the border
		{Tiling{H: 7, W: 9, Size: 6, Step: 4, Off: -2, TH: 3, TW: 3}, 4},   // overhangs, q < Size
		{Tiling{H: 5, W: 3, Size: 2, Step: 2, Off: 0, TH: 3, TW: 2}, 3},    // q > Size
		{Tiling{H: 4, W: 4, Size: 3, Step: 1, Off: 1, TH: 2, TW: 1}, 2},    // offset into the image
		{Tiling{H: 13, W: 10, Size: 8, Step: 6, Off: -1, TH: 2, TW: 2}, 8}, // F(6×6)'s size: whole and overhanging tiles
		{Tiling{H: 14, W: 14, Size: 8, Step: 6, Off: 0, TH: 2, TW: 2}, 6},  // whole tiles only, q < Size
	} {
		t.Run(fmt.Sprintf("%+v", tc.g), func(t *testing.T) {
			const channels = 3
			g, q, S, T := tc.g, tc.q, tc.g.Size, tc.g.Tiles()
			cs := T + 2 // planes wider than one image's tiles, as in a group of images
			ld := channels*cs + 1
			L := randSlice(rng, q*S)
			L[1] = 0 // zeros are skipped: make sure that is right
			x := randSlice(rng, channels*g.H*g.W)
			tmp := make([]float32, tileScratch(q, g))
			got, want := make([]float32, q*q*ld), make([]float32, q*q*ld)
			TilesIn(got, ld, cs, x, channels, g, Matrix{Data: L}, q, tmp)
			naiveTilesIn(want, ld, cs, x, channels, g, L, q)
			closeTo(t, "TilesIn", got, want, 1e-5)

			// TilesOut with Lᵀ is TilesIn's adjoint: <TilesIn(x), y> = <x, TilesOut(y)>.
			y := randSlice(rng, len(got))
			Lt := make([]float32, len(L))
			for i := 0; i < q; i++ {
				for a := 0; a < S; a++ {
					Lt[a*q+i] = L[i*S+a]
				}
			}
			back := make([]float32, len(x))
			TilesOut(back, channels, g, y, ld, cs, Matrix{Data: Lt}, q, make([]float32, tileScratch(q, g)))
			var lhs, rhs float64
			for c := 0; c < channels; c++ {
				for xi := 0; xi < q*q; xi++ {
					for t := 0; t < T; t++ {
						k := xi*ld + c*cs + t
						lhs += float64(got[k]) * float64(y[k])
					}
				}
			}
			for i := range x {
				rhs += float64(x[i]) * float64(back[i])
			}
			if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
				t.Errorf("<TilesIn(x), y> = %g, <x, TilesOut(y)> = %g", lhs, rhs)
			}
		})
	}
}

// TestWinogradMatricesCompiled: each of Winograd's matrices, named by its ID, transforms
// as the same matrix passed as any other (ID 0) does: the C kernels' copies compiled for
// the constant tables (and F(6×6)'s written-out transforms) are those matrices.
func TestWinogradMatricesCompiled(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for _, w := range Winograds {
		a, m := w.Alpha, w.M
		in := Tiling{H: 3*m + 3, W: 2*m + 5, Size: a, Step: m, Off: -1, TH: 4, TW: 3}
		out := Tiling{H: 4 * m, W: 3 * m, Size: m, Step: m, TH: 4, TW: 3}
		for _, c := range []struct {
			name  string
			L     Matrix
			g     Tiling
			q     int
			tiles bool // TilesIn, else TilesOut
		}{{"BT", w.BT, in, a, true}, {"A", w.A, out, a, true}, {"AT", w.AT, out, a, false}, {"B", w.B, in, a, false}} {
			const channels = 2
			T := c.g.Tiles()
			ld := channels * T
			tmp := make([]float32, tileScratch(c.q, c.g))
			any := Matrix{Data: c.L.Data}
			var got, want []float32
			if c.tiles {
				x := randSlice(rng, channels*c.g.H*c.g.W)
				got, want = make([]float32, c.q*c.q*ld), make([]float32, c.q*c.q*ld)
				TilesIn(got, ld, T, x, channels, c.g, c.L, c.q, tmp)
				TilesIn(want, ld, T, x, channels, c.g, any, c.q, tmp)
			} else {
				src := randSlice(rng, c.q*c.q*ld)
				got, want = make([]float32, channels*c.g.H*c.g.W), make([]float32, channels*c.g.H*c.g.W)
				TilesOut(got, channels, c.g, src, ld, T, c.L, c.q, tmp)
				TilesOut(want, channels, c.g, src, ld, T, any, c.q, tmp)
			}
			closeTo(t, w.Name+" "+c.name, got, want, 1e-4)
		}
	}
}

// TestWinogradWeightGrad: Gᵀ·dU·G added onto dw, bit for bit as nn's Go loops summed it
// before this kernel (per kernel, float64, no fused multiply-adds: the reference below
// is those loops), for each of the transforms' sizes and kernel counts past a block of
// 64; dw's other kernels untouched.
func TestWinogradWeightGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	for _, w := range []*Winograd{WinogradF2, WinogradF4, WinogradF6, WinogradF2K5} {
		a, r := w.Alpha, w.R
		for _, n := range []int{1, 63, 64, 150} {
			stride := n + 7
			du := randSlice(rng, (a*a-1)*stride+n)
			before := randSlice(rng, (n+2)*r*r)
			got := slices.Clone(before)
			WinogradWeightGrad(got[r*r:], du, stride, n, w.G, a, r)
			want := slices.Clone(before)
			for k := 0; k < n; k++ {
				tk := make([]float64, a*r)
				for i := 0; i < a; i++ {
					for l := 0; l < a; l++ {
						v := du[(i*a+l)*stride+k]
						for u := 0; u < r; u++ {
							tk[u*a+l] += w.G[i*r+u] * float64(v)
						}
					}
				}
				for u := 0; u < r; u++ {
					for v := 0; v < r; v++ {
						var sum float64
						for l := 0; l < a; l++ {
							sum += tk[u*a+l] * w.G[l*r+v]
						}
						want[(k+1)*r*r+u*r+v] += float32(sum)
					}
				}
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s, %d kernels: dw[%d] = %g, want %g", w.Name, n, i, got[i], want[i])
				}
			}
		}
	}
}
