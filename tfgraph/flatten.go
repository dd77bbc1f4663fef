//go:build cgo

package tfgraph

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/protobuf/proto"
)

// Flattening turns a SavedModel signature into one graph without function
// calls or variables:
//
//   - every call (StatefulPartitionedCall, PartitionedCall, or an op named after
//     a library function) reachable from the signature's outputs is inlined,
//     recursively; body nodes are renamed "<call node>/<body node>", and a
//     FunctionDef reference "node:out_arg:i" becomes the flat output index
//     (sizes of the earlier output args, from the OpDef and the node's attrs or
//     their defaults, plus i);
//   - every variable becomes a weight: a PlaceholderWithDefault, so an
//     experiment can feed other values without rebuilding the graph, over a
//     placeholder for the value that the import maps to the live variable
//     (no value is copied); ReadVariableOp becomes an Identity of the weight;
//   - control edges are dropped (after freezing nothing has side effects),
//     device strings and internal "_" attributes are cleared.
//
// Control flow (If, While, Case and their stateless forms) is kept as it is:
// the node stays, with the functions it calls (and theirs) in the flat
// graph's library, and a variable it captures is passed as the live
// resource handle. Forward runs go through it; the backward engine has no
// rule for it, so gradient methods refuse such a model by name (a recurrent
// layer's While loop: Keras' unroll=True makes it a plain graph), and its
// variables cannot be replaced (Weight.InLoop). Other ops that take
// functions are refused with an error that names them.

// weightPrefix starts the names of the weight nodes in a flat graph.
const weightPrefix = "saliency_weights/"

// keptControlFlow are the control-flow ops kept whole in the flat graph.
var keptControlFlow = map[string]bool{
	"If": true, "StatelessIf": true, "While": true, "StatelessWhile": true,
	"Case": true, "StatelessCase": true,
}

// controlFlowOps are refused: ops that take functions and have no place in
// the image classifiers saliency explains.
var controlFlowOps = map[string]bool{
	"For": true, "SymbolicGradient": true, "RemoteCall": true, "MapDataset": true,
}

// resourcePrefix starts the names of the resource placeholders that pass a
// variable's live handle to a kept control-flow op.
const resourcePrefix = "saliency_resources/"

// bodyNode is where a flat node came from: its name inside the function body
// that held it (its Keras name scopes), that function, and its position in
// the body (TensorFlow keeps a body's nodes in creation order).
type bodyNode struct {
	name, fn string
	index    int
}

// ref is a tensor of the flat graph, or a variable handle of the outer graph.
type ref struct {
	node     string
	idx      int
	variable string // non-empty: the resource handle of this outer VarHandleOp
}

func (r ref) String() string {
	if r.idx == 0 {
		return r.node
	}
	return r.node + ":" + strconv.Itoa(r.idx)
}

// scope is the outer graph or one inlined function body.
type scope struct {
	fn     string // function name, "" for the outer graph
	prefix string
	// origin, for a body inlined from a call inside a Keras name scope, is
	// where the call node sits: the body's nodes are reported there.
	origin  *bodyNode
	nodes   map[string]*nodepb.NodeDef
	index   map[string]int // position of each node in the body (creation order)
	args    map[string]ref
	emitted map[string]bool
	calls   map[string][]ref
}

func (s *scope) where() string {
	if s.fn == "" {
		return "the graph"
	}
	return "function " + s.fn
}

type flattener struct {
	origin map[string]bodyNode // flat node → its name and position in the function body that held it
	ops    map[string]*opdefpb.OpDef
	funcs  map[string]*fnpb.FunctionDef
	out    []*nodepb.NodeDef
	vars   map[string]*nodepb.NodeDef // outer VarHandleOps that are read
	depth  int
	// kept lists the functions that kept control-flow ops call, and
	// handles the variables they capture (by VarHandleOp name).
	kept    map[string]bool
	handles map[string]bool
}

