package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// ConvAlgorithm selects how a Conv2D computes. Both give the same convolution; they
// round differently, so a run is repeatable only with the same algorithm.
type ConvAlgorithm int

const (
	// ConvAuto trains by oneDNN's direct convolution where it runs and measured faster
	// (Conv2D.directF32), and otherwise, and for inference, uses Winograd for 3×3 and
	// 5×5 stride-1 convolutions with at least winogradMinChannels input channels, and
	// GEMM for the rest.
	ConvAuto ConvAlgorithm = iota
	// ConvGEMM unfolds patches (im2col) and multiplies: 9 multiplications an output for 3×3.
	ConvGEMM
	// ConvWinograd uses Winograd's minimal filtering for every 3×3 and 5×5 stride-1
	// convolution (GEMM for the others).
	ConvWinograd
	// ConvDirect trains every convolution by oneDNN's direct convolution where it runs
	// (a CPU with AVX-512 and libdnnl), and infers as ConvAuto does.
	ConvDirect
	// ConvPortable is ConvAuto without oneDNN's direct convolution: the same choice on
	// every CPU, and what ConvAuto trained with before it (runs recorded then reproduce).
	ConvPortable
)

// winogradMinChannels: below it the products in the transformed domain are too thin
// (their inner dimension is the input channel count) to beat one im2col product.
const winogradMinChannels = 8

var convAlgorithms = []string{ConvAuto: "auto", ConvGEMM: "gemm", ConvWinograd: "winograd", ConvDirect: "direct", ConvPortable: "portable"}

// ConvAlgorithms are the algorithms' names, in ConvAlgorithm's order.
func ConvAlgorithms() []string { return slices.Clone(convAlgorithms) }

func (a ConvAlgorithm) String() string { return convAlgorithms[a] }

// ParseConvAlgorithm reads "auto" (or ""), "gemm", "winograd", "direct" or "portable".
func ParseConvAlgorithm(s string) (ConvAlgorithm, error) {
	if s == "" {
		return ConvAuto, nil
	}
	for a, name := range convAlgorithms {
		if s == name {
			return ConvAlgorithm(a), nil
		}
	}
	return 0, fmt.Errorf("nn: unknown convolution algorithm %q, want %s or %s", s, strings.Join(convAlgorithms[:len(convAlgorithms)-1], ", "), convAlgorithms[len(convAlgorithms)-1])
}

// SetConvAlgorithm sets every convolution's algorithm.
func (n *Network) SetConvAlgorithm(a ConvAlgorithm) {
	for _, l := range n.Layers {
		if c, ok := l.(*Conv2D); ok {
			c.Algorithm = a
		}
	}
}

// winogradPlan is a Winograd transform F(m×m, r×r) (kernels.Winograd, where its
// matrices are written): a tile of m×m outputs comes from an α×α input tile d (α =
// m+r-1) as Y = Aᵀ[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]A, α² multiplications instead of r²m². Summed
// over input channels, the ⊙ becomes α² matrix products M_ξ[O×T] = U_ξ[O×C]·V_ξ[C×T]
// over all T tiles at once, which is where the time goes.
//
// Backward is that map's transpose, so it is the exact gradient of what forward
// computed: with Ỹ = A·dY·Aᵀ per tile, dU_ξ = Ỹ_ξ·V_ξᵀ (then dg = Gᵀ·dU·G) and
// dV_ξ = U_ξᵀ·Ỹ_ξ (then dd = B·dV·Bᵀ, added onto the overlapping input tiles).
type winogradPlan struct {
	m, r, alpha  int // output tile m×m, kernel r×r, input tile α×α (α = m+r-1)
	BT, B, AT, A kernels.Matrix
	G            []float64 // α×r
}

func planOf(w *kernels.Winograd) *winogradPlan {
	return &winogradPlan{m: w.M, r: w.R, alpha: w.Alpha, BT: w.BT, B: w.B, AT: w.AT, A: w.A, G: w.G}
}

var (
	winogradF2   = planOf(kernels.WinogradF2)   // F(2×2, 3×3)
	winogradF4   = planOf(kernels.WinogradF4)   // F(4×4, 3×3): 2.25 multiplications an output
	winogradF2K5 = planOf(kernels.WinogradF2K5) // F(2×2, 5×5): 36 multiplications for 4 outputs instead of 100
	winogradF6   = planOf(kernels.WinogradF6)   // F(6×6, 3×3): 1.78 multiplications an output
)

