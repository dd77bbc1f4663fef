package attack_test

import (
	"context"
	"fmt"
	"log"

	"github.com/saliencykit/saliency/attack"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// The targeted attack on the gradient maps of four images, within 8% of
// the input range: every prediction is kept, and less than half of each
// map's top-10% pixels stay among the top 10%.
func Example() {
	m, err := tfgraph.Load("../savedmodels/fmnist_resnet", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		log.Fatal(err)
	}
	g, err := savedmodels.ReadGolden("../savedmodels/fmnist_resnet")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	b := methods.Batch{X: g.Inputs.Slice(0, 4)}
	grad := &methods.Gradient{}
	orig, err := grad.Explain(ctx, fl, b, methods.Target{})
	if err != nil {
		log.Fatal(err)
	}
	a := attack.Attack{Epsilon: 0.08, Steps: 10}
	r, err := a.Run(ctx, fl, grad, b, methods.Target{Classes: orig.Classes}, orig)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("search:", r.Search, "β", r.Beta)
	fmt.Println("predictions:", r.Predicted, "explained:", orig.Classes)
	for i, v := range r.TopK {
		fmt.Printf("image %d: top-10%% intersection below 0.5: %v\n", i, v < 0.5)
	}
	// Output:
	// search: gradient β 30
	// predictions: [0 1 2 3] explained: [0 1 2 3]
	// image 0: top-10% intersection below 0.5: true
	// image 1: top-10% intersection below 0.5: true
	// image 2: top-10% intersection below 0.5: true
	// image 3: top-10% intersection below 0.5: true
}
