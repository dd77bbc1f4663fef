//go:build cgo

package tfgraph

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	tf "github.com/wamuir/graft/tensorflow"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"google.golang.org/protobuf/proto"
)

// Receptive fields are computed from the graph alone, weights unseen: a
// weight that happens to be zero still counts. Each tensor that depends on
// the input's pixels gets a layout: its axes, each a row-major product of
// atoms, where an atom is the input's rows, its columns, or anything else
// (the batch, channels, heads). The rows and columns atoms carry their
// field, twice: nominal, unit i covering the input interval
// [start + i·stride, start + i·stride + size) (every input pixel p it can
// depend on has [p, p+1) inside it), and exact, the pixel interval of each
// unit. An op maps unit y of its output to the units of its input in
// [α·y + β, α·y + β + γ] (rfMap): the nominal field follows the map
// (rfSpan.through), the exact one takes the hull of the intervals of the
// units y reads, which leaves out padding (rfState.mapped). Elementwise ops
// take the union of their inputs' fields; ops that only move axes (Reshape,
// Transpose, a Dense layer's Tensordot) move the atoms; an op that reduces
// or contracts an axis holding the rows or columns makes the tensor global:
// its units can depend on the whole image. Shapes come from the flat graph
// imported again with a batch of 1, where TensorFlow's shape inference
// knows them all.
//
// An op without a rule is refused by name (a *NoRuleError with the rule set
// "receptive-field"), unless all its inputs are already global: then so is
// its output, whatever it computes.

// ReceptiveField is the receptive field of the units of a tensor: for each
// unit, the box of input pixels it can depend on, as the graph's structure
// (kernels, strides, padding, dilation, pooling, resizing) bounds it.
type ReceptiveField struct {
	// Global is set when the graph does not confine a unit to a box smaller
	// than the image: its layer mixes all positions (global pooling, a
	// squeeze-and-excitation gate, attention, a dense layer over a Flatten),
	// or its positions are not laid out as the rows and columns of a map
	// (a Flatten, a class token put in front of patch tokens). H and W are
	// zero then.
	Global bool
	// H and W are the fields along the input's height (rows, y) and width
	// (columns, x).
	H, W FieldAxis
}

// FieldAxis is a receptive field along one axis: unit i of the layer can
// depend only on the input pixels p with Start + i·Stride ≤ p and
// p + 1 ≤ Start + i·Stride + Size. Convolution and pooling stacks give
// whole numbers (Start is negative under SAME padding); resizing can give
// fractions, and the interval then holds every pixel that the resize reads.
type FieldAxis struct {
	// Size is the extent of a unit's interval in input pixels.
	Size float64
	// Stride is the step between the intervals of neighbouring units
	// (negative after a flip).
	Stride float64
	// Start is where the interval of unit 0 begins.
	Start float64
	// Units is the layer's extent along the axis.
	Units int
	// Axis is the tensor axis that indexes the units: 1 for the rows and 2
	// for the columns of an [N,H,W,C] map. When H.Axis == W.Axis the
	// positions lie along one axis as tokens ([N,T,D] after a row-major
	// reshape of a map), and unit (y, x) is index y·W.Units + x.
	Axis int
	// lo and hi are the exact interval [lo[i], hi[i]) of each unit, when
	// computed (ReceptiveField sets them; Box uses them).
	lo, hi []int32
}

// Box is a half-open box of input pixels: rows Y0 ≤ y < Y1, columns
// X0 ≤ x < X1. It is empty when Y1 ≤ Y0 or X1 ≤ X0.
type Box struct {
	Y0, X0, Y1, X1 int
}

// Empty says whether the box holds no pixel.
func (b Box) Empty() bool { return b.Y1 <= b.Y0 || b.X1 <= b.X0 }

// Box is the box of input pixels that unit (y, x) can depend on, clipped to
// an image of h rows and w columns; for a global field, the whole image.
// For a field that ReceptiveField computed, the box of each unit is exact:
// the hull of the boxes of the units it reads, so it can be smaller than the
// nominal interval of its FieldAxis near the borders (a unit that reads only
// padding has an empty box) and after a resize; a FieldAxis made by hand
// gives the nominal interval.
func (f ReceptiveField) Box(y, x, h, w int) Box {
	if f.Global {
		return Box{0, 0, h, w}
	}
	y0, y1 := f.H.interval(y, h)
	x0, x1 := f.W.interval(x, w)
	return Box{Y0: y0, X0: x0, Y1: y1, X1: x1}
}

// fieldEps absorbs the rounding of fractional fields, so that the pixels at
// the ends of an interval stay in.
const fieldEps = 1e-6

// interval is the pixels [lo, hi) of unit i, clipped to [0, n).
func (a FieldAxis) interval(i, n int) (int, int) {
	start := a.Start + float64(i)*a.Stride
	lo := int(math.Ceil(start - fieldEps))
	hi := int(math.Floor(start + a.Size + fieldEps))
	if len(a.lo) == a.Units && i >= 0 && i < a.Units {
		lo, hi = int(a.lo[i]), int(a.hi[i])
	}
	lo = min(max(lo, 0), n)
	return lo, max(min(hi, n), lo)
}

// String is "14×14 /2" (size, stride; "/2×1" when the strides differ) or
// "whole image".
func (f ReceptiveField) String() string {
	if f.Global {
		return "whole image"
	}
	s := fmt.Sprintf("%g×%g /%g", f.H.Size, f.W.Size, f.H.Stride)
	if f.W.Stride != f.H.Stride {
		s += fmt.Sprintf("×%g", f.W.Stride)
	}
	return s
}

// ReceptiveField is the receptive field of the units of a flat tensor (a
// Layer's Output, say) in the pixels of the signature's input, which must
// be an image [N,H,W,C] of fixed height and width. An op on the way from the
// input that it cannot follow is a *NoRuleError (rule set
// "receptive-field") naming the op, its node and its layer; after a global
// tensor no op is refused, since no unit can see more than the image. The
// fields of all tensors are computed on the first call (one pass over the
// graph) and kept.
func (fl *Flat) ReceptiveField(tensor string) (ReceptiveField, error) {
	if _, err := fl.tensor(tensor); err != nil {
		return ReceptiveField{}, err
	}
	fields, err := fl.rf.compute(fl)
	if err != nil {
		return ReceptiveField{}, err
	}
	st, ok := fields[canonical(tensor)]
	if !ok || st == nil {
		return ReceptiveField{}, fmt.Errorf("tfgraph: %s: %s does not depend on the input's pixels", fl.model.Dir, tensor)
	}
	return fl.fieldOf(tensor, st)
}

func (fl *Flat) fieldOf(tensor string, st *rfState) (ReceptiveField, error) {
	if st.err != nil {
		return ReceptiveField{}, st.err
	}
	if st.global {
		return ReceptiveField{Global: true}, nil
	}
	if st.block != [3]int{} {
		return ReceptiveField{}, fmt.Errorf("tfgraph: %s: %s lies between a SpaceToBatchND and its BatchToSpaceND: its units are not positions of a map", fl.model.Dir, tensor)
	}
	st = st.normalized()
	var axes [3]FieldAxis
	for _, k := range []rfKind{rfRows, rfCols} {
		ax, _, _ := st.find(k)
		sp := st.span[k]
		axes[k] = FieldAxis{Size: sp.size, Stride: sp.stride, Start: sp.start, Units: st.units(k), Axis: ax, lo: st.lo[k], hi: st.hi[k]}
	}
	// Each position must be its axis on its own, or the rows then the
	// columns of one axis (tokens); other layouts are global.
	for _, ax := range []int{axes[rfRows].Axis, axes[rfCols].Axis} {
		var kinds []rfKind
		for _, a := range st.dims[ax] {
			if a.kind != rfOther || a.size != 1 {
				kinds = append(kinds, a.kind)
			}
		}
		switch {
		case len(kinds) == 1:
		case len(kinds) == 2 && kinds[0] == rfRows && kinds[1] == rfCols:
		default:
			return ReceptiveField{Global: true}, nil
		}
	}
	return ReceptiveField{H: axes[rfRows], W: axes[rfCols]}, nil
}

