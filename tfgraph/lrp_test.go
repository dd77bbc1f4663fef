package tfgraph_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
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
	nb := viewWith(t, fl, zero)
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

// The rules' modified weights and biases (W⁺, W⁻, W + γW⁺, … with the
// batch normalisation merged) are derived once, not computed at every run,
// and follow replaced weights: on fmnist_resnet (batch norms, biases,
// residual sums) with every kernel, batch-norm scale and bias replaced,
// each composite's relevance equals the one computed at every run, whether
// its backward graph was built before the weights were replaced or by the
// first query under them; and no run computes a modified weight. (ε, the
// first layer's rules and γ on a dense layer included.)
//
// Under both ways of differentiating convolutions: ConvBackwardDerived
// flips the modified kernels, ConvBackwardExact feeds them to
// Conv2DBackpropInput.
func TestLRPDerivedWeightsFollowFedWeights(t *testing.T) {
	for _, cb := range []tfgraph.ConvBackward{tfgraph.ConvBackwardDerived, tfgraph.ConvBackwardExact} {
		t.Run(cb.String(), func(t *testing.T) { lrpDerivedWeightsFollowFedWeights(t, cb) })
	}
}

func lrpDerivedWeightsFollowFedWeights(t *testing.T, cb tfgraph.ConvBackward) {
	fl := loadFlatWith(t, "fmnist_resnet", tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1, ConvBackward: cb})
	g, err := savedmodels.ReadGolden(zooDir("fmnist_resnet"))
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]*tensor.Tensor{}
	for _, w := range fl.Weights {
		if !strings.Contains(w.Name, "/kernel") && !strings.Contains(w.Name, "/bias") && !strings.Contains(w.Name, "/gamma") &&
			!strings.Contains(w.Name, "/beta") && !strings.Contains(w.Name, "/moving_variance") {
			continue
		}
		v, err := fl.WeightValue(w.Name)
		if err != nil {
			t.Fatal(err)
		}
		v = v.Clone()
		for i := range v.Data {
			v.Data[i] *= 1 + 0.5*float32(math.Sin(float64(i)))
		}
		vals[w.Name] = v
	}
	if len(vals) < 20 {
		t.Fatalf("replaced %d weights", len(vals))
	}
	view := viewWith(t, fl, vals)
	eps := tfgraph.LRPRule{Kind: "epsilon", Epsilon: 1e-6}
	composites := []tfgraph.LRP{
		{Name: "epsilon-plus", Conv: tfgraph.LRPRule{Kind: "zplus"}, Dense: eps, Stabilizer: 1e-6},
		{Name: "epsilon-gamma-box", Conv: tfgraph.LRPRule{Kind: "gamma", Gamma: 0.25}, Dense: eps, Stabilizer: 1e-6,
			First: &tfgraph.LRPRule{Kind: "zbox", Low: []float32{0}, High: []float32{1}}},
		{Name: "epsilon-alpha2-beta1", Conv: tfgraph.LRPRule{Kind: "alpha-beta", Alpha: 2, Beta: 1}, Dense: eps, Stabilizer: 1e-6},
		{Name: "epsilon-plus-flat", Conv: tfgraph.LRPRule{Kind: "zplus"}, Dense: eps, Stabilizer: 1e-6,
			First: &tfgraph.LRPRule{Kind: "flat"}, FirstDense: true},
		{Name: "wsquare", Conv: tfgraph.LRPRule{Kind: "wsquare"}, Dense: tfgraph.LRPRule{Kind: "gamma", Gamma: 0.5}, Stabilizer: 1e-6},
	}
	for _, c := range composites {
		// every run: the modified weights computed in each run
		tfgraph.SetLRPDerived(false)
		perRun := c
		perRun.Name += "/per-run"
		want, err := view.Gradient(g.Inputs, g.Top, "", perRun.RuleSet())
		tfgraph.SetLRPDerived(true)
		if err != nil {
			t.Fatal(err)
		}
		// built under the frozen weights, then run under the replacements
		frozen, err := fl.Gradient(g.Inputs, g.Top, "", c.RuleSet())
		if err != nil {
			t.Fatal(err)
		}
		p := &tfgraph.Profile{}
		got, err := view.Profiled(p).Gradient(g.Inputs, g.Top, "", c.RuleSet())
		if err != nil {
			t.Fatal(err)
		}
		// built by the first query under the replacements
		first := c
		first.Name += "/first"
		got2, err := view.Profiled(p).Gradient(g.Inputs, g.Top, "", first.RuleSet())
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range []*tensor.Tensor{got, got2} {
			if d, _ := tensor.MaxAbsDiff(r, want); d > 1e-5*want.MaxAbs() || want.MaxAbs() == 0 {
				t.Errorf("%s (%d): derived weights under replaced weights differ from the per-run ones by %.3g (largest %.3g)", c.Name, i, d, want.MaxAbs())
			}
		}
		if d, _ := tensor.MaxAbsDiff(frozen, want); d < 1e-2*want.MaxAbs() {
			t.Errorf("%s: the replaced weights changed the relevance by only %.3g: the derived weights did not follow them", c.Name, d)
		}
		// Two runs: Relu and Minimum only on the first layer's input (x⁺
		// and x⁻ of the general forms), no kernel flipped.
		for _, o := range p.Ops() {
			if o.Backward && (o.Type == "Transpose" || o.Type == "ReverseV2" || (o.Type == "Relu" || o.Type == "Minimum") && o.Nodes > 2) {
				t.Errorf("%s: %d %s ops ran: the weights were modified in the runs", c.Name, o.Nodes, o.Type)
			}
		}
	}
}

