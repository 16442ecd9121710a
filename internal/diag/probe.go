package diag

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

// Setup is the training run diagnose examines.
type Setup struct {
	Arch        nn.Spec
	Optimizer   string
	LR          float64
	Batch       int
	Input       string // the --input setting, named in fixes
	Train, Test train.Data
	Classes     int
	Seed        uint64
	// Steps is the length of the probe run (default 300).
	Steps int
}

// Report is what diagnose found, worst first.
type Report struct {
	Findings []Finding `json:"findings"`
	// Suggested is the learning rate the range test suggests for this setup.
	Suggested float64 `json:"suggested_lr,omitempty"`
	// Initial is what enters each hidden activation layer at initialization, on a batch
	// of training examples, for histograms.
	Initial []Sample `json:"-"`
}

// Healthy reports whether nothing rose above info.
func (r Report) Healthy() bool {
	for _, f := range r.Findings {
		if f.Severity != Info {
			return false
		}
	}
	return true
}

// Diagnose runs the static checks and a short probe of the setup's training.
func Diagnose(ctx context.Context, s Setup) (Report, error) {
	if s.Steps <= 0 {
		s.Steps = 300
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x9e3779b97f4a7c15))
	net, err := s.Arch.Build(rng)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	add := func(fs ...Finding) { rep.Findings = append(rep.Findings, fs...) }

	// Data and configuration, before any training.
	trStats, teStats := InputStats(s.Train, 1000), InputStats(s.Test, 1000)
	add(CheckInputs(trStats, teStats, s.Input)...)
	add(CheckInit(net, s.Arch.HiddenActivation())...)
	probeX := batchOf(s.Train, 0, min(256, s.Train.Len()))
	initFix := fix("init", initFor(s.Arch.HiddenActivation()))
	if hasID(rep.Findings, "inputs-scale") {
		initFix = append(fix("input", "unit"), initFix...)
	}
	add(CheckActivity(Activities(net, probeX), "at initialization", initFix)...)
	rep.Initial = PreActivations(net, probeX, 1<<16)
	add(CheckOutputLoss(s.Arch)...)
	add(CheckBalance(labelCounts(s.Train, s.Classes))...)

	// The learning-rate range test, on a fresh copy of the network.
	lrf, suggested := rangeTest(ctx, s)
	rep.Suggested = suggested

	// A short run of the setup itself.
	sub := train.Subset(s.Train, 5000)
	pr, err := probe(ctx, net, s, sub, rng)
	if err != nil {
		return rep, err
	}
	add(pr.findings(s, suggested, lrf, slices.ContainsFunc(rep.Findings, func(f Finding) bool { return f.Severity == Error }))...)
	if !hasID(rep.Findings, "saturated-units") && !hasID(rep.Findings, "dead-relu") {
		lrFix := fix("lr", fmt.Sprintf("%.2g", s.LR/10)) // units died during training: steps too large
		if suggested > 0 && suggested < s.LR {
			lrFix = fix("lr", fmt.Sprintf("%.2g", suggested))
		}
		add(CheckActivity(Activities(net, probeX), fmt.Sprintf("after %d training steps", s.Steps), lrFix)...)
	}
	add(checkLabels(ctx, s, trStats)...)

	slices.SortStableFunc(rep.Findings, func(a, b Finding) int { return rank(b.Severity) - rank(a.Severity) })
	return rep, nil
}

func rank(s Severity) int { return map[Severity]int{Info: 0, Warning: 1, Error: 2}[s] }

func hasID(fs []Finding, id string) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.ID == id })
}

func initFor(act string) string {
	if act == "relu" {
		return "he-normal"
	}
	return "glorot-uniform"
}

// batchOf reads examples [lo, lo+n) of d.
func batchOf(d train.Data, lo, n int) *tensor.Tensor {
	x := tensor.New(append([]int{n}, d.Shape()...)...)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = lo + i
	}
	d.Batch(idx, x.Data, make([]int, n))
	return x
}

func labelCounts(d train.Data, classes int) []int {
	counts := make([]int, max(classes, 2))
	const chunk = 4096
	labels := make([]int, chunk)
	x := make([]float32, chunk*tensor.Size(d.Shape()))
	idx := make([]int, chunk)
	for lo := 0; lo < d.Len(); lo += chunk {
		n := min(chunk, d.Len()-lo)
		for i := range n {
			idx[i] = lo + i
		}
		d.Batch(idx[:n], x[:n*tensor.Size(d.Shape())], labels[:n])
		for _, l := range labels[:n] {
			if l >= 0 && l < len(counts) {
				counts[l]++
			}
		}
	}
	return counts
}