// rfCache holds the layouts of a flat graph's tensors, computed once and
// shared by the views of the Flat.
type rfCache struct {
	once   sync.Once
	def    *graphpb.GraphDef // the flat graph, for shapes at batch 1
	states map[string]*rfState
	err    error
}

func (c *rfCache) compute(fl *Flat) (map[string]*rfState, error) {
	c.once.Do(func() { c.states, c.err = fl.computeFields(c.def) })
	return c.states, c.err
}

// rfKind is what an atom of a layout stands for.
type rfKind uint8

const (
	rfOther rfKind = iota // the batch, channels, heads, …
	rfRows                // the input's rows
	rfCols                // the input's columns
)

type rfAtom struct {
	kind rfKind
	size int
}

// rfSpan is the field of one position atom: unit i covers the input
// interval [start + i·stride, start + i·stride + size).
type rfSpan struct{ start, stride, size float64 }

// through is the field of a unit y that reads the units u of s with
// α·y + β ≤ u ≤ α·y + β + γ.
func (s rfSpan) through(alpha, beta, gamma float64) rfSpan {
	j := s.stride
	start := s.start + j*beta
	if j < 0 {
		start = s.start + j*(beta+gamma)
	}
	return rfSpan{start: start, stride: j * alpha, size: s.size + math.Abs(j)*gamma}
}

// hull is the smallest field with a's stride that holds a and b over units
// 0..n-1 (b with stride 0: a broadcast unit).
func hull(a, b rfSpan, n int) rfSpan {
	if a == b {
		return a
	}
	j := a.stride
	if j == 0 {
		j = b.stride
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range []rfSpan{a, b} {
		for _, y := range []float64{0, float64(max(n-1, 0))} {
			l := s.start + (s.stride-j)*y
			lo, hi = math.Min(lo, l), math.Max(hi, l+s.size)
		}
	}
	return rfSpan{start: lo, stride: j, size: hi - lo}
}

// rfState is the layout of a tensor that depends on the input. A tensor
// that does not has none (nil).
type rfState struct {
	err    error // an op on the way could not be followed
	global bool
	dims   [][]rfAtom
	span   [3]rfSpan // by kind
	// lo and hi are, by kind, the exact pixel interval [lo[u], hi[u]) of
	// each unit u: the hull of the intervals of the units it reads, empty
	// (lo ≥ hi) for a unit that reads only padding.
	lo, hi [3][]int32
	// block is the block size of a SpaceToBatchND by kind (0: none): the
	// spans are then over the rows of the padded map, unit y of batch phase
	// i standing for row y·block + i.
	block [3]int
}

var rfGlobal = &rfState{global: true}

func (s *rfState) find(k rfKind) (axis, pos int, ok bool) {
	for a, d := range s.dims {
		for p, at := range d {
			if at.kind == k {
				return a, p, true
			}
		}
	}
	return 0, 0, false
}

// units is the extent of the position atom k (in padded rows after a
// SpaceToBatchND).
func (s *rfState) units(k rfKind) int {
	a, p, ok := s.find(k)
	if !ok {
		return 0
	}
	n := s.dims[a][p].size
	if s.block[k] > 0 {
		n *= s.block[k]
	}
	return n
}

func (s *rfState) clone() *rfState {
	c := *s
	c.dims = make([][]rfAtom, len(s.dims))
	for i, d := range s.dims {
		c.dims[i] = append([]rfAtom(nil), d...)
	}
	return &c
}

// normalized folds, on each axis, the atoms that follow a position (the
// copies of UpSampling2D's repeat, the phases of a pixel shuffle) into it:
// unit Y = u·m + o of such an axis sees position unit u = ⌊Y/m⌋.
func (s *rfState) normalized() *rfState {
	var res *rfState
	for ax, d := range s.dims {
		t := trimmed(d)
		if len(t) < 2 || t[0].kind == rfOther {
			continue
		}
		m := 1
		for _, a := range t[1:] {
			if a.kind != rfOther {
				m = 0
				break
			}
			m *= a.size
		}
		k := t[0].kind
		if m <= 1 || s.block[k] > 0 {
			continue
		}
		if res == nil {
			res = s.clone()
		}
		f := float64(m)
		res.mapped(k, rfMap{alpha: 1 / f, beta: -(f - 1) / f, gamma: (f - 1) / f}, t[0].size, t[0].size*m)
		res.dims[ax] = []rfAtom{{k, t[0].size * m}}
	}
	if res == nil {
		return s
	}
	return res
}

// valid makes a layout that lost its rows or columns (or holds one twice)
// global.
func (s *rfState) valid() *rfState {
	if s.err != nil || s.global {
		return s
	}
	var count [3]int
	for _, d := range s.dims {
		for _, a := range d {
			count[a.kind]++
		}
	}
	if count[rfRows] != 1 || count[rfCols] != 1 {
		return rfGlobal
	}
	return s
}

func atomsSize(d []rfAtom) int {
	n := 1
	for _, a := range d {
		n *= a.size
	}
	return n
}

// trimmed drops the atoms of size 1 that are not positions.
func trimmed(d []rfAtom) []rfAtom {
	var out []rfAtom
	for _, a := range d {
		if a.kind != rfOther || a.size != 1 {
			out = append(out, a)
		}
	}
	return out
}

func sameAtoms(a, b []rfAtom) bool { return slices.Equal(trimmed(a), trimmed(b)) }

// axisKind is the position an axis holds alone (other atoms of size 1
// aside), rfOther when it holds none, and ok false when it holds a position
// together with other atoms.
func axisKind(d []rfAtom) (rfKind, bool) {
	t := trimmed(d)
	k := rfOther
	for _, a := range t {
		if a.kind != rfOther {
			if len(t) != 1 {
				return rfOther, false
			}
			k = a.kind
		}
	}
	return k, true
}

// hasPosition says whether an axis holds a position of more than one unit.
func hasPosition(d []rfAtom) bool {
	for _, a := range d {
		if a.kind != rfOther && a.size > 1 {
			return true
		}
	}
	return false
}

// rfWalk computes the layouts of a flat graph's tensors.
type rfWalk struct {
	fl     *Flat
	g      *tf.Graph // the flat graph with the input's batch set to 1
	states map[string]*rfState
	ints   map[string][]int64
}

// computeFields walks the flat graph from the input, in graph order.
func (fl *Flat) computeFields(def *graphpb.GraphDef) (map[string]*rfState, error) {
	input := fl.inputName()
	g, err := fl.batchOneGraph(def, nodeOf(input))
	if err != nil {
		return nil, err
	}
	w := &rfWalk{fl: fl, g: g, states: map[string]*rfState{}, ints: map[string][]int64{}}
	shape := w.shape(input)
	if len(shape) != 4 || shape[1] < 1 || shape[2] < 1 {
		return nil, fmt.Errorf("tfgraph: %s: receptive fields need an image input [N,H,W,C] of fixed height and width; the input %s has shape %s",
			fl.model.Dir, input, shapeString(fl.Shape(input)))
	}
	w.states[canonical(input)] = &rfState{
		dims: [][]rfAtom{{{rfOther, shape[0]}}, {{rfRows, shape[1]}}, {{rfCols, shape[2]}}, {{rfOther, shape[3]}}},
		span: [3]rfSpan{{}, {0, 1, 1}, {0, 1, 1}},
	}
	for k, n := range map[rfKind]int{rfRows: shape[1], rfCols: shape[2]} {
		st := w.states[canonical(input)]
		st.lo[k], st.hi[k] = make([]int32, n), make([]int32, n)
		for i := range n {
			st.lo[k][i], st.hi[k][i] = int32(i), int32(i+1)
		}
	}
	start := -1
	for i, n := range fl.order {
		if n.GetName() == nodeOf(input) {
			start = i
		}
	}
	for _, n := range fl.order[start+1:] {
		w.node(n)
	}
	return w.states, nil
}

// batchOneGraph imports the flat graph (no weight values) into a scratch
// graph with the input's batch set to 1, where TensorFlow's shape inference
// knows every shape, those a Dense layer's Tensordot computes included.
func (fl *Flat) batchOneGraph(def *graphpb.GraphDef, input string) (*tf.Graph, error) {
	d := &graphpb.GraphDef{Library: def.GetLibrary(), Versions: def.GetVersions()}
	for _, n := range def.GetNode() {
		if n.GetName() == input && n.GetAttr()["shape"].GetShape() != nil {
			c := proto.Clone(n).(*nodepb.NodeDef)
			sh := proto.Clone(c.Attr["shape"].GetShape()).(*shapepb.TensorShapeProto)
			if dims := sh.GetDim(); len(dims) > 0 && dims[0].GetSize() < 0 {
				dims[0].Size = 1
			}
			c.Attr["shape"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Shape{Shape: sh}}
			n = c
		}
		d.Node = append(d.Node, n)
	}
	raw, err := proto.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: receptive fields: %w", fl.model.Dir, err)
	}
	g := tf.NewGraph()
	if err := g.ImportWithOptions(raw, tf.GraphImportOptions{}); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: receptive fields: the flat graph at batch 1: %s", fl.model.Dir, firstLine(err.Error()))
	}
	return g, nil
}

