package metrics

import "sync"

// scratch holds the working arrays of one comparison, so that a Prepared
// comparing thousands of maps (the randomization report) reuses them
// rather than allocating and clearing new ones for every map.
type scratch struct {
	f32       []float32 // the map b scaled or made absolute
	f64       []float64 // b's ranks, or b in float64
	keys, buf []uint64  // b's order keys and the radix sort's other half
}

// scratches are the scratch arrays of Prepared comparisons, which may run
// on several goroutines at once.
var scratches = sync.Pool{New: func() any { return new(scratch) }}

// resize is s with length n: its own array when the capacity suffices
// (the old values left in it), a new one otherwise.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
