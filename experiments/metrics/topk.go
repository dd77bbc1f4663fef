package metrics

import (
	"fmt"
	"math"
	"sort"
)

// TopKFraction is the k of the top-k intersection in the experiments' reports
// and fragility attacks, as a fraction of the pixels (k = ceil(0.1 × pixels)).
const TopKFraction = 0.1

// TopKIntersection is the fraction of the k entries of largest |a| that are
// also among the k entries of largest |b| (Ghorbani et al. 2019). Ties at
// the k-th value are broken by position (the lower index first), so the
// result is deterministic.
func TopKIntersection(a, b []float32, k int) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("metrics: top-k intersection of maps of %d and %d values", len(a), len(b))
	}
	if k < 1 || k > len(a) {
		return 0, fmt.Errorf("metrics: top-k intersection with k = %d for %d values", k, len(a))
	}
	ka, okA := orderKeys(a, true)
	kb, okB := orderKeys(b, true)
	if !okA || !okB {
		return topKStableIntersection(a, b, k), nil
	}
	inB := make([]bool, len(b))
	for _, key := range kb[:k] {
		inB[uint32(key)] = true
	}
	n := 0
	for _, key := range ka[:k] {
		if inB[uint32(key)] {
			n++
		}
	}
	return float64(n) / float64(k), nil
}

// topKStableIntersection is TopKIntersection by a stable sort: that of maps
// with NaN in them (NaN compares equal to every value, so the order is the
// sort's).
func topKStableIntersection(a, b []float32, k int) float64 {
	ta, tb := topKStable(a, k), topKStable(b, k)
	in := map[int]bool{}
	for _, i := range tb {
		in[i] = true
	}
	n := 0
	for _, i := range ta {
		if in[i] {
			n++
		}
	}
	return float64(n) / float64(k)
}

func topKStable(a []float32, k int) []int {
	idx := make([]int, len(a))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		return math.Abs(float64(a[idx[i]])) > math.Abs(float64(a[idx[j]]))
	})
	return idx[:k]
}
