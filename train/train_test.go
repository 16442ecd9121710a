package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
)

// floats is in-memory Data for tests.
type floats struct {
	x      []float32
	labels []int
	dim    int
}

func (f *floats) Len() int     { return len(f.labels) }
func (f *floats) Shape() []int { return []int{f.dim} }
func (f *floats) Batch(idx []int, x []float32, labels []int) {
	for j, i := range idx {
		copy(x[j*f.dim:(j+1)*f.dim], f.x[i*f.dim:(i+1)*f.dim])
		labels[j] = f.labels[i]
	}
}

var xor = &floats{x: []float32{0, 0, 0, 1, 1, 0, 1, 1}, labels: []int{0, 1, 1, 0}, dim: 2}

func TestLearnsXOR(t *testing.T) {
	cases := []struct {
		name string
		mlp  nn.MLP
		opt  string
		lr   float64
	}{
		{"2-4-2 sigmoid, softmax+ce, sgd", nn.MLP{Sizes: []int{2, 4, 2}, Activation: "sigmoid", Output: "softmax", Loss: "ce", Init: nn.InitGlorotUniform}, "sgd", 2},
		{"2-4-2 tanh, sigmoid+bce, adam", nn.MLP{Sizes: []int{2, 4, 2}, Activation: "tanh", Output: "sigmoid", Loss: "bce", Init: nn.InitGlorotUniform}, "adam", 0.05},
		{"2-8-2 relu, softmax+mse, momentum", nn.MLP{Sizes: []int{2, 8, 2}, Activation: "relu", Output: "softmax", Loss: "mse", Init: nn.InitHeNormal}, "momentum", 0.1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := rand.NewPCG(3, 4)
			rng := rand.New(src)
			net, err := c.mlp.Build(rng)
			if err != nil {
				t.Fatal(err)
			}
			opt, _ := optim.New(c.opt, c.lr)
			res, err := Run(context.Background(), net, opt, xor, xor, Config{Epochs: 2000, BatchSize: 4, Shuffle: true}, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Test.Accuracy != 1 {
				t.Errorf("XOR accuracy %g after 2000 epochs (loss %.3g), want 1; confusion %v", res.Test.Accuracy, res.LastLoss, res.Test.Confusion)
			}
			if first, last := res.History[0].Loss, res.LastLoss; !(last < first/4) {
				t.Errorf("loss went from %.3g to %.3g, want it to fall below a quarter", first, last)
			}
		})
	}
}

// blobs is a linearly separable 3-class problem, big enough for several batches.
func blobs(n int, seed uint64) *floats {
	rng := rand.New(rand.NewPCG(seed, 0))
	f := &floats{dim: 4}
	for i := range n {
		k := i % 3
		for d := range 4 {
			v := 0.3 * rng.NormFloat64()
			if d == k {
				v += 2
			}
			f.x = append(f.x, float32(v))
		}
		f.labels = append(f.labels, k)
	}
	return f
}

func runBlobs(t *testing.T, ctx context.Context, seed uint64, rec Recorder) Result {
	t.Helper()
	src := rand.NewPCG(seed, 0)
	rng := rand.New(src)
	net, err := nn.MLP{Sizes: []int{4, 8, 3}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Build(rng)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, net, optim.NewAdam(0.01), blobs(300, 1), blobs(90, 2), Config{Epochs: 5, BatchSize: 16, Shuffle: true}, src, rec)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSameSeedSameRun(t *testing.T) {
	strip := func(h []Epoch) []Epoch {
		for i := range h {
			h[i].Seconds = 0
		}
		return h
	}
	a, b := runBlobs(t, context.Background(), 7, nil), runBlobs(t, context.Background(), 7, nil)
	if !reflect.DeepEqual(strip(a.History), strip(b.History)) {
		t.Errorf("seed 7 twice gave different histories:\n%+v\n%+v", a.History, b.History)
	}
	c := runBlobs(t, context.Background(), 8, nil)
	if reflect.DeepEqual(strip(a.History), strip(c.History)) {
		t.Error("seeds 7 and 8 gave identical histories")
	}
	if a.Test.Accuracy < 0.95 {
		t.Errorf("separable blobs: test accuracy %g, want ≥ 0.95", a.Test.Accuracy)
	}
}

// cancelAfter cancels the run after some progress reports, as Ctrl-C would.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
	epochs []Epoch
}

func (c *cancelAfter) StartEpoch(epoch, epochs, examples int) {}
func (c *cancelAfter) Progress(done int, loss float64) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
}
func (c *cancelAfter) EndEpoch(e Epoch) { c.epochs = append(c.epochs, e) }

