package model

import (
	"github.com/digitnet/digitnet/internal/calibration"
	"github.com/digitnet/digitnet/tensor"
)

// Calibration is a model's fitted temperature and confidence floor.
type Calibration = calibration.Calibration

// calibrate tempers each row of the network's probabilities p with the model's
// calibration, if it has one.
func (m *Model) calibrate(p *tensor.Tensor) {
	c := m.Calibration
	if c == nil || c.Temperature == 1 || len(p.Shape) != 2 || p.Cols() < 2 {
		return
	}
	K := p.Cols()
	for i := 0; i+K <= len(p.Data); i += K {
		calibration.Temper(p.Data[i:i+K], c.Temperature)
	}
}

// Why an answer is withheld: the reason given in place of a digit.
const (
	ReasonNoInk   = "no ink"              // nothing written: a blank page
	ReasonSeveral = "more than one digit" // ink in groups side by side
	ReasonUnsure  = "low confidence"      // the network's best guess is under the floor
)

// MinConfidence is the ensemble's confidence floor: Floor when set, else the mean of
// its members' fitted floors (0 for a member without calibration: it always answers).
func (e *Ensemble) MinConfidence() float64 {
	if e.Floor != nil {
		return *e.Floor
	}
	s := 0.0
	for _, m := range e.Models {
		if m.Calibration != nil {
			s += m.Calibration.MinConfidence
		}
	}
	return s / float64(len(e.Models))
}

// Withhold says why an answer of confidence conf, for an image whose ink falls in
// parts groups side by side (0: not known), is not given, or "" to give it.
func Withhold(conf float64, parts int, floor float64) string {
	switch {
	case parts > 1:
		return ReasonSeveral
	case conf < floor:
		return ReasonUnsure
	}
	return ""
}
