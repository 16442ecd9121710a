package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// Ensemble averages the class probabilities of several models of the same classes. Each
// model keeps its own input normalization and architecture.
type Ensemble struct {
	Models []*Model
	Names  []string
	// Floor, when set, is the confidence floor fitted to the ensemble as a whole
	// (averaging members lowers the confidence their own floors were fitted on).
	Floor *float64
	// Weights, when set, weigh the members' probabilities in the average (one per
	// member, ≥ 0, not all 0; see SetWeights); nil weighs them equally.
	Weights []float64
	bufs    []*tensor.Tensor
	sum     *tensor.Tensor
}

// SetWeights sets the members' weights in the average; nil weighs them equally.
func (e *Ensemble) SetWeights(w []float64) error {
	if w == nil {
		e.Weights = nil
		return nil
	}
	if len(w) != len(e.Models) {
		return fmt.Errorf("model: ensemble: %d weights for %d members", len(w), len(e.Models))
	}
	total := 0.0
	for i, v := range w {
		if !(v >= 0) || math.IsInf(v, 1) {
			return fmt.Errorf("model: ensemble: weight %d is %g, want a finite number ≥ 0", i+1, v)
		}
		total += v
	}
	if total == 0 || math.IsInf(total, 1) {
		return fmt.Errorf("model: ensemble: weights summing to %g, want a positive finite sum", total)
	}
	e.Weights = slices.Clone(w)
	return nil
}

// LoadEnsemble loads the model files; they must take inputs of one size (any
// architecture) and name the same classes.
func LoadEnsemble(paths []string) (*Ensemble, error) {
	models := make([]*Model, len(paths))
	for i, p := range paths {
		m, err := Load(p)
		if err != nil {
			return nil, err
		}
		models[i] = m
	}
	return NewEnsemble(models, paths)
}

// NewEnsemble makes an ensemble of models, each named (its file, for messages).
func NewEnsemble(models []*Model, names []string) (*Ensemble, error) {
	e := &Ensemble{sum: tensor.New(0)}
	for i, m := range models {
		p := names[i]
		if len(e.Models) > 0 {
			first := e.Models[0]
			if !slices.Equal(m.Classes, first.Classes) {
				return nil, fmt.Errorf("model: ensemble: %s has classes %v, %s has %v", p, m.Classes, e.Names[0], first.Classes)
			}
			if m.Arch.InputSize() != first.Arch.InputSize() {
				return nil, fmt.Errorf("model: ensemble: %s takes %d inputs, %s %d", p, m.Arch.InputSize(), e.Names[0], first.Arch.InputSize())
			}
		}
		e.Models, e.Names = append(e.Models, m), append(e.Names, p)
		e.bufs = append(e.bufs, tensor.New(0))
	}
	if len(e.Models) == 0 {
		return nil, fmt.Errorf("model: ensemble of no models")
	}
	return e, nil
}

// Replica returns an ensemble of the members' replicas (see Model.Replica): the same
// weights, read-only, with working buffers of its own, for one concurrent caller.
func (e *Ensemble) Replica() (*Ensemble, error) {
	r := &Ensemble{Names: e.Names, Floor: e.Floor, Weights: e.Weights, sum: tensor.New(0)}
	for i, m := range e.Models {
		net, err := m.Replica()
		if err != nil {
			return nil, fmt.Errorf("model: ensemble member %s: %w", e.Names[i], err)
		}
		member := *m
		member.Net = net
		r.Models = append(r.Models, &member)
		r.bufs = append(r.bufs, tensor.New(0))
	}
	return r, nil
}

// Quantized returns the ensemble with every member's dense layers and convolutions in
// int8 for inference (Model.Quantized), calibrated on the n images of pixels.
func (e *Ensemble) Quantized(pixels []uint8, n int) (*Ensemble, error) {
	r := &Ensemble{Names: e.Names, Floor: e.Floor, Weights: e.Weights, sum: tensor.New(0)}
	for i, m := range e.Models {
		q, err := m.Quantized(pixels, n)
		if err != nil {
			return nil, fmt.Errorf("model: ensemble member %s: %w", e.Names[i], err)
		}
		r.Models = append(r.Models, q)
		r.bufs = append(r.bufs, tensor.New(0))
	}
	return r, nil
}

