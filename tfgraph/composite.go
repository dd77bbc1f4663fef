//go:build cgo

package tfgraph

import (
	"slices"
	"strings"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// A composite is a group of forward ops that together compute one
// activation or layer which has no op of its own, so that rule sets can
// treat it as one: Keras' PReLU, relu(x) − α·relu(−x), is four ops (Relu,
// Neg, Mul, AddV2) whose ReLUs, taken one by one, would give Guided Backprop
// and DeconvNet the wrong rule (the negative part passes negative signal).
// The backward engine meets a composite at its output node and calls the
// rule of its pseudo-op type ("PReLU") with the composite's inputs (x, α);
// the ops inside then receive no signal and are skipped.
//
// An optional composite has no plain rule: a rule set uses it only when it
// has a rule for its pseudo-op, and every other rule set sees its ops one by
// one, as if it had not been found. AttnLRP's rules (lrp.go, attnlrp.go)
// treat Keras' LayerNormalization ("LayerNorm") and gelu ("Gelu") so.
type composite struct {
	op     string
	inputs []string // flat tensors: x, then parameters
	// aux are forward tensors inside the composite that its rule reads and
	// that receive no signal (a LayerNorm's γ/σ and its reduction axes).
	aux      []string
	optional bool
}

// findComposites finds the composites of the flat graph, by output node, and
// the nodes inside them (all but their outputs), each with its output. inputs
// are the signature's input tensors: a composite's parameters must not
// depend on them.
func (fl *Flat) findComposites(inputs []string) {
	order, nodes := fl.order, fl.nodes
	consumers := consumersOf(order)
	dep := map[string]bool{}
	for _, in := range inputs {
		dep[nodeOf(in)] = true
	}
	for _, n := range order {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") && dep[nodeOf(in)] {
				dep[n.GetName()] = true
				break
			}
		}
	}
	m := &matcher{fl: fl, nodes: nodes, consumers: consumers, dep: dep}
	out, inner := map[string]composite{}, map[string]string{}
	add := func(name string, c composite, in []string) {
		// A node inside two composites (never in Keras' patterns) keeps
		// the first.
		for _, x := range in {
			if _, ok := inner[x]; ok {
				return
			}
		}
		out[name] = c
		for _, x := range in {
			inner[x] = name
		}
	}
	for _, n := range order {
		if c, in, ok := m.prelu(n); ok {
			add(n.GetName(), c, in)
		}
		if c, in, ok := m.gelu(n); ok {
			add(n.GetName(), c, in)
		}
		if n.GetOp() == "Rsqrt" {
			if name, c, in, ok := m.layerNorm(n); ok {
				add(name, c, in)
			}
		}
	}
	fl.composites, fl.compositeInner = out, inner
}

// composite returns the composite whose output node is name, if rs uses it.
func (fl *Flat) composite(name string, rs *RuleSet) (composite, bool) {
	c, ok := fl.composites[name]
	if !ok || (c.optional && (rs == nil || rs.Rules[c.op] == nil)) {
		return composite{}, false
	}
	return c, true
}

// insideComposite says whether node name is inside a composite that rs
// uses (and so receives no signal).
func (fl *Flat) insideComposite(name string, rs *RuleSet) bool {
	out, ok := fl.compositeInner[name]
	if !ok {
		return false
	}
	_, used := fl.composite(out, rs)
	return used
}

// matcher finds composites' op patterns in the flat graph.
type matcher struct {
	fl        *Flat
	nodes     map[string]*nodepb.NodeDef
	consumers map[string][]string
	dep       map[string]bool // depends on the signature's input
}

// op is the node producing tensor t if it is output 0 of one of types and
// has one consumer, else nil.
func (m *matcher) op(t string, types ...string) *nodepb.NodeDef {
	n := m.nodes[nodeOf(t)]
	if n == nil || tensorIndex(t) != 0 || len(m.consumers[n.GetName()]) != 1 || !slices.Contains(types, n.GetOp()) {
		return nil
	}
	return n
}

// param says whether tensor t does not depend on the signature's input.
func (m *matcher) param(t string) bool {
	return !strings.HasPrefix(t, "^") && m.nodes[nodeOf(t)] != nil && !m.dep[nodeOf(t)]
}

