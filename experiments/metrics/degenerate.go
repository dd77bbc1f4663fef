package metrics

import (
	"fmt"
	"math"
	"slices"
)

// Kind classifies a map (or the pixels of a map under a mask) for the
// similarity measures: only an OK map has a rank correlation, a
// correlation, a min-max normalisation (SSIM, HOG) and a top-k set that
// does not depend on the order of its pixels. The kinds are ordered by
// severity: of two maps compared, the larger kind is the pair's.
type Kind uint8

const (
	// OK is a map of finite values, at least two of them distinct.
	OK Kind = iota
	// Constant is a map of finite values, all equal and not zero.
	Constant
	// AllZero is a map whose every value is exactly zero (+0 or −0): a
	// constant map, told apart because it is the common case (a Grad-CAM
	// whose ReLU cuts every pixel, a gradient that vanishes).
	AllZero
	// NonFinite is a map with at least one NaN or infinite value.
	NonFinite
	// Empty is a map without pixels (e.g. an empty mask).
	Empty
)

var kindNames = [...]string{"ok", "constant", "all-zero", "non-finite", "empty"}

// String is "ok", "constant", "all-zero", "non-finite" or "empty".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Degenerate classifies a map: NonFinite if any value is NaN or ±Inf, else
// AllZero if every value is 0, else Constant if every value is equal, else
// OK; Empty for no value. Equality is exact (float32 ==): a map with two
// values a float32 ulp apart is OK, and its correlations are as defined as
// those of any other map.
func Degenerate(m []float32) Kind {
	if len(m) == 0 {
		return Empty
	}
	for _, v := range m {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // every exponent bit set: NaN or ±Inf
			return NonFinite
		}
	}
	for _, v := range m[1:] {
		if v != m[0] {
			return OK
		}
	}
	if m[0] == 0 {
		return AllZero
	}
	return Constant
}

// Select is the values of m at the pixels where mask is true, in row-major
// order; m itself when mask is nil. Degenerate(Select(m, mask)) is the kind
// of the map on the mask. It returns an error when the lengths differ.
func Select(m []float32, mask []bool) ([]float32, error) {
	if mask == nil {
		return m, nil
	}
	if len(mask) != len(m) {
		return nil, fmt.Errorf("metrics: mask of %d pixels for a map of %d", len(mask), len(m))
	}
	out := make([]float32, 0, len(m))
	for i, in := range mask {
		if in {
			out = append(out, m[i])
		}
	}
	return out, nil
}

// ZeroFraction is the share of pixels that are exactly zero (+0 or −0) in
// every one of the maps, all of the same length: for one map, its share of
// zeros; for a method's maps of one image under every randomization step,
// the pixels that no step can rank (Gradient × Input and Integrated
// Gradients are 0 wherever the input is, whatever the weights). NaN for
// no map or maps without pixels; an error when the lengths differ.
func ZeroFraction(maps ...[]float32) (float64, error) {
	if err := sameLength(maps); err != nil {
		return 0, err
	}
	if len(maps) == 0 || len(maps[0]) == 0 {
		return math.NaN(), nil
	}
	n := 0
	for i := range maps[0] {
		zero := true
		for _, m := range maps {
			if m[i] != 0 {
				zero = false
				break
			}
		}
		if zero {
			n++
		}
	}
	return float64(n) / float64(len(maps[0])), nil
}

// TiedFraction is the share of the pixels of m whose value equals that of
// at least one other pixel (float32 ==, so +0 ties with −0 and NaN ties
// with nothing): 0 for a map of distinct values, 1 for a constant map. It
// is the share of pixels whose Spearman rank is a mean rank. NaN for an
// empty map.
func TiedFraction(m []float32) float64 {
	if len(m) == 0 {
		return math.NaN()
	}
	s := sortedFinite(m)
	tied := 0
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if j-i > 1 {
			tied += j - i
		}
		i = j
	}
	return float64(tied) / float64(len(m))
}

// LargestTie is the value shared by the most pixels of m and the share of
// the pixels that have it (the smaller value when two tie for the most; +0
// and −0 are one value, reported as 0; NaN are left out). For a Gradient ×
// Input map of an image on a black background it is (0, the background's
// share). NaN, NaN for an empty map or one of NaN only.
func LargestTie(m []float32) (value float32, fraction float64) {
	s := sortedFinite(m)
	if len(s) == 0 {
		return float32(math.NaN()), math.NaN()
	}
	best, n := s[0], 0
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if j-i > n {
			best, n = s[i], j-i
		}
		i = j
	}
	if best == 0 {
		best = 0 // −0 as 0
	}
	return best, float64(n) / float64(len(m))
}

// sortedFinite is the values of m but NaN, sorted (−0 and +0 compare equal).
func sortedFinite(m []float32) []float32 {
	s := make([]float32, 0, len(m))
	for _, v := range m {
		if !math.IsNaN(float64(v)) {
			s = append(s, v)
		}
	}
	slices.Sort(s)
	return s
}

func sameLength(maps [][]float32) error {
	for _, m := range maps {
		if len(m) != len(maps[0]) {
			return fmt.Errorf("metrics: maps of %d and %d values", len(maps[0]), len(m))
		}
	}
	return nil
}