func TestInterruptStopsWithFinalReport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &cancelAfter{n: 19 + 5, cancel: cancel} // 19 batches an epoch: cancel in epoch 2
	res := runBlobs(t, ctx, 7, rec)
	if !res.Interrupted || res.EpochsDone != 1 || len(res.History) != 1 || len(rec.epochs) != 1 {
		t.Fatalf("interrupted=%v epochs done %d history %d; want true, 1, 1", res.Interrupted, res.EpochsDone, len(res.History))
	}
	if res.Test.Confusion == nil || res.Test.Accuracy == 0 {
		t.Errorf("no final metrics after the interrupt: %+v", res.Test)
	}
}

func TestBytesBatchScales(t *testing.T) {
	b := &Bytes{Pixels: []uint8{0, 255, 51, 102}, Labels: []uint8{3, 9}, ExampleShape: []int{2}, Scale: 1.0 / 255, Offset: -1}
	x, l := make([]float32, 4), make([]int, 2)
	b.Batch([]int{1, 0}, x, l)
	want := []float32{0.2 - 1, 0.4 - 1, -1, 0}
	for i := range x {
		if d := x[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Errorf("x = %v, want %v", x, want)
			break
		}
	}
	if l[0] != 9 || l[1] != 3 {
		t.Errorf("labels = %v, want [9 3]", l)
	}
	if s := Subset(b, 1); s.Len() != 1 {
		t.Errorf("Subset(b, 1).Len() = %d", s.Len())
	}
}

func TestEvaluateConfusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	net, _ := nn.MLP{Sizes: []int{2, 3, 2}, Activation: "tanh", Output: "softmax", Loss: "ce", Init: nn.InitGlorotUniform}.Build(rng)
	m := Evaluate(net, xor, 3) // batch 3 over 4 examples: a short last batch
	total, correct := 0, 0
	for i, row := range m.Confusion {
		for j, v := range row {
			total += v
			if i == j {
				correct += v
			}
		}
	}
	if total != 4 || float64(correct)/4 != m.Accuracy {
		t.Errorf("confusion %v sums to %d (want 4) with %d correct; accuracy %g", m.Confusion, total, correct, m.Accuracy)
	}
}

