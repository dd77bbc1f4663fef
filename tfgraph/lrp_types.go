package tfgraph

import (
	"fmt"
	"strconv"
	"strings"
)

// LRPRule is one rule of layer-wise relevance propagation for a linear
// layer (a convolution or a dense layer with its bias, batch normalisation
// merged in), in the notation of Montavon et al. 2019 ("Layer-wise Relevance
// Propagation: an overview") and with Zennit's definitions: with a_j the
// layer's inputs, w_jk its weights (ρ(w) a rule's modification of them),
// z_k = Σ_j a_j w_jk + b_k its outputs and R_k their relevance,
//
//	zero      R_j = Σ_k a_j w_jk R_k / z_k                       (LRP-0)
//	epsilon   R_j = Σ_k a_j w_jk R_k / (z_k + ε·sign(z_k))      (LRP-ε)
//	gamma     R_j = Σ_k a_j (w_jk + γw⁺_jk) R_k / Σ_j a_j(w_jk + γw⁺_jk), for z_k > 0; with γw⁻ for z_k < 0; negative a_j with the other sign (Zennit's generalised γ)
//	alpha-beta R_j = Σ_k (α a_j w⁺_jk / z⁺_k − β a_j w⁻_jk / z⁻_k) R_k (z⁺ pairs positive inputs with positive weights and negative with negative)
//	zplus     α = 1, β = 0
//	wsquare   R_j = Σ_k w²_jk R_k / Σ_j w²_jk                    (the input does not matter)
//	flat      R_j = Σ_k R_k / Σ_j 1                              (every weight 1)
//	zbox      R_j = Σ_k (a_j w_jk − l_j w⁺_jk − h_j w⁻_jk) R_k / Σ_j (…), inputs bounded by l ≤ a ≤ h
//
// Every rule but epsilon and zero stabilises its denominator d as Zennit
// does: d + Stabilizer·sign(d), sign(0) = 1. LRP-0 passes no relevance
// through a zero denominator. The modified biases follow Zennit: γ, α-β and
// z⁺ modify the bias like a weight on the positive-input terms and drop it
// on the negative-input terms, w² squares it, flat drops it, zᴮ's cancel.
type LRPRule struct {
	// Kind is "zero", "epsilon", "gamma", "alpha-beta", "zplus",
	// "wsquare", "flat" or "zbox".
	Kind string
	// Epsilon is ε of the epsilon rule.
	Epsilon float64
	// Gamma is γ of the gamma rule.
	Gamma float64
	// Alpha and Beta are α and β of the alpha-beta rule (α − β = 1).
	Alpha, Beta float64
	// Low and High bound the layer's input for zbox: one value, or one per
	// channel.
	Low, High []float32
}

// String names the rule with its parameters ("epsilon(1e-06)").
func (r LRPRule) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	fs := func(v []float32) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		return strings.Join(s, " ")
	}
	switch r.Kind {
	case "epsilon":
		return "epsilon(" + f(r.Epsilon) + ")"
	case "gamma":
		return "gamma(" + f(r.Gamma) + ")"
	case "alpha-beta":
		return "alpha-beta(" + f(r.Alpha) + "," + f(r.Beta) + ")"
	case "zbox":
		return "zbox(" + fs(r.Low) + ";" + fs(r.High) + ")"
	}
	return r.Kind
}

// Validate checks the rule's kind and parameters.
func (r LRPRule) Validate() error {
	switch r.Kind {
	case "zero", "zplus", "wsquare", "flat":
	case "epsilon":
		if !(r.Epsilon >= 0) {
			return fmt.Errorf("tfgraph: LRP rule epsilon: ε must be ≥ 0, not %g", r.Epsilon)
		}
	case "gamma":
		if !(r.Gamma >= 0) {
			return fmt.Errorf("tfgraph: LRP rule gamma: γ must be ≥ 0, not %g", r.Gamma)
		}
	case "alpha-beta":
		if !(r.Alpha >= 0 && r.Beta >= 0) || r.Alpha-r.Beta != 1 {
			return fmt.Errorf("tfgraph: LRP rule alpha-beta: α and β must be ≥ 0 with α − β = 1, not α = %g, β = %g", r.Alpha, r.Beta)
		}
	case "zbox":
		if len(r.Low) == 0 || len(r.Low) != len(r.High) {
			return fmt.Errorf("tfgraph: LRP rule zbox: low and high need one value or one per channel each (got %d and %d)", len(r.Low), len(r.High))
		}
		for i := range r.Low {
			if !(r.Low[i] <= r.High[i]) {
				return fmt.Errorf("tfgraph: LRP rule zbox: low %g above high %g", r.Low[i], r.High[i])
			}
		}
	default:
		return fmt.Errorf("tfgraph: unknown LRP rule %q (zero, epsilon, gamma, alpha-beta, zplus, wsquare, flat, zbox)", r.Kind)
	}
	return nil
}

