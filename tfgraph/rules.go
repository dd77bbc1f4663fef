//go:build cgo

package tfgraph

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// one returns a slice with signal g for input 0 only.
func one(n *Node, g Sym) []Sym {
	out := make([]Sym, len(n.In))
	out[0] = g
	return out
}

var plainRules map[string]Rule

func init() {
	pass := func(b *Builder, n *Node) []Sym { return one(n, n.Dy[0]) }
	reshapeBack := func(b *Builder, n *Node) []Sym {
		return one(n, b.op1("Reshape", nil, n.Dy[0], b.shape(n.In[0])))
	}
	plainRules = map[string]Rule{
		"Identity":   pass,
		"Snapshot":   pass,
		"BiasAdd":    pass,
		"Reshape":    reshapeBack,
		"Squeeze":    reshapeBack,
		"ExpandDims": reshapeBack,
		"IdentityN":  func(b *Builder, n *Node) []Sym { return n.Dy[:len(n.In)] },
		"Relu":       func(b *Builder, n *Node) []Sym { return one(n, b.op1("ReluGrad", nil, n.Dy[0], n.Out[0])) },
		"Relu6":      func(b *Builder, n *Node) []Sym { return one(n, b.op1("Relu6Grad", nil, n.Dy[0], n.In[0])) },
		"Elu":        func(b *Builder, n *Node) []Sym { return one(n, b.op1("EluGrad", nil, n.Dy[0], n.Out[0])) },
		"Selu":       func(b *Builder, n *Node) []Sym { return one(n, b.op1("SeluGrad", nil, n.Dy[0], n.Out[0])) },
		"Sigmoid":    func(b *Builder, n *Node) []Sym { return one(n, b.op1("SigmoidGrad", nil, n.Out[0], n.Dy[0])) },
		"Tanh":       func(b *Builder, n *Node) []Sym { return one(n, b.op1("TanhGrad", nil, n.Out[0], n.Dy[0])) },
		"Softplus":   func(b *Builder, n *Node) []Sym { return one(n, b.op1("SoftplusGrad", nil, n.Dy[0], n.In[0])) },
		"Neg":        func(b *Builder, n *Node) []Sym { return one(n, b.op1("Neg", nil, n.Dy[0])) },
		"LeakyRelu": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("LeakyReluGrad", attrs(n.def, "alpha"), n.Dy[0], n.In[0]))
		},
		"Rsqrt": func(b *Builder, n *Node) []Sym { return one(n, b.op1("RsqrtGrad", nil, n.Out[0], n.Dy[0])) },
		"Sqrt":  func(b *Builder, n *Node) []Sym { return one(n, b.op1("SqrtGrad", nil, n.Out[0], n.Dy[0])) },
		"Exp":   func(b *Builder, n *Node) []Sym { return one(n, b.op1("Mul", nil, n.Dy[0], n.Out[0])) },
		"Square": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("Mul", nil, n.Dy[0], b.op1("Mul", nil, n.In[0], b.constLike(2, n.In[0]))))
		},
		// StopGradient passes nothing back: what tf.GradientTape does (in
		// LayerNormalization's moments the stopped mean has zero derivative
		// anyway).
		"StopGradient": func(b *Builder, n *Node) []Sym { return make([]Sym, len(n.In)) },
		// Erf: d erf(x)/dx = 2/√π · exp(−x²) (gelu).
		"Erf": func(b *Builder, n *Node) []Sym {
			x := n.In[0]
			e := b.op1("Exp", nil, b.op1("Neg", nil, b.op1("Square", nil, x)))
			return one(n, b.op1("Mul", nil, n.Dy[0], b.op1("Mul", nil, e, b.constLike(2/math.Sqrt(math.Pi), x))))
		},
		"SquaredDifference": func(b *Builder, n *Node) []Sym {
			out := make([]Sym, 2)
			x, y, dy := n.In[0], n.In[1], n.Dy[0]
			g := b.op1("Mul", nil, dy, b.op1("Mul", nil, b.op1("Sub", nil, x, y), b.constLike(2, x)))
			if n.Need[0] {
				out[0] = b.reduceTo(g, x, y, true)
			}
			if n.Need[1] {
				out[1] = b.reduceTo(b.op1("Neg", nil, g), y, x, false)
			}
			return out
		},
		// Max over axes: the signal goes to the maxima, shared equally among
		// ties (TensorFlow's rule).
		"Max": extremumRule,
		"Min": extremumRule,
		// Conv2DBackpropInput as a forward op (Conv2DTranspose): its input
		// signal is the convolution of the signal with the same filter.
		"Conv2DBackpropInput": func(b *Builder, n *Node) []Sym { // inputs: sizes, filter, out_backprop
			a := attrs(n.def, "strides", "padding", "data_format", "dilations", "explicit_paddings", "use_cudnn_on_gpu")
			out := make([]Sym, len(n.In))
			out[2] = b.op1("Conv2D", a, n.Dy[0], n.In[1])
			return out
		},
		// Tile: the signal of each copy summed back onto the tile.
		"Tile": func(b *Builder, n *Node) []Sym { // inputs: x, multiples
			rank := n.In[0].Shape().NumDimensions()
			if rank < 0 {
				b.Fail("Tile %s: input rank unknown", n.Name())
				return nil
			}
			mult := b.op1("Cast", map[string]any{"DstT": tf.Int32}, n.In[1])
			split := b.op1("Reshape", nil, b.op1("Transpose", nil, b.pack([]Sym{mult, b.shape(n.In[0])}, nil), b.constI32([]int32{1, 0})), b.constI32([]int32{-1}))
			axes := make([]int32, rank)
			for i := range axes {
				axes[i] = int32(2 * i)
			}
			sum := b.op1("Sum", map[string]any{"keep_dims": false}, b.op1("Reshape", nil, n.Dy[0], split), b.constI32(axes))
			return one(n, b.op1("Reshape", nil, sum, b.shape(n.In[0])))
		},
		"ResizeBilinear": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("ResizeBilinearGrad", attrs(n.def, "align_corners", "half_pixel_centers"), n.Dy[0], n.In[0]))
		},
		// tf.math.top_k and tf.sort: each value's signal goes back to the
		// place in its row it was taken from (TensorFlow's gradient, a
		// ScatterNd of the rows' flat indices).
		"TopKV2": func(b *Builder, n *Node) []Sym {
			x, idx := n.In[0], n.Out[1]
			if idx.DataType() != tf.Int32 {
				idx = b.op1("Cast", map[string]any{"DstT": tf.Int32}, idx)
			}
			last := func(t tf.Output) tf.Output { // [the size of t's last axis]
				return b.op1("StridedSlice", map[string]any{"end_mask": int64(1)}, b.shape(t), b.constI32([]int32{-1}), b.constI32([]int32{0}), b.constI32([]int32{1}))
			}
			rows := b.op1("Reshape", nil, idx, b.concat([]Sym{b.constI32([]int32{-1}), last(idx)}, b.scalarI32(0))) // [rows, k]
			size := b.op1("Size", map[string]any{"out_type": tf.Int32}, x)
			starts := b.op1("Range", nil, b.scalarI32(0), size, b.op1("Reshape", nil, last(x), b.constI32([]int32{})))
			flat := b.op1("Reshape", nil, b.op1("AddV2", nil, rows, b.op1("ExpandDims", nil, starts, b.scalarI32(-1))), b.constI32([]int32{-1, 1}))
			dy := b.op1("Reshape", nil, n.Dy[0], b.constI32([]int32{-1}))
			dx := b.op1("ScatterNd", nil, flat, dy, b.op1("Reshape", nil, size, b.constI32([]int32{1})))
			return one(n, b.op1("Reshape", nil, dx, b.shape(x)))
		},
		"ResizeBicubic": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("ResizeBicubicGrad", attrs(n.def, "align_corners", "half_pixel_centers"), n.Dy[0], n.In[0]))
		},
		// tf.image.resize with antialias, or by lanczos3/5, gaussian or
		// mitchellcubic (Keras' Resizing with those): images, size, scale,
		// translation.
		"ScaleAndTranslate": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("ScaleAndTranslateGrad", attrs(n.def, "kernel_type", "antialias"), n.Dy[0], n.In[0], n.In[2], n.In[3]))
		},
		// Pixel (un)shuffles (tf.nn.space_to_depth, depth_to_space, a
		// SpaceToDepth stem): each moves every value once, and the other
		// moves it back.
		"SpaceToDepth": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("DepthToSpace", attrs(n.def, "block_size", "data_format"), n.Dy[0]))
		},
		"DepthToSpace": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("SpaceToDepth", attrs(n.def, "block_size", "data_format"), n.Dy[0]))
		},
		"ExtractImagePatches": extractPatchesRule,
		"ResizeNearestNeighbor": func(b *Builder, n *Node) []Sym {
			size := b.op1("StridedSlice", map[string]any{"begin_mask": int64(0), "end_mask": int64(0)}, b.shape(n.In[0]), b.constI32([]int32{1}), b.constI32([]int32{3}), b.constI32([]int32{1}))
			return one(n, b.op1("ResizeNearestNeighborGrad", attrs(n.def, "align_corners", "half_pixel_centers"), n.Dy[0], size))
		},
		"Select":   selectRule,
		"SelectV2": selectRule,
		"Softmax": func(b *Builder, n *Node) []Sym {
			// (dy - Σ_c dy·y) · y
			y := n.Out[0]
			s := b.op1("Sum", map[string]any{"keep_dims": true}, b.op1("Mul", nil, n.Dy[0], y), b.constI32([]int32{-1}))
			return one(n, b.op1("Mul", nil, b.op1("Sub", nil, n.Dy[0], s), y))
		},
		"Conv2D": func(b *Builder, n *Node) []Sym {
			if g, ok := b.conv2DTransposedForward(n); ok {
				return one(n, g)
			}
			a := attrs(n.def, "strides", "padding", "data_format", "dilations", "explicit_paddings", "use_cudnn_on_gpu")
			return one(n, b.op1("Conv2DBackpropInput", a, b.shape(n.In[0]), n.In[1], n.Dy[0]))
		},
		"DepthwiseConv2dNative": func(b *Builder, n *Node) []Sym {
			a := attrs(n.def, "strides", "padding", "data_format", "dilations", "explicit_paddings")
			return one(n, b.op1("DepthwiseConv2dNativeBackpropInput", a, b.shape(n.In[0]), n.In[1], n.Dy[0]))
		},
		"MaxPool": func(b *Builder, n *Node) []Sym {
			a := attrs(n.def, "ksize", "strides", "padding", "data_format", "explicit_paddings")
			return one(n, b.op1("MaxPoolGrad", a, n.In[0], n.Out[0], n.Dy[0]))
		},
		"AvgPool": func(b *Builder, n *Node) []Sym {
			a := attrs(n.def, "ksize", "strides", "padding", "data_format")
			return one(n, b.op1("AvgPoolGrad", a, b.shape(n.In[0]), n.Dy[0]))
		},
		"MatMul": matMulRule,
		"AddV2":  addRule(false),
		"Add":    addRule(false),
		"Sub":    addRule(true),
		"Mul": func(b *Builder, n *Node) []Sym {
			out := make([]Sym, 2)
			x, y, dy := n.In[0], n.In[1], n.Dy[0]
			if n.Need[0] {
				out[0] = b.reduceTo(b.op1("Mul", nil, dy, y), x, y, true)
			}
			if n.Need[1] {
				out[1] = b.reduceTo(b.op1("Mul", nil, x, dy), y, x, false)
			}
			return out
		},
		"RealDiv": func(b *Builder, n *Node) []Sym {
			out := make([]Sym, 2)
			x, y, dy := n.In[0], n.In[1], n.Dy[0]
			if n.Need[0] {
				out[0] = b.reduceTo(b.op1("RealDiv", nil, dy, y), x, y, true)
			}
			if n.Need[1] {
				// -dy · x / y²
				q := b.op1("RealDiv", nil, b.op1("RealDiv", nil, x, y), y)
				out[1] = b.reduceTo(b.op1("Neg", nil, b.op1("Mul", nil, dy, q)), y, x, false)
			}
			return out
		},
		"AddN": func(b *Builder, n *Node) []Sym {
			out := make([]Sym, len(n.In))
			for i := range out {
				out[i] = n.Dy[0]
			}
			return out
		},
		"Mean":  reduceRule(true),
		"Sum":   reduceRule(false),
		"Pad":   padRule,
		"PadV2": padRule,
		"ConcatV2": func(b *Builder, n *Node) []Sym {
			k := len(n.In) - 1 // inputs: values..., axis
			shapes := make(tf.OutputList, k)
			for i := 0; i < k; i++ {
				shapes[i] = b.shape(n.In[i])
			}
			if b.err != nil {
				return nil
			}
			offs, err := b.g.AddOperation(tf.OpSpec{Type: "ConcatOffset", Name: b.name("ConcatOffset"),
				Input: []tf.Input{n.In[k], shapes}})
			if err != nil {
				b.err = err
				return nil
			}
			out := make([]Sym, len(n.In))
			for i := 0; i < k; i++ {
				if n.Need[i] {
					out[i] = b.op1("Slice", nil, n.Dy[0], offs.Output(i), shapes[i])
				}
			}
			return out
		},
		// Cast: the signal goes back in the source's dtype (a float16 layer
		// of a mixed-precision model gets a float16 signal, as in
		// tf.GradientTape); from an integer source nothing flows.
		"Cast": func(b *Builder, n *Node) []Sym {
			src, _ := attr(n.def, "SrcT")
			dt, ok := src.(tf.DataType)
			if !ok || !isFloat(dt) {
				return make([]Sym, len(n.In))
			}
			return one(n, b.castTo(n.Dy[0], dt))
		},
		"Transpose": func(b *Builder, n *Node) []Sym {
			inv := b.op1("InvertPermutation", nil, n.In[1])
			return one(n, b.op1("Transpose", nil, n.Dy[0], inv))
		},
		"StridedSlice": func(b *Builder, n *Node) []Sym {
			a := attrs(n.def, "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
			return one(n, b.op1("StridedSliceGrad", a, b.shape(n.In[0]), n.In[1], n.In[2], n.In[3], n.Dy[0]))
		},
		"Maximum": minMaxRule("GreaterEqual"),
		"Minimum": minMaxRule("LessEqual"),
		"Unpack": func(b *Builder, n *Node) []Sym {
			return one(n, b.pack(b.filled(n), attrs(n.def, "axis")))
		},
		"Split": func(b *Builder, n *Node) []Sym { // inputs: split_dim, value
			out := make([]Sym, len(n.In))
			out[1] = b.concat(b.filled(n), n.In[0])
			return out
		},
		"SplitV": func(b *Builder, n *Node) []Sym { // inputs: value, size_splits, axis
			return one(n, b.concat(b.filled(n), n.In[2]))
		},
		"Pack": func(b *Builder, n *Node) []Sym {
			if b.err != nil {
				return nil
			}
			a := attrs(n.def, "axis")
			a["num"] = int64(len(n.In))
			u, err := b.g.AddOperation(tf.OpSpec{Type: "Unpack", Name: b.name("Unpack"), Input: []tf.Input{n.Dy[0]}, Attrs: a})
			if err != nil {
				b.err = err
				return nil
			}
			out := make([]Sym, len(n.In))
			for i := range out {
				out[i] = u.Output(i)
			}
			return out
		},
		"Slice": func(b *Builder, n *Node) []Sym { // inputs: x, begin, size
			sx := b.shape(n.In[0])
			begin := b.op1("Cast", map[string]any{"DstT": tf.Int32}, n.In[1])
			after := b.op1("Sub", nil, b.op1("Sub", nil, sx, begin), b.shape(n.Dy[0]))
			pads := b.pack([]Sym{begin, after}, map[string]any{"axis": int64(1)})
			return one(n, b.op1("Pad", nil, n.Dy[0], pads))
		},
		"FusedBatchNormV3": func(b *Builder, n *Node) []Sym {
			// Inference mode: y = (x - mean)·scale/sqrt(var + ε) + offset.
			eps, _ := attr(n.def, "epsilon")
			e, _ := eps.(float32)
			// scale and variance are float32 when x is float16 (U ≠ T).
			f := b.op1("Mul", nil, n.In[1], b.op1("Rsqrt", nil, b.op1("AddV2", nil, n.In[4], b.constLike(float64(e), n.In[4]))))
			return one(n, b.op1("Mul", nil, n.Dy[0], b.castTo(f, n.Dy[0].DataType())))
		},
	}
	maps.Copy(plainRules, mathRules())
}