// The general forms' fused convolutions (the parts of the input
// concatenated along the channels, the kernels stacked) give the relevance
// of the separate convolutions, on inputs with negative values (x⁻ ≠ 0)
// and with every layer in its general form.
func TestLRPFusedGeneralForms(t *testing.T) {
	for _, model := range []string{"fmnist_vgg", "fmnist_resnet"} {
		fl, g := loadFlat(t, model)
		x := g.Inputs.Clone()
		for i := range x.Data {
			x.Data[i] = 2*x.Data[i] - 1
		}
		eps := tfgraph.LRPRule{Kind: "epsilon", Epsilon: 1e-6}
		for _, l := range []tfgraph.LRP{
			{Conv: tfgraph.LRPRule{Kind: "zplus"}, Dense: eps},
			{Conv: tfgraph.LRPRule{Kind: "alpha-beta", Alpha: 2, Beta: 1}, Dense: eps},
			{Conv: tfgraph.LRPRule{Kind: "gamma", Gamma: 0.25}, Dense: eps},
			{Conv: tfgraph.LRPRule{Kind: "gamma", Gamma: 0.25}, Dense: eps, First: &tfgraph.LRPRule{Kind: "zbox", Low: []float32{-1}, High: []float32{1}}},
		} {
			l.Stabilizer = 1e-6
			rel := func(name string, fuse bool) *tensor.Tensor {
				tfgraph.SetLRPFast(false)
				tfgraph.SetLRPFuse(fuse)
				defer tfgraph.SetLRPFast(true)
				defer tfgraph.SetLRPFuse(true)
				l := l
				l.Name = name
				r, err := fl.Gradient(x, g.Top, "", l.RuleSet())
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			fused, separate := rel("fused", true), rel("separate", false)
			if d, _ := tensor.MaxAbsDiff(fused, separate); d > 1e-4*separate.MaxAbs() || separate.MaxAbs() == 0 {
				t.Errorf("%s %s first %v: fused convolutions differ by %.3g (largest %.3g)", model, l.Conv, l.First, d, separate.MaxAbs())
			}
		}
	}
}
