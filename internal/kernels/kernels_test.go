package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g (backend %s)", what, i, got[i], want[i], Backend)
		}
	}
}

func TestRowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const rowsN, ld = 20, 37
	for _, n := range []int{1, 8, 30, 37} { // row lengths around the vector width
		w := randSlice(rng, rowsN*ld)
		rows := []int{0, 3, 19, 7}
		coef := randSlice(rng, len(rows))
		y, want := randSlice(rng, n), make([]float32, n)
		copy(want, y)
		for k, r := range rows {
			for j := 0; j < n; j++ {
				want[j] += coef[k] * w[r*ld+j]
			}
		}
		AxpyRows(y, w, ld, rows, coef)
		closeTo(t, "AxpyRows", y, want, 1e-6)

		v := randSlice(rng, n)
		wantW := append([]float32(nil), w...)
		for k, r := range rows {
			for j := 0; j < n; j++ {
				wantW[r*ld+j] += coef[k] * v[j]
			}
		}
		AddOuterRows(w, ld, rows, coef, v)
		closeTo(t, "AddOuterRows", w, wantW, 1e-6)
	}
}

func TestAdamUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	n := 1003
	w, g, m, v := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
	for i := range v {
		v[i] = v[i] * v[i]
	}
	p := AdamParams{Beta1: 0.9, Beta2: 0.999, Step: 0.01, InvSqrtBC2: 3, Eps: 1e-8}
	ww, wm, wv := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
	for i := range ww {
		gi := float64(g[i])
		mi := 0.9*float64(wm[i]) + 0.1*gi
		vi := 0.999*float64(wv[i]) + 0.001*gi*gi
		wm[i], wv[i] = float32(mi), float32(vi)
		ww[i] = float32(float64(ww[i]) - 0.01*mi/(math.Sqrt(vi)*3+1e-8))
	}
	AdamUpdate(w, g, m, v, p)
	closeTo(t, "m", m, wm, 1e-5)
	closeTo(t, "v", v, wv, 1e-5)
	closeTo(t, "w", w, ww, 1e-5)
	for i, x := range g {
		if x != 0 {
			t.Fatalf("g[%d] = %g after AdamUpdate, want 0", i, x)
		}
	}
}

func TestRowKernelsRejectOutOfRange(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AxpyRows with row 5 of a 5-row matrix did not panic")
		}
	}()
	AxpyRows(make([]float32, 3), make([]float32, 15), 3, []int{5}, []float32{1})
}

func TestElementwiseKernels(t *testing.T) {
	x := []float32{-2, -0.5, 0, 0.25, 3, -1, 7, 0.5, -3}
	y := make([]float32, len(x))
	ReLU(y, x)
	closeTo(t, "ReLU", y, []float32{0, 0, 0, 0.25, 3, 0, 7, 0.5, 0}, 0)
	dy := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	dx := make([]float32, len(x))
	ReLUBackward(dx, y, dy)
	closeTo(t, "ReLUBackward", dx, []float32{0, 0, 0, 4, 5, 0, 7, 8, 0}, 0)
	prod := make([]float32, len(x))
	Mul(prod, x, dy)
	closeTo(t, "Mul", prod, []float32{-2, -1, 0, 1, 15, -6, 49, 4, -27}, 0)
	src := []uint8{0, 1, 128, 255, 17, 200, 3, 99, 254}
	dst := make([]float32, len(src))
	BytesToFloat(dst, src, 0.5, -1)
	want := make([]float32, len(src))
	for i, v := range src {
		want[i] = float32(v)*0.5 - 1
	}
	closeTo(t, "BytesToFloat", dst, want, 1e-7)
}

func TestSigmoidTanhAccuracy(t *testing.T) { bothPaths(t, testSigmoidTanhAccuracy) }

