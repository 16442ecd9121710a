// Package bench measures digitnet's speed on the work the issue tracker names and runs
// the PyTorch peer scripts on the same machine in the same run, so figures are compared
// as ratios, never as lone absolute times.
package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

// MNIST is the data every measurement uses, scaled to [0,1] (the seed run uses raw).
type MNIST struct {
	Train, Test *dataset.Set
}

func (m MNIST) data(s *dataset.Set, scale float32, shape []int) *train.Bytes {
	return &train.Bytes{Pixels: s.Images, Labels: s.Labels, ExampleShape: shape, Scale: scale}
}

// Epochs records each epoch's training seconds, test accuracy, and the wall time from
// the start of the run to the end of the epoch's evaluation.
type Epochs struct {
	Secs, Acc, Wall []float64
	start           time.Time
}

func (e *Epochs) StartEpoch(epoch, _, _ int) {
	if epoch == 1 {
		e.start = time.Now()
	}
}
func (e *Epochs) Progress(int, float64) {}
func (e *Epochs) EndEpoch(ep train.Epoch) {
	e.Secs = append(e.Secs, ep.Seconds)
	e.Acc = append(e.Acc, ep.TestAccuracy)
	e.Wall = append(e.Wall, time.Since(e.start).Seconds())
}

// ToTarget returns the training seconds and wall seconds until the test accuracy first
// reached target; ok is false when it never did.
func (e *Epochs) ToTarget(target float64) (trainSecs, wallSecs float64, epoch int, ok bool) {
	for i, a := range e.Acc {
		trainSecs += e.Secs[i]
		if a >= target {
			return trainSecs, e.Wall[i], i + 1, true
		}
	}
	return 0, 0, 0, false
}

// Median of a non-empty slice.
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Training is one training run to measure.
type Training struct {
	MLP       nn.MLP
	Spec      *nn.Spec // when set, the network instead of MLP
	Limit     int      // when > 0, train on the first Limit images only
	Optimizer string
	LR        float64
	Batch     int
	Epochs    int
	Shuffle   bool
	Scale     float32 // pixel scaling: 1/255 or 1 (raw)
	Schedule  func(int) float64
	Seed      uint64
	// RunningTrainAccuracy skips the per-epoch pass over the training set (train
	// --train-eval running), the protocol of the PyTorch peer, which evaluates the
	// test set only.
	RunningTrainAccuracy bool
	// BF16 runs the training products of dense layers and convolutions in bf16 (train
	// --precision bf16).
	BF16 bool
}