// probeResult is what the probe run measured.
type probeResult struct {
	losses        []float64
	gradRMS       []float64 // per Dense weight at the first step, input side first
	names         []string
	updateRatio   float64 // mean ‖ΔW‖/‖W‖ of the first layer per step
	trainAcc      float64
	testAcc       float64
	chance        float64
	nonFiniteStep int // first step with a NaN or infinite loss, or 0
}

// probe trains net for s.Steps steps on sub with the setup's optimizer.
func probe(ctx context.Context, net *nn.Network, s Setup, sub train.Data, rng *rand.Rand) (*probeResult, error) {
	opt, err := optim.New(s.Optimizer, s.LR)
	if err != nil {
		return nil, err
	}
	params := net.Params()
	var weights []*nn.Param
	for _, p := range params {
		if len(p.Value.Shape) == 2 {
			weights = append(weights, p)
		}
	}
	n := sub.Len()
	order := rng.Perm(n)
	dim := tensor.Size(sub.Shape())
	b := min(s.Batch, n)
	x := tensor.New(append([]int{b}, sub.Shape()...)...)
	labels := make([]int, b)
	pr := &probeResult{chance: 1 / float64(max(s.Classes, 2))}
	first := weights[0]
	prev := append([]float32(nil), first.Value.Data...)
	var ratioSum float64
	net.ZeroGrad()
	for step, pos := 1, 0; step <= s.Steps && ctx.Err() == nil; step++ {
		if pos+b > n {
			pos = 0
		}
		d := x.Data[:b*dim]
		sub.Batch(order[pos:pos+b], d, labels)
		pos += b
		loss, _ := net.TrainBatch(x, labels)
		pr.losses = append(pr.losses, loss)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			pr.nonFiniteStep = step
			break
		}
		if step == 1 {
			for _, p := range weights {
				p.Materialize()
				pr.gradRMS = append(pr.gradRMS, rms(p.Grad.Data))
				pr.names = append(pr.names, p.Name)
			}
		}
		opt.Step(params)
		var dn, wn float64
		for i, v := range first.Value.Data {
			dv := float64(v - prev[i])
			dn += dv * dv
			wn += float64(v) * float64(v)
		}
		ratioSum += math.Sqrt(dn) / math.Max(math.Sqrt(wn), 1e-12)
		copy(prev, first.Value.Data)
	}
	pr.updateRatio = ratioSum / float64(max(len(pr.losses), 1))
	pr.trainAcc = train.Evaluate(net, train.Subset(sub, 2000), 1000).Accuracy
	pr.testAcc = train.Evaluate(net, train.Subset(s.Test, 2000), 1000).Accuracy
	return pr, nil
}

func rms(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s / float64(max(len(v), 1)))
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(max(len(v), 1))
}

