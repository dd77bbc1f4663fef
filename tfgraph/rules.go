package tfgraph

import (
	"encoding/binary"
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// ruleFor returns the rule of op under rules, or nil.
func ruleFor(rules RuleSet, op string) rule {
	switch op {
	case "Relu", "Relu6":
		switch rules {
		case DeconvNet:
			return deconvRelu
		case Guided:
			return guidedRelu
		}
	}
	return plainRules[op]
}

// one returns a slice with signal g for input 0 only.
func one(n *node, g tf.Output) []tf.Output {
	out := make([]tf.Output, len(n.in))
	out[0] = g
	return out
}

// deconvRelu: R_in = relu(R_out), ignoring the forward input (Zeiler & Fergus).
func deconvRelu(b *bw, n *node) []tf.Output {
	return one(n, b.op1("Relu", nil, n.dy[0]))
}

// guidedRelu: R_in = 1[x>0] · relu(R_out) (Springenberg et al.); for Relu6 also
// 1[x<6].
func guidedRelu(b *bw, n *node) []tf.Output {
	pos := b.op1("Relu", nil, n.dy[0])
	if n.def.GetOp() == "Relu6" {
		return one(n, b.op1("Relu6Grad", nil, pos, n.in[0]))
	}
	return one(n, b.op1("ReluGrad", nil, pos, n.out[0]))
}

var plainRules map[string]rule

func init() {
	pass := func(b *bw, n *node) []tf.Output { return one(n, n.dy[0]) }
	reshapeBack := func(b *bw, n *node) []tf.Output {
		return one(n, b.op1("Reshape", nil, n.dy[0], b.shape(n.in[0])))
	}
	plainRules = map[string]rule{
		"Identity":   pass,
		"Snapshot":   pass,
		"BiasAdd":    pass,
		"Reshape":    reshapeBack,
		"Squeeze":    reshapeBack,
		"ExpandDims": reshapeBack,
		"IdentityN":  func(b *bw, n *node) []tf.Output { return n.dy[:len(n.in)] },
		"Relu":       func(b *bw, n *node) []tf.Output { return one(n, b.op1("ReluGrad", nil, n.dy[0], n.out[0])) },
		"Relu6":      func(b *bw, n *node) []tf.Output { return one(n, b.op1("Relu6Grad", nil, n.dy[0], n.in[0])) },
		"Elu":        func(b *bw, n *node) []tf.Output { return one(n, b.op1("EluGrad", nil, n.dy[0], n.out[0])) },
		"Selu":       func(b *bw, n *node) []tf.Output { return one(n, b.op1("SeluGrad", nil, n.dy[0], n.out[0])) },
		"Sigmoid":    func(b *bw, n *node) []tf.Output { return one(n, b.op1("SigmoidGrad", nil, n.out[0], n.dy[0])) },
		"Tanh":       func(b *bw, n *node) []tf.Output { return one(n, b.op1("TanhGrad", nil, n.out[0], n.dy[0])) },
		"Softplus":   func(b *bw, n *node) []tf.Output { return one(n, b.op1("SoftplusGrad", nil, n.dy[0], n.in[0])) },
		"Neg":        func(b *bw, n *node) []tf.Output { return one(n, b.op1("Neg", nil, n.dy[0])) },
		"LeakyRelu": func(b *bw, n *node) []tf.Output {
			return one(n, b.op1("LeakyReluGrad", attrs(n.def, "alpha"), n.dy[0], n.in[0]))
		},
		"Softmax": func(b *bw, n *node) []tf.Output {
			// (dy - Σ_c dy·y) · y
			y := n.out[0]
			s := b.op1("Sum", map[string]any{"keep_dims": true}, b.op1("Mul", nil, n.dy[0], y), b.constI32([]int32{-1}))
			return one(n, b.op1("Mul", nil, b.op1("Sub", nil, n.dy[0], s), y))
		},
		"Conv2D": func(b *bw, n *node) []tf.Output {
			a := attrs(n.def, "strides", "padding", "data_format", "dilations", "explicit_paddings", "use_cudnn_on_gpu")
			return one(n, b.op1("Conv2DBackpropInput", a, b.shape(n.in[0]), n.in[1], n.dy[0]))
		},
		"DepthwiseConv2dNative": func(b *bw, n *node) []tf.Output {
			a := attrs(n.def, "strides", "padding", "data_format", "dilations", "explicit_paddings")
			return one(n, b.op1("DepthwiseConv2dNativeBackpropInput", a, b.shape(n.in[0]), n.in[1], n.dy[0]))
		},
		"MaxPool": func(b *bw, n *node) []tf.Output {
			a := attrs(n.def, "ksize", "strides", "padding", "data_format", "explicit_paddings")
			return one(n, b.op1("MaxPoolGrad", a, n.in[0], n.out[0], n.dy[0]))
		},
		"AvgPool": func(b *bw, n *node) []tf.Output {
			a := attrs(n.def, "ksize", "strides", "padding", "data_format")
			return one(n, b.op1("AvgPoolGrad", a, b.shape(n.in[0]), n.dy[0]))
		},
		"MatMul": matMulRule,
		"AddV2":  addRule(false),
		"Add":    addRule(false),
		"Sub":    addRule(true),
		"Mul": func(b *bw, n *node) []tf.Output {
			out := make([]tf.Output, 2)
			x, y, dy := n.in[0], n.in[1], n.dy[0]
			if n.need[0] {
				out[0] = b.reduceTo(b.op1("Mul", nil, dy, y), x, y, true)
			}
			if n.need[1] {
				out[1] = b.reduceTo(b.op1("Mul", nil, x, dy), y, x, false)
			}
			return out
		},
		"RealDiv": func(b *bw, n *node) []tf.Output {
			out := make([]tf.Output, 2)
			x, y, dy := n.in[0], n.in[1], n.dy[0]
			if n.need[0] {
				out[0] = b.reduceTo(b.op1("RealDiv", nil, dy, y), x, y, true)
			}
			if n.need[1] {
				// -dy · x / y²
				q := b.op1("RealDiv", nil, b.op1("RealDiv", nil, x, y), y)
				out[1] = b.reduceTo(b.op1("Neg", nil, b.op1("Mul", nil, dy, q)), y, x, false)
			}
			return out
		},
		"AddN": func(b *bw, n *node) []tf.Output {
			out := make([]tf.Output, len(n.in))
			for i := range out {
				out[i] = n.dy[0]
			}
			return out
		},
		"Mean":  reduceRule(true),
		"Sum":   reduceRule(false),
		"Pad":   padRule,
		"PadV2": padRule,
		"ConcatV2": func(b *bw, n *node) []tf.Output {
			k := len(n.in) - 1 // inputs: values..., axis
			shapes := make(tf.OutputList, k)
			for i := 0; i < k; i++ {
				shapes[i] = b.shape(n.in[i])
			}
			if b.err != nil {
				return nil
			}
			offs, err := b.g.AddOperation(tf.OpSpec{Type: "ConcatOffset", Name: b.name("ConcatOffset"),
				Input: []tf.Input{n.in[k], shapes}})
			if err != nil {
				b.err = err
				return nil
			}
			out := make([]tf.Output, len(n.in))
			for i := 0; i < k; i++ {
				if n.need[i] {
					out[i] = b.op1("Slice", nil, n.dy[0], offs.Output(i), shapes[i])
				}
			}
			return out
		},
		"Cast": func(b *bw, n *node) []tf.Output {
			src, _ := attr(n.def, "SrcT")
			if src != tf.Float {
				return make([]tf.Output, len(n.in))
			}
			return one(n, b.op1("Cast", map[string]any{"DstT": tf.Float}, n.dy[0]))
		},
		"Transpose": func(b *bw, n *node) []tf.Output {
			inv := b.op1("InvertPermutation", nil, n.in[1])
			return one(n, b.op1("Transpose", nil, n.dy[0], inv))
		},
		"StridedSlice": func(b *bw, n *node) []tf.Output {
			a := attrs(n.def, "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
			return one(n, b.op1("StridedSliceGrad", a, b.shape(n.in[0]), n.in[1], n.in[2], n.in[3], n.dy[0]))
		},
		"Maximum": minMaxRule("GreaterEqual"),
		"Minimum": minMaxRule("LessEqual"),
		"Unpack": func(b *bw, n *node) []tf.Output {
			return one(n, b.pack(b.filled(n), attrs(n.def, "axis")))
		},
		"Split": func(b *bw, n *node) []tf.Output { // inputs: split_dim, value
			out := make([]tf.Output, len(n.in))
			out[1] = b.concat(b.filled(n), n.in[0])
			return out
		},
		"SplitV": func(b *bw, n *node) []tf.Output { // inputs: value, size_splits, axis
			return one(n, b.concat(b.filled(n), n.in[2]))
		},
		"Pack": func(b *bw, n *node) []tf.Output {
			if b.err != nil {
				return nil
			}
			a := attrs(n.def, "axis")
			a["num"] = int64(len(n.in))
			u, err := b.g.AddOperation(tf.OpSpec{Type: "Unpack", Name: b.name("Unpack"), Input: []tf.Input{n.dy[0]}, Attrs: a})
			if err != nil {
				b.err = err
				return nil
			}
			out := make([]tf.Output, len(n.in))
			for i := range out {
				out[i] = u.Output(i)
			}
			return out
		},
		"Slice": func(b *bw, n *node) []tf.Output { // inputs: x, begin, size
			sx := b.shape(n.in[0])
			begin := b.op1("Cast", map[string]any{"DstT": tf.Int32}, n.in[1])
			after := b.op1("Sub", nil, b.op1("Sub", nil, sx, begin), b.shape(n.dy[0]))
			pads := b.pack([]tf.Output{begin, after}, map[string]any{"axis": int64(1)})
			return one(n, b.op1("Pad", nil, n.dy[0], pads))
		},
		"FusedBatchNormV3": func(b *bw, n *node) []tf.Output {
			// Inference mode: y = (x - mean)·scale/sqrt(var + ε) + offset.
			eps, _ := attr(n.def, "epsilon")
			e, _ := eps.(float32)
			f := b.op1("Mul", nil, n.in[1], b.op1("Rsqrt", nil, b.op1("AddV2", nil, n.in[4], b.constF32(e))))
			return one(n, b.op1("Mul", nil, n.dy[0], f))
		},
	}
}

func addRule(sub bool) rule {
	return func(b *bw, n *node) []tf.Output {
		out := make([]tf.Output, 2)
		x, y, dy := n.in[0], n.in[1], n.dy[0]
		if n.need[0] {
			out[0] = b.reduceTo(dy, x, y, true)
		}
		if n.need[1] {
			d := dy
			if sub {
				d = b.op1("Neg", nil, dy)
			}
			out[1] = b.reduceTo(d, y, x, false)
		}
		return out
	}
}

func matMulRule(b *bw, n *node) []tf.Output {
	ta, _ := attr(n.def, "transpose_a")
	tb, _ := attr(n.def, "transpose_b")
	tA, tB := ta == true, tb == true
	a, bb, dy := n.in[0], n.in[1], n.dy[0]
	mm := func(x, y tf.Output, t1, t2 bool) tf.Output {
		return b.op1("MatMul", map[string]any{"transpose_a": t1, "transpose_b": t2}, x, y)
	}
	out := make([]tf.Output, 2)
	if n.need[0] {
		switch {
		case !tA && !tB:
			out[0] = mm(dy, bb, false, true)
		case !tA && tB:
			out[0] = mm(dy, bb, false, false)
		case tA && !tB:
			out[0] = mm(bb, dy, false, true)
		default:
			out[0] = mm(bb, dy, true, true)
		}
	}
	if n.need[1] {
		switch {
		case !tA && !tB:
			out[1] = mm(a, dy, true, false)
		case !tA && tB:
			out[1] = mm(dy, a, true, false)
		case tA && !tB:
			out[1] = mm(a, dy, false, false)
		default:
			out[1] = mm(dy, a, true, true)
		}
	}
	return out
}

// reduceRule spreads the signal of a Mean or Sum back over the reduced axes.
func reduceRule(mean bool) rule {
	return func(b *bw, n *node) []tf.Output {
		axes, ok := b.fl.constInts(n.def.GetInput()[1])
		if !ok {
			b.fail("%s %s: reduction axes are not a constant", n.def.GetOp(), n.def.GetName())
			return nil
		}
		rank := n.in[0].Shape().NumDimensions()
		if rank < 0 {
			b.fail("%s %s: input rank unknown", n.def.GetOp(), n.def.GetName())
			return nil
		}
		norm := make([]int, len(axes))
		for i, a := range axes {
			if a < 0 {
				a += int64(rank)
			}
			norm[i] = int(a)
		}
		sortInts(norm)
		dy := n.dy[0]
		if keep, _ := attr(n.def, "keep_dims"); keep != true {
			for _, a := range norm {
				dy = b.op1("ExpandDims", nil, dy, b.constI32([]int32{int32(a)}))
			}
		}
		sx := b.shape(n.in[0])
		g := b.op1("BroadcastTo", nil, dy, sx)
		if mean {
			ax := make([]int32, len(norm))
			for i, a := range norm {
				ax[i] = int32(a)
			}
			cnt := b.op1("Prod", map[string]any{"keep_dims": false},
				b.op1("GatherV2", nil, sx, b.constI32(ax), b.scalarI32(0)), b.constI32([]int32{0}))
			g = b.op1("RealDiv", nil, g, b.op1("Cast", map[string]any{"DstT": tf.Float}, cnt))
		}
		return one(n, g)
	}
}

func padRule(b *bw, n *node) []tf.Output {
	pads, ok := b.fl.constInts(n.def.GetInput()[1])
	if !ok {
		b.fail("%s %s: paddings are not a constant", n.def.GetOp(), n.def.GetName())
		return nil
	}
	begin := make([]int32, len(pads)/2)
	for i := range begin {
		begin[i] = int32(pads[2*i])
	}
	return one(n, b.op1("Slice", nil, n.dy[0], b.constI32(begin), b.shape(n.in[0])))
}

func (b *bw) fail(format string, a ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("tfgraph: backward: "+format, a...)
	}
}

// constInts reads an integer Const tensor of the flat graph.
func (fl *Flat) constInts(tensor string) ([]int64, bool) {
	n := fl.nodes[nodeOf(tensor)]
	for n != nil && n.GetOp() == "Identity" && len(n.GetInput()) == 1 {
		n = fl.nodes[nodeOf(n.GetInput()[0])]
	}
	if n == nil || n.GetOp() != "Const" {
		return nil, false
	}
	t := n.GetAttr()["value"].GetTensor()
	switch t.GetDtype() {
	case typespb.DataType_DT_INT32:
		if len(t.GetIntVal()) > 0 {
			out := make([]int64, 0, len(t.GetIntVal()))
			for _, v := range t.GetIntVal() {
				out = append(out, int64(v))
			}
			return fillConst(out, t.GetTensorShape().GetDim()), true
		}
		c := t.GetTensorContent()
		out := make([]int64, len(c)/4)
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(c[4*i:])))
		}
		return out, true
	case typespb.DataType_DT_INT64:
		if len(t.GetInt64Val()) > 0 {
			return fillConst(append([]int64(nil), t.GetInt64Val()...), t.GetTensorShape().GetDim()), true
		}
		c := t.GetTensorContent()
		out := make([]int64, len(c)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(c[8*i:]))
		}
		return out, true
	}
	return nil, false
}

