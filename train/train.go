package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/tensor"
)

// Config sets how a network is trained.
type Config struct {
	Epochs    int
	BatchSize int
	// Shuffle draws a new example order every epoch; off, examples come in file order
	// (as the seed network did).
	Shuffle bool
	// EvalBatch is the batch size for evaluation passes (default 1000).
	EvalBatch int
	// Schedule, when set, gives the learning rate for an epoch (1-based) before it starts.
	Schedule func(epoch int) float64
	// RunningTrainAccuracy reports as train accuracy the fraction of the epoch's training
	// examples classified right as they were trained on (as Keras does), instead of a
	// pass over the whole training set after the epoch: free, but measured on weights
	// that changed during the epoch. The final result still evaluates the whole set.
	RunningTrainAccuracy bool
	// Resume continues a run: these epochs are done (their reports are carried into the
	// result) and training starts with epoch len(Resume)+1. The network, optimizer and
	// random source must be in the state they had at the end of that epoch.
	Resume []Epoch
	// ResumePartial, with Resume, continues an epoch that an interruption cut short (the
	// Result.Partial of that run): training goes on from its next batch, in the order the
	// epoch began with, and the run ends as the uninterrupted one would have, bit for bit.
	// The network, optimizer and random source must be in their state at the
	// interruption.
	ResumePartial *Partial
	// ResumeBest, with Resume and Val, is the best validation epoch the interrupted run
	// had found (its Checkpoint.Best): patience and KeepBest go on from it.
	ResumeBest *Best
	// AfterEpoch, when set, runs after each epoch's report with where the run stands (to
	// write a checkpoint); an error stops the run and is returned.
	AfterEpoch func(Checkpoint) error
	// Val, when set, is a validation set measured after every epoch. With Patience > 0
	// the run stops after Patience epochs without a better validation accuracy; with
	// KeepBest the weights of the best epoch are restored at the end (the final metrics
	// are theirs).
	Val      Data
	Patience int
	KeepBest bool
	// TrainEval, when set, is what the per-epoch train accuracy is measured on instead
	// of the training data itself: the undistorted images when training augments them.
	TrainEval Data
}

// prefetcher is Data that can start preparing the next batch early.
type prefetcher interface{ Prefetch(next []int) }

// Epoch is one epoch's report.
type Epoch struct {
	Epoch         int     `json:"epoch"`
	Loss          float64 `json:"loss"`           // mean training loss over the epoch's batches
	TrainAccuracy float64 `json:"train_accuracy"` // on the whole training set after the epoch
	TestAccuracy  float64 `json:"test_accuracy"`
	TestLoss      float64 `json:"test_loss"`
	ValAccuracy   float64 `json:"val_accuracy,omitempty"`
	Seconds       float64 `json:"seconds"` // training wall time, evaluation excluded
	LR            float64 `json:"lr"`
}

// Recorder receives progress. Calls come from the training goroutine.
type Recorder interface {
	// StartEpoch is called before an epoch of examples examples.
	StartEpoch(epoch, epochs, examples int)
	// Progress reports examples done so far in the epoch and the running mean loss.
	Progress(done int, loss float64)
	// EndEpoch reports a finished epoch.
	EndEpoch(e Epoch)
}

// Result is what a run leaves.
type Result struct {
	History []Epoch
	// Interrupted is set when the context ended the run early; the final metrics are
	// then those of the weights at that moment.
	Interrupted bool
	// Seconds is the total training wall time, evaluation excluded.
	Seconds float64
	// LastLoss is the mean training loss of the last (possibly partial) epoch.
	LastLoss   float64
	Train      Metrics
	Test       Metrics
	EpochsDone int
	// BestEpoch is the epoch with the best validation accuracy (with Config.Val), and
	// EarlyStopped says the run ended before Config.Epochs for lack of progress.
	BestEpoch    int
	EarlyStopped bool
	// Partial is the epoch an interruption cut short, nil when the run stopped between
	// epochs: with a checkpoint of the weights, optimizer and random source taken now, it
	// is what Config.ResumePartial needs to finish the run.
	Partial *Partial
	// Best is the best validation epoch when the run stopped (Config.Val), for
	// Config.ResumeBest; nil without validation.
	Best *Best
}

