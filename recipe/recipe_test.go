package recipe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/train"
)

// TestStandardInputUsesDatasetStats: input "standard" maps each data set's mean pixel to
// 0 and its deviation to 1, with that data set's statistics.
func TestStandardInputUsesDatasetStats(t *testing.T) {
	for name, st := range map[string]struct{ mean, std float64 }{"mnist": {0.1307, 0.3081}, "fashion": {0.2860, 0.3530}} {
		r := Recipe{Input: "standard", Dataset: name}
		scale, offset := r.Scaling()
		at := func(v float64) float64 { return float64(scale)*v*255 + float64(offset) }
		if m, sd := at(st.mean), at(st.mean+st.std); math.Abs(m) > 1e-5 || math.Abs(sd-1) > 1e-5 {
			t.Errorf("%s: mean pixel → %g, mean+deviation → %g; want 0 and 1", name, m, sd)
		}
	}
}

// blobSet is a synthetic data set of n 28×28 images of 10 classes: class k lights up a
// band of rows, with noise.
func blobSet(n int, seed uint64) *dataset.Set {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &dataset.Set{Name: "mnist", N: n, Rows: 28, Cols: 28, Images: make([]uint8, n*784), Labels: make([]uint8, n)}
	for k := range 10 {
		s.Classes = append(s.Classes, fmt.Sprint(k))
	}
	for i := range n {
		k := i % 10
		s.Labels[i] = uint8(k)
		for p := range 784 {
			v := rng.IntN(60)
			if row := p / 28; row >= 2*k+3 && row < 2*k+6 {
				v += 150
			}
			s.Images[i*784+p] = uint8(v)
		}
	}
	return s
}

