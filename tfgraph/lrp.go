//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// RuleSet is the strict rule set of l. Its name holds every parameter, so
// two LRPs with equal parameters share their backward graphs. The relevance
// it gives from a one-hot seed is R/S_c of the relevance R that starts at
// the logit S_c (every rule is linear in the relevance it receives).
func (l LRP) RuleSet() *RuleSet {
	name := l.ruleSetName()
	lin := func(b *Builder, n *Node) []Sym { return b.lrpLinear(n, l) }
	pass := func(b *Builder, n *Node) []Sym { return b.lrpPass(n, l) }
	norm := func(b *Builder, n *Node) []Sym { return b.lrpNorm(n, l.Stabilizer) }
	plain := func(b *Builder, n *Node) []Sym { return b.Plain(n) }
	rules := map[string]Rule{
		"Conv2D": lin, "DepthwiseConv2dNative": lin, "MatMul": lin,
		"BatchMatMulV2": lin, "BatchMatMul": lin, "BatchMatMulV3": lin, "Einsum": lin,
		"BiasAdd": pass, "FusedBatchNormV3": pass, "FusedBatchNorm": pass,
		"Mul": pass, "RealDiv": pass, "AddV2": pass, "Add": pass, "Sub": pass,
		"AvgPool": norm, "Mean": norm,
		"MaxPool": plain, "Max": plain, "ConcatV2": plain, "Identity": plain, "Snapshot": plain, "IdentityN": plain,
		"Reshape": plain, "Squeeze": plain, "ExpandDims": plain, "Pad": plain, "PadV2": plain,
		"StridedSlice": plain, "Slice": plain, "Transpose": plain, "Cast": plain,
		"SpaceToDepth": plain, "DepthToSpace": plain, "ExtractImagePatches": plain,
	}
	// An activation, and a negation (the score −z of a binary classifier's
	// class 0, BinaryLogit), pass their one input's relevance whole.
	for _, op := range []string{"Relu", "Relu6", "LeakyRelu", "Elu", "Selu", "Sigmoid", "Tanh", "Softplus", "Softsign", "PReLU", "Neg"} {
		rules[op] = func(b *Builder, n *Node) []Sym { return one(n, n.Dy[0]) }
	}
	if l.Transformer {
		l.addTransformerRules(rules)
	}
	return &RuleSet{Name: name, Rules: rules, Strict: true}
}

// lrpGraph is what the LRP rules need to know of the flat graph: which
// nodes depend on the input, and each node's consumers.
type lrpGraph struct {
	dep       map[string]bool
	consumers map[string][]string
}

func (b *Builder) lrpGraph() *lrpGraph {
	if b.lrp != nil {
		return b.lrp
	}
	fl := b.fl
	g := &lrpGraph{dep: map[string]bool{nodeOf(fl.inputName()): true}, consumers: consumersOf(fl.order)}
	for _, n := range fl.order {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") && g.dep[nodeOf(in)] {
				g.dep[n.GetName()] = true
				break
			}
		}
	}
	b.lrp = g
	return g
}

// linearOps are the ops that start an LRP layer (when one operand is a
// weight).
var linearOps = []string{"Conv2D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2", "BatchMatMul", "BatchMatMulV3", "Einsum"}

// affineParam says whether node n is an affine op on one input-dependent
// tensor with parameters (a bias add, a batch normalisation's Mul/AddV2,
// FusedBatchNormV3), and which input is the tensor.
func (g *lrpGraph) affineParam(n *nodepb.NodeDef) (int, bool) {
	ins := n.GetInput()
	switch n.GetOp() {
	case "BiasAdd", "Mul", "AddV2", "Add", "Sub", "RealDiv":
		if len(ins) != 2 {
			return 0, false
		}
		d0, d1 := g.dep[nodeOf(ins[0])], g.dep[nodeOf(ins[1])]
		switch {
		case d0 && !d1:
			return 0, true
		case d1 && !d0 && n.GetOp() != "RealDiv" && n.GetOp() != "BiasAdd":
			return 1, true
		}
	case "FusedBatchNormV3", "FusedBatchNorm":
		if tr, _ := attr(n, "is_training"); tr == true {
			return 0, false
		}
		for _, in := range ins[1:] {
			if g.dep[nodeOf(in)] {
				return 0, false
			}
		}
		return 0, g.dep[nodeOf(ins[0])]
	}
	return 0, false
}

