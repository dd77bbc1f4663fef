package stats

import (
	"fmt"
	"math"
)

// FloorVerdict is the verdict of CompareFloor.
type FloorVerdict string

const (
	// BeatsFloor: the whole interval of the difference to the null lies
	// above the margin.
	BeatsFloor FloorVerdict = "beats the floor"
	// AtFloor: the interval of the difference lies below the margin but
	// not wholly below 0: the score is what a map with no model in it
	// gets, give or take the margin.
	AtFloor FloorVerdict = "at the floor"
	// BelowFloor: the whole interval of the difference lies below 0.
	BelowFloor FloorVerdict = "below the floor"
	// FloorUndecided: the interval straddles the margin.
	FloorUndecided FloorVerdict = "undecided"
	// FloorUndetermined: no image has both scores finite.
	FloorUndetermined FloorVerdict = "undetermined"
)

// FloorOptions are the settings of CompareFloor; zero values take the
// defaults.
type FloorOptions struct {
	// Options of the bootstrap (Resamples, Level, Seed).
	Options
	// Margin by which the method must beat the null; default 0.05, on the
	// scale of the similarity measures (−1…1 or 0…1): below what the
	// reports' two decimals resolve beside their intervals, and below the
	// spread of the final similarity between re-initialisation seeds
	// (0.13–0.27 for one method). Zero takes the default; for no margin
	// give math.SmallestNonzeroFloat64.
	Margin float64
	// Lower is set for scores where the method beats the floor by scoring
	// lower than the null (a distance, a deletion AUC); the difference is
	// then null − method.
	Lower bool
}

// Floor is the comparison of a method's per-image scores with a null
// map's on the same images.
type Floor struct {
	// Method and Null are the scores over the images where both are
	// finite (N; Dropped counts the others), with intervals from the same
	// resamples as Diff.
	Method, Null Summary
	// Diff is the paired difference method − null (null − method when
	// Lower): positive is better than the null.
	Diff    Summary
	Margin  float64
	Verdict FloorVerdict
}

// String is "method 0.86 [0.82, 0.89], null 0.86 [0.83, 0.88], difference 0.00 [-0.02, 0.02]: at the floor".
func (f Floor) String() string {
	return fmt.Sprintf("method %s, null %s, difference %s: %s", f.Method, f.Null, f.Diff, f.Verdict)
}

// CompareFloor says whether a method's scores beat those of a null map
// (metrics.NullInputNoise, NullRandom) scored with the same measure on the
// same images: method[i] and null[i] are the scores of image i. It is a
// paired percentile bootstrap of the mean difference d = method − null
// over the images where both are finite (the images are resampled, each
// keeping its two scores), and the verdict reads d's interval [Lo, Hi]
// against the margin m:
//
//	BeatsFloor      Lo > m       the method is better than the null by more than m
//	BelowFloor      Hi < 0       the method is worse than the null
//	AtFloor         Hi ≤ m       otherwise: not better than the null by m
//	FloorUndecided  Lo ≤ m < Hi
//
// "Beats the floor" thus asks for the interval to exclude 0 and the
// margin: a minimum-effect test at the interval's level (the one-sided
// error is (1−Level)/2). Method, Null and Diff use the same resamples (the
// same Seed), so Diff.Mean = Method.Mean − Null.Mean up to rounding.
func CompareFloor(method, null []float64, o FloorOptions) (Floor, error) {
	if len(method) != len(null) {
		return Floor{}, fmt.Errorf("stats: floor of %d method scores and %d null scores", len(method), len(null))
	}
	if o.Margin == 0 {
		o.Margin = 0.05
	}
	if !(o.Margin > 0) || math.IsInf(o.Margin, 0) {
		return Floor{}, fmt.Errorf("stats: floor margin %g, want > 0", o.Margin)
	}
	var pm, pn, d []float64
	dropped := 0
	for i := range method {
		if !finite(method[i]) || !finite(null[i]) {
			dropped++
			continue
		}
		pm, pn = append(pm, method[i]), append(pn, null[i])
		if o.Lower {
			d = append(d, null[i]-method[i])
		} else {
			d = append(d, method[i]-null[i])
		}
	}
	f := Floor{Margin: o.Margin}
	var err error
	for _, s := range []struct {
		x   []float64
		out *Summary
	}{{pm, &f.Method}, {pn, &f.Null}, {d, &f.Diff}} {
		if *s.out, err = Bootstrap(s.x, o.Options); err != nil {
			return Floor{}, err
		}
		s.out.Dropped = dropped
	}
	switch s := f.Diff; {
	case s.N == 0:
		f.Verdict = FloorUndetermined
	case s.Lo > o.Margin:
		f.Verdict = BeatsFloor
	case s.Hi < 0:
		f.Verdict = BelowFloor
	case s.Hi <= o.Margin:
		f.Verdict = AtFloor
	default:
		f.Verdict = FloorUndecided
	}
	return f, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
