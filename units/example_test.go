package units_test

import (
	"context"
	"fmt"
	"log"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/tfgraph"
	"github.com/saliencykit/saliency/units"
)

// The top 3 of 100 Fashion-MNIST test images for two channels of
// fmnist_vgg's conv2_1, and the DeconvNet projection of channel 3's, cut to
// the receptive field (10×10 pixels, stride 2).
func ExampleScanLayer() {
	op, err := experiments.Open("../savedmodels/fmnist_vgg", tfgraph.Options{}, experiments.OpenOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Model.Close()
	ims, err := experiments.LoadImages(experiments.Data{Source: "fashion-mnist", Count: 100, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	src := ims.Source(op.Spec)
	ctx := context.Background()
	scan, err := units.ScanLayer(ctx, op.Flat, src, units.Options{Layer: "conv2_1", Channels: []int{3, 7}, K: 3})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(scan.Field, len(scan.Top), len(scan.Top[0]))
	p, err := units.Project(ctx, op.Flat, src, scan, 0, "deconvnet")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Channel, p.Maps.Shape, p.Patches.Shape)
	// Output:
	// 10×10 /2 2 3
	// 3 [3 10 10 1] [3 10 10 1]
}
