package stats

import (
	"math"
	"strings"
	"testing"
)

// The paired interval of method − null matches scipy.stats.bootstrap
// (paired, percentile) on the same scores (testdata/golden_stats.py), and
// the verdicts read it against the 0.05 margin.
func TestCompareFloorMatchesScipy(t *testing.T) {
	g := readGolden(t)
	want := map[string]FloorVerdict{"at the floor": AtFloor, "beats the floor": BeatsFloor, "undecided": FloorUndecided}
	for _, c := range g.Floor {
		f, err := CompareFloor(c.Method, c.Null, FloorOptions{Options: Options{Resamples: 100000, Seed: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(f.Diff.Mean-c.Mean) > 1e-12 || math.Abs(f.Method.Mean-f.Null.Mean-f.Diff.Mean) > 1e-12 || f.Diff.N != 30 {
			t.Errorf("%s: %v, scipy mean %g", c.Name, f, c.Mean)
		}
		closeInterval(t, c.Name, f.Diff.Lo, f.Diff.Hi, interval{c.Lo, c.Hi, c.SD})
		if f.Verdict != want[c.Name] {
			t.Errorf("%s: %v", c.Name, f)
		}
	}
}

func TestCompareFloorVerdicts(t *testing.T) {
	null := []float64{0.80, 0.85, 0.90, 0.82, 0.88, 0.86, 0.84, 0.87}
	shift := func(d float64) []float64 {
		out := make([]float64, len(null))
		for i, v := range null {
			out[i] = v + d + 0.01*float64(i%3-1)
		}
		return out
	}
	for _, c := range []struct {
		method []float64
		o      FloorOptions
		want   FloorVerdict
	}{
		{shift(0.2), FloorOptions{}, BeatsFloor},
		{shift(0.2), FloorOptions{Margin: 0.3}, AtFloor},
		{shift(0), FloorOptions{}, AtFloor},
		{shift(-0.2), FloorOptions{}, BelowFloor},
		{shift(-0.2), FloorOptions{Lower: true}, BeatsFloor}, // a distance: lower is better
		{shift(0.05), FloorOptions{}, FloorUndecided},
	} {
		f, err := CompareFloor(c.method, null, c.o)
		if err != nil {
			t.Fatal(err)
		}
		if f.Verdict != c.want {
			t.Errorf("%+v: %v, want %v", c.o, f, c.want)
		}
	}
	// NaN on either side drops the image from both.
	m := shift(0.2)
	m[1] = math.NaN()
	n := append([]float64(nil), null...)
	n[4] = math.Inf(1)
	f, _ := CompareFloor(m, n, FloorOptions{})
	if f.Method.N != 6 || f.Null.N != 6 || f.Diff.N != 6 || f.Diff.Dropped != 2 || f.Method.Dropped != 2 {
		t.Errorf("dropped: %+v", f)
	}
	if !strings.HasPrefix(f.String(), "method 1.05 [") || !strings.HasSuffix(f.String(), ": beats the floor") {
		t.Errorf("String() = %q", f.String())
	}
	none, _ := CompareFloor([]float64{math.NaN()}, []float64{1}, FloorOptions{})
	if none.Verdict != FloorUndetermined {
		t.Errorf("no pair: %v", none)
	}
	for _, c := range []struct {
		m, n []float64
		o    FloorOptions
		want string
	}{
		{m, null[:3], FloorOptions{}, "8 method scores and 3 null scores"},
		{m, n, FloorOptions{Margin: -1}, "margin -1"},
		{m, n, FloorOptions{Options: Options{Level: 1}}, "at level 1"},
	} {
		if _, err := CompareFloor(c.m, c.n, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
