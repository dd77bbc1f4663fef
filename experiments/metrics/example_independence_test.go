package metrics_test

import (
	"fmt"
	"log"

	"github.com/saliencykit/saliency/experiments/metrics"
)

// A method whose map depends only on the class (as DeconvNet on
// fmnist_resnet): the two maps of class 7 are the same, whatever the image;
// class 3 has a single image and tests nothing.
func ExampleInputIndependence() {
	maps := [][]float32{
		{0.1, 0.9, 0.3, 0.0}, // image 0, class 7
		{0.5, 0.2, 0.8, 0.1}, // image 1, class 3
		{0.1, 0.9, 0.3, 0.0}, // image 2, class 7
	}
	res, err := metrics.InputIndependence(maps, []int{7, 3, 7}, metrics.IndependenceOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range res.Classes {
		fmt.Printf("class %d: %d images, %d of %d pairs identical: %s\n", c.Class, c.Images, c.NearIdentical, c.Pairs, c.Verdict)
	}
	fmt.Println("method:", res.Verdict)
	// Output:
	// class 3: 1 images, 0 of 0 pairs identical: untested
	// class 7: 2 images, 1 of 1 pairs identical: input-independent
	// method: input-independent
}