// winogradTiles is about how many tiles a worker transforms and multiplies at once:
// enough for the products to run near the BLAS's single-core speed (≈ 100 GFLOP/s from
// 72 tiles on here), few enough for a group's tiles to stay in L2. Measured on the
// example network's 32→64 layer (BenchmarkConv, batch 64, two workers): groups of 36,
// 72 and 144 tiles took 15.2, 14.5 and 15.6 ms forward and backward.
const winogradTiles = 72

// plan returns the Winograd plan this convolution uses, or nil for GEMM.
func (c *Conv2D) plan() *winogradPlan {
	auto := c.Algorithm == ConvAuto || c.Algorithm == ConvDirect || c.Algorithm == ConvPortable
	if (c.Kernel != 3 && c.Kernel != 5) || c.Stride != 1 || c.Algorithm == ConvGEMM || (auto && c.In < winogradMinChannels) {
		return nil
	}
	if c.Kernel == 5 {
		return winogradF2K5
	}
	switch c.winogradM {
	case 2:
		return winogradF2
	case 4:
		return winogradF4
	case 6:
		return winogradF6
	}
	// The tile with fewer multiplications for this output size: F(4×4) unless the map
	// is so small that its tiles would mostly hang over the edge (ties go to F(2×2),
	// whose transforms are cheaper and exact), or F(6×6) where it saves enough.
	cost := func(p *winogradPlan) int {
		return p.alpha * p.alpha * ((c.outH + p.m - 1) / p.m) * ((c.outW + p.m - 1) / p.m)
	}
	if cost(winogradF4) >= cost(winogradF2) {
		return winogradF2
	}
	// F(6×6)'s transforms cost more a tile, so it must save a sixth of F(4×4)'s
	// multiplications, on a map of at least 18×18 (on smaller ones most of its tiles hang
	// over the edge). Measured (BenchmarkWinogradTileSizes, forward and backward): 18 %
	// faster on 24×24; as fast or slower on 28×28 (9 % fewer multiplications), 14×14
	// (as many) and 10×10 (21 % fewer).
	if c.outH >= 18 && c.outW >= 18 && 6*cost(winogradF6) <= 5*cost(winogradF4) {
		return winogradF6
	}
	return winogradF4
}

// tilings cuts the (padded) input into overlapping α×α tiles and the output into the
// m×m tiles they produce; the last row and column of tiles may reach past the output,
// whose extra values are computed and dropped.
func (c *Conv2D) tilings(p *winogradPlan) (in, out kernels.Tiling) {
	th, tw := (c.outH+p.m-1)/p.m, (c.outW+p.m-1)/p.m
	in = kernels.Tiling{H: c.inH, W: c.inW, Size: p.alpha, Step: p.m, Off: -c.Padding, TH: th, TW: tw}
	out = kernels.Tiling{H: c.outH, W: c.outW, Size: p.m, Step: p.m, TH: th, TW: tw}
	return in, out
}

// winogradBuffers sizes a worker's buffers for groups of up to imgs images.
func (c *Conv2D) winogradBuffers(s *convScratch, p *winogradPlan, in kernels.Tiling, imgs int, backward bool) {
	a2, T := p.alpha*p.alpha, imgs*in.Tiles()
	if !c.vKept {
		s.wV = resize(s.wV, a2*(c.In*T+planePad))
	}
	s.wM = resize(s.wM, a2*(c.Out*T+planePad))
	s.wTmp = resize(s.wTmp, 2*a2*in.Tiles())
	if backward {
		s.wdU = resize(s.wdU, a2*c.Out*c.In)
		s.dB = resize(s.dB, c.Out)
		if !c.NoInputGrad {
			s.wdV = resize(s.wdV, a2*(c.In*T+planePad))
		}
	}
}

// transformWeights sets c.u[ξ][o][c] = (G·W[o,c]·Gᵀ)[ξ], unless c.u already holds these
// weights' transform: inference (eval, serve) runs many forward passes on the same
// weights, and comparing them costs a fraction of transforming them.
func (c *Conv2D) transformWeights(p *winogradPlan) {
	if c.uPlan == p && slices.Equal(c.uOf, c.W.Value.Data) {
		return
	}
	c.uPlan, c.uOf = p, append(c.uOf[:0], c.W.Value.Data...)
	a, O, C := p.alpha, c.Out, c.In
	c.u = resize(c.u, a*a*O*C)
	c.wt = resize(c.wt, O*C*a*p.r)
	kernels.Parallel(O, 8, func(_, lo, hi int) {
		c.transformWeightRows(p, lo, hi)
	})
}