// keepFunctions adds function name and every function its body refers to
// (in attributes or as an op) to the flat graph's library.
func (f *flattener) keepFunctions(name string) error {
	if f.kept[name] {
		return nil
	}
	fn := f.funcs[name]
	if fn == nil {
		return fmt.Errorf("tfgraph: the library lacks function %q", name)
	}
	f.kept[name] = true
	for _, n := range fn.GetNodeDef() {
		if f.funcs[n.GetOp()] != nil {
			if err := f.keepFunctions(n.GetOp()); err != nil {
				return err
			}
		}
		for _, a := range n.GetAttr() {
			if err := f.keepAttrFunctions(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *flattener) keepAttrFunctions(a *attrpb.AttrValue) error {
	if fn := a.GetFunc(); fn != nil {
		return f.keepFunctions(fn.GetName())
	}
	for _, fn := range a.GetList().GetFunc() {
		if err := f.keepFunctions(fn.GetName()); err != nil {
			return err
		}
	}
	return nil
}

func newScope(fn, prefix string, nodes []*nodepb.NodeDef, args map[string]ref) *scope {
	s := &scope{fn: fn, prefix: prefix, nodes: map[string]*nodepb.NodeDef{}, index: map[string]int{}, args: args,
		emitted: map[string]bool{}, calls: map[string][]ref{}}
	for i, n := range nodes {
		s.nodes[n.GetName()] = n
		s.index[n.GetName()] = i
	}
	return s
}

// resolve maps an input string of s (GraphDef syntax "node:i" in the outer
// graph, FunctionDef syntax "arg" or "node:out_arg:i" in a body) to a flat ref.
func (f *flattener) resolve(s *scope, input string) (ref, error) {
	parts := strings.Split(input, ":")
	var node *nodepb.NodeDef
	idx := 0
	if s.fn == "" {
		node = s.nodes[parts[0]]
		if len(parts) == 2 {
			i, err := strconv.Atoi(parts[1])
			if err != nil {
				return ref{}, fmt.Errorf("tfgraph: %s: bad input %q", s.where(), input)
			}
			idx = i
		}
	} else {
		if len(parts) == 1 {
			r, ok := s.args[input]
			if !ok {
				return ref{}, fmt.Errorf("tfgraph: %s: input %q is no argument", s.where(), input)
			}
			return r, nil
		}
		node = s.nodes[parts[0]]
		if node != nil {
			i := 0
			if len(parts) == 3 {
				n, err := strconv.Atoi(parts[2])
				if err != nil {
					return ref{}, fmt.Errorf("tfgraph: %s: bad input %q", s.where(), input)
				}
				i = n
			}
			var err error
			if idx, err = f.flatIndex(node, parts[1], i); err != nil {
				return ref{}, fmt.Errorf("tfgraph: %s: input %q: %w", s.where(), input, err)
			}
		}
	}
	if node == nil {
		return ref{}, fmt.Errorf("tfgraph: %s: input %q names no node", s.where(), input)
	}
	return f.output(s, node, idx)
}

// output is output idx of node n of scope s in the flat graph.
func (f *flattener) output(s *scope, n *nodepb.NodeDef, idx int) (ref, error) {
	switch {
	case f.isCall(n):
		outs, err := f.inline(s, n)
		if err != nil {
			return ref{}, err
		}
		if idx >= len(outs) {
			return ref{}, fmt.Errorf("tfgraph: %s: call %s has %d outputs, %d wanted", s.where(), n.GetName(), len(outs), idx)
		}
		return outs[idx], nil
	case n.GetOp() == "VarHandleOp":
		if s.fn != "" {
			return ref{}, fmt.Errorf("tfgraph: %s: variable %s created inside a function is not supported", s.where(), n.GetName())
		}
		f.vars[n.GetName()] = n
		return ref{variable: n.GetName()}, nil
	case n.GetOp() == "Identity" && n.GetAttr()["T"].GetType() == typespb.DataType_DT_RESOURCE:
		return f.resolve(s, n.GetInput()[0])
	}
	if err := f.emit(s, n); err != nil {
		return ref{}, err
	}
	return ref{node: s.prefix + n.GetName(), idx: idx}, nil
}

func (f *flattener) isCall(n *nodepb.NodeDef) bool {
	switch n.GetOp() {
	case "StatefulPartitionedCall", "PartitionedCall":
		return true
	}
	return f.funcs[n.GetOp()] != nil
}

// emit copies node n of scope s into the flat graph.
func (f *flattener) emit(s *scope, n *nodepb.NodeDef) error {
	if s.emitted[n.GetName()] {
		return nil
	}
	s.emitted[n.GetName()] = true
	if controlFlowOps[n.GetOp()] {
		return fmt.Errorf("tfgraph: %s: node %s is %s: ops that call functions this way are not supported", s.where(), n.GetName(), n.GetOp())
	}
	kept := keptControlFlow[n.GetOp()]
	if _, ok := f.ops[n.GetOp()]; !ok {
		return fmt.Errorf("tfgraph: %s: node %s has op %s, which this TensorFlow does not register", s.where(), n.GetName(), n.GetOp())
	}
	c := proto.Clone(n).(*nodepb.NodeDef)
	c.Name = s.prefix + n.GetName()
	if s.origin != nil {
		f.origin[c.Name] = bodyNode{name: s.origin.name + "/" + n.GetName(), fn: s.origin.fn, index: s.origin.index}
	} else if s.fn != "" {
		f.origin[c.Name] = bodyNode{name: n.GetName(), fn: s.fn, index: s.index[n.GetName()]}
	}
	c.Device = ""
	c.ExperimentalDebugInfo = nil
	for k, v := range c.Attr {
		if strings.HasPrefix(k, "_") {
			delete(c.Attr, k)
			continue
		}
		if v.GetPlaceholder() != "" {
			return fmt.Errorf("tfgraph: %s: node %s: attribute %s is a function placeholder (%s); polymorphic functions are not supported", s.where(), n.GetName(), k, v.GetPlaceholder())
		}
		if kept {
			if err := f.keepAttrFunctions(v); err != nil {
				return fmt.Errorf("%w (node %s in %s)", err, n.GetName(), s.where())
			}
			continue
		}
		if v.GetFunc() != nil || len(v.GetList().GetFunc()) > 0 {
			return fmt.Errorf("tfgraph: %s: node %s (%s) takes a function in attribute %s: not supported", s.where(), n.GetName(), n.GetOp(), k)
		}
	}
	c.Input = c.Input[:0]
	for _, in := range n.GetInput() {
		if strings.HasPrefix(in, "^") {
			continue
		}
		r, err := f.resolve(s, in)
		if err != nil {
			return err
		}
		if r.variable != "" && kept {
			f.handles[r.variable] = true
			c.Input = append(c.Input, resourcePrefix+r.variable)
			continue
		}
		if r.variable != "" {
			if n.GetOp() != "ReadVariableOp" {
				return fmt.Errorf("tfgraph: %s: node %s (%s) uses variable %s directly; only ReadVariableOp is supported", s.where(), n.GetName(), n.GetOp(), r.variable)
			}
			c.Op = "Identity"
			c.Input = []string{weightNode(r.variable)}
			c.Attr = map[string]*attrpb.AttrValue{"T": n.GetAttr()["dtype"]}
			break
		}
		c.Input = append(c.Input, r.String())
	}
	f.out = append(f.out, c)
	return nil
}

// inline inlines the function that call node n of scope s calls.
func (f *flattener) inline(s *scope, n *nodepb.NodeDef) ([]ref, error) {
	if outs, ok := s.calls[n.GetName()]; ok {
		return outs, nil
	}
	name := n.GetOp()
	if a := n.GetAttr()["f"]; a != nil && a.GetFunc() != nil {
		name = a.GetFunc().GetName()
	}
	fn := f.funcs[name]
	if fn == nil {
		return nil, fmt.Errorf("tfgraph: %s: call %s names function %q, which the library lacks", s.where(), n.GetName(), name)
	}
	if f.depth > 64 {
		return nil, fmt.Errorf("tfgraph: function calls nested deeper than 64 at %s", name)
	}
	var ins []string
	for _, in := range n.GetInput() {
		if !strings.HasPrefix(in, "^") {
			ins = append(ins, in)
		}
	}
	sig := fn.GetSignature()
	if len(ins) != len(sig.GetInputArg()) {
		return nil, fmt.Errorf("tfgraph: %s: call %s passes %d inputs to %s, which takes %d", s.where(), n.GetName(), len(ins), name, len(sig.GetInputArg()))
	}
	args := map[string]ref{}
	for i, in := range ins {
		r, err := f.resolve(s, in)
		if err != nil {
			return nil, err
		}
		args[sig.GetInputArg()[i].GetName()] = r
	}
	body := newScope(name, s.prefix+n.GetName()+"/", fn.GetNodeDef(), args)
	// A call made inside a Keras name scope (a layer whose computation
	// Keras 3 puts in a function of its own, e.g. for XLA) reports its body
	// in that scope and at the call's place in the creation order.
	if i := strings.LastIndexByte(n.GetName(), '/'); (i > 0 && s.fn != "") || s.origin != nil {
		at := bodyNode{fn: s.fn, index: s.index[n.GetName()]}
		if i > 0 {
			at.name = n.GetName()[:i]
		}
		if s.origin != nil {
			at.fn, at.index = s.origin.fn, s.origin.index
			at.name = strings.Trim(s.origin.name+"/"+at.name, "/")
		}
		body.origin = &at
	}
	f.depth++
	defer func() { f.depth-- }()
	var outs []ref
	for _, oa := range sig.GetOutputArg() {
		ret, ok := fn.GetRet()[oa.GetName()]
		if !ok {
			return nil, fmt.Errorf("tfgraph: function %s: no ret for output %s", name, oa.GetName())
		}
		r, err := f.resolve(body, ret)
		if err != nil {
			return nil, err
		}
		outs = append(outs, r)
	}
	s.calls[n.GetName()] = outs
	return outs, nil
}

// flatIndex converts output argument outArg, element i, of node n into the
// index of the node's flat output list.
func (f *flattener) flatIndex(n *nodepb.NodeDef, outArg string, i int) (int, error) {
	var args []*opdefpb.OpDef_ArgDef
	var defaults map[string]*attrpb.AttrValue
	if fn := f.funcs[n.GetOp()]; fn != nil {
		args = fn.GetSignature().GetOutputArg()
	} else if op := f.ops[n.GetOp()]; op != nil {
		args = op.GetOutputArg()
		defaults = map[string]*attrpb.AttrValue{}
		for _, a := range op.GetAttr() {
			defaults[a.GetName()] = a.GetDefaultValue()
		}
	} else {
		return 0, fmt.Errorf("unknown op %s", n.GetOp())
	}
	attr := func(name string) *attrpb.AttrValue {
		if v, ok := n.GetAttr()[name]; ok {
			return v
		}
		return defaults[name] // stripped default attrs
	}
	base := 0
	for _, a := range args {
		size := 1
		switch {
		case a.GetNumberAttr() != "":
			size = int(attr(a.GetNumberAttr()).GetI())
		case a.GetTypeListAttr() != "":
			size = len(attr(a.GetTypeListAttr()).GetList().GetType())
		}
		if a.GetName() == outArg {
			if i >= size {
				return 0, fmt.Errorf("%s output %s has %d elements, element %d wanted", n.GetOp(), outArg, size, i)
			}
			return base + i, nil
		}
		base += size
	}
	return 0, fmt.Errorf("%s has no output argument %q", n.GetOp(), outArg)
}

func weightNode(variable string) string { return weightPrefix + variable }

// Weight is one frozen variable of a flat graph.
type Weight struct {
	Name  string  // the variable's name (its shared_name), e.g. "conv1_1/kernel"
	Node  string  // the PlaceholderWithDefault that holds it in the flat graph
	DType string  // numpy-style dtype
	Shape []int64 // its shape
	// InLoop says that control flow kept in the flat graph (a recurrent
	// layer's While loop) reads the variable through its live handle: a
	// replacement value would not reach it, so PrepareWeights refuses it.
	InLoop bool
}

// flatGraph is the result of flattening: a GraphDef and where its signature
// tensors are.
type flatGraph struct {
	def     *graphpb.GraphDef
	inputs  []string // flat tensor per signature input
	outputs []string // flat tensor per signature output
	weights []Weight
	origin  map[string]bodyNode
	reads   map[string]tf.Output // weight value placeholder → ReadVariableOp in the loaded graph
	handles map[string]string    // resource placeholder → VarHandleOp in the loaded graph
}

// flatten builds the flat graph of m's signature; values of variables are read
// through m's session.
func (m *Model) flatten() (*flatGraph, error) {
	ops, err := registeredOps()
	if err != nil {
		return nil, err
	}
	gd := m.meta.GetGraphDef()
	f := &flattener{origin: map[string]bodyNode{}, ops: ops, funcs: map[string]*fnpb.FunctionDef{}, vars: map[string]*nodepb.NodeDef{},
		kept: map[string]bool{}, handles: map[string]bool{}}
	for _, fn := range gd.GetLibrary().GetFunction() {
		f.funcs[fn.GetSignature().GetName()] = fn
	}
	outer := newScope("", "", gd.GetNode(), nil)
	fg := &flatGraph{}
	for _, in := range m.Signature.Inputs {
		op, idx, err := parseTensorName(in.Name)
		if err != nil {
			return nil, err
		}
		n := outer.nodes[op]
		if n == nil {
			return nil, fmt.Errorf("tfgraph: %s: signature input %s names no node", m.Dir, in.Name)
		}
		r, err := f.output(outer, n, idx)
		if err != nil {
			return nil, err
		}
		fg.inputs = append(fg.inputs, r.String())
	}
	for _, out := range m.Signature.Outputs {
		r, err := f.resolve(outer, out.Name)
		if err != nil {
			return nil, fmt.Errorf("%w (flattening %s)", err, m.Dir)
		}
		if r.variable != "" {
			return nil, fmt.Errorf("tfgraph: %s: signature output %s is a variable handle", m.Dir, out.Name)
		}
		fg.outputs = append(fg.outputs, r.String())
	}
	weights, consts, reads, err := m.freeze(f.vars)
	if err != nil {
		return nil, err
	}
	// Variables captured by kept control flow: their live handles.
	fg.handles = map[string]string{}
	for _, v := range sortedKeys(f.handles) { // the flat graph's node order is reproducible
		name := resourcePrefix + v
		consts = append(consts, &nodepb.NodeDef{Name: name, Op: "Placeholder", Attr: map[string]*attrpb.AttrValue{
			"dtype": typeAttr(typespb.DataType_DT_RESOURCE), "shape": {Value: &attrpb.AttrValue_Shape{Shape: &shapepb.TensorShapeProto{}}}}})
		fg.handles[name] = v
		for i := range weights {
			if weights[i].Node == weightNode(v) {
				weights[i].InLoop = true
			}
		}
	}
	fg.weights = weights
	fg.reads = reads
	fg.origin = f.origin
	fg.def = &graphpb.GraphDef{Node: append(consts, f.out...), Versions: gd.GetVersions()}
	if len(f.kept) > 0 {
		fg.def.Library = &fnpb.FunctionDefLibrary{}
		for _, fn := range gd.GetLibrary().GetFunction() {
			if f.kept[fn.GetSignature().GetName()] {
				fg.def.Library.Function = append(fg.def.Library.Function, fn)
			}
		}
		for _, g := range gd.GetLibrary().GetGradient() {
			if f.kept[g.GetFunctionName()] {
				fg.def.Library.Gradient = append(fg.def.Library.Gradient, g)
			}
		}
	}
	for i := range fg.inputs {
		if err := floatInput(fg, i); err != nil {
			return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, err)
		}
	}
	if m.channelAdded {
		if err := channelInput(fg, m.Signature.Inputs[0].Shape); err != nil {
			return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, err)
		}
	}
	return fg, nil
}

// channelSuffix names the [N,H,W,1] placeholder that feeds a signature
// input [N,H,W] in the flat graph.
const channelSuffix = "/saliency_nhwc"

// channelInput gives the flat graph an input with a channel axis where the
// signature's takes a grayscale batch without one (Model.ChannelAdded): the
// float32 placeholder becomes a Squeeze of axis 3 of a new placeholder of
// shape (the signature's shape with the channel axis, [N,H,W,1]), so that
// every method feeds, and every gradient ends on, an image batch as it does
// for any other model (the signal reaches it through the Squeeze rule).
func channelInput(fg *flatGraph, shape []int64) error {
	name := nodeOf(fg.inputs[0])
	ph := inputPlaceholder(fg, 0)
	if ph == nil {
		return fmt.Errorf("signature input %s [N,H,W] is not a placeholder of the flat graph; saliency feeds image batches [N,H,W,C]", fg.inputs[0])
	}
	dims := make([]*shapepb.TensorShapeProto_Dim, len(shape))
	for i, d := range shape {
		dims[i] = &shapepb.TensorShapeProto_Dim{Size: d}
	}
	nhwc := name + channelSuffix
	in := &nodepb.NodeDef{Name: nhwc, Op: "Placeholder", Attr: map[string]*attrpb.AttrValue{
		"dtype": ph.GetAttr()["dtype"], "shape": {Value: &attrpb.AttrValue_Shape{Shape: &shapepb.TensorShapeProto{Dim: dims}}}}}
	ph.Op = "Squeeze"
	ph.Input = []string{nhwc}
	ph.Attr = map[string]*attrpb.AttrValue{"T": ph.GetAttr()["dtype"],
		"squeeze_dims": {Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{I: []int64{3}}}}}
	fg.def.Node = append(fg.def.Node, in)
	fg.inputs[0] = nhwc
	return nil
}

