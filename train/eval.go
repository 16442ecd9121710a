package train

import (
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// Metrics summarizes a network's predictions on a data set.
type Metrics struct {
	Loss      float64 // mean loss
	Accuracy  float64 // fraction of examples whose highest output is the label
	Confusion [][]int // Confusion[true][predicted]
}

// Evaluate runs the network in inference mode over all of d in batches of batchSize.
func Evaluate(net *nn.Network, d Data, batchSize int) Metrics {
	n := d.Len()
	if batchSize <= 0 {
		batchSize = 1000
	}
	shape := d.Shape()
	dim := tensor.Size(shape)
	x := tensor.New(append([]int{min(batchSize, max(n, 1))}, shape...)...)
	labels := make([]int, batchSize)
	idx := make([]int, batchSize)
	var m Metrics
	var lossSum float64
	correct := 0
	for start := 0; start < n; start += batchSize {
		b := min(batchSize, n-start)
		for j := range b {
			idx[j] = start + j
		}
		x.Resize(append([]int{b}, shape...)...)
		d.Batch(idx[:b], x.Data[:b*dim], labels[:b])
		out := net.Forward(x, false)
		lossSum += net.Loss.Forward(out, labels[:b]) * float64(b)
		K := out.Cols()
		if m.Confusion == nil {
			C := max(K, 2) // a single output is a binary classifier
			m.Confusion = make([][]int, C)
			for k := range m.Confusion {
				m.Confusion[k] = make([]int, C)
			}
		}
		for j := range b {
			p := net.Class(out.Data[j*K : (j+1)*K])
			m.Confusion[labels[j]][p]++
			if p == labels[j] {
				correct++
			}
		}
	}
	if n > 0 {
		m.Loss = lossSum / float64(n)
		m.Accuracy = float64(correct) / float64(n)
	}
	return m
}
