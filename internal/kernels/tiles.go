package kernels

import "fmt"

// Tiling places a TH×TW grid of Size×Size tiles on each H×W channel of an image: tile
// (ty, tx) covers rows ty·Step+Off … ty·Step+Off+Size-1 and the same for columns.
// Tiles may overlap (Step < Size), hang over the border (zero there), or stop short of
// it. Winograd convolutions cut their inputs, outputs and gradients this way.
type Tiling struct {
	H, W            int // the channel's size
	Size, Step, Off int
	TH, TW          int // tiles down and across
}

// Tiles is the number of tiles per channel.
func (g Tiling) Tiles() int { return g.TH * g.TW }

func (g Tiling) valid() bool {
	return g.H > 0 && g.W > 0 && g.Size > 0 && g.Step > 0 && g.TH > 0 && g.TW > 0
}

// TilesIn cuts each of the channels of x [channels H W] into g's tiles and transforms
// each tile d to L·d·Lᵀ (L is q×g.Size, row-major; one of Winograd's matrices, or any
// other with ID 0): for channel c and tile t (row-major
// in the grid), element (i,l) of the result goes to dst[(i·q+l)·ld + c·cs + t]. So dst
// holds q² planes, one per element, each a [channels × tiles] block with row stride
// cs. tmp is scratch of at least 2·max(q,Size)²·g.Tiles() values.
func TilesIn(dst []float32, ld, cs int, x []float32, channels int, g Tiling, L Matrix, q int, tmp []float32) {
	T := g.Tiles()
	if !g.valid() || len(x) < channels*g.H*g.W || len(L.Data) != q*g.Size || cs < T || ld < (channels-1)*cs+T ||
		len(dst) < (q*q-1)*ld+(channels-1)*cs+T || len(tmp) < tileScratch(q, g) {
		panic(fmt.Sprintf("tensor: TilesIn: %+v, %d channels, x %d, dst %d (ld %d, cs %d), L %d for q=%d, tmp %d", g, channels, len(x), len(dst), ld, cs, len(L.Data), q, len(tmp)))
	}
	tilesIn(dst, ld, cs, x, channels, g, L, q, tmp)
}

// TilesOut is the way back: for each channel c and tile t it gathers the p×p block
// s[j][k] = src[(j·p+k)·ld + c·cs + t], transforms it to L·s·Lᵀ (L is g.Size×p) and adds
// that tile onto x [channels H W] where it lies inside the image (overlaps add up).
func TilesOut(x []float32, channels int, g Tiling, src []float32, ld, cs int, L Matrix, p int, tmp []float32) {
	T := g.Tiles()
	if !g.valid() || len(x) < channels*g.H*g.W || len(L.Data) != g.Size*p || cs < T || ld < (channels-1)*cs+T ||
		len(src) < (p*p-1)*ld+(channels-1)*cs+T || len(tmp) < tileScratch(p, g) {
		panic(fmt.Sprintf("tensor: TilesOut: %+v, %d channels, x %d, src %d (ld %d, cs %d), L %d for p=%d, tmp %d", g, channels, len(x), len(src), ld, cs, len(L.Data), p, len(tmp)))
	}
	tilesOut(x, channels, g, src, ld, cs, L, p, tmp)
}

// WinogradWeightGrad adds Gᵀ·dU_k·G to dw's n kernels (r×r each, one after another):
// dU_k is the α×α matrix of element k of du's α² planes, stride apart (plane ξ = i·α+l
// holds element (i, l)), G is α×r. The sums run in float64 in a fixed order, with no
// fused multiply-adds, so every backend gives the same bits.
func WinogradWeightGrad(dw, du []float32, stride, n int, G []float64, a, r int) {
	if a < 1 || a > 8 || r < 1 || r > a || len(G) != a*r || len(dw) < n*r*r || n < 0 || stride < n ||
		(n > 0 && len(du) < (a*a-1)*stride+n) {
		panic(fmt.Sprintf("tensor: WinogradWeightGrad: %d kernels %d×%d, α %d, G %d, dw %d, du %d (stride %d)", n, r, r, a, len(G), len(dw), len(du), stride))
	}
	if n > 0 {
		winogradWeightGrad(dw, du, stride, n, G, a, r)
	}
}

func tileScratch(q int, g Tiling) int {
	a := max(q, g.Size)
	return 2 * a * a * g.Tiles()
}

// txRange returns the tiles tx whose column tx·Step+Off+b lies inside [0, W).
func (g Tiling) txRange(b int) (lo, hi int) {
	if a := -(g.Off + b); a > 0 {
		lo = (a + g.Step - 1) / g.Step
	}
	if t := g.W - 1 - g.Off - b; t >= 0 {
		hi = min(g.TW, t/g.Step+1)
	}
	return min(lo, hi), hi
}