// findings turns the probe's measurements into advice; broken says an error was found
// already, which makes a train/test gap no sign of overfitting.
func (pr *probeResult) findings(s Setup, suggested float64, lrf lrRange, broken bool) []Finding {
	var out []Finding
	lrFlag := func() []string {
		if suggested > 0 {
			return []string{"lr", fmt.Sprintf("%.2g", suggested)}
		}
		return nil
	}
	lrEv := func(ev map[string]any) map[string]any {
		ev["lr"] = s.LR
		if suggested > 0 {
			ev["range_test"] = map[string]any{"lowest_loss_at": round(lrf.best), "diverges_at": round(lrf.diverge), "suggested_range": []float64{round(suggested / 3), round(suggested * 3)}}
		}
		return ev
	}
	if pr.nonFiniteStep > 0 {
		return append(out, finding("loss-nan", Error, fmt.Sprintf(
			"the loss became %v at step %d: the steps are so large that the weights blow up", pr.losses[len(pr.losses)-1], pr.nonFiniteStep),
			lrEv(map[string]any{"step": pr.nonFiniteStep}), lrFlag()...))
	}
	k := max(len(pr.losses)/10, 1)
	start, end := meanOf(pr.losses[:k]), meanOf(pr.losses[len(pr.losses)-k:])
	ev := lrEv(map[string]any{"steps": len(pr.losses), "loss_start": round(start), "loss_end": round(end), "update_to_weight": round(pr.updateRatio)})
	switch {
	case end > 1.05*start || (lrf.diverge > 0 && s.LR >= lrf.diverge):
		out = append(out, finding("lr-too-high", Error, fmt.Sprintf(
			"with learning rate %g the loss went from %.3g to %.3g in %d steps instead of down: the steps overshoot", s.LR, start, end, len(pr.losses)), ev, lrFlag()...))
	case pr.updateRatio > 0.05:
		out = append(out, finding("lr-too-high", Warning, fmt.Sprintf(
			"each step changes the first layer's weights by %.1f%% of their size (healthy: about 0.01-1%%): learning rate %g is too high", 100*pr.updateRatio, s.LR), ev, lrFlag()...))
	case end > 0.97*start && suggested > 0 && s.LR < suggested/10:
		out = append(out, finding("lr-too-low", Warning, fmt.Sprintf(
			"the loss barely moved (%.3g to %.3g in %d steps) and each step changes the weights by %.2g of their size: learning rate %g is far below the %.2g the range test suggests", start, end, len(pr.losses), pr.updateRatio, s.LR, suggested), ev, lrFlag()...))
	case end > 0.97*start:
		out = append(out, finding("no-progress", Warning, fmt.Sprintf(
			"the loss barely moved in %d steps (%.3g to %.3g)", len(pr.losses), start, end), ev))
	}
	failing := broken || slices.ContainsFunc(out, func(f Finding) bool { return f.Severity == Error })
	if pr.trainAcc <= pr.chance+0.05 {
		out = append(out, finding("accuracy-at-chance", Error, fmt.Sprintf(
			"after %d steps the network classifies %.1f%% of its training examples right, no better than guessing (%.0f%%)", len(pr.losses), 100*pr.trainAcc, 100*pr.chance),
			map[string]any{"train_accuracy": round(pr.trainAcc), "chance": round(pr.chance), "steps": len(pr.losses)}))
	} else if gap := pr.trainAcc - pr.testAcc; gap > 0.15 && !failing {
		out = append(out, finding("overfitting", Warning, fmt.Sprintf(
			"after %d steps training accuracy is %.1f%% but test accuracy %.1f%%: the network memorizes its %d training examples instead of learning what generalizes", len(pr.losses), 100*pr.trainAcc, 100*pr.testAcc, s.Train.Len()),
			map[string]any{"train_accuracy": round(pr.trainAcc), "test_accuracy": round(pr.testAcc), "training_examples": s.Train.Len()}, "train_limit", "0"))
	}
	if len(pr.gradRMS) >= 2 {
		firstG, lastG := pr.gradRMS[0], pr.gradRMS[len(pr.gradRMS)-1]
		gev := map[string]any{}
		biggest, bigName := 0.0, ""
		for i, name := range pr.names {
			gev[name] = round(pr.gradRMS[i])
			if g := pr.gradRMS[i]; g > biggest || math.IsNaN(g) {
				biggest, bigName = g, name
			}
		}
		// Healthy networks here have weight-gradient RMS of 1e-6..0.3 at the first step.
		switch {
		case math.IsInf(biggest, 0) || math.IsNaN(biggest) || biggest > 5 || (lastG > 0 && firstG/lastG > 1e3):
			out = append(out, finding("exploding-gradients", Error, fmt.Sprintf(
				"at the first step %s has a gradient of RMS %.3g (healthy: well below 1): the gradients explode, so every step throws the weights far off", bigName, biggest), gev, "init", initFor(s.Arch.HiddenActivation())))
		case lastG > 0 && firstG/lastG < 1e-3:
			out = append(out, finding("vanishing-gradients", Warning, fmt.Sprintf(
				"the first layer's gradient is %.2g of the last layer's (RMS %.2g vs %.2g): the signal fades on the way back, so the early layers learn slowest", firstG/lastG, firstG, lastG), gev, "activation", "relu", "init", "he-normal"))
		}
	}
	return out
}

// lrRange is what the learning-rate range test found.
type lrRange struct {
	best, diverge float64
}