// Checkpoint is where a run stands after an epoch, besides the network, optimizer and
// random source: what a checkpoint must hold to go on.
type Checkpoint struct {
	History []Epoch
	// Best is the best validation epoch so far (Config.Val), with its weights when
	// Config.KeepBest keeps them; nil without validation.
	Best *Best
}

// Best is the epoch with the best validation accuracy so far.
type Best struct {
	Epoch       int
	ValAccuracy float64
	Weights     [][]float32 // Network.Snapshot of that epoch (KeepBest), else nil
}

// Partial is an epoch cut short: where it stood, and what it had summed so far.
type Partial struct {
	Epoch int `json:"epoch"`
	Done  int `json:"done"` // examples trained, a whole number of batches
	// OrderState is the random source's state (rand.PCG.MarshalBinary) when the epoch
	// began: the epoch's example order is drawn from it.
	OrderState []byte  `json:"order_state"`
	LossSum    float64 `json:"loss_sum"` // Σ batch loss × batch size
	Correct    int     `json:"correct"`  // examples classified right as they were trained on
	// Outliers is how many of the examples done were outliers (label nn.Outlier), which
	// running train accuracy leaves out.
	Outliers int     `json:"outliers,omitempty"`
	Seconds  float64 `json:"seconds"` // training wall time so far
}

