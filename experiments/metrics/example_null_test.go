package metrics_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/tensor"
)

// The null map |x| ⊙ |noise| has no model in it, yet on every pixel it
// ranks like a Gradient × Input map of the same image (the black
// background ties them), and on the foreground it still shares the factor
// |x|: the floor a method's score must beat. A random map shares neither.
func ExampleNullInputNoise() {
	const n, h, w = 4, 20, 20
	x := tensor.New(n, h, w, 1) // a batch of 4 images: objects on black
	gxi := tensor.New(n, h, w)  // a method's maps: input × a gradient
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range x.Data {
		if p := i % (h * w); p/w >= 4 && p/w < 16 && p%w >= 5 && p%w < 15 {
			x.Data[i] = rng.Float32()
		}
		gxi.Data[i] = x.Data[i] * float32(rng.NormFloat64())
	}
	null, err := metrics.NullInputNoise(x, 1, metrics.NullOptions{})
	if err != nil {
		log.Fatal(err)
	}
	random, _ := metrics.NullRandom(x.Shape, 1)
	m := metrics.Measures["spearman-abs"]
	for i := range n {
		fg, _ := metrics.Foreground(x.Item(i).Data, []float32{0})
		all, _ := m.Compare(gxi.Item(i).Data, null.Item(i).Data, h, w, nil)
		on, _ := m.Compare(gxi.Item(i).Data, null.Item(i).Data, h, w, fg)
		r, _ := m.Compare(gxi.Item(i).Data, random.Item(i).Data, h, w, nil)
		fmt.Printf("image %d: |x·noise| %.2f on every pixel, %.2f on the foreground; random map %.2f\n", i, all.Value, on.Value, r.Value)
	}
	fmt.Println(null.Shape)
	// Output:
	// image 0: |x·noise| 0.97 on every pixel, 0.38 on the foreground; random map -0.07
	// image 1: |x·noise| 0.97 on every pixel, 0.29 on the foreground; random map -0.04
	// image 2: |x·noise| 0.97 on every pixel, 0.36 on the foreground; random map 0.03
	// image 3: |x·noise| 0.97 on every pixel, 0.27 on the foreground; random map -0.03
	// [4 20 20]
}