// shape is the static shape of a tensor at batch 1 (nil when unknown).
func (w *rfWalk) shape(t string) []int {
	name, idx, err := parseTensorName(t)
	if err != nil {
		return nil
	}
	op := w.g.Operation(name)
	if op == nil || idx >= op.NumOutputs() {
		return nil
	}
	s, err := op.Output(idx).Shape().ToSlice()
	if err != nil {
		return nil
	}
	out := make([]int, len(s))
	for i, d := range s {
		if d < 0 {
			return nil
		}
		out[i] = int(d)
	}
	return out
}

// constInts evaluates a small integer tensor that does not depend on the
// input (a permutation, axes, paddings): constants, and what Tensordot
// builds from them.
func (w *rfWalk) constInts(t string) ([]int64, bool) {
	t = canonical(t)
	if v, ok := w.ints[t]; ok {
		return v, v != nil
	}
	w.ints[t] = nil // no cycles
	v, ok := w.evalInts(t)
	if ok {
		w.ints[t] = v
	}
	return v, ok
}

func (w *rfWalk) evalInts(t string) ([]int64, bool) {
	if v, ok := w.fl.constInts(t); ok {
		return v, true
	}
	n := w.fl.nodes[nodeOf(t)]
	if n == nil {
		return nil, false
	}
	in := n.GetInput()
	switch n.GetOp() {
	case "Identity", "Cast":
		return w.constInts(in[0])
	case "Shape":
		s := w.shape(in[0])
		if s == nil {
			return nil, false
		}
		out := make([]int64, len(s))
		for i, d := range s {
			out[i] = int64(d)
		}
		return out, true
	case "ConcatV2", "Pack":
		parts := in
		if n.GetOp() == "ConcatV2" {
			parts = in[:len(in)-1]
		}
		var out []int64
		for _, p := range parts {
			v, ok := w.constInts(p)
			if !ok {
				return nil, false
			}
			out = append(out, v...)
		}
		return out, true
	}
	return nil, false
}

func (w *rfWalk) intAttr(n *nodepb.NodeDef, name string) int64 {
	v, _ := attr(n, name)
	i, _ := v.(int64)
	return i
}

func (w *rfWalk) listAttr(n *nodepb.NodeDef, name string) []int64 {
	v, _ := attr(n, name)
	l, _ := v.([]int64)
	return l
}

func (w *rfWalk) strAttr(n *nodepb.NodeDef, name string) string {
	v, _ := attr(n, name)
	s, _ := v.(string)
	return s
}

func (w *rfWalk) boolAttr(n *nodepb.NodeDef, name string) bool {
	v, _ := attr(n, name)
	b, _ := v.(bool)
	return b
}

// fail is the state of an op's outputs that the walk cannot follow.
func (w *rfWalk) fail(n *nodepb.NodeDef, format string, a ...any) *rfState {
	return &rfState{err: &NoRuleError{Model: w.fl.model.Dir, Op: n.GetOp(), Node: n.GetName(), Layer: w.fl.layerOf(n.GetName()),
		Rules: "receptive-field", Why: fmt.Sprintf(format, a...)}}
}

// rfConstOps give outputs that do not depend on their inputs' values.
var rfConstOps = map[string]bool{
	"Shape": true, "ShapeN": true, "Size": true, "Rank": true, "ZerosLike": true, "OnesLike": true,
}

// rfUnary are the ops whose output at a position depends on their first
// input at that position only (their other inputs, if any, are parameters
// that do not depend on the input: a leaky slope, quantization bounds).
var rfUnary = opSet("Identity", "Snapshot", "StopGradient", "PreventGradient", "CheckNumerics", "EnsureShape", "Cast",
	"Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus", "Softsign", "Neg", "Abs", "Sign",
	"Rsqrt", "Sqrt", "Square", "Exp", "Expm1", "Log", "Log1p", "Reciprocal", "Inv", "Erf", "Erfc", "Floor", "Ceil",
	"Round", "Rint", "Sin", "Cos", "Tan", "Atan", "Asin", "Acos", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
	"IsNan", "IsInf", "IsFinite", "LogicalNot", "QuantizeAndDequantizeV2", "QuantizeAndDequantizeV3",
	"QuantizeAndDequantizeV4", "FakeQuantWithMinMaxArgs", "FakeQuantWithMinMaxVars")

// rfBroadcast are the elementwise ops over inputs broadcast together.
var rfBroadcast = opSet("Add", "AddV2", "Sub", "Mul", "MulNoNan", "Div", "RealDiv", "DivNoNan", "FloorDiv", "FloorMod",
	"TruncateDiv", "Mod", "Maximum", "Minimum", "Pow", "SquaredDifference", "Atan2", "Xlogy", "Xdivy", "Equal",
	"NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr", "SelectV2", "ClipByValue",
	"AddN", "BroadcastTo")

// rfReduce are the reductions over axes given by their second input.
var rfReduce = opSet("Mean", "Sum", "Max", "Min", "Prod", "All", "Any", "EuclideanNorm", "ArgMax", "ArgMin")

func opSet(ops ...string) map[string]bool {
	m := map[string]bool{}
	for _, o := range ops {
		m[o] = true
	}
	return m
}

// node sets the layouts of n's outputs.
func (w *rfWalk) node(n *nodepb.NodeDef) {
	inputs := n.GetInput()
	ins := make([]*rfState, len(inputs))
	dependent := false
	var errState *rfState
	allGlobal := true
	for i, in := range inputs {
		if strings.HasPrefix(in, "^") {
			continue
		}
		if s := w.states[canonical(in)]; s != nil {
			ins[i], dependent = s, true
			if s.err != nil && errState == nil {
				errState = s
			}
			allGlobal = allGlobal && s.global
		}
	}
	if !dependent || rfConstOps[n.GetOp()] {
		return
	}
	op := w.fl.op(n.GetName())
	nout := 1
	if op != nil {
		nout = op.NumOutputs()
	}
	set := func(outs ...*rfState) {
		for k := 0; k < nout; k++ {
			s := outs[min(k, len(outs)-1)]
			if s != nil {
				s = s.valid()
			}
			w.states[n.GetName()+outputSuffix(k)] = s
		}
	}
	switch {
	case errState != nil:
		set(errState)
		return
	case allGlobal:
		set(rfGlobal) // nothing can see more than the whole image
		return
	}
	for _, s := range ins {
		if s != nil && s.global {
			set(rfGlobal) // a value that mixes all positions reaches every output
			return
		}
	}
	set(w.rule(n, ins)...)
}