// prelu matches relu(x) + (−α)·relu(−x) at its output node n, in either
// order of the sum and the product.
func (m *matcher) prelu(n *nodepb.NodeDef) (composite, []string, bool) {
	if (n.GetOp() != "AddV2" && n.GetOp() != "Add") || len(n.GetInput()) != 2 {
		return composite{}, nil, false
	}
	for _, k := range [][2]int{{0, 1}, {1, 0}} {
		pos := m.op(n.GetInput()[k[0]], "Relu")
		mul := m.op(n.GetInput()[k[1]], "Mul")
		if pos == nil || mul == nil || len(mul.GetInput()) != 2 {
			continue
		}
		for _, j := range [][2]int{{0, 1}, {1, 0}} {
			negAlpha := m.op(mul.GetInput()[j[0]], "Neg")
			negRelu := m.op(mul.GetInput()[j[1]], "Relu")
			if negAlpha == nil || negRelu == nil {
				continue
			}
			negX := m.op(negRelu.GetInput()[0], "Neg")
			if negX == nil || canonical(negX.GetInput()[0]) != canonical(pos.GetInput()[0]) {
				continue
			}
			c := composite{op: "PReLU", inputs: []string{pos.GetInput()[0], negAlpha.GetInput()[0]}}
			return c, names(pos, mul, negAlpha, negRelu, negX), true
		}
	}
	return composite{}, nil, false
}

func names(ns ...*nodepb.NodeDef) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.GetName()
	}
	return out
}

// gelu matches tf.nn.gelu at its output node n: (x·c)·(c′ + erf(u)) (the
// exact form, u = x/√2) or (x·c)·(c′ + tanh(u)) (the approximate one, u =
// √(2/π)·(x + 0.044715·x³)), the factors of each product in either order,
// u any element-wise expression of x alone (Mul, RealDiv, AddV2, Add, Sub,
// Pow, Square with parameters), c and c′ parameters. Their values are not
// checked: any function of this form is element-wise in x, which is what
// the rules that use the composite (AttnLRP's identity) rely on.
func (m *matcher) gelu(n *nodepb.NodeDef) (composite, []string, bool) {
	if n.GetOp() != "Mul" || len(n.GetInput()) != 2 {
		return composite{}, nil, false
	}
	for _, k := range [][2]int{{0, 1}, {1, 0}} {
		half := m.op(n.GetInput()[k[0]], "Mul")
		add := m.op(n.GetInput()[k[1]], "AddV2", "Add")
		if half == nil || add == nil || len(half.GetInput()) != 2 || len(add.GetInput()) != 2 {
			continue
		}
		x := ""
		for _, j := range [][2]int{{0, 1}, {1, 0}} {
			if m.param(half.GetInput()[j[1]]) && m.dep[nodeOf(half.GetInput()[j[0]])] {
				x = canonical(half.GetInput()[j[0]])
			}
		}
		if x == "" {
			continue
		}
		for _, j := range [][2]int{{0, 1}, {1, 0}} {
			if !m.param(add.GetInput()[j[0]]) {
				continue
			}
			f := m.op(add.GetInput()[j[1]], "Erf", "Tanh")
			if f == nil {
				continue
			}
			in := []string{half.GetName(), add.GetName(), f.GetName()}
			if u, ok := m.elementwise(f.GetInput()[0], x); ok {
				return composite{op: "Gelu", inputs: []string{x}, optional: true}, append(in, u...), true
			}
		}
	}
	return composite{}, nil, false
}

// elementwise says whether tensor t is an element-wise expression of tensor
// x alone (x itself, or ops of geluInner over x and parameters, each with
// one consumer), and returns its nodes.
func (m *matcher) elementwise(t, x string) ([]string, bool) {
	if canonical(t) == x {
		return nil, true
	}
	n := m.op(t, "Mul", "RealDiv", "AddV2", "Add", "Sub", "Pow", "Square")
	if n == nil {
		return nil, false
	}
	out := []string{n.GetName()}
	reachesX := false
	for _, in := range n.GetInput() {
		if m.param(in) {
			continue
		}
		u, ok := m.elementwise(in, x)
		if !ok {
			return nil, false
		}
		out = append(out, u...)
		reachesX = true
	}
	return out, reachesX
}

// lnTerm is a tensor of a LayerNormalization's output side as cx·x·inv +
// cm·μ·inv (+ parameters when bias is set).
type lnTerm struct {
	cx, cm int
	bias   bool
}