// lrpPass passes relevance through an affine op with parameters unchanged
// (to the input-dependent input, summed over broadcast axes); a sum of two
// input-dependent tensors gets the Norm rule instead.
func (b *Builder) lrpPass(n *Node, l LRP) []Sym {
	g := b.lrpGraph()
	k, ok := g.affineParam(n.def)
	if !ok {
		// A sum of two input-dependent tensors, even when only one lies
		// on the path to the end tensor (a residual sum of a layer
		// explained at the block's inside).
		ins := n.def.GetInput()
		if (n.Op() == "AddV2" || n.Op() == "Add") && len(ins) == 2 && g.dep[nodeOf(ins[0])] && g.dep[nodeOf(ins[1])] {
			return b.lrpNorm(n, l.Stabilizer)
		}
		why := fmt.Sprintf("%d of its inputs depend on the input: products and quotients of input-dependent tensors (attention, gating, swish, gelu), normalisations over features (LayerNormalization) and differences have no relevance rule; composite attnlrp has rules for a transformer's", countTrue(n.Need))
		if l.Transformer {
			why = fmt.Sprintf("%d of its inputs depend on the input, and it is not part of a pattern AttnLRP recognises (Keras' LayerNormalization, gelu, a matrix product): element-wise products and quotients of input-dependent tensors (gating, swish, another normalisation such as RMS normalisation) and differences have no relevance rule", countTrue(n.Need))
		}
		b.refuse(n, "lrp", why)
		return make([]Sym, len(n.In))
	}
	if l.Transformer && (n.Op() == "AddV2" || n.Op() == "Add" || n.Op() == "BiasAdd" || n.Op() == "Sub") && !g.folded(b.fl, n.def) {
		// A sum with a parameter that no linear layer merged (a
		// transformer's position embedding) shares relevance with it by
		// the ε rule, as a merged bias does: passed whole, the token's
		// relevance would reach the patch embedding, whose ε rule divides
		// it by the patch's own contribution, small where the position
		// embedding dominates.
		return b.lrpNorm(n, l.Stabilizer)
	}
	out := make([]Sym, len(n.In))
	if len(n.In) == 2 {
		out[k] = b.reduceTo(n.Dy[0], n.In[k], n.In[1-k], k == 0)
	} else {
		out[0] = n.Dy[0]
	}
	return out
}

// folded says whether affine op n follows a linear layer with a weight
// through ops that consume their input alone: Reshape, Identity and affine
// ops with parameters. Those are all the ops merge can fold into the layer
// (it stops at some of them), so an op not folded is certainly not merged.
func (g *lrpGraph) folded(fl *Flat, n *nodepb.NodeDef) bool {
	k, ok := g.affineParam(n)
	if !ok {
		return false
	}
	t := n.GetInput()[k]
	for depth := 0; depth < 64; depth++ {
		p := fl.nodes[nodeOf(t)]
		if p == nil || tensorIndex(t) != 0 || len(g.consumers[p.GetName()]) != 1 {
			return false
		}
		switch {
		case slices.Contains(linearOps, p.GetOp()):
			ins := p.GetInput()
			return len(ins) == 2 && g.dep[nodeOf(ins[0])] != g.dep[nodeOf(ins[1])]
		case p.GetOp() == "Reshape" || p.GetOp() == "Identity":
			t = p.GetInput()[0]
		default:
			k, ok := g.affineParam(p)
			if !ok {
				return false
			}
			t = p.GetInput()[k]
		}
	}
	return false
}

func countTrue(v []bool) int {
	c := 0
	for _, x := range v {
		if x {
			c++
		}
	}
	return c
}

// refuse records that the rule set has no rule for node n (a *NoRuleError
// that names it and says why).
func (b *Builder) refuse(n *Node, rules, why string) {
	if b.err == nil {
		b.err = &NoRuleError{Model: b.fl.model.Dir, Op: n.Op(), Node: n.Name(), Layer: b.fl.layerOf(n.Name()), Rules: rules, Why: why}
	}
}

// stabilize is d + s·sign(d), sign(0) = 1 (Zennit's stabilize); s = 0 gives
// d itself. It is computed as d + (d ≥ 0 ? s : −s), the same sums in three
// ops on the tensor instead of six.
func (b *Builder) stabilize(d Sym, s float64) Sym {
	if s == 0 {
		return d
	}
	ge := b.op1("GreaterEqual", nil, d, b.constLike(0, d))
	return b.op1("AddV2", nil, d, b.op1("SelectV2", nil, ge, b.constLike(s, d), b.constLike(-s, d)))
}

// where is r where cond holds and 0 elsewhere (a mask applied in two ops
// instead of three).
func (b *Builder) where(cond, r Sym) Sym {
	return b.op1("SelectV2", nil, cond, r, b.constLike(0, r))
}

// divide is r/stabilize(d, s); with s = 0, zero where d is zero.
func (b *Builder) divide(r, d Sym, s float64) Sym {
	if s == 0 {
		return b.op1("DivNoNan", nil, r, d)
	}
	return b.op1("RealDiv", nil, r, b.stabilize(d, s))
}

