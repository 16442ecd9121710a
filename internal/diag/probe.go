package diag

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/recipe"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

// probeResult is what a short run of a recipe measured.
type probeResult struct {
	recipe  recipe.Recipe
	refused error // the recipe refused the data: nothing else is set

	initial, trained *nn.Network    // the network at initialization, and after the run
	probeX           *tensor.Tensor // a batch of training inputs, as the network sees them
	trainStats       Stats
	testStats        Stats
	fit, val, test   train.Data // the run's training images, and the held-out ones
	fitN             int

	losses        []float64
	gradRMS       []float64 // per weight matrix at the first step, input side first
	names         []string
	updateRatio   float64 // mean ‖ΔW‖/‖W‖ of the first layer per step
	trainAcc      float64 // on the run's training images (plain accuracy)
	valAcc        float64 // balanced, on held-out training images
	testAcc       float64 // balanced, on test images
	chance        float64
	nonFiniteStep int // first step with a NaN or infinite loss, or 0
}

// Held-out images: the last valImages training images (fewer for a small set) are never
// trained on in a probe; a probe trains on at most probeImages of the others.
const (
	valImages   = 1000
	probeImages = 5000
)

// probe prepares the data as r says and trains r's network for steps steps of its
// optimizer at its base rate, on at most probeImages training images.
func probe(ctx context.Context, r recipe.Recipe, rawTrain, rawTest *dataset.Set, steps int) (*probeResult, error) {
	pr := &probeResult{recipe: r, chance: 1 / float64(max(len(rawTrain.Classes), 2))}
	tr, te, _, err := r.Prepare(rawTrain, rawTest)
	if err != nil {
		pr.refused = err
		return pr, nil
	}
	if err := r.CheckData(tr); err != nil {
		return nil, err
	}
	data, test := r.Data(tr), r.Data(te)
	nv := min(valImages, data.Len()/5)
	pool := data.Len() - nv
	pr.fitN = min(pool, probeImages)
	if r.TrainLimit > 0 {
		pr.fitN = min(pr.fitN, r.TrainLimit)
	}
	pr.fit, pr.val, pr.test = train.Window(data, 0, pr.fitN), train.Window(data, pool, nv), train.Subset(test, 1000)
	pr.trainStats, pr.testStats = InputStats(data, 1000), InputStats(test, 1000)
	pr.probeX = batchOf(data, 0, min(256, data.Len()))
	if pr.initial, _, err = netOf(r); err != nil {
		return nil, err
	}
	net, src, err := netOf(r)
	if err != nil {
		return nil, err
	}
	opt, err := optim.NewDecay(r.Optimizer, r.LR, r.Decay)
	if err != nil {
		return nil, err
	}
	pr.trained = net
	pr.train(ctx, net, opt, rand.New(src), r.Batch, steps)
	pr.trainAcc = train.Evaluate(net, train.Subset(pr.fit, 2000), 1000).Accuracy
	pr.valAcc, pr.testAcc = evaluate(net, pr.val), evaluate(net, pr.test)
	return pr, nil
}

