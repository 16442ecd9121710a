// Package train runs the training loop: batches, optimizer steps, per-epoch evaluation and
// progress reports. It knows nothing of MNIST; examples come through the Data interface.
package train

import (
	"fmt"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
)

// Data is a labelled set of examples of one shape.
type Data interface {
	Len() int
	// Shape is the per-example input shape, e.g. [784].
	Shape() []int
	// Batch writes the examples idx into x ([len(idx) Shape...], row-major) and their
	// labels into labels.
	Batch(idx []int, x []float32, labels []int)
}

// Bytes is Data held as bytes and mapped to floats as a batch is read:
// x = Scale·byte + Offset. Keeping the bytes (47 MB for MNIST's training images, not
// 188 MB of floats) keeps a run's memory small; the mapping costs nothing next to the
// matrix products.
type Bytes struct {
	Pixels []uint8 // Len()·Size(Shape) values, one example after another
	Labels []uint8
	// Outliers are examples of none of the classes (label nn.Outlier, trained towards
	// the uniform distribution): the last Outliers examples of Pixels, after the
	// len(Labels) labelled ones, so Subset(b, len(b.Labels)) is the labelled ones alone.
	Outliers      int
	ExampleShape  []int
	Scale, Offset float32
}

// Len is the number of examples.
func (b *Bytes) Len() int { return len(b.Labels) + b.Outliers }

// Label is example i's label: nn.Outlier for the outliers.
func (b *Bytes) Label(i int) int {
	if i >= len(b.Labels) {
		return nn.Outlier
	}
	return int(b.Labels[i])
}

// Shape is the per-example input shape.
func (b *Bytes) Shape() []int { return b.ExampleShape }

// Batch implements Data.
func (b *Bytes) Batch(idx []int, x []float32, labels []int) {
	d := tensor.Size(b.ExampleShape)
	if len(x) != len(idx)*d || len(labels) != len(idx) {
		panic(fmt.Sprintf("train: Bytes.Batch: %d indices into %d values and %d labels, want %d and %d", len(idx), len(x), len(labels), len(idx)*d, len(idx)))
	}
	kernels.GatherBytes(x, b.Pixels, d, idx, b.Scale, b.Offset)
	for j, i := range idx {
		labels[j] = b.Label(i)
	}
}

// Prefetch asks the cache for the images next, the next batch's, so that its Batch
// does not wait on memory: in a random order they are scattered through a 47 MB array
// (MNIST), and the step between the two calls hides the fetch.
func (b *Bytes) Prefetch(next []int) {
	kernels.PrefetchRows(b.Pixels, tensor.Size(b.ExampleShape), next)
}

// Subset is the first n examples of d (all of them when n ≤ 0 or n ≥ d.Len()).
func Subset(d Data, n int) Data {
	if n <= 0 || n >= d.Len() {
		return d
	}
	return &prefix{d, n}
}

type prefix struct {
	Data
	n int
}

func (p *prefix) Len() int { return p.n }

// Window is examples [lo, lo+n) of d (fewer when d ends first): a validation split
// taken from the end of a training set, say.
func Window(d Data, lo, n int) Data {
	return &window{Data: d, lo: lo, n: max(0, min(n, d.Len()-lo))}
}

type window struct {
	Data
	lo, n   int
	shifted []int // reused across batches
}

func (w *window) Len() int { return w.n }

func (w *window) Batch(idx []int, x []float32, labels []int) {
	w.shifted = w.shifted[:0]
	for _, j := range idx {
		w.shifted = append(w.shifted, w.lo+j)
	}
	w.Data.Batch(w.shifted, x, labels)
}
