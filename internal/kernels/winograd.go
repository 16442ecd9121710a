package kernels

// Matrix is a constant matrix of the tile transforms, row-major. ID names it to the C
// kernels: each of Winograd's matrices has a copy of the transform compiled for it (its
// entries constants, its zeros skipped), about twice as fast as the general one. The
// copies are made from winograd_tables.h, which TestWinogradTables writes from the
// definitions below and checks: this file is the one place the matrices are written.
// ID 0 is any other matrix.
type Matrix struct {
	ID   int
	Data []float32
}

// Winograd is the transform F(m×m, r×r) (Lavin & Gray 2016): a tile of m×m outputs comes
// from an α×α input tile d (α = m+r-1) as Y = Aᵀ[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]A, α²
// multiplications instead of r²m².
type Winograd struct {
	M, R, Alpha  int    // output tile m×m, kernel r×r, input tile α×α
	Name         string // e.g. "F(4x4,3x3)"
	Tag          string // its name in C: dn_<tag>_BT, …
	BT, B, AT, A Matrix // α×α and its transpose; m×α and its transpose
	G            []float64
}

// The IDs of the matrices, as winograd_tables.h names them to the C code.
const (
	idF2BT = 1 + iota
	idF2B
	idF2AT
	idF2A
	idF4BT
	idF4B
	idF4AT
	idF4A
	idF2K5AT
	idF2K5A
	idF6BT
	idF6B
	idF6AT
	idF6A
)

func newWinograd(name, tag string, m, r int, bt, b, at, a int, BT, AT []float32, G []float64) *Winograd {
	al := m + r - 1
	w := &Winograd{M: m, R: r, Alpha: al, Name: name, Tag: tag, BT: Matrix{bt, BT}, AT: Matrix{at, AT}, G: G,
		B: Matrix{b, make([]float32, al*al)}, A: Matrix{a, make([]float32, al*m)}}
	for i := range al {
		for j := range al {
			w.B.Data[j*al+i] = BT[i*al+j]
		}
		for j := range m {
			w.A.Data[i*m+j] = AT[j*al+i]
		}
	}
	return w
}

// WinogradF2 is F(2×2, 3×3): points 0, ±1, ∞; every constant is exact in binary.
var WinogradF2 = newWinograd("F(2x2,3x3)", "f2", 2, 3, idF2BT, idF2B, idF2AT, idF2A,
	[]float32{
		1, 0, -1, 0,
		0, 1, 1, 0,
		0, -1, 1, 0,
		0, 1, 0, -1,
	},
	[]float32{
		1, 1, 1, 0,
		0, 1, -1, -1,
	},
	[]float64{
		1, 0, 0,
		0.5, 0.5, 0.5,
		0.5, -0.5, 0.5,
		0, 0, 1,
	})

// WinogradF4 is F(4×4, 3×3): points 0, ±1, ±2, ∞; 2.25 multiplications an output.
var WinogradF4 = newWinograd("F(4x4,3x3)", "f4", 4, 3, idF4BT, idF4B, idF4AT, idF4A,
	[]float32{
		4, 0, -5, 0, 1, 0,
		0, -4, -4, 1, 1, 0,
		0, 4, -4, -1, 1, 0,
		0, -2, -1, 2, 1, 0,
		0, 2, -1, -2, 1, 0,
		0, 4, 0, -5, 0, 1,
	},
	[]float32{
		1, 1, 1, 1, 1, 0,
		0, 1, -1, 2, -2, 0,
		0, 1, 1, 4, 4, 0,
		0, 1, -1, 8, -8, 1,
	},
	[]float64{
		1.0 / 4, 0, 0,
		-1.0 / 6, -1.0 / 6, -1.0 / 6,
		-1.0 / 6, 1.0 / 6, -1.0 / 6,
		1.0 / 24, 1.0 / 12, 1.0 / 6,
		1.0 / 24, -1.0 / 12, 1.0 / 6,
		0, 0, 1,
	})

// WinogradF2K5 is F(2×2, 5×5): the same points as F(4×4, 3×3), so the same Bᵀ; 36
// multiplications for 4 outputs instead of 100. G's row for a finite point p is (p⁰,
// …, p⁴)/Π_{q≠p}(p−q) over the other finite points q, and (0, 0, 0, 0, 1) for ∞.
var WinogradF2K5 = newWinograd("F(2x2,5x5)", "f2k5", 2, 5, idF4BT, idF4B, idF2K5AT, idF2K5A,
	WinogradF4.BT.Data,
	[]float32{
		1, 1, 1, 1, 1, 0,
		0, 1, -1, 2, -2, 1,
	},
	[]float64{
		1.0 / 4, 0, 0, 0, 0,
		-1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6,
		-1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
		1.0 / 24, 2.0 / 24, 4.0 / 24, 8.0 / 24, 16.0 / 24,
		1.0 / 24, -2.0 / 24, 4.0 / 24, -8.0 / 24, 16.0 / 24,
		0, 0, 0, 0, 1,
	})

// WinogradF6 is F(6×6, 3×3): points 0, ±1, ±2, ±½, ∞ (Lavin & Gray; NNPACK's default);
// 1.78 multiplications an output. Bᵀ and Aᵀ are exact in binary, G is not (1/90, 2/9,
// …). The C kernels transform with it through hand-written code that shares the sums
// its pairs of points have in common (dn_f6_1d), checked against these matrices.
var WinogradF6 = newWinograd("F(6x6,3x3)", "f6", 6, 3, idF6BT, idF6B, idF6AT, idF6A,
	[]float32{
		1, 0, -21.0 / 4, 0, 21.0 / 4, 0, -1, 0,
		0, 1, 1, -17.0 / 4, -17.0 / 4, 1, 1, 0,
		0, -1, 1, 17.0 / 4, -17.0 / 4, -1, 1, 0,
		0, 1.0 / 2, 1.0 / 4, -5.0 / 2, -5.0 / 4, 2, 1, 0,
		0, -1.0 / 2, 1.0 / 4, 5.0 / 2, -5.0 / 4, -2, 1, 0,
		0, 2, 4, -5.0 / 2, -5, 1.0 / 2, 1, 0,
		0, -2, 4, 5.0 / 2, -5, -1.0 / 2, 1, 0,
		0, -1, 0, 21.0 / 4, 0, -21.0 / 4, 0, 1,
	},
	[]float32{
		1, 1, 1, 1, 1, 1, 1, 0,
		0, 1, -1, 2, -2, 1.0 / 2, -1.0 / 2, 0,
		0, 1, 1, 4, 4, 1.0 / 4, 1.0 / 4, 0,
		0, 1, -1, 8, -8, 1.0 / 8, -1.0 / 8, 0,
		0, 1, 1, 16, 16, 1.0 / 16, 1.0 / 16, 0,
		0, 1, -1, 32, -32, 1.0 / 32, -1.0 / 32, 1,
	},
	[]float64{
		1, 0, 0,
		-2.0 / 9, -2.0 / 9, -2.0 / 9,
		-2.0 / 9, 2.0 / 9, -2.0 / 9,
		1.0 / 90, 1.0 / 45, 2.0 / 45,
		1.0 / 90, -1.0 / 45, 2.0 / 45,
		32.0 / 45, 16.0 / 45, 8.0 / 45,
		32.0 / 45, -16.0 / 45, 8.0 / 45,
		0, 0, 1,
	})

// Winograds are the transforms, each of whose matrices has a compiled copy.
var Winograds = []*Winograd{WinogradF2, WinogradF4, WinogradF2K5, WinogradF6}