// lrpNorm is Zennit's Norm rule: R_i = x_i · ∂out/∂x_i · R/stabilize(out):
// relevance shared in proportion to each input's contribution (a sum's
// terms, a pool's window).
func (b *Builder) lrpNorm(n *Node, s float64) []Sym {
	m := *n
	m.Dy = []Sym{b.divide(n.Dy[0], n.Out[0], s)}
	dx := b.Plain(&m)
	out := make([]Sym, len(n.In))
	for i := range dx {
		if i < len(n.Need) && n.Need[i] && dx[i].Op != nil {
			out[i] = b.op1("Mul", nil, n.In[i], dx[i])
		}
	}
	return out
}

// lrpLayer is a linear op with the affine ops merged into it: out =
// lin(x, w)·scale + bias, scale over the output channels.
type lrpLayer struct {
	w, bias Sym // merged weight, merged bias (invalid: none)
	out     Sym // the forward output of the last merged op
	first   bool
	dense   bool
	// frozen says that w and bias depend on weights and constants only:
	// on the weights named in weights.
	frozen  bool
	weights []string
}

// merge follows linear op n, whose input xi is the layer's input and the
// other its weight, through the affine ops that consume it alone and folds
// them into its weight and bias. A bias behind a Reshape (Keras' Dense on a
// sequence: MatMul, Reshape, BiasAdd; its attention projections:
// BatchMatMulV2, Reshape to heads, AddV2) is reshaped to the op's output; a
// scale is folded only next to the op, and never into an Einsum's or a
// left operand's weight, whose output channels are not the last axis of
// the weight.
func (b *Builder) merge(n *Node, xi int) (lrpLayer, bool) {
	g := b.lrpGraph()
	fl := b.fl
	var scale, bias Sym // invalid: 1 and 0
	mul := func(a, s Sym) Sym {
		if a.Op == nil {
			return s
		}
		return b.op1("Mul", nil, a, s)
	}
	outChannels := func() int64 {
		s, err := n.Out[0].Shape().ToSlice()
		if err != nil || len(s) == 0 {
			return -1
		}
		return s[len(s)-1]
	}()
	// perChannel says whether a parameter scales output channels only.
	perChannel := func(p Sym) bool {
		s, err := p.Shape().ToSlice()
		if err != nil {
			return false
		}
		for i, d := range s {
			if d != 1 && !(i == len(s)-1 && d == outChannels && outChannels > 0) {
				return false
			}
		}
		return true
	}
	canScale := xi == 0 && n.Op() != "Einsum"
	reshaped := false
	// toOut is a tensor of the reshaped output's shape in the op's.
	toOut := func(t Sym) Sym { return b.op1("Reshape", nil, t, b.shape(n.Out[0])) }
	name, last := n.Name(), n.Out[0]
	params := []string{nodeOf(n.def.GetInput()[1-xi])} // the nodes w and bias are made of
	for {
		cs := g.consumers[name]
		if len(cs) != 1 {
			break
		}
		c := fl.nodes[cs[0]]
		if (c.GetOp() == "Reshape" || c.GetOp() == "Identity") && nodeOf(c.GetInput()[0]) == name && tensorIndex(c.GetInput()[0]) == 0 {
			reshaped, name = true, c.GetName()
			continue
		}
		k, ok := g.affineParam(c)
		if !ok || nodeOf(c.GetInput()[k]) != name || tensorIndex(c.GetInput()[k]) != 0 {
			break
		}
		if reshaped && (c.GetOp() != "BiasAdd" && c.GetOp() != "AddV2" && c.GetOp() != "Add" && (c.GetOp() != "Sub" || k != 0)) {
			break
		}
		if f, _ := attr(c, "data_format"); reshaped && f != nil && f != "NHWC" {
			break
		}
		if !canScale && (c.GetOp() == "Mul" || c.GetOp() == "RealDiv" || c.GetOp() == "FusedBatchNormV3" || c.GetOp() == "FusedBatchNorm" || (c.GetOp() == "Sub" && k == 1)) {
			break
		}
		if !sameShape(fl, c.GetName(), c.GetInput()[k]) {
			break // the parameter broadcasts the tensor to a larger shape
		}
		in := func(i int) Sym {
			t, err := fl.tensor(canonical(c.GetInput()[i]))
			if err != nil {
				b.Fail("LRP: %v", err)
			}
			params = append(params, nodeOf(c.GetInput()[i]))
			return t
		}
		var ns, nb Sym
		// param is the parameter, in the shape of the op's output when
		// a Reshape lies between.
		param := func() Sym {
			p := in(1 - k)
			if reshaped {
				p = toOut(b.op1("AddV2", nil, b.op1("ZerosLike", nil, in(k)), p))
			}
			return p
		}
		switch c.GetOp() {
		case "BiasAdd", "AddV2", "Add":
			ns, nb = scale, param()
			if bias.Op != nil {
				nb = b.op1("AddV2", nil, bias, nb)
			}
		case "Sub":
			p := param()
			if k == 0 {
				ns, nb = scale, b.op1("Neg", nil, p)
				if bias.Op != nil {
					nb = b.op1("Sub", nil, bias, p)
				}
			} else {
				ns, nb = b.op1("Neg", nil, orOne(b, scale, p)), p
				if bias.Op != nil {
					nb = b.op1("Sub", nil, p, bias)
				}
			}
		case "Mul", "RealDiv":
			p := in(1 - k)
			if !perChannel(p) {
				break
			}
			if c.GetOp() == "RealDiv" {
				p = b.op1("Reciprocal", nil, p)
			}
			ns = mul(scale, p)
			if bias.Op != nil {
				nb = b.op1("Mul", nil, bias, p)
			}
		case "FusedBatchNormV3", "FusedBatchNorm":
			eps, _ := attr(c, "epsilon")
			e, _ := eps.(float32)
			if f, _ := attr(c, "data_format"); f != nil && f != "NHWC" {
				break
			}
			s := b.op1("Mul", nil, in(1), b.op1("Rsqrt", nil, b.op1("AddV2", nil, in(4), b.constLike(float64(e), in(4)))))
			ns = mul(scale, s)
			nb = b.op1("Sub", nil, in(2), b.op1("Mul", nil, in(3), s))
			if bias.Op != nil {
				nb = b.op1("AddV2", nil, b.op1("Mul", nil, bias, s), nb)
			}
		}
		if ns.Op == nil && nb.Op == nil {
			break
		}
		scale, bias = ns, nb
		out, err := fl.tensor(c.GetName())
		if err != nil {
			b.Fail("LRP: %v", err)
			break
		}
		if reshaped {
			out = toOut(out)
		}
		last, name = out, c.GetName()
	}
	w := n.In[1-xi]
	if scale.Op != nil {
		switch n.Op() {
		case "MatMul", "BatchMatMulV2", "BatchMatMul", "BatchMatMulV3":
			tb, _ := attr(n.def, "transpose_b")
			ay, _ := attr(n.def, "adj_y")
			if tb == true || ay == true {
				scale = b.op1("Reshape", nil, scale, b.constI32([]int32{-1, 1}))
			} else {
				scale = b.op1("Reshape", nil, scale, b.constI32([]int32{1, -1}))
			}
		case "DepthwiseConv2dNative":
			k, err := w.Shape().ToSlice()
			if err != nil || len(k) != 4 {
				b.Fail("LRP: depthwise kernel of unknown shape (node %s)", n.Name())
				return lrpLayer{}, false
			}
			scale = b.op1("Reshape", nil, scale, b.constI32([]int32{1, 1, int32(k[2]), int32(k[3])}))
		default:
			scale = b.op1("Reshape", nil, scale, b.constI32([]int32{-1}))
		}
		w = b.op1("Mul", nil, w, scale)
	}
	dense := n.Op() != "Conv2D" && n.Op() != "DepthwiseConv2dNative"
	weights, frozen := fl.weightsBehind(params, g.dep)
	return lrpLayer{w: w, bias: bias, out: last, first: b.lrpFirst(n.Name(), xi), dense: dense, frozen: frozen, weights: weights}, b.err == nil
}

