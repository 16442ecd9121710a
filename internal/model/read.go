package model

import (
	"errors"
	"image"
	"math"
	"strings"

	"github.com/digitnet/digitnet/internal/digit"
	"github.com/digitnet/digitnet/nn"
)

// sureWay: when the digits of the cut a group's width suggests are all recognised
// with this joint probability, other cuts are not tried.
const sureWay = 0.9

// Reading is what ReadNumber read in an image: a row of digits, left to right.
type Reading struct {
	// Text is the digits left to right, "?" for each the model is unsure of; "" when
	// there are none (Reason says why).
	Text       string
	Confidence float64 // the product of the digits' confidences: the chance that all are right
	Digits     []DigitReading
	Reason     string // why there is no text: ReasonNoInk
}

// DigitReading is one digit of a Reading.
type DigitReading struct {
	Digit      int     // the most probable class (even when Unsure)
	Confidence float64 // its probability
	// Unsure marks a digit below the model's confidence floor: Text has "?" for it.
	Unsure bool
	Box    image.Rectangle // where it is in the image
	Input  []uint8         // the 28×28 image the network saw
}

// ReadNumber reads a row of handwritten digits in img: digit.Segment finds the digits
// and the ways to cut touching ones, the ensemble classifies every piece in one batch,
// and each group is read the way its width suggests, or, when that reads badly, the
// way whose pieces are recognised best. Digits less confident than floor are Unsure.
// An image with nothing written gives Reason ReasonNoInk.
func (r *Ensemble) ReadNumber(img image.Image, floor float64) (Reading, error) {
	groups, err := digit.Segment(img)
	if errors.Is(err, digit.ErrNoInk) {
		return Reading{Reason: ReasonNoInk}, nil
	}
	if err != nil {
		return Reading{}, err
	}
	// Every way of reading every group, in one batch.
	const px = digit.Size * digit.Size
	var pixels []uint8
	for _, g := range groups {
		for _, way := range g.Ways {
			for _, p := range way {
				pixels = append(pixels, p.Pixels...)
			}
		}
		if g.Joined != nil {
			pixels = append(pixels, g.Joined.Pixels...)
		}
	}
	n := len(pixels) / px
	probs := r.Predict(pixels, n)
	K := probs.Cols()
	guesses := make([]DigitReading, n)
	for i := range n {
		row := probs.Data[i*K : (i+1)*K]
		k := r.Class(row)
		guesses[i] = DigitReading{Digit: k, Confidence: float64(nn.ClassProb(row, k))}
	}
	// Each group read the way whose digits the model recognises best: the width's
	// own guess, unless its digits' joint probability is under sureWay, then the way
	// with the highest (the chance that all are right).
	chosen := make([][]DigitReading, len(groups))
	joined := make([]*DigitReading, len(groups))
	i := 0
	for k, g := range groups {
		scores := make([]float64, len(g.Ways))
		starts := make([]int, len(g.Ways))
		for w, way := range g.Ways {
			starts[w] = i
			for j := range way {
				scores[w] += math.Log(max(guesses[i+j].Confidence, 1e-9))
			}
			i += len(way)
		}
		best := g.Best
		if scores[best] < math.Log(sureWay) {
			for w, s := range scores {
				if s > scores[best] {
					best = w
				}
			}
		}
		for j, p := range g.Ways[best] {
			d := guesses[starts[best]+j]
			d.Box, d.Input = p.Box, p.Pixels
			chosen[k] = append(chosen[k], d)
		}
		if g.Joined != nil {
			d := guesses[i]
			d.Box, d.Input = g.Joined.Box, g.Joined.Pixels
			joined[k] = &d
			i++
		}
	}
	// A group and the next are one digit when apart they read badly and together well.
	var digits []DigitReading
	for k := 0; k < len(groups); k++ {
		if j := joined[k]; j != nil && len(chosen[k]) == 1 && len(chosen[k+1]) == 1 {
			a, b := chosen[k][0].Confidence, chosen[k+1][0].Confidence
			if min(a, b) < sureWay && j.Confidence >= sureWay && j.Confidence > a*b {
				digits = append(digits, *j)
				k++
				continue
			}
		}
		digits = append(digits, chosen[k]...)
	}
	classes := r.Classes()
	out := Reading{Confidence: 1}
	var text strings.Builder
	for _, d := range digits {
		d.Unsure = d.Confidence < floor
		if d.Unsure {
			text.WriteByte('?')
		} else {
			text.WriteString(classes[d.Digit])
		}
		out.Confidence *= d.Confidence
		out.Digits = append(out.Digits, d)
	}
	out.Text = text.String()
	return out, nil
}
