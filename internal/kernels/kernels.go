package kernels

import (
	"errors"
	"fmt"
	"os"
)

// Vector kernels for the work around the matrix products: the sparse rows of a batch-1
// step, and the optimizer's elementwise update. They run in C (vectorized, through cgo)
// on the OpenBLAS build and in Go on the purego build; both follow these definitions.

// AxpyRows adds to y the rows of the row-major matrix w (stride ld) selected by rows,
// each scaled by its coefficient: y += Σ_r coef[r]·w[rows[r], 0:len(y)]. It is x·W for
// an input x whose nonzero entries are coef at positions rows.
func AxpyRows(y, w []float32, ld int, rows []int, coef []float32) {
	checkRows("AxpyRows", len(w), ld, len(y), rows, len(coef))
	axpyRows(y, w, ld, rows, coef)
}

// AddOuterRows adds coef[r]·v to row rows[r] of w (stride ld): the rank-1 update
// W += x·vᵀ restricted to x's nonzero entries.
func AddOuterRows(w []float32, ld int, rows []int, coef, v []float32) {
	checkRows("AddOuterRows", len(w), ld, len(v), rows, len(coef))
	addOuterRows(w, ld, rows, coef, v)
}

// Nonzeros returns the positions and values of x's nonzero entries, in order, in idx
// and val (reused: their storage grows to len(x) once). A NaN counts as nonzero, -0 as
// zero.
func Nonzeros(idx []int, val, x []float32) ([]int, []float32) {
	if cap(idx) < len(x) {
		idx = make([]int, len(x))
	}
	if cap(val) < len(x) {
		val = make([]float32, len(x))
	}
	k := nonzeros(idx[:len(x)], val[:len(x)], x)
	return idx[:k], val[:k]
}

// Axpy sets y += a·x.
func Axpy(a float32, x, y []float32) {
	if len(y) < len(x) {
		panic(fmt.Sprintf("tensor: Axpy: %d values into %d", len(x), len(y)))
	}
	axpy(a, x, y)
}

// Sigmoid sets y = 1/(1+e^-x) elementwise, to within a few float32 ulps.
func Sigmoid(y, x []float32) {
	if len(y) != len(x) {
		panic(fmt.Sprintf("tensor: Sigmoid: %d outputs for %d inputs", len(y), len(x)))
	}
	sigmoid(y, x)
}

// SoftmaxRows sets each row of y [rows k] to the softmax of x's row, e^(x-max)/Σ, to
// within a few float32 ulps. y and x do not overlap. NaN and infinities come out as the
// definition's arithmetic gives them: a NaN or +Inf makes the row NaN, -Inf gets 0.
func SoftmaxRows(y, x []float32, rows, k int) {
	if len(x) < rows*k || len(y) < rows*k {
		panic(fmt.Sprintf("tensor: SoftmaxRows: %d inputs and %d outputs for %d×%d", len(x), len(y), rows, k))
	}
	if rows > 0 && k > 0 {
		softmaxRows(y, x, rows, k)
	}
}

// Tanh sets y = tanh(x) elementwise, to within a few float32 ulps.
func Tanh(y, x []float32) {
	if len(y) != len(x) {
		panic(fmt.Sprintf("tensor: Tanh: %d outputs for %d inputs", len(y), len(x)))
	}
	tanh(y, x)
}

// ReLU sets y = max(x, 0) elementwise; y may be x.
func ReLU(y, x []float32) {
	if len(y) != len(x) {
		panic(fmt.Sprintf("tensor: ReLU: %d outputs for %d inputs", len(y), len(x)))
	}
	relu(y, x)
}

// ReLUBackward sets dx = dy where y > 0 and 0 elsewhere, y being ReLU's output.
func ReLUBackward(dx, y, dy []float32) {
	if len(dx) != len(y) || len(dy) != len(y) {
		panic(fmt.Sprintf("tensor: ReLUBackward: lengths dx %d y %d dy %d", len(dx), len(y), len(dy)))
	}
	reluBackward(dx, y, dy)
}