// sameShape says whether the static shapes of tensors a and b may be equal
// (unknown dimensions match anything).
func sameShape(fl *Flat, a, b string) bool {
	ta, errA := fl.tensor(a)
	tb, errB := fl.tensor(b)
	if errA != nil || errB != nil {
		return false
	}
	sa, errA := ta.Shape().ToSlice()
	sb, errB := tb.Shape().ToSlice()
	if errA != nil || errB != nil {
		return true // unknown rank
	}
	if len(sa) != len(sb) {
		return false
	}
	for i := range sa {
		if sa[i] >= 0 && sb[i] >= 0 && sa[i] != sb[i] {
			return false
		}
	}
	return true
}

func orOne(b *Builder, s, like Sym) Sym {
	if s.Op == nil {
		return b.constLike(1, like)
	}
	return s
}

// lrpFirst says whether linear op node, whose input xi is the layer's, is
// the layer nearest the input: no linear op lies between the input and it.
func (b *Builder) lrpFirst(node string, xi int) bool {
	g, fl := b.lrpGraph(), b.fl
	seen := map[string]bool{}
	stack := []string{nodeOf(fl.nodes[node].GetInput()[xi])}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[x] || !g.dep[x] {
			continue
		}
		seen[x] = true
		n := fl.nodes[x]
		if slices.Contains(linearOps, n.GetOp()) {
			return false
		}
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				stack = append(stack, nodeOf(in))
			}
		}
	}
	return true
}

