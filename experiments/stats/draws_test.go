package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
)

// bootstrapRef and hierarchicalRef are Bootstrap and Hierarchical as they
// were before their draws were cached (a fresh PCG stream per call and a
// sort of the means): the reference the cached draws must equal bit for bit.
func bootstrapRef(values []float64, o Options) (Summary, error) {
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
	rng := rand.New(rand.NewPCG(o.Seed, 0))
	means := make([]float64, o.Resamples)
	for r := range means {
		var sum float64
		for i := 0; i < s.N; i++ {
			sum += x[rng.IntN(s.N)]
		}
		means[r] = sum / float64(s.N)
	}
	sort.Float64s(means)
	s.Lo = quantile(means, (1-o.Level)/2)
	s.Hi = quantile(means, (1+o.Level)/2)
	return s, nil
}

func hierarchicalRef(scores [][]float64, o HierarchicalOptions) (HierarchicalSummary, error) {
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
	rng := rand.New(rand.NewPCG(o.Seed, 0))
	S := len(scores)
	means := make([]float64, 0, o.Resamples)
	seedCount := make([]int, S)
	var imageCount []int
	if o.Design == Crossed {
		imageCount = make([]int, len(scores[0]))
	}
	for range o.Resamples {
		var total float64
		n := 0
		switch o.Design {
		case Crossed:
			clear(seedCount)
			clear(imageCount)
			for range S {
				seedCount[rng.IntN(S)]++
			}
			for range imageCount {
				imageCount[rng.IntN(len(imageCount))]++
			}
			for k, ws := range seedCount {
				if ws == 0 {
					continue
				}
				for i, wi := range imageCount {
					if v := scores[k][i]; wi > 0 && finite(v) {
						total += float64(ws*wi) * v
						n += ws * wi
					}
				}
			}
		case Nested:
			for range S {
				row := scores[rng.IntN(S)]
				for range row {
					if v := row[rng.IntN(len(row))]; finite(v) {
						total += v
						n++
					}
				}
			}
		}
		if n > 0 {
			means = append(means, total/float64(n))
		}
	}
	if len(means) == 0 { // every resample drew only NaN cells
		s.Lo, s.Hi = math.NaN(), math.NaN()
		return s, nil
	}
	sort.Float64s(means)
	s.Lo = quantile(means, (1-o.Level)/2)
	s.Hi = quantile(means, (1+o.Level)/2)
	return s, nil
}

// sameBits reports whether two summaries hold the same numbers bit for bit
// (NaN equal to NaN).
func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

func sameSummary(a, b Summary) bool {
	return a.N == b.N && a.Dropped == b.Dropped && a.Level == b.Level && sameBits(a.Mean, b.Mean) && sameBits(a.Lo, b.Lo) && sameBits(a.Hi, b.Hi)
}

// scoresFor are per-image scores as a report has them: continuous, tied,
// with a NaN or an infinity, all NaN, one image.
func scoresFor(r *rand.Rand, n, kind int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()*0.2 + 0.5
		if kind == 1 {
			x[i] = float64(r.IntN(3)) / 2
		}
	}
	switch {
	case kind == 2 && n > 1:
		x[r.IntN(n)] = math.NaN()
	case kind == 3 && n > 1:
		x[r.IntN(n)] = math.Inf(1)
	case kind == 4:
		for i := range x {
			x[i] = math.NaN()
		}
	}
	return x
}

