package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/digitnet/digitnet/internal/tensor"
)

func TestCNNLayerGradients(t *testing.T) {
	rng := testRNG()
	conv := func(kernel, stride, pad int) (Layer, *tensor.Tensor) {
		c := NewConv2D("c", 2, 3, kernel, stride, pad)
		fillNormal(c.W.Value.Data, 0.5, rng)
		fillNormal(c.B.Value.Data, 0.5, rng)
		return c, randTensor(rng, 1, 2, 2, 7, 6)
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
				defer tensor.SetWorkers(tensor.Workers())
				tensor.SetWorkers(workers)
				l, x := c.make()
				checkLayer(t, l, x)
			})
		}
	}
}

// TestConvMatchesDirectSum checks the im2col convolution against its definition, for
// several kernel, stride and padding combinations and with the batch split on workers.
func TestConvMatchesDirectSum(t *testing.T) {
	for _, tc := range []struct{ k, s, p, workers int }{
		{3, 2, 1, 1}, {3, 1, 0, 2}, {5, 1, 2, 2}, {5, 3, 2, 1}, {1, 1, 0, 2}, {2, 2, 0, 1}, {4, 1, 3, 2},
	} {
		t.Run(fmt.Sprintf("k%d s%d p%d workers %d", tc.k, tc.s, tc.p, tc.workers), func(t *testing.T) {
			defer tensor.SetWorkers(tensor.Workers())
			tensor.SetWorkers(tc.workers)
			rng := testRNG()
			N, C, H, W, O, k, s, p := 3, 2, 5, 6, 3, tc.k, tc.s, tc.p
			c := NewConv2D("c", C, O, k, s, p)
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

// TestWorkersGiveSameResults runs layers whose loops split on tensor.Parallel's workers
// on inputs large enough to split, and compares with one worker: the split must neither
// lose nor move anything.
func TestWorkersGiveSameResults(t *testing.T) {
	defer tensor.SetWorkers(tensor.Workers())
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
				tensor.SetWorkers(workers)
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
