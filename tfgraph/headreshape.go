//go:build cgo

package tfgraph

import (
	"slices"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	tf "github.com/wamuir/graft/tensorflow"
)

// reshapedHeads rewrites a final activation that the model reshapes
// afterwards, so that the head walk finds it with logits [batch, K]: a
// Softmax, LogSoftmax or Sigmoid over [N, 1, …, 1, K] (a classifier whose
// last layer is a convolution with activation='softmax' over a 1×1 map, or
// PyTorch's softmax over the channels of [N, K, 1, 1], which converters
// write as Transpose, Softmax, Transpose), followed by Reshape, Squeeze and
// Transpose ops that keep the batch axis first (and Identity ops) to the
// output [N, K] (its second axis may be of run-time size, as a Flatten of
// run-time shape leaves it). Each of them has one axis besides the batch's that is not
// 1, the K classes, so none changes the order of the values. The op
// nearest the output becomes the activation of a new Reshape of the
// activation's input to [-1, K] (named under it, …/saliency_logits): the
// same values. Before, the walk stopped at the reshape and took the
// probabilities for logits. g is the flat graph imported as it was, for
// static shapes and constants. It reports whether it changed anything.
func reshapedHeads(g *tf.Graph, fg *flatGraph) bool {
	nodes := nodesByName(fg.def.GetNode())
	shape := func(t string) []int64 { return graphShape(g, t) }
	// classesOnly says whether a tensor of static shape s holds k values
	// per image along one axis: every other axis but the batch's is 1.
	classesOnly := func(s []int64, k int64) bool {
		if len(s) < 2 {
			return false
		}
		p := int64(1)
		for _, d := range s[1:] {
			if d < 1 {
				return false
			}
			p *= d
		}
		return p == k && slices.Contains(s[1:], k)
	}
	changed := false
	for _, out := range fg.outputs {
		name := out
		var chain []*nodepb.NodeDef // from the output back
	walk:
		for range 64 {
			n := nodes[nodeOf(name)]
			if n == nil || len(n.GetInput()) == 0 {
				break
			}
			switch n.GetOp() {
			case "Identity":
				name = n.GetInput()[0]
			case "Reshape", "Squeeze":
				chain = append(chain, n)
				name = n.GetInput()[0]
			case "Transpose":
				chain = append(chain, n)
				name = n.GetInput()[0]
			case "Softmax", "LogSoftmax", "Sigmoid":
				if len(chain) == 0 {
					break walk
				}
				x := n.GetInput()[0]
				sx, so := shape(x), shape(chain[0].GetName()+":0")
				k := int64(0)
				if len(sx) > 0 {
					k = sx[len(sx)-1]
				}
				if len(so) != 2 || (so[1] != k && so[1] != -1) || !classesOnly(sx, k) {
					break walk
				}
				for _, c := range chain {
					in := shape(c.GetInput()[0])
					if !classesOnly(in, k) {
						break walk
					}
					if c.GetOp() != "Transpose" {
						continue
					}
					// The batch axis stays first: by the permutation, or,
					// computed at run time (tf.nn.softmax over another
					// axis), because the only axis of unknown size is the
					// batch's.
					if perm, ok := constIntsIn(nodes, c.GetInput()[1]); ok {
						if len(perm) == 0 || perm[0] != 0 {
							break walk
						}
					} else if o := shape(c.GetName() + ":0"); in[0] != -1 || len(o) == 0 || o[0] != -1 || !classesOnly(o, k) {
						break walk
					}
				}
				top := chain[0]
				name := top.GetName() + "/saliency_logits"
				c := int32Const(name+"_shape", []int32{-1, int32(k)})
				l := &nodepb.NodeDef{Name: name, Op: "Reshape", Input: []string{x, c.Name},
					Attr: map[string]*attrpb.AttrValue{"T": n.GetAttr()["T"], "Tshape": typeAttr(typespb.DataType_DT_INT32)}}
				if o, ok := fg.origin[top.GetName()]; ok {
					fg.origin[c.Name], fg.origin[l.Name] = o, o
				}
				fg.def.Node = append(fg.def.Node, c, l)
				top.Op, top.Input = n.GetOp(), []string{name}
				top.Attr = map[string]*attrpb.AttrValue{"T": n.GetAttr()["T"]}
				changed = true
				break walk
			default:
				break walk
			}
		}
	}
	return changed
}