func testSigmoidTanhAccuracy(t *testing.T) {
	nan := make([]float32, 41) // a NaN at every position of vectors of 16, 8 and the tail
	out := make([]float32, len(nan))
	for i := range nan {
		nan[i] = float32(math.NaN())
	}
	for name, f := range map[string]func(y, x []float32){"Sigmoid": Sigmoid, "Tanh": Tanh} {
		f(out, nan)
		for i, v := range out {
			if !math.IsNaN(float64(v)) {
				t.Fatalf("%s(NaN) at position %d = %g, want NaN (backend %s)", name, i, v, Backend)
			}
		}
	}
	var xs []float32
	for x := -100.0; x <= 100; x += 0.0137 {
		xs = append(xs, float32(x))
	}
	xs = append(xs, 0, -0, 1e-8, -1e-8, 88.7, -88.7, 1e4, -1e4)
	sig, th := make([]float32, len(xs)), make([]float32, len(xs))
	Sigmoid(sig, xs)
	Tanh(th, xs)
	for i, x := range xs {
		ws := 1 / (1 + math.Exp(-float64(x)))
		if d := math.Abs(float64(sig[i]) - ws); d > 1e-6*ws+1e-37 && d > 2e-7 {
			t.Fatalf("Sigmoid(%g) = %g, want %g (backend %s)", x, sig[i], ws, Backend)
		}
		wt := math.Tanh(float64(x))
		if d := math.Abs(float64(th[i]) - wt); d > 1e-6 {
			t.Fatalf("Tanh(%g) = %g, want %g (backend %s)", x, th[i], wt, Backend)
		}
	}
}

// bothPaths runs f with the AVX-512 kernels and then without them (the AVX2 and portable
// paths they stand in for on this CPU; the pure-Go build has one path and runs it twice).
func bothPaths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	defer setAVX512(true)
	for _, on := range []bool{true, false} {
		setAVX512(on)
		t.Run(map[bool]string{true: "avx512", false: "others"}[on], f)
	}
}

// TestSoftmaxRows checks SoftmaxRows against the float64 definition on rows of several
// lengths (so the vectorized pass crosses row ends), wide ranges of logits, and the
// special values: a NaN or +Inf makes its row NaN, -Inf gets probability 0.
func TestSoftmaxRows(t *testing.T) { bothPaths(t, testSoftmaxRows) }

func testSoftmaxRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, k := range []int{1, 3, 10, 17} {
		rows := 13
		x := make([]float32, rows*k)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * float64(1+i%4*20)) // spreads up to ±200
		}
		y := make([]float32, rows*k)
		SoftmaxRows(y, x, rows, k)
		for r := 0; r < rows; r++ {
			xr := x[r*k : (r+1)*k]
			m := math.Inf(-1)
			for _, v := range xr {
				m = math.Max(m, float64(v))
			}
			var sum float64
			for _, v := range xr {
				sum += math.Exp(float64(v) - m)
			}
			for j, v := range xr {
				want := math.Exp(float64(v)-m) / sum
				// x-max is rounded to float32 first: an error of half an ulp of it.
				tol := (1e-6 + 6e-8*math.Abs(float64(v)-m)) * want
				if d := math.Abs(float64(y[r*k+j]) - want); d > tol+2e-45 { // 2e-45: subnormal spacing
					t.Fatalf("k=%d row %d: softmax[%d] = %g, want %g (backend %s)", k, r, j, y[r*k+j], want, Backend)
				}
			}
		}
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	x := []float32{1, nan, 2, 0, 1, inf, 3, float32(math.Inf(-1)), 3}
	y := make([]float32, len(x))
	SoftmaxRows(y, x, 3, 3)
	for j := 0; j < 6; j++ {
		if !math.IsNaN(float64(y[j])) {
			t.Errorf("row with NaN or +Inf: softmax[%d] = %g, want NaN (backend %s)", j, y[j], Backend)
		}
	}
	if y[6] != 0.5 || y[7] != 0 || y[8] != 0.5 {
		t.Errorf("softmax(3, -Inf, 3) = %v, want [0.5 0 0.5] (backend %s)", y[6:], Backend)
	}
	ninf := float32(math.Inf(-1))
	x = []float32{nan, 1, 2, ninf, ninf, ninf, 0, -100, -200}
	SoftmaxRows(y, x, 3, 3)
	for j := 0; j < 6; j++ { // NaN first in its row; a row of -Inf only (e^(-Inf+Inf))
		if !math.IsNaN(float64(y[j])) {
			t.Errorf("row with a leading NaN, or all -Inf: softmax[%d] = %g, want NaN (backend %s)", j, y[j], Backend)
		}
	}
	if want := float32(math.Exp(-100)); y[6] != 1 || y[7] != want || y[8] != 0 {
		t.Errorf("softmax(0, -100, -200) = %v, want [1 %g 0] (backend %s)", y[6:], want, Backend)
	}
	SoftmaxRows(y, x, 3, 0) // no columns: nothing to do, on every backend
}