func (c *Conv2D) transformWeightRows(p *winogradPlan, lo, hi int) {
	a, r, O, C := p.alpha, p.r, c.Out, c.In
	var G [6 * 5]float64 // a local copy, no bounds checks in the loops; room for the largest G (6×5 for 5×5)
	copy(G[:], p.G)
	// t = G·g for every kernel of the rows first, then (G·g)·Gᵀ one element ξ at a time,
	// so the writes run along U_ξ instead of jumping between the α² planes (4× faster).
	t, rr := c.wt[lo*C*a*r:hi*C*a*r], r*r
	for k, wv := 0, c.W.Value.Data[lo*C*rr:hi*C*rr]; k < (hi-lo)*C; k++ {
		g := wv[k*rr : (k+1)*rr : (k+1)*rr]
		tk := t[k*a*r : (k+1)*a*r : (k+1)*a*r]
		for i := 0; i < a; i++ {
			for v := 0; v < r; v++ {
				sum := G[i*r] * float64(g[v])
				for j := 1; j < r; j++ {
					sum += G[i*r+j] * float64(g[j*r+v])
				}
				tk[i*r+v] = sum
			}
		}
	}
	for i := 0; i < a; i++ {
		for l := 0; l < a; l++ {
			u := c.u[((i*a+l)*O+lo)*C : ((i*a+l)*O+hi)*C]
			gl := G[l*r : (l+1)*r : (l+1)*r]
			for k := range u {
				tk := t[k*a*r+i*r : k*a*r+i*r+r : k*a*r+i*r+r]
				sum := tk[0] * gl[0]
				for j := 1; j < r; j++ {
					sum += tk[j] * gl[j]
				}
				u[k] = float32(sum)
			}
		}
	}
}

// addWeightGrad adds Gᵀ·dU[o,c]·G to W's gradient.
func (c *Conv2D) addWeightGrad(p *winogradPlan, dU []float32) {
	C, rr := c.In, p.r*p.r
	kernels.Parallel(c.Out, 8, func(_, lo, hi int) {
		kernels.WinogradWeightGrad(c.W.Grad.Data[lo*C*rr:hi*C*rr], dU[lo*C:], c.Out*C, (hi-lo)*C, p.G, p.alpha, p.r)
	})
}

// groupSize is how many images a worker takes at once.
func groupSize(tiles int) int { return max(1, (winogradTiles+tiles-1)/tiles) }

// forwardWinograd: per group of images, V = Bᵀ·d·B for every input tile, M_ξ = U_ξ·V_ξ,
// then Y = Aᵀ·M·A added onto the bias.
func (c *Conv2D) forwardWinograd(p *winogradPlan, training bool) {
	N, O, C, a2 := c.x.Shape[0], c.Out, c.In, p.alpha*p.alpha
	in, out := c.tilings(p)
	tiles, inSize := in.Tiles(), C*c.inH*c.inW
	c.transformWeights(p)
	c.vKept = training
	if training { // backward needs V again: keep it rather than transform the input twice
		c.vAll = resize(c.vAll, N*a2*(C*tiles+planePad))
	}
	group := groupSize(tiles)
	kernels.Parallel(N, 1, func(w, lo, hi int) {
		s := &c.scratch[w]
		c.winogradBuffers(s, p, in, min(group, hi-lo), false)
		for g0 := lo; g0 < hi; g0 += group {
			g1 := min(g0+group, hi)
			T := (g1 - g0) * tiles
			V, ld, cs := c.inputTiles(s, g0, g1, tiles)
			for n := g0; n < g1; n++ {
				kernels.TilesIn(V[(n-g0)*tiles:], ld, cs, c.x.Data[n*inSize:(n+1)*inSize], C, in, p.BT, p.alpha, s.wTmp)
			}
			ldM := planeStride(O * T)
			M := s.wM[:a2*ldM]
			for xi := 0; xi < a2; xi++ {
				kernels.GemmSerial(false, false, O, T, C, 1, c.u[xi*O*C:(xi+1)*O*C], C, V[xi*ld:], cs, 0, M[xi*ldM:xi*ldM+O*T], T)
			}
			for n := g0; n < g1; n++ {
				yn := c.outputImage(s, n)
				c.fillBias(yn)
				kernels.TilesOut(yn, O, out, M[(n-g0)*tiles:], ldM, T, p.AT, p.alpha, s.wTmp)
				c.finishImage(yn, n)
			}
		}
	})
}

