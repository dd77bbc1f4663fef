//go:build cgo

package methods_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
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
			{"rule": "zero", "first": "zbox"},
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
// input-dependent tensors: LRP refuses them by op and layer, as a
// NotApplicableError, instead of passing their gradient.
func TestLRPRefusesProducts(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vit")
	m, _ := methods.New("lrp", nil)
	_, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
	var na *methods.NotApplicableError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "op Mul") || !strings.Contains(err.Error(), "layer final_ln") {
		t.Fatalf("got %v, want a NotApplicableError naming op Mul of layer final_ln", err)
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