func addRule(sub bool) Rule {
	return func(b *Builder, n *Node) []Sym {
		out := make([]Sym, 2)
		x, y, dy := n.In[0], n.In[1], n.Dy[0]
		if n.Need[0] {
			out[0] = b.reduceTo(dy, x, y, true)
		}
		if n.Need[1] {
			d := dy
			if sub {
				d = b.op1("Neg", nil, dy)
			}
			out[1] = b.reduceTo(d, y, x, false)
		}
		return out
	}
}

func matMulRule(b *Builder, n *Node) []Sym {
	ta, _ := attr(n.def, "transpose_a")
	tb, _ := attr(n.def, "transpose_b")
	tA, tB := ta == true, tb == true
	a, bb, dy := n.In[0], n.In[1], n.Dy[0]
	mm := func(x, y tf.Output, t1, t2 bool) tf.Output {
		return b.op1("MatMul", map[string]any{"transpose_a": t1, "transpose_b": t2}, x, y)
	}
	out := make([]Sym, 2)
	if n.Need[0] {
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
	if n.Need[1] {
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
func reduceRule(mean bool) Rule {
	return func(b *Builder, n *Node) []Sym {
		axes, ok := b.fl.constInts(n.def.GetInput()[1])
		if !ok {
			return one(n, b.reduceGradDynamic(n, mean))
		}
		rank := n.In[0].Shape().NumDimensions()
		if rank < 0 {
			b.Fail("%s %s: input rank unknown", n.def.GetOp(), n.def.GetName())
			return nil
		}
		norm := sortedAxes(axes, rank)
		dy := n.Dy[0]
		if keep, _ := attr(n.def, "keep_dims"); keep != true {
			for _, a := range norm {
				dy = b.op1("ExpandDims", nil, dy, b.constI32([]int32{int32(a)}))
			}
		}
		sx := b.shape(n.In[0])
		g := b.op1("BroadcastTo", nil, dy, sx)
		if mean {
			ax := make([]int32, len(norm))
			for i, a := range norm {
				ax[i] = int32(a)
			}
			cnt := b.op1("Prod", map[string]any{"keep_dims": false},
				b.op1("GatherV2", nil, sx, b.constI32(ax), b.scalarI32(0)), b.constI32([]int32{0}))
			g = b.op1("RealDiv", nil, g, b.op1("Cast", map[string]any{"DstT": dy.DataType()}, cnt))
		}
		return one(n, g)
	}
}

// reduceGradDynamic is the signal of a Sum or Mean whose axes are computed
// in the graph (the BroadcastGradientArgs of a backward graph, which a
// second-order graph differentiates): the signal reshaped to the input's
// shape with the reduced dimensions set to 1 (DynamicStitch, as
// TensorFlow's reduced_shape), broadcast to the input, divided by the
// reduced count for a Mean.
func (b *Builder) reduceGradDynamic(n *Node, mean bool) Sym {
	sx := b.shape(n.In[0])
	rank := b.op1("Size", map[string]any{"out_type": tf.Int32}, sx)
	axes := b.castTo(n.In[1], tf.Int32)
	axes = b.op1("FloorMod", nil, b.op1("AddV2", nil, axes, rank), rank)
	ranges := b.op1("Range", nil, b.scalarI32(0), rank, b.scalarI32(1))
	reduced := b.op("DynamicStitch", []tf.Input{tf.OutputList{ranges, axes}, tf.OutputList{sx, b.op1("OnesLike", nil, axes)}}, nil)
	g := b.op1("BroadcastTo", nil, b.op1("Reshape", nil, n.Dy[0], reduced), sx)
	if mean {
		cnt := b.op1("Prod", map[string]any{"keep_dims": false}, b.op1("GatherV2", nil, sx, axes, b.scalarI32(0)), b.constI32([]int32{0}))
		g = b.op1("RealDiv", nil, g, b.op1("Cast", map[string]any{"DstT": n.Dy[0].DataType()}, cnt))
	}
	return g
}

// selectRule routes the signal of Select(cond, t, e) to t where cond holds
// and to e elsewhere.
func selectRule(b *Builder, n *Node) []Sym {
	cond, t, e, dy := n.In[0], n.In[1], n.In[2], n.Dy[0]
	zeros := b.op1("ZerosLike", nil, dy)
	out := make([]Sym, 3)
	if n.Need[1] {
		out[1] = b.reduceTo(b.op1("SelectV2", nil, cond, dy, zeros), t, e, true)
	}
	if n.Need[2] {
		out[2] = b.reduceTo(b.op1("SelectV2", nil, cond, zeros, dy), e, t, true)
	}
	return out
}

func padRule(b *Builder, n *Node) []Sym {
	pads, ok := b.fl.constInts(n.def.GetInput()[1])
	if !ok {
		b.Fail("%s %s: paddings are not a constant", n.def.GetOp(), n.def.GetName())
		return nil
	}
	begin := make([]int32, len(pads)/2)
	for i := range begin {
		begin[i] = int32(pads[2*i])
	}
	return one(n, b.op1("Slice", nil, n.Dy[0], b.constI32(begin), b.shape(n.In[0])))
}

// constInts reads an integer Const tensor of the flat graph.
func (fl *Flat) constInts(name string) ([]int64, bool) { return constIntsIn(fl.nodes, name) }

// constIntsIn reads an integer Const tensor of a graph's nodes, by name,
// through Identity ops.
func constIntsIn(nodes map[string]*nodepb.NodeDef, name string) ([]int64, bool) {
	n := nodes[nodeOf(name)]
	for n != nil && n.GetOp() == "Identity" && len(n.GetInput()) == 1 {
		n = nodes[nodeOf(n.GetInput()[0])]
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
func (b *Builder) filled(n *Node) []Sym {
	out := make([]Sym, len(n.Out))
	for i := range out {
		if n.Dy[i].Op != nil {
			out[i] = n.Dy[i]
		} else {
			out[i] = b.op1("ZerosLike", nil, n.Out[i])
		}
	}
	return out
}

func (b *Builder) pack(xs []Sym, a map[string]any) tf.Output {
	list := make(tf.OutputList, len(xs))
	copy(list, xs)
	return b.op("Pack", []tf.Input{list}, a)
}

func (b *Builder) concat(xs []Sym, axis tf.Output) tf.Output {
	list := make(tf.OutputList, len(xs))
	copy(list, xs)
	return b.op("ConcatV2", []tf.Input{list, axis}, nil)
}

// minMaxRule routes the signal of Maximum (cmp GreaterEqual) or Minimum
// (LessEqual) to the input that was selected, x on ties (as TensorFlow does).
func minMaxRule(cmp string) Rule {
	return func(b *Builder, n *Node) []Sym {
		x, y, dy := n.In[0], n.In[1], n.Dy[0]
		mask := b.op1(cmp, nil, x, y)
		zeros := b.op1("ZerosLike", nil, dy)
		out := make([]Sym, 2)
		if n.Need[0] {
			out[0] = b.reduceTo(b.op1("SelectV2", nil, mask, dy, zeros), x, y, true)
		}
		if n.Need[1] {
			out[1] = b.reduceTo(b.op1("SelectV2", nil, mask, zeros, dy), y, x, false)
		}
		return out
	}
}

// flippedKernel is an HWIO kernel flipped in H and W with I and O swapped:
// made once from a weight (a derived weight), or in the graph at every run
// from a computed kernel.
func (b *Builder) flippedKernel(w tf.Output, k []int64) tf.Output {
	if wt, ok := b.fl.weightAt(w); ok {
		if d, ok := b.derivedOf(wt, "flipswap", []int64{k[0], k[1], k[3], k[2]}, flipSwap); ok {
			return d
		}
	}
	flip := func(w tf.Output) tf.Output {
		if k[0] > 1 || k[1] > 1 {
			w = b.op1("ReverseV2", nil, w, b.constI32([]int32{0, 1}))
		}
		return b.op1("Transpose", nil, w, b.constI32([]int32{0, 1, 3, 2}))
	}
	if d := b.fl.bw.derived.byOut[w]; d != nil {
		// A derived expression (an LRP rule's modified kernel): its flip
		// is derived from the same weights.
		return b.derivedExpr(d.key+"#flipswap", d.weights, func() Sym { return flip(d.expr) })
	}
	return flip(w)
}

// conv2DTransposedForward is the input signal of a stride-1, undilated NHWC
// Conv2D as a forward Conv2D of the signal with the kernel flipped in space
// and its channel axes swapped, padded by k−1−p on each side where the
// forward conv padded p: the same sums as Conv2DBackpropInput in another
// order. On CPU (oneDNN) the forward convolution is the faster kernel: the
// backward convolutions of ResNet50 at batch 8 take 1.38 s as
// Conv2DBackpropInput and about a third less this way. ok is false under
// ConvBackwardExact (Options.ConvBackward) and for
// strided, dilated (which Conv2DBackpropInput refuses on CPU anyway), NCHW
// or unknown-size kernels, which keep Conv2DBackpropInput.
func (b *Builder) conv2DTransposedForward(n *Node) (Sym, bool) {
	if b.fl.model.convBackward == ConvBackwardExact {
		return Sym{}, false
	}
	strides, _ := attr(n.def, "strides")
	dil, hasDil := attr(n.def, "dilations")
	format, _ := attr(n.def, "data_format")
	pad, _ := attr(n.def, "padding")
	ones := func(v any) bool {
		l, ok := v.([]int64)
		if !ok || len(l) != 4 {
			return false
		}
		for _, x := range l {
			if x != 1 {
				return false
			}
		}
		return true
	}
	if !ones(strides) || (hasDil && !ones(dil)) || (format != nil && format != "NHWC") {
		return Sym{}, false
	}
	k, err := n.In[1].Shape().ToSlice()
	if err != nil || len(k) != 4 || k[0] <= 0 || k[1] <= 0 {
		return Sym{}, false
	}
	// before, after: the forward padding of H and W.
	var before, after [2]int64
	switch pad {
	case "VALID":
	case "SAME":
		for i := 0; i < 2; i++ {
			before[i] = (k[i] - 1) / 2
			after[i] = k[i] - 1 - before[i]
		}
	case "EXPLICIT":
		e, _ := attr(n.def, "explicit_paddings")
		l, ok := e.([]int64)
		if !ok || len(l) != 8 {
			return Sym{}, false
		}
		before, after = [2]int64{l[2], l[4]}, [2]int64{l[3], l[5]}
	default:
		return Sym{}, false
	}
	// A forward padding beyond k−1 gives a negative one here: the result is
	// cropped by as much instead.
	paddings := []int64{0, 0, 0, 0, 0, 0, 0, 0}
	var cropB, cropA [2]int64
	for i := 0; i < 2; i++ {
		pb, pa := k[i]-1-before[i], k[i]-1-after[i]
		paddings[2+2*i], paddings[3+2*i] = max(pb, 0), max(pa, 0)
		cropB[i], cropA[i] = max(-pb, 0), max(-pa, 0)
	}
	w := b.flippedKernel(n.In[1], k)
	a := map[string]any{"strides": []int64{1, 1, 1, 1}, "data_format": "NHWC"}
	switch {
	case paddings[2] == 0 && paddings[3] == 0 && paddings[4] == 0 && paddings[5] == 0:
		a["padding"] = "VALID"
	case paddings[2] == paddings[3] && paddings[4] == paddings[5] && paddings[2] == (k[0]-1)/2 && paddings[4] == (k[1]-1)/2 && k[0]%2 == 1 && k[1]%2 == 1:
		a["padding"] = "SAME"
	default:
		a["padding"] = "EXPLICIT"
		a["explicit_paddings"] = paddings
	}
	dx := b.op1("Conv2D", a, n.Dy[0], w)
	if cropB == [2]int64{} && cropA == [2]int64{} {
		return dx, true
	}
	// Crop with StridedSlice: begin cropB, end −cropA (the mask keeps the
	// batch, the channels and any side not cropped to its end).
	endMask := int64(1 | 8)
	for i := 0; i < 2; i++ {
		if cropA[i] == 0 {
			endMask |= 1 << (i + 1)
		}
	}
	begin := b.constI32([]int32{0, int32(cropB[0]), int32(cropB[1]), 0})
	end := b.constI32([]int32{0, -int32(cropA[0]), -int32(cropA[1]), 0})
	return b.op1("StridedSlice", map[string]any{"begin_mask": int64(1 | 8), "end_mask": endMask}, dx, begin, end, b.constI32([]int32{1, 1, 1, 1})), true
}

// extractPatchesRule is the backward rule of tf.image.extract_patches: the
// op is the convolution (strides, padding, rates as dilations) with the
// identity kernel K[i, j, c, (i·kw + j)·C + c] = 1 that copies each patch's
// values, in TensorFlow's (row, column, channel) order, into its depth, so
// its transpose is Conv2DBackpropInput by K. It needs the channel count C.
func extractPatchesRule(b *Builder, n *Node) []Sym {
	ks, _ := attr(n.def, "ksizes")
	k, ok := ks.([]int64)
	c := b.fl.Shape(n.def.GetInput()[0])
	if !ok || len(k) != 4 || len(c) != 4 || c[3] < 1 || k[1] < 1 || k[2] < 1 || k[1]*k[2]*c[3]*k[1]*k[2]*c[3] > 1<<26 {
		b.refuse(n, "plain", fmt.Sprintf("patches %v of an input of shape %v: the rule needs the input's channel count and patches of at most 8192 values", ks, c))
		return make([]Sym, len(n.In))
	}
	kh, kw, ch := int(k[1]), int(k[2]), int(c[3])
	depth := kh * kw * ch
	kernel := make([][][][]float32, kh)
	for i := range kernel {
		kernel[i] = make([][][]float32, kw)
		for j := range kernel[i] {
			kernel[i][j] = make([][]float32, ch)
			for cc := range kernel[i][j] {
				kernel[i][j][cc] = make([]float32, depth)
				kernel[i][j][cc][(i*kw+j)*ch+cc] = 1
			}
		}
	}
	w := b.constant(kernel)
	if dt := n.In[0].DataType(); dt != tf.Float {
		w = b.op1("Cast", map[string]any{"DstT": dt}, w)
	}
	a := map[string]any{"padding": "VALID"}
	if v, ok := attr(n.def, "padding"); ok {
		a["padding"] = v
	}
	if v, ok := attr(n.def, "strides"); ok {
		a["strides"] = v
	}
	if v, ok := attr(n.def, "rates"); ok {
		a["dilations"] = v
	}
	return one(n, b.op1("Conv2DBackpropInput", a, b.shape(n.In[0]), w, n.Dy[0]))
}

// extremumRule is the rule of a reduction to the maximum (Max) or minimum
// (Min): the signal goes to the entries equal to the result, shared
// equally among ties, as tf.GradientTape does.
func extremumRule(b *Builder, n *Node) []Sym {
	axes, ok := b.fl.constInts(n.def.GetInput()[1])
	if !ok {
		b.Fail("%s %s: reduction axes are not a constant", n.Op(), n.Name())
		return nil
	}
	x := n.In[0]
	y, dy := n.Out[0], n.Dy[0]
	if keep, _ := attr(n.def, "keep_dims"); keep != true {
		for _, a := range sortedAxes(axes, x.Shape().NumDimensions()) {
			y = b.op1("ExpandDims", nil, y, b.constI32([]int32{int32(a)}))
			dy = b.op1("ExpandDims", nil, dy, b.constI32([]int32{int32(a)}))
		}
	}
	ind := b.op1("Cast", map[string]any{"DstT": x.DataType()}, b.op1("Equal", nil, x, y))
	count := b.op1("Sum", map[string]any{"keep_dims": true}, ind, n.In[1])
	return one(n, b.op1("Mul", nil, b.op1("RealDiv", nil, ind, count), dy))
}

// sortedAxes are reduction axes made non-negative for a tensor of rank
// rank, in increasing order.
func sortedAxes(axes []int64, rank int) []int {
	norm := make([]int, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		norm[i] = int(a)
	}
	sortInts(norm)
	return norm
}
