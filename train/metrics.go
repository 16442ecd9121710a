package train

import (
	"fmt"
	"slices"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// ClassMetrics are the one-vs-rest scores of one class; a score whose denominator is
// zero is 0.
type ClassMetrics struct {
	Class     int     `json:"class"`
	Name      string  `json:"name,omitempty"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // examples whose true class is Class
}

// PerClass derives each class's precision, recall, F1 and support from a confusion
// matrix ([true][predicted]) and class names (the indices if names is empty). It
// returns an error if the matrix is not square, has negative counts, or names does not
// match it.
func PerClass(confusion [][]int, names []string) ([]ClassMetrics, error) {
	n := len(confusion)
	switch {
	case len(names) == 0:
		names = make([]string, n)
		for i := range names {
			names[i] = fmt.Sprint(i)
		}
	case len(names) != n:
		return nil, fmt.Errorf("train: %d class names for a %d×%d confusion matrix", len(names), n, n)
	}
	predicted := make([]int, n) // column sums
	for i, row := range confusion {
		if len(row) != n {
			return nil, fmt.Errorf("train: confusion row %d has %d columns, want %d", i, len(row), n)
		}
		for j, c := range row {
			if c < 0 {
				return nil, fmt.Errorf("train: confusion[%d][%d] = %d is negative", i, j, c)
			}
			predicted[j] += c
		}
	}
	out := make([]ClassMetrics, n)
	for i, row := range confusion {
		support := 0
		for _, c := range row {
			support += c
		}
		tp := float64(row[i])
		cm := ClassMetrics{Class: i, Name: names[i], Support: support}
		if predicted[i] > 0 {
			cm.Precision = tp / float64(predicted[i])
		}
		if support > 0 {
			cm.Recall = tp / float64(support)
		}
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		out[i] = cm
	}
	return out, nil
}

// Correct is the number of examples on a confusion matrix's diagonal.
func Correct(confusion [][]int) int {
	n := 0
	for k := range confusion {
		n += confusion[k][k]
	}
	return n
}

// Mistake is an example the network classified wrong.
type Mistake struct {
	Index       int     // the example's index in the data
	True        int     // its label
	Predicted   int     // the class the network gave it
	Probability float64 // the network's probability for that class
}

// Mistakes runs net over d in batches of batchSize and returns its n most confident
// mistakes, the most confident first (ties in data order).
func Mistakes(net *nn.Network, d Data, batchSize, n int) []Mistake {
	if batchSize <= 0 {
		batchSize = 1000
	}
	shape := d.Shape()
	dim := tensor.Size(shape)
	x := tensor.New(append([]int{min(batchSize, max(d.Len(), 1))}, shape...)...)
	labels := make([]int, batchSize)
	idx := make([]int, batchSize)
	var wrong []Mistake
	for lo := 0; lo < d.Len(); lo += batchSize {
		b := min(batchSize, d.Len()-lo)
		for i := range b {
			idx[i] = lo + i
		}
		x.Resize(append([]int{b}, shape...)...)
		d.Batch(idx[:b], x.Data[:b*dim], labels[:b])
		probs := net.Predict(x)
		K := probs.Cols()
		for i := range b {
			row := probs.Data[i*K : (i+1)*K]
			if p := nn.ProbClass(row); p != labels[i] {
				wrong = append(wrong, Mistake{Index: lo + i, True: labels[i], Predicted: p, Probability: float64(nn.ClassProb(row, p))})
			}
		}
	}
	return Worst(wrong, n)
}

// Worst sorts mistakes by the probability given to the wrong class, highest first (ties
// keep their order), and returns the first n.
func Worst(wrong []Mistake, n int) []Mistake {
	slices.SortStableFunc(wrong, func(a, b Mistake) int {
		switch {
		case a.Probability > b.Probability:
			return -1
		case a.Probability < b.Probability:
			return 1
		}
		return 0
	})
	return wrong[:min(n, len(wrong))]
}
