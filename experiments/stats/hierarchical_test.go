package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The crossed and nested hierarchical intervals of 8 seeds × 40 images
// (seed effects of sd 0.05, image effects of 0.1, two NaN cells) and the
// nested one of 5 seeds with 20–40 images each match a numpy
// implementation of the same designs (testdata/golden_stats.py); the
// image-only Bootstrap matches scipy.stats.bootstrap.
func TestHierarchicalMatchesNumpy(t *testing.T) {
	g := readGolden(t)
	x := g.scores()
	o := Options{Resamples: 100000, Seed: 3}
	c, err := Hierarchical(x, HierarchicalOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	if c.N != 318 || c.Dropped != 2 || c.Seeds != 8 || c.Images != 40 || math.Abs(c.Mean-g.Hierarchical.Mean) > 1e-12 {
		t.Errorf("crossed: %+v, numpy mean %g", c, g.Hierarchical.Mean)
	}
	closeInterval(t, "crossed", c.Lo, c.Hi, g.Hierarchical.Crossed)
	n, err := Hierarchical(x, HierarchicalOptions{Options: o, Design: Nested})
	if err != nil {
		t.Fatal(err)
	}
	closeInterval(t, "nested", n.Lo, n.Hi, g.Hierarchical.Nested)
	r, err := Hierarchical(g.Hierarchical.Ragged, HierarchicalOptions{Options: o, Design: Nested})
	if err != nil {
		t.Fatal(err)
	}
	if r.Images != 154 || math.Abs(r.Mean-g.Hierarchical.RaggedMean) > 1e-12 {
		t.Errorf("ragged: %+v, numpy mean %g", r, g.Hierarchical.RaggedMean)
	}
	closeInterval(t, "nested, ragged", r.Lo, r.Hi, g.Hierarchical.RaggedNested)
	b, err := Bootstrap(g.Bootstrap.Values, o)
	if err != nil {
		t.Fatal(err)
	}
	closeInterval(t, "image-only bootstrap", b.Lo, b.Hi, interval{g.Bootstrap.Lo, g.Bootstrap.Hi, g.Bootstrap.SD})
}

// When seeds disagree the hierarchical interval is wider than the
// image-only ones (over one seed's images, or over the images' means over
// seeds) and covers the seeds' means, which the image-only interval does
// not; when they agree it is about as wide.
func TestHierarchicalWiderWhenSeedsDisagree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const S, N = 5, 50 // five re-initialisation seeds
	image := make([]float64, N)
	for i := range image {
		image[i] = 0.1 * rng.NormFloat64()
	}
	make2 := func(seedSD float64) [][]float64 {
		x := make([][]float64, S)
		for s := range x {
			e := seedSD * rng.NormFloat64()
			for i := range N {
				x[s] = append(x[s], 0.2+e+image[i]+0.03*rng.NormFloat64())
			}
		}
		return x
	}
	imageMeans := func(x [][]float64) []float64 {
		m := make([]float64, N)
		for i := range m {
			for s := range S {
				m[i] += x[s][i] / S
			}
		}
		return m
	}
	o := Options{Seed: 1}
	// Seeds that spread the final similarity over 0.1–0.3.
	x := make2(0.07)
	h, _ := Hierarchical(x, HierarchicalOptions{Options: o})
	one, _ := Bootstrap(x[0], o)
	pooled, _ := Bootstrap(imageMeans(x), o)
	lo, hi := slices.Min(h.SeedMeans), slices.Max(h.SeedMeans)
	t.Logf("seed means %.2f–%.2f; hierarchical %v, seed 0 alone %v, image means %v", lo, hi, h, one, pooled)
	if w := h.Hi - h.Lo; !(w > 1.4*(one.Hi-one.Lo) && w > 1.4*(pooled.Hi-pooled.Lo)) {
		t.Errorf("hierarchical width %.3f, image-only %.3f and %.3f", w, one.Hi-one.Lo, pooled.Hi-pooled.Lo)
	}
	// Seed 0's interval misses some seeds' means; the hierarchical one
	// holds the mean over seeds.
	if !(lo < one.Lo || hi > one.Hi) || !(h.Lo < pooled.Mean && pooled.Mean < h.Hi) {
		t.Errorf("seed means %.3f–%.3f", lo, hi)
	}
	// Seeds that agree: the crossed interval is about the image-only one.
	y := make2(0)
	h0, _ := Hierarchical(y, HierarchicalOptions{Options: o})
	p0, _ := Bootstrap(imageMeans(y), o)
	if r := (h0.Hi - h0.Lo) / (p0.Hi - p0.Lo); !(r > 0.9 && r < 1.2) {
		t.Errorf("agreeing seeds: hierarchical %v, image means %v (width ratio %.2f)", h0, p0, r)
	}
}

