package tfgraph_test

import (
	"fmt"
	"log"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Load a SavedModel, describe its signature and run a batch.
func ExampleLoad() {
	m, err := tfgraph.Load("../savedmodels/fmnist_vgg", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fmt.Println(m.Signature.Name)
	fmt.Println(m.Input().Key, m.Input().DType, m.Input().Shape)
	logits, err := m.Forward(tensor.New(2, 28, 28, 1))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(logits.Shape)
	// Output:
	// serving_default
	// image float32 [-1 28 28 1]
	// [2 10]
}

// Reach a layer by its Keras name in the flat graph, and compute Guided
// Backprop signals of the predicted classes on the input.
func ExampleFlat_Gradient() {
	m, err := tfgraph.Load("../savedmodels/fmnist_vgg", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	g, err := savedmodels.ReadGolden("../savedmodels/fmnist_vgg")
	if err != nil {
		log.Fatal(err)
	}
	fl, err := m.Flat()
	if err != nil {
		log.Fatal(err)
	}
	layer, err := fl.Layer("conv2_2")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(layer.Name, fl.Shape(layer.Output), layer.Ops)
	guided, err := fl.Gradient(g.Inputs, g.Top, "", tfgraph.Guided)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(guided.Shape)
	atLayer, err := fl.Gradient(g.Inputs, g.Top, layer.Output, tfgraph.Plain)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(atLayer.Shape)
	// Output:
	// conv2_2 [-1 14 14 32] [Conv2D Reshape Squeeze BiasAdd Relu]
	// [8 28 28 1]
	// [8 14 14 32]
}
