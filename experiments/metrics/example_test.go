package metrics_test

import (
	"fmt"

	"github.com/saliencykit/saliency/experiments/metrics"
)

// Two maps that rank the pixels alike but differ in scale: the rank
// correlation is 1, the top-2 pixels agree.
func ExampleSpearman() {
	a := []float32{0.1, 0.9, 0.3, 0.7}
	b := []float32{1, 30, 4, 8}
	top, _ := metrics.TopKIntersection(a, b, 2)
	fmt.Printf("Spearman %.2f, Pearson %.2f, top-2 %.1f\n", metrics.Spearman(a, b), metrics.Pearson(a, b), top)
	// Output: Spearman 1.00, Pearson 0.86, top-2 1.0
}