// axpyGo is Axpy's loop in Go: the pure-Go build's, and the cgo build's for short x.
func axpyGo(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// Mul sets dst[i] = a[i]·b[i] (dropout's backward pass: the gradient times the mask).
func Mul(dst, a, b []float32) {
	if len(a) != len(dst) || len(b) != len(dst) {
		panic(fmt.Sprintf("tensor: Mul: lengths dst %d a %d b %d", len(dst), len(a), len(b)))
	}
	if len(dst) > 0 {
		mul(dst, a, b)
	}
}

// FillRows sets row r of y [len(v) rows] to v[r] throughout: a convolution's output
// planes set to their biases before the product adds onto them.
func FillRows(y, v []float32) {
	if len(v) == 0 || len(y)%len(v) != 0 {
		panic(fmt.Sprintf("tensor: FillRows: %d values do not make %d rows", len(y), len(v)))
	}
	if len(y) > 0 {
		fillRows(y, v, len(y)/len(v))
	}
}

// BytesToFloat sets dst[i] = scale·src[i] + offset: pixels to network inputs.
func BytesToFloat(dst []float32, src []uint8, scale, offset float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("tensor: BytesToFloat: %d outputs for %d bytes", len(dst), len(src)))
	}
	bytesToFloat(dst, src, scale, offset)
}

// Im2col writes the patches of one image x [C H W] under a k×k convolution with stride
// s and zero padding p as cols [C·k·k, OH·OW]: row (c,u,v) holds, for every output
// position, the input under tap (u,v) of channel c (Caffe's layout). Then W[O, C·k·k] ·
// cols is the output [O, OH·OW] already in NCHW order, with no transposes.
func Im2col(cols, x []float32, C, H, W, k, s, p, OH, OW int) {
	if len(x) < C*H*W || len(cols) < C*k*k*OH*OW || !convFits(H, W, k, s, p, OH, OW) {
		panic(fmt.Sprintf("tensor: Im2col: x %d, cols %d values for C=%d %dx%d k=%d s=%d p=%d → %dx%d", len(x), len(cols), C, H, W, k, s, p, OH, OW))
	}
	im2col(cols, x, C, H, W, k, s, p, OH, OW)
}

// Col2im is Im2col's adjoint: it adds cols [C·k·k, OH·OW] back onto the positions of
// dx [C H W] the values came from.
func Col2im(dx, cols []float32, C, H, W, k, s, p, OH, OW int) {
	if len(dx) < C*H*W || len(cols) < C*k*k*OH*OW || !convFits(H, W, k, s, p, OH, OW) {
		panic(fmt.Sprintf("tensor: Col2im: dx %d, cols %d values for C=%d %dx%d k=%d s=%d p=%d → %dx%d", len(dx), len(cols), C, H, W, k, s, p, OH, OW))
	}
	col2im(dx, cols, C, H, W, k, s, p, OH, OW)
}

// convFits reports whether OH×OW is the output size of the convolution.
func convFits(H, W, k, s, p, OH, OW int) bool {
	return k > 0 && s > 0 && p >= 0 && OH == (H+2*p-k)/s+1 && OW == (W+2*p-k)/s+1 && OH > 0 && OW > 0
}

// tapRange returns the output columns [lo, hi) whose input column j·s+v-p, under
// kernel tap v, lies inside [0, W).
func tapRange(W, s, p, v, OW int) (lo, hi int) {
	if a := p - v; a > 0 {
		lo = (a + s - 1) / s
	}
	if t := W - 1 + p - v; t >= 0 {
		hi = min(OW, t/s+1)
	}
	return min(lo, hi), hi
}

// MaxPool sets y to the maximum of each k×k window (stride k) of x [NC H W], and
// argmax to the offset in x each maximum came from.
func MaxPool(y []float32, argmax []int32, x []float32, NC, H, W, k, OH, OW int) {
	if len(x) < NC*H*W || len(y) < NC*OH*OW || len(argmax) < NC*OH*OW || OH*k > H || OW*k > W {
		panic(fmt.Sprintf("tensor: MaxPool: x %d, y %d values for %d×%dx%d, k=%d → %dx%d", len(x), len(y), NC, H, W, k, OH, OW))
	}
	maxPool(y, argmax, x, NC, H, W, k, OH, OW)
}