// rule computes the layouts of n's outputs from its inputs' (nil: does not
// depend on the input), none of them global.
func (w *rfWalk) rule(n *nodepb.NodeDef, ins []*rfState) []*rfState {
	in := n.GetInput()
	out := w.shape(n.GetName())
	opType := n.GetOp()
	if keptControlFlow[opType] || strings.HasPrefix(opType, "TensorList") {
		// The walk does not enter the functions of a loop or a conditional
		// kept in the flat graph: their outputs are taken to mix all
		// positions, as a recurrent layer's loop over rows does.
		return []*rfState{rfGlobal}
	}
	if out == nil && opType != "IdentityN" {
		return []*rfState{w.fail(n, "its output shape is unknown at batch 1")}
	}
	only := func(k int) bool { // only input k depends on the input
		for i, s := range ins {
			if s != nil && i != k {
				return false
			}
		}
		return ins[k] != nil
	}
	switch {
	case rfUnary[opType]:
		if !only(0) {
			return []*rfState{w.fail(n, "a parameter input depends on the input")}
		}
		return []*rfState{w.broadcast(n, ins, out)}
	case rfBroadcast[opType]:
		return []*rfState{w.broadcast(n, ins, out)}
	case rfReduce[opType]:
		return []*rfState{w.reduce(n, ins, out)}
	}
	switch opType {
	case "IdentityN":
		return ins
	case "BiasAdd", "BiasAddV1":
		if ins[1] != nil && w.strAttr(n, "data_format") == "NCHW" {
			return []*rfState{rfGlobal}
		}
		return []*rfState{w.broadcast(n, ins, out)}
	case "Select":
		if ins[0] != nil && len(w.shape(in[0])) != len(out) {
			return []*rfState{rfGlobal}
		}
		return []*rfState{w.broadcast(n, ins, out)}
	case "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3":
		if w.boolAttr(n, "is_training") {
			return []*rfState{rfGlobal} // batch statistics
		}
		for _, s := range ins[1:] {
			if s != nil && w.strAttr(n, "data_format") == "NCHW" {
				return []*rfState{rfGlobal}
			}
		}
		first := w.broadcast(n, ins, out)
		for _, s := range ins[1:] {
			if s != nil {
				return []*rfState{first, rfGlobal}
			}
		}
		return []*rfState{first, nil}
	case "Softmax", "LogSoftmax", "LRN":
		x := ins[0]
		if hasPosition(x.dims[len(x.dims)-1]) {
			return []*rfState{rfGlobal}
		}
		return []*rfState{x}
	case "Reshape":
		if !only(0) {
			return []*rfState{rfGlobal} // a shape computed from the values
		}
		return []*rfState{w.reshape(ins[0], out)}
	case "ExpandDims":
		dim, ok := w.constInts(in[1])
		if !only(0) || !ok || len(dim) != 1 {
			return []*rfState{w.fail(n, "its axis is not a constant")}
		}
		d := int(dim[0])
		if d < 0 {
			d += len(ins[0].dims) + 1
		}
		s := ins[0].clone()
		s.dims = slices.Insert(s.dims, d, []rfAtom{})
		return []*rfState{s}
	case "Squeeze":
		return []*rfState{w.squeeze(n, ins[0])}
	case "Transpose":
		perm, ok := w.constInts(in[1])
		if !only(0) || !ok || len(perm) != len(ins[0].dims) {
			return []*rfState{w.fail(n, "its permutation is not a constant")}
		}
		s := ins[0].clone()
		for i, p := range perm {
			s.dims[i] = ins[0].dims[p]
		}
		return []*rfState{s}
	case "Conv2D", "DepthwiseConv2dNative":
		return []*rfState{w.conv(n, ins, out)}
	case "Conv2DBackpropInput":
		return []*rfState{w.convTranspose(n, ins, out)}
	case "MaxPool", "AvgPool", "MaxPoolV2":
		return []*rfState{w.pool(n, ins, out)}
	case "ExtractImagePatches":
		return []*rfState{w.patches(n, ins, out)}
	case "Pad", "PadV2", "MirrorPad":
		return []*rfState{w.pad(n, ins, out)}
	case "ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea":
		return []*rfState{w.resize(n, ins, out)}
	case "StridedSlice", "Slice":
		return []*rfState{w.slice(n, ins, out)}
	case "ConcatV2", "Concat", "Pack":
		return []*rfState{w.concat(n, ins, out)}
	case "Unpack", "Split", "SplitV":
		return w.split(n, ins)
	case "Tile":
		return []*rfState{w.tile(n, ins, out)}
	case "GatherV2":
		return []*rfState{w.gather(n, ins, out)}
	case "ReverseV2":
		return []*rfState{w.reverse(n, ins, out)}
	case "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3":
		return []*rfState{w.matmul(n, ins, out)}
	case "Einsum":
		return []*rfState{w.einsum(n, ins, out)}
	case "SpaceToBatchND", "SpaceToBatch":
		return []*rfState{w.spaceToBatch(n, ins, out)}
	case "BatchToSpaceND", "BatchToSpace":
		return []*rfState{w.batchToSpace(n, ins, out)}
	case "SpaceToDepth", "DepthToSpace":
		return []*rfState{w.depthSpace(n, ins, out)}
	case "ImageProjectiveTransformV2", "ImageProjectiveTransformV3":
		return []*rfState{rfGlobal} // a rotation or shear can move any pixel anywhere
	}
	return []*rfState{w.fail(n, "")}
}

// broadcast is the layout of an elementwise op's output of shape out, over
// its dependent inputs broadcast together: the union of their fields.
func (w *rfWalk) broadcast(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	type operand struct {
		s   *rfState
		off int
	}
	var ops []operand
	deps := 0
	for _, s := range ins {
		if s != nil {
			deps++
		}
	}
	for _, s := range ins {
		if s != nil {
			if deps > 1 {
				s = s.normalized() // an upsampled map meets a plain one
			}
			if len(s.dims) > len(out) {
				return w.fail(n, "an input has a higher rank than the output")
			}
			ops = append(ops, operand{s, len(out) - len(s.dims)})
		}
	}
	res := &rfState{dims: make([][]rfAtom, len(out)), block: ops[0].s.block}
	for a, size := range out {
		set := false
		for _, o := range ops {
			k := a - o.off
			if k < 0 {
				continue
			}
			d := o.s.dims[k]
			switch atomsSize(d) {
			case size:
				if !set {
					res.dims[a], set = d, true
				} else if !sameAtoms(res.dims[a], d) {
					return rfGlobal
				}
			case 1:
			default:
				return w.fail(n, "an input does not broadcast to the output")
			}
		}
		if !set {
			res.dims[a] = []rfAtom{{rfOther, size}}
		}
	}
	for _, k := range []rfKind{rfRows, rfCols} {
		ax, _, ok := res.find(k)
		if !ok {
			return rfGlobal
		}
		first := true
		for _, o := range ops {
			if o.s.block != res.block {
				return rfGlobal
			}
			oa, _, ok := o.s.find(k)
			if !ok {
				return rfGlobal
			}
			sp := o.s.span[k]
			lo, hi := o.s.lo[k], o.s.hi[k]
			switch {
			case oa+o.off == ax && sameAtoms(o.s.dims[oa], res.dims[ax]):
			case atomsSize(o.s.dims[oa]) == 1:
				sp.stride = 0 // one unit, seen by every output unit
				lo, hi = slices.Repeat(lo[:1], res.units(k)), slices.Repeat(hi[:1], res.units(k))
			default:
				return rfGlobal
			}
			if first {
				res.span[k], res.lo[k], res.hi[k], first = sp, lo, hi, false
				continue
			}
			res.span[k] = hull(res.span[k], sp, res.units(k))
			res.lo[k], res.hi[k] = unionIntervals(res.lo[k], res.hi[k], lo, hi)
		}
	}
	return res
}

// unionIntervals is, unit by unit, the hull of two intervals (empty ones
// left out).
func unionIntervals(lo1, hi1, lo2, hi2 []int32) ([]int32, []int32) {
	lo, hi := slices.Clone(lo1), slices.Clone(hi1)
	for i := range lo {
		switch {
		case lo2[i] >= hi2[i]:
		case lo[i] >= hi[i]:
			lo[i], hi[i] = lo2[i], hi2[i]
		default:
			lo[i], hi[i] = min(lo[i], lo2[i]), max(hi[i], hi2[i])
		}
	}
	return lo, hi
}

