package metrics_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/saliencykit/saliency/experiments/metrics"
)

// Two Gradient × Input maps of one image on a black background, from
// gradients that have nothing in common: ranked over every pixel they look
// alike (the background is 0 in both: 64% of the pixels share the lowest rank); on the
// foreground they do not.
func ExampleSpearmanMeasure() {
	const h, w = 20, 20
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, h*w) // the input: a 12×12 object on black
	a, b := make([]float32, h*w), make([]float32, h*w)
	for i := range x {
		if y, c := i/w, i%w; y >= 4 && y < 16 && c >= 4 && c < 16 {
			x[i] = 0.5 + 0.5*rng.Float32()
		}
		a[i] = x[i] * float32(rng.NormFloat64()) // input × one gradient
		b[i] = x[i] * float32(rng.NormFloat64()) // input × another
	}
	fg, err := metrics.Foreground(x, []float32{0})
	if err != nil {
		log.Fatal(err)
	}
	m := metrics.Measures["spearman-abs"]
	all, _ := m.Compare(a, b, h, w, nil)
	on, _ := m.Compare(a, b, h, w, fg)
	z, _ := metrics.ZeroFraction(a, b)
	fmt.Printf("zero in both maps: %.2f\n", z)
	fmt.Printf("Spearman of |map|, every pixel: %.2f\n", all.Value)
	fmt.Printf("Spearman of |map|, %d foreground pixels: %.2f\n", metrics.Count(fg), on.Value)
	// Output:
	// zero in both maps: 0.64
	// Spearman of |map|, every pixel: 0.94
	// Spearman of |map|, 144 foreground pixels: 0.06
}

// A map that becomes constant after randomization is dropped by every
// measure alike, so that each counts the same images; its Values are NaN,
// which stats.Bootstrap counts as dropped, and the tally goes in the
// caption.
func ExampleCompareAll() {
	const h, w = 8, 8
	orig := make([]float32, h*w)
	for i := range orig {
		orig[i] = float32(i % 7)
	}
	randomized := [][]float32{make([]float32, h*w), make([]float32, h*w)}
	for i := range randomized[0] {
		randomized[0][i] = float32(i % 5) // a map
		randomized[1][i] = 0              // a map that became all zero
	}
	ms := []metrics.Measure{metrics.Measures["spearman"], metrics.Measures["ssim"], metrics.Measures["top-k"]}
	per := make([][]metrics.Result, len(ms))
	for _, m := range randomized {
		rs, err := metrics.CompareAll(ms, orig, m, h, w, nil)
		if err != nil {
			log.Fatal(err)
		}
		for i, r := range rs {
			per[i] = append(per[i], r)
		}
	}
	for i, m := range ms {
		fmt.Printf("%-8s %.2f  %v\n", m.Name(), metrics.Values(per[i]), metrics.TallyResults(per[i]))
	}
	// Output:
	// spearman [-0.03 NaN]  1 scored; not scored: 1 all-zero
	// ssim     [-0.03 NaN]  1 scored; not scored: 1 all-zero
	// top-k    [0.14 NaN]  1 scored; not scored: 1 all-zero
}

// Degenerate classifies a map, ZeroFraction, TiedFraction and LargestTie
// describe its ties for a table.
func ExampleDegenerate() {
	gxi := []float32{0, 0, 0, 0.3, -0.1, 0, 0.7, 0}
	fmt.Println(metrics.Degenerate(gxi), metrics.Degenerate([]float32{0, 0}), metrics.Degenerate([]float32{2, 2}))
	z, _ := metrics.ZeroFraction(gxi)
	v, f := metrics.LargestTie(gxi)
	fmt.Printf("zeros %.3f, tied %.3f, largest tie %g×%.3f\n", z, metrics.TiedFraction(gxi), v, f)
	// Output:
	// ok all-zero constant
	// zeros 0.625, tied 0.625, largest tie 0×0.625
}
