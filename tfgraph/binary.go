//go:build cgo

package tfgraph

import (
	"fmt"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	tf "github.com/wamuir/graft/tensorflow"
)

// binaryHeads gives a binary classifier's one score [N, 1] its two
// classes, as Keras' binary labels (0 and 1) and the peers do: behind an
// output whose head walk ends at logits z of shape [N, 1] (a logit left
// without its sigmoid, or the input of a final Sigmoid), it adds the node
// binaryName(z) = ConcatV2(−z, z) on axis 1, the scores of class 0 (the
// negative class) and class 1 (the positive one), and, for a sigmoid head,
// the Sigmoid of them (σ(−z) = 1 − σ(z), σ(z)). tf-keras-vis' BinaryScore
// and pytorch-grad-cam's BinaryClassifierOutputTarget explain class 0 as −z
// too. Flat.Logits then names the two columns (importAsFlat). g is the flat
// graph imported as it was, for static shapes and dtypes. It reports
// whether it changed anything.
func binaryHeads(g *tf.Graph, fg *flatGraph) bool {
	walker := &Flat{nodes: nodesByName(fg.def.GetNode())}
	changed := false
	for _, out := range fg.outputs {
		w := walker.walkHeadFrom(out)
		if w.head != "" && w.head != "sigmoid" {
			continue
		}
		z := w.logits
		name := binaryName(z)
		if walker.nodes[name] != nil {
			continue // another output with the same logit
		}
		if s := graphShape(g, z); len(s) != 2 || s[1] != 1 {
			continue
		}
		op, idx, err := parseTensorName(z)
		if err != nil || g.Operation(op) == nil {
			continue
		}
		dt := g.Operation(op).Output(idx).DataType()
		if !isFloat(dt) {
			continue
		}
		t := typeAttr(corepbDataType(dt))
		neg := &nodepb.NodeDef{Name: name + "_neg", Op: "Neg", Input: []string{z}, Attr: map[string]*attrpb.AttrValue{"T": t}}
		axis := int32Const(name+"_axis", []int32{1}, true)
		cat := &nodepb.NodeDef{Name: name, Op: "ConcatV2", Input: []string{neg.Name, z, axis.Name},
			Attr: map[string]*attrpb.AttrValue{"T": t, "N": {Value: &attrpb.AttrValue_I{I: 2}}, "Tidx": typeAttr(typespb.DataType_DT_INT32)}}
		add := []*nodepb.NodeDef{neg, axis, cat}
		if w.head == "sigmoid" {
			add = append(add, &nodepb.NodeDef{Name: name + "_sigmoid", Op: "Sigmoid", Input: []string{name}, Attr: map[string]*attrpb.AttrValue{"T": t}})
		}
		for _, n := range add {
			walker.nodes[n.GetName()] = n
		}
		fg.def.Node = append(fg.def.Node, add...)
		changed = true
	}
	return changed
}

// binaryName is the node that binaryHeads adds behind the one logit z.
func binaryName(z string) string {
	op, idx, err := parseTensorName(z)
	if err != nil {
		op, idx = z, 0
	}
	if idx == 0 {
		return op + "/saliency_binary"
	}
	return fmt.Sprintf("%s/saliency_binary_%d", op, idx)
}

// useBinary points the head at the two classes binaryHeads made for the
// one logit of the output's head walk, where it made them.
func (fl *Flat) useBinary() {
	h := &fl.head
	if h.head != "" && h.head != "sigmoid" {
		return
	}
	name := binaryName(h.logits)
	if fl.nodes[name] == nil {
		return
	}
	h.binary, h.logits, h.labels = h.logits, name+":0", true
	if h.head == "sigmoid" {
		h.out = name + "_sigmoid:0"
	}
}

// BinaryLogit returns the model's own logit z [N, 1] and true for a binary
// classifier with one output column (a logit, or its sigmoid): Logits is
// then [N, 2], the scores −z and z of class 0 (the negative class, whose
// probability is σ(−z) = 1 − σ(z)) and class 1 (the positive one, σ(z)), so
// that class 1 is what the model's output says and class 0 is its
// complement, as in Keras' binary labels. Maps of class 0 are those of
// class 1 negated wherever the method is linear in the score.
func (fl *Flat) BinaryLogit() (string, bool) {
	return fl.head.binary, fl.head.binary != ""
}
