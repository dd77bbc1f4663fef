package tfgraph

import (
	"fmt"
	"math"
)

// Tensor is a dense float32 array in row-major order: the plain value that
// crosses the package boundary. len(Data) is the product of Shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numElements(shape))}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Item returns a view of the i-th slice along the first dimension (for a batch,
// the i-th example) sharing t's storage.
func (t *Tensor) Item(i int) *Tensor {
	n := numElements(t.Shape[1:])
	return &Tensor{Shape: append([]int(nil), t.Shape[1:]...), Data: t.Data[i*n : (i+1)*n]}
}

// Stack joins tensors of the same shape along a new first dimension.
func Stack(items []*Tensor) (*Tensor, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("tfgraph: stack of no tensors")
	}
	shape := items[0].Shape
	out := NewTensor(append([]int{len(items)}, shape...)...)
	n := numElements(shape)
	for i, it := range items {
		if !sameShape(it.Shape, shape) {
			return nil, fmt.Errorf("tfgraph: stack: item %d has shape %v, item 0 has %v", i, it.Shape, shape)
		}
		copy(out.Data[i*n:], it.Data)
	}
	return out, nil
}

// MaxAbsDiff returns max_i |a_i - b_i|, or an error when the shapes differ.
func MaxAbsDiff(a, b *Tensor) (float64, error) {
	if !sameShape(a.Shape, b.Shape) {
		return 0, fmt.Errorf("tfgraph: shapes %v and %v differ", a.Shape, b.Shape)
	}
	var m float64
	for i := range a.Data {
		d := math.Abs(float64(a.Data[i]) - float64(b.Data[i]))
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m, nil
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
