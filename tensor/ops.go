package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/saliencykit/saliency/internal/par"
)

// Reduction names how a per-channel attribution [N,H,W,C] becomes a map
// [N,H,W].
type Reduction string

// The channel reductions. The zero value is MaxAbs.
const (
	// MaxAbs is max_c |a_c|: Simonyan et al.'s map for colour images.
	MaxAbs Reduction = "max-abs"
	// Sum is Σ_c a_c, signed (Integrated Gradients, Gradient × Input).
	Sum Reduction = "sum"
	// AbsSum is Σ_c |a_c| (PAIR saliency's grayscale visualisation).
	AbsSum Reduction = "abs-sum"
	// L2 is sqrt(Σ_c a_c²).
	L2 Reduction = "l2"
)

// Reductions lists the channel reductions.
var Reductions = []Reduction{MaxAbs, Sum, AbsSum, L2}

// Validate reports an unknown reduction.
func (r Reduction) Validate() error {
	if r == "" || slices.Contains(Reductions, r) {
		return nil
	}
	return fmt.Errorf("tensor: unknown channel reduction %q; reductions: max-abs, sum, abs-sum, l2", r)
}

// Signed reports whether maps made by r keep a sign.
func (r Reduction) Signed() bool { return r == Sum }

// ReduceChannels turns [N,H,W,C] into [N,H,W] under r ("" is MaxAbs).
func ReduceChannels(t *Tensor, r Reduction) (*Tensor, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if len(t.Shape) != 4 {
		return nil, fmt.Errorf("tensor: channel reduction of shape %v, want [N,H,W,C]", t.Shape)
	}
	c := t.Shape[3]
	out := New(t.Shape[:3]...)
	for i := range out.Data {
		px := t.Data[i*c : (i+1)*c]
		var v float64
		switch r {
		case "", MaxAbs:
			for _, a := range px {
				v = math.Max(v, math.Abs(float64(a)))
			}
		case Sum:
			for _, a := range px {
				v += float64(a)
			}
		case AbsSum:
			for _, a := range px {
				v += math.Abs(float64(a))
			}
		case L2:
			for _, a := range px {
				v += float64(a) * float64(a)
			}
			v = math.Sqrt(v)
		}
		out.Data[i] = float32(v)
	}
	return out, nil
}

// Resize resamples each image of [N,H,W,C] (or each map of [N,H,W]) to h×w with
// bilinear interpolation and half-pixel centres: tf.image.resize(method=
// "bilinear", antialias=False). A tensor already at h×w is copied.
func Resize(t *Tensor, h, w int) (*Tensor, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("tensor: resize to %dx%d", h, w)
	}
	var c int
	switch len(t.Shape) {
	case 3:
		c = 1
	case 4:
		c = t.Shape[3]
	default:
		return nil, fmt.Errorf("tensor: resize of shape %v, want [N,H,W] or [N,H,W,C]", t.Shape)
	}
	n, ih, iw := t.Shape[0], t.Shape[1], t.Shape[2]
	shape := append([]int{n, h, w}, t.Shape[3:]...)
	out := New(shape...)
	in := ih * iw * c
	on := h * w * c
	resize := func(i int) { ResizeHWC(t.Data[i*in:(i+1)*in], ih, iw, c, out.Data[i*on:(i+1)*on], h, w) }
	if n*on >= parallelResize {
		// The images are independent: up to GOMAXPROCS goroutines.
		par.Each(n, resize)
		return out, nil
	}
	for i := range n {
		resize(i)
	}
	return out, nil
}

// parallelResize is the output size (values) from which Resize spreads the
// images over goroutines.
const parallelResize = 1 << 14

// ResizeHWC resamples one [h,w,c] image src into dst [oh,ow,c] with bilinear
// interpolation and half-pixel centres (the filter of tf.image.resize and of
// the images package).
func ResizeHWC(src []float32, h, w, c int, dst []float32, oh, ow int) {
	if h == oh && w == ow {
		copy(dst, src)
		return
	}
	sy := float32(h) / float32(oh)
	sx := float32(w) / float32(ow)
	for y := 0; y < oh; y++ {
		fy := (float32(y)+0.5)*sy - 0.5
		y0, y1, dy := taps(fy, h)
		for x := 0; x < ow; x++ {
			fx := (float32(x)+0.5)*sx - 0.5
			x0, x1, dx := taps(fx, w)
			for k := 0; k < c; k++ {
				a := src[(y0*w+x0)*c+k]
				b := src[(y0*w+x1)*c+k]
				cc := src[(y1*w+x0)*c+k]
				d := src[(y1*w+x1)*c+k]
				top := a + (b-a)*dx
				bot := cc + (d-cc)*dx
				dst[(y*ow+x)*c+k] = top + (bot-top)*dy
			}
		}
	}
}