func TestHierarchicalDeterministicAndErrors(t *testing.T) {
	x := [][]float64{{0.1, 0.2, 0.3, 0.12, 0.21}, {0.3, math.NaN(), 0.2, 0.33, 0.17}, {0.5, 0.4, 0.45, 0.37, 0.41}}
	a, _ := Hierarchical(x, HierarchicalOptions{Options: Options{Seed: 4}})
	b, _ := Hierarchical(x, HierarchicalOptions{Options: Options{Seed: 4}})
	c, _ := Hierarchical(x, HierarchicalOptions{Options: Options{Seed: 5}})
	if a.String() != b.String() || a.Lo != b.Lo || a.Hi != b.Hi || (a.Lo == c.Lo && a.Hi == c.Hi) {
		t.Errorf("seeded: %+v %+v %+v", a, b, c)
	}
	if a.N != 14 || a.Dropped != 1 || !(a.Lo <= a.Mean && a.Mean <= a.Hi) || math.Abs(a.SeedMeans[1]-0.25) > 1e-15 {
		t.Errorf("summary %+v", a)
	}
	none, err := Hierarchical([][]float64{{math.NaN()}}, HierarchicalOptions{})
	if err != nil || none.N != 0 || !math.IsNaN(none.Mean) || none.String() != "n/a (no finite value)" {
		t.Errorf("no finite value: %+v, %v", none, err)
	}
	for _, c := range []struct {
		x    [][]float64
		o    HierarchicalOptions
		want string
	}{
		{nil, HierarchicalOptions{}, "no seed"},
		{[][]float64{{1, 2}, {1}}, HierarchicalOptions{}, "crossed design with 2 images under seed 0 and 1 under seed 1"},
		{x, HierarchicalOptions{Design: 7}, "design 7"},
		{x, HierarchicalOptions{Options: Options{Level: 2}}, "at level 2"},
	} {
		if _, err := Hierarchical(c.x, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
	if _, err := Hierarchical([][]float64{{1, 2}, {1}}, HierarchicalOptions{Design: Nested}); err != nil {
		t.Errorf("nested, ragged: %v", err)
	}
	// One finite cell among seeds of NaN: resamples that draw none are
	// left out; a single resample that draws none has no interval.
	one, err := Hierarchical([][]float64{{0.3}, {math.NaN()}, {}}, HierarchicalOptions{Design: Nested, Options: Options{Resamples: 1, Seed: 2}})
	if err != nil || one.N != 1 || one.Mean != 0.3 || !(math.IsNaN(one.Lo) || one.Lo == 0.3) {
		t.Errorf("one finite cell: %+v, %v", one, err)
	}
	for seed := range uint64(20) {
		s, _ := Hierarchical([][]float64{{0.3}, {math.NaN()}, {}}, HierarchicalOptions{Design: Nested, Options: Options{Resamples: 1, Seed: seed}})
		if math.IsNaN(s.Lo) {
			return // met the empty case
		}
	}
	t.Error("no seed drew only NaN in 20 tries")
}

// The crossing steps equal numpy's (testdata/golden_stats.py).
func TestCrossingSteps(t *testing.T) {
	g := readGolden(t).Crossing
	c, err := CrossingSteps(g.Curves, g.Threshold)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Steps, g.Steps) || c.MeanStep != g.MeanStep || c.Median != g.Median {
		t.Errorf("%+v; numpy steps %v, mean %d, median %g", c, g.Steps, g.MeanStep, g.Median)
	}
	if c.Min != 4 || c.Max != 6 || c.Never != 0 || c.Mode != 5 || c.Agree != 0.6 {
		t.Errorf("%+v", c)
	}
	if got := c.String(); got != "step 5 (median; steps 4–6, 3 of 5 seeds at step 5)" {
		t.Errorf("String() = %q", got)
	}
	for _, k := range []struct {
		curves [][]float64
		want   Crossing
		str    string
	}{
		{[][]float64{{0.9, 0.4}, {0.9, 0.8}, {0.6, math.NaN()}}, Crossing{Steps: []int{2, 0, 0}, MeanStep: 0, Median: math.Inf(1), Min: 2, Max: 2, Never: 2, Mode: 0},
			"after the last step (median; step 2, 2 of 3 seeds never)"},
		{[][]float64{{0.4, 0.4}, {0.9, 0.3}}, Crossing{Steps: []int{1, 2}, MeanStep: 2, Median: 1.5, Min: 1, Max: 2, Mode: 1},
			"step 1.5 (median; steps 1–2, 1 of 2 seeds at step 1)"},
		{[][]float64{{0.9}, {0.8}}, Crossing{Steps: []int{0, 0}, Median: math.Inf(1), Never: 2, Mode: 0}, "never (2 of 2 seeds)"},
		{[][]float64{{0.9, 0.1}, {0.9, 0.8}, {0.9, 0.8}, {0.2, 0.1}}, Crossing{Steps: []int{2, 0, 0, 1}, MeanStep: 2, Median: math.Inf(1), Min: 1, Max: 2, Never: 2, Mode: 0},
			"after the last step (median; steps 1–2, 2 of 4 seeds never)"},
	} {
		c, err := CrossingSteps(k.curves, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		w := k.want
		if !slices.Equal(c.Steps, w.Steps) || c.MeanStep != w.MeanStep || c.Median != w.Median || c.Min != w.Min || c.Max != w.Max || c.Never != w.Never || c.Mode != w.Mode {
			t.Errorf("%v: %+v, want %+v", k.curves, c, w)
		}
		if c.String() != k.str {
			t.Errorf("%v: %q, want %q", k.curves, c.String(), k.str)
		}
	}
	for _, c := range []struct {
		curves [][]float64
		t      float64
		want   string
	}{
		{nil, 0.5, "no curve"},
		{[][]float64{{1, 2}, {1}}, 0.5, "curves of 2 and 1 steps (curve 1)"},
		{[][]float64{{1}}, math.NaN(), "threshold NaN"},
	} {
		if _, err := CrossingSteps(c.curves, c.t); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
