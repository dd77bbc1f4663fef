//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"
	"sort"

	tf "github.com/wamuir/graft/tensorflow"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// Sym is a tensor of the graph under construction, forward or backward. Rules
// handle Syms only through a Builder and a Node.
type Sym = tf.Output

// Node is what a rule sees of one forward node.
type Node struct {
	def *nodepb.NodeDef
	// In and Out are the node's forward inputs and outputs.
	In, Out []Sym
	// Dy is the backward signal on each output (an invalid Sym: none).
	Dy []Sym
	// Need says which inputs need a signal (those on the path to the end
	// tensor, of float type).
	Need []bool
}

// Op is the node's op type ("Conv2D", "Relu", …).
func (n *Node) Op() string { return n.def.GetOp() }

// Name is the node's name in the flat graph.
func (n *Node) Name() string { return n.def.GetName() }

// Attr returns the node attribute called name as a Go value (string, int64,
// float32, bool, []int64 or []string), and whether it is set.
func (n *Node) Attr(name string) (any, bool) { return attr(n.def, name) }

// Builder adds the ops of one backward graph. After the first error it adds
// nothing; the error is reported when the graph is complete.
type Builder struct {
	fl      *Flat
	g       *tf.Graph
	prefix  string
	n       int
	err     error
	pending []pendingDerived // derived weights to assign (derived.go)
	// fwd is the forward node whose rule is adding ops, recorded for each
	// op added (backwardCache.origin, Flat.explainRunError).
	fwd string
	// lrp is what LRP rules know of the graph, found on first use (lrp.go).
	lrp *lrpGraph
}

// Op adds an op of type typ with the given attributes and inputs, and returns
// its first output.
func (b *Builder) Op(typ string, attrs map[string]any, in ...Sym) Sym {
	return b.op1(typ, attrs, in...)
}

// Const adds a float32 scalar constant.
func (b *Builder) Const(v float32) Sym { return b.constF32(v) }

// Plain returns the exact derivative of n (its Plain rule) for the signals
// n.Dy, so a rule can reshape the signal before or after it (LRP rules divide
// the signal by the forward output, apply the plain rule, and multiply by the
// input).
func (b *Builder) Plain(n *Node) []Sym {
	r := plainRules[n.Op()]
	if r == nil {
		b.Fail("no plain rule for op %s (node %s)", n.Op(), n.Name())
		return make([]Sym, len(n.In))
	}
	return r(b, n)
}

// Fail records an error that names the rule's problem; the backward graph is
// then not built.
func (b *Builder) Fail(format string, a ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("tfgraph: backward: "+format, a...)
	}
}

// Plain is the exact gradient (what TF_AddGradients and tf.GradientTape
// compute).
var Plain = &RuleSet{Name: "plain"}

// DeconvNet passes only positive signal through a ReLU, whatever its forward
// input was (Zeiler & Fergus 2013): R_in = relu(R_out). The ReLU family
// (Relu, Relu6, LeakyRelu, PReLU, Elu, Selu) gets this rule; every other op,
// including Sigmoid, Tanh, Softplus and the composite swish and gelu, keeps
// its exact derivative (see RuleCoverage).
var DeconvNet = &RuleSet{Name: "deconvnet", Rules: map[string]Rule{
	"Relu": deconvRelu, "Relu6": deconvRelu, "LeakyRelu": deconvRelu, "Elu": deconvRelu, "Selu": deconvRelu, "PReLU": deconvRelu,
}}

// Guided keeps signal only where both the forward input and the backward
// signal are positive (Springenberg et al. 2014): R_in = 1[x>0]·relu(R_out).
// For the rest of the ReLU family the forward mask is the activation's own
// derivative: R_in = f'(x)·relu(R_out) (1[0<x<6] for Relu6, α below zero for
// LeakyRelu and for PReLU with its learned α, eˣ for Elu), which is the
// paper's rule on a ReLU. Keras' PReLU, which has no op of its own, is
// recognised as one activation (composite.go). Every other op keeps its exact
// derivative (see RuleCoverage).
var Guided = &RuleSet{Name: "guided", Rules: map[string]Rule{
	"Relu": guidedRelu, "Relu6": guidedRelu, "LeakyRelu": guidedRelu, "Elu": guidedRelu, "Selu": guidedRelu, "PReLU": guidedRelu,
}}

// activationOps are the element-wise activations (and the ops of composite
// ones: swish is x·sigmoid(x), gelu uses Erf) that RuleCoverage reports.
var activationOps = []string{"Relu", "Relu6", "LeakyRelu", "PReLU", "Elu", "Selu", "Sigmoid", "Tanh", "Softplus", "Softsign", "Erf", "HardSigmoid"}

// RuleCoverage says how a rule set treats the activations on the path from
// the input to the logits: the layers whose ops it overrides, and the layers
// with an activation it leaves at the exact derivative (Sigmoid, Tanh,
// swish, gelu, …, and a ReLU written as max(x, 0) or as a thresholded
// select: writtenActivation), each with the op types concerned. It reads the ops of
// the graph, not layer names: an op outside every Keras layer (a tf.Module
// without name scopes) is reported as "node <name>", and a composite
// activation (Keras' PReLU) as its pseudo-op. A Guided or DeconvNet rule set
// that overrides nothing computes the plain gradient.
func (fl *Flat) RuleCoverage(rs *RuleSet) (changed, plain map[string][]string) {
	changed, plain = map[string][]string{}, map[string][]string{}
	logits, _ := fl.Logits()
	input := nodeOf(fl.inputName())
	_, onPath, err := fl.path(nodeOf(logits), input)
	if err != nil {
		return changed, plain
	}
	add := func(m map[string][]string, where, op string) {
		if !slices.Contains(m[where], op) {
			m[where] = append(m[where], op)
		}
	}
	for _, n := range fl.order {
		name := n.GetName()
		if !onPath[name] || name == input || fl.insideComposite(name, rs) {
			continue
		}
		op := fl.asComposite(n, rs).GetOp()
		where := fl.layerOf(name)
		if where == "none" {
			where = "node " + name
		}
		if _, ok := rs.Rules[op]; ok {
			add(changed, where, op)
		} else if slices.Contains(activationOps, op) || fl.writtenActivation(n) {
			add(plain, where, op)
		}
	}
	return changed, plain
}

