// Package tensor holds the float32 arrays digitnet's networks compute on: a shape and a
// flat row-major []float32. It is the type the layers of package nn take and give; the
// arithmetic on it (matrix products on OpenBLAS or gonum, the vectorized C kernels) is
// internal to digitnet (internal/kernels).
package tensor

import (
	"fmt"
	"strings"
)

// Tensor is a dense float32 array in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape.
func New(shape ...int) *Tensor {
	n := Size(shape)
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromSlice wraps data (not copied) as a tensor of the given shape.
func FromSlice(data []float32, shape ...int) *Tensor {
	if Size(shape) != len(data) {
		panic(fmt.Sprintf("tensor: FromSlice: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Size is the number of elements of a shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Rows is the first dimension: the batch size N for activations.
func (t *Tensor) Rows() int { return t.Shape[0] }

// Cols is the product of all dimensions but the first: the features per example.
func (t *Tensor) Cols() int { return Size(t.Shape[1:]) }

// Resize reshapes t to shape, reusing its storage when it is large enough. Contents are
// unspecified afterwards. It lets layers keep one buffer across batches of varying size.
func (t *Tensor) Resize(shape ...int) {
	n := Size(shape)
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
	t.Shape = append(t.Shape[:0], shape...)
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// ShapeString formats a shape as [a b c].
func ShapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
