package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Design says how Hierarchical resamples the images of the seeds.
type Design uint8

const (
	// Crossed is for the same images under every seed (scores[s][i] is
	// image i under seed s, rows of equal length): each resample draws S
	// seeds and N images with replacement, the images once for all the
	// seeds drawn, and takes the mean over the S×N cells. It is the
	// two-way ("pigeonhole") bootstrap of crossed random effects (Owen
	// 2007, "The pigeonhole bootstrap", Ann. Appl. Stat. 1(2)); it keeps
	// an image's scores under different seeds together, as they are
	// correlated (a hard image is hard under every seed). The default.
	Crossed Design = iota
	// Nested is for other images under each seed (rows may differ in
	// length): each resample draws S seeds with replacement, then, within
	// each seed drawn, as many of its images as it has, with replacement,
	// and takes the mean over all the values drawn (Saravanan, Berman and
	// Sober 2020, "Application of the hierarchical bootstrap to
	// multi-level data in neuroscience", Neurons, Behavior, Data analysis,
	// and Theory 3(5)). On crossed data it treats an image under two seeds
	// as two images, and its interval is narrower than Crossed's when
	// images differ more than seeds do.
	Nested
)

// HierarchicalOptions are the settings of Hierarchical; zero values take
// the defaults.
type HierarchicalOptions struct {
	// Options of the bootstrap (Resamples, Level, Seed).
	Options
	// Design; default Crossed.
	Design Design
}

// HierarchicalSummary is a metric over seeds and images.
type HierarchicalSummary struct {
	// Summary: N counts the finite scores, Dropped the others; Mean is
	// their mean, Lo and Hi the hierarchical interval.
	Summary
	// Seeds and Images count the rows and the images: the row length for
	// Crossed, the sum of the rows' lengths for Nested.
	Seeds, Images int
	// SeedMeans are the means of each seed's finite scores (NaN for none):
	// their spread is what an interval over images alone leaves out.
	SeedMeans []float64
}