// TestCheckpointKeepsBest: a run with validation stopped between epochs writes its best
// epoch and that epoch's weights into the checkpoint, and Resume restores them.
func TestCheckpointKeepsBest(t *testing.T) {
	r := Default()
	r.Epochs, r.Val, r.Patience, r.Layers = 8, 100, 3, []int{784, 32, 10}
	trainSet, testSet := blobSet(600, 1), blobSet(100, 2)
	run, err := New(r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var saved int
	res, err := run.Train(ctx, trainSet, testSet, Options{Checkpoint: path, Saved: func(_ string, epochs int, _ *train.Partial) {
		if saved = epochs; epochs == 3 {
			cancel()
		}
	}})
	if err != nil || !res.Interrupted || res.Best == nil || res.Best.Weights == nil {
		t.Fatalf("interrupted run: %v, %+v", err, res.Best)
	}
	back, err := Resume(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.best == nil || back.best.Epoch != res.Best.Epoch || back.best.ValAccuracy != res.Best.ValAccuracy || len(back.best.Weights) != len(res.Best.Weights) {
		t.Fatalf("resumed best %+v, the run's %+v (after %d epochs saved)", back.best, res.Best, saved)
	}
	for i := range res.Best.Weights {
		if !slices.Equal(back.best.Weights[i], res.Best.Weights[i]) {
			t.Fatalf("best weights tensor %d differs after Resume", i)
		}
	}
}

// crossSet is n 28×28 pictures of none of blobSet's classes: one class's band of rows
// crossed by a band of columns, with noise.
func crossSet(n int, seed uint64) *dataset.Set {
	rng := rand.New(rand.NewPCG(seed, 2))
	s := &dataset.Set{Name: "folder", N: n, Rows: 28, Cols: 28, Images: make([]uint8, n*784)}
	for i := range n {
		c, k := 4+rng.IntN(18), rng.IntN(10)
		for p := range 784 {
			v := rng.IntN(60)
			if row, col := p/28, p%28; (col >= c && col < c+3) || (row >= 2*k+3 && row < 2*k+6) {
				v += 150
			}
			s.Images[i*784+p] = uint8(v)
		}
	}
	return s
}

// TestOutliersLowerConfidence: trained with outliers (Options.Outliers), a network
// answers pictures of that kind it never saw near-uniformly, where the same run without
// them is sure of some class; the classes are learnt as well, and the running train
// accuracy counts the labelled images only.
func TestOutliersLowerConfidence(t *testing.T) {
	trainSet, testSet, unseen := blobSet(600, 1), blobSet(200, 2), crossSet(200, 3)
	meanTop := func(outliers *dataset.Set) (float64, train.Result) {
		r := Default()
		r.Epochs, r.Layers, r.TrainEval = 30, []int{784, 32, 10}, "running"
		if outliers != nil {
			r.Outliers = "crosses"
		}
		run, err := New(r)
		if err != nil {
			t.Fatal(err)
		}
		res, err := run.Train(context.Background(), trainSet, testSet, Options{Outliers: outliers})
		if err != nil {
			t.Fatal(err)
		}
		data := r.Data(unseen)
		data.Outliers = unseen.N
		probs, _ := train.Probabilities(run.Net, data, 100)
		var sum float64
		for i := range unseen.N {
			sum += float64(slices.Max(probs[i*10 : (i+1)*10]))
		}
		return sum / float64(unseen.N), res
	}
	without, resWithout := meanTop(nil)
	with, res := meanTop(crossSet(300, 4))
	t.Logf("mean top probability on unseen outliers: %.3f trained without outliers, %.3f with", without, with)
	if with > 0.45 || without < 0.9 { // uniform is 0.1
		t.Errorf("mean top probability on unseen outliers %.3f with outlier training, %.3f without: want ≤ 0.45 and ≥ 0.9", with, without)
	}
	if res.Test.Accuracy < 0.95 || resWithout.Test.Accuracy < 0.95 {
		t.Errorf("test accuracy %.3f with outliers, %.3f without: want both ≥ 0.95", res.Test.Accuracy, resWithout.Test.Accuracy)
	}
	if last := res.History[len(res.History)-1].TrainAccuracy; last < 0.95 {
		t.Errorf("running train accuracy %.3f with 300 outliers among 600 images: want ≥ 0.95 (outliers are not counted)", last)
	}
}

func TestOutliersNeedSoftmaxCrossEntropy(t *testing.T) {
	r := Default()
	r.Outliers, r.Loss = "letters", "mse"
	var fe *FieldError
	if err := r.Validate(); !errors.As(err, &fe) || fe.Key != "outliers" {
		t.Errorf("Validate with outliers and the mse loss: %v, want a FieldError for outliers", err)
	}
}

// TestKeepLast: with KeepLast the run ends with the last epoch's weights, whichever
// validation epoch was best; without a validation split the setting is an error.
func TestKeepLast(t *testing.T) {
	for _, keepLast := range []bool{false, true} {
		r := Default()
		r.Epochs, r.Val, r.Layers, r.LR, r.KeepLast = 6, 100, []int{784, 16, 10}, 0.05, keepLast
		run, err := New(r)
		if err != nil {
			t.Fatal(err)
		}
		res, err := run.Train(context.Background(), blobSet(400, 1), blobSet(100, 2), Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := res.History[len(res.History)-1].TestLoss
		if !keepLast {
			want = res.History[res.BestEpoch-1].TestLoss
		}
		if res.BestEpoch == len(res.History) || res.Test.Loss != want {
			t.Errorf("keep last %v: final test loss %v, want %v (best epoch %d of %d: the test needs it before the last)", keepLast, res.Test.Loss, want, res.BestEpoch, len(res.History))
		}
	}
	r := Default()
	r.KeepLast = true
	var fe *FieldError
	if err := r.Validate(); !errors.As(err, &fe) || fe.Key != "keep_last" {
		t.Errorf("KeepLast without Val: %v, want a FieldError for keep_last", err)
	}
}

// TestTrainChecksTheSets: a library caller's own data sets that do not agree with
// themselves or each other are an ErrInvalid error naming what is wrong, not a panic in
// training or a test accuracy measured on other images.
func TestTrainChecksTheSets(t *testing.T) {
	r := Default()
	r.Epochs, r.Layers = 1, []int{784, 16, 10}
	bad := map[string]func(tr, te *dataset.Set) (*dataset.Set, *dataset.Set){
		"no test set":           func(tr, te *dataset.Set) (*dataset.Set, *dataset.Set) { return tr, nil },
		"label beyond classes":  func(tr, te *dataset.Set) (*dataset.Set, *dataset.Set) { tr.Labels[5] = 10; return tr, te },
		"test label beyond":     func(tr, te *dataset.Set) (*dataset.Set, *dataset.Set) { te.Labels[0] = 12; return tr, te },
		"images short":          func(tr, te *dataset.Set) (*dataset.Set, *dataset.Set) { tr.Images = tr.Images[:100]; return tr, te },
		"labels short":          func(tr, te *dataset.Set) (*dataset.Set, *dataset.Set) { tr.Labels = tr.Labels[:50]; return tr, te },
		"test images of a size": func(tr, te *dataset.Set) (*dataset.Set, *dataset.Set) { te.Rows, te.Cols = 14, 56; return tr, te },
	}
	for name, spoil := range bad {
		run, err := New(r)
		if err != nil {
			t.Fatal(err)
		}
		tr, te := spoil(blobSet(200, 1), blobSet(50, 2))
		if _, err := run.Train(context.Background(), tr, te, Options{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Train = %v, want ErrInvalid", name, err)
		}
	}
}