// fillConst expands a TensorProto's repeated-last-value encoding.
func fillConst(vals []int64, dims []*shapepb.TensorShapeProto_Dim) []int64 {
	n := 1
	for _, d := range dims {
		n *= int(d.GetSize())
	}
	for len(vals) > 0 && len(vals) < n {
		vals = append(vals, vals[len(vals)-1])
	}
	return vals
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// filled returns the signals on every output of n, zeros where none arrives.
func (b *bw) filled(n *node) []tf.Output {
	out := make([]tf.Output, len(n.out))
	for i := range out {
		if n.dy[i].Op != nil {
			out[i] = n.dy[i]
		} else {
			out[i] = b.op1("ZerosLike", nil, n.out[i])
		}
	}
	return out
}

func (b *bw) pack(xs []tf.Output, a map[string]any) tf.Output {
	list := make(tf.OutputList, len(xs))
	copy(list, xs)
	return b.op("Pack", []tf.Input{list}, a)
}

func (b *bw) concat(xs []tf.Output, axis tf.Output) tf.Output {
	list := make(tf.OutputList, len(xs))
	copy(list, xs)
	return b.op("ConcatV2", []tf.Input{list, axis}, nil)
}

// minMaxRule routes the signal of Maximum (cmp GreaterEqual) or Minimum
// (LessEqual) to the input that was selected, x on ties (as TensorFlow does).
func minMaxRule(cmp string) rule {
	return func(b *bw, n *node) []tf.Output {
		x, y, dy := n.in[0], n.in[1], n.dy[0]
		mask := b.op1(cmp, nil, x, y)
		zeros := b.op1("ZerosLike", nil, dy)
		out := make([]tf.Output, 2)
		if n.need[0] {
			out[0] = b.reduceTo(b.op1("SelectV2", nil, mask, dy, zeros), x, y, true)
		}
		if n.need[1] {
			out[1] = b.reduceTo(b.op1("SelectV2", nil, mask, zeros, dy), y, x, false)
		}
		return out
	}
}