// Run trains and returns what each epoch took.
func (t Training) Run(ctx context.Context, m MNIST) (*Epochs, error) {
	src := rand.NewPCG(t.Seed, 0x9e3779b97f4a7c15)
	rng := rand.New(src)
	var net *nn.Network
	var spec nn.Spec
	var err error
	if t.Spec != nil {
		spec = *t.Spec
		net, err = spec.BuildFrom(src) // as train builds it
	} else if net, err = t.MLP.Build(rng); err == nil {
		spec = t.MLP.Spec()
	}
	if err != nil {
		return nil, err
	}
	if t.BF16 {
		if err := net.SetBF16(true); err != nil {
			return nil, err
		}
	}
	opt, err := optim.New(t.Optimizer, t.LR)
	if err != nil {
		return nil, err
	}
	rec := &Epochs{}
	cfg := train.Config{Epochs: t.Epochs, BatchSize: t.Batch, EvalBatch: spec.EvalBatch(), Shuffle: t.Shuffle, Schedule: t.Schedule, RunningTrainAccuracy: t.RunningTrainAccuracy}
	trainSet := train.Subset(m.data(m.Train, t.Scale, spec.Input), t.Limit)
	if _, err := train.Run(ctx, net, opt, trainSet, m.data(m.Test, t.Scale, spec.Input), cfg, src, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// GemmShape is one matrix product of a training step, with how often an epoch runs it.
type GemmShape struct {
	Name           string
	TransA, TransB bool
	M, N, K        int
	Count          int
}

// FLOPs of one call.
func (g GemmShape) FLOPs() float64 { return 2 * float64(g.M) * float64(g.N) * float64(g.K) }

// MLPEpochGemms lists the products of one epoch of a Dense network with the given sizes
// on n examples in batches of batch: per layer the forward x·W, the weight gradient
// xᵀ·dy and, above the first layer, the input gradient dy·Wᵀ.
func MLPEpochGemms(sizes []int, n, batch int) []GemmShape {
	return PackedEpochGemms(sizes, n, batch, sizes[0])
}

// PackedEpochGemms is MLPEpochGemms with the first layer's products on cols input
// columns instead of all of them: the products the packed first layer runs (nn.Dense's
// SparseColumns) when a batch has cols columns with ink.
func PackedEpochGemms(sizes []int, n, batch, cols int) []GemmShape {
	var out []GemmShape
	add := func(b, count int) {
		for l := 0; l+1 < len(sizes); l++ {
			I, O := sizes[l], sizes[l+1]
			if l == 0 {
				I = cols
			}
			out = append(out,
				GemmShape{fmt.Sprintf("fwd %dx%d·%dx%d", b, I, I, O), false, false, b, O, I, count},
				GemmShape{fmt.Sprintf("dW %dx%dᵀ·%dx%d", b, I, b, O), true, false, I, O, b, count})
			if l > 0 {
				out = append(out, GemmShape{fmt.Sprintf("dx %dx%d·%dx%dᵀ", b, O, I, O), false, true, b, I, O, count})
			}
		}
	}
	add(batch, n/batch)
	if r := n % batch; r > 0 {
		add(r, 1)
	}
	return out
}

// BF16GemmSeconds is GemmSeconds for the products in bf16 (kernels.GemmBF16; call
// kernels.BF16 first).
func BF16GemmSeconds(shapes []GemmShape) (secs, flops float64) {
	rng := rand.New(rand.NewPCG(2, 2))
	fill := func(n int) []uint16 {
		b := make([]uint16, n)
		kernels.ToBF16(b, normals(rng, n))
		return b
	}
	return shapeSeconds(shapes, func(g GemmShape, lda, ldb int) func() {
		a, b, c := fill(g.M*g.K), fill(g.K*g.N), make([]float32, g.M*g.N)
		return func() { kernels.GemmBF16(g.TransA, g.TransB, g.M, g.N, g.K, a, lda, b, ldb, true, c, g.N) }
	})
}

// bf16Cols is the packed first layer's column count in bf16 for cols columns with ink:
// padded to a multiple of 64 (nn's bf16Columns).
func bf16Cols(cols float64) int { return min(784, (int(math.Round(cols))+63)/64*64) }

// MeanNonzeroColumns is the mean number of columns with a nonzero pixel in the batches
// of one shuffled epoch over images (rows of dim bytes): how much of the first layer's
// products the packed path keeps.
func MeanNonzeroColumns(images []uint8, dim, batch int, seed uint64) float64 {
	n := len(images) / dim
	order := rand.New(rand.NewPCG(seed, 3)).Perm(n)
	seen := make([]bool, dim)
	total, batches := 0, 0
	for lo := 0; lo < n; lo += batch {
		clear(seen)
		for _, i := range order[lo:min(lo+batch, n)] {
			for j, v := range images[i*dim : (i+1)*dim] {
				if v != 0 {
					seen[j] = true
				}
			}
		}
		for _, s := range seen {
			if s {
				total++
			}
		}
		batches++
	}
	return float64(total) / float64(max(batches, 1))
}

// GemmSeconds times each product on this machine (best of a few repeats of ~reps calls)
// and returns the seconds the whole list takes at that speed, with the total FLOPs.
func GemmSeconds(shapes []GemmShape) (secs, flops float64) {
	rng := rand.New(rand.NewPCG(2, 2))
	return shapeSeconds(shapes, func(g GemmShape, lda, ldb int) func() {
		a, b, c := normals(rng, g.M*g.K), normals(rng, g.K*g.N), normals(rng, g.M*g.N)
		return func() { kernels.Gemm(g.TransA, g.TransB, g.M, g.N, g.K, 1, a, lda, b, ldb, 1, c, g.N) }
	})
}

// shapeSeconds times each product (the call prepare returns for it, given the operands'
// strides), best of 5 repeats of ~reps calls, and returns the seconds the list takes at
// that speed with its FLOPs.
func shapeSeconds(shapes []GemmShape, prepare func(g GemmShape, lda, ldb int) func()) (secs, flops float64) {
	for _, g := range shapes {
		lda, ldb := g.K, g.N
		if g.TransA {
			lda = g.M
		}
		if g.TransB {
			ldb = g.K
		}
		call := prepare(g, lda, ldb)
		reps := max(3, min(200, int(2e8/g.FLOPs())))
		best := time.Duration(1 << 62)
		for range 5 {
			t0 := time.Now()
			for range reps {
				call()
			}
			best = min(best, time.Since(t0))
		}
		secs += best.Seconds() / float64(reps) * float64(g.Count)
		flops += g.FLOPs() * float64(g.Count)
	}
	return secs, flops
}

// normals is n draws of a standard normal.
func normals(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// Int8GemmRate times the u8·s8 product m×k·k×n (kernels.GemmU8S8; call kernels.Int8
// first) as GemmSeconds times its products: the seconds of one call and its operations
// (2·m·n·k).
func Int8GemmRate(m, n, k int) (secs, ops float64) {
	return shapeSeconds([]GemmShape{{Name: "u8s8", M: m, N: n, K: k, Count: 1}}, func(g GemmShape, lda, ldb int) func() {
		a, b, c := make([]uint8, m*k), make([]int8, k*n), make([]int32, m*n)
		for i := range a {
			a[i] = uint8(i * 7)
		}
		for i := range b {
			b[i] = int8(i*5 - 60)
		}
		return func() { kernels.GemmU8S8(m, n, k, a, lda, 0, b, ldb, c, n) }
	})
}

// Inference times the network's Predict on single images (median latency over many) and
// on batches of 1000 (median images per second).
func Inference(net *nn.Network, test *dataset.Set, minTime time.Duration) (latency time.Duration, perSec float64) {
	d := &train.Bytes{Pixels: test.Images, Labels: test.Labels, ExampleShape: []int{784}, Scale: 1.0 / 255}
	one := tensor.New(1, 784)
	labels := make([]int, 1000)
	var lat []float64
	for i, start := 0, time.Now(); time.Since(start) < minTime || len(lat) < 1000; i++ {
		d.Batch([]int{i % d.Len()}, one.Data, labels[:1])
		t0 := time.Now()
		net.Predict(one)
		lat = append(lat, time.Since(t0).Seconds())
	}
	big := tensor.New(1000, 784)
	idx := make([]int, 1000)
	var rates []float64
	for i, start := 0, time.Now(); time.Since(start) < minTime || len(rates) < 5; i++ {
		for j := range idx {
			idx[j] = (i*1000 + j) % d.Len()
		}
		d.Batch(idx, big.Data, labels)
		t0 := time.Now()
		net.Predict(big)
		rates = append(rates, 1000/time.Since(t0).Seconds())
	}
	return time.Duration(Median(lat) * 1e9), Median(rates)
}
