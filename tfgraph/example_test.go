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

// The receptive field of each layer of fmnist_vgg, and the input box of one
// unit: 3×3 convolutions with SAME padding grow the field by 2 input pixels
// times the stride so far, 2×2 max pooling doubles the stride, and from the
// Flatten on every unit sees the whole image.
func ExampleFlat_ReceptiveField() {
	m, err := tfgraph.Load("../savedmodels/fmnist_vgg", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range fl.Layers() {
		f, err := fl.ReceptiveField(l.Output)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-11s %-12v start %g\n", l.Name, f, f.H.Start)
	}
	l, _ := fl.Layer("conv2_2")
	f, _ := fl.ReceptiveField(l.Output)
	b := f.Box(5, 0, 28, 28) // clipped to the image on the left
	fmt.Printf("conv2_2 unit (y=5, x=0): rows [%d,%d) × columns [%d,%d) of the 28×28 image\n", b.Y0, b.Y1, b.X0, b.X1)
	// Output:
	// conv1_1     3×3 /1       start -1
	// conv1_2     5×5 /1       start -2
	// pool1       6×6 /2       start -2
	// conv2_1     10×10 /2     start -4
	// conv2_2     14×14 /2     start -6
	// pool2       16×16 /4     start -6
	// flatten     whole image  start 0
	// fc1         whole image  start 0
	// predictions whole image  start 0
	// conv2_2 unit (y=5, x=0): rows [4,18) × columns [0,8) of the 28×28 image
}