// layerNorm matches Keras' LayerNormalization around its Rsqrt node r, as
// the TensorFlow backend writes keras.ops.moments and the normalisation:
//
//	μ   = Mean(x, axes, keep_dims)
//	v   = Mean(SquaredDifference(x, StopGradient(μ)), axes, keep_dims)
//	inv = Rsqrt(v + ε)·γ
//	y   = x·inv + (−μ·inv + β)
//
// ε, γ, β and the StopGradient may be absent, the variance may be
// Mean(Square(Sub(x, μ))), and the last line may be any sum, difference and
// negation of the terms x·inv, μ·inv, (−μ)·inv, (x − μ)·inv and parameters
// that comes to inv·(x − μ) + β (tf.nn.batch_normalization writes x·inv +
// (β − μ·inv)). Every node inside must feed only nodes inside or y. It
// returns y's node, the composite (input x; aux inv and μ's axes) and the
// nodes inside.
func (m *matcher) layerNorm(r *nodepb.NodeDef) (string, composite, []string, bool) {
	fail := func() (string, composite, []string, bool) { return "", composite{}, nil, false }
	node := func(t string) *nodepb.NodeDef {
		if tensorIndex(t) != 0 {
			return nil
		}
		return m.nodes[nodeOf(t)]
	}
	keep := func(n *nodepb.NodeDef) bool { k, _ := attr(n, "keep_dims"); return k == true }
	inner := []string{r.GetName()}
	v := node(r.GetInput()[0])
	if v != nil && (v.GetOp() == "AddV2" || v.GetOp() == "Add") {
		ins := v.GetInput()
		switch {
		case m.param(ins[1]):
			inner, v = append(inner, v.GetName()), node(ins[0])
		case m.param(ins[0]):
			inner, v = append(inner, v.GetName()), node(ins[1])
		}
	}
	if v == nil || v.GetOp() != "Mean" || !keep(v) {
		return fail()
	}
	inner = append(inner, v.GetName())
	axes, ok := m.fl.constInts(v.GetInput()[1])
	if !ok {
		return fail()
	}
	// The variance's argument: (x − μ′)², μ′ = μ or StopGradient(μ).
	d := node(v.GetInput()[0])
	if d == nil {
		return fail()
	}
	inner = append(inner, d.GetName())
	pair := d.GetInput()
	switch d.GetOp() {
	case "SquaredDifference":
	case "Square":
		s := node(d.GetInput()[0])
		if s == nil || s.GetOp() != "Sub" {
			return fail()
		}
		inner, pair = append(inner, s.GetName()), s.GetInput()
	default:
		return fail()
	}
	var x string
	var mu *nodepb.NodeDef
	for _, k := range [][2]int{{0, 1}, {1, 0}} {
		mb := node(pair[k[1]])
		if mb == nil {
			continue
		}
		extra := []string{}
		if mb.GetOp() == "StopGradient" {
			extra = append(extra, mb.GetName())
			mb = node(mb.GetInput()[0])
		}
		if mb == nil || mb.GetOp() != "Mean" || !keep(mb) || canonical(mb.GetInput()[0]) != canonical(pair[k[0]]) {
			continue
		}
		if a, ok := m.fl.constInts(mb.GetInput()[1]); !ok || !slices.Equal(a, axes) {
			continue
		}
		x, mu = canonical(pair[k[0]]), mb
		inner = append(inner, extra...)
		break
	}
	if mu == nil {
		return fail()
	}
	inner = append(inner, mu.GetName())
	// inv: the Rsqrt, or its product with a parameter γ.
	inv := r
	if cs := m.consumers[r.GetName()]; len(cs) == 1 {
		if c := m.nodes[cs[0]]; c.GetOp() == "Mul" && len(c.GetInput()) == 2 {
			ins := c.GetInput()
			if (nodeOf(ins[0]) == r.GetName() && m.param(ins[1])) || (nodeOf(ins[1]) == r.GetName() && m.param(ins[0])) {
				inv = c
				inner = append(inner, c.GetName())
			}
		}
	}
	// The terms t·inv, by the form of t.
	form := func(t string) (lnTerm, []string, bool) {
		switch {
		case canonical(t) == x:
			return lnTerm{cx: 1}, nil, true
		case canonical(t) == mu.GetName():
			return lnTerm{cm: 1}, nil, true
		}
		n := node(t)
		if n == nil {
			return lnTerm{}, nil, false
		}
		switch {
		case n.GetOp() == "Neg" && canonical(n.GetInput()[0]) == mu.GetName():
			return lnTerm{cm: -1}, []string{n.GetName()}, true
		case n.GetOp() == "Sub" && canonical(n.GetInput()[0]) == x && canonical(n.GetInput()[1]) == mu.GetName():
			return lnTerm{cx: 1, cm: -1}, []string{n.GetName()}, true
		case n.GetOp() == "Sub" && canonical(n.GetInput()[1]) == x && canonical(n.GetInput()[0]) == mu.GetName():
			return lnTerm{cx: -1, cm: 1}, []string{n.GetName()}, true
		}
		return lnTerm{}, nil, false
	}
	region := map[string]lnTerm{}
	for _, c := range m.consumers[inv.GetName()] {
		n := m.nodes[c]
		if n.GetOp() != "Mul" || len(n.GetInput()) != 2 || tensorIndex(n.GetInput()[0]) != 0 || tensorIndex(n.GetInput()[1]) != 0 {
			return fail()
		}
		other := n.GetInput()[0]
		if nodeOf(other) == inv.GetName() {
			other = n.GetInput()[1]
		}
		t, extra, ok := form(other)
		if !ok {
			return fail()
		}
		region[c] = t
		inner = append(inner, extra...)
	}
	// Sums, differences and negations of the terms, in graph order.
	for _, n := range m.fl.order {
		if _, ok := region[n.GetName()]; ok {
			continue
		}
		ins := n.GetInput()
		in := func(i int) (lnTerm, bool) {
			t, ok := region[nodeOf(ins[i])]
			return t, ok && tensorIndex(ins[i]) == 0
		}
		var t lnTerm
		switch n.GetOp() {
		case "AddV2", "Add", "Sub":
			if len(ins) != 2 {
				continue
			}
			a, okA := in(0)
			c, okC := in(1)
			sign := 1
			if n.GetOp() == "Sub" {
				sign = -1
			}
			switch {
			case okA && okC:
				t = lnTerm{a.cx + sign*c.cx, a.cm + sign*c.cm, a.bias || c.bias}
			case okA && m.param(ins[1]):
				t = lnTerm{a.cx, a.cm, true}
			case okC && m.param(ins[0]):
				t = lnTerm{sign * c.cx, sign * c.cm, true}
			default:
				continue
			}
		case "Neg":
			a, ok := in(0)
			if !ok {
				continue
			}
			t = lnTerm{-a.cx, -a.cm, a.bias}
		default:
			continue
		}
		region[n.GetName()] = t
	}
	inside := map[string]bool{}
	for _, name := range inner {
		inside[name] = true
	}
	for name := range region {
		inside[name] = true
	}
	// y: the one node of the region that feeds nodes outside.
	y := ""
	for name := range region {
		for _, c := range m.consumers[name] {
			if !inside[c] {
				if y != "" && y != name {
					return fail()
				}
				y = name
			}
		}
	}
	if y == "" || region[y].cx != 1 || region[y].cm != -1 {
		return fail()
	}
	delete(inside, y)
	for name := range inside {
		for _, c := range m.consumers[name] {
			if !inside[c] && c != y {
				return fail()
			}
		}
	}
	for _, c := range m.consumers[y] {
		if inside[c] {
			return fail()
		}
	}
	list := make([]string, 0, len(inside))
	for name := range inside {
		list = append(list, name)
	}
	slices.Sort(list)
	return y, composite{op: "LayerNorm", inputs: []string{x}, aux: []string{inv.GetName(), mu.GetInput()[1]}, optional: true}, list, true
}

// preluRule: for y = relu(x) − α·relu(−x), dx = dy·(1[x>0] + α·1[x<0]),
// the derivative tf.GradientTape takes through Keras' four ops.
func preluRule(b *Builder, n *Node) []Sym {
	x, alpha, dy := n.In[0], n.In[1], n.Dy[0]
	zero := b.constLike(0, x)
	pos := b.op1("Cast", map[string]any{"DstT": x.DataType()}, b.op1("Greater", nil, x, zero))
	neg := b.op1("Cast", map[string]any{"DstT": x.DataType()}, b.op1("Less", nil, x, zero))
	f := b.op1("AddV2", nil, pos, b.op1("Mul", nil, b.castTo(alpha, x.DataType()), neg))
	out := make([]Sym, len(n.In))
	out[0] = b.op1("Mul", nil, dy, f)
	return out
}
