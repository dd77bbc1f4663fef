package catalog

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// A Diagnostic is a per-image value of Maps.Info that, above its threshold,
// says the map is likely wrong: not a property of the model that the map
// shows, but a sign that the computation went astray.
type Diagnostic struct {
	// Key names the value in Maps.Info.
	Key string
	// Threshold: a value above it (or infinite) is flagged.
	Threshold float64
	// What says what the value measures, for messages.
	What string
	// Causes are the likely causes of a value above the threshold, the
	// most common first; Hint says how to tell them apart.
	Causes []string
	Hint   string
}

// CompletenessThreshold is the relative completeness error of Integrated
// Gradients, |Σ attribution − ΔS| / |ΔS| with ΔS = S_c(I) − S_c(I′), above
// which the map is flagged: 5 %, the approximation Sundararajan et al.
// (2017, §3) ask the quadrature to reach ("somewhere between 20 and 300
// steps are enough to approximate the integral (within 5%)"). On the zoo's
// ReLU networks the default 50 Gauss–Legendre steps stay within it for most
// images and reach 6–7 % on a few (raise steps); 2 steps give 17–50 % on
// fmnist_vgg, and fmnist_vit read with pixels in [0, 255] instead of [0, 1]
// 11–1500 % (cmd/saliency's tests).
const CompletenessThreshold = 0.05

// Diagnostics are the values of Maps.Info that are checked against a
// threshold (Check).
var Diagnostics = []Diagnostic{{
	Key:       "completeness-error",
	Threshold: CompletenessThreshold,
	What:      "completeness error |Σ attribution − (S_c(I) − S_c(I′))| / |S_c(I) − S_c(I′)|",
	Causes: []string{
		"too few steps for the quadrature (raise steps; for integrated-gradients keep rule gauss-legendre; guided-ig's and blur-ig's Riemann sums at their default steps, PAIR's, end 5-200 % off on the zoo's ReLU networks)",
		"an input range or pixel mapping the model was not trained with (the card's preprocessing: scale, offset, mean/std, BGR)",
		"float16 or bfloat16 layers (mixed precision), whose gradients are too coarse to integrate",
		"a baseline that the model scores almost as the image (ΔS near 0, see score-delta)",
	},
	Hint: "run again with 4 times the steps: an error of the quadrature shrinks, the others stay",
}, {
	Key:       "summation-error",
	Threshold: SummationThreshold,
	What:      "summation-to-delta error |Σ attribution − (S_c(I) − S_c(I′))| / |S_c(I) − S_c(I′)| of DeepLIFT",
	Causes: []string{
		"a reference that the model scores almost as the image (ΔS near 0, see score-delta), where rounding dominates",
		"float16 or bfloat16 layers (mixed precision)",
	},
	Hint: "DeepLIFT's Rescale rule sums to ΔS exactly up to rounding (about 1e-6 on the zoo); compare score-delta with the scores",
}}

// SummationThreshold is DeepLIFT's relative summation-to-delta error above
// which a map is flagged: the Rescale rule holds it exactly (the zoo stays
// below 1e-6), so 0.1 % is rounding gone wrong, not an approximation.
const SummationThreshold = 0.001

// Flagged is a diagnostic above its threshold on some images of a batch.
type Flagged struct {
	Diagnostic
	// Images are the indices of the flagged images in the batch, Values
	// their values, and N the number of images with a value.
	Images []int
	Values []float64
	N      int
}

// Check returns the diagnostics of info (a Maps.Info) that are above their
// thresholds on at least one image, in the order of Diagnostics. A NaN value
// (0/0: no score difference and no attribution) is not flagged.
func Check(info map[string][]float64) []Flagged {
	var out []Flagged
	for _, d := range Diagnostics {
		vals, ok := info[d.Key]
		if !ok {
			continue
		}
		f := Flagged{Diagnostic: d}
		for i, v := range vals {
			if math.IsNaN(v) {
				continue
			}
			f.N++
			if v > d.Threshold {
				f.Images = append(f.Images, i)
				f.Values = append(f.Values, v)
			}
		}
		if len(f.Images) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// Message is the one-line warning of f for a method, naming the flagged
// images (names[i] is image i; at most show of them, the largest values
// first, and how many more).
func (f Flagged) Message(method string, names []string, show int) string {
	order := make([]int, len(f.Images))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case f.Values[a] > f.Values[b]:
			return -1
		case f.Values[a] < f.Values[b]:
			return 1
		}
		return 0
	})
	var list []string
	for _, k := range order[:min(show, len(order))] {
		name := fmt.Sprintf("image %d", f.Images[k])
		if f.Images[k] < len(names) {
			name = names[f.Images[k]]
		}
		list = append(list, fmt.Sprintf("%s %s", name, percent(f.Values[k])))
	}
	if more := len(order) - len(list); more > 0 {
		list = append(list, fmt.Sprintf("and %d more", more))
	}
	msg := fmt.Sprintf("%s: %s above %s on %d of %d images (%s): the map is likely wrong; likely causes: %s",
		method, f.Key, percent(f.Threshold), len(f.Images), f.N, strings.Join(list, ", "), strings.Join(f.Causes, "; "))
	if f.Hint != "" {
		msg += "; to tell them apart, " + f.Hint
	}
	return msg
}

// percent writes a fraction as a percentage with two significant digits.
func percent(v float64) string {
	if math.IsInf(v, 0) {
		return "infinite"
	}
	p := 100 * v
	var s string
	switch {
	case p >= 10:
		s = fmt.Sprintf("%.0f", p)
	case p >= 1:
		s = strings.TrimSuffix(fmt.Sprintf("%.1f", p), ".0")
	default:
		s = fmt.Sprintf("%.2g", p)
	}
	return s + "%"
}
