package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/digitnet/digitnet/internal/tensor"
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

// BenchmarkConv times the PyTorch example network's second convolution (32→64 3×3 on
// 26×26, batch 64), forward and backward, with the batch on one or two workers (each
// with a single-threaded BLAS, as `train` runs CNNs), and reports GFLOP/s.
func BenchmarkConv(b *testing.B) {
	defer tensor.SetWorkers(tensor.Workers())
	defer tensor.SetThreads(tensor.Threads())
	tensor.SetThreads(1)
	rng := testRNG()
	c := NewConv2D("c", 32, 64, 3, 1, 0)
	c.W.Value.Data = randTensor(rng, 0.1, 64, 32, 3, 3).Data
	x := randTensor(rng, 1, 64, 32, 26, 26)
	dy := randTensor(rng, 1, 64, 64, 24, 24)
	flops := 2.0 * 64 * 24 * 24 * 64 * 32 * 9 // one product of the three
	for _, workers := range []int{1, 2} {
		tensor.SetWorkers(workers)
		b.Run(map[int]string{1: "forward/1worker", 2: "forward/2workers"}[workers], func(b *testing.B) {
			for b.Loop() {
				c.Forward(x, true)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(map[int]string{1: "backward/1worker", 2: "backward/2workers"}[workers], func(b *testing.B) {
			c.Forward(x, true)
			for b.Loop() {
				c.Backward(dy)
			}
			b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
