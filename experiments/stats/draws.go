package stats

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/saliencykit/saliency/tensor"
)

// A bootstrap's draws depend on its seed, its shape (the number of values;
// of seeds and images for a crossed design) and its resamples, never on
// the values. A report makes thousands of bootstraps of one shape (every
// layer, method and metric over the same images), so the draws of a shape
// are made once, kept in a small cache, and each bootstrap only sums: the
// same draws in the same order, the same sums bit for bit.

// drawKey is the shape of a bootstrap's draws.
type drawKey struct {
	seed      uint64
	resamples int
	// n values for Bootstrap; seeds × n images for a crossed Hierarchical.
	seeds, n int
}

// The cache holds at most maxDrawShapes shapes of at most maxDrawCells
// draws each (at 4 bytes a draw, 16 MiB): its memory is bounded whatever
// the bootstraps asked for. A shape too large is drawn for each bootstrap,
// as before; when the cache is full it is emptied.
const (
	maxDrawShapes = 16
	maxDrawCells  = 1 << 22
)

var drawCache = struct {
	sync.Mutex
	m map[drawKey]any
}{m: map[drawKey]any{}}

// cachedDraws returns the draws of key, made by make on the first call.
func cachedDraws[T any](key drawKey, cells int, make func() T) T {
	if cells > maxDrawCells {
		return make()
	}
	drawCache.Lock()
	d, ok := drawCache.m[key]
	drawCache.Unlock()
	if ok {
		return d.(T)
	}
	v := make()
	drawCache.Lock()
	if len(drawCache.m) >= maxDrawShapes {
		clear(drawCache.m)
	}
	drawCache.m[key] = v
	drawCache.Unlock()
	return v
}

// bootstrapDraws are the indices Bootstrap draws: resample r sums the
// values at idx[r*n : (r+1)*n], in that order, as rand.New(rand.NewPCG(seed,
// 0)).IntN(n) gives them in turn.
func bootstrapDraws(seed uint64, n, resamples int) []int32 {
	return cachedDraws(drawKey{seed: seed, resamples: resamples, n: n}, n*resamples, func() []int32 {
		rng := rand.New(rand.NewPCG(seed, 0))
		idx := make([]int32, n*resamples)
		for i := range idx {
			idx[i] = int32(rng.IntN(n))
		}
		return idx
	})
}

// crossedDraws are the draws of a crossed Hierarchical bootstrap, from one
// PCG stream: the S seed draws, then the I image draws, of each resample
// in turn. Resample r weighs the cells (seed k, image i) of both a seed and
// an image it drew, cell[off[r]:off[r+1]] (k·I + i, seed by seed, image by
// image, ascending), by w, the product of their counts.
type crossedDraws struct {
	cell, w, off []int32
}

func hierarchicalDraws(seed uint64, seeds, images, resamples int) *crossedDraws {
	return cachedDraws(drawKey{seed: seed, resamples: resamples, seeds: seeds, n: images}, seeds*images*resamples, func() *crossedDraws {
		rng := rand.New(rand.NewPCG(seed, 0))
		d := &crossedDraws{off: []int32{0}}
		seedCount, imageCount := make([]int32, seeds), make([]int32, images)
		for range resamples {
			clear(seedCount)
			clear(imageCount)
			for range seeds {
				seedCount[rng.IntN(seeds)]++
			}
			for range images {
				imageCount[rng.IntN(images)]++
			}
			for k, ws := range seedCount {
				if ws == 0 {
					continue
				}
				for i, wi := range imageCount {
					if wi > 0 {
						d.cell, d.w = append(d.cell, int32(k*images+i)), append(d.w, ws*wi)
					}
				}
			}
			d.off = append(d.off, int32(len(d.cell)))
		}
		return d
	})
}

// percentileInterval returns the (1−level)/2 and (1+level)/2 quantiles of the
// resampled means (quantile), reordering means: the four order statistics
// it needs are selected, not sorted for; with a NaN among them, which has
// no place in an order, means are sorted as sort.Float64s does.
func percentileInterval(means []float64, level float64) (lo, hi float64) {
	for _, v := range means {
		if v != v {
			sort.Float64s(means)
			return quantile(means, (1-level)/2), quantile(means, (1+level)/2)
		}
	}
	return selectedQuantile(means, (1-level)/2), selectedQuantile(means, (1+level)/2)
}

// selectedQuantile is quantile of the values of x, not sorted, that holds
// no NaN: the order statistics at ⌊(n−1)·q⌋ and the next one, selected in
// place.
func selectedQuantile(x []float64, q float64) float64 {
	n := len(x)
	pos := q * float64(n-1)
	i := int(math.Floor(pos))
	if i >= n-1 {
		tensor.SelectNth(x, n-1)
		return x[n-1]
	}
	tensor.SelectNth(x, i)
	next := x[i+1]
	for _, v := range x[i+2:] {
		next = min(next, v)
	}
	f := pos - float64(i)
	return x[i] + f*(next-x[i])
}
