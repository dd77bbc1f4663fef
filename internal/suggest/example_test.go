package suggest_test

import (
	"fmt"

	"github.com/saliencykit/saliency/internal/suggest"
)

// The edit distance behind "layer conv2_3 not found; nearest: conv2_2".
func ExampleDistance() {
	fmt.Println(suggest.Distance("conv2_3", "conv2_2"), suggest.Distance("gradcan", "gradcam"), suggest.Distance("relu", "dense"))
	// Output:
	// 1 1 4
}
