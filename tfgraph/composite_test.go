package tfgraph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/saliencykit/saliency/tfgraph"
)

// Keras' LayerNormalization (12 ops) and gelu (5 ops, 8 in its tanh form)
// are recognised as one op each, LayerNorm and Gelu, but only by a rule set
// with a rule for them: every other rule set sees their ops one by one, as
// before (Guided leaves the gelus' Erf at its derivative).
func TestOptionalComposites(t *testing.T) {
	pass := func(b *tfgraph.Builder, n *tfgraph.Node) []tfgraph.Sym {
		out := make([]tfgraph.Sym, len(n.In))
		out[0] = n.Dy[0]
		return out
	}
	rs := &tfgraph.RuleSet{Name: "composites", Rules: map[string]tfgraph.Rule{"LayerNorm": pass, "Gelu": pass}}
	fl, _ := loadFlat(t, "fmnist_vit")
	changed, plain := fl.RuleCoverage(rs)
	want := map[string][]string{"final_ln": {"LayerNorm"}}
	for b := 1; b <= 4; b++ {
		want[fmt.Sprintf("block%d_ln1", b)] = []string{"LayerNorm"}
		want[fmt.Sprintf("block%d_ln2", b)] = []string{"LayerNorm"}
		want[fmt.Sprintf("block%d_mlp1", b)] = []string{"Gelu"}
	}
	if fmt.Sprint(changed) != fmt.Sprint(want) || len(plain) != 0 {
		t.Errorf("fmnist_vit: changed %v, plain %v; want changed %v", changed, plain, want)
	}
	_, plain = fl.RuleCoverage(tfgraph.Guided)
	for b := 1; b <= 4; b++ {
		if l := fmt.Sprintf("block%d_mlp1", b); !slices.Equal(plain[l], []string{"Erf"}) {
			t.Errorf("guided: layer %s has plain %v, want the gelu's Erf", l, plain[l])
		}
	}
	edge, _ := loadFlat(t, "edge/gelu_tanh")
	changed, plain = edge.RuleCoverage(rs)
	if fmt.Sprint(changed) != "map[gelu1:[Gelu] gelu2:[Gelu] gelu3:[Gelu]]" || len(plain) != 0 {
		t.Errorf("gelu_tanh: changed %v, plain %v", changed, plain)
	}
}
