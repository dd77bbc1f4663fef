//go:build cgo

package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
)

// AttnLRP's rules (Achtibat et al. 2024, "AttnLRP: attention-aware
// layer-wise relevance propagation for transformers", ICML), which
// LRP.Transformer adds to LRP's, in the notation of LRP's rules (R the
// relevance of an op's output z, ε = LRP.Stabilizer, sign(0) = 1):
//
//	linear layers (MatMul, BatchMatMul, Einsum with a weight operand): LRP's
//	    Dense rule (ε in the attnlrp composite), the bias merged
//	LayerNormalization, y = γ·(x − μ)/σ + β: 1/σ is held constant (the
//	    identity rule through the division) and the layer is a linear map of x
//	    under the ε rule: R_x = x ⊙ Jᵀ(R/(y + ε·sign y)), (Jᵀg)_j = c_j g_j −
//	    mean_i(c_i g_i) over the normalised axes, c = γ/σ
//	gelu (and any element-wise function): the identity rule, R_x = R_y
//	Softmax s = softmax(x) over the last axis: R_x = x ⊙ (R − s·Σ_j R_j)
//	    (the paper's Proposition 3.1, the Taylor decomposition at x with its
//	    bias term dropped: it does not conserve relevance)
//	products of two input-dependent tensors (Q·Kᵀ and A·V, as BatchMatMul,
//	    MatMul or Einsum): the uniform rule with ε, each operand half,
//	    R_a = ½·a ⊙ ∂z/∂aᵀ(R/(z + ε·sign z)), R_b likewise
//
// The scale of the attention scores (a Mul by a constant) passes relevance
// and residual sums share it by contribution, as in LRP. LayerNormalization
// and gelu are recognised as one op each (composite.go); a normalisation not
// of LayerNormalization's pattern is refused at its first product.

// addTransformerRules adds AttnLRP's rules for Softmax, LayerNorm and Gelu
// (products among the linear ops are lrpLinear's).
func (l LRP) addTransformerRules(rules map[string]Rule) {
	rules["Softmax"] = func(b *Builder, n *Node) []Sym { return b.lrpSoftmax(n) }
	rules["LayerNorm"] = func(b *Builder, n *Node) []Sym { return b.lrpLayerNorm(n, l.Stabilizer) }
	rules["Gelu"] = func(b *Builder, n *Node) []Sym { return one(n, n.Dy[0]) }
}

// lrpProduct is the uniform rule with ε for a product z of two
// input-dependent tensors a and b, bilinear in them: R_a = ½·a ⊙
// ∂z/∂aᵀ(R/(z + ε·sign z)), R_b likewise.
func (b *Builder) lrpProduct(n *Node, eps float64) []Sym {
	m := *n
	g := b.divide(n.Dy[0], n.Out[0], eps)
	m.Dy = []Sym{b.op1("Mul", nil, g, b.constLike(0.5, g))}
	dx := b.Plain(&m)
	out := make([]Sym, len(n.In))
	for i := range dx {
		if i < len(n.Need) && n.Need[i] && dx[i].Op != nil {
			out[i] = b.op1("Mul", nil, n.In[i], dx[i])
		}
	}
	return out
}

// lrpSoftmax is AttnLRP's Softmax rule: R_x = x ⊙ (R − s·Σ_j R_j) over the
// last axis, s the output; an infinite x (a mask of −∞) gets none.
func (b *Builder) lrpSoftmax(n *Node) []Sym {
	x, s, R := n.In[0], n.Out[0], n.Dy[0]
	sum := b.op1("Sum", map[string]any{"keep_dims": true}, R, b.constI32([]int32{-1}))
	finite := b.op1("IsFinite", nil, x)
	x0 := b.op1("SelectV2", nil, finite, x, b.op1("ZerosLike", nil, x))
	return one(n, b.op1("Mul", nil, x0, b.op1("Sub", nil, R, b.op1("Mul", nil, s, sum))))
}

// lrpLayerNorm is AttnLRP's rule for a LayerNorm composite y = c ⊙ (x − μ)
// + β, c = γ/σ held constant: the ε rule of that linear map, R_x = x ⊙
// (c ⊙ g − mean(c ⊙ g)), g = R/(y + ε·sign y), the mean over the axes of μ.
func (b *Builder) lrpLayerNorm(n *Node, eps float64) []Sym {
	c, ok := b.fl.composites[n.Name()]
	if !ok || len(c.aux) != 2 {
		b.Fail("LRP: node %s is not a LayerNorm composite", n.Name())
		return make([]Sym, len(n.In))
	}
	aux := make([]tf.Output, 2)
	for i, t := range c.aux {
		o, err := b.fl.tensor(t)
		if err != nil {
			b.Fail("LRP: %v", err)
			return make([]Sym, len(n.In))
		}
		aux[i] = o
	}
	inv, axes := aux[0], aux[1]
	x, y, R := n.In[0], n.Out[0], n.Dy[0]
	cg := b.op1("Mul", nil, b.castTo(inv, R.DataType()), b.divide(R, y, eps))
	mean := b.op1("Mean", map[string]any{"keep_dims": true}, cg, axes)
	return one(n, b.op1("Mul", nil, x, b.op1("Sub", nil, cg, mean)))
}
