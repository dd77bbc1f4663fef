//go:build cgo

package methods_test

import (
	"context"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
)

// Share does the model work of the single-pass methods of a batch in one
// session run per chunk: under its context they run the model no more, and
// give the maps of separate calls. Multi-pass methods run as before.
func TestShare(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vgg")
	names := []string{"gradient", "gradient-x-input", "guided-backprop", "deconvnet", "gradcam", "gradcam++", "layercam", "hirescam", "xgradcam", "eigencam", "guided-gradcam", "smoothgrad"}
	var ms []methods.Method
	for _, n := range names {
		opts := map[string]any(nil)
		if n == "smoothgrad" {
			opts = map[string]any{"samples": 4}
		}
		m, err := methods.New(n, opts)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	b := methods.Batch{X: g.Inputs}
	for _, tg := range []methods.Target{{}, {Classes: []int{1, 2, 3, 4, 5, 6, 7, 8}, Layer: "conv2_1"}} {
		ctx := context.Background()
		before := fl.Runs()
		sctx := methods.Share(ctx, fl, b, tg, ms)
		if runs := fl.Runs() - before; runs != 1 {
			t.Errorf("target %+v: Share made %d session runs, want 1", tg, runs)
		}
		for i, m := range ms {
			want, err := m.Explain(ctx, fl, b, tg)
			if err != nil {
				t.Fatal(err)
			}
			before := fl.Runs()
			got, err := m.Explain(sctx, fl, b, tg)
			if err != nil {
				t.Fatal(err)
			}
			runs := fl.Runs() - before
			if names[i] == "smoothgrad" {
				if runs == 0 {
					t.Error("smoothgrad took shared results")
				}
			} else if runs != 0 {
				t.Errorf("%s: %d session runs under Share, want 0", names[i], runs)
			}
			for _, pair := range [][2]*tensor.Tensor{{want.Map, got.Map}, {want.Raw, got.Raw}, {want.LowRes, got.LowRes}} {
				if (pair[0] == nil) != (pair[1] == nil) {
					t.Fatalf("%s: shared result lacks a tensor", names[i])
				}
				if pair[0] == nil {
					continue
				}
				if d, _ := tensor.MaxAbsDiff(pair[0], pair[1]); d > 1e-5*pair[0].MaxAbs() {
					t.Errorf("%s: shared map differs by %g", names[i], d)
				}
			}
			for j := range want.Classes {
				if want.Classes[j] != got.Classes[j] || want.Scores[j] != got.Scores[j] {
					t.Errorf("%s: image %d: class %d score %g, shared %d %g", names[i], j, want.Classes[j], want.Scores[j], got.Classes[j], got.Scores[j])
				}
			}
			if tg.Classes != nil && got.Classes[0] != 1 {
				t.Errorf("%s: class %d, want the target's 1", names[i], got.Classes[0])
			}
		}
		// Another batch (same values, other memory) and another target do
		// not take the shared results.
		other := methods.Batch{X: g.Inputs.Clone()}
		before = fl.Runs()
		if _, err := ms[0].Explain(sctx, fl, other, tg); err != nil {
			t.Fatal(err)
		}
		if _, err := ms[0].Explain(sctx, fl, b, methods.Target{Classes: []int{0, 0, 0, 0, 0, 0, 0, 0}}); err != nil {
			t.Fatal(err)
		}
		if runs := fl.Runs() - before; runs != 2 {
			t.Errorf("other batch and target: %d session runs, want 2", runs)
		}
	}
	// A layer that does not exist: the input signals are still shared, and
	// Grad-CAM reports the layer itself.
	bad := methods.Target{Layer: "no_such_layer"}
	sctx := methods.Share(context.Background(), fl, b, bad, ms)
	before := fl.Runs()
	if _, err := ms[0].Explain(sctx, fl, b, bad); err != nil || fl.Runs() != before {
		t.Errorf("gradient under a Share with a bad layer: %v, %d runs", err, fl.Runs()-before)
	}
	if _, err := ms[4].Explain(sctx, fl, b, bad); err == nil || !strings.Contains(err.Error(), "no_such_layer") {
		t.Errorf("gradcam on a missing layer: %v", err)
	}
}