// lrpLinear applies l's rule for the layer that linear op n starts; a
// product of two input-dependent tensors gets AttnLRP's uniform rule when l
// has Transformer, and is refused otherwise.
func (b *Builder) lrpLinear(n *Node, l LRP) []Sym {
	if len(n.In) != 2 {
		b.refuse(n, "lrp", fmt.Sprintf("it has %d operands; LRP's linear layers have an input and a weight", len(n.In)))
		return make([]Sym, len(n.In))
	}
	g := b.lrpGraph()
	ins := n.def.GetInput()
	dep0, dep1 := g.dep[nodeOf(ins[0])], g.dep[nodeOf(ins[1])]
	conv := n.Op() == "Conv2D" || n.Op() == "DepthwiseConv2dNative"
	xi := 0
	switch {
	case dep1 && conv:
		b.refuse(n, "lrp", "its filter depends on the input")
		return make([]Sym, len(n.In))
	case dep0 && dep1 && l.Transformer:
		return b.lrpProduct(n, l.Stabilizer)
	case dep0 && dep1:
		b.refuse(n, "lrp", "both of its operands depend on the input (a product such as attention's Q·Kᵀ and A·V): composite attnlrp has the uniform rule for a transformer's matrix products")
		return make([]Sym, len(n.In))
	case dep1:
		xi = 1
	}
	ly, ok := b.merge(n, xi)
	if !ok {
		return make([]Sym, len(n.In))
	}
	r := l.Conv
	if ly.dense {
		r = l.Dense
	}
	if ly.first && l.First != nil && (!ly.dense || l.FirstDense) {
		r = *l.First
	}
	x, R := n.In[xi], n.Dy[0]
	s := l.Stabilizer
	// lin is the layer's linear op on input xm with weight w (no bias);
	// back its transposed Jacobian applied to g.
	a := attrs(n.def, "strides", "padding", "data_format", "dilations", "explicit_paddings", "transpose_a", "transpose_b", "adj_x", "adj_y")
	operands := func(xm, w Sym) (Sym, Sym) {
		if xi == 1 {
			return w, xm
		}
		return xm, w
	}
	lin := func(xm, w Sym) Sym {
		p, q := operands(xm, w)
		if n.Op() == "Einsum" {
			return b.op("Einsum", []tf.Input{tf.OutputList{p, q}}, attrs(n.def, "equation"))
		}
		return b.op1(n.Op(), a, p, q)
	}
	back := func(w, g Sym) Sym {
		p, q := operands(x, w)
		need := []bool{xi == 0, xi == 1}
		m := Node{def: n.def, In: []Sym{p, q}, Out: n.Out, Dy: []Sym{g}, Need: need}
		return b.Plain(&m)[xi]
	}
	add := func(z, bias Sym) Sym {
		if bias.Op == nil {
			return z
		}
		return b.op1("AddV2", nil, z, bias)
	}
	mul := func(x, y Sym) Sym { return b.op1("Mul", nil, x, y) }
	sum := func(xs ...Sym) Sym {
		out := xs[0]
		for _, x := range xs[1:] {
			out = b.op1("AddV2", nil, out, x)
		}
		return out
	}
	pos := func(v Sym) Sym { return b.op1("Relu", nil, v) }
	neg := func(v Sym) Sym { return b.op1("Minimum", nil, v, b.constLike(0, v)) }
	// sub is a − b, with an invalid b read as zero.
	sub := func(a, c Sym) Sym {
		if c.Op == nil {
			return a
		}
		return b.op1("Sub", nil, a, c)
	}
	// W and B are the layer's weight and bias (invalid: none) modified by
	// f, named key: values of the weights alone, derived once (held in a
	// variable, computed again per WeightFeed) rather than computed at
	// every run, as are their flipped kernels (flippedKernel).
	frozen := func(key string, build func() Sym) Sym {
		if !ly.frozen || !lrpDerived {
			return build()
		}
		return b.derivedExpr(n.Name()+"#lrp:"+key, ly.weights, build)
	}
	W := func(key string, f func(Sym) Sym) Sym {
		if key == "w" && ly.w == n.In[1-xi] {
			return ly.w // the kernel itself
		}
		return frozen(key, func() Sym { return f(ly.w) })
	}
	B := func(key string, f func(Sym) Sym) Sym {
		if ly.bias.Op == nil {
			return Sym{}
		}
		return frozen(key, func() Sym { return f(ly.bias) })
	}
	id := func(v Sym) Sym { return v }
	// The general forms of a Conv2D (NHWC) are fused: the convolutions of
	// the parts of the input (x⁺ and x⁻; x, l and h for zᴮ) run as one
	// convolution of the parts concatenated along the channels, with the
	// kernels stacked along their input channels (and, for the two sums of
	// γ and α-β, their output channels), and the backward convolutions as
	// one too: the same sums, one forward and one backward convolution per
	// layer instead of up to four of each. The first layer reads the image
	// (3 channels), where a convolution of 6 or 9 channels costs about what
	// one of 3 does (ResNet50's 7×7 stride-2 backward convolution to 3
	// channels: 65 ms at batch 8, each).
	format, _ := attr(n.def, "data_format")
	fuse := lrpFuse && n.Op() == "Conv2D" && (format == nil || format == "NHWC")
	cat := func(axis int32, xs ...Sym) Sym { return b.concat(xs, b.scalarI32(axis)) }
	// stack is the derived kernel of the kernels f(W) stacked along the
	// input channels (HWIO axis 2), one row of them per block of output
	// channels (axis 3).
	stack := func(key string, rows ...[]func(Sym) Sym) Sym {
		return frozen(key, func() Sym {
			blocks := make([]Sym, len(rows))
			for i, row := range rows {
				parts := make([]Sym, len(row))
				for j, f := range row {
					parts[j] = f(ly.w)
				}
				blocks[i] = cat(2, parts...)
			}
			if len(blocks) == 1 {
				return blocks[0]
			}
			return cat(3, blocks...)
		})
	}
	// backCat is the backward convolution of kernel w (stacked) for input
	// xx (concatenated), and parts splits a tensor along the channels.
	backCat := func(w, g, xx Sym) Sym {
		m := Node{def: n.def, In: []Sym{xx, w}, Out: n.Out, Dy: []Sym{g}, Need: []bool{true, false}}
		return b.Plain(&m)[0]
	}
	parts := func(v Sym, k int) []Sym {
		sp := b.op1("Split", map[string]any{"num_split": int64(k)}, b.scalarI32(3), v)
		out := make([]Sym, k)
		for i := range out {
			out[i] = sp.Op.Output(i)
		}
		return out
	}
	// relOf is Σ_parts xx·gg: the relevance of the input from the
	// concatenated input and its backward signal.
	relOf := func(xx, gg Sym, k int) Sym { return sum(parts(mul(xx, gg), k)...) }
	var rel Sym
	nonNeg := lrpFast && b.nonNegative(n.def.GetInput()[xi])
	switch {
	case nonNeg && (r.Kind == "zplus" || r.Kind == "alpha-beta"):
		// With x ≥ 0 (a ReLU's output) the negative-input terms vanish:
		// one modified forward pass for z⁺ and two for α-β instead of two
		// and four.
		alpha, beta := r.Alpha, r.Beta
		if r.Kind == "zplus" {
			alpha, beta = 1, 0
		}
		wp := W("w+", pos)
		p := lin(x, wp)
		// z⁺ = x·W⁺ + b⁺ ≥ 0: its stabiliser is +s everywhere (sign(0) =
		// 1), added with the bias in one op.
		g1 := b.divide(R, add(p, B("b+", pos)), 0)
		if s != 0 {
			g1 = b.op1("RealDiv", nil, R, b.addNonNeg(p, B("b+", pos), s))
		}
		if beta == 0 {
			rel = mul(x, back(wp, g1))
			break
		}
		// x·W⁻ is computed, not taken as (out − b) − x·W⁺: near a zero
		// denominator the difference loses the digits that matter.
		// The same holds of the backward passes: where z⁻ is near zero, g2
		// is large, and back(W⁻, g2) taken as back(W, g2) − back(W⁺, g2)
		// would cancel.
		wn := W("w-", neg)
		zn := add(lin(x, wn), B("b-", neg))
		g2 := b.divide(R, zn, s)
		rel = mul(x, b.op1("Sub", nil, mul(b.constLike(alpha, R), back(wp, g1)), mul(b.constLike(beta, R), back(wn, g2))))
	case nonNeg && r.Kind == "gamma":
		// With x ≥ 0: z⁺ = out + γ(x·W⁺ + b⁺), z⁻ = out + γ((out − b) − x·W⁺ + b⁻),
		// and back(W + γW⁺, g1) + back(W + γW⁻, g2) =
		// back(W, g1 + (1+γ)g2) + γ·back(W⁺, g1 − g2).
		gm := b.constLike(r.Gamma, R)
		wp := W("w+", pos)
		p := lin(x, wp)
		zp := sum(ly.out, mul(gm, add(p, B("b+", pos))))
		zn := sum(ly.out, mul(gm, add(sub(sub(ly.out, ly.bias), p), B("b-", neg))))
		zero := b.constLike(0, ly.out)
		g1 := b.divide(b.where(b.op1("Greater", nil, ly.out, zero), R), zp, s)
		g2 := b.divide(b.where(b.op1("Less", nil, ly.out, zero), R), zn, s)
		both := sum(g1, mul(b.constLike(1+r.Gamma, R), g2))
		rel = mul(x, sum(back(W("w", id), both), mul(gm, back(wp, b.op1("Sub", nil, g1, g2)))))
	}
	switch {
	case rel.Op != nil:
	case r.Kind == "zero" || r.Kind == "epsilon":
		eps := r.Epsilon
		if r.Kind == "zero" {
			eps = 0
		}
		rel = mul(x, back(W("w", id), b.divide(R, ly.out, eps)))
	case r.Kind == "gamma" && fuse:
		gp := func(v Sym) Sym { return b.op1("AddV2", nil, v, mul(pos(v), b.constLike(r.Gamma, v))) }
		gn := func(v Sym) Sym { return b.op1("AddV2", nil, v, mul(neg(v), b.constLike(r.Gamma, v))) }
		gkey := fmt.Sprintf("(%g)", r.Gamma)
		// [z⁺ z⁻] = [x⁺ x⁻]·[[W+γW⁺, W+γW⁻], [W+γW⁻, W+γW⁺]]
		wbig := stack("stack:gamma"+gkey, []func(Sym) Sym{gp, gn}, []func(Sym) Sym{gn, gp})
		xx := cat(3, pos(x), neg(x))
		zz := parts(lin(xx, wbig), 2)
		zp, zn := add(zz[0], B("b+gamma"+gkey, gp)), add(zz[1], B("b-gamma"+gkey, gn))
		zero := b.constLike(0, ly.out)
		g1 := b.divide(b.where(b.op1("Greater", nil, ly.out, zero), R), zp, s)
		g2 := b.divide(b.where(b.op1("Less", nil, ly.out, zero), R), zn, s)
		rel = relOf(xx, backCat(wbig, cat(3, g1, g2), xx), 2)
	case r.Kind == "gamma":
		gp := func(v Sym) Sym { return b.op1("AddV2", nil, v, mul(pos(v), b.constLike(r.Gamma, v))) }
		gn := func(v Sym) Sym { return b.op1("AddV2", nil, v, mul(neg(v), b.constLike(r.Gamma, v))) }
		gkey := fmt.Sprintf("(%g)", r.Gamma)
		wa, wb := W("w+gamma"+gkey, gp), W("w-gamma"+gkey, gn)
		xp, xn := pos(x), neg(x)
		zp := sum(add(lin(xp, wa), B("b+gamma"+gkey, gp)), lin(xn, wb))
		zn := sum(add(lin(xp, wb), B("b-gamma"+gkey, gn)), lin(xn, wa))
		zero := b.constLike(0, ly.out)
		g1 := b.divide(b.where(b.op1("Greater", nil, ly.out, zero), R), zp, s)
		g2 := b.divide(b.where(b.op1("Less", nil, ly.out, zero), R), zn, s)
		rel = sum(mul(xp, sum(back(wa, g1), back(wb, g2))), mul(xn, sum(back(wb, g1), back(wa, g2))))
	case (r.Kind == "alpha-beta" || r.Kind == "zplus") && fuse:
		alpha, beta := r.Alpha, r.Beta
		if r.Kind == "zplus" {
			alpha, beta = 1, 0
		}
		xx := cat(3, pos(x), neg(x))
		if beta == 0 {
			// z⁺ = [x⁺ x⁻]·[W⁺; W⁻]
			w := stack("stack:w+,w-", []func(Sym) Sym{pos, neg})
			g1 := b.divide(R, add(lin(xx, w), B("b+", pos)), s)
			rel = relOf(xx, backCat(w, g1, xx), 2)
			if alpha != 1 {
				rel = mul(rel, b.constLike(alpha, rel))
			}
			break
		}
		// [z⁺ z⁻] = [x⁺ x⁻]·[[W⁺, W⁻], [W⁻, W⁺]]; the backward signal
		// [αg1, −βg2] gives α·R⁺ − β·R⁻ in one convolution.
		w := stack("stack:ab", []func(Sym) Sym{pos, neg}, []func(Sym) Sym{neg, pos})
		zz := parts(lin(xx, w), 2)
		g1 := b.divide(R, add(zz[0], B("b+", pos)), s)
		g2 := b.divide(R, add(zz[1], B("b-", neg)), s)
		g := cat(3, mul(g1, b.constLike(alpha, g1)), mul(g2, b.constLike(-beta, g2)))
		rel = relOf(xx, backCat(w, g, xx), 2)
	case r.Kind == "alpha-beta" || r.Kind == "zplus":
		alpha, beta := r.Alpha, r.Beta
		if r.Kind == "zplus" {
			alpha, beta = 1, 0
		}
		wp, wn := W("w+", pos), W("w-", neg)
		xp, xn := pos(x), neg(x)
		zp := sum(add(lin(xp, wp), B("b+", pos)), lin(xn, wn))
		g1 := b.divide(R, zp, s)
		rel = sum(mul(xp, back(wp, g1)), mul(xn, back(wn, g1)))
		if alpha != 1 {
			rel = mul(rel, b.constLike(alpha, rel))
		}
		if beta != 0 {
			zn := sum(add(lin(xp, wn), B("b-", neg)), lin(xn, wp))
			g2 := b.divide(R, zn, s)
			relN := sum(mul(xp, back(wn, g2)), mul(xn, back(wp, g2)))
			rel = b.op1("Sub", nil, rel, mul(relN, b.constLike(beta, relN)))
		}
	case r.Kind == "wsquare" || r.Kind == "flat":
		square := func(v Sym) Sym { return mul(v, v) }
		var w, bias Sym
		if r.Kind == "flat" {
			w = W("ones", func(v Sym) Sym { return b.op1("OnesLike", nil, v) })
		} else {
			w, bias = W("w²", square), B("b²", square)
		}
		ones := b.op1("OnesLike", nil, x)
		rel = back(w, b.divide(R, add(lin(ones, w), bias), s))
	case r.Kind == "zbox" && fuse:
		// z = [x l h]·[W; −W⁺; −W⁻]
		mneg := func(f func(Sym) Sym) func(Sym) Sym { return func(v Sym) Sym { return b.op1("Neg", nil, f(v)) } }
		w := stack("stack:w,-w+,-w-", []func(Sym) Sym{id, mneg(pos), mneg(neg)})
		xx := cat(3, x, b.bound(r.Low, x), b.bound(r.High, x))
		g := b.divide(R, lin(xx, w), s)
		rel = relOf(xx, backCat(w, g, xx), 3)
	case r.Kind == "zbox":
		low, high := b.bound(r.Low, x), b.bound(r.High, x)
		w, wp, wn := W("w", id), W("w+", pos), W("w-", neg)
		z := b.op1("Sub", nil, b.op1("Sub", nil, lin(x, w), lin(low, wp)), lin(high, wn))
		g := b.divide(R, z, s)
		rel = b.op1("Sub", nil, b.op1("Sub", nil, mul(x, back(w, g)), mul(low, back(wp, g))), mul(high, back(wn, g)))
	default:
		b.Fail("LRP: unknown rule %q", r.Kind)
	}
	out := make([]Sym, len(n.In))
	out[xi] = rel
	return out
}

