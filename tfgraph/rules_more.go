//go:build cgo

package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
)

// Rules for ops that users' models bring beyond the zoo: the tanh form of
// gelu (Pow), local response normalisation (LRN), the space-to-batch
// rewrite of dilated convolutions, and the ops of Keras' image augmentation
// layers (ReverseV2, ImageProjectiveTransformV3, EnsureShape). Each is the
// derivative TensorFlow registers for the op (the oracle of the edge-model
// tests, savedmodels/build_edge.py).

func init() {
	pass := func(b *Builder, n *Node) []Sym { return one(n, n.Dy[0]) }
	plainRules["EnsureShape"] = pass
	plainRules["Pow"] = powRule
	plainRules["LRN"] = func(b *Builder, n *Node) []Sym {
		a := attrs(n.def, "depth_radius", "bias", "alpha", "beta")
		return one(n, b.op1("LRNGrad", a, n.Dy[0], n.In[0], n.Out[0]))
	}
	// SpaceToBatchND(x, block_shape, paddings) and BatchToSpaceND(x,
	// block_shape, crops) are each other's transpose.
	plainRules["SpaceToBatchND"] = func(b *Builder, n *Node) []Sym {
		return one(n, b.op1("BatchToSpaceND", nil, n.Dy[0], n.In[1], n.In[2]))
	}
	plainRules["BatchToSpaceND"] = func(b *Builder, n *Node) []Sym {
		return one(n, b.op1("SpaceToBatchND", nil, n.Dy[0], n.In[1], n.In[2]))
	}
	plainRules["SpaceToBatch"] = func(b *Builder, n *Node) []Sym { // inputs: x, paddings
		return one(n, b.op1("BatchToSpace", attrs(n.def, "block_size"), n.Dy[0], n.In[1]))
	}
	plainRules["BatchToSpace"] = func(b *Builder, n *Node) []Sym { // inputs: x, crops
		return one(n, b.op1("SpaceToBatch", attrs(n.def, "block_size"), n.Dy[0], n.In[1]))
	}
	plainRules["ReverseV2"] = func(b *Builder, n *Node) []Sym { // inputs: x, axis
		return one(n, b.op1("ReverseV2", nil, n.Dy[0], n.In[1]))
	}
	plainRules["ImageProjectiveTransformV3"] = projectiveTransformRule
	plainRules["PReLU"] = preluRule // a composite (composite.go)
}

// powRule: for z = x^y, dx = dy·y·x^(y−1) and dy = dy·z·log(x) where x > 0
// (0 elsewhere), each summed over broadcast axes (TensorFlow's _PowGrad).
func powRule(b *Builder, n *Node) []Sym {
	x, y, z, dy := n.In[0], n.In[1], n.Out[0], n.Dy[0]
	out := make([]Sym, 2)
	if n.Need[0] {
		ym1 := b.op1("Sub", nil, y, b.constLike(1, y))
		g := b.op1("Mul", nil, b.op1("Mul", nil, dy, y), b.op1("Pow", nil, x, ym1))
		out[0] = b.reduceTo(g, x, y, true)
	}
	if n.Need[1] {
		pos := b.op1("Greater", nil, x, b.constLike(0, x))
		safe := b.op1("SelectV2", nil, pos, x, b.op1("OnesLike", nil, x))
		logx := b.op1("SelectV2", nil, pos, b.op1("Log", nil, safe), b.op1("ZerosLike", nil, x))
		g := b.op1("Mul", nil, b.op1("Mul", nil, dy, z), logx)
		out[1] = b.reduceTo(g, y, x, false)
	}
	return out
}

// projectiveTransformRule transforms the signal with the inverse of each
// image's projective transform, filling with zeros, as TensorFlow's
// registered gradient of ImageProjectiveTransformV3 does (for nearest
// interpolation the exact transpose only where the map is one-to-one).
func projectiveTransformRule(b *Builder, n *Node) []Sym { // inputs: images, transforms [N,8] or [8], output_shape, fill_value
	t := b.castTo(n.In[1], tf.Float)
	if r := n.In[1].Shape().NumDimensions(); r == 1 {
		t = b.op1("ExpandDims", nil, t, b.scalarI32(0))
	} else if r != 2 {
		b.Fail("ImageProjectiveTransformV3 %s: transforms of rank %d", n.Name(), r)
		return nil
	}
	// [N,8] → [N,3,3] with a 1 in the last place, inverted, back to [N,8]
	// normalised by the last entry.
	ones := b.op1("OnesLike", nil, b.op1("Slice", nil, t, b.constI32([]int32{0, 0}), b.constI32([]int32{-1, 1})))
	m := b.op1("Reshape", nil, b.concat([]Sym{t, ones}, b.scalarI32(1)), b.constI32([]int32{-1, 3, 3}))
	inv := b.op1("Reshape", nil, b.op1("MatrixInverse", nil, m), b.constI32([]int32{-1, 9}))
	last := b.op1("Slice", nil, inv, b.constI32([]int32{0, 8}), b.constI32([]int32{-1, 1}))
	flat := b.op1("Slice", nil, b.op1("RealDiv", nil, inv, last), b.constI32([]int32{0, 0}), b.constI32([]int32{-1, 8}))
	size := b.op1("StridedSlice", map[string]any{"begin_mask": int64(0), "end_mask": int64(0)},
		b.shape(n.In[0]), b.constI32([]int32{1}), b.constI32([]int32{3}), b.constI32([]int32{1}))
	a := attrs(n.def, "interpolation", "fill_mode", "dtype")
	return one(n, b.op1("ImageProjectiveTransformV3", a, n.Dy[0], flat, size, b.constF32(0)))
}
