package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

func TestCNNLayerGradients(t *testing.T) {
	rng := testRNG()
	conv := func(kernel, stride, pad int) (Layer, *tensor.Tensor) {
		c := NewConv2D("c", 2, 3, kernel, stride, pad)
		fillNormal(c.W.Value.Data, 0.5, rng)
		fillNormal(c.B.Value.Data, 0.5, rng)
		return c, randTensor(rng, 1, 2, 2, 7, 6)
	}
	direct := func(kernel, stride, pad int) (Layer, *tensor.Tensor) {
		c, x := conv(kernel, stride, pad)
		c.(*Conv2D).Algorithm = ConvDirect
		return c, x
	}
	winograd := func(m, pad int) (Layer, *tensor.Tensor) {
		c, x := conv(3, 1, pad)
		c.(*Conv2D).Algorithm, c.(*Conv2D).winogradM = ConvWinograd, m
		return c, x
	}
	bn := func(shape ...int) (Layer, *tensor.Tensor) {
		b := NewBatchNorm("bn", shape[1])
		fillNormal(b.Gamma.Value.Data, 1, rng)
		fillNormal(b.Beta.Value.Data, 1, rng)
		return b, randTensor(rng, 2, shape...)
	}
	cases := []struct {
		name string
		make func() (Layer, *tensor.Tensor)
	}{
		{"conv stride 1 no padding", func() (Layer, *tensor.Tensor) { return conv(3, 1, 0) }},
		{"conv stride 2 padding 1", func() (Layer, *tensor.Tensor) { return conv(3, 2, 1) }},
		{"conv 5x5 stride 3 padding 2", func() (Layer, *tensor.Tensor) { return conv(5, 3, 2) }},
		{"conv 1x1", func() (Layer, *tensor.Tensor) { return conv(1, 1, 0) }},
		{"conv winograd F(4x4) padding 1", func() (Layer, *tensor.Tensor) { return winograd(4, 1) }},
		{"conv winograd F(6x6) padding 1", func() (Layer, *tensor.Tensor) { return winograd(6, 1) }},
		{"conv winograd F(2x2) no padding", func() (Layer, *tensor.Tensor) { return winograd(2, 0) }},
		{"conv winograd F(2x2, 5x5) padding 2", func() (Layer, *tensor.Tensor) {
			c, x := conv(5, 1, 2)
			c.(*Conv2D).Algorithm = ConvWinograd
			return c, x
		}},
		{"conv direct (oneDNN) 3x3 padding 1", func() (Layer, *tensor.Tensor) { return direct(3, 1, 1) }},
		{"conv direct (oneDNN) 5x5 stride 2 padding 2", func() (Layer, *tensor.Tensor) { return direct(5, 2, 2) }},
		{"conv direct (oneDNN) 1x1", func() (Layer, *tensor.Tensor) { return direct(1, 1, 0) }},
		{"maxpool", func() (Layer, *tensor.Tensor) {
			x := tensor.New(2, 3, 4, 6) // distinct values: no ties within a window
			perm := rng.Perm(len(x.Data))
			for i := range x.Data {
				x.Data[i] = float32(perm[i]) / 10
			}
			return NewMaxPool2D(2), x
		}},
		{"flatten", func() (Layer, *tensor.Tensor) { return &Flatten{}, randTensor(rng, 1, 2, 3, 2, 2) }},
		{"batchnorm dense", func() (Layer, *tensor.Tensor) { return bn(5, 4) }},
		{"batchnorm conv", func() (Layer, *tensor.Tensor) { return bn(3, 2, 4, 4) }},
	}
	for _, workers := range []int{1, 2} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/workers %d", c.name, workers), func(t *testing.T) {
				defer kernels.SetWorkers(kernels.Workers())
				kernels.SetWorkers(workers)
				l, x := c.make()
				if conv, ok := l.(*Conv2D); ok && conv.Algorithm == ConvDirect {
					if err := kernels.ConvF32(); err != nil {
						t.Skip(err)
					}
					defer func() {
						if !conv.direct || conv.f32Refused != nil {
							t.Errorf("ran direct: %v (refused: %v)", conv.direct, conv.f32Refused)
						}
					}()
				}
				checkLayer(t, l, x)
			})
		}
	}
}

