//go:build cgo

package tfgraph

import (
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// A composite is a group of forward ops that together compute one
// activation which has no op of its own, so that rule sets can treat it as
// one: Keras' PReLU, relu(x) − α·relu(−x), is four ops (Relu, Neg, Mul,
// AddV2) whose ReLUs, taken one by one, would give Guided Backprop and
// DeconvNet the wrong rule (the negative part passes negative signal). The
// backward engine meets a composite at its output node and calls the rule of
// its pseudo-op type ("PReLU") with the composite's inputs (x, α); the ops
// inside then receive no signal and are skipped.
type composite struct {
	op     string
	inputs []string // flat tensors: x, then parameters
}

// findComposites finds the composites of a flat graph, by output node, and
// the nodes inside them (all but their outputs).
func findComposites(order []*nodepb.NodeDef, nodes map[string]*nodepb.NodeDef) (map[string]composite, map[string]bool) {
	consumers := consumersOf(order)
	op := func(t string, types ...string) *nodepb.NodeDef {
		n := nodes[nodeOf(t)]
		if n == nil || tensorIndex(t) != 0 || len(consumers[n.GetName()]) != 1 {
			return nil
		}
		for _, typ := range types {
			if n.GetOp() == typ {
				return n
			}
		}
		return nil
	}
	out, inner := map[string]composite{}, map[string]bool{}
	for _, n := range order {
		if (n.GetOp() != "AddV2" && n.GetOp() != "Add") || len(n.GetInput()) != 2 {
			continue
		}
		// relu(x) + (−α)·relu(−x), in either order of the sum and the product.
		for _, k := range [][2]int{{0, 1}, {1, 0}} {
			pos := op(n.GetInput()[k[0]], "Relu")
			mul := op(n.GetInput()[k[1]], "Mul")
			if pos == nil || mul == nil || len(mul.GetInput()) != 2 {
				continue
			}
			for _, j := range [][2]int{{0, 1}, {1, 0}} {
				negAlpha := op(mul.GetInput()[j[0]], "Neg")
				negRelu := op(mul.GetInput()[j[1]], "Relu")
				if negAlpha == nil || negRelu == nil {
					continue
				}
				negX := op(negRelu.GetInput()[0], "Neg")
				if negX == nil || canonical(negX.GetInput()[0]) != canonical(pos.GetInput()[0]) {
					continue
				}
				out[n.GetName()] = composite{op: "PReLU", inputs: []string{pos.GetInput()[0], negAlpha.GetInput()[0]}}
				for _, in := range []*nodepb.NodeDef{pos, mul, negAlpha, negRelu, negX} {
					inner[in.GetName()] = true
				}
			}
		}
	}
	return out, inner
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