// TestLearnsXORWithOneOutput: the classic 2-2-1 and 2-4-1 sigmoid networks, a single
// output trained towards the label 0 or 1.
func TestLearnsXORWithOneOutput(t *testing.T) {
	for _, hidden := range []int{2, 4} {
		for _, loss := range []string{"bce", "mse"} {
			src := rand.NewPCG(5, 6)
			rng := rand.New(src)
			net, err := nn.MLP{Sizes: []int{2, hidden, 1}, Activation: "sigmoid", Output: "sigmoid", Loss: loss, Init: nn.InitGlorotUniform}.Build(rng)
			if err != nil {
				t.Fatal(err)
			}
			opt, _ := optim.New("momentum", 0.5)
			res, err := Run(context.Background(), net, opt, xor, xor, Config{Epochs: 3000, BatchSize: 4}, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Test.Accuracy != 1 || len(res.Test.Confusion) != 2 {
				t.Errorf("2-%d-1 sigmoid, %s: XOR accuracy %g (confusion %v), want 1", hidden, loss, res.Test.Accuracy, res.Test.Confusion)
			}
		}
	}
}

// TestEarlyStoppingKeepsBest: with a validation set, the run stops when validation
// accuracy stalls and ends with the best epoch's weights.
func TestEarlyStoppingKeepsBest(t *testing.T) {
	src := rand.NewPCG(9, 9)
	rng := rand.New(src)
	net, _ := nn.MLP{Sizes: []int{4, 16, 3}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Build(rng)
	small := blobs(12, 1) // tiny and noisy: validation accuracy peaks early
	val := blobs(300, 3)
	opt, _ := optim.New("adam", 0.05)
	res, err := Run(context.Background(), net, opt, small, blobs(90, 2), Config{Epochs: 200, BatchSize: 4, Shuffle: true, Val: val, Patience: 5, KeepBest: true}, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.EarlyStopped || res.EpochsDone >= 200 || res.EpochsDone-res.BestEpoch != 5 {
		t.Fatalf("early stopped %v after %d epochs, best %d; want stopped 5 epochs after the best", res.EarlyStopped, res.EpochsDone, res.BestEpoch)
	}
	best := res.History[res.BestEpoch-1].ValAccuracy
	if got := Evaluate(net, val, 100).Accuracy; got != best {
		t.Errorf("final weights score %g on validation, the best epoch %g", got, best)
	}
}

// TestResumePartialEpochBitIdentical: a run interrupted within an epoch, then resumed
// from its Partial with the network, optimizer and random source as the interruption
// left them (what a checkpoint holds), ends with the weights and history of the run
// that was never interrupted. The network has dropout, so the random source's state
// matters beyond the shuffle.
func TestResumePartialEpochBitIdentical(t *testing.T) {
	spec := nn.Spec{Input: []int{4}, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal, Layers: []nn.LayerSpec{
		{Type: "dense", Out: 16}, {Type: "relu"}, {Type: "dropout", P: 0.3}, {Type: "dense", Out: 3}}}
	cfg := Config{Epochs: 3, BatchSize: 16, Shuffle: true}
	run := func(ctx context.Context, rec Recorder) (*nn.Network, Result) {
		src := rand.NewPCG(11, 0)
		net, err := spec.BuildFrom(src)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(ctx, net, optim.NewAdam(0.01), blobs(300, 1), blobs(90, 2), cfg, src, rec)
		if err != nil {
			t.Fatal(err)
		}
		return net, res
	}
	want, wantRes := run(context.Background(), nil)

	for _, stopAt := range []int{19 + 7, 2*19 + 1, 19} { // mid-epoch 2, first batch of 3, end of epoch 1
		t.Run(fmt.Sprint(stopAt), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src := rand.NewPCG(11, 0)
			net, err := spec.BuildFrom(src)
			if err != nil {
				t.Fatal(err)
			}
			opt := optim.NewAdam(0.01)
			res, err := Run(ctx, net, opt, blobs(300, 1), blobs(90, 2), cfg, src, &cancelAfter{n: stopAt, cancel: cancel})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Interrupted {
				t.Fatalf("not interrupted after %d batches", stopAt)
			}
			if mid := stopAt%19 != 0; (res.Partial != nil) != mid {
				t.Fatalf("stopped after %d batches: partial %+v, want one only within an epoch", stopAt, res.Partial)
			}
			resumed := cfg
			resumed.Resume, resumed.ResumePartial = res.History, res.Partial
			got, err := Run(context.Background(), net, opt, blobs(300, 1), blobs(90, 2), resumed, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			wp, gp := want.Params(), net.Params()
			for i := range wp {
				if !slices.Equal(wp[i].Value.Data, gp[i].Value.Data) {
					t.Fatalf("%s differs after resuming", wp[i].Name)
				}
			}
			for i := range wantRes.History {
				w, g := wantRes.History[i], got.History[i]
				w.Seconds, g.Seconds = 0, 0
				if w != g {
					t.Errorf("epoch %d: resumed %+v, uninterrupted %+v", i+1, g, w)
				}
			}
		})
	}
}

// TestResumeKeepsBest: a run with validation, early stopping and KeepBest, interrupted
// after an epoch and resumed with its Best, ends as the run never interrupted: the best
// epoch, its weights and the patience count survive the interruption.
func TestResumeKeepsBest(t *testing.T) {
	cfg := Config{Epochs: 60, BatchSize: 4, Shuffle: true, Val: blobs(300, 3), Patience: 5, KeepBest: true}
	start := func() (*nn.Network, optim.Optimizer, *rand.PCG) {
		src := rand.NewPCG(9, 9)
		net, _ := nn.MLP{Sizes: []int{4, 16, 3}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Build(rand.New(src))
		opt, _ := optim.New("adam", 0.05)
		return net, opt, src
	}
	net, opt, src := start()
	want, err := Run(context.Background(), net, opt, blobs(12, 1), blobs(90, 2), cfg, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !want.EarlyStopped || want.BestEpoch == want.EpochsDone || want.BestEpoch < 2 {
		t.Fatalf("the uninterrupted run: early stopped %v, best %d of %d; want it stopped some epochs after a best epoch", want.EarlyStopped, want.BestEpoch, want.EpochsDone)
	}
	wantW := net.Snapshot()
	for _, stopAfter := range []int{want.BestEpoch - 1, want.BestEpoch + 2} {
		t.Run(fmt.Sprint(stopAfter), func(t *testing.T) {
			net, opt, src := start()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first, err := Run(ctx, net, opt, blobs(12, 1), blobs(90, 2), cfg, src, &cancelAfter{n: 3 * stopAfter, cancel: cancel}) // 3 batches an epoch
			if err != nil || !first.Interrupted || first.EpochsDone != stopAfter || first.Partial != nil {
				t.Fatalf("interrupted run: %v, interrupted %v after %d epochs (partial %v); want stopped after epoch %d", err, first.Interrupted, first.EpochsDone, first.Partial, stopAfter)
			}
			resumed := cfg
			resumed.Resume, resumed.ResumeBest = first.History, first.Best
			got, err := Run(context.Background(), net, opt, blobs(12, 1), blobs(90, 2), resumed, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.BestEpoch != want.BestEpoch || got.EpochsDone != want.EpochsDone || !got.EarlyStopped {
				t.Errorf("resumed: best %d, %d epochs, early stopped %v; uninterrupted: best %d, %d epochs", got.BestEpoch, got.EpochsDone, got.EarlyStopped, want.BestEpoch, want.EpochsDone)
			}
			for i, w := range net.Snapshot() {
				if !slices.Equal(w, wantW[i]) {
					t.Fatalf("tensor %d differs from the uninterrupted run's kept weights", i)
				}
			}
		})
	}
}

func TestBytesOutliersFollowTheLabelled(t *testing.T) {
	b := &Bytes{Pixels: []uint8{1, 2, 3, 4, 5, 6}, Labels: []uint8{7, 4}, Outliers: 1, ExampleShape: []int{2}, Scale: 1}
	x, l := make([]float32, 6), make([]int, 3)
	b.Batch([]int{2, 0, 1}, x, l)
	if b.Len() != 3 || !slices.Equal(l, []int{nn.Outlier, 7, 4}) || !slices.Equal(x, []float32{5, 6, 1, 2, 3, 4}) {
		t.Errorf("Len %d, Batch labels %v pixels %v: want 3, [%d 7 4], [5 6 1 2 3 4]", b.Len(), l, x, nn.Outlier)
	}
	if s := Subset(b, len(b.Labels)); s.Len() != 2 {
		t.Errorf("Subset of the labelled examples has %d, want 2", s.Len())
	}
}

// foreignOpt is an Optimizer from outside package optim: it reads Grad as the
// interface lets it, without Materialize.
type foreignOpt struct {
	optim.Optimizer
	sawFirstLayer bool
}

func (f *foreignOpt) Step(params []*nn.Param) {
	for _, v := range params[0].Grad.Data {
		f.sawFirstLayer = f.sawFirstLayer || v != 0
	}
	f.Optimizer.Step(params)
}

// TestForeignOptimizerSeesGradient: the first layer's packed gradient, kept as rows for
// optim's Adam, is written out into Grad for an optimizer Run does not know, and both
// train the same weights, bit for bit; Run leaves the network as it found it.
func TestForeignOptimizerSeesGradient(t *testing.T) {
	data := blobs(300, 1)
	padded := &floats{dim: 8, labels: data.labels} // four columns without ink: the packed path
	for i := range data.labels {
		padded.x = append(append(padded.x, data.x[i*4:(i+1)*4]...), 0, 0, 0, 0)
	}
	train := func(opt optim.Optimizer, batch int) []float32 {
		src := rand.NewPCG(1, 0)
		net, err := nn.MLP{Sizes: []int{8, 8, 3}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Build(rand.New(src))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Run(context.Background(), net, opt, padded, padded, Config{Epochs: 2, BatchSize: batch, Shuffle: true}, src, nil); err != nil {
			t.Fatal(err)
		}
		for _, l := range net.Layers {
			if d, ok := l.(*nn.Dense); ok && d.DeferGrad {
				t.Error("Run left the network keeping gradients deferred")
			}
		}
		return net.Params()[0].Value.Data
	}
	// Batches of 16 take the packed path (rows, for Adam); batches of one the sparse
	// path (an outer product, for plain SGD, whose deferred update rounds differently
	// from a written-out one: only the foreign optimizer's seeing it is checked there).
	for _, c := range []struct {
		batch int
		opt   func() optim.Optimizer
		same  bool
	}{{16, func() optim.Optimizer { return optim.NewAdam(0.01) }, true}, {1, func() optim.Optimizer { return &optim.SGD{Rate: 0.01} }, false}} {
		foreign := &foreignOpt{Optimizer: c.opt()}
		got, want := train(foreign, c.batch), train(c.opt(), c.batch)
		if !foreign.sawFirstLayer {
			t.Errorf("batch %d: an optimizer from outside package optim saw a zero gradient for the first layer", c.batch)
		}
		for i := range want {
			if c.same && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("batch %d: W[%d]: %g through the foreign optimizer, %g through optim's", c.batch, i, got[i], want[i])
			}
		}
	}
}
