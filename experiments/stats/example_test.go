package stats_test

import (
	"fmt"
	"log"

	"github.com/saliencykit/saliency/experiments/stats"
)

// The mean of a metric over images with its 95% bootstrap interval; the
// same values and seed give the same interval on every run. A NaN (the rank
// correlation of a constant map) is counted as dropped.
func ExampleBootstrap() {
	values := []float64{0.12, 0.31, 0.05, 0.22, 0.18, 0.27, 0.09, 0.15}
	s, err := stats.Bootstrap(append(values, nanValue()), stats.Options{Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s, s.N, s.Dropped)
	// Output:
	// 0.17 [0.12, 0.23] 8 1
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}
