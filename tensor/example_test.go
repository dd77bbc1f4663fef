package tensor_test

import (
	"fmt"
	"log"

	"github.com/saliencykit/saliency/tensor"
)

// Upsample a 2×2 map to 4×4 as tf.image.resize(method="bilinear") does
// (half-pixel centres): how CAM maps reach the input's size.
func ExampleResize() {
	low := &tensor.Tensor{Shape: []int{1, 2, 2}, Data: []float32{0, 1, 2, 3}}
	up, err := tensor.Resize(low, 4, 4)
	if err != nil {
		log.Fatal(err)
	}
	for y := 0; y < 4; y++ {
		fmt.Println(up.Data[4*y : 4*y+4])
	}
	// Output:
	// [0 0.25 0.75 1]
	// [0.5 0.75 1.25 1.5]
	// [1.5 1.75 2.25 2.5]
	// [2 2.25 2.75 3]
}

// A per-channel attribution [N,H,W,C] becomes a map [N,H,W].
func ExampleReduceChannels() {
	a := &tensor.Tensor{Shape: []int{1, 1, 2, 3}, Data: []float32{1, -4, 2, 0.5, 0.5, -0.5}}
	for _, r := range []tensor.Reduction{tensor.MaxAbs, tensor.Sum, tensor.AbsSum} {
		m, err := tensor.ReduceChannels(a, r)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r, m.Data)
	}
	// Output:
	// max-abs [4 0.5]
	// sum [-1 0.5]
	// abs-sum [7 1.5]
}
