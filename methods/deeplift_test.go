//go:build cgo

package methods_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
)

// DeepLIFT's Rescale rule sums to S_c(I) − S_c(I′) (summation-to-delta,
// Shrikumar et al. 2017, eq. 1), through max pooling (Captum's rule),
// batch normalisation and residual sums, for black, blurred and uniform
// references; DeepSHAP to S_c(I) − mean_k S_c(I′_k).
func TestDeepLIFTSummationToDelta(t *testing.T) {
	for _, model := range []string{"fmnist_vgg", "fmnist_resnet", "fmnist_gap"} {
		fl, g := loadZoo(t, model)
		var ms []methods.Method
		for _, base := range []string{"black", "blurred", "uniform"} {
			m, err := methods.New("deeplift", map[string]any{"baseline": base})
			if err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		ms = append(ms, &methods.DeepSHAP{BaselineImages: g.Inputs})
		for _, m := range ms {
			out, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
			if err != nil {
				t.Fatalf("%s %s: %v", model, m.Name(), err)
			}
			for i, e := range out.Info["summation-error"] {
				if !(e <= 1e-4) {
					t.Errorf("%s %s image %d: summation-to-delta error %.3g (ΔS %.4g)", model, m.Name(), i, e, out.Info["score-delta"][i])
				}
			}
		}
	}
}

// Summation-to-delta holds through the linear ops the zoo lacks: image
// patches (ExtractImagePatches) and a pixel shuffle (SpaceToDepth,
// DepthToSpace) on patches_and_shuffle, the negation of a binary
// classifier's class 0 on binary_sigmoid, and a transposed convolution
// (Conv2DBackpropInput) on conv_transpose.
func TestDeepLIFTEdgeOps(t *testing.T) {
	for _, c := range []struct {
		model string
		class int
	}{{"patches_and_shuffle", -1}, {"binary_sigmoid", 0}, {"binary_sigmoid", 1}, {"conv_transpose", -1}} {
		fl, dir := loadEdge(t, c.model)
		x, err := savedmodels.ReadNpy(filepath.Join(dir, "golden", "inputs.npy"))
		if err != nil {
			t.Fatal(err)
		}
		tg := methods.Target{}
		if c.class >= 0 {
			tg.Classes = make([]int, x.Shape[0])
			for i := range tg.Classes {
				tg.Classes[i] = c.class
			}
		}
		m, err := methods.New("deeplift", map[string]any{"baseline": "blurred"})
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Explain(context.Background(), fl, methods.Batch{X: x}, tg)
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		worst := 0.0
		for i, e := range out.Info["summation-error"] {
			if !(e <= 1e-4) {
				t.Errorf("%s class %d image %d: summation-to-delta error %.3g (ΔS %.4g)", c.model, out.Classes[i], i, e, out.Info["score-delta"][i])
			}
			worst = max(worst, e)
		}
		t.Logf("%s: summation-to-delta error at most %.3g", c.model, worst)
	}
}
