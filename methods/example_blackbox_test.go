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

// Sobol attribution of two images: the total Sobol' index of each cell of an
// 8×8 grid, from 32 points of the Sobol' sequence (A and B) and the 64
// matrices C_i, N·(d + 1) = 2080 masked images per image and one clean pass,
// in chunks of the memory budget; the map is upsampled to 28×28.
func ExampleSobol() {
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
	sobol, err := methods.New("sobol", map[string]any{"grid_size": 8, "nb_design": 32, "estimator": "jansen"})
	if err != nil {
		log.Fatal(err)
	}
	maps, err := sobol.Explain(context.Background(), fl, methods.Batch{X: g.Inputs.Slice(0, 2)}, methods.Target{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(maps.Method, maps.Map.Shape, "classes", maps.Classes)
	fmt.Println("forward passes per image", maps.Info["forward-passes"])
	_, err = methods.New("sobol", map[string]any{"nb_design": 24})
	fmt.Println(err)
	// Output:
	// sobol [2 28 28] classes [0 1]
	// forward passes per image [2081 2081]
	// methods: sobol: nb_design must be a power of two for the Sobol' sampler, got 24
}