// inputSuffix names the float32 placeholder that feeds a signature input of
// another dtype in the flat graph.
const inputSuffix = "/saliency_float32"

// floatInput gives the flat graph a float32 input where signature input i
// has another dtype, so that the backward engine has a float32 tensor to end
// on and callers feed float32 everywhere:
//
//   - a float16, bfloat16 or float64 placeholder becomes a Cast from a new
//     float32 placeholder (the signal reaches it through the Cast rule);
//   - an integer placeholder (a uint8 image) becomes a Cast from the new
//     float32 placeholder for the ops that read the integers, and each Cast
//     of it to a floating-point type reads the float32 placeholder instead:
//     the gradient is taken with respect to the image as the model's first
//     float op sees it (the same values for whole-number pixels).
func floatInput(fg *flatGraph, i int) error {
	name := nodeOf(fg.inputs[i])
	ph := inputPlaceholder(fg, i)
	if ph == nil {
		return nil
	}
	dt := ph.GetAttr()["dtype"].GetType()
	switch dt {
	case typespb.DataType_DT_FLOAT:
		return nil
	case typespb.DataType_DT_HALF, typespb.DataType_DT_BFLOAT16, typespb.DataType_DT_DOUBLE,
		typespb.DataType_DT_UINT8, typespb.DataType_DT_INT8, typespb.DataType_DT_UINT16, typespb.DataType_DT_INT16,
		typespb.DataType_DT_INT32, typespb.DataType_DT_INT64:
	default:
		return fmt.Errorf("signature input %s is %s; saliency feeds floating-point or integer images", name, dtypeName(dt))
	}
	f32 := name + inputSuffix
	in := &nodepb.NodeDef{Name: f32, Op: "Placeholder", Attr: map[string]*attrpb.AttrValue{
		"dtype": typeAttr(typespb.DataType_DT_FLOAT), "shape": ph.GetAttr()["shape"]}}
	ph.Op = "Cast"
	ph.Input = []string{f32}
	ph.Attr = map[string]*attrpb.AttrValue{"SrcT": typeAttr(typespb.DataType_DT_FLOAT), "DstT": typeAttr(dt),
		"Truncate": {Value: &attrpb.AttrValue_B{B: false}}}
	fg.def.Node = append(fg.def.Node, in)
	if isFloatProto(dt) {
		fg.inputs[i] = f32
		return nil
	}
	for _, n := range fg.def.GetNode() {
		if n.GetOp() != "Cast" || len(n.GetInput()) != 1 || nodeOf(n.GetInput()[0]) != name || n == ph {
			continue
		}
		if !isFloatProto(n.GetAttr()["DstT"].GetType()) {
			continue
		}
		n.Input[0] = f32
		n.Attr["SrcT"] = typeAttr(typespb.DataType_DT_FLOAT)
	}
	fg.inputs[i] = f32
	return nil
}

