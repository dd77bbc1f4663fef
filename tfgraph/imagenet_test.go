//go:build imagenet

package tfgraph_test

// The ImageNet-shaped models of `make zoo-imagenet` are too big to commit and
// to build in every CI run; `make test-imagenet` builds them and runs this file
// (go test -tags imagenet).

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

var imagenetModels = []string{"vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0", "inception_v3"}

func TestImageNetShapedModels(t *testing.T) {
	for _, name := range imagenetModels {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(zooDir("imagenet"), name)
			m, err := tfgraph.Load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			g, err := savedmodels.ReadGolden(dir)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := m.Forward(g.Inputs)
			if err != nil {
				t.Fatal(err)
			}
			fl, err := m.Flat()
			if err != nil {
				t.Fatal(err)
			}
			flat, err := fl.Forward(g.Inputs)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := tensor.MaxAbsDiff(flat, sig)
			dg, _ := tensor.MaxAbsDiff(flat, g.Outputs)
			t.Logf("%d nodes, %d weights, %d layers; max |flat - signature| = %.3g, |flat - golden| = %.3g", fl.Nodes, len(fl.Weights), len(fl.Layers()), d, dg)
			if d > 1e-4 || dg > 1e-4 {
				t.Errorf("flat outputs differ: %g from the signature, %g from golden", d, dg)
			}
			logits, behind := fl.Logits()
			if !behind {
				t.Errorf("logits %s not found behind the softmax", logits)
			}
			got, err := fetch(fl, g.Inputs, logits)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := tensor.MaxAbsDiff(got[0], g.Logits); d > 1e-4*max(1, maxAbs(g.Logits)) {
				t.Errorf("logits differ from golden by %g", d)
			}
			for rs, missing := range fl.SupportedRules() {
				if len(missing) > 0 {
					t.Errorf("rule set %s: no rule for %v", rs, missing)
				}
			}
			plain, err := fl.Gradient(g.Inputs, g.Top, "", tfgraph.Plain)
			if err != nil {
				t.Fatal(err)
			}
			dt, _ := tensor.MaxAbsDiff(plain, g.GradInput)
			t.Logf("input gradient: |plain - GradientTape| = %.3g (%.3g rel)", dt, dt/maxAbs(g.GradInput))
			if dt > 1e-4*maxAbs(g.GradInput) {
				t.Errorf("plain differs from tf.GradientTape by %g", dt)
			}
			// TF_AddGradients has no C++ gradient for IdentityN, which swish's
			// custom gradient puts in EfficientNet: there tf.GradientTape above
			// is the only oracle.
			oracle, err := fl.OracleGradient(g.Inputs, g.Top)
			if name == "efficientnet_b0" && err != nil && strings.Contains(err.Error(), "No gradient defined for op: IdentityN") {
				t.Logf("AddGradients: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d, _ = tensor.MaxAbsDiff(plain, oracle)
			t.Logf("input gradient: |plain - AddGradients| = %.3g (%.3g rel)", d, d/maxAbs(oracle))
			if d > 1e-5*maxAbs(oracle) {
				t.Errorf("plain differs from AddGradients by %g", d)
			}
			mid := fl.Layers()[len(fl.Layers())/2]
			pl, err := fl.Gradient(g.Inputs, g.Top, mid.Output, tfgraph.Plain)
			if err != nil {
				t.Fatal(err)
			}
			ol, err := fl.OracleGradientAt(g.Inputs, g.Top, mid.Output)
			if err != nil {
				t.Fatal(err)
			}
			d, _ = tensor.MaxAbsDiff(pl, ol)
			t.Logf("layer %s: |plain - AddGradients| = %.3g (%.3g rel)", mid.Name, d, d/maxAbs(ol))
			if d > 1e-5*maxAbs(ol) {
				t.Errorf("layer %s: plain differs from AddGradients by %g", mid.Name, d)
			}
			for _, rs := range []*tfgraph.RuleSet{tfgraph.Guided, tfgraph.DeconvNet} {
				if _, err := fl.Gradient(g.Inputs, g.Top, "", rs); err != nil {
					t.Errorf("%s: %v", rs, err)
				}
			}
		})
	}
}