// inputTiles returns where images [g0, g1)'s transformed input tiles go: plane ξ, channel
// c, tile t at V[ξ·ld + c·T + t], T the group's tiles and ld = planeStride(C·T). In training that is the group's
// own block of the batch's tiles, kept for backward (one block a group, so a group's
// writes stay together in memory); otherwise the worker's buffer.
func (c *Conv2D) inputTiles(s *convScratch, g0, g1, tiles int) (V []float32, ld, cs int) {
	T := (g1 - g0) * tiles
	if c.vKept {
		a2 := c.wino.alpha * c.wino.alpha
		ld := planeStride(c.In * T)
		return c.vAll[g0*a2*(c.In*tiles+planePad):][:a2*ld], ld, T
	}
	return s.wV, planeStride(c.In * T), T
}

// backwardWinograd: per group, Ỹ = A·dY·Aᵀ, dU_ξ += Ỹ_ξ·V_ξᵀ, dV_ξ = U_ξᵀ·Ỹ_ξ and dx =
// B·dV·Bᵀ added over the overlapping tiles; then dW += Gᵀ·dU·G once. V is forward's
// (transformed again only if forward ran in inference mode).
func (c *Conv2D) backwardWinograd(p *winogradPlan, dy *tensor.Tensor) {
	N, O, C, a2 := c.x.Shape[0], c.Out, c.In, p.alpha*p.alpha
	in, out := c.tilings(p)
	tiles, inSize := in.Tiles(), C*c.inH*c.inW
	group := groupSize(tiles)
	used := kernels.Parallel(N, 1, func(w, lo, hi int) {
		s := &c.scratch[w]
		c.winogradBuffers(s, p, in, min(group, hi-lo), true)
		dU, dB := s.wdU, s.dB
		clear(dU)
		clear(dB)
		for g0 := lo; g0 < hi; g0 += group {
			g1 := min(g0+group, hi)
			T := (g1 - g0) * tiles
			V, ld, cs := c.inputTiles(s, g0, g1, tiles)
			ldM := planeStride(O * T)
			M := s.wM[:a2*ldM]
			for n := g0; n < g1; n++ {
				if !c.vKept {
					kernels.TilesIn(V[(n-g0)*tiles:], ld, cs, c.x.Data[n*inSize:(n+1)*inSize], C, in, p.BT, p.alpha, s.wTmp)
				}
				dyn := c.imageGrad(s, dy, n)
				kernels.TilesIn(M[(n-g0)*tiles:], ldM, T, dyn, O, out, p.A, p.alpha, s.wTmp)
				kernels.AddRowSums8(dB, dyn) // not addBiasGrad: see its comment
			}
			for xi := 0; xi < a2; xi++ {
				kernels.GemmSerial(false, true, O, C, T, 1, M[xi*ldM:xi*ldM+O*T], T, V[xi*ld:], cs, 1, dU[xi*O*C:(xi+1)*O*C], C)
			}
			if c.NoInputGrad {
				continue
			}
			ldV := planeStride(C * T)
			dV := s.wdV[:a2*ldV]
			for xi := 0; xi < a2; xi++ {
				kernels.GemmSerial(true, false, C, T, O, 1, c.u[xi*O*C:(xi+1)*O*C], C, M[xi*ldM:xi*ldM+O*T], T, 0, dV[xi*ldV:xi*ldV+C*T], T)
			}
			for n := g0; n < g1; n++ {
				dxn := c.dx.Data[n*inSize : (n+1)*inSize]
				clear(dxn)
				kernels.TilesOut(dxn, C, in, dV[(n-g0)*tiles:], ldV, T, p.B, p.alpha, s.wTmp)
			}
		}
	})
	if used == 0 {
		return // an empty batch
	}
	// Summed in worker order, so a run repeats exactly for a given worker count.
	dU := c.scratch[0].wdU
	for w := 1; w < used; w++ {
		kernels.Add(dU, c.scratch[w].wdU)
	}
	for w := 0; w < used; w++ {
		kernels.Add(c.B.Grad.Data, c.scratch[w].dB)
	}
	c.addWeightGrad(p, dU)
}

// planePad is the most planeStride adds to a plane.
const planePad = 32

// planeStride is where the next of the α² planes of n values starts: n rounded up to a
// whole number of 64-byte lines, and to an odd number of them. A tile transform touches
// all α² planes at once; planes a power-of-two-ish stride apart (e.g. 64·72 floats, 288
// lines) all fall into the same two or four L1 sets and evict each other.
func planeStride(n int) int {
	s := (n + 15) &^ 15
	if (s/16)%2 == 0 {
		s += 16
	}
	return s
}