// AdamParams are the per-step constants of an Adam update.
type AdamParams struct {
	Beta1, Beta2 float32
	Step         float32 // lr/(1-β1ᵗ)
	InvSqrtBC2   float32 // 1/√(1-β2ᵗ)
	Eps          float32
}

// AdamUpdate applies one Adam step to w from gradient g with moments m and v, and
// clears g: m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; w -= Step·m/(√v·InvSqrtBC2 + ε).
func AdamUpdate(w, g, m, v []float32, p AdamParams) {
	if len(g) != len(w) || len(m) != len(w) || len(v) != len(w) {
		panic(fmt.Sprintf("tensor: AdamUpdate: lengths w %d g %d m %d v %d", len(w), len(g), len(m), len(v)))
	}
	// Elementwise, so splitting it over the workers changes no value. The splits fall on
	// multiples of 8, so every value goes through the code it would unsplit (the C
	// kernel takes vectors of 8 from its start, then a scalar tail).
	blocks := len(w) / 8
	Parallel(blocks, 1<<12, func(_, lo, hi int) {
		lo, hi = lo*8, hi*8
		if hi == blocks*8 {
			hi = len(w)
		}
		adamUpdate(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], p)
	})
	if blocks == 0 {
		adamUpdate(w, g, m, v, p)
	}
}

// AdamRows is AdamUpdate for a matrix w [len(idx) cols] whose gradient is zero but in
// some rows, given packed: row r's gradient is row idx[r] of vals, or zero where idx[r]
// is negative. Its results are AdamUpdate's on the gradient written out, bit for bit
// (tested), without writing it: the packed first layer's weight gradient goes from its
// product to the update, skipping a dense matrix of zeros and its clearing.
func AdamRows(w, m, v []float32, cols int, idx []int32, vals []float32, p AdamParams) {
	rows := len(idx)
	if len(w) != rows*cols || len(m) != len(w) || len(v) != len(w) {
		panic(fmt.Sprintf("tensor: AdamRows: lengths w %d m %d v %d for %d rows of %d", len(w), len(m), len(v), rows, cols))
	}
	for r, i := range idx {
		if i >= 0 && (int(i)+1)*cols > len(vals) {
			panic(fmt.Sprintf("tensor: AdamRows: row %d takes packed row %d of %d", r, i, len(vals)/max(cols, 1)))
		}
	}
	if rows > 0 && cols > 0 {
		adamRows(w, m, v, cols, idx, vals, p)
	}
}

// PrefetchRows asks the cache for the rows idx of src (rows of d bytes) and returns
// without waiting; the C build only. It reads nothing a caller can see.
func PrefetchRows(src []uint8, d int, idx []int) {
	for _, i := range idx {
		if i < 0 || (i+1)*d > len(src) {
			panic(fmt.Sprintf("tensor: PrefetchRows: row %d outside %d bytes of rows of %d", i, len(src), d))
		}
	}
	prefetchRows(src, d, idx)
}

// GatherBytes writes the examples idx of src (rows of d bytes) into dst as floats,
// dst[j·d+k] = scale·src[idx[j]·d+k] + offset: one call for a whole batch.
func GatherBytes(dst []float32, src []uint8, d int, idx []int, scale, offset float32) {
	if len(dst) != len(idx)*d {
		panic(fmt.Sprintf("tensor: GatherBytes: %d outputs for %d rows of %d", len(dst), len(idx), d))
	}
	for _, i := range idx {
		if i < 0 || (i+1)*d > len(src) {
			panic(fmt.Sprintf("tensor: GatherBytes: row %d outside %d bytes of rows of %d", i, len(src), d))
		}
	}
	gatherBytes(dst, src, d, idx, scale, offset)
}

func checkRows(name string, lw, ld, n int, rows []int, ncoef int) {
	if n > ld || ncoef != len(rows) {
		panic(fmt.Sprintf("tensor: %s: row length %d with stride %d, %d rows and %d coefficients", name, n, ld, len(rows), ncoef))
	}
	for _, r := range rows {
		if r < 0 || (r+1)*ld > lw+ld-n || r*ld+n > lw {
			panic(fmt.Sprintf("tensor: %s: row %d outside a %d-value matrix of stride %d", name, r, lw, ld))
		}
	}
}

