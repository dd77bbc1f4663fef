package stats_test

import (
	"fmt"
	"log"

	"github.com/saliencykit/saliency/experiments/stats"
)

// The final similarity of a method under five re-initialisation seeds (rows)
// on six images (columns): the seeds disagree, and the interval over seeds
// and images is wider than the one over one seed's images, which misses
// the mean over seeds.
func ExampleHierarchical() {
	scores := [][]float64{
		{0.10, 0.18, 0.05, 0.22, 0.12, 0.15},
		{0.20, 0.27, 0.16, 0.31, 0.22, 0.24},
		{0.14, 0.22, 0.10, 0.25, 0.15, 0.19},
		{0.25, 0.30, 0.20, 0.36, 0.27, 0.29},
		{0.12, 0.20, 0.08, 0.24, 0.14, 0.17},
	}
	h, err := stats.Hierarchical(scores, stats.HierarchicalOptions{Options: stats.Options{Seed: 1}})
	if err != nil {
		log.Fatal(err)
	}
	one, _ := stats.Bootstrap(scores[0], stats.Options{Seed: 1})
	fmt.Printf("seeds and images: %v (%d seeds × %d images)\n", h, h.Seeds, h.Images)
	fmt.Printf("seed 0's images:  %v\n", one)
	fmt.Printf("seed means: %.2f\n", h.SeedMeans)
	// Output:
	// seeds and images: 0.20 [0.14, 0.26] (5 seeds × 6 images)
	// seed 0's images:  0.14 [0.09, 0.18]
	// seed means: [0.14 0.23 0.18 0.28 0.16]
}

// The first step at which each seed's similarity curve falls below 0.5.
func ExampleCrossingSteps() {
	curves := [][]float64{ // per seed: similarity after randomizing 1, 2, … 6 layers
		{0.90, 0.80, 0.60, 0.55, 0.45, 0.30},
		{0.90, 0.70, 0.52, 0.48, 0.40, 0.20},
		{0.95, 0.85, 0.70, 0.60, 0.52, 0.49},
		{0.90, 0.80, 0.60, 0.50, 0.42, 0.35},
		{0.90, 0.75, 0.62, 0.58, 0.47, 0.40},
	}
	c, err := stats.CrossingSteps(curves, 0.5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("per seed:", c.Steps, "mean curve:", c.MeanStep)
	fmt.Println("falls below 0.5 at", c)
	// Output:
	// per seed: [5 4 6 5 5] mean curve: 5
	// falls below 0.5 at step 5 (median; steps 4–6, 3 of 5 seeds at step 5)
}