// LRP assigns relevance-propagation rules by layer kind, as Zennit's
// composites do, and is turned into a rule set of the backward engine by
// RuleSet. Each linear op (Conv2D, DepthwiseConv2dNative, MatMul, and
// BatchMatMul or a two-operand Einsum with one operand that does not depend
// on the input, its weight) is one layer together with the affine ops that
// follow it alone (its bias add, also behind a Reshape as in Keras' Dense on
// a sequence and its attention projections, and an inference batch
// normalisation, as Mul/AddV2 or FusedBatchNormV3): the batch normalisation
// is merged into the layer's weights and bias before the rule modifies them
// (Zennit's SequentialMergeBatchNorm canonizer). The other ops: activations
// (Relu, Relu6, LeakyRelu, Elu, Selu, Sigmoid, Tanh, Softplus, Softsign) and
// affine ops with a parameter that follow no linear layer pass relevance
// unchanged (Zennit's Pass); sums of two input-dependent tensors (residual
// additions), average pooling and means (global average pooling) share it
// in proportion to the contributions (Zennit's Norm: x_i·R/(Σ x +
// stabiliser)); max pooling, concatenation and reshapes pass it as their
// gradient does. With Transformer set, the ops of a transformer get
// AttnLRP's rules (attnlrp.go). Any other op on the path is refused by
// name: products of two input-dependent tensors (attention, gating, swish),
// normalisations over features (LayerNormalization), Softmax inside the
// network, and with Transformer the ones outside the patterns it
// recognises.
type LRP struct {
	// Name names the composite ("epsilon-plus"; "" for a rule used on
	// every layer).
	Name string
	// Conv is the rule of convolutions, Dense that of dense layers.
	Conv, Dense LRPRule
	// First, when set, is the rule of the layer nearest the input (its
	// input is the model's), if that layer is a convolution or, with
	// FirstDense, a dense layer too.
	First      *LRPRule
	FirstDense bool
	// Stabilizer is the stabiliser of every denominator but the ε rule's
	// (Zennit's default 1e-6), AttnLRP's ε of LayerNormalization and of
	// products among them.
	Stabilizer float64
	// Transformer adds AttnLRP's rules (Achtibat et al. 2024) for the ops of
	// transformers: LayerNormalization, gelu, Softmax, and products of two
	// input-dependent tensors (attention's Q·Kᵀ and A·V); see attnlrp.go.
	Transformer bool
}

// Validate checks the rules.
func (l LRP) Validate() error {
	for _, r := range []*LRPRule{&l.Conv, &l.Dense, l.First} {
		if r == nil {
			continue
		}
		if err := r.Validate(); err != nil {
			return err
		}
	}
	if !(l.Stabilizer >= 0) {
		return fmt.Errorf("tfgraph: LRP stabilizer must be ≥ 0, not %g", l.Stabilizer)
	}
	return nil
}

// ruleSetName holds every parameter of l, so that two LRPs with equal
// parameters share their backward graphs.
func (l LRP) ruleSetName() string {
	name := fmt.Sprintf("lrp(%s:conv=%s,dense=%s", l.Name, l.Conv, l.Dense)
	if l.First != nil {
		name += fmt.Sprintf(",first=%s,first-dense=%v", *l.First, l.FirstDense)
	}
	name += fmt.Sprintf(",stabilizer=%g", l.Stabilizer)
	if l.Transformer {
		name += ",transformer"
	}
	return name + ")"
}