// Bootstrap and Hierarchical (both designs) give the intervals they gave
// before their draws were cached, bit for bit, at every shape, twice (the
// second time from the cache), and for shapes too large to cache.
func TestCachedDrawsAsBefore(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, resamples := range []int{1, 7, 1000} {
		for _, n := range []int{1, 2, 3, 10, 20} {
			for kind := range 5 {
				for _, seed := range []uint64{0, 1, 42} {
					x := scoresFor(r, n, kind)
					o := Options{Resamples: resamples, Seed: seed}
					want, err := bootstrapRef(x, o)
					if err != nil {
						t.Fatal(err)
					}
					for range 2 {
						got, err := Bootstrap(x, o)
						if err != nil {
							t.Fatal(err)
						}
						if !sameSummary(got, want) {
							t.Errorf("Bootstrap n %d kind %d seed %d resamples %d: %+v, before %+v", n, kind, seed, resamples, got, want)
						}
					}
					for _, seeds := range []int{1, 3} {
						for _, design := range []Design{Crossed, Nested} {
							sc := [][]float64{x}
							for range seeds - 1 {
								sc = append(sc, scoresFor(r, n, kind))
							}
							ho := HierarchicalOptions{Options: o, Design: design}
							want, err := hierarchicalRef(sc, ho)
							if err != nil {
								t.Fatal(err)
							}
							for range 2 {
								got, err := Hierarchical(sc, ho)
								if err != nil {
									t.Fatal(err)
								}
								if !sameSummary(got.Summary, want.Summary) || !slices.EqualFunc(got.SeedMeans, want.SeedMeans, sameBits) || got.Seeds != want.Seeds || got.Images != want.Images {
									t.Errorf("Hierarchical design %d seeds %d n %d kind %d seed %d resamples %d: %+v, before %+v", design, seeds, n, kind, seed, resamples, got, want)
								}
							}
						}
					}
				}
			}
		}
	}
	// A shape beyond the cache is drawn for the call, the same.
	x := scoresFor(r, 500, 0)
	o := Options{Resamples: maxDrawCells/500 + 1, Seed: 3}
	want, _ := bootstrapRef(x, o)
	if got, _ := Bootstrap(x, o); !sameSummary(got, want) {
		t.Errorf("uncached shape: %+v, before %+v", got, want)
	}
}

// The cache holds at most maxDrawShapes shapes.
func TestDrawCacheBounded(t *testing.T) {
	for n := 1; n <= 3*maxDrawShapes; n++ {
		bootstrapDraws(5, n, 10)
		drawCache.Lock()
		k := len(drawCache.m)
		drawCache.Unlock()
		if k > maxDrawShapes {
			t.Fatalf("%d shapes cached, at most %d", k, maxDrawShapes)
		}
	}
}

// Bootstraps on goroutines share the cache and give the intervals of one
// goroutine (make test-race runs this under the race detector).
func TestCachedDrawsConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var xs [][]float64
	for i := range 32 {
		xs = append(xs, scoresFor(r, 5+i%4, i%3))
	}
	want := make([]Summary, len(xs))
	for i, x := range xs {
		want[i], _ = bootstrapRef(x, Options{Resamples: 500, Seed: uint64(i % 3)})
	}
	var wg sync.WaitGroup
	got := make([]Summary, len(xs))
	for i, x := range xs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = Bootstrap(x, Options{Resamples: 500, Seed: uint64(i % 3)})
		}()
	}
	wg.Wait()
	for i := range xs {
		if !sameSummary(got[i], want[i]) {
			t.Errorf("bootstrap %d on a goroutine: %+v, alone %+v", i, got[i], want[i])
		}
	}
}

// selectedQuantile is quantile of the sorted values.
func TestSelectedQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{1, 2, 3, 5, 40, 1000} {
		for kind := range 3 {
			x := make([]float64, n)
			for i := range x {
				switch kind {
				case 0:
					x[i] = r.NormFloat64()
				case 1:
					x[i] = float64(r.IntN(4))
				case 2:
					x[i] = []float64{math.Inf(-1), math.Inf(1), 1, 2}[r.IntN(4)]
				}
			}
			sorted := slices.Clone(x)
			sort.Float64s(sorted)
			for _, q := range []float64{0, 0.001, 0.025, 0.5, 0.975, 0.999, 1} {
				got, want := selectedQuantile(slices.Clone(x), q), quantile(sorted, q)
				if !sameBits(got, want) {
					t.Errorf("n %d kind %d q %g: %v, sorted %v", n, kind, q, got, want)
				}
			}
		}
	}
}