// inputPlaceholder is the Placeholder node whose first output is the flat
// graph's input i, or nil when the input is another tensor.
func inputPlaceholder(fg *flatGraph, i int) *nodepb.NodeDef {
	if tensorIndex(fg.inputs[i]) != 0 {
		return nil
	}
	name := nodeOf(fg.inputs[i])
	for _, n := range fg.def.GetNode() {
		if n.GetName() == name {
			if n.GetOp() != "Placeholder" {
				return nil
			}
			return n
		}
	}
	return nil
}

func isFloatProto(dt typespb.DataType) bool {
	return dt == typespb.DataType_DT_FLOAT || dt == typespb.DataType_DT_HALF || dt == typespb.DataType_DT_BFLOAT16 || dt == typespb.DataType_DT_DOUBLE
}

// freeze makes each variable a weight of the flat graph: a placeholder for
// its value (mapped, when the flat graph is imported into the loaded graph,
// to a ReadVariableOp of the live variable, so no value is copied) under a
// PlaceholderWithDefault that an experiment can feed. It returns the
// weights, sorted by name, the nodes, and the read op of each weight's value
// placeholder.
func (m *Model) freeze(vars map[string]*nodepb.NodeDef) ([]Weight, []*nodepb.NodeDef, map[string]tf.Output, error) {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	g := m.saved.Graph
	var weights []Weight
	var nodes []*nodepb.NodeDef
	reads := map[string]tf.Output{}
	for _, name := range names {
		v := vars[name]
		dt := v.GetAttr()["dtype"].GetType()
		read := "saliency_freeze/" + name
		op := g.Operation(read)
		if op == nil {
			h := g.Operation(name)
			if h == nil {
				return nil, nil, nil, fmt.Errorf("tfgraph: %s: variable %s is not in the loaded graph", m.Dir, name)
			}
			var err error
			op, err = g.AddOperation(tf.OpSpec{Type: "ReadVariableOp", Name: read,
				Input: []tf.Input{h.Output(0)}, Attrs: map[string]any{"dtype": tf.DataType(dt)}})
			if err != nil {
				return nil, nil, nil, fmt.Errorf("tfgraph: %s: reading variable %s: %w", m.Dir, name, err)
			}
		}
		shape := v.GetAttr()["shape"].GetShape()
		if shape == nil || shape.GetUnknownRank() {
			return nil, nil, nil, fmt.Errorf("tfgraph: %s: variable %s has no static shape", m.Dir, name)
		}
		var dims []int64
		for _, d := range shape.GetDim() {
			dims = append(dims, d.GetSize())
		}
		node := weightNode(name)
		typ := &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: dt}}
		shp := &attrpb.AttrValue{Value: &attrpb.AttrValue_Shape{Shape: shape}}
		nodes = append(nodes,
			&nodepb.NodeDef{Name: node + "/value", Op: "Placeholder", Attr: map[string]*attrpb.AttrValue{"dtype": typ, "shape": shp}},
			&nodepb.NodeDef{Name: node, Op: "PlaceholderWithDefault", Input: []string{node + "/value"},
				Attr: map[string]*attrpb.AttrValue{"dtype": typ, "shape": shp}})
		reads[node+"/value"] = op.Output(0)
		wname := v.GetAttr()["shared_name"].GetS()
		if len(wname) == 0 {
			wname = []byte(name)
		}
		weights = append(weights, Weight{Name: string(wname), Node: node, DType: dtypeName(dt), Shape: dims})
	}
	return weights, nodes, reads, nil
}
