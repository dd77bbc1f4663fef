//go:build cgo

package tfgraph

import (
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"

	tf "github.com/wamuir/graft/tensorflow"
)

// expSumSoftmaxes rewrites each softmax written out of its parts, e / Σe
// with e = exp(x − max x) or e = exp(x), the max and the sum over the last
// axis with keep_dims (as a hand-written softmax in keras.ops or tf, or
// jax2tf's, with a StopGradient on the max), as a Softmax op of x named as
// the division: the same values, to float rounding. The head walk then
// finds the logits x behind it, as behind Keras' softmax; before, the model
// had no head, its probabilities were taken for logits (their softmax
// shown by predict and measured by faithfulness), and the gradient was the
// probability's. g is the flat graph imported as it was, for static ranks.
// It returns how many it rewrote.
func expSumSoftmaxes(g *tf.Graph, fg *flatGraph) int {
	nodes := nodesByName(fg.def.GetNode())
	// through is the node behind a tensor, past Identity ops (and
	// StopGradient, which changes no value).
	walker := &Flat{nodes: nodes}
	through := func(t string) *nodepb.NodeDef { return walker.skip(t, "Identity", "StopGradient", "Snapshot") }
	// lastAxis says whether reduction r is over the last axis of its input
	// alone, keeping the dimension.
	lastAxis := func(r *nodepb.NodeDef) bool {
		if len(r.GetInput()) != 2 {
			return false
		}
		if k, ok := attr(r, "keep_dims"); !ok || k != true {
			return false
		}
		axes, ok := constIntsIn(nodes, r.GetInput()[1])
		rank := len(graphShape(g, r.GetInput()[0]))
		return ok && rank > 0 && len(axes) == 1 && (axes[0] == -1 || axes[0] == int64(rank-1))
	}
	count := 0
	for _, n := range fg.def.GetNode() {
		if (n.GetOp() != "RealDiv" && n.GetOp() != "Div") || len(n.GetInput()) != 2 {
			continue
		}
		e, s := through(n.GetInput()[0]), through(n.GetInput()[1])
		if e == nil || s == nil || e.GetOp() != "Exp" || s.GetOp() != "Sum" || !lastAxis(s) {
			continue
		}
		if se := through(s.GetInput()[0]); se == nil || se.GetName() != e.GetName() {
			continue
		}
		x := e.GetInput()[0]
		if d := through(x); d != nil && d.GetOp() == "Sub" && len(d.GetInput()) == 2 {
			m := through(d.GetInput()[1])
			if m != nil && m.GetOp() == "Max" && lastAxis(m) && through(m.GetInput()[0]) == through(d.GetInput()[0]) {
				x = d.GetInput()[0]
			}
		}
		if len(graphShape(g, x)) < 1 {
			continue
		}
		n.Op, n.Input = "Softmax", []string{x}
		n.Attr = map[string]*attrpb.AttrValue{"T": n.GetAttr()["T"]}
		count++
	}
	return count
}
