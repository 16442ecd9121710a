package diag

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/train"
)

// checkLabels trains a small network known to work (one hidden layer of 128 ReLUs, Adam,
// inputs standardized from their measured statistics) on 2,000 of the run's training
// images and tests it on held-out training images and on test images. Consistent labels
// give 60 %+ on both. Labels that do not follow the images give chance on held-out
// images: if pairing each image with a label a few places off fits, that shift is the
// fix. Labels that mean different things in the two sets give a high held-out score and
// a low test score: if the test predictions are a permutation of the test labels, the
// map is the fix. When the test images are unlike the training images (shifted: the
// data check said so), that explains a low test score too, and only a permutation found
// in the test predictions still points at the labels.
func (d *doctor) checkLabels(base *probeResult, imagesShifted bool) []Finding {
	fit, held, test := base.fit, base.val, base.test
	if fit.Len() < 2000 || held.Len() < 500 || test.Len() < 500 || base.trainStats.Std == 0 {
		return nil
	}
	st := base.trainStats
	norm := func(dd train.Data) train.Data { return &affine{dd, float32(1 / st.Std), float32(-st.Mean / st.Std)} }
	K := base.recipe.Spec().Outputs()
	if K < 2 {
		return nil
	}
	h, t, conf := d.reference(norm(train.Window(fit, 0, 2000)), norm(held), norm(test), K)
	d.refAcc = balancedAccuracy(conf)
	chance := 1 / float64(K)
	ev := map[string]any{"reference_network": fmt.Sprintf("%d-128-%d ReLU, Adam", tensorSize(fit), K), "heldout_train_accuracy": round(h), "test_accuracy": round(t), "chance": round(chance)}
	switch {
	case h < 2*chance+0.1:
		f := finding("labels-inconsistent", Error, fmt.Sprintf(
			"a network that learns these images easily reaches only %.0f%% on held-out training images (chance: %.0f%%): the training labels do not follow the images", 100*h, 100*chance), ev)
		f.certain = true
		// Labels a few places off (a header read wrongly, a row dropped) fit again when
		// each image is paired with the right one.
		for _, k := range []int{1, -1, 2, -2, 3, -3} {
			sh := &shifted{fit, k}
			if hk, _, _ := d.reference(norm(train.Window(sh, 0, 2000)), norm(&shifted{held, k}), norm(test), K); hk > 0.6 {
				f.Message += fmt.Sprintf("; paired with the label %d places %s, they fit (%.0f%% held out): the labels are off by %d", abs(k), map[bool]string{true: "on", false: "back"}[k > 0], 100*hk, k)
				f.Evidence["shift"] = k
				f.Evidence["heldout_accuracy_shifted"] = round(hk)
				f.Fix = fix("label_shift", fmt.Sprint(base.recipe.LabelShift+k))
				break
			}
		}
		return []Finding{f}
	case h > 0.6 && t < h/2:
		m, permuted := permutation(conf)
		if imagesShifted && !permuted {
			return nil // the images differ, not (as far as the predictions show) the labels
		}
		f := finding("labels-train-test-mismatch", Error, fmt.Sprintf(
			"a reference network scores %.0f%% on held-out training images but %.0f%% on the test images: training and test labels mean different things", 100*h, 100*t), ev)
		f.certain = true
		if permuted {
			var pairs []string
			for from, to := range m {
				if from != to {
					pairs = append(pairs, fmt.Sprintf("%d:%d", from, to))
				}
			}
			f.Message += fmt.Sprintf(": each test label stands for another training class (%s)", strings.Join(pairs, ", "))
			f.Evidence["test_label_to_class"] = m
			f.Fix = fix("test_label_map", strings.Join(pairs, ","))
		}
		return []Finding{f}
	}
	return nil
}

func tensorSize(d train.Data) int {
	n := 1
	for _, v := range d.Shape() {
		n *= v
	}
	return n
}

func abs(k int) int { return max(k, -k) }

// reference trains the reference network on fit and returns its accuracy on held and on
// test, and its confusion matrix on test.
func (d *doctor) reference(fit, held, test train.Data, K int) (h, t float64, conf [][]int) {
	src := rand.NewPCG(d.s.Recipe.Seed, 11)
	ref := nn.Spec{Input: fit.Shape(), Output: "softmax", Loss: "ce", Init: nn.InitHeNormal, Layers: []nn.LayerSpec{
		{Type: "flatten"}, {Type: "dense", Out: 128}, {Type: "relu"}, {Type: "dense", Out: K}}}
	net, err := ref.Build(rand.New(src))
	if err != nil {
		return 0, 0, nil
	}
	if _, err := train.Run(d.ctx, net, optim.NewAdam(1e-3), fit, fit, train.Config{Epochs: 4, BatchSize: 64, Shuffle: true, RunningTrainAccuracy: true}, src, nil); err != nil {
		return 0, 0, nil
	}
	mt := train.Evaluate(net, test, 1000)
	return train.Evaluate(net, held, 1000).Accuracy, mt.Accuracy, mt.Confusion
}

// permutation reads a confusion matrix ([true][predicted]) as a map from each true label
// to the class mostly predicted for it; ok when that is one-to-one and holds for most
// examples.
func permutation(conf [][]int) (m []int, ok bool) {
	m = make([]int, len(conf))
	total, mapped := 0, 0
	for k, row := range conf {
		m[k] = slices.Index(row, slices.Max(row))
		for _, c := range row {
			total += c
		}
		mapped += row[m[k]]
	}
	seen := map[int]bool{}
	for _, v := range m {
		if seen[v] {
			return nil, false
		}
		seen[v] = true
	}
	return m, total > 0 && float64(mapped)/float64(total) > 0.6
}

// shifted pairs example i of d with the label of example i+k (wrapping around).
type shifted struct {
	train.Data
	k int
}

func (s *shifted) Batch(idx []int, x []float32, labels []int) {
	s.Data.Batch(idx, x, labels)
	n := s.Data.Len()
	other := make([]int, len(idx))
	for j, i := range idx {
		other[j] = ((i+s.k)%n + n) % n
	}
	tmp := make([]float32, len(x))
	s.Data.Batch(other, tmp, labels)
}

// affine maps a data set's inputs x to a·x + b.
type affine struct {
	train.Data
	a, b float32
}

func (f *affine) Batch(idx []int, x []float32, labels []int) {
	f.Data.Batch(idx, x, labels)
	for i, v := range x {
		x[i] = f.a*v + f.b
	}
}
