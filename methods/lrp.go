package methods

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// LRP is layer-wise relevance propagation (Bach et al. 2015), with the rules
// of Montavon et al. 2019 and Zennit's names (tfgraph.LRPRule): the logit
// S_c is the relevance of the output, and each layer passes its relevance
// to its inputs by a rule, so that a rule set (a composite) decides what the
// map shows. Convolutions and dense layers get the composite's rules, with
// batch normalisation merged into the layer before it; activations pass
// relevance on, residual sums and average pools share it by contribution,
// max pools pass it to the winner; an op with no rule (attention, a
// normalisation over features) is refused by name, except under attnlrp.
//
// Composites (Zennit's, with ε = Epsilon, γ = Gamma and the stabiliser, and
// AttnLRP's):
//
//	epsilon-plus              convolutions z⁺, dense ε
//	epsilon-gamma-box         convolutions γ, dense ε, the first convolution zᴮ on the input range
//	epsilon-alpha2-beta1      convolutions α2β1, dense ε
//	epsilon-plus-flat         as epsilon-plus, the first layer flat
//	epsilon-alpha2-beta1-flat as epsilon-alpha2-beta1, the first layer flat
//	attnlrp                   every linear layer ε, and a transformer's ops by AttnLRP's rules
//	                          (Achtibat et al. 2024; tfgraph.LRP.Transformer, ε = the stabiliser):
//	                          LayerNormalization with 1/σ held constant, gelu passed, Softmax
//	                          by x ⊙ (R − s·ΣR), Q·Kᵀ and A·V by the uniform rule (half each)
//
// Rule instead applies one rule to every convolution and dense layer; First
// overrides the rule of the layer nearest the input. The map is the sum of
// the relevance over channels (signed); Raw the relevance per channel.
// Info["relevance-sum"] is Σ R of each map and Info["conservation-error"]
// |Σ R − S_c|/|S_c|: zero for LRP-0 on a network without biases, the share
// biases and stabilisers absorb otherwise (under attnlrp also the softmax
// rule's bias term, a transformer's position embedding and class token).
type LRP struct {
	// Composite names the rule set (default epsilon-plus when Rule is
	// empty).
	Composite string `yaml:"composite"`
	// Rule, when set, is the one rule of every layer: zero, epsilon,
	// gamma, alpha-beta, zplus, wsquare or flat.
	Rule string `yaml:"rule"`
	// First, when set, is the rule of the layer nearest the input (any
	// rule, or zbox).
	First string `yaml:"first"`
	// Epsilon is ε of the epsilon rule (Zennit's default 1e-6).
	Epsilon *float64 `yaml:"epsilon"`
	// Gamma is γ of the gamma rule (default 0.25).
	Gamma *float64 `yaml:"gamma"`
	// Alpha and Beta are the alpha-beta rule's (default 2 and 1).
	Alpha *float64 `yaml:"alpha"`
	Beta  *float64 `yaml:"beta"`
	// Stabilizer is added to every other denominator (default 1e-6).
	Stabilizer *float64 `yaml:"stabilizer"`
	// Reduce is the channel reduction of the map (default sum).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*LRP)(nil)

func init() { Register("lrp", func() Method { return &LRP{} }) }

// Name is "lrp".
func (l *LRP) Name() string { return "lrp" }

// LRPComposites lists the composites of LRP.
var LRPComposites = []string{"epsilon-plus", "epsilon-gamma-box", "epsilon-alpha2-beta1", "epsilon-plus-flat", "epsilon-alpha2-beta1-flat", "attnlrp"}

// lrpRules are the rules LRP.Rule takes.
var lrpRules = []string{"zero", "epsilon", "gamma", "alpha-beta", "zplus", "wsquare", "flat"}

func orF(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// Validate checks the options.
func (l *LRP) Validate() error {
	bad := func(opt, format string, a ...any) error {
		return &OptionError{Method: l.Name(), Options: []string{opt}, Msg: fmt.Sprintf(format, a...)}
	}
	if l.Composite != "" && l.Rule != "" {
		return &OptionError{Method: l.Name(), Options: []string{"composite", "rule"}, Msg: "give composite or rule, not both"}
	}
	if l.Composite != "" && !slices.Contains(LRPComposites, l.Composite) {
		return bad("composite", "unknown composite %q (%s)", l.Composite, strings.Join(LRPComposites, ", "))
	}
	if l.Rule != "" && !slices.Contains(lrpRules, l.Rule) {
		return bad("rule", "unknown rule %q (%s; zbox only as first)", l.Rule, strings.Join(lrpRules, ", "))
	}
	if l.First != "" && l.First != "zbox" && !slices.Contains(lrpRules, l.First) {
		return bad("first", "unknown rule %q (%s, zbox)", l.First, strings.Join(lrpRules, ", "))
	}
	for _, o := range []struct {
		name string
		v    *float64
	}{{"epsilon", l.Epsilon}, {"gamma", l.Gamma}, {"alpha", l.Alpha}, {"beta", l.Beta}, {"stabilizer", l.Stabilizer}} {
		if o.v != nil && !(*o.v >= 0 && !math.IsInf(*o.v, 0)) {
			return bad(o.name, "option %s must be a finite number ≥ 0, not %g", o.name, *o.v)
		}
	}
	if a, b := orF(l.Alpha, 2), orF(l.Beta, 1); a-b != 1 {
		return &OptionError{Method: l.Name(), Options: []string{"alpha", "beta"}, Msg: fmt.Sprintf("alpha − beta must be 1 (conservation), not %g − %g", a, b)}
	}
	if err := validateReduction(l.Name(), l.Reduce); err != nil {
		return err
	}
	return l.Chunking.validate(l.Name())
}

// rule is the tfgraph rule called name with l's parameters.
func (l *LRP) rule(name string, b Batch) tfgraph.LRPRule {
	r := tfgraph.LRPRule{Kind: name, Epsilon: orF(l.Epsilon, 1e-6), Gamma: orF(l.Gamma, 0.25), Alpha: orF(l.Alpha, 2), Beta: orF(l.Beta, 1)}
	switch name {
	case "alpha2-beta1":
		r.Kind, r.Alpha, r.Beta = "alpha-beta", 2, 1
	case "zbox":
		r.Low, r.High = b.Black, b.White
		if r.Low == nil {
			r.Low, r.High = []float32{0}, []float32{1}
		}
	}
	return r
}

// Composition is the tfgraph.LRP of l's options for batch b (whose black and
// white values bound the input for zᴮ).
func (l *LRP) Composition(b Batch) tfgraph.LRP {
	c := tfgraph.LRP{Name: l.Composite, Stabilizer: orF(l.Stabilizer, 1e-6)}
	first := func(name string) {
		r := l.rule(name, b)
		c.First = &r
	}
	switch {
	case l.Rule != "":
		c.Conv, c.Dense = l.rule(l.Rule, b), l.rule(l.Rule, b)
	default:
		if c.Name == "" {
			c.Name = "epsilon-plus"
		}
		c.Dense = l.rule("epsilon", b)
		switch c.Name {
		case "epsilon-plus", "epsilon-plus-flat":
			c.Conv = l.rule("zplus", b)
		case "epsilon-gamma-box":
			c.Conv = l.rule("gamma", b)
			first("zbox")
		case "epsilon-alpha2-beta1", "epsilon-alpha2-beta1-flat":
			c.Conv = l.rule("alpha2-beta1", b)
		case "attnlrp":
			c.Conv, c.Transformer = l.rule("epsilon", b), true
		}
		if strings.HasSuffix(c.Name, "-flat") {
			first("flat")
			c.FirstDense = true
		}
	}
	if l.First != "" {
		first(l.First)
		c.FirstDense = l.First != "zbox"
	}
	return c
}

// RuleSet is the rule set of the composite with inputs in [0,1] (RuleUser).
func (l *LRP) RuleSet() *tfgraph.RuleSet { return l.Composition(Batch{}).RuleSet() }

// Explain computes the maps.
func (l *LRP) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	c := l.Composition(b)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("methods: %s: %w", l.Name(), err)
	}
	raw, classes, scores, err := inputSignal(ctx, l.Name(), m, &b, t, c.RuleSet(), l.Chunking)
	if err != nil {
		return nil, err
	}
	n := b.X.Shape[0]
	per := raw.Len() / n
	sums, errs := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		// The rule set's relevance starts at a one-hot seed: it is R/S_c.
		s := scores[i]
		var sum float64
		for j := i * per; j < (i+1)*per; j++ {
			raw.Data[j] *= s
			sum += float64(raw.Data[j])
		}
		sums[i] = sum
		errs[i] = math.Abs(sum-float64(s)) / math.Max(math.Abs(float64(s)), 1e-12)
	}
	mp, signed, err := reduce(raw, l.Reduce, tensor.Sum)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: l.Name(), Map: mp, Signed: signed, Raw: raw, Classes: classes, Scores: scores,
		Info: map[string][]float64{"relevance-sum": sums, "conservation-error": errs}}, nil
}