// Hierarchical is the mean of scores[seed][image] with a percentile
// bootstrap interval over seeds and images (see Design): Resamples
// resampled means of the finite scores drawn, and their (1−Level)/2 and
// (1+Level)/2 quantiles (numpy's linear interpolation), as Bootstrap. A
// resample whose cells are all NaN is left out of the quantiles. The
// resampling is a PCG stream seeded with (Seed, 0): the same scores and
// seed give the same interval bit for bit.
//
// An interval over images alone (Bootstrap of one seed's scores, or of the
// images' means over seeds) covers the images, not the seeds: when seeds
// disagree (re-initialisation draws that spread a method's final
// similarity over 0.13–0.27), this interval is the wider, honest one.
func Hierarchical(scores [][]float64, o HierarchicalOptions) (HierarchicalSummary, error) {
	if o.Resamples == 0 {
		o.Resamples = 10000
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if o.Resamples < 1 || !(o.Level > 0 && o.Level < 1) {
		return HierarchicalSummary{}, fmt.Errorf("stats: bootstrap with %d resamples at level %g", o.Resamples, o.Level)
	}
	if o.Design != Crossed && o.Design != Nested {
		return HierarchicalSummary{}, fmt.Errorf("stats: hierarchical design %d", o.Design)
	}
	if len(scores) == 0 {
		return HierarchicalSummary{}, fmt.Errorf("stats: hierarchical bootstrap of no seed")
	}
	s := HierarchicalSummary{Summary: Summary{Level: o.Level}, Seeds: len(scores)}
	var sum float64
	for k, row := range scores {
		if o.Design == Crossed && len(row) != len(scores[0]) {
			return HierarchicalSummary{}, fmt.Errorf("stats: crossed design with %d images under seed 0 and %d under seed %d", len(scores[0]), len(row), k)
		}
		s.Images += len(row)
		var rs float64
		n := 0
		for _, v := range row {
			if finite(v) {
				rs += v
				n++
			} else {
				s.Dropped++
			}
		}
		sum += rs
		s.N += n
		s.SeedMeans = append(s.SeedMeans, rs/float64(n)) // NaN for none
	}
	if o.Design == Crossed {
		s.Images = len(scores[0])
	}
	if s.N == 0 {
		s.Mean, s.Lo, s.Hi = math.NaN(), math.NaN(), math.NaN()
		return s, nil
	}
	s.Mean = sum / float64(s.N)
	S := len(scores)
	means := make([]float64, 0, o.Resamples)
	if o.Design == Crossed {
		// The draws of this shape, made once (hierarchicalDraws): each
		// resample sums its cells, seed by seed and image by image, as the
		// counts of their seed and image weigh them.
		I := len(scores[0])
		flat := make([]float64, 0, S*I)
		for _, row := range scores {
			flat = append(flat, row...)
		}
		all := s.Dropped == 0 // every score finite: every resample counts S·I
		d := hierarchicalDraws(o.Seed, S, I, o.Resamples)
		for r := range o.Resamples {
			var total float64
			n := 0
			cells, ws := d.cell[d.off[r]:d.off[r+1]], d.w[d.off[r]:d.off[r+1]]
			if all {
				for j, c := range cells {
					total += float64(ws[j]) * flat[c]
				}
				n = S * I
			} else {
				for j, c := range cells {
					if v := flat[c]; finite(v) {
						total += float64(ws[j]) * v
						n += int(ws[j])
					}
				}
			}
			if n > 0 {
				means = append(means, total/float64(n))
			}
		}
	}
	if o.Design == Nested {
		rng := rand.New(rand.NewPCG(o.Seed, 0))
		for range o.Resamples {
			var total float64
			n := 0
			for range S {
				row := scores[rng.IntN(S)]
				for range row {
					if v := row[rng.IntN(len(row))]; finite(v) {
						total += v
						n++
					}
				}
			}
			if n > 0 {
				means = append(means, total/float64(n))
			}
		}
	}
	if len(means) == 0 { // every resample drew only NaN cells
		s.Lo, s.Hi = math.NaN(), math.NaN()
		return s, nil
	}
	s.Lo, s.Hi = percentileInterval(means, o.Level)
	return s, nil
}

// Crossing is where per-seed curves first fall below a threshold.
type Crossing struct {
	Threshold float64
	// Steps are, per curve (seed), the first step, counted from 1, whose
	// value is below Threshold; 0 when none is.
	Steps []int
	// MeanStep is the first step where the mean of the curves (of their
	// finite values at each step) is below Threshold; 0 when none is.
	MeanStep int
	// Median is the median of Steps, a curve that never falls below
	// counting as after the last step (+Inf when half of them never do).
	Median float64
	// Min and Max are the earliest and latest step among the curves that
	// fall below (0 when none does); Never counts the others.
	Min, Max, Never int
	// Mode is the commonest of Steps (0 for never; the earlier step on a
	// tie) and Agree the share of the curves at it.
	Mode  int
	Agree float64
}

// CrossingSteps finds, for curves[seed][step] (a similarity per
// randomization step, step 1 first, e.g. the mean over images under one
// re-initialisation seed), the first step each curve falls below the
// threshold (a NaN value never does), and summarises them: the report's
// "falls below 0.5 at step 5 of 6" becomes "at step 5 (median; steps 4–6,
// 6 of 10 seeds at step 5)". The curves must be of one length.
func CrossingSteps(curves [][]float64, threshold float64) (Crossing, error) {
	if len(curves) == 0 {
		return Crossing{}, fmt.Errorf("stats: crossing of no curve")
	}
	if math.IsNaN(threshold) {
		return Crossing{}, fmt.Errorf("stats: crossing of threshold NaN")
	}
	L := len(curves[0])
	c := Crossing{Threshold: threshold}
	first := func(curve []float64) int {
		for k, v := range curve {
			if v < threshold {
				return k + 1
			}
		}
		return 0
	}
	for k, curve := range curves {
		if len(curve) != L {
			return Crossing{}, fmt.Errorf("stats: crossing of curves of %d and %d steps (curve %d)", L, len(curve), k)
		}
		c.Steps = append(c.Steps, first(curve))
	}
	mean := make([]float64, L)
	for k := range mean {
		var s float64
		n := 0
		for _, curve := range curves {
			if finite(curve[k]) {
				s += curve[k]
				n++
			}
		}
		mean[k] = s / float64(n) // NaN for none
	}
	c.MeanStep = first(mean)
	order := make([]float64, len(c.Steps))
	count := map[int]int{}
	for k, st := range c.Steps {
		count[st]++
		if st == 0 {
			c.Never++
			order[k] = math.Inf(1)
			continue
		}
		order[k] = float64(st)
		if c.Min == 0 || st < c.Min {
			c.Min = st
		}
		c.Max = max(c.Max, st)
	}
	sort.Float64s(order)
	n := len(order)
	if n%2 == 1 {
		c.Median = order[n/2]
	} else {
		c.Median = (order[n/2-1] + order[n/2]) / 2
	}
	c.Mode = -1
	for st, k := range count {
		if k > count[c.Mode] || k == count[c.Mode] && later(c.Mode, st) {
			c.Mode = st
		}
	}
	c.Agree = float64(count[c.Mode]) / float64(n)
	return c, nil
}

// later says whether step a comes after step b (0, never, after all).
func later(a, b int) bool {
	if a == 0 || b == 0 {
		return a == 0 && b != 0
	}
	return a > b
}

// String is "step 5 (median; steps 4–6, 6 of 10 seeds at step 5; 1 never)",
// or "never (10 of 10 seeds)".
func (c Crossing) String() string {
	n := len(c.Steps)
	if c.Never == n {
		return fmt.Sprintf("never (%d of %d seeds)", n, n)
	}
	med := "after the last step"
	if !math.IsInf(c.Median, 1) {
		med = fmt.Sprintf("step %g", c.Median)
	}
	mode := "never"
	if c.Mode > 0 {
		mode = fmt.Sprintf("at step %d", c.Mode)
	}
	steps := fmt.Sprintf("steps %d–%d", c.Min, c.Max)
	if c.Min == c.Max {
		steps = fmt.Sprintf("step %d", c.Min)
	}
	s := fmt.Sprintf("%s (median; %s, %d of %d seeds %s", med, steps, int(math.Round(c.Agree*float64(n))), n, mode)
	if c.Never > 0 && c.Mode != 0 {
		s += fmt.Sprintf("; %d never", c.Never)
	}
	return s + ")"
}
