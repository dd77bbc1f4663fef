//go:build cgo

package methods_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
)

// Every LRP composite and rule runs on the zoo's CNNs (batch normalisation
// merged, residual sums and global average pooling by the Norm rule), and
// reports Σ R and the conservation error it computes from Raw.
func TestLRPRunsOnZoo(t *testing.T) {
	for _, model := range []string{"fmnist_vgg", "fmnist_resnet", "fmnist_gap"} {
		fl, g := loadZoo(t, model)
		for _, opts := range []map[string]any{
			{}, {"composite": "epsilon-gamma-box"}, {"composite": "epsilon-alpha2-beta1"}, {"composite": "epsilon-plus-flat"},
			{"composite": "epsilon-alpha2-beta1-flat"}, {"rule": "epsilon", "epsilon": 0.25}, {"rule": "gamma"}, {"rule": "wsquare"},
			{"rule": "zero", "first": "zbox"}, {"composite": "attnlrp"},
		} {
			m, err := methods.New("lrp", opts)
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
			if err != nil {
				t.Fatalf("%s %v: %v", model, opts, err)
			}
			per := out.Raw.Len() / len(out.Scores)
			for i, s := range out.Scores {
				var sum float64
				for _, v := range out.Raw.Data[i*per : (i+1)*per] {
					sum += float64(v)
				}
				if math.IsNaN(sum) || math.Abs(sum-out.Info["relevance-sum"][i]) > 1e-6*math.Abs(sum) {
					t.Errorf("%s %v image %d: Σ R %g, Info says %g", model, opts, i, sum, out.Info["relevance-sum"][i])
				}
				if want := math.Abs(sum-float64(s)) / math.Abs(float64(s)); math.Abs(want-out.Info["conservation-error"][i]) > 1e-6 {
					t.Errorf("%s %v image %d: conservation error %g, want %g", model, opts, i, out.Info["conservation-error"][i], want)
				}
			}
		}
	}
}

// The flat rule on every layer ignores the input and passes all relevance
// (biases are dropped): on fmnist_vgg Σ R = S_c within the stabiliser's loss.
func TestLRPFlatConserves(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vgg")
	m, _ := methods.New("lrp", map[string]any{"rule": "flat"})
	out, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range out.Info["conservation-error"] {
		if e > 1e-5 {
			t.Errorf("image %d: conservation error %g", i, e)
		}
	}
}

// A transformer's LayerNormalization and attention are products of
// input-dependent tensors: every CNN composite and a rule on every layer
// refuse them by op and layer, as a NotApplicableError, instead of passing
// their gradient; the attnlrp composite explains the model (TestLRPAttnLRP).
func TestLRPRefusesProducts(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vit")
	var opts []map[string]any
	for _, c := range methods.LRPComposites {
		if c != "attnlrp" {
			opts = append(opts, map[string]any{"composite": c})
		}
	}
	opts = append(opts, map[string]any{"rule": "epsilon"})
	for _, o := range opts {
		m, err := methods.New("lrp", o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
		var na *methods.NotApplicableError
		if !errors.As(err, &na) || !strings.Contains(err.Error(), "op Mul") || !strings.Contains(err.Error(), "layer final_ln") || !strings.Contains(err.Error(), "attnlrp") {
			t.Errorf("%v: got %v, want a NotApplicableError naming op Mul of layer final_ln and composite attnlrp", o, err)
		}
	}
}

// The attnlrp composite explains fmnist_vit: ε on every linear layer and
// AttnLRP's rules for its LayerNormalizations, gelus, softmaxes and
// attention products; finite maps, and Info reports Σ R and the
// conservation error of each. The conservation error is large by design:
// AttnLRP's softmax rule drops its bias term, and the class token and the
// position embedding, parameters, keep their share; tfgraph's
// TestAttnLRPBudget accounts for each and bounds the rest (the biases').
// The maps' Pearson correlation with gradient × input and attention
// rollout (unsigned: also with |R|) is reported, not asserted.
func TestLRPAttnLRP(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vit")
	m, err := methods.New("lrp", map[string]any{"composite": "attnlrp"})
	if err != nil {
		t.Fatal(err)
	}
	rs := m.(methods.RuleUser).RuleSet()
	if want := "lrp(attnlrp:conv=epsilon(1e-06),dense=epsilon(1e-06),stabilizer=1e-06,transformer)"; rs.Name != want {
		t.Errorf("rule set %s, want %s", rs.Name, want)
	}
	ctx := context.Background()
	out, err := m.Explain(ctx, fl, methods.Batch{X: g.Inputs}, methods.Target{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Map.Finite() || !out.Raw.Finite() || out.Map.MaxAbs() == 0 {
		t.Fatalf("maps finite %v, largest %g", out.Map.Finite(), out.Map.MaxAbs())
	}
	others := map[string]*methods.Maps{}
	for _, name := range []string{"gradient-x-input", "attention-rollout"} {
		o, _ := methods.New(name, nil)
		if others[name], err = o.Explain(ctx, fl, methods.Batch{X: g.Inputs}, methods.Target{}); err != nil {
			t.Fatal(err)
		}
	}
	per := out.Raw.Len() / len(out.Scores)
	hw := out.Map.Len() / len(out.Scores)
	t.Log("image: S_c, Σ R, conservation error; Pearson with gradient × input, attention rollout, and of |R| with attention rollout")
	for i, s := range out.Scores {
		var sum float64
		for _, v := range out.Raw.Data[i*per : (i+1)*per] {
			sum += float64(v)
		}
		if want := math.Abs(sum-float64(s)) / math.Abs(float64(s)); math.Abs(sum-out.Info["relevance-sum"][i]) > 1e-6*math.Abs(sum) || math.Abs(want-out.Info["conservation-error"][i]) > 1e-6 {
			t.Errorf("image %d: Info says Σ R %g and error %g, Raw %g and %g", i, out.Info["relevance-sum"][i], out.Info["conservation-error"][i], sum, want)
		}
		mp := out.Map.Data[i*hw : (i+1)*hw]
		abs := make([]float32, len(mp))
		for j, v := range mp {
			abs[j] = float32(math.Abs(float64(v)))
		}
		roll := others["attention-rollout"].Map.Data[i*hw : (i+1)*hw]
		t.Logf("%d: %6.3f %6.3f %.3f; %6.3f %6.3f %6.3f", i, s, sum, out.Info["conservation-error"][i],
			tensor.Pearson(mp, others["gradient-x-input"].Map.Data[i*hw:(i+1)*hw]), tensor.Pearson(mp, roll), tensor.Pearson(abs, roll))
	}
}

func TestLRPOptions(t *testing.T) {
	for _, c := range []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"composite": "epsilon-plus", "rule": "zero"}, "not both"},
		{map[string]any{"composite": "plus"}, "unknown composite"},
		{map[string]any{"rule": "zbox"}, "unknown rule"},
		{map[string]any{"alpha": 3.0}, "alpha − beta must be 1"},
		{map[string]any{"epsilon": -1.0}, "≥ 0"},
	} {
		_, err := methods.New("lrp", c.opts)
		var oe *methods.OptionError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an OptionError with %q", c.opts, err, c.want)
		}
	}
}