// Add sets dst[i] += src[i].
func Add(dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("tensor: Add: %d values plus %d", len(dst), len(src)))
	}
	for i, v := range src {
		dst[i] += v
	}
}

// AddRowSums8 adds to dst[r] the sum of row r of x (len(dst) rows of equal length),
// summed in a fixed order that eight vector lanes run in parallel: lane j adds the
// row's values j, j+8, j+16, … of its whole groups of eight, lane 0 then the rest one by
// one, and the lanes combine as ((0+1)+(2+3))+((4+5)+(6+7)). (One running sum would wait
// on each add in turn; this order is the same in the C and Go builds.)
func AddRowSums8(dst, x []float32) {
	if len(dst) == 0 || len(x)%len(dst) != 0 {
		panic(fmt.Sprintf("tensor: AddRowSums8: %d values in %d rows", len(x), len(dst)))
	}
	addRowSums8(dst, x)
}

// Batch normalization over one channel: n planes of s values each, stride apart, the
// slices starting at the channel's first plane ([N C S] data offset by c·S, stride C·S).

// BNMoments returns the channel's mean and (biased) variance.
func BNMoments(x []float32, n, stride, s int) (mean, variance float64) {
	checkPlanes("BNMoments", n, stride, s, x)
	return bnMoments(x, n, stride, s)
}

// BNNormalize sets xhat = (x-mean)·inv and y = gamma·xhat + beta over the channel.
func BNNormalize(y, xhat, x []float32, n, stride, s int, mean, inv, gamma, beta float32) {
	checkPlanes("BNNormalize", n, stride, s, y, xhat, x)
	bnNormalize(y, xhat, x, n, stride, s, mean, inv, gamma, beta)
}

// BNGradSums returns Σdy and Σdy·xhat over the channel.
func BNGradSums(dy, xhat []float32, n, stride, s int) (sum, sumX float64) {
	checkPlanes("BNGradSums", n, stride, s, dy, xhat)
	return bnGradSums(dy, xhat, n, stride, s)
}

// BNInputGrad sets dx = km·dy - ks - kx·xhat over the channel.
func BNInputGrad(dx, dy, xhat []float32, n, stride, s int, km, ks, kx float32) {
	checkPlanes("BNInputGrad", n, stride, s, dx, dy, xhat)
	bnInputGrad(dx, dy, xhat, n, stride, s, km, ks, kx)
}

func checkPlanes(name string, n, stride, s int, bufs ...[]float32) {
	need := 0
	if n > 0 {
		need = (n-1)*stride + s
	}
	for _, b := range bufs {
		if n < 0 || s < 0 || stride < s || len(b) < need {
			panic(fmt.Sprintf("tensor: %s: %d planes of %d values, stride %d, need %d values, have %d", name, n, s, stride, need, len(b)))
		}
	}
}

// NonzeroColumns appends to cols, in increasing order, the columns of the row-major
// matrix x [rows n] that hold a nonzero value in some row, and returns it; mask is
// scratch for n values. A product x·W only needs the rows of W these columns select.
func NonzeroColumns(cols []int, mask []uint32, x []float32, rows, n int) []int {
	cols, _ = NonzeroColumnsAtMost(cols, mask, x, rows, n, n)
	return cols
}

// NonzeroColumnsAtMost is NonzeroColumns that gives up, returning false, as soon as
// more than limit columns are nonzero: on a dense batch it stops after a few rows
// instead of reading them all (a batch of 1,000 digits: 40 µs, 2 % of its prediction).
// mask then holds the columns seen so far.
func NonzeroColumnsAtMost(cols []int, mask []uint32, x []float32, rows, n, limit int) ([]int, bool) {
	if len(x) < rows*n || len(mask) < n {
		panic(fmt.Sprintf("tensor: NonzeroColumns: %d values and %d of scratch for %d×%d", len(x), len(mask), rows, n))
	}
	mask = mask[:n]
	clear(mask)
	const chunk = 64 // rows between counts: a count costs about what ORing in a row does
	for r := 0; r < rows; r += chunk {
		h := min(chunk, rows-r)
		orColumns(mask, x[r*n:(r+h)*n], h, n)
		if limit < n {
			k := 0
			for _, m := range mask {
				if m != 0 {
					k++
				}
			}
			if k > limit {
				return cols, false
			}
		}
	}
	for j, m := range mask {
		if m != 0 {
			cols = append(cols, j)
		}
	}
	return cols, true
}