// rangeTest trains a fresh copy of the network while raising the learning rate
// exponentially from 1e-6 to 10 (Smith 2017) and returns where the smoothed loss was
// lowest and where it diverged; it suggests a tenth of the lowest-loss rate.
func rangeTest(ctx context.Context, s Setup) (lrRange, float64) {
	const steps, lo, hi = 200, 1e-6, 10.0
	rng := rand.New(rand.NewPCG(s.Seed, 7))
	net, err := s.Arch.Build(rng)
	if err != nil {
		return lrRange{}, 0
	}
	opt, err := optim.New(s.Optimizer, lo)
	if err != nil {
		return lrRange{}, 0
	}
	sub := train.Subset(s.Train, 5000)
	n := sub.Len()
	order := rng.Perm(n)
	b := min(max(s.Batch, 16), n) // a batch of 1 is too noisy to read a curve from
	x := tensor.New(append([]int{b}, sub.Shape()...)...)
	labels := make([]int, b)
	params := net.Params()
	net.ZeroGrad()
	var smooth, best float64 = 0, math.Inf(1)
	r := lrRange{}
	for step, pos := 0, 0; step < steps && ctx.Err() == nil; step++ {
		lr := lo * math.Pow(hi/lo, float64(step)/(steps-1))
		opt.SetLR(lr)
		if pos+b > n {
			pos = 0
		}
		sub.Batch(order[pos:pos+b], x.Data, labels)
		pos += b
		loss, _ := net.TrainBatch(x, labels)
		opt.Step(params)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			if r.diverge == 0 {
				r.diverge = lr
			}
			break
		}
		if step == 0 {
			smooth = loss
		}
		smooth = 0.9*smooth + 0.1*loss
		if smooth < best {
			best, r.best = smooth, lr
		} else if smooth > 4*best && step > 10 {
			r.diverge = lr
			break
		}
	}
	if r.best == 0 {
		return r, 0
	}
	return r, r.best / 10
}

// checkLabels trains a small network known to work (784-128-10 ReLU, Adam, inputs
// standardized from their measured statistics) on 2,000 training examples and tests it
// on 1,000 other training examples and on 1,000 test examples. Consistent labels give
// 80 %+ on both; shuffled labels give chance on both; labels shifted or otherwise
// mapped between the two sets give a high held-out score but a low test score.
func checkLabels(ctx context.Context, s Setup, st Stats) []Finding {
	if s.Train.Len() < 3000 || s.Test.Len() < 1000 || st.Std == 0 {
		return nil
	}
	norm := func(d train.Data) train.Data { return &affine{d, float32(1 / st.Std), float32(-st.Mean / st.Std)} }
	fit := train.Window(norm(s.Train), 0, 2000)
	held := train.Window(norm(s.Train), 2000, 1000)
	test := train.Window(norm(s.Test), 0, 1000)
	src := rand.NewPCG(s.Seed, 11)
	rng := rand.New(src)
	K := s.Arch.Outputs()
	ref := nn.Spec{Input: s.Arch.Input, Output: "softmax", Loss: "ce", Init: nn.InitHeNormal, Layers: []nn.LayerSpec{
		{Type: "flatten"}, {Type: "dense", Out: 128}, {Type: "relu"}, {Type: "dense", Out: K}}}
	net, err := ref.Build(rng)
	if err != nil || K < 2 {
		return nil
	}
	if _, err := train.Run(ctx, net, optim.NewAdam(1e-3), fit, fit, train.Config{Epochs: 4, BatchSize: 64, Shuffle: true, RunningTrainAccuracy: true}, src, nil); err != nil {
		return nil
	}
	h, t := train.Evaluate(net, held, 1000).Accuracy, train.Evaluate(net, test, 1000).Accuracy
	chance := 1 / float64(K)
	ev := map[string]any{"reference_network": net.String(), "heldout_train_accuracy": round(h), "test_accuracy": round(t), "chance": round(chance)}
	switch {
	case h < 2*chance+0.1:
		return []Finding{finding("labels-inconsistent", Error, fmt.Sprintf(
			"a network that learns these images easily reaches only %.0f%% on held-out training examples (chance: %.0f%%): the training labels do not follow the images (shuffled?)", 100*h, 100*chance), ev)}
	case h > 0.6 && t < h/2:
		return []Finding{finding("labels-train-test-mismatch", Error, fmt.Sprintf(
			"a reference network scores %.0f%% on held-out training examples but %.0f%% on the test set: training and test labels mean different things (shifted or permuted classes?)", 100*h, 100*t), ev)}
	}
	return nil
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