// writtenActivation says whether n is a ReLU written out of other ops,
// which no rule set overrides: max(x, 0) (keras.ops.maximum, tf.maximum),
// or a select between x and a constant by a comparison of x with a
// constant (Keras 3's ReLU with a threshold: Greater, SelectV2).
func (fl *Flat) writtenActivation(n *nodepb.NodeDef) bool {
	scalar := func(t string) (float64, bool) {
		v, ok := fl.constFloats(t)
		if !ok || len(v) != 1 {
			return 0, false
		}
		return v[0], true
	}
	in := n.GetInput()
	switch n.GetOp() {
	case "Maximum":
		for k := range min(len(in), 2) {
			if c, ok := scalar(in[k]); ok && c == 0 {
				return true
			}
		}
	case "Select", "SelectV2":
		if len(in) != 3 {
			return false
		}
		cond := fl.nodes[nodeOf(in[0])]
		if cond == nil || len(cond.GetInput()) != 2 {
			return false
		}
		switch cond.GetOp() {
		case "Greater", "GreaterEqual", "Less", "LessEqual":
			_, c0 := scalar(cond.GetInput()[0])
			_, c1 := scalar(cond.GetInput()[1])
			return c0 != c1 && (canonical(cond.GetInput()[0]) == canonical(in[1]) || canonical(cond.GetInput()[1]) == canonical(in[1]))
		}
	}
	return false
}

// RuleSets lists the built-in rule sets.
var RuleSets = []*RuleSet{Plain, DeconvNet, Guided}

// deconvRelu: R_in = relu(R_out), ignoring the forward input (Zeiler & Fergus).
func deconvRelu(b *Builder, n *Node) []Sym {
	return one(n, b.Op("Relu", nil, n.Dy[0]))
}

// guidedRelu: R_in = f'(x) · relu(R_out), the exact rule of the activation
// applied to the positive part of the signal (Springenberg et al.: on a
// ReLU, 1[x>0] · relu(R_out)).
func guidedRelu(b *Builder, n *Node) []Sym {
	m := *n
	m.Dy = []Sym{b.Op("Relu", nil, n.Dy[0])}
	return b.Plain(&m)
}

// rule returns the rule of op under rs, or nil.
func (rs *RuleSet) rule(op string) Rule {
	if r, ok := rs.Rules[op]; ok || rs.Strict {
		return r
	}
	return plainRules[op]
}

// SupportedRules reports, for each built-in rule set, the op types of the
// flat graph (on the path from the input to the logits) that have no rule.
func (fl *Flat) SupportedRules() map[string][]string {
	out := map[string][]string{}
	for _, rs := range RuleSets {
		out[rs.Name] = fl.MissingRules(rs)
	}
	return out
}

// MissingRules lists the op types on the path from the input to the logits
// that have no rule in rs, sorted.
func (fl *Flat) MissingRules(rs *RuleSet) []string {
	logits, _ := fl.Logits()
	input := nodeOf(fl.inputName())
	_, onPath, err := fl.path(nodeOf(logits), input)
	if err != nil {
		return nil
	}
	// The signal's way back from the logits, as the backward engine takes
	// it: a node is reached when a signal arrives at one of its outputs,
	// and passes it on to the inputs that need one.
	missing := map[string]bool{}
	// As in the backward engine (noRule), a failure behind control flow
	// kept on the path (a While loop's TensorListStack) is the control
	// flow's.
	loop := fl.controlFlowOn(onPath)
	miss := func(op string) {
		if loop != nil {
			op = loop.GetOp()
		}
		missing[op] = true
	}
	reached := map[string]bool{nodeOf(logits): true}
	for i := len(fl.order) - 1; i >= 0; i-- {
		n := fl.order[i]
		if !reached[n.GetName()] || !onPath[n.GetName()] || n.GetName() == input {
			continue
		}
		if keptControlFlow[n.GetOp()] {
			miss(n.GetOp())
			continue
		}
		n = fl.asComposite(n, rs)
		op := n.GetOp()
		_, need, blocked := fl.signalInputs(n, onPath)
		if blocked >= 0 {
			miss(op)
			continue
		}
		if !slices.Contains(need, true) {
			continue
		}
		if rs.rule(op) == nil {
			miss(op)
			continue
		}
		for k, in := range n.GetInput() {
			if need[k] {
				reached[nodeOf(in)] = true
			}
		}
	}
	list := make([]string, 0, len(missing))
	for op := range missing {
		list = append(list, op)
	}
	sort.Strings(list)
	return list
}

// RegisterPlainRule gives op type op an exact derivative, for a model with an
// op that tfgraph has no rule for (a *NoRuleError names it). Every rule set
// then uses it for that op unless it has its own. Call it before building
// backward graphs, from an init function: the rules are read without locks.
// An op that already has a plain rule is an error, so a built-in rule is
// never replaced by accident.
func RegisterPlainRule(op string, r Rule) error {
	if op == "" || r == nil {
		return fmt.Errorf("tfgraph: RegisterPlainRule: want an op type and a rule")
	}
	if plainRules[op] != nil {
		return fmt.Errorf("tfgraph: RegisterPlainRule: op %s already has a plain rule", op)
	}
	plainRules[op] = r
	return nil
}
