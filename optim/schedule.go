package optim

import (
	"fmt"
	"math"
	"strings"
)

// Schedule gives the learning rate of an epoch (1-based), set before the epoch starts.
type Schedule func(epoch int) float64

// Schedules names the learning-rate schedules NewSchedule makes.
var Schedules = []string{"constant", "cosine", "step", "warmup", "onecycle"}

// NewSchedule makes the named schedule for a run of epochs epochs from the base rate lr:
//
//	constant  lr throughout (a nil Schedule)
//	cosine    lr·½(1 + cos(π(e−1)/epochs)): from lr down towards 0 (PyTorch's CosineAnnealingLR)
//	step      lr, ×0.1 from half the run, ×0.01 from three quarters
//	warmup    linear up over warmup epochs (lr·e/(warmup+1)), then cosine from lr
//	onecycle  linear from lr/25 up to lr over 30 % of the run, then cosine down
//
// Every rate is evaluated at the start of its epoch.
func NewSchedule(name string, lr float64, epochs, warmup int) (Schedule, error) {
	n := float64(epochs)
	// cosine from lr at epoch from (1-based) to ~0 at the end.
	cosine := func(epoch int, from float64) float64 {
		return lr * 0.5 * (1 + math.Cos(math.Pi*(float64(epoch)-from)/(n-from+1)))
	}
	switch name {
	case "constant":
		return nil, nil
	case "cosine":
		return func(epoch int) float64 { return cosine(epoch, 1) }, nil
	case "step":
		return func(epoch int) float64 {
			f := float64(epoch-1) / n
			switch {
			case f >= 0.75:
				return lr / 100
			case f >= 0.5:
				return lr / 10
			}
			return lr
		}, nil
	case "warmup":
		w := float64(warmup)
		return func(epoch int) float64 {
			if float64(epoch) <= w {
				return lr * float64(epoch) / (w + 1)
			}
			return cosine(epoch, w+1)
		}, nil
	case "onecycle":
		up := math.Max(math.Round(0.3*n), 1)
		return func(epoch int) float64 {
			if float64(epoch) <= up {
				return lr/25 + (lr-lr/25)*float64(epoch-1)/up
			}
			return cosine(epoch, up+1)
		}, nil
	}
	return nil, fmt.Errorf("optim: unknown schedule %q, want one of %s", name, strings.Join(Schedules, ", "))
}
