//go:build cgo

package methods_test

import (
	"context"
	"testing"

	"github.com/saliencykit/saliency/methods"
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