// Class is the class the averaged probabilities of one image pick (nn.ProbClass: a
// binary model's single output is class 1's probability).
func (e *Ensemble) Class(probs []float32) int { return nn.ProbClass(probs) }

// Parameters is the members' parameter count, summed.
func (e *Ensemble) Parameters() int {
	n := 0
	for _, m := range e.Models {
		n += m.Net.ParamCount()
	}
	return n
}

// Classes are the class names all members share.
func (e *Ensemble) Classes() []string { return e.Models[0].Classes }

// Predict returns the mean (weighted, see Weights) class probabilities [n K] for n images of raw pixel bytes
// (n·784, 0 background, 255 ink). The result is valid until the next call, and is the
// member's own output when there is one member.
func (e *Ensemble) Predict(pixels []uint8, n int) *tensor.Tensor {
	for i, m := range e.Models {
		x := e.bufs[i]
		x.Resize(append([]int{n}, m.Arch.Input...)...)
		m.Batch(x.Data, pixels[:n*m.Arch.InputSize()])
		p := m.Net.Predict(x)
		m.calibrate(p)
		if len(e.Models) == 1 {
			return p
		}
		e.accumulate(i, p)
	}
	return e.mean()
}

// PredictUnit is Predict for n images given as intensities in [0, 1] (n·InputSize
// values, 0 background, 1 ink), each member mapping them to its own inputs as it maps
// a byte v: scale·255·value + offset.
func (e *Ensemble) PredictUnit(values []float32, n int) *tensor.Tensor {
	for i, m := range e.Models {
		x := e.bufs[i]
		x.Resize(append([]int{n}, m.Arch.Input...)...)
		s, o := 255*m.Input.Scale, m.Input.Offset
		for j, v := range values[:n*m.Arch.InputSize()] {
			x.Data[j] = s*v + o
		}
		p := m.Net.Predict(x)
		m.calibrate(p)
		if len(e.Models) == 1 {
			return p
		}
		e.accumulate(i, p)
	}
	return e.mean()
}

// accumulate adds member i's probabilities, weighted, into the sum.
func (e *Ensemble) accumulate(i int, p *tensor.Tensor) {
	if e.Weights != nil { // p is the member's output buffer, overwritten by its next call
		// Each weight's share, in float64: weights of 1e-50 or 1e39 stay in float32's range.
		total := 0.0
		for _, v := range e.Weights {
			total += v
		}
		w := float32(e.Weights[i] / total)
		for j := range p.Data {
			p.Data[j] *= w
		}
	}
	if i == 0 {
		e.sum.Resize(p.Shape...)
		copy(e.sum.Data, p.Data)
	} else {
		kernels.Add(e.sum.Data, p.Data)
	}
}

// mean divides the sum by the number of members (weighed members were scaled by their
// shares already).
func (e *Ensemble) mean() *tensor.Tensor {
	if e.Weights != nil {
		return e.sum
	}
	inv := float32(1 / float64(len(e.Models)))
	for j := range e.sum.Data {
		e.sum.Data[j] *= inv
	}
	return e.sum
}

// Evaluate is the ensemble's accuracy, mean cross-entropy of its averaged probabilities
// and confusion matrix on images with labels, in batches of 1000.
func (e *Ensemble) Evaluate(pixels, labels []uint8) (accuracy, loss float64, confusion [][]int) {
	K := len(e.Classes())
	confusion = make([][]int, K)
	for k := range confusion {
		confusion[k] = make([]int, K)
	}
	d := e.Models[0].Arch.InputSize()
	correct := 0
	for lo := 0; lo < len(labels); lo += 1000 {
		n := min(1000, len(labels)-lo)
		p := e.Predict(pixels[lo*d:(lo+n)*d], n)
		cols := p.Cols()
		for i := range n {
			row := p.Data[i*cols : (i+1)*cols]
			c := nn.Argmax(row)
			if cols == 1 {
				c = 0
				if row[0] > 0.5 {
					c = 1
				}
			}
			l := int(labels[lo+i])
			confusion[l][c]++
			if c == l {
				correct++
			}
			if cols > 1 {
				loss -= math.Log(math.Max(float64(row[l]), 1e-7))
			}
		}
	}
	return float64(correct) / float64(len(labels)), loss / float64(len(labels)), confusion
}