// reshape regroups the atoms, in row-major order, into the dims of out.
func (w *rfWalk) reshape(x *rfState, out []int) *rfState {
	var atoms []rfAtom
	for _, d := range x.dims {
		atoms = append(atoms, d...)
	}
	res := x.clone()
	res.dims = make([][]rfAtom, len(out))
	i := 0
	for a, want := range out {
		if want < 1 {
			return rfGlobal
		}
		var g []rfAtom
		prod := 1
		for prod < want {
			if i >= len(atoms) {
				return rfGlobal
			}
			at := atoms[i]
			if p := prod * at.size; p <= want && want%p == 0 {
				g, prod = append(g, at), p
				i++
				continue
			}
			// The atom is split: its major part ends this dim.
			if at.kind != rfOther || want%prod != 0 || at.size%(want/prod) != 0 {
				return rfGlobal
			}
			part := want / prod
			g = append(g, rfAtom{rfOther, part})
			atoms[i].size /= part
			prod = want
		}
		// Atoms of size 1 go with this dim, unless the next dim is a 1 too
		// that can take them (a map of one column stays [N,H,1,C]).
		for i < len(atoms) && atoms[i].size == 1 && (a+1 >= len(out) || out[a+1] != 1) {
			g = append(g, atoms[i])
			i++
		}
		res.dims[a] = g
	}
	if i != len(atoms) {
		return rfGlobal
	}
	return res
}

// squeeze removes axes of size 1 (those listed, or all); a position of one
// unit on such an axis moves into the next axis kept (the last one, after
// the last axis kept).
func (w *rfWalk) squeeze(n *nodepb.NodeDef, x *rfState) *rfState {
	xs := w.shape(n.GetInput()[0])
	if len(xs) != len(x.dims) {
		return w.fail(n, "its input shape is unknown at batch 1")
	}
	drop := map[int]bool{}
	for _, a := range w.listAttr(n, "squeeze_dims") {
		if a < 0 {
			a += int64(len(xs))
		}
		drop[int(a)] = true
	}
	if len(drop) == 0 {
		for a, d := range xs {
			drop[a] = d == 1
		}
	}
	res := x.clone()
	res.dims = nil
	var carry []rfAtom
	for a, d := range x.dims {
		if drop[a] {
			carry = append(carry, d...)
			continue
		}
		res.dims = append(res.dims, append(carry, d...))
		carry = nil
	}
	if len(carry) > 0 {
		if len(res.dims) == 0 {
			return rfGlobal
		}
		last := len(res.dims) - 1
		res.dims[last] = append(res.dims[last], carry...)
	}
	return res
}

// reduce is the layout after a reduction over constant axes.
func (w *rfWalk) reduce(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	x := ins[0]
	axes, ok := w.constInts(n.GetInput()[1])
	if ins[1] != nil || !ok {
		return w.fail(n, "its axes are not a constant")
	}
	keep := w.boolAttr(n, "keep_dims")
	red := map[int]bool{}
	for _, a := range axes {
		if a < 0 {
			a += int64(len(x.dims))
		}
		red[int(a)] = true
	}
	res := x.clone()
	res.dims = nil
	for a, d := range x.dims {
		switch {
		case !red[a]:
			res.dims = append(res.dims, d)
		case hasPosition(d):
			return rfGlobal
		case keep:
			var g []rfAtom
			for _, at := range d {
				if at.kind != rfOther {
					g = append(g, at)
				}
			}
			res.dims = append(res.dims, g)
		}
	}
	if len(res.dims) != len(out) {
		return w.fail(n, "the reduced shape is not its output's")
	}
	return res
}

// rfMap maps output unit y of one axis to the input units
// [α·y + β, α·y + β + γ]; of those, a dilated window reads every step-th
// from the first (step 0 or 1: all). touched, when set, gives the range
// exactly (an output unit reading none: false).
type rfMap struct {
	alpha, beta, gamma float64
	step               int
	touched            func(y int) (int, int, bool)
}

// units is the range of input units that output unit y reads.
func (m rfMap) units(y int) (int, int, bool) {
	if m.touched != nil {
		return m.touched(y)
	}
	a := m.alpha*float64(y) + m.beta
	return int(math.Ceil(a - fieldEps)), int(math.Floor(a + m.gamma + fieldEps)), true
}

// mapped sets the field of position k after m, from nIn units to nOut.
func (s *rfState) mapped(k rfKind, m rfMap, nIn, nOut int) {
	s.span[k] = s.span[k].through(m.alpha, m.beta, m.gamma)
	lo, hi := make([]int32, nOut), make([]int32, nOut)
	oldLo, oldHi := s.lo[k], s.hi[k]
	step := max(m.step, 1)
	for y := range lo {
		a, b, ok := m.units(y)
		if a < 0 { // the first tap inside
			a += (-a + step - 1) / step * step
		}
		b = min(b, nIn-1)
		first := true
		for u := a; ok && u <= b; u += step {
			if oldLo[u] >= oldHi[u] {
				continue
			}
			if first {
				lo[y], hi[y], first = oldLo[u], oldHi[u], false
			} else {
				lo[y], hi[y] = min(lo[y], oldLo[u]), max(hi[y], oldHi[u])
			}
		}
	}
	s.lo[k], s.hi[k] = lo, hi
}

// enumMap fits an rfMap of slope alpha to the input units that each of n
// output units reads (touched: lo, hi, and false for a unit that reads
// none).
func enumMap(alpha float64, n int, touched func(y int) (int, int, bool)) (rfMap, bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for y := 0; y < n; y++ {
		a, b, ok := touched(y)
		if !ok {
			continue
		}
		lo = math.Min(lo, float64(a)-alpha*float64(y))
		hi = math.Max(hi, float64(b)-alpha*float64(y))
	}
	if lo > hi {
		return rfMap{}, false
	}
	return rfMap{alpha: alpha, beta: lo, gamma: hi - lo, touched: touched}, true
}

// spatial maps the axes of x listed in maps (tensor axis → map) to out's
// sizes: a position alone on its axis takes the map; an axis without one
// becomes one atom of its new size. mixed lists the axes the op contracts
// or mixes (channels of a convolution). Other axes keep their atoms.
func (w *rfWalk) spatial(n *nodepb.NodeDef, x *rfState, maps map[int]rfMap, mixed []int, out []int) *rfState {
	x = x.normalized()
	if len(x.dims) != len(out) {
		return w.fail(n, "its input and output ranks differ")
	}
	res := x.clone()
	for ax, m := range maps {
		k, ok := axisKind(x.dims[ax])
		switch {
		case !ok:
			return rfGlobal
		case k == rfOther:
			res.dims[ax] = []rfAtom{{rfOther, out[ax]}}
			continue
		}
		nIn, nOut := x.units(k), out[ax]
		if b := x.block[k]; b > 0 {
			if m.alpha != 1 || m.touched != nil {
				return w.fail(n, "a stride or resize inside a space-to-batch block")
			}
			m.beta *= float64(b)
			m.gamma *= float64(b)
			m.step = max(m.step, 1) * b
			nOut *= b
		}
		res.mapped(k, m, nIn, nOut)
		res.dims[ax] = []rfAtom{{k, out[ax]}}
	}
	for _, ax := range mixed {
		if hasPosition(x.dims[ax]) {
			return rfGlobal
		}
		res.dims[ax] = []rfAtom{{rfOther, out[ax]}}
	}
	for ax := range x.dims {
		if atomsSize(res.dims[ax]) != out[ax] {
			return w.fail(n, "an axis it should keep changes size")
		}
	}
	return res
}

// spatialAxes are the height and width axes and the channel axis of a 4-D
// op's data_format.
func (w *rfWalk) spatialAxes(n *nodepb.NodeDef) (h, wd, c int) {
	if strings.HasPrefix(w.strAttr(n, "data_format"), "NC") {
		return 2, 3, 1
	}
	return 1, 2, 3
}

// windowMap is the map of a sliding window of k taps (dilation d, stride s)
// over an axis of inSize units to outSize units, under padding.
func windowMap(pad string, explicit []int64, ax, k, d, s, inSize, outSize int) (rfMap, bool) {
	eff := d*(k-1) + 1
	before := 0
	switch pad {
	case "VALID":
	case "SAME":
		before = max((outSize-1)*s+eff-inSize, 0) / 2
	case "EXPLICIT":
		if len(explicit) <= 2*ax {
			return rfMap{}, false
		}
		before = int(explicit[2*ax])
	default:
		return rfMap{}, false
	}
	return rfMap{alpha: float64(s), beta: float64(-before), gamma: float64(eff - 1), step: d}, true
}

