package tfgraph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The plain rule set agrees with TensorFlow's own AddGradients on the flat
// graph, with respect to the input and to a middle layer, and with the
// tf.GradientTape golden gradients.
func TestPlainRulesMatchOracle(t *testing.T) {
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			fl, g := loadFlat(t, name)
			got, err := fl.Gradient(g.Inputs, g.Top, "", tfgraph.Plain)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fl.OracleGradient(g.Inputs, g.Top)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := tensor.MaxAbsDiff(got, want)
			scale := maxAbs(want)
			t.Logf("input: max |plain - AddGradients| = %.3g (%.3g relative)", d, d/scale)
			if d > 1e-5*scale {
				t.Errorf("plain gradient differs from AddGradients by %g (max |oracle| %g)", d, scale)
			}
			dg, _ := tensor.MaxAbsDiff(got, g.GradInput)
			if dg > 1e-4*maxAbs(g.GradInput) {
				t.Errorf("plain gradient differs from tf.GradientTape by %g", dg)
			}
			// A middle layer: the first golden inner layer.
			card, err := savedmodels.ReadCard(zooDir(name))
			if err != nil {
				t.Fatal(err)
			}
			layer, err := fl.Layer(card.Golden.InnerLayers[0])
			if err != nil {
				t.Fatal(err)
			}
			gl, err := fl.Gradient(g.Inputs, g.Top, layer.Output, tfgraph.Plain)
			if err != nil {
				t.Fatal(err)
			}
			wl, err := fl.OracleGradientAt(g.Inputs, g.Top, layer.Output)
			if err != nil {
				t.Fatal(err)
			}
			d, _ = tensor.MaxAbsDiff(gl, wl)
			t.Logf("layer %s: max |plain - AddGradients| = %.3g (%.3g relative)", layer.Name, d, d/maxAbs(wl))
			if d > 1e-5*maxAbs(wl) {
				t.Errorf("layer %s: plain gradient differs from AddGradients by %g", layer.Name, d)
			}
		})
	}
}

func TestBackwardErrors(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	if _, err := fl.Backward("", "", &tfgraph.RuleSet{}); err == nil || !strings.Contains(err.Error(), "a rule set needs a name") {
		t.Errorf("rule set without a name: %v", err)
	}
	if _, err := fl.Gradient(g.Inputs, []int{1, 2}, "", tfgraph.Plain); err == nil {
		t.Error("2 classes for 8 images accepted")
	}
	if _, err := fl.Gradient(g.Inputs, make([]int, 8), "nope:0", tfgraph.Plain); err == nil {
		t.Error("unknown end tensor accepted")
	}
	for name, rs := range fl.SupportedRules() {
		if len(rs) > 0 {
			t.Errorf("rule set %s lacks rules for %v", name, rs)
		}
	}
	// The same backward graph is reused.
	b1, _ := fl.Backward("", "", tfgraph.Guided)
	b2, _ := fl.Backward("", "", tfgraph.Guided)
	if b1 != b2 {
		t.Error("backward graph built twice")
	}
}

// Guided Backprop and DeconvNet agree with the Python goldens computed with
// the standard ReLU gradient overrides (savedmodels/golden_rules.py).
func TestGuidedAndDeconvNetMatchGolden(t *testing.T) {
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			fl, g := loadFlat(t, name)
			for _, c := range []struct {
				rules *tfgraph.RuleSet
				want  *tensor.Tensor
			}{{tfgraph.Guided, g.Guided}, {tfgraph.DeconvNet, g.DeconvNet}} {
				if c.want == nil {
					t.Fatalf("no golden %s signal: run savedmodels/golden_rules.py", c.rules)
				}
				got, err := fl.Gradient(g.Inputs, g.Top, "", c.rules)
				if err != nil {
					t.Fatal(err)
				}
				d, _ := tensor.MaxAbsDiff(got, c.want)
				scale := maxAbs(c.want)
				t.Logf("%s: max |Go - Python| = %.3g (%.3g relative)", c.rules, d, d/scale)
				if d > 1e-4*scale {
					t.Errorf("%s differs from golden by %g (max |golden| %g)", c.rules, d, scale)
				}
				plain, _ := fl.Gradient(g.Inputs, g.Top, "", tfgraph.Plain)
				dp, _ := tensor.MaxAbsDiff(got, plain)
				if changed, _ := fl.RuleCoverage(c.rules); len(changed) == 0 {
					// No ReLU-family activation (the ViT's gelu): the rule
					// set must change nothing, as inspect warns.
					if dp != 0 {
						t.Errorf("%s changes no layer but differs from the plain gradient by %g", c.rules, dp)
					}
				} else if dp < 1e-3*scale {
					t.Errorf("%s equals the plain gradient (diff %g): the rule set had no effect", c.rules, dp)
				}
			}
		})
	}
}

// Guided and DeconvNet change the ReLU family; RuleCoverage names the layers.
func TestRuleCoverage(t *testing.T) {
	fl, _ := loadFlat(t, "fmnist_vgg")
	for _, rs := range []*tfgraph.RuleSet{tfgraph.Guided, tfgraph.DeconvNet} {
		changed, exact := fl.RuleCoverage(rs)
		for _, l := range []string{"conv1_1", "conv1_2", "conv2_1", "conv2_2", "fc1"} {
			if len(changed[l]) == 0 || changed[l][0] != "Relu" {
				t.Errorf("%s: layer %s not changed (%v)", rs.Name, l, changed)
			}
		}
		if len(changed) != 5 || len(exact) != 0 {
			t.Errorf("%s: changed %v, exact %v", rs.Name, changed, exact)
		}
	}
	if changed, _ := fl.RuleCoverage(tfgraph.Plain); len(changed) != 0 {
		t.Errorf("plain changes %v", changed)
	}
	// ReLUs written as max(x, 0) and as Keras 3's thresholded select are
	// left at the exact derivative, and said to be.
	w := edgeFlat(t, "written_relu")
	changed, exact := w.RuleCoverage(tfgraph.Guided)
	if fmt.Sprint(changed) != "map[relu:[Relu]]" || fmt.Sprint(exact) != "map[max_relu:[Maximum] thresholded:[SelectV2]]" {
		t.Errorf("written_relu: changed %v, exact %v; want relu changed, max_relu and thresholded exact", changed, exact)
	}
}
