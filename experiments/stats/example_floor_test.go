package stats_test

import (
	"fmt"
	"log"

	"github.com/saliencykit/saliency/experiments/stats"
)

// Spearman of |map| between a method's original and fully randomized maps,
// and between its original maps and the null map |x·noise|, on the same
// eight images: the method's 0.86 is what a map with no model in it gets.
func ExampleCompareFloor() {
	method := []float64{0.88, 0.84, 0.86, 0.90, 0.83, 0.87, 0.85, 0.86}
	null := []float64{0.87, 0.85, 0.86, 0.89, 0.84, 0.86, 0.86, 0.86}
	f, err := stats.CompareFloor(method, null, stats.FloorOptions{Options: stats.Options{Seed: 1}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f)
	fmt.Println(f.Verdict == stats.AtFloor)
	// Output:
	// method 0.86 [0.85, 0.88], null 0.86 [0.85, 0.87], difference 0.00 [-0.01, 0.01]: at the floor
	// true
}