// TestConvMatchesDirectSum checks the im2col convolution against its definition, for
// several kernel, stride and padding combinations and with the batch split on workers.
func TestConvMatchesDirectSum(t *testing.T) {
	for _, tc := range []struct {
		k, s, p, workers int
		algo             ConvAlgorithm
		m                int // Winograd's tile
		H, W             int
	}{
		{3, 2, 1, 1, ConvGEMM, 0, 5, 6}, {3, 1, 0, 2, ConvGEMM, 0, 5, 6}, {5, 1, 2, 2, ConvGEMM, 0, 5, 6},
		{5, 3, 2, 1, ConvGEMM, 0, 5, 6}, {1, 1, 0, 2, ConvGEMM, 0, 5, 6}, {2, 2, 0, 1, ConvGEMM, 0, 5, 6},
		{4, 1, 3, 2, ConvGEMM, 0, 5, 6},
		// Winograd: outputs that fill the tiles exactly and that stop short, padded or not.
		{3, 1, 0, 1, ConvWinograd, 4, 10, 6}, {3, 1, 1, 2, ConvWinograd, 4, 5, 6}, {3, 1, 2, 2, ConvWinograd, 4, 7, 9},
		{3, 1, 0, 2, ConvWinograd, 2, 6, 5}, {3, 1, 1, 1, ConvWinograd, 2, 5, 6}, {3, 1, 0, 2, ConvWinograd, 4, 3, 3},
		{3, 1, 0, 1, ConvWinograd, 6, 14, 8}, {3, 1, 1, 2, ConvWinograd, 6, 7, 6}, {3, 1, 2, 2, ConvWinograd, 6, 9, 13},
		{5, 1, 0, 1, ConvWinograd, 0, 14, 14}, {5, 1, 2, 2, ConvWinograd, 0, 7, 6}, {5, 1, 1, 2, ConvWinograd, 0, 5, 5},
	} {
		t.Run(fmt.Sprintf("k%d s%d p%d %s%d %dx%d workers %d", tc.k, tc.s, tc.p, tc.algo, tc.m, tc.H, tc.W, tc.workers), func(t *testing.T) {
			defer kernels.SetWorkers(kernels.Workers())
			kernels.SetWorkers(tc.workers)
			rng := testRNG()
			N, C, H, W, O, k, s, p := 3, 2, tc.H, tc.W, 3, tc.k, tc.s, tc.p
			c := NewConv2D("c", C, O, k, s, p)
			c.Algorithm, c.winogradM = tc.algo, tc.m
			fillNormal(c.W.Value.Data, 1, rng)
			fillNormal(c.B.Value.Data, 1, rng)
			x := randTensor(rng, 1, N, C, H, W)
			y := c.Forward(x, false)
			OH, OW := (H+2*p-k)/s+1, (W+2*p-k)/s+1
			if want := []int{N, O, OH, OW}; fmt.Sprint(y.Shape) != fmt.Sprint(want) {
				t.Fatalf("output shape %v, want %v", y.Shape, want)
			}
			for n := 0; n < N; n++ {
				for o := 0; o < O; o++ {
					for i := 0; i < OH; i++ {
						for j := 0; j < OW; j++ {
							want := float64(c.B.Value.Data[o])
							for ch := 0; ch < C; ch++ {
								for u := 0; u < k; u++ {
									for v := 0; v < k; v++ {
										yy, xx := i*s+u-p, j*s+v-p
										if yy >= 0 && yy < H && xx >= 0 && xx < W {
											want += float64(c.W.Value.Data[((o*C+ch)*k+u)*k+v]) * float64(x.Data[((n*C+ch)*H+yy)*W+xx])
										}
									}
								}
							}
							got := y.Data[((n*O+o)*OH+i)*OW+j]
							if math.Abs(float64(got)-want) > 1e-4 {
								t.Fatalf("y[%d,%d,%d,%d] = %g, want %g", n, o, i, j, got, want)
							}
						}
					}
				}
			}
		})
	}
}

func TestDropout(t *testing.T) {
	x := tensor.New(200, 50)
	for i := range x.Data {
		x.Data[i] = 1
	}
	d := NewDropout(0.3, rand.New(rand.NewPCG(1, 1)))
	if y := d.Forward(x, false); y != x {
		t.Error("dropout in inference is not the identity")
	}
	y := d.Forward(x, true)
	var sum float64
	zeros := 0
	for _, v := range y.Data {
		sum += float64(v)
		if v == 0 {
			zeros++
		}
	}
	if f := float64(zeros) / float64(len(y.Data)); math.Abs(f-0.3) > 0.02 {
		t.Errorf("dropped fraction %.3f, want 0.3", f)
	}
	if mean := sum / float64(len(y.Data)); math.Abs(mean-1) > 0.03 {
		t.Errorf("mean after inverted dropout %.3f, want 1 (expectation kept)", mean)
	}
	dy := tensor.New(200, 50)
	for i := range dy.Data {
		dy.Data[i] = 2
	}
	dx := d.Backward(dy)
	for i := range dx.Data {
		if (y.Data[i] == 0) != (dx.Data[i] == 0) {
			t.Fatal("dropout's gradient mask differs from its forward mask")
		}
	}
}

