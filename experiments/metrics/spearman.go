package metrics

import (
	"math"
	"sort"
)

// Spearman is the Spearman rank correlation of a and b: the Pearson
// correlation of their ranks, tied values sharing their mean rank (as
// scipy.stats.spearmanr). NaN when either is constant.
func Spearman(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	return pearson64(ranks(to64(a)), ranks(to64(b)))
}

// SpearmanAbs is Spearman of |a| and |b|: the sanity checks compare the
// importance of pixels whatever their sign.
func SpearmanAbs(a, b []float32) float64 {
	return Spearman(absAll(a), absAll(b))
}

func absAll(a []float32) []float32 {
	out := make([]float32, len(a))
	for i, v := range a {
		out[i] = float32(math.Abs(float64(v)))
	}
	return out
}

// ranks are the 1-based ranks of x, ties given the mean of their ranks.
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return x[idx[i]] < x[idx[j]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		mean := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			r[idx[k]] = mean
		}
		i = j
	}
	return r
}