func (w *rfWalk) conv(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	if ins[1] != nil {
		return rfGlobal // a filter computed from the input
	}
	x := ins[0]
	hAx, wAx, cAx := w.spatialAxes(n)
	k := w.shape(n.GetInput()[1])
	xs := w.shape(n.GetInput()[0])
	strides, dil := w.listAttr(n, "strides"), w.listAttr(n, "dilations")
	if len(k) != 4 || len(xs) != 4 || len(out) != 4 || len(strides) != 4 {
		return w.fail(n, "its filter, input or output is not 4-D")
	}
	if len(dil) != 4 {
		dil = []int64{1, 1, 1, 1}
	}
	maps := map[int]rfMap{}
	for i, ax := range []int{hAx, wAx} {
		m, ok := windowMap(w.strAttr(n, "padding"), w.listAttr(n, "explicit_paddings"), ax, k[i], int(dil[ax]), int(strides[ax]), xs[ax], out[ax])
		if !ok {
			return w.fail(n, "padding %q", w.strAttr(n, "padding"))
		}
		maps[ax] = m
	}
	return w.spatial(n, x, maps, []int{cAx}, out)
}

func (w *rfWalk) pool(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	hAx, wAx, cAx := w.spatialAxes(n)
	ksize, strides := w.listAttr(n, "ksize"), w.listAttr(n, "strides")
	if n.GetOp() == "MaxPoolV2" {
		var ok1, ok2 bool
		ksize, ok1 = w.constInts(n.GetInput()[1])
		strides, ok2 = w.constInts(n.GetInput()[2])
		if !ok1 || !ok2 || ins[1] != nil || ins[2] != nil {
			return w.fail(n, "its window is not a constant")
		}
	}
	xs := w.shape(n.GetInput()[0])
	if len(ksize) != 4 || len(strides) != 4 || len(xs) != 4 || len(out) != 4 || ksize[0] != 1 || ksize[cAx] != 1 {
		return w.fail(n, "a window over the batch or the channels")
	}
	maps := map[int]rfMap{}
	for _, ax := range []int{hAx, wAx} {
		m, ok := windowMap(w.strAttr(n, "padding"), nil, ax, int(ksize[ax]), 1, int(strides[ax]), xs[ax], out[ax])
		if !ok {
			return w.fail(n, "padding %q", w.strAttr(n, "padding"))
		}
		maps[ax] = m
	}
	return w.spatial(n, ins[0], maps, nil, out)
}

// patches is tf.image.extract_patches: a window of ksizes at rates
// (dilations) and strides, as a convolution's, whose values go into the
// depth, channels and offsets mixed.
func (w *rfWalk) patches(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	ks, strides, rates := w.listAttr(n, "ksizes"), w.listAttr(n, "strides"), w.listAttr(n, "rates")
	xs := w.shape(n.GetInput()[0])
	if len(ks) != 4 || len(strides) != 4 || len(rates) != 4 || len(xs) != 4 || len(out) != 4 {
		return w.fail(n, "its patches, input or output is not 4-D")
	}
	maps := map[int]rfMap{}
	for _, ax := range []int{1, 2} {
		m, ok := windowMap(w.strAttr(n, "padding"), nil, ax, int(ks[ax]), int(rates[ax]), int(strides[ax]), xs[ax], out[ax])
		if !ok {
			return w.fail(n, "padding %q", w.strAttr(n, "padding"))
		}
		maps[ax] = m
	}
	return w.spatial(n, ins[0], maps, []int{3}, out)
}

// convTranspose is Conv2DBackpropInput (Keras' Conv2DTranspose): output unit
// y receives from the input units u with y = u·s − p + t·d for a tap t.
func (w *rfWalk) convTranspose(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	if ins[1] != nil || ins[0] != nil {
		return rfGlobal
	}
	hAx, wAx, cAx := w.spatialAxes(n)
	k := w.shape(n.GetInput()[1])
	xs := w.shape(n.GetInput()[2])
	strides, dil := w.listAttr(n, "strides"), w.listAttr(n, "dilations")
	if len(k) != 4 || len(xs) != 4 || len(out) != 4 || len(strides) != 4 {
		return w.fail(n, "its filter, input or output is not 4-D")
	}
	if len(dil) != 4 {
		dil = []int64{1, 1, 1, 1}
	}
	maps := map[int]rfMap{}
	for i, ax := range []int{hAx, wAx} {
		s, d, kk := int(strides[ax]), int(dil[ax]), k[i]
		// The forward convolution goes from out[ax] units to xs[ax].
		fwd, ok := windowMap(w.strAttr(n, "padding"), w.listAttr(n, "explicit_paddings"), ax, kk, d, s, out[ax], xs[ax])
		if !ok {
			return w.fail(n, "padding %q", w.strAttr(n, "padding"))
		}
		p := int(-fwd.beta)
		m, ok := enumMap(1/float64(s), out[ax], func(y int) (int, int, bool) {
			lo, hi, any := 0, 0, false
			for t := 0; t < kk; t++ {
				if num := y + p - t*d; num%s == 0 {
					u := num / s
					if !any {
						lo, hi, any = u, u, true
					}
					lo, hi = min(lo, u), max(hi, u)
				}
			}
			return lo, hi, any
		})
		if !ok {
			return w.fail(n, "no output unit reads an input unit")
		}
		maps[ax] = m
	}
	return w.spatial(n, ins[2], maps, []int{cAx}, out)
}

func (w *rfWalk) pad(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	x := ins[0]
	pads, ok := w.constInts(n.GetInput()[1])
	if !ok || ins[1] != nil || len(pads) != 2*len(x.dims) {
		return w.fail(n, "its paddings are not a constant")
	}
	if len(ins) > 2 && ins[2] != nil {
		return rfGlobal // the fill value comes from the input
	}
	mode := w.strAttr(n, "mode")
	xs := w.shape(n.GetInput()[0])
	maps := map[int]rfMap{}
	for ax := range x.dims {
		b, a := int(pads[2*ax]), int(pads[2*ax+1])
		if b == 0 && a == 0 {
			continue
		}
		size := xs[ax]
		m, ok := enumMap(1, out[ax], func(y int) (int, int, bool) {
			u := y - b
			if n.GetOp() != "MirrorPad" {
				return u, u, u >= 0 && u < size
			}
			switch {
			case u < 0 && mode == "REFLECT":
				u = -u
			case u < 0:
				u = -u - 1
			case u >= size && mode == "REFLECT":
				u = 2*(size-1) - u
			case u >= size:
				u = 2*size - 1 - u
			}
			return u, u, true
		})
		if !ok {
			m = rfMap{alpha: 1, beta: float64(-b)}
		}
		maps[ax] = m
	}
	return w.spatial(n, x, maps, nil, out)
}

// resize follows TensorFlow's resize kernels: the input rows each output row
// reads (two for bilinear, four for bicubic, the covered ones for area),
// with their scale and pixel-centre conventions.
func (w *rfWalk) resize(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	if ins[1] != nil {
		return rfGlobal
	}
	xs := w.shape(n.GetInput()[0])
	if len(xs) != 4 || len(out) != 4 {
		return w.fail(n, "its input is not 4-D")
	}
	align, halfPixel := w.boolAttr(n, "align_corners"), w.boolAttr(n, "half_pixel_centers")
	maps := map[int]rfMap{}
	for _, ax := range []int{1, 2} {
		in, o := xs[ax], out[ax]
		scale := float32(in) / float32(o)
		if align && o > 1 {
			scale = float32(in-1) / float32(o-1)
		}
		// TensorFlow computes source coordinates in float32; with a fused
		// multiply-add or without, the indices of both are taken.
		sources := func(y int) []float64 {
			prod := float32(float32(float32(y)+0.5) * scale)
			if !halfPixel {
				return []float64{float64(float32(float32(y) * scale))}
			}
			return []float64{float64(float32(prod - 0.5)), float64(float32(float64(float32(y)+0.5)*float64(scale) - 0.5))}
		}
		clamp := func(i int) int { return min(max(i, 0), in-1) }
		var touched func(y int) (int, int, bool)
		switch n.GetOp() {
		case "ResizeNearestNeighbor":
			touched = func(y int) (int, int, bool) {
				v := float64(float32(float32(y) * scale))
				if halfPixel {
					v = float64(float32(float32(float32(y)+0.5) * scale))
				}
				i := int(math.Floor(v))
				if align {
					i = int(math.Round(v))
				}
				return clamp(i), clamp(i), true
			}
		case "ResizeArea":
			touched = func(y int) (int, int, bool) {
				lo := clamp(int(math.Floor(float64(float32(float32(y) * scale)))))
				hi := clamp(int(math.Ceil(float64(float32(float32(y+1)*scale)))) - 1)
				return lo, max(lo, hi), true
			}
		case "ResizeBicubic": // taps floor−1 … floor+2
			touched = func(y int) (int, int, bool) {
				lo, hi := in, -1
				for _, v := range sources(y) {
					f := int(math.Floor(v))
					lo, hi = min(lo, clamp(f-1)), max(hi, clamp(f+2))
				}
				return lo, hi, true
			}
		default: // bilinear: floor and ceil
			touched = func(y int) (int, int, bool) {
				lo, hi := in, -1
				for _, v := range sources(y) {
					lo, hi = min(lo, clamp(int(math.Floor(v)))), max(hi, clamp(int(math.Ceil(v))))
				}
				return lo, hi, true
			}
		}
		slope := float64(in) / float64(o)
		if align && o > 1 {
			slope = float64(in-1) / float64(o-1)
		}
		m, _ := enumMap(slope, o, touched)
		maps[ax] = m
	}
	return w.spatial(n, ins[0], maps, nil, out)
}

