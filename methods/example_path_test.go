//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"log"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// Expected Gradients over 16 reference images of the data set, and Guided
// IG from a black baseline, with the passes each made per image (Expected
// Gradients: 64 gradients, and its share of the forward pass of the images
// and the 16 references).
func ExampleExpectedGradients() {
	m, err := tfgraph.Load("../savedmodels/fmnist_vgg", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		log.Fatal(err)
	}
	g, err := savedmodels.ReadGolden("../savedmodels/fmnist_vgg")
	if err != nil {
		log.Fatal(err)
	}
	b := methods.Batch{X: g.Inputs.Slice(0, 2)}
	for _, c := range []struct {
		name string
		opts map[string]any
	}{
		{"expected-gradients", map[string]any{"baselines": "../savedmodels/samples/fmnist_background_16.npy", "samples": 64, "seed": 1}},
		{"guided-ig", map[string]any{"steps": 50}},
	} {
		method, err := methods.New(c.name, c.opts)
		if err != nil {
			log.Fatal(err)
		}
		maps, err := method.Explain(context.Background(), fl, b, methods.Target{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: map %v, classes %v, %v forward and %v backward passes per image\n", maps.Method, maps.Map.Shape,
			maps.Classes, maps.Info["forward-passes"], maps.Info["backward-passes"])
	}
	// Output:
	// expected-gradients: map [2 28 28], classes [0 1], [73 73] forward and [64 64] backward passes per image
	// guided-ig: map [2 28 28], classes [0 1], [52 52] forward and [50 50] backward passes per image
}