// train runs the steps on pr.fit, measuring as it goes.
func (pr *probeResult) train(ctx context.Context, net *nn.Network, opt optim.Optimizer, rng *rand.Rand, batch, steps int) {
	params := net.Params()
	var weights []*nn.Param
	for _, p := range params {
		if len(p.Value.Shape) >= 2 {
			weights = append(weights, p)
		}
	}
	sub := pr.fit
	n := sub.Len()
	order := rng.Perm(n)
	dim := tensor.Size(sub.Shape())
	b := min(batch, n)
	x := tensor.New(append([]int{b}, sub.Shape()...)...)
	labels := make([]int, b)
	first := weights[0]
	prev := append([]float32(nil), first.Value.Data...)
	var ratioSum float64
	net.ZeroGrad()
	defer net.SetDeferGrad(optim.TakesDeferred(opt))() // as train.Run trains
	for step, pos := 1, 0; step <= steps && ctx.Err() == nil; step++ {
		if pos+b > n {
			pos = 0
		}
		sub.Batch(order[pos:pos+b], x.Data[:b*dim], labels)
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
}

// outcome is the run's result, measured on the test images.
func (pr *probeResult) outcome() Outcome {
	if pr.refused != nil || pr.nonFiniteStep > 0 {
		return Outcome{Loss: math.NaN()}
	}
	k := max(len(pr.losses)/10, 1)
	return Outcome{Loss: meanOf(pr.losses[len(pr.losses)-k:]), Accuracy: pr.testAcc}
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

// findings turns the probe's measurements into advice.
func (pr *probeResult) findings(s Setup, suggested float64, lrf lrRange) []Finding {
	var out []Finding
	lrFlag := func() []string {
		if suggested > 0 {
			return []string{"lr", fmt.Sprintf("%.2g", suggested)}
		}
		return nil
	}
	lrEv := func(ev map[string]any) map[string]any {
		ev["lr"] = s.Recipe.LR
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
	case end > 1.05*start:
		out = append(out, finding("lr-too-high", Error, fmt.Sprintf(
			"with learning rate %g the loss went from %.3g to %.3g in %d steps instead of down: the steps overshoot", s.Recipe.LR, start, end, len(pr.losses)), ev, lrFlag()...))
	case lrf.diverge > 0 && s.Recipe.LR >= lrf.diverge:
		out = append(out, finding("lr-too-high", Error, fmt.Sprintf(
			"learning rate %g is at or above %.2g, where the range test's loss diverged: the steps overshoot (the loss ended at %.3g after %d steps)", s.Recipe.LR, lrf.diverge, end, len(pr.losses)), ev, lrFlag()...))
	case pr.updateRatio > 0.05:
		out = append(out, finding("lr-too-high", Warning, fmt.Sprintf(
			"each step changes the first layer's weights by %.1f%% of their size (healthy: about 0.01-1%%): learning rate %g is too high", 100*pr.updateRatio, s.Recipe.LR), ev, lrFlag()...))
	case end > 0.97*start && suggested > 0 && s.Recipe.LR < suggested/10:
		out = append(out, finding("lr-too-low", Warning, fmt.Sprintf(
			"the loss barely moved (%.3g to %.3g in %d steps) and each step changes the weights by %.2g of their size: learning rate %g is far below the %.2g the range test suggests", start, end, len(pr.losses), pr.updateRatio, s.Recipe.LR, suggested), ev, lrFlag()...))
	case suggested > 0 && s.Recipe.LR < suggested/100 && pr.trainAcc <= pr.chance+0.05:
		// The loss may fall a few per cent at a tiny rate (Fashion-MNIST at 1e-6), but
		// a network still at chance, two orders below the range test's rate, is too slow.
		out = append(out, finding("lr-too-low", Warning, fmt.Sprintf(
			"after %d steps the network is still at chance (the loss %.3g to %.3g): learning rate %g is over a hundred times below the %.2g the range test suggests", len(pr.losses), start, end, s.Recipe.LR, suggested), ev, lrFlag()...))
	case end > 0.97*start:
		out = append(out, finding("no-progress", Warning, fmt.Sprintf(
			"the loss barely moved in %d steps (%.3g to %.3g)", len(pr.losses), start, end), ev))
	}
	failing := slices.ContainsFunc(out, func(f Finding) bool { return f.Severity == Error })
	if pr.trainAcc <= pr.chance+0.05 {
		out = append(out, finding("accuracy-at-chance", Error, fmt.Sprintf(
			"after %d steps the network classifies %.1f%% of its training examples right, no better than guessing (%.0f%%)", len(pr.losses), 100*pr.trainAcc, 100*pr.chance),
			map[string]any{"train_accuracy": round(pr.trainAcc), "chance": round(pr.chance), "steps": len(pr.losses)}))
	} else if gap := pr.trainAcc - pr.valAcc; gap > 0.15 && !failing {
		out = append(out, finding("overfitting", Warning, fmt.Sprintf(
			"after %d steps training accuracy is %.1f%% but %.1f%% on held-out training images: the network memorizes its %d training examples instead of learning what generalizes", len(pr.losses), 100*pr.trainAcc, 100*pr.valAcc, pr.fitN),
			map[string]any{"train_accuracy": round(pr.trainAcc), "heldout_accuracy": round(pr.valAcc), "training_examples": pr.fitN}, "train_limit", "0"))
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
				"at the first step %s has a gradient of RMS %.3g (healthy: well below 1): the gradients explode, so every step throws the weights far off", bigName, biggest), gev, "init", initFor(s.Recipe.Spec().HiddenActivation())))
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
func rangeTest(ctx context.Context, base *probeResult) (lrRange, float64) {
	const steps, lo, hi = 200, 1e-6, 10.0
	rc := base.recipe
	rng := rand.New(rand.NewPCG(rc.Seed, 7))
	net, err := rc.Spec().Build(rng)
	if err != nil {
		return lrRange{}, 0
	}
	opt, err := optim.New(rc.Optimizer, lo)
	if err != nil {
		return lrRange{}, 0
	}
	sub := base.fit
	n := sub.Len()
	order := rng.Perm(n)
	b := min(max(rc.Batch, 16), n) // a batch of 1 is too noisy to read a curve from
	x := tensor.New(append([]int{b}, sub.Shape()...)...)
	labels := make([]int, b)
	params := net.Params()
	net.ZeroGrad()
	defer net.SetDeferGrad(optim.TakesDeferred(opt))()
	// A training set the test goes through more than ten times is memorized, its loss
	// falling at any rate: the curve is read on a held-out batch instead (--train-limit
	// 100 to 500 once got Adam at lr 1 suggested). The usual 5,000 images are seen five
	// times and keep the training loss.
	var hx *tensor.Tensor
	var hLabels []int
	if held := base.val; 10*n < steps*b && held != nil && held.Len() > 0 {
		hb := min(held.Len(), 256)
		hx, hLabels = tensor.New(append([]int{hb}, held.Shape()...)...), make([]int, hb)
		held.Batch(rng.Perm(held.Len())[:hb], hx.Data, hLabels)
	}
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
		if hx != nil {
			loss = net.Loss.Forward(net.Forward(hx, false), hLabels)
		}
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