// GatherColumns packs the columns cols of x [rows n] into dst [rows len(cols)].
func GatherColumns(dst, x []float32, rows, n int, cols []int) {
	if len(x) < rows*n || len(dst) < rows*len(cols) {
		panic(fmt.Sprintf("tensor: GatherColumns: %d values for %d×%d, %d outputs for %d columns", len(x), rows, n, len(dst), len(cols)))
	}
	for _, c := range cols {
		if c < 0 || c >= n {
			panic(fmt.Sprintf("tensor: GatherColumns: column %d outside %d", c, n))
		}
	}
	gatherColumns(dst, x, rows, n, cols)
}

// AddRows adds the packed rows src [len(rows) n] onto the rows of w (stride ld) they
// came from: w[rows[k], 0:n] += src[k, 0:n], n being len(src)/len(rows).
func AddRows(w []float32, ld int, rows []int, src []float32) {
	if len(rows) == 0 {
		return
	}
	n := len(src) / len(rows)
	if n*len(rows) != len(src) || n > ld {
		panic(fmt.Sprintf("tensor: AddRows: %d values for %d rows of stride %d", len(src), len(rows), ld))
	}
	for _, r := range rows {
		if r < 0 || r*ld+n > len(w) {
			panic(fmt.Sprintf("tensor: AddRows: row %d outside %d values of stride %d", r, len(w), ld))
		}
	}
	addRows(w, ld, rows, src, n)
}

// GemmU8S8 sets c = (a - za)·b for a u8 [m k] (row stride lda), b s8 [k n] (ldb) and c
// s32 [m n] (ldc), all row-major: the product of an int8-quantized layer. Call Int8
// first; it panics where Int8 reports an error.
func GemmU8S8(m, n, k int, a []uint8, lda int, za uint8, b []int8, ldb int, c []int32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	switch {
	case k < 1 || lda < k || len(a) < (m-1)*lda+k:
		panic(fmt.Sprintf("tensor: GemmU8S8: A is %d×%d with stride %d but has %d values", m, k, lda, len(a)))
	case ldb < n || len(b) < (k-1)*ldb+n:
		panic(fmt.Sprintf("tensor: GemmU8S8: B is %d×%d with stride %d but has %d values", k, n, ldb, len(b)))
	case ldc < n || len(c) < (m-1)*ldc+n:
		panic(fmt.Sprintf("tensor: GemmU8S8: C is %d×%d with stride %d but has %d values", m, n, ldc, len(c)))
	}
	gemmU8S8(m, n, k, a, lda, za, b, ldb, c, ldc)
}

// GemvU8S8 is GemmU8S8 for one row: acc[j] = Σ_i (xq[i] − z)·w[i, j] for w [len(xq)
// n], skipping inputs at the zero point. It runs in C on every build, without oneDNN.
func GemvU8S8(acc []int32, xq []uint8, z uint8, w []int8, n int) {
	if len(acc) < n || len(w) < len(xq)*n {
		panic(fmt.Sprintf("tensor: GemvU8S8: %d outputs and %d weights for %d inputs and %d outputs", len(acc), len(w), len(xq), n))
	}
	if n > 0 {
		gemvU8S8(acc, xq, z, w, n)
	}
}

// QuantizeU8 sets dst[i] = clamp(round(src[i]·inv) + zero, 0, 255), rounding half to
// even (ONNX QuantizeLinear with scale 1/inv and zero point zero).
func QuantizeU8(dst []uint8, src []float32, inv float32, zero uint8) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("tensor: QuantizeU8: %d outputs for %d inputs", len(dst), len(src)))
	}
	quantizeU8(dst, src, inv, float32(zero))
}

