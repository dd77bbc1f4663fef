//go:build cgo

package tfgraph

import (
	"math"
)

// mathRules are the backward rules of element-wise functions, clipping,
// reflecting pads, gathers along an axis, crops and a log-softmax inside
// the network: the derivatives tf.GradientTape takes (TensorFlow's registered
// gradients), so that a model that computes log(x), |x|, sin(x), a reflect
// pad or tf.gather(x, channels) on the way to its logits is explained
// instead of refused.
func mathRules() map[string]Rule {
	// unary is the rule dx = dy · f'(x, y) for a derivative d made of ops.
	unary := func(d func(b *Builder, x, y Sym) Sym) Rule {
		return func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("Mul", nil, n.Dy[0], d(b, n.In[0], n.Out[0])))
		}
	}
	op := func(b *Builder, name string, x Sym) Sym { return b.op1(name, nil, x) }
	c := func(b *Builder, v float64, like Sym) Sym { return b.constLike(v, like) }
	recip := func(b *Builder, x Sym) Sym { return op(b, "Reciprocal", x) }
	// oneMinusSq is 1 − x².
	oneMinusSq := func(b *Builder, x Sym) Sym { return b.op1("Sub", nil, c(b, 1, x), op(b, "Square", x)) }
	return map[string]Rule{
		"Log":   unary(func(b *Builder, x, _ Sym) Sym { return recip(b, x) }),
		"Log1p": unary(func(b *Builder, x, _ Sym) Sym { return recip(b, b.op1("AddV2", nil, c(b, 1, x), x)) }),
		"Reciprocal": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("ReciprocalGrad", nil, n.Out[0], n.Dy[0]))
		},
		"Inv": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("ReciprocalGrad", nil, n.Out[0], n.Dy[0]))
		},
		"Abs":   unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Sign", x) }),
		"Expm1": unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Exp", x) }),
		"Erfc": unary(func(b *Builder, x, _ Sym) Sym {
			return b.op1("Mul", nil, op(b, "Exp", op(b, "Neg", op(b, "Square", x))), c(b, -2/math.Sqrt(math.Pi), x))
		}),
		"Sin":  unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Cos", x) }),
		"Cos":  unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Neg", op(b, "Sin", x)) }),
		"Tan":  unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Square", recip(b, op(b, "Cos", x))) }),
		"Sinh": unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Cosh", x) }),
		"Cosh": unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Sinh", x) }),
		"Asin": unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Rsqrt", oneMinusSq(b, x)) }),
		"Acos": unary(func(b *Builder, x, _ Sym) Sym { return op(b, "Neg", op(b, "Rsqrt", oneMinusSq(b, x))) }),
		"Atan": unary(func(b *Builder, x, _ Sym) Sym {
			return recip(b, b.op1("AddV2", nil, c(b, 1, x), op(b, "Square", x)))
		}),
		"Asinh": unary(func(b *Builder, _, y Sym) Sym { return recip(b, op(b, "Cosh", y)) }),
		"Acosh": unary(func(b *Builder, _, y Sym) Sym { return recip(b, op(b, "Sinh", y)) }),
		"Atanh": unary(func(b *Builder, x, _ Sym) Sym { return recip(b, oneMinusSq(b, x)) }),
		"Softsign": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("SoftsignGrad", nil, n.Dy[0], n.In[0]))
		},
		// ClipByValue: the signal passes where lo ≤ x ≤ hi, to x; the
		// bounds get the rest, reduced to their shapes.
		"ClipByValue": func(b *Builder, n *Node) []Sym {
			x, lo, hi, dy := n.In[0], n.In[1], n.In[2], n.Dy[0]
			zeros := b.op1("ZerosLike", nil, dy)
			below := b.op1("Less", nil, x, lo)
			above := b.op1("Greater", nil, x, hi)
			out := make([]Sym, 3)
			if n.Need[0] {
				out[0] = b.op1("SelectV2", nil, b.op1("LogicalOr", nil, below, above), zeros, dy)
			}
			if n.Need[1] {
				out[1] = b.reduceTo(b.op1("SelectV2", nil, below, dy, zeros), lo, x, true)
			}
			if n.Need[2] {
				out[2] = b.reduceTo(b.op1("SelectV2", nil, above, dy, zeros), hi, x, true)
			}
			return out
		},
		// A reflect or symmetric pad: MirrorPadGrad folds the padding's
		// signal back onto the values it copied.
		"MirrorPad": func(b *Builder, n *Node) []Sym {
			return one(n, b.op1("MirrorPadGrad", attrs(n.def, "mode"), n.Dy[0], n.In[1]))
		},
		// LogSoftmax inside the network: dx = dy − Σdy · softmax(x).
		"LogSoftmax": func(b *Builder, n *Node) []Sym {
			s := b.op1("Sum", map[string]any{"keep_dims": true}, n.Dy[0], b.constI32([]int32{-1}))
			return one(n, b.op1("Sub", nil, n.Dy[0], b.op1("Mul", nil, s, op(b, "Exp", n.Out[0]))))
		},
		"GatherV2": gatherRule,
		// tf.image.crop_and_resize: the signal of each crop goes back to the
		// pixels it was sampled from (CropAndResizeGradImage, bilinear or
		// nearest) and to the boxes' coordinates (CropAndResizeGradBoxes,
		// as TensorFlow's gradient, bilinear for both methods); box indices
		// and size take none.
		"CropAndResize": func(b *Builder, n *Node) []Sym {
			out := make([]Sym, len(n.In))
			if n.Need[0] {
				a := map[string]any{"T": n.In[0].DataType()}
				if v, ok := attr(n.def, "method"); ok {
					a["method"] = v
				}
				out[0] = b.op1("CropAndResizeGradImage", a, n.Dy[0], n.In[1], n.In[2], b.shape(n.In[0]))
			}
			if n.Need[1] {
				out[1] = b.op1("CropAndResizeGradBoxes", nil, n.Dy[0], n.In[0], n.In[1], n.In[2])
			}
			return out
		},
	}
}

