package train

import (
	"math"
	"slices"

	"github.com/digitnet/digitnet/internal/calibration"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// Calibration says how far a network's probabilities can be trusted, fitted on
// examples it was not trained on (Calibrate); model files store it.
type Calibration = calibration.Calibration

// Probabilities runs net in inference mode over d and returns its outputs, d.Len()
// rows of the network's width, and the labels.
func Probabilities(net *nn.Network, d Data, batchSize int) (probs []float32, labels []int) {
	if batchSize <= 0 {
		batchSize = 1000
	}
	shape := d.Shape()
	dim := tensor.Size(shape)
	n := d.Len()
	x := tensor.New(append([]int{min(batchSize, max(n, 1))}, shape...)...)
	labels = make([]int, n)
	idx := make([]int, batchSize)
	for lo := 0; lo < n; lo += batchSize {
		b := min(batchSize, n-lo)
		for i := range b {
			idx[i] = lo + i
		}
		x.Resize(append([]int{b}, shape...)...)
		d.Batch(idx[:b], x.Data[:b*dim], labels[lo:lo+b])
		probs = append(probs, net.Predict(x).Data...)
	}
	return probs, labels
}

// Calibrate fits a temperature to softmax probabilities (n rows of K) by minimizing
// the negative log-likelihood of the labels, and sets the minimum confidence that
// withholds about a share abstain of the answers. It needs K ≥ 2 and some rows.
func Calibrate(probs []float32, labels []int, K int, abstain float64) Calibration {
	n := len(labels)
	logp := make([]float64, len(probs))
	for i, p := range probs {
		logp[i] = math.Log(max(float64(p), 1e-45))
	}
	nll := func(T float64) float64 {
		s := 0.0
		for i := range n {
			row := logp[i*K : (i+1)*K]
			s -= scaledLog(row, T, labels[i])
		}
		return s / float64(n)
	}
	// log T in [log 0.05, log 20], golden-section search: NLL is unimodal in T.
	lo, hi := math.Log(0.05), math.Log(20.0)
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := nll(math.Exp(a)), nll(math.Exp(b))
	for range 60 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = nll(math.Exp(a))
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = nll(math.Exp(b))
		}
	}
	c := Calibration{Temperature: math.Exp((lo + hi) / 2), Examples: n}
	calibrated := make([]float32, len(probs))
	copy(calibrated, probs)
	for i := range n {
		Temper(calibrated[i*K:(i+1)*K], c.Temperature)
	}
	c.ECEBefore, c.Accuracy = ECE(probs, labels, K, 15)
	c.ECEAfter, _ = ECE(calibrated, labels, K, 15)
	conf := make([]float64, n)
	for i := range n {
		conf[i] = float64(slices.Max(calibrated[i*K : (i+1)*K]))
	}
	slices.Sort(conf)
	if k := int(abstain * float64(n)); k > 0 && n > 0 {
		c.MinConfidence = conf[k-1]
		below := 0
		for _, v := range conf {
			if v < c.MinConfidence {
				below++
			}
		}
		c.Abstain = float64(below) / float64(n)
	}
	return c
}

// scaledLog is log softmax(row/T)[k] for a row of log-probabilities.
func scaledLog(row []float64, T float64, k int) float64 {
	m := slices.Max(row) / T
	s := 0.0
	for _, v := range row {
		s += math.Exp(v/T - m)
	}
	return row[k]/T - m - math.Log(s)
}

// Temper rescales one row of softmax probabilities in place to softmax(z/T), for the
// logits z they came from.
func Temper(row []float32, T float64) { calibration.Temper(row, T) }

// ECE is the expected calibration error of softmax probabilities (n rows of K): the
// examples binned by confidence into bins of equal width, the mean gap between each
// bin's accuracy and its mean confidence, weighted by the bin's share. Also returns
// the accuracy.
func ECE(probs []float32, labels []int, K, bins int) (ece, accuracy float64) {
	n := len(labels)
	if n == 0 {
		return 0, 0
	}
	conf := make([]float64, bins)
	hits := make([]float64, bins)
	count := make([]int, bins)
	right := 0
	for i := range n {
		row := probs[i*K : (i+1)*K]
		p := nn.Argmax(row)
		c := float64(row[p])
		b := min(bins-1, int(c*float64(bins)))
		conf[b] += c
		count[b]++
		if p == labels[i] {
			hits[b]++
			right++
		}
	}
	for b := range bins {
		if count[b] > 0 {
			ece += math.Abs(hits[b]-conf[b]) / float64(n)
		}
	}
	return ece, float64(right) / float64(n)
}