// Dequantize sets y[r, j] = scale·colScale[j]·c[r, j] + bias[j] for c [rows n]: an
// int8 layer's output back in float32, with its bias.
func Dequantize(y []float32, c []int32, rows, n int, scale float32, colScale, bias []float32) {
	if len(y) < rows*n || len(c) < rows*n || len(colScale) < n || len(bias) < n {
		panic(fmt.Sprintf("tensor: Dequantize: y %d, c %d, scales %d, bias %d values for %d×%d", len(y), len(c), len(colScale), len(bias), rows, n))
	}
	dequantize(y, c, rows, n, scale, colScale, bias)
}

// GemmBF16 sets c = op(a)·op(b), or adds it to c when accumulate, for bf16 a and b
// (ToBF16) and float32 c, summing in float32: Gemm's contract (row-major, strides as
// stored) at twice the multiplication rate of float32 on AVX-512 BF16. Call BF16 first;
// it panics where BF16 reports an error.
func GemmBF16(transA, transB bool, m, n, k int, a []uint16, lda int, b []uint16, ldb int, accumulate bool, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if err := BF16(); err != nil {
		panic(fmt.Sprintf("tensor: GemmBF16: %v", err))
	}
	gemmBF16(transA, transB, m, n, k, a, lda, b, ldb, accumulate, c, ldc)
}

// ToBF16 rounds src to bfloat16 (to nearest, ties to even; the top half of the float32
// bits), into dst.
func ToBF16(dst []uint16, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("tensor: ToBF16: %d outputs for %d inputs", len(dst), len(src)))
	}
	toBF16(dst, src)
}

// GatherRowsBF16 sets dst[k, 0:n] = ToBF16(w[rows[k], 0:n]) for w with row stride ld:
// rows gathered and rounded in one pass.
func GatherRowsBF16(dst []uint16, w []float32, ld int, rows []int, n int) {
	if len(dst) < len(rows)*n || n > ld {
		panic(fmt.Sprintf("tensor: GatherRowsBF16: %d outputs for %d rows of %d (stride %d)", len(dst), len(rows), n, ld))
	}
	for _, r := range rows {
		if r < 0 || r*ld+n > len(w) {
			panic(fmt.Sprintf("tensor: GatherRowsBF16: row %d outside %d values of stride %d", r, len(w), ld))
		}
	}
	gatherRowsBF16(dst, w, ld, rows, n)
}

// oneDNNOff says whether DIGITNET_ONEDNN=off turns int8 and bf16 off: the fp32 path a
// machine without them takes, on one that has them (tests, comparisons).
func oneDNNOff() error {
	if os.Getenv("DIGITNET_ONEDNN") == "off" {
		return errors.New("kernels: oneDNN turned off (DIGITNET_ONEDNN=off)")
	}
	return nil
}

// ConvShape is a convolution's sizes: N images of C channels, H×W (NCHW), O output
// channels, K×K kernels (OIHW), stride and zero padding on every side.
type ConvShape struct{ N, C, H, W, O, K, Stride, Pad int }

// Out is the output's height and width.
func (s ConvShape) Out() (int, int) {
	return (s.H+2*s.Pad-s.K)/s.Stride + 1, (s.W+2*s.Pad-s.K)/s.Stride + 1
}

func (s ConvShape) check(x, w []float32, y []float32, what string) {
	oh, ow := s.Out()
	if s.N <= 0 || s.C <= 0 || s.O <= 0 || s.K <= 0 || s.Stride <= 0 || s.Pad < 0 || oh <= 0 || ow <= 0 ||
		len(x) != s.N*s.C*s.H*s.W || len(w) != s.O*s.C*s.K*s.K || len(y) != s.N*s.O*oh*ow {
		panic(fmt.Sprintf("tensor: %s: %+v with x %d, w %d, y %d values", what, s, len(x), len(w), len(y)))
	}
}

// ConvForwardBF16 sets y = conv(x, w) + b (cross-correlation, NCHW, w OIHW) with x and w
// rounded to bf16 and the sums in float32, through oneDNN's bf16 convolution. slot is
// the calling worker's number (kernels.Parallel's), which has its own buffers (calls on
// one slot wait for each other); token marks this pass for ConvBackwardBF16, which
// then reuses x's rounded copy when no other pass on the slot came between (a fresh
// token each forward pass is what makes the reuse safe). An error (oneDNN
// refused the shape, or BF16 cannot run) leaves y unspecified.
func ConvForwardBF16(slot int, s ConvShape, x, w, b, y []float32, token uint64) error {
	return convForwardChecked(slot, s, true, x, w, b, y, token)
}

