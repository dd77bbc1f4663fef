package tfgraph_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// zeroRule is LRP-0 on every linear layer.
var zeroLRP = tfgraph.LRP{Conv: tfgraph.LRPRule{Kind: "zero"}, Dense: tfgraph.LRPRule{Kind: "zero"}, Stabilizer: 1e-6}

// On a ReLU network without biases LRP-0 is gradient × input (Montavon et
// al. 2019, §10.2) and conserves relevance exactly: fmnist_vgg (conv, ReLU,
// max pooling, dense) with every bias set to zero.
func TestLRPZeroIsGradientTimesInputWithoutBias(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	nb := zeroWeights(t, fl, 6, "/bias")
	rel, err := nb.Gradient(g.Inputs, g.Top, "", zeroLRP.RuleSet())
	if err != nil {
		t.Fatal(err)
	}
	grad, err := nb.Gradient(g.Inputs, g.Top, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := fetch(nb, g.Inputs, mustLogits(t, nb))
	if err != nil {
		t.Fatal(err)
	}
	k := logits[0].Shape[1]
	n := g.Inputs.Shape[0]
	per := len(rel.Data) / n
	for i := 0; i < n; i++ {
		var worst, scale, sum float64
		logit := float64(logits[0].Data[i*k+g.Top[i]])
		for j := i * per; j < (i+1)*per; j++ {
			gxi := float64(g.Inputs.Data[j] * grad.Data[j])
			worst = max(worst, math.Abs(float64(rel.Data[j])*logit-gxi))
			scale = max(scale, math.Abs(gxi))
			sum += float64(rel.Data[j])
		}
		// rel is the relevance of a one-hot seed: R/logit.
		if worst > 1e-5*scale {
			t.Errorf("image %d: LRP-0 differs from gradient × input by %.3g (largest %.3g)", i, worst, scale)
		}
		if math.Abs(sum*logit-logit) > 1e-4*math.Abs(logit) {
			t.Errorf("image %d: LRP-0 relevance sums to %.6g of the logit %.6g", i, sum*logit, logit)
		}
	}
	// LRP-ε loses Σ_k R_k·ε/(|z_k| + ε) at each layer, nothing without
	// biases as ε → 0: at Zennit's ε = 1e-6 the sum is the logit's within
	// 1e-4, at ε = 0.25 the loss shows.
	for _, c := range []struct {
		eps      float64
		lo, hi   float64
		moreThan bool
	}{{1e-6, 0, 1e-4, false}, {0.25, 1e-3, 1, true}} {
		r := tfgraph.LRPRule{Kind: "epsilon", Epsilon: c.eps}
		rel, err := nb.Gradient(g.Inputs, g.Top, "", tfgraph.LRP{Conv: r, Dense: r, Stabilizer: 1e-6}.RuleSet())
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := 0; i < n; i++ {
			var sum float64
			for _, v := range rel.Data[i*per : (i+1)*per] {
				sum += float64(v)
			}
			worst = max(worst, math.Abs(sum-1)) // the relevance of a one-hot seed sums to 1 when conserved
		}
		if worst < c.lo || worst > c.hi {
			t.Errorf("LRP-ε(%g) without biases: largest conservation error %.3g, want in [%g, %g]", c.eps, worst, c.lo, c.hi)
		}
		t.Logf("LRP-ε(%g) without biases: largest conservation error %.3g", c.eps, worst)
	}
}

// zeroWeights is a view of fl with every weight whose name contains one of
// parts set to zero; want is how many there must be.
func zeroWeights(t *testing.T, fl *tfgraph.Flat, want int, parts ...string) *tfgraph.Flat {
	t.Helper()
	zero := map[string]*tensor.Tensor{}
	for _, w := range fl.Weights {
		if slices.ContainsFunc(parts, func(p string) bool { return strings.Contains(w.Name, p) }) {
			shape := make([]int, len(w.Shape))
			for i, d := range w.Shape {
				shape[i] = int(d)
			}
			zero[w.Name] = tensor.New(shape...)
		}
	}
	if len(zero) != want {
		t.Fatalf("found %d weights named %v, want %d", len(zero), parts, want)
	}
	feed, err := fl.PrepareWeights(zero)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := fl.WithWeights(feed)
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

func mustLogits(t *testing.T, fl *tfgraph.Flat) string {
	l, _ := fl.Logits()
	return l
}

// The rules' shorter forms on a ReLU's output (one modified forward pass)
// give the general forms' relevance (four), on every model with batch
// normalisation, residual sums and max pooling.
func TestLRPShortFormsOnNonNegativeInputs(t *testing.T) {
	for _, model := range []string{"fmnist_vgg", "fmnist_resnet", "fmnist_gap"} {
		fl, g := loadFlat(t, model)
		for _, conv := range []tfgraph.LRPRule{{Kind: "zplus"}, {Kind: "alpha-beta", Alpha: 2, Beta: 1}, {Kind: "gamma", Gamma: 0.25}} {
			rel := func(name string, fast bool) *tensor.Tensor {
				tfgraph.SetLRPFast(fast)
				defer tfgraph.SetLRPFast(true)
				l := tfgraph.LRP{Name: name, Conv: conv, Dense: tfgraph.LRPRule{Kind: "epsilon", Epsilon: 1e-6}, Stabilizer: 1e-6}
				r, err := fl.Gradient(g.Inputs, g.Top, "", l.RuleSet())
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			fast, general := rel("fast", true), rel("general", false)
			if d, _ := tensor.MaxAbsDiff(fast, general); d > 1e-4*general.MaxAbs() {
				t.Errorf("%s %s: short forms differ by %.3g (largest %.3g)", model, conv, d, general.MaxAbs())
			}
		}
	}
}
