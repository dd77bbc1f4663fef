package experiments_test

import (
	"fmt"

	"github.com/saliencykit/saliency/experiments"
)

// Load checks an experiment file before any work; a file with problems
// gives every one of them at its line and column.
func ExampleLoad() {
	e, err := experiments.Load("testdata/good.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Name, e.Seed, len(e.Models), "models")
	for _, m := range e.Methods {
		fmt.Println(m.Name, m.Options)
	}
	_, err = experiments.Load("testdata/bad/05-unknown-method.yaml")
	fmt.Println(err)
	// Output:
	// schema-good 7 2 models
	// gradient map[]
	// smoothgrad map[noise:0.1 samples:10]
	// gradcam map[]
	// testdata/bad/05-unknown-method.yaml:6:21: unknown method "gradcamm" (did you mean "gradcam"?); methods: gradient, smoothgrad, squaregrad, vargrad, gradient-x-input, integrated-gradients, guided-ig, blur-ig, expected-gradients, gradient-shap, xrai, deconvnet, guided-backprop, lrp, deeplift, deepshap, cam, gradcam, guided-gradcam, gradcam++, layercam, hirescam, xgradcam, scorecam, ablationcam, eigencam, fullgrad, attention-rollout, occlusion, rise, sobol, hsic, lime, kernel-shap, class-model, feature-visualization
}
