// Package tensor is the plain float32 array that crosses package boundaries in
// saliency (model inputs, gradients, layer activations, saliency maps), and the
// numerics shared by every method and report: channel reductions, bilinear
// resizing with TensorFlow's half-pixel centres, percentile clipping and
// correlation. It has no cgo and no TensorFlow: reports and pure-Go tests use it
// without linking the library.
package tensor

import (
	"fmt"
	"math"
)

// Tensor is a dense float32 array in row-major order. len(Data) is the
// product of Shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zero tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, Size(shape))}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Item returns a view of the i-th slice along the first dimension (for a batch,
// the i-th example) sharing t's storage.
func (t *Tensor) Item(i int) *Tensor {
	n := Size(t.Shape[1:])
	return &Tensor{Shape: append([]int(nil), t.Shape[1:]...), Data: t.Data[i*n : (i+1)*n]}
}

// Slice returns a view of items [lo, hi) along the first dimension, sharing
// t's storage.
func (t *Tensor) Slice(lo, hi int) *Tensor {
	n := Size(t.Shape[1:])
	shape := append([]int{hi - lo}, t.Shape[1:]...)
	return &Tensor{Shape: shape, Data: t.Data[lo*n : hi*n]}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Check reports an error when len(Data) is not the product of Shape or a
// dimension is negative.
func (t *Tensor) Check() error {
	if t == nil {
		return fmt.Errorf("tensor: nil tensor")
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor: negative dimension in shape %v", t.Shape)
		}
	}
	if len(t.Data) != Size(t.Shape) {
		return fmt.Errorf("tensor: shape %v needs %d values, got %d", t.Shape, Size(t.Shape), len(t.Data))
	}
	return nil
}

// Stack joins tensors of the same shape along a new first dimension.
func Stack(items []*Tensor) (*Tensor, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("tensor: stack of no tensors")
	}
	shape := items[0].Shape
	out := New(append([]int{len(items)}, shape...)...)
	n := Size(shape)
	for i, it := range items {
		if !SameShape(it.Shape, shape) {
			return nil, fmt.Errorf("tensor: stack: item %d has shape %v, item 0 has %v", i, it.Shape, shape)
		}
		copy(out.Data[i*n:], it.Data)
	}
	return out, nil
}

// Concat joins tensors along the first dimension; all other dimensions must
// agree.
func Concat(items ...*Tensor) (*Tensor, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("tensor: concat of no tensors")
	}
	rest := items[0].Shape[1:]
	n := 0
	for i, it := range items {
		if len(it.Shape) == 0 || !SameShape(it.Shape[1:], rest) {
			return nil, fmt.Errorf("tensor: concat: item %d has shape %v, item 0 has %v", i, it.Shape, items[0].Shape)
		}
		n += it.Shape[0]
	}
	out := New(append([]int{n}, rest...)...)
	off := 0
	for _, it := range items {
		off += copy(out.Data[off:], it.Data)
	}
	return out, nil
}

// MaxAbsDiff returns max_i |a_i - b_i|, or an error when the shapes differ. A
// NaN on either side gives NaN.
func MaxAbsDiff(a, b *Tensor) (float64, error) {
	if !SameShape(a.Shape, b.Shape) {
		return 0, fmt.Errorf("tensor: shapes %v and %v differ", a.Shape, b.Shape)
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

// MaxAbs is max_i |t_i|.
func (t *Tensor) MaxAbs() float64 {
	var m float64
	for _, v := range t.Data {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// Range returns the smallest and largest values (0, 0 for an empty tensor).
func (t *Tensor) Range() (lo, hi float32) {
	if len(t.Data) == 0 {
		return 0, 0
	}
	lo, hi = t.Data[0], t.Data[0]
	for _, v := range t.Data[1:] {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi
}

// Finite reports whether every value is finite.
func (t *Tensor) Finite() bool {
	for _, v := range t.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// Size is the number of elements of a tensor of the given shape.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
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

// Equal reports whether a and b have the same shape and the same values bit
// for bit (NaNs compare by bits).
func Equal(a, b *Tensor) bool {
	if !SameShape(a.Shape, b.Shape) || len(a.Data) != len(b.Data) {
		return false
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
			return false
		}
	}
	return true
}
