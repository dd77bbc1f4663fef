//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The image that channel 5 of conv2_2 likes best, against the strongest
// activation the channel has on 1000 Fashion-MNIST test images.
func ExampleFeatureVisualization() {
	m, err := tfgraph.Load("../savedmodels/fmnist_vgg", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		log.Fatal(err)
	}
	spec, err := methods.ParseTarget("conv2_2:5", "")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	test, err := savedmodels.ReadTestSet("../savedmodels/samples/fmnist_test_1000.npz")
	if err != nil {
		log.Fatal(err)
	}
	values, err := methods.UnitValues(ctx, fl, test.Images, []methods.Unit{*spec.Unit}, methods.Chunking{})
	if err != nil {
		log.Fatal(err)
	}
	top := slices.Max(values[0])

	fv, err := methods.New("feature-visualization", nil) // pixels, Adam, 256 steps, 4 starts
	if err != nil {
		log.Fatal(err)
	}
	res, err := fv.Explain(ctx, fl, methods.Batch{X: tensor.New(1, 28, 28, 1)}, spec.Target(1))
	if err != nil {
		log.Fatal(err)
	}
	lo, hi := res.Raw.Range()
	fmt.Println(res.Method, res.Raw.Shape, lo >= 0 && hi <= 1)
	fmt.Println(spec, "beats its top activation on the test images:", res.Scores[0] >= top)
	// Output:
	// feature-visualization [1 28 28 1] true
	// conv2_2:5 beats its top activation on the test images: true
}