// Run trains net on trainSet, evaluating on both sets after every epoch. It stops early,
// without error, when ctx is done: the result then says Interrupted and holds metrics for
// the weights reached, and Partial when it stopped within an epoch. src drives the
// shuffling (and whatever else the caller draws from it, such as dropout masks).
func Run(ctx context.Context, net *nn.Network, opt optim.Optimizer, trainSet, testSet Data, cfg Config, src *rand.PCG, rec Recorder) (Result, error) {
	if cfg.Epochs <= 0 || cfg.BatchSize <= 0 {
		return Result{}, fmt.Errorf("train: epochs %d and batch %d must be positive", cfg.Epochs, cfg.BatchSize)
	}
	if trainSet.Len() == 0 {
		return Result{}, fmt.Errorf("train: no training examples")
	}
	if p := cfg.ResumePartial; p != nil && (p.Epoch != len(cfg.Resume)+1 || p.Done < 0 || p.Done > trainSet.Len()) {
		return Result{}, fmt.Errorf("train: a partial epoch %d with %d examples done cannot follow %d epochs of %d examples", p.Epoch, p.Done, len(cfg.Resume), trainSet.Len())
	}
	rng := rand.New(src)
	shape := trainSet.Shape()
	dim := tensor.Size(shape)
	n := trainSet.Len()
	order := make([]int, n)
	params := net.Params()
	net.ZeroGrad()
	// The first layer's sparse gradients go to optim's optimizers deferred (as an outer
	// product or as rows); another Optimizer gets them written out, as it reads Grad.
	defer net.SetDeferGrad(optim.TakesDeferred(opt))()
	x := tensor.New(append([]int{min(cfg.BatchSize, n)}, shape...)...)
	labels := make([]int, cfg.BatchSize)

	res := Result{History: append([]Epoch(nil), cfg.Resume...), EpochsDone: len(cfg.Resume)}
	for _, e := range cfg.Resume {
		res.Seconds += e.Seconds
		res.LastLoss = e.Loss
	}
	stale := len(cfg.Resume) > 0 // weights changed since res.Train and res.Test were measured
	evalSet := trainSet
	if cfg.TrainEval != nil {
		evalSet = cfg.TrainEval
	}
	bestVal, best := -1.0, [][]float32(nil)
	if b := cfg.ResumeBest; b != nil && cfg.Val != nil {
		bestVal, res.BestEpoch, best = b.ValAccuracy, b.Epoch, b.Weights
	}
	for epoch := len(cfg.Resume) + 1; epoch <= cfg.Epochs; epoch++ {
		if cfg.Schedule != nil {
			opt.SetLR(cfg.Schedule(epoch))
		}
		// Each epoch's order is drawn afresh from the identity, so the random source's
		// state when the epoch begins is all a resumed run needs to repeat it.
		orderState, err := src.MarshalBinary()
		if err != nil {
			return res, fmt.Errorf("train: random state: %w", err)
		}
		var lossSum, prevSecs float64
		done, correct, outliers := 0, 0, 0
		orderRNG := rng
		if p := cfg.ResumePartial; p != nil && epoch == p.Epoch {
			// Draw the interrupted epoch's order from the state it began with; the source
			// itself is already where the interruption left it.
			from := &rand.PCG{}
			if err := from.UnmarshalBinary(p.OrderState); err != nil {
				return res, fmt.Errorf("train: partial epoch %d: order state: %w", p.Epoch, err)
			}
			orderState, orderRNG = p.OrderState, rand.New(from)
			done, lossSum, correct, outliers, prevSecs = p.Done, p.LossSum, p.Correct, p.Outliers, p.Seconds
		}
		for i := range order {
			order[i] = i
		}
		if cfg.Shuffle {
			orderRNG.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		if rec != nil {
			rec.StartEpoch(epoch, cfg.Epochs, n)
			if done > 0 {
				rec.Progress(done, lossSum/float64(done))
			}
		}
		start := time.Now()
		for done < n && ctx.Err() == nil {
			b := min(cfg.BatchSize, n-done)
			x.Resize(append([]int{b}, shape...)...)
			trainSet.Batch(order[done:done+b], x.Data[:b*dim], labels[:b])
			if p, ok := trainSet.(prefetcher); ok && done+b < n {
				p.Prefetch(order[done+b : min(done+2*b, n)])
			}
			loss, c := net.TrainBatch(x, labels[:b])
			lossSum += loss * float64(b)
			correct += c
			for _, l := range labels[:b] {
				if l == nn.Outlier {
					outliers++
				}
			}
			opt.Step(params)
			done += b
			if rec != nil {
				rec.Progress(done, lossSum/float64(done))
			}
		}
		secs := prevSecs + time.Since(start).Seconds()
		res.Seconds += secs
		if done > 0 {
			res.LastLoss = lossSum / float64(done)
		}
		if done < n { // interrupted mid-epoch: the weights moved since the last evaluation
			res.Interrupted = true
			res.Partial = &Partial{Epoch: epoch, Done: done, OrderState: orderState, LossSum: lossSum, Correct: correct, Outliers: outliers, Seconds: secs}
			stale = stale || done > 0
			break
		}
		e := Epoch{Epoch: epoch, Loss: res.LastLoss, Seconds: secs, LR: opt.LR()}
		res.Test = Evaluate(net, testSet, cfg.EvalBatch)
		if cfg.RunningTrainAccuracy {
			e.TrainAccuracy = float64(correct) / float64(max(n-outliers, 1))
			stale = true // the final report evaluates the whole set
		} else {
			res.Train = Evaluate(net, evalSet, cfg.EvalBatch)
			e.TrainAccuracy = res.Train.Accuracy
			stale = false
		}
		e.TestAccuracy, e.TestLoss = res.Test.Accuracy, res.Test.Loss
		if cfg.Val != nil {
			e.ValAccuracy = Evaluate(net, cfg.Val, cfg.EvalBatch).Accuracy
			if e.ValAccuracy > bestVal {
				bestVal, res.BestEpoch = e.ValAccuracy, epoch
				if cfg.KeepBest {
					best = net.Snapshot()
				}
			}
		}
		res.History = append(res.History, e)
		res.EpochsDone = epoch
		if rec != nil {
			rec.EndEpoch(e)
		}
		if cfg.AfterEpoch != nil {
			ck := Checkpoint{History: res.History}
			if cfg.Val != nil {
				ck.Best = &Best{Epoch: res.BestEpoch, ValAccuracy: bestVal, Weights: best}
			}
			if err := cfg.AfterEpoch(ck); err != nil {
				return res, err
			}
		}
		if ctx.Err() != nil {
			res.Interrupted = epoch < cfg.Epochs
			break
		}
		if cfg.Val != nil && cfg.Patience > 0 && epoch-res.BestEpoch >= cfg.Patience && epoch < cfg.Epochs {
			res.EarlyStopped = true
			break
		}
	}
	if cfg.Val != nil {
		res.Best = &Best{Epoch: res.BestEpoch, ValAccuracy: bestVal, Weights: best}
	}
	// An interrupted run keeps its weights: a checkpoint of them goes on from there.
	if best != nil && res.BestEpoch != res.EpochsDone && !res.Interrupted {
		net.Restore(best)
		stale = true
	}
	if stale {
		res.Train = Evaluate(net, evalSet, cfg.EvalBatch)
		res.Test = Evaluate(net, testSet, cfg.EvalBatch)
	}
	return res, nil
}