// taps are the two source indices around position f (clamped to [0, n-1])
// and the weight of the second.
func taps(f float32, n int) (int, int, float32) {
	if f < 0 {
		f = 0
	}
	i0 := int(f)
	if i0 > n-1 {
		i0 = n - 1
	}
	i1 := min(i0+1, n-1)
	return i0, i1, f - float32(i0)
}

// Percentile returns the p-th percentile (0..100) of v by linear
// interpolation between order statistics (numpy's default). v is not changed.
func Percentile(v []float32, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := make([]float64, len(v))
	for i, x := range v {
		s[i] = float64(x)
	}
	slices.Sort(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	if lo < 0 {
		return s[0]
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
}

// Normalize scales one map for display. A signed map is divided by the p-th
// percentile of |m| and clipped to [-1, 1]; an unsigned one is shifted by its
// minimum when that is negative, divided by its p-th percentile and clipped
// to [0, 1] (p = 100 is min-max normalisation). A constant map becomes zeros.
func Normalize(m []float32, signed bool, p float64) []float32 {
	out := make([]float32, len(m))
	if signed {
		abs := make([]float32, len(m))
		for i, v := range m {
			abs[i] = float32(math.Abs(float64(v)))
		}
		s := Percentile(abs, p)
		if s == 0 {
			return out
		}
		for i, v := range m {
			out[i] = float32(math.Max(-1, math.Min(1, float64(v)/s)))
		}
		return out
	}
	lo, _ := (&Tensor{Data: m}).Range()
	shift := float64(min(lo, 0))
	sh := make([]float32, len(m))
	for i, v := range m {
		sh[i] = float32(float64(v) - shift)
	}
	s := Percentile(sh, p)
	if s == 0 {
		return out
	}
	for i, v := range sh {
		out[i] = float32(math.Max(0, math.Min(1, float64(v)/s)))
	}
	return out
}

// Pearson is the Pearson correlation of a and b (NaN when either is constant
// or the lengths differ).
func Pearson(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	var ma, mb float64
	for i := range a {
		ma += float64(a[i])
		mb += float64(b[i])
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

// Argmax returns the index of the largest value (the first on ties), or -1
// for an empty slice.
func Argmax(v []float32) int {
	if len(v) == 0 {
		return -1
	}
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// Softmax returns the softmax of a row of logits, computed in float64 with
// the maximum subtracted first.
func Softmax(z []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, float64(v))
	}
	out := make([]float64, len(z))
	var s float64
	for i, v := range z {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// ClassProbability is the probability of class c that scores z give under a
// model's final activation head: the sigmoid of z[c] for a multi-label
// ("sigmoid") head, z[c] itself for scores that are probabilities already
// ("probabilities"), the softmax of z at c otherwise.
func ClassProbability(z []float32, c int, head string) float64 {
	switch head {
	case "sigmoid":
		return 1 / (1 + math.Exp(-float64(z[c])))
	case "probabilities":
		return float64(z[c])
	}
	return Softmax(z)[c]
}

// ProbabilityRows says whether every row of t [N, K] (K ≥ 2) is a
// probability distribution: non-negative values summing to 1 within 1e-3.
func ProbabilityRows(t *Tensor) bool {
	if len(t.Shape) != 2 || t.Shape[1] < 2 || t.Shape[0] < 1 {
		return false
	}
	for i := 0; i < t.Shape[0]; i++ {
		var s float64
		for _, v := range t.Item(i).Data {
			if v < 0 || v != v {
				return false
			}
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-3 {
			return false
		}
	}
	return true
}

// FirstNonFinite is the index of the first NaN or infinity of v, or -1.
func FirstNonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}
