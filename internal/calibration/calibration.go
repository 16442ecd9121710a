// Package calibration holds what a fitted calibration says of a model's
// probabilities, shared by the training code that fits it and the model files that
// store it.
package calibration

import (
	"math"
	"slices"
)

// Calibration says how far a network's probabilities can be trusted, fitted on
// examples it was not trained on (train.Calibrate).
type Calibration struct {
	// Temperature T divides the logits: softmax(z/T) are the calibrated probabilities
	// (Guo et al., "On calibration of modern neural networks", 2017). T > 1 softens an
	// overconfident network; the predicted class never changes.
	Temperature float64 `json:"temperature"`
	// MinConfidence is the calibrated probability below which an answer is withheld
	// ("low confidence"), chosen so that a share Abstain of the examples fall below it.
	MinConfidence float64 `json:"min_confidence"`
	Abstain       float64 `json:"abstain"`
	Examples      int     `json:"examples"`   // the examples it was fitted on
	ECEBefore     float64 `json:"ece_before"` // expected calibration error before scaling
	ECEAfter      float64 `json:"ece_after"`  // and after (ECE, 15 bins)
	Accuracy      float64 `json:"accuracy"`   // on those examples
}

// Temper rescales one row of softmax probabilities in place to softmax(z/T), for the
// logits z they came from; T ≤ 0 or 1 leaves it.
func Temper(row []float32, T float64) {
	if T == 1 || T <= 0 || len(row) < 2 {
		return
	}
	m := float64(slices.Max(row))
	if m <= 0 {
		return
	}
	lm := math.Log(m)
	s := 0.0
	for i, p := range row {
		v := 0.0
		if p > 0 {
			v = math.Exp((math.Log(float64(p)) - lm) / T)
		}
		row[i] = float32(v)
		s += v
	}
	for i := range row {
		row[i] = float32(float64(row[i]) / s)
	}
}
