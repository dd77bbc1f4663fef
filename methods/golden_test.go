//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"gopkg.in/yaml.v3"
)

// goldenCase is one method of golden/methods/params.yaml, as the toolkit
// runs it.
type goldenCase struct {
	file    string // <file>.npy is the golden map
	method  string
	options map[string]any
}

// goldenCases translates params.yaml (written by savedmodels/golden_methods.py)
// into toolkit options.
func goldenCases(t *testing.T, dir string, params map[string]map[string]any) []goldenCase {
	t.Helper()
	var cases []goldenCase
	for file, p := range params {
		if p == nil {
			continue
		}
		c := goldenCase{file: file, method: file, options: map[string]any{}}
		switch file {
		case "smoothgrad", "squaregrad", "vargrad":
			noise, err := savedmodels.ReadNpy(filepath.Join(dir, fmt.Sprint(p["noise_file"])))
			if err != nil {
				t.Fatal(err)
			}
			c.options["samples"] = p["samples"]
			c.options["noise"] = p["noise"]
			c.options["method"] = p["wraps"]
			c.options["noise_images"] = noise // set on the method below
		case "integrated-gradients", "integrated-gradients-blurred":
			c.method = "integrated-gradients"
			c.options["steps"] = p["steps"]
			c.options["baseline"] = p["baseline"]
			c.options["rule"] = "riemann-right"
			if s, ok := p["sigma"]; ok {
				c.options["blur_sigma"] = s
			}
		case "eigencam", "eigencam-centred":
			c.method = "eigencam"
			c.options["center"] = p["center"]
			c.options["relu"] = p["relu"]
		case "fullgrad", "fullgrad-layer":
			c.method = "fullgrad"
			c.options["normalize"] = p["normalize"]
			c.options["epsilon"] = p["epsilon"]
		case "attention-rollout":
			for _, k := range []string{"heads", "residual"} {
				c.options[k] = p[k]
			}
		case "occlusion":
			for _, k := range []string{"patch", "stride", "fill"} {
				c.options[k] = p[k]
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// Every method matches the golden maps computed independently in Python from
// the papers' definitions with tf.GradientTape (savedmodels/golden_methods.py):
// Pearson ≥ 0.999 and max |Go − Python| ≤ 1e-3 of the golden map's range, for
// the map, the per-channel attribution and the low-resolution CAM (methods
// that average many gradients: see averagedTol). The class model is compared
// where its gradient ascent is not chaotic (checkClassModel), feature
// visualisation on fed gradients (checkFeatureViz).
func TestGoldenMethods(t *testing.T) {
	covered := map[string][]string{}
	for _, model := range zooModels {
		dir := filepath.Join(zooDir(model), "golden", "methods")
		raw, err := os.ReadFile(filepath.Join(dir, "params.yaml"))
		if err != nil {
			t.Fatalf("%s: no golden maps: run savedmodels/golden_methods.py (%v)", model, err)
		}
		params := map[string]map[string]any{}
		var top map[string]any
		if err := yaml.Unmarshal(raw, &top); err != nil {
			t.Fatal(err)
		}
		for k, v := range top {
			if m, ok := v.(map[string]any); ok {
				params[k] = m
			}
		}
		fl, g := loadZoo(t, model)
		if l, err := fl.CAMLayer(); err != nil || l.Name != top["layer"] {
			t.Errorf("%s: default CAM layer %v (%v), goldens use %v", model, l.Name, err, top["layer"])
		}
		for _, c := range goldenCases(t, dir, params) {
			t.Run(model+"/"+c.file, func(t *testing.T) {
				if c.method == "class-model" {
					if checkClassModel(t, fl, dir, params[c.file]) {
						covered[c.file] = append(covered[c.file], model)
					}
					return
				}
				if c.method == "feature-visualization" {
					if checkFeatureViz(t, fl, dir, params[c.file]) {
						covered[c.file] = append(covered[c.file], model)
					}
					return
				}
				noise, _ := c.options["noise_images"].(*tensor.Tensor)
				delete(c.options, "noise_images")
				m, err := methods.New(c.method, c.options)
				if err != nil {
					t.Fatal(err)
				}
				if sg, ok := m.(*methods.SmoothGrad); ok {
					sg.NoiseImages = noise
				}
				got, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
				if err != nil {
					t.Fatal(err)
				}
				for i, cl := range got.Classes {
					if cl != g.Top[i] {
						t.Fatalf("image %d: class %d, golden top %d", i, cl, g.Top[i])
					}
				}
				tol, ok := tolerances[c.file]
				if !ok {
					tol = strictTol
				}
				compare(t, "map", got.Map, filepath.Join(dir, c.file+".npy"), tol)
				if got.Raw != nil {
					compare(t, "raw", got.Raw, filepath.Join(dir, c.file+"_raw.npy"), tol)
				}
				if got.LowRes != nil {
					compare(t, "low-res", got.LowRes, filepath.Join(dir, c.file+"_lowres.npy"), tol)
				}
				covered[c.file] = append(covered[c.file], model)
			})
		}
	}
	for _, name := range methods.Names() {
		if name == "attention-rollout" && len(covered[name]) == len(transformers) {
			continue // transformers only
		}
		if peerOracle[name] {
			continue // TestPeerParity: Zennit's and Captum's maps on PyTorch copies
		}
		if pairOracle[name] {
			continue // PAIR saliency's maps (TestPAIRParity, TestXRAIPeerParity)
		}
		if xpliqueOracle[name] {
			continue // TestXpliqueParity: Xplique's maps on tf_keras twins, randomness fed
		}
		if len(covered[name]) < 2 {
			t.Errorf("method %s matched goldens on %d zoo models %v; want at least 2", name, len(covered[name]), covered[name])
		}
	}
}

// goldenTol is how close a map must be to its golden: Pearson ≥ 0.999 and
// |Go − Python| ≤ 1e-3 of the golden's range, except on a fraction outliers of
// the values, which may differ by up to most.
type goldenTol struct{ outliers, most float64 }

var strictTol = goldenTol{0, 1e-3}

// averagedTol is the tolerance of methods that average many gradients (16
// SmoothGrad samples per image, 32 Integrated Gradients steps). On another CPU
// one of them can cross a kink of the network (a ReLU at zero, a tied max-pool
// window) that it does not cross on the machine that wrote the golden: with
// oneDNN's AVX2 kernels, one of fmnist_scatter's 128 SmoothGrad samples takes
// a gradient 1.8% away from its AVX-512 one (the others are equal to the
// bit), which moves the mean around it by up to 2.8e-3 of the map's range,
// 0.15% of the values beyond 1e-3 (VarGrad: 4.2e-3, 0.07%). So 1% of the
// values may differ by up to 1e-2 of the range. A wrong noise level, sample
// count or normalisation moves most values by more (VarGrad with 1/(n−1):
// 6.7% of the range; Pearson alone would not see it).
var averagedTol = goldenTol{1e-2, 1e-2}

// tolerances are the goldens with other tolerances than strictTol.
var tolerances = map[string]goldenTol{
	"smoothgrad": averagedTol, "squaregrad": averagedTol, "vargrad": averagedTol,
	"integrated-gradients": averagedTol, "integrated-gradients-blurred": averagedTol,
}

// compare checks got against a golden .npy file when it exists (not every
// method has a _raw or _lowres file) within tol.
func compare(t *testing.T, what string, got *tensor.Tensor, path string, tol goldenTol) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if what == "map" {
			t.Fatalf("no golden %s", path)
		}
		return
	}
	p, d, beyond := similarity(t, got, path)
	t.Logf("%-7s Pearson %.7f, max |Go − Python| = %.2g of the range, %.2g of the values beyond 1e-3 (%s)", what, p, d, beyond, filepath.Base(path))
	if !(p >= 0.999) || d > tol.most || beyond > tol.outliers {
		t.Errorf("%s differs from %s: Pearson %.6f, max diff %.3g of the range, %.3g of the values beyond 1e-3 (tolerance: Pearson ≥ 0.999, %g beyond 1e-3, none beyond %g)",
			what, filepath.Base(path), p, d, beyond, tol.outliers, tol.most)
	}
}

// similarity returns the Pearson correlation of got with the golden .npy
// file, their largest difference as a fraction of the golden's range, and the
// fraction of the values that differ by more than 1e-3 of the range.
func similarity(t *testing.T, got *tensor.Tensor, path string) (pearson, most, beyond float64) {
	t.Helper()
	want, err := savedmodels.ReadNpy(path)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(want.Shape, got.Shape) {
		// [N,H,W] goldens of [N,H,W,1] maps and the reverse.
		if tensor.Size(want.Shape) != tensor.Size(got.Shape) {
			t.Fatalf("shape %v, golden %v (%s)", got.Shape, want.Shape, path)
		}
		want = &tensor.Tensor{Shape: got.Shape, Data: want.Data}
	}
	r := mapRange(want)
	n := 0
	for i, v := range got.Data {
		if math.Abs(float64(v)-float64(want.Data[i])) > 1e-3*r {
			n++
		}
	}
	d, _ := tensor.MaxAbsDiff(got, want)
	return tensor.Pearson(got.Data, want.Data), d / r, float64(n) / float64(len(got.Data))
}

// peerOracle are the methods whose oracle is a peer library run on PyTorch
// copies of the zoo models (TestPeerParity) instead of golden_methods.py.
var peerOracle = map[string]bool{"lrp": true, "deeplift": true, "deepshap": true, "expected-gradients": true, "gradient-shap": true}

// pairOracle are the methods whose oracle is PAIR saliency 0.2.1: run on
// the SavedModels themselves (TestPAIRParity) or on tf_keras copies of the
// zoo models (TestXRAIPeerParity).
var pairOracle = map[string]bool{"guided-ig": true, "blur-ig": true, "xrai": true}

// xpliqueOracle are the black-box methods whose oracle is Xplique 2.0.2 on
// tf_keras twins of the zoo models, their randomness fed (TestXpliqueParity).
var xpliqueOracle = map[string]bool{"rise": true, "sobol": true, "hsic": true, "lime": true, "kernel-shap": true}
