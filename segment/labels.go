package segment

import (
	"errors"
	"fmt"
	"math"
)

// Labels is a segmentation: Label[y*W+x] in 0..N-1, row-major.
type Labels struct {
	H, W, N int
	Label   []int32
}

// MaxPixels bounds the images the segmentations accept (h·w, 2048×2048):
// Felzenszwalb keeps four edges of 24 bytes per pixel.
const MaxPixels = 1 << 22

// errorf is an error of the package.
func errorf(format string, a ...any) error { return fmt.Errorf("segment: "+format, a...) }

// checkImage validates an HWC image of c = 1 or 3 channels.
func checkImage(img []float32, h, w, c int, allowed ...int) error {
	if h <= 0 || w <= 0 {
		return errorf("image size %d×%d: height and width must be ≥ 1", h, w)
	}
	if h > MaxPixels/w {
		return errorf("image size %d×%d: more than %d pixels", h, w, MaxPixels)
	}
	ok := false
	for _, a := range allowed {
		ok = ok || c == a
	}
	if !ok {
		return errorf("image has %d channels; want %v", c, allowed)
	}
	if len(img) != h*w*c {
		return errorf("image has %d values; %d×%d×%d needs %d", len(img), h, w, c, h*w*c)
	}
	for i, v := range img {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errorf("image value %d (y %d, x %d, channel %d) is %v", i, i/c/w, i/c%w, i%c, v)
		}
	}
	return nil
}

// float64s copies img into float64.
func float64s(img []float32) []float64 {
	out := make([]float64, len(img))
	for i, v := range img {
		out[i] = float64(v)
	}
	return out
}

// relabel numbers the distinct values of raw 0, 1, … in increasing order of
// the values (numpy.unique's return_inverse).
func relabel(raw []int, h, w int) Labels {
	maxv := 0
	for _, v := range raw {
		maxv = max(maxv, v)
	}
	id := make([]int32, maxv+1)
	for i := range id {
		id[i] = -1
	}
	for _, v := range raw {
		id[v] = 0
	}
	n := int32(0)
	for i := range id {
		if id[i] == 0 {
			id[i] = n
			n++
		}
	}
	l := Labels{H: h, W: w, N: int(n), Label: make([]int32, len(raw))}
	for i, v := range raw {
		l.Label[i] = id[v]
	}
	return l
}

// Sizes is the number of pixels of each label.
func (l Labels) Sizes() []int {
	s := make([]int, l.N)
	for _, v := range l.Label {
		s[v]++
	}
	return s
}

// Validate checks that the labels are in 0..N-1 and there are H·W of them.
func (l Labels) Validate() error {
	if l.H <= 0 || l.W <= 0 || len(l.Label) != l.H*l.W {
		return errorf("labels: %d labels for %d×%d pixels", len(l.Label), l.H, l.W)
	}
	for i, v := range l.Label {
		if v < 0 || int(v) >= l.N {
			return errorf("labels: label %d of pixel %d outside 0..%d", v, i, l.N-1)
		}
	}
	return nil
}

// AdjustedRand is the adjusted Rand index of two segmentations of the same
// pixels (Hubert and Arabie 1985; sklearn.metrics.adjusted_rand_score): 1 for
// equal partitions whatever the label numbers, about 0 for independent ones.
func AdjustedRand(a, b Labels) (float64, error) {
	if err := a.Validate(); err != nil {
		return 0, err
	}
	if err := b.Validate(); err != nil {
		return 0, err
	}
	if a.H != b.H || a.W != b.W {
		return 0, errors.New("segment: adjusted Rand index of " + fmt.Sprintf("%d×%d and %d×%d labels", a.H, a.W, b.H, b.W))
	}
	pairs := map[[2]int32]int{}
	for i := range a.Label {
		pairs[[2]int32{a.Label[i], b.Label[i]}]++
	}
	comb := func(n int) float64 { return float64(n) * float64(n-1) / 2 }
	var sumIJ, sumA, sumB float64
	for _, n := range pairs {
		sumIJ += comb(n)
	}
	for _, n := range a.Sizes() {
		sumA += comb(n)
	}
	for _, n := range b.Sizes() {
		sumB += comb(n)
	}
	total := comb(len(a.Label))
	expected := sumA * sumB / total
	maxIdx := (sumA + sumB) / 2
	if maxIdx == expected { // both trivial partitions (sklearn returns 1)
		return 1, nil
	}
	return (sumIJ - expected) / (maxIdx - expected), nil
}
