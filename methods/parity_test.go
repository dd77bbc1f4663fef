//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
)

// parityModels have pytorch-grad-cam goldens: maps of PyTorch copies of the
// models (bench/torch/models.py, logits within 6e-6 of the SavedModels')
// made by pytorch-grad-cam 1.5.7 at the toolkit's default CAM layer for the
// golden images and top classes (bench/torch/peer_goldens.py; what each file
// holds: golden/peers/manifest.json).
var parityModels = []string{"fmnist_gap", "fmnist_resnet", "fmnist_vgg"}

// The CAM family agrees with pytorch-grad-cam where the definitions agree.
// Each map is compared after rescaling to [0,1] per image, as
// pytorch-grad-cam rescales its own: Pearson ≥ 0.9999 on every image, and
// at most 1e-3 apart. The raw maps (before pytorch-grad-cam's ReLU,
// rescaling and resize: Grad-CAM, HiResCAM, XGrad-CAM, Ablation-CAM,
// Eigen-CAM) are compared as they are with no_relu (Eigen-CAM: centred,
// pytorch-grad-cam's form), within 1e-4 of their largest value. Eigen-CAM's
// singular vector has no sign of its own, and pytorch-grad-cam keeps the one
// LAPACK returns and clips at 0: the toolkit's map with the peer's sign
// (found from the raw map) must give the peer's map; the images where the
// signs differ are counted (there the peer shows the opposite half).
// FullGrad is compared with pytorch-grad-cam's epsilon (1e-7); with the
// default exact rescaling its agreement is only logged.
func TestPytorchGradCAMParity(t *testing.T) {
	ctx := context.Background()
	type pair struct {
		method string         // the toolkit's method
		opts   map[string]any // its options for the default map
		raw    map[string]any // and for the raw one (nil: none)
	}
	peers := map[string]pair{
		"gradcam":     {"gradcam", nil, map[string]any{"no_relu": true}},
		"hirescam":    {"hirescam", nil, map[string]any{"no_relu": true}},
		"xgradcam":    {"xgradcam", nil, map[string]any{"no_relu": true}},
		"ablationcam": {"ablationcam", nil, map[string]any{"no_relu": true}},
		"eigencam":    {"eigencam", map[string]any{"center": true, "relu": true}, map[string]any{"center": true}},
		"fullgrad":    {"fullgrad", map[string]any{"epsilon": 1e-7}, nil},
	}
	for _, model := range parityModels {
		dir := filepath.Join(zooDir(model), "golden", "peers")
		if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
			t.Fatalf("%s: no pytorch-grad-cam goldens: %v", model, err)
		}
		fl, g := loadZoo(t, model)
		for _, peer := range []string{"gradcam", "hirescam", "xgradcam", "ablationcam", "eigencam", "fullgrad"} {
			p := peers[peer]
			t.Run(model+"/"+peer, func(t *testing.T) {
				run := func(opts map[string]any) *methods.Maps {
					m, err := methods.New(p.method, opts)
					if err != nil {
						t.Fatal(err)
					}
					out, err := m.Explain(ctx, fl, methods.Batch{X: g.Inputs}, methods.Target{Classes: g.Top})
					if err != nil {
						t.Fatal(err)
					}
					return out
				}
				want := readPeer(t, filepath.Join(dir, "pgc_"+peer+".npy"))
				got := run(p.opts).Map
				var flipped int
				if p.raw != nil {
					wantRaw := readPeer(t, filepath.Join(dir, "pgc_"+peer+"_raw.npy"))
					raw := run(p.raw).LowRes
					if peer == "eigencam" {
						// the peer's sign, image by image
						signed := raw.Clone()
						for i := range g.Top {
							if tensor.Pearson(raw.Item(i).Data, wantRaw.Item(i).Data) < 0 {
								flipped++
								item := signed.Item(i)
								for j := range item.Data {
									item.Data[j] = -item.Data[j]
								}
							}
						}
						raw = signed
						relu := signed.Clone()
						for j, v := range relu.Data {
							relu.Data[j] = max(v, 0)
						}
						up, err := tensor.Resize(relu, got.Shape[1], got.Shape[2])
						if err != nil {
							t.Fatal(err)
						}
						got = up
					}
					worst, d := agreement(raw, wantRaw, false)
					t.Logf("raw:  Pearson ≥ %.7f, max difference %.2g of the largest value", worst, d)
					if worst < 0.9999 || d > 1e-4 {
						t.Errorf("raw map differs from pytorch-grad-cam's: Pearson %.6f, max difference %.3g of the largest value", worst, d)
					}
				}
				switch peer {
				case "fullgrad":
					exact, d := agreement(run(nil).Map, want, true)
					t.Logf("map with epsilon 0 (the default): Pearson ≥ %.7f, max difference %.2g after rescaling to [0,1]", exact, d)
				case "eigencam":
					paper := run(nil).Map
					ps := make([]string, len(g.Top))
					for i := range ps {
						ps[i] = fmt.Sprintf("%.2f", tensor.Pearson(paper.Item(i).Data, want.Item(i).Data))
					}
					t.Logf("the paper's map (not centred, the sign of the mean activation; the default) against the peer's, image by image: Pearson %s", strings.Join(ps, " "))
				}
				worst, d := agreement(got, want, true)
				t.Logf("map:  Pearson ≥ %.7f, max difference %.2g after rescaling to [0,1]%s", worst, d, map[bool]string{true: "; " + itoa(flipped) + " of 8 images with the other sign", false: ""}[peer == "eigencam"])
				if worst < 0.9999 || d > 1e-3 {
					t.Errorf("map differs from pytorch-grad-cam's: Pearson %.6f, max difference %.3g of [0,1]", worst, d)
				}
			})
		}
	}
}

// readPeer reads a peer golden.
func readPeer(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	v, err := savedmodels.ReadNpy(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// agreement is the smallest Pearson correlation of the images of got and
// want ([N,...]) and their largest difference: after rescaling each image to
// [0,1] when rescale is set, else relative to want's largest magnitude.
func agreement(got, want *tensor.Tensor, rescale bool) (worst, most float64) {
	worst = 1
	scale := want.MaxAbs()
	for i := 0; i < want.Shape[0]; i++ {
		a, b := got.Item(i).Data, want.Item(i).Data
		worst = math.Min(worst, tensor.Pearson(a, b))
		if rescale {
			a, b = unit(a), unit(b)
		}
		for j := range a {
			d := math.Abs(float64(a[j]) - float64(b[j]))
			if !rescale {
				d /= float64(scale)
			}
			most = math.Max(most, d)
		}
	}
	return worst, most
}

// unit rescales v to [0,1] (a constant v to 0).
func unit(v []float32) []float32 {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	out := make([]float32, len(v))
	if hi > lo {
		for j, x := range v {
			out[j] = (x - lo) / (hi - lo)
		}
	}
	return out
}