// ConvBackwardBF16 sets dw and db to the gradients of ConvForwardBF16's pass with the
// same slot, shape, x and token, from its output gradient dy, and dx too unless it is
// nil; dy and w are rounded to bf16, the sums are float32.
func ConvBackwardBF16(slot int, s ConvShape, x, w, dy, dw, db, dx []float32, token uint64) error {
	return convBackwardChecked(slot, s, true, x, w, dy, dw, db, dx, token)
}

// ConvForwardF32 is ConvForwardBF16 in float32: oneDNN's direct convolution (its AVX-512
// kernel, on blocked copies of x and w), the same sums as the definition's in another
// order. ConvF32 says whether it can run.
func ConvForwardF32(slot int, s ConvShape, x, w, b, y []float32, token uint64) error {
	return convForwardChecked(slot, s, false, x, w, b, y, token)
}

// ConvBackwardF32 is ConvBackwardBF16 in float32, for ConvForwardF32's passes.
func ConvBackwardF32(slot int, s ConvShape, x, w, dy, dw, db, dx []float32, token uint64) error {
	return convBackwardChecked(slot, s, false, x, w, dy, dw, db, dx, token)
}

func convForwardChecked(slot int, s ConvShape, bf16 bool, x, w, b, y []float32, token uint64) error {
	s.check(x, w, y, "ConvForward")
	if len(b) != s.O {
		panic(fmt.Sprintf("tensor: ConvForward: %d biases for %d channels", len(b), s.O))
	}
	if err := convCan(bf16); err != nil {
		return err
	}
	return convForward(slot, s, bf16, x, w, b, y, token)
}

func convBackwardChecked(slot int, s ConvShape, bf16 bool, x, w, dy, dw, db, dx []float32, token uint64) error {
	s.check(x, w, dy, "ConvBackward")
	if len(dw) != len(w) || len(db) != s.O || (dx != nil && len(dx) != len(x)) {
		panic(fmt.Sprintf("tensor: ConvBackward: dw %d, db %d, dx %d values for %+v", len(dw), len(db), len(dx), s))
	}
	if err := convCan(bf16); err != nil {
		return err
	}
	return convBackward(slot, s, bf16, x, w, dy, dw, db, dx, token)
}

func convCan(bf16 bool) error {
	if bf16 {
		return BF16()
	}
	return ConvF32()
}

// Im2rowU8 sets dst [OH·OW, C·k·k] to the patches of the quantized image x [C H W] as
// rows (dst[i·OW+j][(c·k+u)·k+v] = x[c][i·s+u−p][j·s+v−p]), z off the image: the
// activation operand of the int8 convolution's product patches·Wᵀ (GemmU8S8).
func Im2rowU8(dst, x []uint8, c, h, w, k, s, p, oh, ow int, z uint8) {
	if len(x) != c*h*w || len(dst) != oh*ow*c*k*k {
		panic(fmt.Sprintf("tensor: Im2rowU8: %d patch values and %d inputs for %d×%d×%d, k %d, output %d×%d", len(dst), len(x), c, h, w, k, oh, ow))
	}
	if len(dst) > 0 {
		im2rowU8(dst, x, c, h, w, k, s, p, oh, ow, z)
	}
}

// DequantizeT sets y[j, r] = scale·colScale[j]·c[r, j] + bias[j] for c [rows n]:
// Dequantize writing the transpose, an int8 convolution's output in NCHW order.
func DequantizeT(y []float32, c []int32, rows, n int, scale float32, colScale, bias []float32) {
	if len(y) < rows*n || len(c) < rows*n || len(colScale) < n || len(bias) < n {
		panic(fmt.Sprintf("tensor: DequantizeT: y %d, c %d, scales %d, bias %d values for %d×%d", len(y), len(c), len(colScale), len(bias), rows, n))
	}
	if rows > 0 && n > 0 {
		dequantizeT(y, c, rows, n, scale, colScale, bias)
	}
}