// TestNonzeros against the definition on lengths around the 16-lane blocks, with -0
// (zero), NaN (nonzero) and whole blocks of zeros.
func TestNonzeros(t *testing.T) { bothPaths(t, testNonzeros) }

func testNonzeros(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var idx []int
	var val []float32
	for _, n := range []int{0, 5, 16, 17, 37, 784} {
		x := make([]float32, n)
		for i := range x {
			switch r := rng.IntN(10); {
			case r < 2 && i >= 32: // positions below 32 stay zero: whole empty blocks
				x[i] = rng.Float32() + 0.5
			case r == 2:
				x[i] = float32(math.Copysign(0, -1))
			case r == 3 && i%7 == 0:
				x[i] = float32(math.NaN())
			}
		}
		var wantIdx []int
		for i, v := range x {
			if v != 0 {
				wantIdx = append(wantIdx, i)
			}
		}
		idx, val = Nonzeros(idx, val, x)
		if fmt.Sprint(idx) != fmt.Sprint(wantIdx) {
			t.Fatalf("n=%d: Nonzeros positions %v, want %v (backend %s)", n, idx, wantIdx, Backend)
		}
		for k, i := range idx {
			if math.Float32bits(val[k]) != math.Float32bits(x[i]) {
				t.Fatalf("n=%d: Nonzeros value %d = %g, want x[%d] = %g", n, k, val[k], i, x[i])
			}
		}
	}
	for _, n := range []int{17, 63, 64, 65, 1000} { // below and above the C kernel's cut-off
		y, x := make([]float32, n+1), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(i), float32(i+1)
		}
		y[n] = 99
		Axpy(-2, x, y)
		for i := range x {
			if want := float32(i+1) - 2*float32(i); y[i] != want {
				t.Fatalf("Axpy n=%d: y[%d] = %g, want %g", n, i, y[i], want)
			}
		}
		if y[n] != 99 {
			t.Fatalf("Axpy n=%d wrote past len(x)", n)
		}
	}
}

func BenchmarkAxpyRows150x300(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	w := randSlice(rng, 784*300)
	rows := make([]int, 0, 150)
	for i := 0; i < 784 && len(rows) < 150; i += 5 {
		rows = append(rows, i)
	}
	coef := randSlice(rng, len(rows))
	y := make([]float32, 300)
	for b.Loop() {
		AxpyRows(y, w, 300, rows, coef)
	}
	b.ReportMetric(2*150*300*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func TestGatherBytes(t *testing.T) {
	src := []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9}
	dst := make([]float32, 6)
	GatherBytes(dst, src, 3, []int{2, 0}, 2, 1)
	closeTo(t, "GatherBytes", dst, []float32{15, 17, 19, 3, 5, 7}, 0)
}

// TestMaxPool checks the pooled values and where they came from against the definition,
// on values with many ties: the first maximum in the window (row by row) wins.
func TestMaxPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, tc := range []struct{ NC, H, W, k int }{{3, 6, 8, 2}, {2, 7, 5, 2}, {2, 9, 9, 3}, {1, 4, 4, 4}} {
		OH, OW := tc.H/tc.k, tc.W/tc.k
		x := make([]float32, tc.NC*tc.H*tc.W)
		for i := range x {
			x[i] = float32(rng.IntN(3)) // ties everywhere
		}
		y, at := make([]float32, tc.NC*OH*OW), make([]int32, tc.NC*OH*OW)
		MaxPool(y, at, x, tc.NC, tc.H, tc.W, tc.k, OH, OW)
		for nc := 0; nc < tc.NC; nc++ {
			for i := 0; i < OH; i++ {
				for j := 0; j < OW; j++ {
					wantAt := nc*tc.H*tc.W + i*tc.k*tc.W + j*tc.k
					for u := 0; u < tc.k; u++ {
						for v := 0; v < tc.k; v++ {
							if off := nc*tc.H*tc.W + (i*tc.k+u)*tc.W + j*tc.k + v; x[off] > x[wantAt] {
								wantAt = off
							}
						}
					}
					o := (nc*OH+i)*OW + j
					if y[o] != x[wantAt] || at[o] != int32(wantAt) {
						t.Fatalf("%+v: output %d = %g from %d, want %g from %d", tc, o, y[o], at[o], x[wantAt], wantAt)
					}
				}
			}
		}
	}
}