// slice is StridedSlice (without new axes) and Slice: a crop or a step on
// an axis maps its position; a shrunk axis disappears.
func (w *rfWalk) slice(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	x := ins[0]
	for _, s := range ins[1:] {
		if s != nil {
			return rfGlobal
		}
	}
	xs := w.shape(n.GetInput()[0])
	rank := len(x.dims)
	if len(xs) != rank {
		return w.fail(n, "its input shape is unknown")
	}
	begin, ok := w.constInts(n.GetInput()[1])
	if !ok {
		return w.fail(n, "its begin is not a constant")
	}
	starts := make([]int, rank)
	steps := make([]int, rank)
	shrink := make([]bool, rank)
	for i := range steps {
		steps[i] = 1
	}
	if n.GetOp() == "Slice" {
		if len(begin) != rank {
			return w.fail(n, "its begin has the wrong length")
		}
		for i, b := range begin {
			starts[i] = int(b)
		}
	} else {
		strides, ok := w.constInts(n.GetInput()[3])
		if !ok || len(strides) != len(begin) {
			return w.fail(n, "its strides are not a constant")
		}
		if w.intAttr(n, "new_axis_mask") != 0 {
			return w.fail(n, "new_axis_mask is not followed")
		}
		bm, ell, sm := w.intAttr(n, "begin_mask"), w.intAttr(n, "ellipsis_mask"), w.intAttr(n, "shrink_axis_mask")
		ax := 0
		for j := range begin {
			if ell&(1<<j) != 0 {
				ax += rank - (len(begin) - 1)
				continue
			}
			if ax >= rank {
				return w.fail(n, "more slices than axes")
			}
			s, b := int(strides[j]), int(begin[j])
			if s == 0 {
				return w.fail(n, "a zero stride")
			}
			if b < 0 {
				b += xs[ax]
			}
			if bm&(1<<j) != 0 {
				b = 0
				if s < 0 {
					b = xs[ax] - 1
				}
			}
			starts[ax], steps[ax], shrink[ax] = b, s, sm&(1<<j) != 0
			ax++
		}
	}
	maps := map[int]rfMap{}
	res := x.clone()
	res.dims = nil
	var outShape []int
	for ax := range x.dims {
		if shrink[ax] {
			if hasPosition(x.dims[ax]) {
				return rfGlobal
			}
			continue
		}
		o := len(res.dims)
		if o >= len(out) {
			return w.fail(n, "its output has fewer axes than expected")
		}
		res.dims = append(res.dims, x.dims[ax])
		outShape = append(outShape, out[o])
		if starts[ax] != 0 || steps[ax] != 1 || out[o] != xs[ax] {
			maps[o] = rfMap{alpha: float64(steps[ax]), beta: float64(starts[ax])}
		}
	}
	if len(res.dims) != len(out) {
		return w.fail(n, "its output rank is not the one its masks give")
	}
	return w.spatial(n, res, maps, nil, outShape)
}

// concat joins along an axis without positions: the union of the fields.
func (w *rfWalk) concat(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	in := n.GetInput()
	var vals []*rfState
	if n.GetOp() == "Pack" {
		axis := int(w.intAttr(n, "axis"))
		if axis < 0 {
			axis += len(out)
		}
		for _, s := range ins {
			if s != nil {
				c := s.clone()
				c.dims = append(c.dims[:axis:axis], append([][]rfAtom{{{rfOther, out[axis]}}}, s.dims[axis:]...)...)
				vals = append(vals, c)
			}
		}
		return w.broadcast(n, vals, out)
	}
	ai, first, last := len(in)-1, 0, len(in)-1 // ConcatV2: values, axis
	if n.GetOp() == "Concat" {                 // axis, values
		ai, first, last = 0, 1, len(in)
	}
	a, ok := w.constInts(in[ai])
	if !ok || len(a) != 1 || ins[ai] != nil {
		return w.fail(n, "its axis is not a constant")
	}
	axis := int(a[0])
	if axis < 0 {
		axis += len(out)
	}
	for _, s := range ins[first:last] {
		if s == nil {
			continue
		}
		if hasPosition(s.dims[axis]) {
			return rfGlobal
		}
		c := s.clone()
		c.dims[axis] = []rfAtom{{rfOther, out[axis]}}
		vals = append(vals, c)
	}
	return w.broadcast(n, vals, out)
}

func (w *rfWalk) split(n *nodepb.NodeDef, ins []*rfState) []*rfState {
	in := n.GetInput()
	var x *rfState
	var axis int64
	switch n.GetOp() {
	case "Unpack":
		x, axis = ins[0], w.intAttr(n, "axis")
	case "Split": // split_dim, value
		a, ok := w.constInts(in[0])
		if !ok || len(a) != 1 || ins[0] != nil {
			return []*rfState{w.fail(n, "its axis is not a constant")}
		}
		x, axis = ins[1], a[0]
	case "SplitV": // value, size_splits, axis
		a, ok := w.constInts(in[2])
		if !ok || len(a) != 1 || ins[2] != nil || ins[1] != nil {
			return []*rfState{w.fail(n, "its axis or sizes are not constants")}
		}
		x, axis = ins[0], a[0]
	}
	if x == nil {
		return []*rfState{rfGlobal}
	}
	if axis < 0 {
		axis += int64(len(x.dims))
	}
	if hasPosition(x.dims[axis]) {
		return []*rfState{rfGlobal}
	}
	op := w.fl.op(n.GetName())
	var outs []*rfState
	for k := 0; k < op.NumOutputs(); k++ {
		s := x.clone()
		if n.GetOp() == "Unpack" {
			s.dims = append(s.dims[:axis:axis], s.dims[axis+1:]...)
		} else {
			sh := w.shape(n.GetName() + outputSuffix(k))
			if len(sh) != len(x.dims) {
				return []*rfState{w.fail(n, "its output shape is unknown at batch 1")}
			}
			s.dims[axis] = []rfAtom{{rfOther, sh[axis]}}
		}
		outs = append(outs, s)
	}
	return outs
}

// tile repeats axes; the multiples are read off the shapes.
func (w *rfWalk) tile(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	x := ins[0]
	xs := w.shape(n.GetInput()[0])
	if ins[1] != nil || len(xs) != len(x.dims) || len(out) != len(xs) {
		return w.fail(n, "its multiples depend on the input")
	}
	res := x.clone()
	for ax := range xs {
		if xs[ax] == out[ax] {
			continue
		}
		if hasPosition(x.dims[ax]) {
			return rfGlobal
		}
		res.dims[ax] = []rfAtom{{rfOther, out[ax]}}
	}
	return res
}

