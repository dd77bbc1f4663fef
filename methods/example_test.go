//go:build cgo

package methods_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// Grad-CAM of the predicted classes of a batch, at the model's CAM layer, in
// one session run.
func Example() {
	m, err := tfgraph.Load("../savedmodels/fmnist_gap", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		log.Fatal(err)
	}
	g, err := savedmodels.ReadGolden("../savedmodels/fmnist_gap")
	if err != nil {
		log.Fatal(err)
	}
	gradcam, err := methods.New("gradcam", nil)
	if err != nil {
		log.Fatal(err)
	}
	maps, err := gradcam.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(maps.Method, maps.Layer, maps.Map.Shape, maps.LowRes.Shape)
	fmt.Println("classes", maps.Classes)
	// Output:
	// gradcam relu3_2 [8 28 28] [8 7 7]
	// classes [0 1 2 3 4 5 6 7]
}

// Methods take their options by the names YAML uses; unknown options and
// invalid values are errors.
func ExampleNew() {
	sg, err := methods.New("smoothgrad", map[string]any{"samples": 20, "noise": 0.1, "method": "integrated-gradients",
		"options": map[string]any{"steps": 16}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sg.Name())
	_, err = methods.New("occlusion", map[string]any{"patch_size": 4})
	fmt.Println(err)
	// Output:
	// smoothgrad
	// methods: occlusion: unknown option "patch_size"; options: patch, stride, fill, memory_mb
}

// A method that needs a structure the model lacks returns a
// *NotApplicableError, which an experiment records as a result.
func ExampleNotApplicableError() {
	m, err := tfgraph.Load("../savedmodels/fmnist_vgg", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fl, _ := m.Flat()
	g, _ := savedmodels.ReadGolden("../savedmodels/fmnist_vgg")
	cam, _ := methods.New("cam", nil)
	_, err = cam.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
	var na *methods.NotApplicableError
	fmt.Println(errors.As(err, &na), na.Method)
	// Output:
	// true cam
}

// A unit target: guided backprop of channel 13 of fmnist_vgg's conv2_2 at
// its strongest activation in each image (Zeiler & Fergus' projection), read
// from the syntax of the CLI and YAML.
func ExampleParseTarget() {
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
	spec, err := methods.ParseTarget("conv2_2:13", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(spec.Unit.Describe())
	gb, err := methods.New("guided-backprop", nil)
	if err != nil {
		log.Fatal(err)
	}
	x := g.Inputs.Slice(0, 2)
	maps, err := gb.Explain(context.Background(), fl, methods.Batch{X: x}, spec.Target(2))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(maps.Raw.Shape, maps.Classes == nil, len(maps.Scores))
	_, err = methods.ParseTarget("conv2_2:13/median", "")
	fmt.Println(err != nil)
	// Output:
	// channel 13, strongest activation (a neuron on a dense layer)
	// [2 28 28 1] true 2
	// true
}