// TestFillRows: every row is its value, for row lengths around a vector's width.
func TestFillRows(t *testing.T) {
	for _, n := range []int{1, 7, 8, 17, 676} {
		v := []float32{1.5, -2, 0, float32(math.Inf(1))}
		y := make([]float32, len(v)*n)
		for i := range y {
			y[i] = float32(math.NaN())
		}
		FillRows(y, v)
		for i, got := range y {
			if want := v[i/n]; got != want {
				t.Fatalf("row length %d: y[%d] = %g, want %g", n, i, got, want)
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("FillRows with 7 values for 2 rows did not panic")
		}
	}()
	FillRows(make([]float32, 7), []float32{1, 2})
}

// TestAdamUpdateSplitsExactly: on two workers AdamUpdate gives the values one worker
// does, bit for bit (a split off a multiple of 8 would round some values differently).
func TestAdamUpdateSplitsExactly(t *testing.T) {
	defer SetWorkers(Workers())
	rng := rand.New(rand.NewPCG(8, 8))
	n := 100_003
	w0, g0, m0, v0 := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
	for i := range v0 {
		v0[i] *= v0[i]
	}
	p := AdamParams{Beta1: 0.9, Beta2: 0.999, Step: 0.01, InvSqrtBC2: 3, Eps: 1e-8}
	var got [2][]float32
	for i, workers := range []int{1, 2} {
		SetWorkers(workers)
		w, g, m, v := append([]float32(nil), w0...), append([]float32(nil), g0...), append([]float32(nil), m0...), append([]float32(nil), v0...)
		AdamUpdate(w, g, m, v, p)
		got[i] = w
	}
	for i := range got[0] {
		if got[0][i] != got[1][i] {
			t.Fatalf("w[%d] = %g on one worker, %g on two", i, got[0][i], got[1][i])
		}
	}
}

// TestAddRowSums8 pins the summation order AddRowSums8 documents, bit for bit, on rows
// with and without a partial group of eight.
func TestAddRowSums8(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{1, 5, 8, 13, 576} {
		const rows = 3
		x := randSlice(rng, rows*n)
		got := []float32{1, 2, 3}
		AddRowSums8(got, x)
		for r := range rows {
			var lane [8]float32
			for i, v := range x[r*n : (r+1)*n] {
				if i < n/8*8 {
					lane[i%8] += v
				} else {
					lane[0] += v
				}
			}
			want := float32(r+1) + (((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7])))
			if got[r] != want {
				t.Errorf("row of %d: sum %v, want %v", n, got[r], want)
			}
		}
	}
}

// NonzeroColumnsAtMost over several chunks of rows: columns first inked in the last
// row count, the limit is exact (count = limit passes, one more fails), and a batch
// already over the limit in its first rows gives up.
func TestNonzeroColumnsAtMost(t *testing.T) {
	const rows, n = 150, 40
	x := make([]float32, rows*n)
	var want []int
	for j := 0; j < n; j += 3 {
		x[(rows-1-j)*n+j] = 1 // column j inked only in row 149-j
		want = append(want, j)
	}
	got, ok := NonzeroColumnsAtMost(nil, make([]uint32, n), x, rows, n, len(want))
	if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("limit %d: got %v, %v; want %v, true", len(want), got, ok, want)
	}
	if got, ok := NonzeroColumnsAtMost(nil, make([]uint32, n), x, rows, n, len(want)-1); ok {
		t.Fatalf("limit %d with %d inked columns: got %v, true; want false", len(want)-1, len(want), got)
	}
	for j := range n {
		x[j] = 1 // the first row inks every column
	}
	if got, ok := NonzeroColumnsAtMost(nil, make([]uint32, n), x, rows, n, n-1); ok {
		t.Fatalf("dense first row: got %v, true; want false", got)
	}
}