// addNonNeg is stabilize(p + bias, s), s > 0, for p + bias ≥ 0 by
// construction (x·W⁺ + b⁺ with x ≥ 0): p + (bias + s), one op on the
// tensor; an invalid bias is zero.
func (b *Builder) addNonNeg(p, bias Sym, s float64) Sym {
	if bias.Op == nil {
		return b.op1("AddV2", nil, p, b.constLike(s, p))
	}
	return b.op1("AddV2", nil, p, b.op1("AddV2", nil, bias, b.constLike(s, bias)))
}

// lrpFast enables the rules' shorter forms on non-negative inputs (tests
// compare them with the general forms).
var lrpFast = true

// lrpFuse fuses the general forms' convolutions of a layer (tests compare
// them with the separate ones).
var lrpFuse = true

// lrpDerived makes the rules' modified weights and biases derived
// expressions (tests compare them with the same values computed at every
// run).
var lrpDerived = true

// nonNegative says whether tensor t is ≥ 0 by construction: a ReLU's
// output, or max or average pooling, a mean, a reshape, a zero padding
// (Pad: ResNet50's pool1_pad before its max pool) or a concatenation of such
// tensors.
func (b *Builder) nonNegative(t string) bool {
	for depth := 0; depth < 64; depth++ {
		n := b.fl.nodes[nodeOf(t)]
		if n == nil {
			return false
		}
		switch n.GetOp() {
		case "Relu", "Relu6":
			return true
		case "MaxPool", "AvgPool", "Mean", "Max", "Reshape", "Identity", "Squeeze", "ExpandDims", "Pad", "MirrorPad":
			t = n.GetInput()[0]
		case "ConcatV2":
			ins := n.GetInput()
			for _, in := range ins[:len(ins)-1] {
				if strings.HasPrefix(in, "^") || !b.nonNegative(in) {
					return false
				}
			}
			return true
		default:
			return false
		}
	}
	return false
}

// bound is v (one value or one per channel) broadcast to x's shape.
func (b *Builder) bound(v []float32, x Sym) Sym {
	var c Sym
	if len(v) == 1 {
		c = b.constLike(float64(v[0]), x)
	} else {
		c = b.castTo(b.constant(v), x.DataType())
	}
	return b.op1("AddV2", nil, b.op1("ZerosLike", nil, x), c)
}
