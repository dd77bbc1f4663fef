//go:build cgo

package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// groupedConvs rewrites, in fg, every Conv2D of g whose input has more
// channels than its filter (a grouped convolution, groups = in / filter in):
//
//   - one input channel per group and as many outputs as inputs (a
//     depthwise convolution written as a grouped one, ConvNeXt's): a
//     DepthwiseConv2dNative with the filter reshaped from [h,w,1,C] to
//     [h,w,C,1];
//   - otherwise: Split of the input and of the filter into the groups, one
//     Conv2D per group, ConcatV2 of the results.
//
// The rewritten node keeps its name (its consumers and its layer do not
// change); the new nodes are named under it. It reports whether it changed
// anything.
func groupedConvs(g *tf.Graph, fg *flatGraph) bool {
	var out []*nodepb.NodeDef
	changed := false
	for _, n := range fg.def.GetNode() {
		if n.GetOp() != "Conv2D" || len(n.GetInput()) != 2 {
			out = append(out, n)
			continue
		}
		in, fin, cout, ok := convChannels(g, n)
		if !ok || in == fin || fin <= 0 || in%fin != 0 {
			out = append(out, n)
			continue
		}
		changed = true
		groups := in / fin
		axis := int32(3)
		if df, _ := attr(n, "data_format"); df == "NCHW" {
			axis = 1
		}
		o := fg.origin[n.GetName()]
		add := func(c *nodepb.NodeDef) string {
			if _, ok := fg.origin[n.GetName()]; ok {
				fg.origin[c.Name] = o
			}
			out = append(out, c)
			return c.Name
		}
		x, f := n.GetInput()[0], n.GetInput()[1]
		convAttrs := map[string]*attrpb.AttrValue{}
		for _, k := range []string{"T", "strides", "padding", "data_format", "dilations", "explicit_paddings"} {
			if v, ok := n.GetAttr()[k]; ok {
				convAttrs[k] = v
			}
		}
		if fin == 1 && cout == in {
			shape := add(int32Const(n.GetName()+"/saliency_dw_shape", filterShape(g, n, in)))
			filt := add(&nodepb.NodeDef{Name: n.GetName() + "/saliency_dw_filter", Op: "Reshape", Input: []string{f, shape},
				Attr: map[string]*attrpb.AttrValue{"T": n.GetAttr()["T"], "Tshape": typeAttr(typespb.DataType_DT_INT32)}})
			n.Op = "DepthwiseConv2dNative"
			n.Input = []string{x, filt}
			n.Attr = convAttrs
			out = append(out, n)
			continue
		}
		dim := add(int32Const(n.GetName()+"/saliency_split_axis", []int32{axis}, true))
		splitAttrs := map[string]*attrpb.AttrValue{"T": n.GetAttr()["T"], "num_split": {Value: &attrpb.AttrValue_I{I: int64(groups)}}}
		xs := add(&nodepb.NodeDef{Name: n.GetName() + "/saliency_split_input", Op: "Split", Input: []string{dim, x}, Attr: splitAttrs})
		fdim := add(int32Const(n.GetName()+"/saliency_split_filter_axis", []int32{3}, true))
		fs := add(&nodepb.NodeDef{Name: n.GetName() + "/saliency_split_filter", Op: "Split", Input: []string{fdim, f}, Attr: splitAttrs})
		var parts []string
		for i := 0; i < groups; i++ {
			parts = append(parts, add(&nodepb.NodeDef{Name: fmt.Sprintf("%s/saliency_group_%d", n.GetName(), i), Op: "Conv2D",
				Input: []string{fmt.Sprintf("%s:%d", xs, i), fmt.Sprintf("%s:%d", fs, i)}, Attr: convAttrs}))
		}
		cat := add(int32Const(n.GetName()+"/saliency_concat_axis", []int32{axis}, true))
		n.Op = "ConcatV2"
		n.Input = append(parts, cat)
		n.Attr = map[string]*attrpb.AttrValue{"T": n.GetAttr()["T"], "N": {Value: &attrpb.AttrValue_I{I: int64(groups)}},
			"Tidx": typeAttr(typespb.DataType_DT_INT32)}
		out = append(out, n)
	}
	fg.def.Node = out
	return changed
}

// convChannels reads the input channels of a Conv2D's input and the input
// and output channels of its filter from the imported graph's static shapes.
func convChannels(g *tf.Graph, n *nodepb.NodeDef) (in, fin, cout int, ok bool) {
	x, f := graphShape(g, n.GetInput()[0]), graphShape(g, n.GetInput()[1])
	if len(x) != 4 || len(f) != 4 {
		return 0, 0, 0, false
	}
	c := x[3]
	if df, _ := attr(n, "data_format"); df == "NCHW" {
		c = x[1]
	}
	if c <= 0 || f[2] <= 0 {
		return 0, 0, 0, false
	}
	return int(c), int(f[2]), int(f[3]), true
}

// graphShape is the static shape of tensor t ("node:k") of graph g, nil
// when the graph does not know it.
func graphShape(g *tf.Graph, t string) []int64 {
	op, idx, err := parseTensorName(t)
	if err != nil || g.Operation(op) == nil {
		return nil
	}
	s, err := g.Operation(op).Output(idx).Shape().ToSlice()
	if err != nil {
		return nil
	}
	return s
}

// filterShape is the depthwise filter shape [h, w, in, 1] of a grouped
// convolution with one input channel per group.
func filterShape(g *tf.Graph, n *nodepb.NodeDef, in int) []int32 {
	op, idx, _ := parseTensorName(n.GetInput()[1])
	s, _ := g.Operation(op).Output(idx).Shape().ToSlice()
	return []int32{int32(s[0]), int32(s[1]), int32(in), 1}
}

// int32Const is a Const node holding v (a scalar when scalar is set).
func int32Const(name string, v []int32, scalar ...bool) *nodepb.NodeDef {
	t := &tensorpb.TensorProto{Dtype: typespb.DataType_DT_INT32, IntVal: v,
		TensorShape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: int64(len(v))}}}}
	if len(scalar) > 0 && scalar[0] {
		t.TensorShape = &shapepb.TensorShapeProto{}
	}
	return &nodepb.NodeDef{Name: name, Op: "Const", Attr: map[string]*attrpb.AttrValue{
		"dtype": typeAttr(typespb.DataType_DT_INT32),
		"value": {Value: &attrpb.AttrValue_Tensor{Tensor: t}},
	}}
}

func typeAttr(t typespb.DataType) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: t}}
}
