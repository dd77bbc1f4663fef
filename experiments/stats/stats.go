// Package stats summarises a metric over the repeats of an experiment
// (images, seeds): the mean with a seeded percentile-bootstrap confidence
// interval, the same numbers on every run.
//
//	Bootstrap      the mean over images (one level)
//	CompareFloor   a method's per-image scores against a null map's on the same
//	               images: paired bootstrap of the difference, read against a margin
//	Hierarchical   the mean over seeds and images (scores[seed][image]), resampling
//	               both (crossed: images shared by the seeds; or nested)
//	CrossingSteps  the first step each seed's curve falls below a threshold, with
//	               its median, range and the share of seeds that agree
//
// testdata/golden.json (written by testdata/golden_stats.py) holds scipy's
// and numpy's intervals for the same data; the tests compare them within
// Monte Carlo error.
package stats

import (
	"fmt"
	"math"
)

// Summary is a metric over n repeats.
type Summary struct {
	// N counts the finite values used; Dropped the NaN or infinite ones
	// left out (e.g. the rank correlation of a constant map).
	N, Dropped int
	// Mean is their mean; Lo and Hi the bootstrap confidence interval.
	Mean, Lo, Hi float64
	// Level is the interval's confidence (0.95).
	Level float64
}

// String is "0.81 [0.77, 0.84]".
func (s Summary) String() string {
	if s.N == 0 {
		return "n/a (no finite value)"
	}
	return fmt.Sprintf("%s [%s, %s]", fixed2(s.Mean), fixed2(s.Lo), fixed2(s.Hi))
}

// fixed2 is v with two decimals, never "-0.00".
func fixed2(v float64) string {
	t := fmt.Sprintf("%.2f", v)
	if t == "-0.00" {
		return "0.00"
	}
	return t
}

// Options of Bootstrap; zero values take the defaults.
type Options struct {
	Resamples int     // default 10000
	Level     float64 // default 0.95
	Seed      uint64  // the resampling is a PCG stream seeded with (Seed, 0)
}

// Bootstrap is the mean of the finite values with a percentile bootstrap
// interval (Efron & Tibshirani 1993): Resamples means of n values drawn
// with replacement, and their (1−Level)/2 and (1+Level)/2 quantiles
// (linear interpolation between order statistics, numpy's default). The same
// values and seed give the same interval bit for bit.
func Bootstrap(values []float64, o Options) (Summary, error) {
	if o.Resamples == 0 {
		o.Resamples = 10000
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if o.Resamples < 1 || !(o.Level > 0 && o.Level < 1) {
		return Summary{}, fmt.Errorf("stats: bootstrap with %d resamples at level %g", o.Resamples, o.Level)
	}
	var x []float64
	s := Summary{Level: o.Level}
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			s.Dropped++
			continue
		}
		x = append(x, v)
	}
	s.N = len(x)
	if s.N == 0 {
		s.Mean, s.Lo, s.Hi = math.NaN(), math.NaN(), math.NaN()
		return s, nil
	}
	s.Mean = mean(x)
	draws := bootstrapDraws(o.Seed, s.N, o.Resamples)
	means := make([]float64, o.Resamples)
	for r := range means {
		var sum float64
		for _, i := range draws[r*s.N : (r+1)*s.N] {
			sum += x[i]
		}
		means[r] = sum / float64(s.N)
	}
	s.Lo, s.Hi = percentileInterval(means, o.Level)
	return s, nil
}

func mean(x []float64) float64 {
	var sum float64
	for _, v := range x {
		sum += v
	}
	return sum / float64(len(x))
}

// quantile of sorted values at q in [0,1], interpolating linearly between
// the order statistics at (n−1)·q.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}
