//go:build cgo

package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
)

// DeepLIFT is the rule set of DeepLIFT's Rescale rule (Shrikumar et al.
// 2017) on a batch that holds the images in its first half and their
// references (baselines) in its second, as Captum's DeepLift runs it: every
// element-wise activation y = f(x) passes the signal times the multiplier
// Δy/Δx = (f(x) − f(x′))/(x − x′) instead of f′(x), and its derivative where
// |x − x′| < 1e-10; max pooling routes the difference from the reference
// through the maximum, Captum's rule (the pooled difference max(y, y′) − y′
// through the image's argmax plus y − max(y, y′) through the reference's,
// divided by x − x′). Linear ops (convolutions, dense layers, bias, batch
// normalisation, sums, average pooling, reshapes) keep their gradient, which
// is their multiplier. The rule set is strict: a product of two
// input-dependent tensors (attention, gating, swish), Softmax inside the
// network or any op not listed is refused by name. The input signal of the
// first half times (x − x′) is the attribution; seed both halves with the
// same one-hot, as Captum does (max pooling's rule sums to the difference of
// its outputs only when the halves' signals are equal).
var DeepLIFT = deepLIFTRules()

func deepLIFTRules() *RuleSet {
	rules := map[string]Rule{"MaxPool": deepLIFTMaxPool}
	plain := func(b *Builder, n *Node) []Sym { return b.Plain(n) }
	for _, op := range []string{"Conv2D", "DepthwiseConv2dNative", "MatMul", "BiasAdd", "FusedBatchNormV3", "FusedBatchNorm",
		"AddV2", "Add", "Sub", "AddN", "Mean", "Sum", "AvgPool", "Reshape", "Squeeze", "ExpandDims", "Identity", "Snapshot",
		"IdentityN", "ConcatV2", "Neg", "Pad", "PadV2", "StridedSlice", "Slice", "Transpose", "Cast",
		"SpaceToDepth", "DepthToSpace", "ExtractImagePatches", "Conv2DBackpropInput"} {
		rules[op] = plain
	}
	affine := func(b *Builder, n *Node) []Sym {
		if countTrue(n.Need) > 1 {
			b.refuse(n, "deeplift", "both inputs depend on the input: DeepLIFT's Rescale rule has no multiplier for a product or quotient of two input-dependent tensors (attention, gating, swish, gelu, LayerNormalization)")
			return make([]Sym, len(n.In))
		}
		return b.Plain(n)
	}
	rules["Mul"], rules["RealDiv"] = affine, affine
	for _, op := range []string{"Relu", "Relu6", "LeakyRelu", "Elu", "Selu", "Sigmoid", "Tanh", "Softplus", "Softsign"} {
		rules[op] = deepLIFTRescale
	}
	return &RuleSet{Name: "deeplift-rescale", Rules: rules, Strict: true, Paired: true}
}

// deepLIFTEps is Captum's threshold on |x − x′| below which the gradient
// replaces the multiplier.
const deepLIFTEps = 1e-10

// halves splits x along the batch into its first and second half.
func (b *Builder) halves(x Sym) (Sym, Sym) {
	if b.err != nil {
		return Sym{}, Sym{}
	}
	o, err := b.g.AddOperation(tf.OpSpec{Type: "Split", Name: b.name("Split"), Input: []tf.Input{b.scalarI32(0), x}, Attrs: map[string]any{"num_split": int64(2)}})
	if err != nil {
		b.err = err
		return Sym{}, Sym{}
	}
	return o.Output(0), o.Output(1)
}

// swapped is x with its halves swapped.
func (b *Builder) swapped(x Sym) Sym {
	h1, h2 := b.halves(x)
	return b.concat([]Sym{h2, h1}, b.scalarI32(0))
}

// deepLIFTRescale is the Rescale rule of an element-wise activation: the
// signal times (y − y′)/(x − x′), the same for both halves (both signs
// flip), or the activation's own derivative where |x − x′| < 1e-10.
func deepLIFTRescale(b *Builder, n *Node) []Sym {
	x, y := n.In[0], n.Out[0]
	dx := b.op1("Sub", nil, x, b.swapped(x))
	dy := b.op1("Sub", nil, y, b.swapped(y))
	grad := b.Plain(n)[0]
	rescaled := b.op1("Mul", nil, n.Dy[0], b.op1("DivNoNan", nil, dy, dx))
	small := b.op1("Less", nil, b.op1("Abs", nil, dx), b.constLike(deepLIFTEps, dx))
	out := make([]Sym, len(n.In))
	out[0] = b.op1("SelectV2", nil, small, grad, rescaled)
	return out
}

// deepLIFTMaxPool is Captum's DeepLIFT rule of max pooling.
func deepLIFTMaxPool(b *Builder, n *Node) []Sym {
	a := attrs(n.def, "ksize", "strides", "padding", "data_format", "explicit_paddings")
	x, x0 := b.halves(n.In[0])
	y, y0 := b.halves(n.Out[0])
	g1, g2 := b.halves(n.Dy[0])
	ymax := b.op1("Maximum", nil, y, y0)
	u := b.op1("AddV2", nil,
		b.op1("MaxPoolGrad", a, x, y, b.op1("Mul", nil, g1, b.op1("Sub", nil, ymax, y0))),
		b.op1("MaxPoolGrad", a, x0, y0, b.op1("Mul", nil, g2, b.op1("Sub", nil, y, ymax))))
	din := b.op1("Sub", nil, x, x0)
	p1, p2 := b.halves(b.Plain(n)[0])
	r := b.op1("DivNoNan", nil, u, din)
	small := b.op1("Less", nil, b.op1("Abs", nil, din), b.constLike(deepLIFTEps, din))
	out := make([]Sym, len(n.In))
	out[0] = b.concat([]Sym{b.op1("SelectV2", nil, small, p1, r), b.op1("SelectV2", nil, small, p2, r)}, b.scalarI32(0))
	return out
}