// The column kernels of the sparse-column product: which columns are nonzero (negative
// zero counts as zero, a lone value anywhere makes its column count), packing them, and
// adding packed rows back.
func TestColumnKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 7, 16, 37, 784} {
		const rows = 5
		x := make([]float32, rows*n)
		want := []int{}
		for j := 0; j < n; j++ {
			switch {
			case j%3 == 0: // one nonzero value, in a row that moves with j
				x[(j%rows)*n+j] = float32(j + 1)
				want = append(want, j)
			case j%3 == 1:
				x[(j%rows)*n+j] = float32(math.Copysign(0, -1))
			}
		}
		got := NonzeroColumns(nil, make([]uint32, n), x, rows, n)
		if len(got) != len(want) {
			t.Fatalf("n=%d: NonzeroColumns found %d columns %v, want %d %v", n, len(got), got, len(want), want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("n=%d: NonzeroColumns[%d] = %d, want %d", n, i, got[i], want[i])
			}
		}

		x = randSlice(rng, rows*n)
		packed := make([]float32, rows*len(want))
		GatherColumns(packed, x, rows, n, want)
		for r := 0; r < rows; r++ {
			for k, c := range want {
				if packed[r*len(want)+k] != x[r*n+c] {
					t.Fatalf("n=%d: GatherColumns[%d,%d] = %g, want x[%d,%d] = %g", n, r, k, packed[r*len(want)+k], r, c, x[r*n+c])
				}
			}
		}

		const ld = 9
		w := randSlice(rng, n*ld)
		src := randSlice(rng, len(want)*ld)
		wantW := append([]float32(nil), w...)
		for k, r := range want {
			for j := 0; j < ld; j++ {
				wantW[r*ld+j] += src[k*ld+j]
			}
		}
		AddRows(w, ld, want, src)
		closeTo(t, "AddRows", w, wantW, 0)
	}
}

// TestAdamRowsMatchesAdamUpdate: AdamRows gives AdamUpdate's w, m and v on the gradient
// written out, bit for bit: on shapes whose rows do and do not fill vectors of 8, whose
// size does and does not (the scalar tail), with rows packed out of order, and with
// extreme gradients (lane arithmetic that rounded differently would show there).
func TestAdamRowsMatchesAdamUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	p := AdamParams{Beta1: 0.9, Beta2: 0.999, Step: 0.01, InvSqrtBC2: 3, Eps: 1e-8}
	for _, shape := range [][2]int{{784, 300}, {13, 7}, {9, 8}, {5, 3}, {1, 1}, {30, 17}} {
		rows, cols := shape[0], shape[1]
		n := rows * cols
		w0, m0, v0 := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
		for i := range v0 {
			v0[i] *= v0[i]
		}
		idx := make([]int32, rows)
		var packed []int
		for r := range idx {
			idx[r] = -1
			if rng.IntN(3) != 0 {
				packed = append(packed, r)
			}
		}
		rng.Shuffle(len(packed), func(i, j int) { packed[i], packed[j] = packed[j], packed[i] })
		vals := randSlice(rng, len(packed)*cols)
		for i := range vals {
			if i%11 == 0 {
				vals[i] *= 1e20
			} else if i%13 == 0 {
				vals[i] *= 1e-20
			}
		}
		g := make([]float32, n)
		for i, r := range packed {
			idx[r] = int32(i)
			copy(g[r*cols:(r+1)*cols], vals[i*cols:(i+1)*cols])
		}
		w, m, v := slices.Clone(w0), slices.Clone(m0), slices.Clone(v0)
		AdamUpdate(w, g, m, v, p)
		rw, rm, rv := slices.Clone(w0), slices.Clone(m0), slices.Clone(v0)
		AdamRows(rw, rm, rv, cols, idx, vals, p)
		for i := range w {
			if math.Float32bits(rw[i]) != math.Float32bits(w[i]) || math.Float32bits(rm[i]) != math.Float32bits(m[i]) || math.Float32bits(rv[i]) != math.Float32bits(v[i]) {
				t.Fatalf("%d×%d, value %d: AdamRows w %g m %g v %g, AdamUpdate w %g m %g v %g", rows, cols, i, rw[i], rm[i], rv[i], w[i], m[i], v[i])
			}
		}
	}
}
