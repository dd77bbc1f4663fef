package metrics

import (
	"fmt"
	"math"
	"sort"
)

// PixelOrder ranks the pixels of a map from the most to the least salient
// (the largest value first; signed maps put positive evidence first), ties
// by position, the lower first.
func PixelOrder(m []float32) []int {
	idx := make([]int, len(m))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return m[idx[a]] > m[idx[b]] })
	return idx
}

// Scorer scores a batch of images ([n][H·W·C] values), one score each
// (the probability of the explained class).
type Scorer func(images [][]float32) ([]float64, error)

// PerturbationCurve is the deletion or insertion curve of Petsiuk et al.
// (2018, RISE): for k = 0 … steps, the score of the image in which the first
// round(k/steps · H·W) pixels of order (all their c channels) come from
// `to` and the others from `from`. Deletion goes from the image to a fill
// (from = image, to = fill); insertion from a start image to the image
// (from = start, to = image). The curve has steps+1 points.
func PerturbationCurve(from, to []float32, c int, order []int, steps int, score Scorer) ([]float64, error) {
	pixels := len(order)
	if len(from) != pixels*c || len(to) != pixels*c {
		return nil, fmt.Errorf("metrics: perturbation of images of %d and %d values with %d pixels of %d channels", len(from), len(to), pixels, c)
	}
	if steps < 1 {
		return nil, fmt.Errorf("metrics: perturbation curve of %d steps", steps)
	}
	images := make([][]float32, steps+1)
	cur := append([]float32(nil), from...)
	done := 0
	for k := 0; k <= steps; k++ {
		upto := int(math.Round(float64(k) * float64(pixels) / float64(steps)))
		for ; done < upto; done++ {
			p := order[done]
			copy(cur[p*c:(p+1)*c], to[p*c:(p+1)*c])
		}
		images[k] = append([]float32(nil), cur...)
	}
	out, err := score(images)
	if err != nil {
		return nil, err
	}
	if len(out) != steps+1 {
		return nil, fmt.Errorf("metrics: scorer gave %d scores for %d images", len(out), steps+1)
	}
	return out, nil
}

// CurveAUC is the area under a curve sampled at evenly spaced points of
// [0, 1], by the trapezoidal rule.
func CurveAUC(curve []float64) float64 {
	if len(curve) < 2 {
		return math.NaN()
	}
	var s float64
	for i := 1; i < len(curve); i++ {
		s += (curve[i-1] + curve[i]) / 2
	}
	return s / float64(len(curve)-1)
}

// HistogramEntropy is the discrete entropy (in nats) of the histogram of
// |m| scaled to [0, 1] by its maximum, in bins equal bins: the complexity
// measure of the efficient MPRT (Hedström et al. 2024, with Quantus'
// discrete_entropy). A zero map has none (NaN).
func HistogramEntropy(m []float32, bins int) float64 {
	var hi float64
	for _, v := range m {
		hi = max(hi, math.Abs(float64(v)))
	}
	if hi == 0 || bins < 1 {
		return math.NaN()
	}
	counts := make([]int, bins)
	for _, v := range m {
		b := int(math.Abs(float64(v)) / hi * float64(bins))
		counts[min(b, bins-1)]++
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(m))
			h -= p * math.Log(p)
		}
	}
	return h
}
