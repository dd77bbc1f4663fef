package metrics

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Measure is a similarity measure of two h×w maps under one policy for
// degenerate maps, the same for every measure:
//
//   - both maps are classified on the scored pixels (Degenerate of the
//     pixels of the mask, or of every pixel); unless both are OK the result
//     is not scored (Status DegenerateMaps, Value NaN), whatever the
//     measure: a map that becomes constant is dropped by Spearman, SSIM and
//     top-k alike, where Spearman and SSIM gave NaN and top-k a number
//     from the order of the pixels;
//   - a measure undefined on two OK maps gives Status Undefined (HOG
//     features that are constant over the blocks scored; a mask without a
//     pixel whose SSIM window lies inside the image);
//   - CompareAll scores one pair with several measures and drops the pair
//     from all of them when one cannot score it, so that every measure
//     counts the same images.
//
// A nil mask scores every pixel; the results are then those of the
// functions Spearman, SpearmanAbs, Pearson, SSIM (of min-max normalised
// maps), HOGPearson (likewise) and TopKIntersection bit for bit, as the
// randomization report computes them, except that degenerate maps are not
// scored. A mask (one entry per pixel, e.g. Foreground of the input) scores
// only its pixels: see each measure for what that means for a windowed one.
//
// Callers give the Values of the results to stats.Bootstrap, which counts
// the NaN as dropped, and print Tally of the results beside the interval,
// since dropping a map that became constant favours similarity.
type Measure interface {
	// Name is the measure's name in plan files: spearman, spearman-abs,
	// pearson, ssim, hog-pearson or top-k.
	Name() string
	// Compare scores map b against map a on the pixels of mask (every
	// pixel when mask is nil). Errors are for inputs of the wrong sizes.
	Compare(a, b []float32, h, w int, mask []bool) (Result, error)
}

// Status says whether a Result was scored and why not.
type Status uint8

const (
	// Scored results have a value.
	Scored Status = iota
	// DegenerateMaps: at least one map is not OK on the scored pixels
	// (Result.A and Result.B say which and how).
	DegenerateMaps
	// Undefined: both maps are OK but the measure has no value for them.
	Undefined
	// Excluded: this measure scored the pair, but CompareAll dropped it
	// because another measure of the set could not.
	Excluded
)

var statusNames = [...]string{"scored", "degenerate maps", "undefined", "excluded"}

// String is "scored", "degenerate maps", "undefined" or "excluded".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", s)
}

// Result is one comparison of two maps.
type Result struct {
	// Value is the measure, NaN unless Status is Scored.
	Value  float64
	Status Status
	// A and B are the kinds of the two maps on the scored pixels.
	A, B Kind
}

// Kind is the pair's kind: the more severe of A and B.
func (r Result) Kind() Kind { return max(r.A, r.B) }

// Values are the values of results, NaN where not scored: the input of
// stats.Bootstrap, whose Dropped then counts the results not scored.
func Values(rs []Result) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.Value
	}
	return out
}

// Tally counts results by status, and the pairs with degenerate maps by
// their kind (Result.Kind).
type Tally struct {
	Scored, Undefined, Excluded int
	// Degenerate counts the DegenerateMaps results by kind.
	Degenerate map[Kind]int
}

// TallyResults counts results.
func TallyResults(rs []Result) Tally {
	t := Tally{Degenerate: map[Kind]int{}}
	for _, r := range rs {
		switch r.Status {
		case Scored:
			t.Scored++
		case DegenerateMaps:
			t.Degenerate[r.Kind()]++
		case Undefined:
			t.Undefined++
		case Excluded:
			t.Excluded++
		}
	}
	return t
}

// String is "19 scored; not scored: 1 constant" or "20 scored".
func (t Tally) String() string {
	var out []string
	for k := Constant; k <= Empty; k++ {
		if n := t.Degenerate[k]; n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, k))
		}
	}
	if t.Undefined > 0 {
		out = append(out, fmt.Sprintf("%d undefined", t.Undefined))
	}
	if t.Excluded > 0 {
		out = append(out, fmt.Sprintf("%d excluded", t.Excluded))
	}
	s := fmt.Sprintf("%d scored", t.Scored)
	if len(out) > 0 {
		s += "; not scored: " + strings.Join(out, ", ")
	}
	return s
}

// The measures of the report.
var (
	_ Measure = SpearmanMeasure{}
	_ Measure = PearsonMeasure{}
	_ Measure = SSIMMeasure{}
	_ Measure = HOGMeasure{}
	_ Measure = TopKMeasure{}
)