// gatherRule is the rule of tf.gather(params, indices, axis) with constant
// indices and axis and no batch dimensions (a channel permutation such as
// RGB to BGR, a subset of classes or tokens): each value's signal goes back
// to the entry it was taken from, summed where one was taken twice
// (UnsortedSegmentSum over the axis moved first), as TensorFlow's gradient
// does.
func gatherRule(b *Builder, n *Node) []Sym {
	out := make([]Sym, len(n.In))
	if !n.Need[0] {
		return out
	}
	idx, okI := b.fl.constInts(n.def.GetInput()[1])
	axes, okA := b.fl.constInts(n.def.GetInput()[2])
	bd, _ := attr(n.def, "batch_dims")
	rank := n.In[0].Shape().NumDimensions()
	is := n.In[1].Shape()
	if !okI || !okA || len(axes) != 1 || (bd != nil && bd != int64(0)) || rank < 1 || is.NumDimensions() != 1 {
		b.Fail("GatherV2 %s: the rule needs constant indices of one axis, a constant axis and no batch dimensions", n.Name())
		return nil
	}
	axis := int(axes[0])
	if axis < 0 {
		axis += rank
	}
	// perm moves the axis first; inv moves it back.
	perm := []int32{int32(axis)}
	for i := range rank {
		if i != axis {
			perm = append(perm, int32(i))
		}
	}
	inv := make([]int32, rank)
	for i, p := range perm {
		inv[p] = int32(i)
	}
	ids := make([]int32, len(idx))
	for i, v := range idx {
		ids[i] = int32(v)
	}
	size := b.op1("StridedSlice", map[string]any{"shrink_axis_mask": int64(1)}, b.shape(n.In[0]), b.constI32([]int32{int32(axis)}), b.constI32([]int32{int32(axis + 1)}), b.constI32([]int32{1}))
	moved := b.op1("Transpose", nil, n.Dy[0], b.constI32(perm))
	sum := b.op1("UnsortedSegmentSum", nil, moved, b.constI32(ids), size)
	out[0] = b.op1("Transpose", nil, sum, b.constI32(inv))
	return out
}
