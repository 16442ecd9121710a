package nn

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// mnistLikeBatch is n sparse inputs in [0,1], about a fifth nonzero like MNIST digits.
func mnistLikeBatch(rng *rand.Rand, n int) *tensor.Tensor {
	x := tensor.New(n, 784)
	for i := range x.Data {
		if rng.Float64() < 0.19 {
			x.Data[i] = rng.Float32()
		}
	}
	return x
}

func benchNet(b *testing.B, act string) *Network {
	net, err := MLP{Sizes: []int{784, 300, 10}, Activation: act, Output: "softmax", Loss: "ce", Init: InitGlorotUniform}.Build(testRNG())
	if err != nil {
		b.Fatal(err)
	}
	return net
}

func BenchmarkPredict(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(map[int]string{1: "batch1", 1000: "batch1000"}[n], func(b *testing.B) {
			net := benchNet(b, "sigmoid")
			x := mnistLikeBatch(testRNG(), n)
			for b.Loop() {
				net.Predict(x)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

func BenchmarkTrainBatch128(b *testing.B) {
	net := benchNet(b, "relu")
	x := mnistLikeBatch(testRNG(), 128)
	labels := make([]int, 128)
	for i := range labels {
		labels[i] = i % 10
	}
	for b.Loop() {
		net.TrainBatch(x, labels)
		net.ZeroGrad()
	}
}

func BenchmarkLayers(b *testing.B) {
	rng := testRNG()
	x := mnistLikeBatch(rng, 128)
	d := NewDense("d", 784, 300)
	d.Initialize(InitHeNormal, rng)
	h := randTensor(rng, 1, 128, 300)
	dy := randTensor(rng, 1, 128, 300)
	layers := []struct {
		name string
		l    Layer
		in   *tensor.Tensor
	}{
		{"Dense784x300", d, x},
		{"Sigmoid", NewSigmoid(), h},
		{"Tanh", NewTanh(), h},
		{"ReLU", NewReLU(), h},
	}
	for _, c := range layers {
		b.Run(c.name+"/forward", func(b *testing.B) {
			for b.Loop() {
				c.l.Forward(c.in, true)
			}
		})
		b.Run(c.name+"/backward", func(b *testing.B) {
			c.l.Forward(c.in, true)
			for b.Loop() {
				c.l.Backward(dy)
			}
		})
	}
	b.Run("SoftmaxCrossEntropy", func(b *testing.B) {
		z := randTensor(rng, 1, 128, 10)
		labels := make([]int, 128)
		l := &SoftmaxCrossEntropy{}
		for b.Loop() {
			l.Forward(z, labels)
			l.Backward()
		}
	})
}

// asTrainRunsCNNs sets the cores up as `train` does for a network with convolutions
// (workers each driving a single-threaded BLAS) until the benchmark ends.
func asTrainRunsCNNs(b *testing.B, workers int) {
	threads, was := kernels.Threads(), kernels.Workers()
	b.Cleanup(func() {
		kernels.SetThreads(threads)
		kernels.SetWorkers(was)
	})
	kernels.SetThreads(1)
	kernels.SetWorkers(workers)
}

// BenchmarkConv times the PyTorch example network's second convolution (32→64 3×3 on
// 26×26, batch 64), forward and backward, by GEMM, by Winograd F(2×2), F(4×4) and F(6×6),
// and in bf16 (oneDNN; where it runs), with the batch on one or two workers (each with a single-threaded BLAS, as `train`
// runs CNNs). GFLOP/s counts the direct convolution's arithmetic, so Winograd's figure
// is an effective rate.
func BenchmarkConv(b *testing.B) {
	asTrainRunsCNNs(b, 1)
	rng := testRNG()
	c := NewConv2D("c", 32, 64, 3, 1, 0)
	c.W.Value.Data = randTensor(rng, 0.1, 64, 32, 3, 3).Data
	x := randTensor(rng, 1, 64, 32, 26, 26)
	dy := randTensor(rng, 1, 64, 64, 24, 24)
	flops := 2.0 * 64 * 24 * 24 * 64 * 32 * 9 // one product of the three
	for _, algo := range []struct {
		name string
		a    ConvAlgorithm
		m    int
		bf16 bool
	}{{"gemm", ConvGEMM, 0, false}, {"winograd2", ConvWinograd, 2, false}, {"winograd4", ConvWinograd, 4, false},
		{"winograd6", ConvWinograd, 6, false}, {"bf16", ConvAuto, 0, true}} {
		if algo.bf16 && kernels.BF16() != nil {
			continue
		}
		c.Algorithm, c.winogradM, c.BF16 = algo.a, algo.m, algo.bf16
		for _, workers := range []int{1, 2} {
			kernels.SetWorkers(workers)
			b.Run(fmt.Sprintf("%s/forward/%dworkers", algo.name, workers), func(b *testing.B) {
				for b.Loop() {
					c.Forward(x, true)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			b.Run(fmt.Sprintf("%s/backward/%dworkers", algo.name, workers), func(b *testing.B) {
				c.Forward(x, true)
				for b.Loop() {
					c.Backward(dy)
				}
				b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkConvAlgorithms times a training pass (forward and backward) of layers from
// the built-in and example networks, on two workers, by oneDNN's direct convolution
// against what ConvAuto used before it (ConvPortable: Winograd or im2col): the
// measurements behind Conv2D.directF32's choice. GFLOP/s counts the direct
// convolution's arithmetic.
func BenchmarkConvAlgorithms(b *testing.B) {
	if err := kernels.ConvF32(); err != nil {
		b.Skip(err)
	}
	asTrainRunsCNNs(b, 2)
	rng := testRNG()
	for _, tc := range []struct{ N, C, O, H, K, S, P int }{
		{128, 1, 16, 28, 5, 1, 2}, {128, 16, 32, 14, 5, 1, 0}, // --model cnn
		{64, 1, 32, 28, 3, 1, 0}, {64, 32, 64, 26, 3, 1, 0}, // examples
		{128, 3, 16, 28, 5, 1, 2}, {128, 6, 16, 14, 5, 1, 0}, // lenet5's second
		{128, 32, 32, 26, 3, 1, 0}, {128, 32, 32, 24, 5, 2, 2}, {128, 32, 64, 12, 3, 1, 0}, {128, 64, 64, 10, 3, 1, 0}, {128, 64, 64, 8, 5, 2, 2}, // cnn-6conv-bn
		{128, 32, 32, 28, 3, 1, 1}, {128, 64, 64, 14, 3, 1, 1}, {128, 16, 16, 28, 3, 1, 1}, // cnn-vgg4-bn and smaller
	} {
		c := NewConv2D("c", tc.C, tc.O, tc.K, tc.S, tc.P)
		c.W.Value.Data = randTensor(rng, 0.1, tc.O, tc.C, tc.K, tc.K).Data
		OH := (tc.H+2*tc.P-tc.K)/tc.S + 1
		x, dy := randTensor(rng, 1, tc.N, tc.C, tc.H, tc.H), randTensor(rng, 1, tc.N, tc.O, OH, OH)
		flops := 3 * 2.0 * float64(tc.N*OH*OH*tc.O*tc.C*tc.K*tc.K)
		for _, algo := range []ConvAlgorithm{ConvPortable, ConvDirect} {
			c.Algorithm = algo
			b.Run(fmt.Sprintf("%dto%d-%dx%d-s%d-p%d-on%d-n%d/%s", tc.C, tc.O, tc.K, tc.K, tc.S, tc.P, tc.H, tc.N, algo), func(b *testing.B) {
				for b.Loop() {
					c.Forward(x, true)
					c.Backward(dy)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkWinogradTiles times F(4×4,3×3)'s tile transforms for one image of the
// PyTorch example network's second convolution (32 channels 26×26 in, 64 channels 24×24
// out): input, output, output gradient and input gradient.
func BenchmarkWinogradTiles(b *testing.B) {
	rng := testRNG()
	p := winogradF4
	in := kernels.Tiling{H: 26, W: 26, Size: 6, Step: 4, TH: 6, TW: 6}
	out := kernels.Tiling{H: 24, W: 24, Size: 4, Step: 4, TH: 6, TW: 6}
	x, y := randTensor(rng, 1, 32, 26, 26).Data, randTensor(rng, 1, 64, 24, 24).Data
	V, M := make([]float32, 36*32*36), make([]float32, 36*64*36)
	tmp := make([]float32, 2*36*36)
	for _, t := range []struct {
		name string
		run  func()
	}{
		{"input", func() { kernels.TilesIn(V, 32*36, 36, x, 32, in, p.BT, 6, tmp) }},
		{"output", func() { kernels.TilesOut(y, 64, out, M, 64*36, 36, p.AT, 6, tmp) }},
		{"output-gradient", func() { kernels.TilesIn(M, 64*36, 36, y, 64, out, p.A, 6, tmp) }},
		{"input-gradient", func() { kernels.TilesOut(x, 32, in, V, 32*36, 36, p.B, 6, tmp) }},
	} {
		b.Run(t.name, func(b *testing.B) {
			for b.Loop() {
				t.run()
			}
		})
	}
}

// exampleCNN is PyTorch's examples/mnist network (conv 32, conv 64, max pool, dropout,
// dense 128, dropout, dense 10), built with its dropout drawing straight from its source
// as `train` builds it.
func exampleCNN(b *testing.B) *Network {
	spec := Spec{Input: []int{1, 28, 28}, Output: "softmax", Loss: "ce", Init: InitHeNormal, Layers: []LayerSpec{
		{Type: "conv2d", Out: 32, Kernel: 3}, {Type: "relu"}, {Type: "conv2d", Out: 64, Kernel: 3}, {Type: "relu"},
		{Type: "maxpool", Kernel: 2}, {Type: "dropout", P: 0.25}, {Type: "flatten"},
		{Type: "dense", Out: 128}, {Type: "relu"}, {Type: "dropout", P: 0.5}, {Type: "dense", Out: 10},
	}}
	net, err := spec.BuildFrom(rand.NewPCG(1, 1))
	if err != nil {
		b.Fatal(err)
	}
	return net
}

// BenchmarkExampleCNNStep times one training step (forward, backward; no optimizer)
// of PyTorch's example network on a batch of 64, on two workers, by each convolution
// algorithm, and in bf16 (train --precision bf16).
func BenchmarkExampleCNNStep(b *testing.B) {
	asTrainRunsCNNs(b, 2)
	x := randTensor(testRNG(), 1, 64, 1, 28, 28)
	labels := make([]int, 64)
	for i := range labels {
		labels[i] = i % 10
	}
	for _, algo := range []ConvAlgorithm{ConvGEMM, ConvWinograd} {
		b.Run(algo.String(), func(b *testing.B) {
			net := exampleCNN(b)
			net.SetConvAlgorithm(algo)
			for b.Loop() {
				net.TrainBatch(x, labels)
				net.ZeroGrad()
			}
		})
	}
	b.Run("bf16", func(b *testing.B) {
		net := exampleCNN(b)
		if err := net.SetBF16(true); err != nil {
			b.Skip(err)
		}
		for b.Loop() {
			net.TrainBatch(x, labels)
			net.ZeroGrad()
		}
	})
}

// BenchmarkExampleCNNLayers splits BenchmarkExampleCNNStep's Winograd step by layer:
// each layer's forward and backward milliseconds a step, as metrics named after the
// layer's place, e.g. 2-Conv2D-fwd-ms.
func BenchmarkExampleCNNLayers(b *testing.B) {
	benchLayers(b, exampleCNN(b), 64)
}

// BenchmarkCNNPresetLayers splits a training step of the default CNN preset
// (`train --model cnn`, batch 128) by layer, as BenchmarkExampleCNNLayers does.
func BenchmarkCNNPresetLayers(b *testing.B) {
	spec, err := Builtin("cnn", "softmax", "ce", InitHeNormal)
	if err != nil {
		b.Fatal(err)
	}
	net, err := spec.BuildFrom(rand.NewPCG(1, 1))
	if err != nil {
		b.Fatal(err)
	}
	benchLayers(b, net, 128)
}

// benchLayers reports each layer's forward and backward milliseconds a training step
// of batch n on two workers, as metrics named after the layer's place.
func benchLayers(b *testing.B, net *Network, n int) {
	asTrainRunsCNNs(b, 2)
	x := randTensor(testRNG(), 1, n, 1, 28, 28)
	labels := make([]int, n)
	fwd, bwd := make([]time.Duration, len(net.Layers)), make([]time.Duration, len(net.Layers))
	for b.Loop() {
		h := x
		for i, l := range net.Layers {
			t0 := time.Now()
			h = l.Forward(h, true)
			fwd[i] += time.Since(t0)
		}
		net.Loss.Forward(h, labels)
		d := net.Loss.Backward()
		for i := len(net.Layers) - 1; i >= 0 && d != nil; i-- {
			t0 := time.Now()
			d = net.Layers[i].Backward(d)
			bwd[i] += time.Since(t0)
		}
		net.ZeroGrad()
	}
	for i, l := range net.Layers {
		name := strings.Fields(l.String())[0]
		name = name[:strings.IndexAny(name+"(", "(")]
		for _, m := range []struct {
			what string
			d    time.Duration
		}{{"fwd", fwd[i]}, {"bwd", bwd[i]}} {
			if ms := m.d.Seconds() * 1e3 / float64(b.N); ms >= 0.05 {
				b.ReportMetric(ms, fmt.Sprintf("%d-%s-%s-ms", i+1, name, m.what))
			}
		}
	}
}

// BenchmarkWinogradTileSizes times F(4×4) against F(6×6) (forward and backward, batch
// 128, two workers) on the map sizes the tile choice in Conv2D.plan was set from.
func BenchmarkWinogradTileSizes(b *testing.B) {
	asTrainRunsCNNs(b, 2)
	rng := testRNG()
	for _, tc := range []struct{ C, O, H, pad int }{{32, 32, 28, 1}, {32, 32, 26, 0}, {64, 64, 14, 1}, {32, 64, 12, 0}} {
		c := NewConv2D("c", tc.C, tc.O, 3, 1, tc.pad)
		c.W.Value.Data = randTensor(rng, 0.1, tc.O, tc.C, 3, 3).Data
		OH := tc.H + 2*tc.pad - 2
		x, dy := randTensor(rng, 1, 128, tc.C, tc.H, tc.H), randTensor(rng, 1, 128, tc.O, OH, OH)
		for _, m := range []int{4, 6} {
			c.Algorithm, c.winogradM = ConvWinograd, m
			b.Run(fmt.Sprintf("%dto%d-%dx%d/F%d", tc.C, tc.O, OH, OH, m), func(b *testing.B) {
				for b.Loop() {
					c.Forward(x, true)
					c.Backward(dy)
				}
			})
		}
	}
}

// digitLikeBatch is n inputs shaped like MNIST digits: ink (a fifth of the pixels, in
// [0,1]) only inside a 20×20 box placed within two pixels of the centre, so a batch
// has zero columns at the border, about a quarter of them at batch 128 (MNIST: a third).
func digitLikeBatch(rng *rand.Rand, n int) *tensor.Tensor {
	x := tensor.New(n, 784)
	for i := 0; i < n; i++ {
		top, left := 2+rng.IntN(5), 2+rng.IntN(5)
		for r := top; r < top+20; r++ {
			for c := left; c < left+20; c++ {
				if rng.Float64() < 0.3 {
					x.Data[i*784+r*28+c] = rng.Float32()
				}
			}
		}
	}
	return x
}

// BenchmarkDenseColumns: a training step of 784-300-10 ReLU and batch-1000 inference
// on digit-like batches, with the first layer leaving out the all-zero columns
// (packed, the default) and without (dense).
func BenchmarkDenseColumns(b *testing.B) {
	for _, packed := range []bool{true, false} {
		name := map[bool]string{true: "packed", false: "dense"}[packed]
		b.Run("step128/"+name, func(b *testing.B) {
			net := benchNet(b, "relu")
			net.Layers[0].(*Dense).SparseColumns = packed
			x := digitLikeBatch(testRNG(), 128)
			labels := make([]int, 128)
			for b.Loop() {
				net.TrainBatch(x, labels)
				net.ZeroGrad()
			}
		})
		b.Run("predict1000/"+name, func(b *testing.B) {
			net := benchNet(b, "relu")
			net.Layers[0].(*Dense).SparseColumns = packed
			x := digitLikeBatch(testRNG(), 1000)
			for b.Loop() {
				net.Predict(x)
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}

// BenchmarkPredictCNN times batch-1000 inference of the default CNN preset's
// architecture (two 5×5 convolutions with batch norm and pooling, dense 128) in float32
// and in int8 (Quantize; where oneDNN's int8 runs), on MNIST-like images.
func BenchmarkPredictCNN(b *testing.B) {
	spec := Spec{Input: []int{1, 28, 28}, Output: "softmax", Loss: "ce", Init: InitHeNormal, Layers: []LayerSpec{
		{Type: "conv2d", Out: 16, Kernel: 5, Padding: 2}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "conv2d", Out: 32, Kernel: 5}, {Type: "batchnorm"}, {Type: "relu"}, {Type: "maxpool", Kernel: 2},
		{Type: "flatten"}, {Type: "dense", Out: 128}, {Type: "relu"}, {Type: "dense", Out: 10},
	}}
	x := mnistLikeBatch(testRNG(), 1000)
	x.Shape = []int{1000, 1, 28, 28}
	for _, int8 := range []bool{false, true} {
		b.Run(map[bool]string{false: "fp32", true: "int8"}[int8], func(b *testing.B) {
			net, err := spec.BuildFrom(rand.NewPCG(1, 1))
			if err != nil {
				b.Fatal(err)
			}
			if int8 {
				if err := kernels.Int8(); err != nil {
					b.Skip(err)
				}
				if err := net.Quantize(x); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				net.Predict(x)
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