func TestBatchNormRunningStats(t *testing.T) {
	b := NewBatchNorm("bn", 2)
	x := tensor.FromSlice([]float32{1, 10, 3, 20, 5, 30}, 3, 2)
	for range 200 {
		b.Forward(x, true)
	}
	if m, v := b.RunningMean.Value.Data, b.RunningVar.Value.Data; math.Abs(float64(m[0])-3) > 1e-3 || math.Abs(float64(v[0])-4) > 1e-3 || math.Abs(float64(m[1])-20) > 1e-2 {
		t.Errorf("running mean %v var %v, want [3 20] and [4 100] (unbiased)", m, v)
	}
	y := b.Forward(x, false) // inference uses the running statistics
	if got := y.Data[0]; math.Abs(float64(got)-(1-3)/math.Sqrt(4+1e-5)) > 1e-4 {
		t.Errorf("inference output %g, want (1-3)/2", got)
	}
}

// TestWorkersGiveSameResults runs layers whose loops split on kernels.Parallel's workers
// on inputs large enough to split, and compares with one worker: the split must neither
// lose nor move anything.
func TestWorkersGiveSameResults(t *testing.T) {
	defer kernels.SetWorkers(kernels.Workers())
	rng := testRNG()
	x := randTensor(rng, 1, 4, 64, 26, 26)
	dy := randTensor(rng, 1, 4, 64, 13, 13)
	layers := map[string]func() Layer{
		"maxpool":   func() Layer { return NewMaxPool2D(2) },
		"relu":      func() Layer { return NewReLU() },
		"batchnorm": func() Layer { return NewBatchNorm("bn", 64) },
	}
	for name, make := range layers {
		t.Run(name, func(t *testing.T) {
			var ys, dxs [2][]float32
			for i, workers := range []int{1, 2} {
				kernels.SetWorkers(workers)
				l := make()
				y := l.Forward(x, true)
				g := dy
				if y.Len() != dy.Len() {
					g = randTensor(rand.New(rand.NewPCG(3, 4)), 1, y.Shape...)
				}
				ys[i] = append([]float32(nil), y.Data...)
				dxs[i] = append([]float32(nil), l.Backward(g).Data...)
			}
			for i := range ys[0] {
				if ys[0][i] != ys[1][i] {
					t.Fatalf("output %d: %g with one worker, %g with two", i, ys[0][i], ys[1][i])
				}
			}
			for i := range dxs[0] {
				if dxs[0][i] != dxs[1][i] {
					t.Fatalf("input gradient %d: %g with one worker, %g with two", i, dxs[0][i], dxs[1][i])
				}
			}
		})
	}
}

// TestWinogradMatchesGEMM runs a layer the size of a real one both ways, forward and
// backward, on one and two workers: Winograd must give GEMM's output and gradients to
// float32 accuracy (F(4×4)'s transforms cost a few bits, no more).
func TestWinogradMatchesGEMM(t *testing.T) {
	defer kernels.SetWorkers(kernels.Workers())
	rng := testRNG()
	x := randTensor(rng, 1, 5, 16, 13, 11)
	dy := randTensor(rng, 1, 5, 24, 13, 11)
	for _, tc := range []struct{ m, k int }{{2, 3}, {4, 3}, {6, 3}, {2, 5}} {
		m, k := tc.m, tc.k
		for _, workers := range []int{1, 2} {
			// training keeps forward's input tiles for backward; otherwise backward makes them again
			training := workers == 1
			t.Run(fmt.Sprintf("F(%dx%d, %dx%d) workers %d training %v", m, m, k, k, workers, training), func(t *testing.T) {
				kernels.SetWorkers(workers)
				var y, dx, dW, dB [2][]float32
				for i, algo := range []ConvAlgorithm{ConvGEMM, ConvWinograd} {
					c := NewConv2D("c", 16, 24, k, 1, k/2)
					c.Initialize(InitHeNormal, rand.New(rand.NewPCG(2, 2)))
					fillNormal(c.B.Value.Data, 1, rand.New(rand.NewPCG(3, 3)))
					c.Algorithm, c.winogradM = algo, m
					if k == 5 {
						c.winogradM = 0 // one tile size for 5×5
					}
					y[i] = append([]float32(nil), c.Forward(x, training).Data...)
					dx[i] = append([]float32(nil), c.Backward(dy).Data...)
					dW[i], dB[i] = c.W.Grad.Data, c.B.Grad.Data
				}
				sameConvResults(t, "Winograd", y, dx, dW, dB)
			})
		}
	}
}

