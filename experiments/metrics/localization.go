package metrics

import (
	"fmt"
	"math"
	"sort"
)

// checkMask checks an h×w map and its object mask (1 inside the object, 0
// outside) and returns the mask's pixel count.
func checkMask(m, mask []float32, h, w int) (int, error) {
	if len(m) != h*w || len(mask) != h*w {
		return 0, fmt.Errorf("metrics: map of %d and mask of %d values as %d×%d", len(m), len(mask), h, w)
	}
	in := 0
	for _, v := range mask {
		switch v {
		case 0:
		case 1:
			in++
		default:
			return 0, fmt.Errorf("metrics: mask value %g, want 0 or 1", v)
		}
	}
	if in == 0 {
		return 0, fmt.Errorf("metrics: empty mask")
	}
	return in, nil
}

// PointingGame is the pointing game of Zhang et al. (2016): 1 (a hit) when
// the map's largest value lies within tolerance pixels (Euclidean distance)
// of the object mask, else 0. Ties for the largest value are broken by
// position (the first in row-major order), so the result is deterministic;
// a map equal to the mask is a hit, and a map of independent random values
// hits with the probability of the mask's (dilated) area fraction.
func PointingGame(m, mask []float32, h, w int, tolerance float64) (float64, error) {
	if _, err := checkMask(m, mask, h, w); err != nil {
		return 0, err
	}
	if tolerance < 0 || math.IsNaN(tolerance) {
		return 0, fmt.Errorf("metrics: pointing game tolerance %g, want ≥ 0", tolerance)
	}
	best := 0
	for i, v := range m {
		if v > m[best] || math.IsNaN(float64(m[best])) {
			best = i
		}
	}
	if NearMask(mask, h, w, best/w, best%w, tolerance) {
		return 1, nil
	}
	return 0, nil
}

// NearMask says whether a pixel of an h×w mask within tolerance pixels
// (Euclidean distance) of (y, x) is 1: a hit of the pointing game. The share
// of the pixels near the mask is the hit rate of a random map.
func NearMask(mask []float32, h, w, y, x int, tolerance float64) bool {
	r := int(math.Floor(tolerance))
	for yy := max(0, y-r); yy <= min(h-1, y+r); yy++ {
		for xx := max(0, x-r); xx <= min(w-1, x+r); xx++ {
			dy, dx := float64(yy-y), float64(xx-x)
			if mask[yy*w+xx] == 1 && dy*dy+dx*dx <= tolerance*tolerance {
				return true
			}
		}
	}
	return false
}

// EnergyPointingGame is the energy-based pointing game of Wang et al.
// (2020, Score-CAM): the share of the map's energy, Σ|map| inside the mask
// over Σ|map|, that falls on the object. A map equal to the mask scores 1; a
// map of independent random values scores the mask's area fraction on
// average. A map without energy has none (NaN).
func EnergyPointingGame(m, mask []float32, h, w int) (float64, error) {
	if _, err := checkMask(m, mask, h, w); err != nil {
		return 0, err
	}
	var in, all float64
	for i, v := range m {
		a := math.Abs(float64(v))
		all += a
		if mask[i] == 1 {
			in += a
		}
	}
	if all == 0 {
		return math.NaN(), nil
	}
	return in / all, nil
}

// MaskAUC is the area under the ROC curve of |map| as a score of "inside
// the object": the probability that a pixel of the object has a larger
// |map| than a pixel of the background, ties counting one half
// (Mann–Whitney U over n_in·n_out). A map equal to the mask scores 1, a
// constant map 0.5, a random map 0.5 on average. A mask covering the whole
// map has no background and no AUC (NaN).
func MaskAUC(m, mask []float32, h, w int) (float64, error) {
	nIn, err := checkMask(m, mask, h, w)
	if err != nil {
		return 0, err
	}
	nOut := len(m) - nIn
	if nOut == 0 {
		return math.NaN(), nil
	}
	idx := make([]int, len(m))
	for i := range idx {
		idx[i] = i
	}
	abs := func(i int) float64 { return math.Abs(float64(m[i])) }
	sort.Slice(idx, func(a, b int) bool { return abs(idx[a]) < abs(idx[b]) })
	// Mid-ranks of |map| (1-based), summed over the object's pixels.
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && abs(idx[j]) == abs(idx[i]) {
			j++
		}
		mid := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			if mask[idx[k]] == 1 {
				rankSum += mid
			}
		}
		i = j
	}
	u := rankSum - float64(nIn)*float64(nIn+1)/2
	return u / (float64(nIn) * float64(nOut)), nil
}
