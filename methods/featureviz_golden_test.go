//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// featureVizFedTol is how far feature visualisation's images may be from
// golden_methods.py's when both take the same fed gradients: both compute in
// float64 (gonum's FFT and the adjoint written here, against TensorFlow's
// irfft2d and its gradient), so only the rounding of the images to float32
// may differ, by an ulp (6e-8 at 1).
const featureVizFedTol = 1e-6

// checkFeatureViz runs feature visualisation with the gradients
// golden_methods.py fed to its own ascent in place of the model's, for the
// Fourier (sigmoid) and the pixel (clip) parameterization, and compares the
// image after every step. It reports whether every check ran and passed.
func checkFeatureViz(t *testing.T, fl methods.Model, dir string, p map[string]any) bool {
	read := func(file any) *tensor.Tensor {
		t.Helper()
		x, err := savedmodels.ReadNpy(filepath.Join(dir, fmt.Sprint(file)))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	grads := read(p["grads_file"])
	files, _ := p["images_files"].(map[string]any)
	if len(files) != 2 {
		t.Fatalf("params.yaml: feature-visualization has images_files %v; want fourier and pixel", p["images_files"])
	}
	steps, k := grads.Shape[0], grads.Shape[1]
	hwc := grads.Shape[2:]
	classes := make([]int, k)
	for i := range classes {
		classes[i] = i
	}
	ok := true
	for _, param := range []string{"fourier", "pixel"} {
		want := read(files[param])
		// No warm-up: its backward rules do not matter where the
		// gradients are fed, and the probe answers plain gradients only.
		fv, err := methods.New("feature-visualization", map[string]any{"param": param, "steps": steps, "lr": p["lr"], "l2": p["l2"],
			"tv": p["tv"], "decay": p["decay"], "init_sd": p["init_sd"], "restarts": p["restarts"], "warmup": 0})
		if err != nil {
			t.Fatal(err)
		}
		probe := &ascentProbe{Model: fl, fed: grads, fetch: true}
		got, err := fv.Explain(context.Background(), probe, methods.Batch{X: tensor.New(append([]int{k}, hwc...)...)}, methods.Target{Classes: classes})
		if err != nil {
			t.Fatal(err)
		}
		flat := &tensor.Tensor{Shape: append([]int{steps * k}, hwc...), Data: want.Data}
		worst := 0.0
		for c := range classes {
			seen := probe.images[c]
			if len(seen) != steps {
				t.Errorf("%s, class %d: %d gradient queries in %d steps", param, c, len(seen), steps)
				ok = false
				continue
			}
			for s := 1; s <= steps; s++ {
				img := got.Raw.Slice(c, c+1) // after the last step
				if s < steps {
					img = seen[s] // the image the step-s gradient was asked at
				}
				d, _ := tensor.MaxAbsDiff(img, flat.Slice((s-1)*k+c, (s-1)*k+c+1))
				worst = max(worst, d)
				if d > featureVizFedTol {
					t.Errorf("%s, class %d, after step %d: the image differs from Python's by %.3g (tolerance %g)", param, c, s, d, featureVizFedTol)
					ok = false
				}
			}
		}
		t.Logf("%s: %d steps × %d images on fed gradients, max |Go − Python| = %.2g", param, steps, k, worst)
	}
	return ok
}

// Run answers a query with fed gradients when fetch is set and the query
// has one gradient: feature visualisation fetches the score with it.
func (p *ascentProbe) runFetching(ctx context.Context, x *tensor.Tensor, q tfgraph.Query) (*tfgraph.Result, error) {
	fetched, err := p.Model.Run(ctx, x, tfgraph.Query{Fetch: q.Fetch})
	if err != nil {
		return nil, err
	}
	res, err := p.Run(ctx, x, tfgraph.Query{Grads: q.Grads})
	if err != nil {
		return nil, err
	}
	res.Fetched = fetched.Fetched
	return res, nil
}
