package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// The percentile interval of the mean covers the true mean of normal
// samples about 95% of the time (a little less for small n, as the
// percentile bootstrap does): 400 samples of 30 values, fixed seeds.
func TestBootstrapCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	covered := 0
	const trials = 400
	for k := 0; k < trials; k++ {
		x := make([]float64, 30)
		for i := range x {
			x[i] = 3 + 2*rng.NormFloat64()
		}
		s, err := Bootstrap(x, Options{Resamples: 2000, Seed: uint64(k)})
		if err != nil {
			t.Fatal(err)
		}
		if s.Lo <= 3 && 3 <= s.Hi {
			covered++
		}
		if !(s.Lo <= s.Mean && s.Mean <= s.Hi) {
			t.Fatalf("mean %g outside its interval [%g, %g]", s.Mean, s.Lo, s.Hi)
		}
	}
	c := float64(covered) / trials
	t.Logf("coverage of the 95%% interval: %.3f", c)
	if c < 0.90 || c > 0.98 {
		t.Errorf("coverage %.3f, want about 0.95", c)
	}
}

func TestBootstrapDeterministic(t *testing.T) {
	x := []float64{0.81, 0.77, 0.9, math.NaN(), 0.84, 0.79, 0.88, math.Inf(1)}
	a, _ := Bootstrap(x, Options{Seed: 7})
	b, _ := Bootstrap(x, Options{Seed: 7})
	c, _ := Bootstrap(x, Options{Seed: 8})
	if a != b {
		t.Errorf("same seed, other interval: %+v, %+v", a, b)
	}
	if a.Lo == c.Lo && a.Hi == c.Hi {
		t.Error("another seed gives the same interval")
	}
	if a.N != 6 || a.Dropped != 2 || math.Abs(a.Mean-0.8316666666666667) > 1e-15 {
		t.Errorf("summary %+v", a)
	}
	if got := a.String(); !strings.HasPrefix(got, "0.83 [") {
		t.Errorf("String() = %q", got)
	}
	k, _ := Bootstrap([]float64{2, 2, 2}, Options{})
	if k.Mean != 2 || k.Lo != 2 || k.Hi != 2 {
		t.Errorf("constant values: %+v", k)
	}
	none, _ := Bootstrap([]float64{math.NaN()}, Options{})
	if none.N != 0 || none.String() != "n/a (no finite value)" {
		t.Errorf("no finite value: %+v %q", none, none.String())
	}
	if _, err := Bootstrap(x, Options{Level: 1.5}); err == nil {
		t.Error("level 1.5 accepted")
	}
}

func TestQuantileLikeNumpy(t *testing.T) {
	s := []float64{1, 2, 3, 4, 10}
	// numpy.quantile([1,2,3,4,10], [0, 0.025, 0.5, 0.975, 1]) = 1, 1.1, 3, 9.4, 10
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.025, 1.1}, {0.5, 3}, {0.975, 9.4}, {1, 10}} {
		if got := quantile(s, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile(%g) = %g, numpy %g", c.q, got, c.want)
		}
	}
}

// The mean SSIM of eight maps with its 95% interval, as a report prints it.
func ExampleBootstrap() {
	ssim := []float64{0.81, 0.77, 0.90, 0.84, 0.79, 0.88, 0.80, 0.83}
	s, _ := Bootstrap(ssim, Options{Seed: 1})
	fmt.Println("SSIM to the original map:", s)
	// Output: SSIM to the original map: 0.83 [0.80, 0.86]
}
