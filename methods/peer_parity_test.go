//go:build cgo

package methods_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
)

// peerCase says how the toolkit computes one peer golden of
// golden/peers/manifest.json (bench/torch/peer_goldens.py).
type peerCase struct {
	method string
	opts   map[string]any
	// models limits the case (nil: every model with the file).
	models []string
}

// peerCases maps the peers' files to the toolkit's methods and options.
// Zennit's relevance starts at the logit (attr_output = logit·one-hot), as
// the toolkit's does. Captum's LRP leaves batch normalisation unmerged
// with an ε rule of its own, and does not know the copies' residual sums:
// it is compared on fmnist_vgg, which has neither.
var peerCases = map[string]peerCase{
	"zennit_lrp0":                {"lrp", map[string]any{"rule": "zero"}, nil},
	"zennit_epsilon_1e-6":        {"lrp", map[string]any{"rule": "epsilon"}, nil},
	"zennit_epsilon_0.25":        {"lrp", map[string]any{"rule": "epsilon", "epsilon": 0.25}, nil},
	"zennit_gamma_0.25":          {"lrp", map[string]any{"rule": "gamma"}, nil},
	"zennit_alpha2beta1":         {"lrp", map[string]any{"rule": "alpha-beta"}, nil},
	"zennit_alpha1beta0":         {"lrp", map[string]any{"rule": "alpha-beta", "alpha": 1.0, "beta": 0.0}, nil},
	"zennit_zplus":               {"lrp", map[string]any{"rule": "zplus"}, nil},
	"zennit_wsquare_first":       {"lrp", map[string]any{"rule": "zero", "first": "wsquare"}, nil},
	"zennit_flat_first":          {"lrp", map[string]any{"rule": "zero", "first": "flat"}, nil},
	"zennit_zbox_first":          {"lrp", map[string]any{"rule": "zero", "first": "zbox"}, nil},
	"zennit_epsilon_plus":        {"lrp", map[string]any{"composite": "epsilon-plus"}, nil},
	"zennit_epsilon_gamma_box":   {"lrp", map[string]any{"composite": "epsilon-gamma-box"}, nil},
	"zennit_epsilon_alpha2beta1": {"lrp", map[string]any{"composite": "epsilon-alpha2-beta1"}, nil},
	"zennit_epsilon_plus_flat":   {"lrp", map[string]any{"composite": "epsilon-plus-flat"}, nil},
	"captum_lrp":                 {"lrp", map[string]any{"rule": "epsilon", "epsilon": 1e-9}, []string{"fmnist_vgg"}},
	"captum_deeplift_zero":       {"deeplift", map[string]any{"baseline": "zeros"}, nil},
	"captum_deeplift_mean":       {"deeplift", map[string]any{}, nil}, // BaselineImage: the data-set mean, below
	"captum_deepliftshap":        {"deepshap", map[string]any{"baselines": "../savedmodels/samples/fmnist_background_16.npy"}, nil},
	// GradientShap with the draws Captum made fed (peerDraws): the
	// reference of each sample, its point on the path and its input noise.
	"captum_gradientshap":       {"expected-gradients", map[string]any{"baselines": "../savedmodels/samples/fmnist_background_16.npy", "samples": 25}, nil},
	"captum_gradientshap_noise": {"gradient-shap", map[string]any{"baselines": "../savedmodels/samples/fmnist_background_16.npy", "stdevs": 0.1}, nil},
}

// peerManifests are the manifests of golden/peers: bench/torch/peer_goldens.py's
// and bench/torch/gradshap_goldens.py's.
var peerManifests = []string{"manifest.json", "captum_gradshap_manifest.json"}

