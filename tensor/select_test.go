package tensor

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSelectNthIsSortedOrder: x[k] is the sorted k-th value, nothing before
// it is larger and nothing after it smaller, with ties and all k.
func TestSelectNthIsSortedOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 3, 10, 101} {
		for _, ties := range []bool{false, true} {
			x := make([]float64, n)
			for i := range x {
				x[i] = r.NormFloat64()
				if ties {
					x[i] = float64(r.IntN(4))
				}
			}
			sorted := slices.Sorted(slices.Values(x))
			for k := range n {
				y := slices.Clone(x)
				SelectNth(y, k)
				if y[k] != sorted[k] {
					t.Fatalf("n %d k %d: %v, sorted %v", n, k, y[k], sorted[k])
				}
				for i, v := range y {
					if (i < k && v > y[k]) || (i > k && v < y[k]) {
						t.Fatalf("n %d k %d: x[%d] = %v on the wrong side of %v", n, k, i, v, y[k])
					}
				}
			}
		}
	}
}