// sameConvResults fails where the second of two runs of a convolution (index 1, by
// algo) differs from the first (GEMM's) by more than float32 rounding: 1e-5 of the
// largest value of its output, input gradient, weight or bias gradient.
func sameConvResults(t *testing.T, algo string, y, dx, dW, dB [2][]float32) {
	t.Helper()
	for _, v := range []struct {
		name string
		got  []float32
		want []float32
	}{{"output", y[1], y[0]}, {"input gradient", dx[1], dx[0]}, {"weight gradient", dW[1], dW[0]}, {"bias gradient", dB[1], dB[0]}} {
		var worst, scale float64
		for i := range v.want {
			worst = max(worst, math.Abs(float64(v.got[i]-v.want[i])))
			scale = max(scale, math.Abs(float64(v.want[i])))
		}
		if worst > 1e-5*scale {
			t.Errorf("%s: %s differs from GEMM by up to %.3g (largest value %.3g)", v.name, algo, worst, scale)
		}
	}
}

// TestDirectMatchesGEMM: oneDNN's direct convolution (training passes) gives im2col's
// output and gradients to float32 accuracy, on layers the size of real ones, with
// padding and strides, on one and two workers.
func TestDirectMatchesGEMM(t *testing.T) {
	if err := kernels.ConvF32(); err != nil {
		t.Skip(err)
	}
	defer kernels.SetWorkers(kernels.Workers())
	rng := testRNG()
	for _, tc := range []struct{ C, k, s, p int }{{16, 3, 1, 1}, {16, 5, 1, 0}, {16, 5, 2, 2}, {3, 5, 1, 2}, {8, 1, 1, 0}} {
		x := randTensor(rng, 1, 5, tc.C, 13, 11)
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%d channels k%d s%d p%d workers %d", tc.C, tc.k, tc.s, tc.p, workers), func(t *testing.T) {
				kernels.SetWorkers(workers)
				var y, dx, dW, dB [2][]float32
				var dy *tensor.Tensor
				for i, algo := range []ConvAlgorithm{ConvGEMM, ConvDirect} {
					c := NewConv2D("c", tc.C, 24, tc.k, tc.s, tc.p)
					c.Initialize(InitHeNormal, rand.New(rand.NewPCG(2, 2)))
					fillNormal(c.B.Value.Data, 1, rand.New(rand.NewPCG(3, 3)))
					c.Algorithm = algo
					out := c.Forward(x, true)
					if algo == ConvDirect && !c.direct {
						t.Fatalf("ConvDirect ran without oneDNN (refused: %v)", c.f32Refused)
					}
					y[i] = append([]float32(nil), out.Data...)
					if dy == nil {
						dy = randTensor(rand.New(rand.NewPCG(4, 4)), 1, out.Shape...)
					}
					dx[i] = append([]float32(nil), c.Backward(dy).Data...)
					dW[i], dB[i] = c.W.Grad.Data, c.B.Grad.Data
				}
				sameConvResults(t, "direct", y, dx, dW, dB)
			})
		}
	}
}

// TestConvAutoTrainsDirect: with oneDNN's fp32 convolutions, ConvAuto trains the
// default CNN preset's second convolution (16→32 5×5) by them, and its first (one
// input channel) by im2col; PyTorch's example network keeps Winograd F(6×6) for its
// 32→64 3×3 layer on 26×26, and any network predicts without them.
func TestConvAutoTrainsDirect(t *testing.T) {
	if err := kernels.ConvF32(); err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		arch   string
		direct []bool // each convolution's, in order
	}{{"cnn", []bool{false, true}}, {"examples", []bool{false, false}}, {"lenet5", []bool{false, true}}} {
		spec, err := Builtin(tc.arch, "softmax", "ce", InitHeNormal)
		if err != nil {
			t.Fatal(err)
		}
		net, err := spec.BuildFrom(rand.NewPCG(1, 1))
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(testRNG(), 1, 4, 1, 28, 28)
		net.TrainBatch(x, []int{1, 2, 3, 4})
		var got []bool
		for _, l := range net.Layers {
			if c, ok := l.(*Conv2D); ok {
				got = append(got, c.direct)
			}
		}
		if !slices.Equal(got, tc.direct) {
			t.Errorf("%s: convolutions trained direct %v, want %v", tc.arch, got, tc.direct)
		}
		net.Predict(x)
		for _, l := range net.Layers {
			if c, ok := l.(*Conv2D); ok && c.direct {
				t.Errorf("%s: %s predicted by oneDNN's direct convolution", tc.arch, c)
			}
		}
	}
}

func TestParseConvAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ConvAlgorithm
		ok   bool
	}{{"", ConvAuto, true}, {"auto", ConvAuto, true}, {"gemm", ConvGEMM, true}, {"winograd", ConvWinograd, true}, {"direct", ConvDirect, true}, {"portable", ConvPortable, true}, {"fft", 0, false}} {
		got, err := ParseConvAlgorithm(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseConvAlgorithm(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && tc.in != "" && got.String() != tc.in {
			t.Errorf("%q parses to %v, which prints as %q", tc.in, got, got.String())
		}
	}
}

// TestDropoutMasksFollowTheSeed pins the masks to the definition, rng.Float64() < P
// drops, whether the layer draws through its rng or straight from its source: the
// faster draw must not change any seeded run.
func TestDropoutMasksFollowTheSeed(t *testing.T) {
	x := tensor.New(3, 1000)
	for i := range x.Data {
		x.Data[i] = 1
	}
	for _, p := range []float64{0.25, 0.5, 0.3} {
		ref := rand.New(rand.NewPCG(7, p2u(p)))
		want := make([]bool, x.Len())
		for i := range want {
			want[i] = ref.Float64() < p
		}
		for _, direct := range []bool{false, true} {
			src := rand.NewPCG(7, p2u(p))
			d := NewDropout(p, rand.New(src))
			net := &Network{Layers: []Layer{d}}
			if direct {
				net.SetRandomSource(src)
			}
			y := d.Forward(x, true)
			for i, drop := range want {
				if (y.Data[i] == 0) != drop {
					t.Fatalf("p %g, direct %v: value %d dropped %v, want %v", p, direct, i, y.Data[i] == 0, drop)
				}
			}
		}
	}
}

func p2u(p float64) uint64 { return math.Float64bits(p) }

// TestConvEmptyBatch: a batch of no images goes through both algorithms and leaves the
// gradients alone.
func TestConvEmptyBatch(t *testing.T) {
	for _, algo := range []ConvAlgorithm{ConvGEMM, ConvWinograd} {
		c := NewConv2D("c", 8, 4, 3, 1, 1)
		c.Algorithm = algo
		y := c.Forward(tensor.New(0, 8, 5, 5), true)
		if want := []int{0, 4, 5, 5}; fmt.Sprint(y.Shape) != fmt.Sprint(want) {
			t.Fatalf("%v: output shape %v, want %v", algo, y.Shape, want)
		}
		c.Backward(tensor.New(0, 4, 5, 5))
		for _, v := range c.W.Grad.Data {
			if v != 0 {
				t.Fatalf("%v: weight gradient %g from an empty batch", algo, v)
			}
		}
	}
}

// TestWinogradTileChoice: F(4×4) for the usual map sizes, F(2×2) where F(4×4)'s tiles
// would mostly hang over the edge, F(6×6) where its tiles fit a large map well.
func TestWinogradTileChoice(t *testing.T) {
	for _, tc := range []struct{ out, wantM int }{{24, 6}, {18, 6}, {30, 6}, {28, 4}, {32, 4}, {14, 4}, {10, 4}, {8, 4}, {6, 2}, {5, 2}, {3, 4}, {2, 2}} {
		c := NewConv2D("c", 16, 16, 3, 1, 1)
		c.outH, c.outW = tc.out, tc.out
		if got := c.plan().m; got != tc.wantM {
			t.Errorf("%d×%d output: F(%d×%d), want F(%d×%d)", tc.out, tc.out, got, got, tc.wantM, tc.wantM)
		}
	}
}

// TestPCGJump pins pcgJump against stepping math/rand/v2's PCG.
func TestPCGJump(t *testing.T) {
	for _, k := range []uint64{0, 1, 2, 3, 64, 1000, 12345} {
		src := rand.NewPCG(0x1234, 0x5678)
		for range k {
			src.Uint64()
		}
		if got, want := pcgJump(u128{0x1234, 0x5678}, k), pcgState(src); got != want {
			t.Errorf("%d steps: jump gives %x, stepping %x", k, got, want)
		}
	}
}

// TestDropoutOnWorkersKeepsTheStream: split over two workers, dropout draws the masks
// the serial stream gives and leaves the source where the serial draws would.
func TestDropoutOnWorkersKeepsTheStream(t *testing.T) {
	defer kernels.SetWorkers(kernels.Workers())
	x := tensor.New(4, 30001)
	for i := range x.Data {
		x.Data[i] = 1
	}
	ref := rand.New(rand.NewPCG(5, 6))
	want := make([]bool, x.Len())
	for i := range want {
		want[i] = ref.Float64() < 0.4
	}
	kernels.SetWorkers(2)
	src := rand.NewPCG(5, 6)
	d := NewDropout(0.4, rand.New(src))
	(&Network{Layers: []Layer{d}}).SetRandomSource(src)
	y := d.Forward(x, true)
	for i, drop := range want {
		if (y.Data[i] == 0) != drop {
			t.Fatalf("value %d dropped %v, want %v", i, y.Data[i] == 0, drop)
		}
	}
	if got, next := src.Uint64(), ref.Uint64(); got != next {
		t.Errorf("after dropout the source draws %x, the serial stream %x", got, next)
	}
}

// TestFusedReLUIsExact: a convolution that applies the ReLU after it, and the max
// pooling after that (Spec.Build fuses them), gives the same losses and gradients to
// the bit as the layers run apart, by GEMM and Winograd, on one and two workers, with a
// pooled map that divides evenly and one that does not; inference is left unfused, so
// the ReLU layer still sees pre-activations there.
func TestFusedReLUIsExact(t *testing.T) {
	defer kernels.SetWorkers(kernels.Workers())
	for _, size := range []int{12, 13} {
		spec := Spec{Input: []int{3, size, size}, Output: "softmax", Loss: "ce", Init: InitHeNormal, Layers: []LayerSpec{
			{Type: "conv2d", Out: 8, Kernel: 3}, {Type: "relu"}, {Type: "conv2d", Out: 16, Kernel: 3, Padding: 1}, {Type: "relu"},
			{Type: "maxpool", Kernel: 2}, {Type: "conv2d", Out: 8, Kernel: 3, Padding: 1}, {Type: "relu"},
			{Type: "flatten"}, {Type: "dense", Out: 10},
		}}
		x := randTensor(testRNG(), 1, 5, 3, size, size)
		labels := []int{1, 2, 3, 4, 5}
		for _, algo := range []ConvAlgorithm{ConvGEMM, ConvWinograd, ConvDirect} {
			if algo == ConvDirect && kernels.ConvF32() != nil {
				continue
			}
			for _, workers := range []int{1, 2} {
				kernels.SetWorkers(workers)
				name := fmt.Sprintf("%d×%d, %v, %d workers", size, size, algo, workers)
				var losses [2]float64
				var grads [2][]float32
				for i, fused := range []bool{true, false} {
					net, err := spec.BuildFrom(rand.NewPCG(4, 4))
					if err != nil {
						t.Fatal(err)
					}
					net.SetConvAlgorithm(algo)
					if !fused {
						net.training = nil // every layer on its own
					} else if len(net.training) != 5 {
						t.Fatalf("Spec.Build made the training layers %v, want the three convolutions fused with their ReLUs (and pooling)", net.training)
					} else if f, ok := net.training[1].(*ConvReLU); !ok || f.Conv != net.Layers[2] || f.ReLU != net.Layers[3] || f.Pool != net.Layers[4] {
						t.Fatalf("the second training layer is %v, want the second convolution, its ReLU and the pooling as one", net.training[1])
					}
					losses[i], _ = net.TrainBatch(x, labels)
					for _, p := range net.Params() {
						grads[i] = append(grads[i], p.Grad.Data...)
					}
					if fused {
						if got := net.ran; len(got) != 5 {
							t.Fatalf("%s: training ran %d layers, want the 5 fused ones", name, len(got))
						}
						net.Forward(x, false)
						if len(net.ran) != len(net.Layers) {
							t.Fatalf("%s: fused in inference", name)
						}
					}
				}
				if losses[0] != losses[1] {
					t.Errorf("%s: loss %v fused, %v apart", name, losses[0], losses[1])
				}
				if !slices.Equal(grads[0], grads[1]) {
					t.Errorf("%s: gradients differ between fused and apart", name)
				}
			}
		}
	}
}