func (w *rfWalk) gather(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	x := ins[0]
	if ins[1] != nil || ins[2] != nil || x == nil {
		return rfGlobal // indices from the input
	}
	a, ok := w.constInts(n.GetInput()[2])
	if !ok || len(a) != 1 {
		return w.fail(n, "its axis is not a constant")
	}
	axis := int(a[0])
	if axis < 0 {
		axis += len(x.dims)
	}
	if hasPosition(x.dims[axis]) {
		return rfGlobal
	}
	idx := w.shape(n.GetInput()[1])
	bd := int(w.intAttr(n, "batch_dims"))
	if idx == nil || bd < 0 || bd > len(idx) {
		return w.fail(n, "its indices have an unknown shape")
	}
	res := x.clone()
	res.dims = append([][]rfAtom(nil), x.dims[:axis]...)
	for i := bd; i < len(idx); i++ {
		res.dims = append(res.dims, []rfAtom{{rfOther, idx[i]}})
	}
	res.dims = append(res.dims, x.dims[axis+1:]...)
	if len(res.dims) != len(out) {
		return w.fail(n, "its output rank is not the expected one")
	}
	return res
}

func (w *rfWalk) reverse(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	x := ins[0]
	axes, ok := w.constInts(n.GetInput()[1])
	if !ok || ins[1] != nil {
		return w.fail(n, "its axes are not a constant")
	}
	maps := map[int]rfMap{}
	for _, a := range axes {
		if a < 0 {
			a += int64(len(x.dims))
		}
		if k, ok := axisKind(x.dims[a]); ok && k == rfOther {
			continue
		}
		maps[int(a)] = rfMap{alpha: -1, beta: float64(out[a] - 1)}
	}
	return w.spatial(n, x, maps, nil, out)
}

// matmul: with one operand from the input, its free axis passes and the
// contracted one must hold no position; products of two such operands
// (attention) are global.
func (w *rfWalk) matmul(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	if ins[0] != nil && ins[1] != nil {
		return rfGlobal
	}
	ta, tb := w.boolAttr(n, "transpose_a"), w.boolAttr(n, "transpose_b")
	if n.GetOp() != "MatMul" {
		ta, tb = w.boolAttr(n, "adj_x"), w.boolAttr(n, "adj_y")
	}
	var x *rfState
	var free, contracted int // axes from the end: 1 is the last
	if ins[0] != nil {
		x, free, contracted = ins[0], 2, 1
		if ta {
			free, contracted = 1, 2
		}
	} else {
		x, free, contracted = ins[1], 1, 2
		if tb {
			free, contracted = 2, 1
		}
	}
	r := len(x.dims)
	if r < 2 || len(out) < 2 {
		return w.fail(n, "an operand of rank below 2")
	}
	if hasPosition(x.dims[r-contracted]) {
		return rfGlobal
	}
	y := x.clone()
	freeAtoms := x.dims[r-free]
	if ins[0] != nil {
		y.dims[r-2], y.dims[r-1] = freeAtoms, []rfAtom{{rfOther, out[len(out)-1]}}
	} else {
		y.dims[r-2], y.dims[r-1] = []rfAtom{{rfOther, out[len(out)-2]}}, freeAtoms
	}
	return w.broadcast(n, []*rfState{y}, out)
}

// einsum follows equations without ellipses or repeated labels, with one
// operand from the input: its labels that the output keeps pass, the
// summed ones must hold no position.
func (w *rfWalk) einsum(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	eq := strings.ReplaceAll(w.strAttr(n, "equation"), " ", "")
	lhs, rhs, ok := strings.Cut(eq, "->")
	if !ok || strings.Contains(eq, ".") {
		return w.fail(n, "equation %q (ellipses and implicit outputs are not followed)", eq)
	}
	terms := strings.Split(lhs, ",")
	if len(terms) != len(ins) {
		return w.fail(n, "equation %q does not match its %d inputs", eq, len(ins))
	}
	dep := -1
	for i, s := range ins {
		if s != nil {
			if dep >= 0 {
				return rfGlobal // a product of two operands from the input
			}
			dep = i
		}
	}
	x, term := ins[dep], terms[dep]
	if len(term) != len(x.dims) || len(rhs) != len(out) {
		return w.fail(n, "equation %q does not match its ranks", eq)
	}
	axisOf := map[rune]int{}
	for i, l := range term {
		if _, dup := axisOf[l]; dup {
			return w.fail(n, "equation %q repeats a label", eq)
		}
		axisOf[l] = i
	}
	for l, i := range axisOf {
		if !strings.ContainsRune(rhs, l) && hasPosition(x.dims[i]) {
			return rfGlobal
		}
	}
	res := x.clone()
	res.dims = nil
	for i, l := range rhs {
		if a, ok := axisOf[l]; ok && atomsSize(x.dims[a]) == out[i] {
			res.dims = append(res.dims, x.dims[a])
		} else if ok && hasPosition(x.dims[a]) {
			return rfGlobal
		} else {
			res.dims = append(res.dims, []rfAtom{{rfOther, out[i]}})
		}
	}
	return res
}

// spaceToBatch moves block phases into the batch: the spans are then over
// the padded rows (see rfState.block), so that a convolution in between is
// a dilated one.
func (w *rfWalk) spaceToBatch(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	x := ins[0]
	in := n.GetInput()
	var block, pads []int64
	var ok1, ok2 bool
	if n.GetOp() == "SpaceToBatch" { // input, paddings; block_size
		bs := w.intAttr(n, "block_size")
		block, ok1 = []int64{bs, bs}, true
		pads, ok2 = w.constInts(in[1])
	} else { // input, block_shape, paddings
		block, ok1 = w.constInts(in[1])
		pads, ok2 = w.constInts(in[2])
	}
	for _, s := range ins[1:] {
		if s != nil {
			ok1 = false
		}
	}
	if !ok1 || !ok2 || len(pads) != 2*len(block) || len(x.dims) < len(block)+1 || x.block != [3]int{} {
		return w.fail(n, "its block or paddings are not constants, or it is nested")
	}
	res := x.clone()
	if hasPosition(x.dims[0]) {
		return rfGlobal
	}
	res.dims[0] = []rfAtom{{rfOther, out[0]}}
	for i, b := range block {
		ax := 1 + i
		k, ok := axisKind(x.dims[ax])
		if !ok || k == rfOther {
			return rfGlobal
		}
		res.mapped(k, rfMap{alpha: 1, beta: float64(-pads[2*i])}, x.units(k), out[ax]*int(b))
		res.block[k] = int(b)
		res.dims[ax] = []rfAtom{{k, out[ax]}}
	}
	return res
}

func (w *rfWalk) batchToSpace(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	x := ins[0]
	in := n.GetInput()
	var block, crops []int64
	var ok1, ok2 bool
	if n.GetOp() == "BatchToSpace" { // input, crops; block_size
		bs := w.intAttr(n, "block_size")
		block, ok1 = []int64{bs, bs}, true
		crops, ok2 = w.constInts(in[1])
	} else {
		block, ok1 = w.constInts(in[1])
		crops, ok2 = w.constInts(in[2])
	}
	for _, s := range ins[1:] {
		if s != nil {
			ok1 = false
		}
	}
	if !ok1 || !ok2 || len(crops) != 2*len(block) {
		return w.fail(n, "its block or crops are not constants")
	}
	res := x.clone()
	res.dims[0] = []rfAtom{{rfOther, out[0]}}
	for i, b := range block {
		ax := 1 + i
		k, ok := axisKind(x.dims[ax])
		if !ok || k == rfOther || x.block[k] != int(b) {
			return w.fail(n, "it does not undo the SpaceToBatchND before it")
		}
		res.mapped(k, rfMap{alpha: 1, beta: float64(crops[2*i])}, x.units(k), out[ax])
		res.block[k] = 0
		res.dims[ax] = []rfAtom{{k, out[ax]}}
	}
	return res
}

func (w *rfWalk) depthSpace(n *nodepb.NodeDef, ins []*rfState, out []int) *rfState {
	hAx, wAx, cAx := w.spatialAxes(n)
	b := int(w.intAttr(n, "block_size"))
	if b < 1 {
		return w.fail(n, "block_size %d", b)
	}
	m := rfMap{alpha: float64(b), beta: 0, gamma: float64(b - 1)} // SpaceToDepth
	if n.GetOp() == "DepthToSpace" {
		m = rfMap{alpha: 1 / float64(b), beta: -float64(b-1) / float64(b), gamma: float64(b-1) / float64(b)}
	}
	return w.spatial(n, ins[0], map[int]rfMap{hAx: m, wAx: m}, []int{cAx}, out)
}