// peerDraws reads the draws a peer made for golden file (its
// <file>_draw_baselines.npy, _draw_alphas.npy and, with noise, _draw_noise.npy).
func peerDraws(t *testing.T, dir, file string) *methods.PathDraws {
	t.Helper()
	idx, err := savedmodels.ReadNpy(filepath.Join(dir, file+"_draw_baselines.npy"))
	if err != nil {
		t.Fatal(err)
	}
	alphas, err := savedmodels.ReadNpy(filepath.Join(dir, file+"_draw_alphas.npy"))
	if err != nil {
		t.Fatal(err)
	}
	d := &methods.PathDraws{Alphas: alphas.Data}
	for _, v := range idx.Data {
		d.Baselines = append(d.Baselines, int(v))
	}
	if p := filepath.Join(dir, file+"_draw_noise.npy"); fileExists(p) {
		if d.Noise, err = savedmodels.ReadNpy(p); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// peerMaxDiff is the largest difference a golden file allows, relative to
// its largest value: 1e-3, and 2e-3 for GradientShap's sampled points. Like
// SmoothGrad's samples (golden_test.go's averagedTol), a point drawn at
// random can sit on a kink of the network (a ReLU at zero) that TensorFlow's
// and PyTorch's kernels round to either side: on fmnist_gap's image 0, one
// of Captum's 5 noisy points moves the map by 1.1e-3 of its largest value,
// Pearson 0.9999996.
func peerMaxDiff(file string) float64 {
	if strings.HasPrefix(file, "captum_gradientshap") {
		return 2e-3
	}
	return 1e-3
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// peerModels are the zoo models with PyTorch copies.
var peerModels = []string{"fmnist_vgg", "fmnist_resnet", "fmnist_gap"}

// Every peer golden equals the toolkit's map on the same weights: Zennit
// 0.5.1's LRP rules and composites (batch normalisation merged by its
// SequentialMergeBatchNorm canonizer), Captum 0.9.0's DeepLift,
// DeepLiftShap and LRP, per image Pearson ≥ 0.9999 on the relevance per
// pixel, and the largest difference ≤ 1e-3 of the largest value or twice
// the peer's own float32-to-float64 difference, whichever is larger.
func TestPeerParity(t *testing.T) {
	covered := map[string][]string{}
	ts, err := savedmodels.ReadTestSet("../savedmodels/samples/fmnist_test_1000.npz")
	if err != nil {
		t.Fatal(err)
	}
	mean := tensor.New(ts.Images.Shape[1:]...)
	n := ts.Images.Shape[0]
	for i := 0; i < n; i++ {
		for j, v := range ts.Images.Item(i).Data {
			mean.Data[j] += v
		}
	}
	for j := range mean.Data {
		mean.Data[j] /= float32(n)
	}
	for _, model := range peerModels {
		for _, manifest := range peerManifests {
			dir := filepath.Join(zooDir(model), "golden", "peers")
			raw, err := os.ReadFile(filepath.Join(dir, manifest))
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: no peer goldens %s: run make parity-goldens (gradshap-goldens)", model, manifest)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var man struct {
				Classes []int                      `json:"classes"`
				Files   map[string]json.RawMessage `json:"files"`
			}
			if err := json.Unmarshal(raw, &man); err != nil {
				t.Fatal(err)
			}
			fl, g := loadZoo(t, model)
			names := make([]string, 0, len(man.Files))
			for f := range man.Files {
				names = append(names, f)
			}
			sort.Strings(names)
			for _, file := range names {
				c, ok := peerCases[file]
				if !ok || (c.models != nil && !slices.Contains(c.models, model)) {
					continue
				}
				// The peer's map moves by float64MaxAbs when computed in float64
				// (bench/torch/peer_goldens.py): where the rules divide by
				// near-zero sums, rounding alone moves a float32 map that far,
				// on either side and on each CPU's kernels.
				var info struct {
					Checks struct {
						Float64 float64 `json:"float64_max_abs_difference"`
					} `json:"checks"`
				}
				if err := json.Unmarshal(man.Files[file], &info); err != nil {
					t.Fatal(err)
				}
				t.Run(model+"/"+file, func(t *testing.T) {
					want, err := savedmodels.ReadNpy(filepath.Join(dir, file+".npy"))
					if err != nil {
						t.Fatal(err)
					}
					m, err := methods.New(c.method, c.opts)
					if err != nil {
						t.Fatal(err)
					}
					if file == "captum_deeplift_mean" {
						m.(*methods.DeepLIFT).BaselineImage = mean
					}
					if eg, ok := m.(*methods.ExpectedGradients); ok {
						eg.Draws = peerDraws(t, dir, file)
					}
					got, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{Classes: man.Classes})
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.Raw.Shape, want.Shape) {
						t.Fatalf("shape %v, peer %v", got.Raw.Shape, want.Shape)
					}
					worst := 1.0
					for i := range got.Scores {
						a, b := got.Raw.Item(i), want.Item(i)
						r := tensor.Pearson(a.Data, b.Data)
						d, _ := tensor.MaxAbsDiff(a, b)
						worst = min(worst, r)
						if !(r >= 0.9999) || d > max(peerMaxDiff(file)*b.MaxAbs(), 2*info.Checks.Float64) {
							t.Errorf("image %d: Pearson %.6f, max difference %.3g of %.3g", i, r, d, b.MaxAbs())
						}
					}
					t.Logf("Pearson ≥ %.7f", worst)
					covered[c.method] = append(covered[c.method], model)
				})
			}
		}
	}
	for name := range peerOracle {
		if len(covered[name]) < 2 {
			t.Errorf("method %s matched peer goldens on %d models %v; want at least 2", name, len(covered[name]), covered[name])
		}
	}
}
