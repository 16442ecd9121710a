package bench

import (
	"context"
	"testing"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/nn"
)

func loadMNIST(tb testing.TB) MNIST {
	tb.Helper()
	tr, te, err := dataset.Load(context.Background(), dataset.Options{Dataset: "mnist"})
	if err != nil {
		tb.Fatalf("loading MNIST: %v", err)
	}
	return MNIST{Train: tr, Test: te}
}

// BenchmarkEpoch is one epoch of 784-300-10 ReLU, Adam, batch 128 on all of MNIST,
// evaluation included (about a third of the time).
func BenchmarkEpoch(b *testing.B) { benchEpoch(b, false) }

// BenchmarkEpochBF16 is BenchmarkEpoch with train --precision bf16.
func BenchmarkEpochBF16(b *testing.B) {
	if err := kernels.BF16(); err != nil {
		b.Skip(err)
	}
	benchEpoch(b, true)
}

func benchEpoch(b *testing.B, bf16 bool) {
	m := loadMNIST(b)
	t := Training{MLP: nn.MLP{Sizes: []int{784, 300, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal},
		Optimizer: "adam", LR: 1e-3, Batch: 128, Epochs: 1, Shuffle: true, Scale: 1.0 / 255, Seed: 1, BF16: bf16}
	var train float64
	for b.Loop() {
		ep, err := t.Run(context.Background(), m)
		if err != nil {
			b.Fatal(err)
		}
		train += ep.Secs[0]
	}
	b.ReportMetric(train/float64(b.N), "train-s/epoch")
}

func TestMLPEpochGemms(t *testing.T) {
	shapes := MLPEpochGemms([]int{784, 300, 10}, 60000, 128)
	// 468 full batches and one of 96: per batch 2 products for the first layer, 3 for
	// the second (it passes a gradient down).
	if len(shapes) != 10 {
		t.Fatalf("%d shapes, want 10", len(shapes))
	}
	var flops float64
	for _, s := range shapes {
		flops += s.FLOPs() * float64(s.Count)
	}
	want := 2.0 * 60000 * (784*300*2 + 300*10*3)
	if flops != want {
		t.Errorf("epoch FLOPs %g, want %g", flops, want)
	}
}

func TestEpochsToTarget(t *testing.T) {
	e := &Epochs{Secs: []float64{1, 1, 1}, Acc: []float64{0.9, 0.981, 0.99}, Wall: []float64{1.5, 3, 4.5}}
	tr, wall, epoch, ok := e.ToTarget(0.98)
	if !ok || tr != 2 || wall != 3 || epoch != 2 {
		t.Errorf("ToTarget(0.98) = %g, %g, %d, %v; want 2, 3, 2, true", tr, wall, epoch, ok)
	}
	if _, _, _, ok := e.ToTarget(0.995); ok {
		t.Error("ToTarget(0.995) reported reaching it")
	}
	if m := Median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("Median = %g, want 2.5", m)
	}
}

func TestMeanNonzeroColumns(t *testing.T) {
	images := []uint8{1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0} // three images of 4 pixels, each inked in its own
	for _, c := range []struct {
		batch int
		want  float64
	}{{1, 1}, {3, 3}, {2, 1.5}} { // batch 2: a batch of two images, one of one
		if got := MeanNonzeroColumns(images, 4, c.batch, 1); got != c.want {
			t.Errorf("batch %d: MeanNonzeroColumns = %g, want %g", c.batch, got, c.want)
		}
	}
	shapes := PackedEpochGemms([]int{784, 300, 10}, 256, 128, 500)
	if shapes[0].K != 500 || shapes[1].M != 500 || shapes[2].K != 300 {
		t.Errorf("PackedEpochGemms: first layer K %d, dW M %d, second layer K %d; want 500, 500, 300", shapes[0].K, shapes[1].M, shapes[2].K)
	}
}