// Measures are the report's measures by name: spearman, spearman-abs,
// pearson, ssim, hog-pearson, top-k, each with its default settings.
var Measures = map[string]Measure{
	"spearman":     SpearmanMeasure{},
	"spearman-abs": SpearmanMeasure{Abs: true},
	"pearson":      PearsonMeasure{},
	"ssim":         SSIMMeasure{},
	"hog-pearson":  HOGMeasure{},
	"top-k":        TopKMeasure{},
}

// MeasureNamed is the measure of that name, or an error listing the names.
func MeasureNamed(name string) (Measure, error) {
	if m, ok := Measures[name]; ok {
		return m, nil
	}
	names := make([]string, 0, len(Measures))
	for n := range Measures {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("metrics: no measure %q; measures: %s", name, strings.Join(names, ", "))
}

// CompareAll compares a pair of maps with each measure; when one of them
// cannot score it, the others' scored results become Excluded (Value NaN),
// so that every measure counts the same pairs.
func CompareAll(ms []Measure, a, b []float32, h, w int, mask []bool) ([]Result, error) {
	out := make([]Result, len(ms))
	drop := false
	for i, m := range ms {
		r, err := m.Compare(a, b, h, w, mask)
		if err != nil {
			return nil, err
		}
		out[i] = r
		drop = drop || r.Status != Scored
	}
	if drop {
		for i := range out {
			if out[i].Status == Scored {
				out[i].Status, out[i].Value = Excluded, math.NaN()
			}
		}
	}
	return out, nil
}

// classify checks the sizes and classifies both maps on the mask; sa and
// sb are the maps' values on the mask. done is true (with the result) when
// a map is degenerate.
func classify(a, b []float32, h, w int, mask []bool) (sa, sb []float32, r Result, done bool, err error) {
	if h < 0 || w < 0 || len(a) != h*w || len(b) != h*w {
		return nil, nil, r, false, fmt.Errorf("metrics: maps of %d and %d values as %d×%d", len(a), len(b), h, w)
	}
	if sa, err = Select(a, mask); err != nil {
		return nil, nil, r, false, err
	}
	if sb, err = Select(b, mask); err != nil {
		return nil, nil, r, false, err
	}
	r.A, r.B = Degenerate(sa), Degenerate(sb)
	if r.Kind() != OK {
		r.Status, r.Value = DegenerateMaps, math.NaN()
		return sa, sb, r, true, nil
	}
	return sa, sb, r, false, nil
}

func (r Result) with(v float64) Result {
	r.Value = v
	if math.IsNaN(v) {
		r.Status = Undefined
	}
	return r
}

// SpearmanMeasure is Spearman (SpearmanAbs when Abs) of the maps' values on
// the mask, ranked among themselves.
type SpearmanMeasure struct {
	// Abs ranks |map| ("spearman-abs").
	Abs bool
}

// Name is "spearman" or "spearman-abs".
func (s SpearmanMeasure) Name() string {
	if s.Abs {
		return "spearman-abs"
	}
	return "spearman"
}

// Compare scores b against a.
func (s SpearmanMeasure) Compare(a, b []float32, h, w int, mask []bool) (Result, error) {
	sa, sb, r, done, err := classify(a, b, h, w, mask)
	if done || err != nil {
		return r, err
	}
	if s.Abs {
		// Undefined when |map| is constant where the map is not (±1).
		return r.with(SpearmanAbs(sa, sb)), nil
	}
	return r.with(Spearman(sa, sb)), nil
}

// PearsonMeasure is Pearson of the maps' values on the mask.
type PearsonMeasure struct{}

// Name is "pearson".
func (PearsonMeasure) Name() string { return "pearson" }

// Compare scores b against a.
func (PearsonMeasure) Compare(a, b []float32, h, w int, mask []bool) (Result, error) {
	sa, sb, r, done, err := classify(a, b, h, w, mask)
	if done || err != nil {
		return r, err
	}
	return r.with(Pearson(sa, sb)), nil
}

// SSIMMeasure is SSIM of the two maps, each min-max normalised to [0,1]
// over all its pixels (float32 arithmetic, as the report), with data range
// 1. With a mask, the local SSIM is averaged over the pixels of the mask
// whose 7×7 window lies inside the image (the windows themselves still see
// the pixels around them); Undefined when there is none. A mask of every
// pixel gives SSIM's value.
type SSIMMeasure struct {
	// DataRange, when positive, compares the maps as they are with this
	// data range instead of normalising them.
	DataRange float64
}

// Name is "ssim".
func (SSIMMeasure) Name() string { return "ssim" }

// Compare scores b against a.
func (s SSIMMeasure) Compare(a, b []float32, h, w int, mask []bool) (Result, error) {
	_, _, r, done, err := classify(a, b, h, w, mask)
	if err != nil {
		return r, err
	}
	if err := checkSSIM(a, b, h, w, 1); err != nil {
		return r, err
	}
	if done {
		return r, nil
	}
	dr := s.DataRange
	if !(dr > 0) {
		a, b, dr = minMax(a), minMax(b), 1
	}
	if mask == nil {
		v, err := SSIM(a, b, h, w, dr)
		return r.with(v), err
	}
	var sum float64
	n := 0
	ssimLocal(to64(a), to64(b), h, w, dr, func(p int, v float64) {
		if mask[p] {
			sum += v
			n++
		}
	})
	if n == 0 {
		return r.with(math.NaN()), nil
	}
	return r.with(sum / float64(n)), nil
}

// HOGMeasure is HOGPearson of the two maps, each min-max normalised to
// [0,1] over all its pixels (as the report). With a mask, only the features
// of the HOG blocks that contain a pixel of the mask are correlated;
// Undefined when there is none or their features are constant.
type HOGMeasure struct {
	HOGOptions
}

// Name is "hog-pearson".
func (HOGMeasure) Name() string { return "hog-pearson" }

// Compare scores b against a.
func (g HOGMeasure) Compare(a, b []float32, h, w int, mask []bool) (Result, error) {
	_, _, r, done, err := classify(a, b, h, w, mask)
	if err != nil {
		return r, err
	}
	if err := checkHOG(h, w, g.HOGOptions.withDefaults()); err != nil {
		return r, err
	}
	if done {
		return r, nil
	}
	fa, err := HOG(minMax(a), h, w, g.HOGOptions)
	if err != nil {
		return r, err
	}
	fb, err := HOG(minMax(b), h, w, g.HOGOptions)
	if err != nil {
		return r, err
	}
	if mask != nil {
		keep := hogBlocks(mask, h, w, g.HOGOptions)
		fa, fb = keepBlocks(fa, keep), keepBlocks(fb, keep)
		if len(fa) == 0 {
			return r.with(math.NaN()), nil
		}
	}
	return r.with(pearson64(fa, fb)), nil
}

// hogBlocks says, for each HOG block in row-major order, whether its pixels
// (rows r·cell … (r+block)·cell − 1, and likewise columns) hold a pixel of
// the mask.
func hogBlocks(mask []bool, h, w int, o HOGOptions) []bool {
	o = o.withDefaults()
	nr, nc := h/o.Cell, w/o.Cell
	br, bc := nr-o.Block+1, nc-o.Block+1
	keep := make([]bool, br*bc)
	for r := 0; r < br; r++ {
		for c := 0; c < bc; c++ {
		block:
			for y := r * o.Cell; y < (r+o.Block)*o.Cell; y++ {
				for x := c * o.Cell; x < (c+o.Block)*o.Cell; x++ {
					if mask[y*w+x] {
						keep[r*bc+c] = true
						break block
					}
				}
			}
		}
	}
	return keep
}

func keepBlocks(f []float64, keep []bool) []float64 {
	size := len(f) / len(keep)
	var out []float64
	for i, k := range keep {
		if k {
			out = append(out, f[i*size:(i+1)*size]...)
		}
	}
	return out
}

// TopKMeasure is TopKIntersection of the maps' values on the mask, with k
// the Fraction of the pixels scored, rounded up (at least 1).
type TopKMeasure struct {
	// Fraction of the pixels scored; default 0.1 (the report's).
	Fraction float64
}

// Name is "top-k".
func (TopKMeasure) Name() string { return "top-k" }

// Compare scores b against a.
func (t TopKMeasure) Compare(a, b []float32, h, w int, mask []bool) (Result, error) {
	f := t.Fraction
	if f == 0 {
		f = 0.1
	}
	if !(f > 0 && f <= 1) {
		return Result{}, fmt.Errorf("metrics: top-k fraction %g, want (0, 1]", f)
	}
	sa, sb, r, done, err := classify(a, b, h, w, mask)
	if done || err != nil {
		return r, err
	}
	v, err := TopKIntersection(sa, sb, max(1, int(math.Ceil(f*float64(len(sa))))))
	return r.with(v), err
}

// minMax scales an OK map to [0, 1] in float32 arithmetic.
func minMax(m []float32) []float32 { return minMaxInto(nil, m) }

// minMaxInto is minMax written into dst's array where it is long enough.
func minMaxInto(dst, m []float32) []float32 {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range m {
		lo, hi = min(lo, v), max(hi, v)
	}
	out := resize(dst, len(m))
	for i, v := range m {
		out[i] = (v - lo) / (hi - lo)
	}
	return out
}
