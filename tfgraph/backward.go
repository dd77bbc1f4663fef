//go:build cgo

package tfgraph

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// Backward is a backward graph added to a flat graph once for one (start,
// end, rule set): it maps a seed on the start tensor (e.g. a one-hot on the
// logits) to the signal on the end tensor (the input, or a layer's output).
// When no seed is fed, the seed is the one-hot of the largest start value of
// each row (the predicted class, for logits), computed inside the graph; for a
// start tensor that is not [batch, classes] it is all ones.
type Backward struct {
	fl         *Flat
	Start, End string
	Rules      *RuleSet
	seed       tf.Output // PlaceholderWithDefault
	pick       tf.Output // the mask placeholder of a picking graph (Grad.Pick)
	startOut   tf.Output
	result     tf.Output
	prefix     string // of its ops' names in the loaded graph
	// signals are the summed signals on the tensors the pass goes through
	// (flat names, in the tensors' dtypes), for Grad.At; at caches their
	// float32 copies that a run fetches (signalAt).
	signals map[string]tf.Output
	at      map[string]tf.Output
}

type bwKey struct {
	start, end, rules string
	pick              bool
}

// backwardCache holds the Backward graphs of a Flat, shared by its views.
type backwardCache struct {
	mu      sync.Mutex
	m       map[bwKey]*Backward
	oracles map[string]*oracle // TF_AddGradients per target tensor (oracle.go)
	origin  map[string]string  // backward op → the forward node whose rule added it
	derived derivedWeights
	// second holds the second-order graphs (second.go).
	second map[bwKey]*secondOrder
	// softplus holds the softplus copies (softplus.go).
	softplus softplusCache
}

// Backward returns the backward graph from start to end (flat tensor names;
// "" means the logits and the signature input) under rules (nil: Plain),
// adding it to the graph on first use. An op on the path with no rule is a
// *NoRuleError naming the op, its layer and the rule set, before anything runs.
func (fl *Flat) Backward(start, end string, rules *RuleSet) (*Backward, error) {
	return fl.backward(start, end, rules, false)
}

// backward is Backward, seeded by a pick mask (Grad.Pick) when pick is set:
// a graph of its own, since its seed is computed from the start tensor.
func (fl *Flat) backward(start, end string, rules *RuleSet, pick bool) (*Backward, error) {
	if start == "" {
		start, _ = fl.Logits()
	}
	if end == "" {
		end = fl.inputName()
	}
	if rules == nil {
		rules = Plain
	}
	if rules.Name == "" {
		return nil, fmt.Errorf("tfgraph: a rule set needs a name")
	}
	start, end = canonical(start), canonical(end)
	fl.bw.mu.Lock()
	defer fl.bw.mu.Unlock()
	key := bwKey{start, end, rules.Name, pick}
	if b, ok := fl.bw.m[key]; ok {
		return b, nil
	}
	if fl.bw.m == nil {
		fl.bw.m = map[bwKey]*Backward{}
	}
	b, err := fl.buildBackward(start, end, rules, pick, fmt.Sprintf("saliency_bw%d/", fl.model.seq.Add(1)))
	if err != nil {
		return nil, err
	}
	fl.bw.m[key] = b
	return b, nil
}

// Gradient computes, under rules (nil: Plain), the signal of score[class_i]
// of image i on the end tensor ("" for the input): with Plain, d logit_c / d
// end. It is one Run with one Grad.
func (fl *Flat) Gradient(x *tensor.Tensor, classes []int, end string, rules *RuleSet) (*tensor.Tensor, error) {
	logits, _ := fl.Logits()
	seed, err := fl.OneHot(logits, classes)
	if err != nil {
		return nil, err
	}
	if x == nil || len(x.Shape) == 0 || len(classes) != x.Shape[0] {
		return nil, fmt.Errorf("tfgraph: %s: %d classes for a batch of %v", fl.model.Dir, len(classes), shapeOf(x))
	}
	res, err := fl.Run(context.Background(), x, Query{Grads: []Grad{{End: end, Rules: rules, Seed: seed}}})
	if err != nil {
		return nil, err
	}
	return res.Grads[0], nil
}

// OneHot returns the seed [len(classes), K] that picks classes[i] of row i of
// the [batch, K] tensor scores ("" for the logits).
func (fl *Flat) OneHot(scores string, classes []int) (*tensor.Tensor, error) {
	if scores == "" {
		scores, _ = fl.Logits()
	}
	k, err := fl.classCount(scores)
	if err != nil {
		return nil, err
	}
	seed := tensor.New(len(classes), k)
	for i, c := range classes {
		if c < 0 || c >= k {
			return nil, fmt.Errorf("tfgraph: %s: class %d out of range [0,%d)", fl.model.Dir, c, k)
		}
		seed.Data[i*k+c] = 1
	}
	return seed, nil
}

// classCount is K of a [batch, K] tensor.
func (fl *Flat) classCount(scores string) (int, error) {
	o, err := fl.tensor(scores)
	if err != nil {
		return 0, err
	}
	sh := o.Shape()
	if sh.NumDimensions() != 2 || sh.Size(1) < 1 {
		return 0, fmt.Errorf("tfgraph: %s: scores %s have shape %v, want [batch, classes]", fl.model.Dir, scores, sh)
	}
	return int(sh.Size(1)), nil
}

func (b *Builder) name(kind string) string {
	b.n++
	return fmt.Sprintf("%s%s_%d", b.prefix, kind, b.n)
}

// op adds an op; after the first error it does nothing.
func (b *Builder) op(typ string, inputs []tf.Input, attrs map[string]any) tf.Output {
	if b.err != nil {
		return tf.Output{}
	}
	o, err := b.g.AddOperation(tf.OpSpec{Type: typ, Name: b.name(typ), Input: inputs, Attrs: attrs})
	if err != nil {
		b.err = fmt.Errorf("tfgraph: backward %s: %s", typ, firstLine(err.Error()))
		return tf.Output{}
	}
	if b.fwd != "" {
		// The caller holds fl.bw.mu (Flat.Backward).
		if b.fl.bw.origin == nil {
			b.fl.bw.origin = map[string]string{}
		}
		b.fl.bw.origin[o.Name()] = b.fwd
	}
	return o.Output(0)
}

func (b *Builder) op1(typ string, attrs map[string]any, in ...tf.Output) tf.Output {
	inputs := make([]tf.Input, len(in))
	for i, x := range in {
		inputs[i] = x
	}
	return b.op(typ, inputs, attrs)
}

// constant adds a Const holding v (an int32, []int32 or float32 value).
func (b *Builder) constant(v any) tf.Output {
	t, err := tf.NewTensor(v)
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return tf.Output{}
	}
	return b.op("Const", nil, map[string]any{"dtype": t.DataType(), "value": t})
}

func (b *Builder) constI32(v []int32) tf.Output { return b.constant(v) }
func (b *Builder) scalarI32(v int32) tf.Output  { return b.constant(v) }
func (b *Builder) constF32(v float32) tf.Output { return b.constant(v) }

// constLike adds a scalar constant v of the dtype of like (float64 held
// exactly; float16 and bfloat16 cast from float32, as TensorFlow rounds).
func (b *Builder) constLike(v float64, like tf.Output) tf.Output {
	if b.err != nil {
		return tf.Output{}
	}
	switch dt := like.DataType(); dt {
	case tf.Float:
		return b.constant(float32(v))
	case tf.Double:
		return b.constant(v)
	default:
		return b.castTo(b.constant(float32(v)), dt)
	}
}

// castTo converts x to dtype dt (x itself when it has that dtype).
func (b *Builder) castTo(x tf.Output, dt tf.DataType) tf.Output {
	if b.err != nil || x.DataType() == dt {
		return x
	}
	return b.op1("Cast", map[string]any{"DstT": dt}, x)
}

func (b *Builder) shape(x tf.Output) tf.Output {
	return b.op1("Shape", map[string]any{"out_type": tf.Int32}, x)
}

// reduceTo sums grad over the dimensions broadcast away from shape(x) and
// reshapes it to x's shape (the gradient of a broadcasting binary op).
func (b *Builder) reduceTo(grad, x, other tf.Output, first bool) tf.Output {
	if b.err != nil {
		return tf.Output{}
	}
	sx, so := b.shape(x), b.shape(other)
	// BroadcastGradientArgs(s0, s1) gives the axes to reduce for each operand.
	s0, s1, k := sx, so, 0
	if !first {
		s0, s1, k = so, sx, 1
	}
	o, err := b.g.AddOperation(tf.OpSpec{Type: "BroadcastGradientArgs", Name: b.name("BroadcastGradientArgs"), Input: []tf.Input{s0, s1}})
	if err != nil {
		b.err = err
		return tf.Output{}
	}
	args := o.Output(k)
	sum := b.op1("Sum", map[string]any{"keep_dims": false}, grad, args)
	return b.op1("Reshape", nil, sum, sx)
}

// attr converts a NodeDef attribute into a graft attribute value.
func attr(n *nodepb.NodeDef, name string) (any, bool) {
	a, ok := n.GetAttr()[name]
	if !ok {
		return nil, false
	}
	switch v := a.GetValue().(type) {
	case *attrpb.AttrValue_S:
		return string(v.S), true
	case *attrpb.AttrValue_I:
		return v.I, true
	case *attrpb.AttrValue_F:
		return v.F, true
	case *attrpb.AttrValue_B:
		return v.B, true
	case *attrpb.AttrValue_Type:
		return tf.DataType(v.Type), true
	case *attrpb.AttrValue_List:
		if len(v.List.GetS()) > 0 {
			s := make([]string, len(v.List.GetS()))
			for i, x := range v.List.GetS() {
				s[i] = string(x)
			}
			return s, true
		}
		return append([]int64{}, v.List.GetI()...), true
	}
	return nil, false
}

func attrs(n *nodepb.NodeDef, names ...string) map[string]any {
	out := map[string]any{}
	for _, name := range names {
		if v, ok := attr(n, name); ok {
			out[name] = v
		}
	}
	return out
}

func (fl *Flat) buildBackward(start, end string, rules *RuleSet, pick bool, prefix string) (*Backward, error) {
	b := &Builder{fl: fl, g: fl.graph, prefix: prefix}
	startOut, err := fl.tensor(start)
	if err != nil {
		return nil, err
	}
	endOut, err := fl.tensor(end)
	if err != nil {
		return nil, err
	}
	if !isFloat(startOut.DataType()) || !isFloat(endOut.DataType()) {
		return nil, fmt.Errorf("tfgraph: %s: backward from %s (%s) to %s (%s): both must be floating-point tensors",
			fl.model.Dir, start, tfDTypeName(startOut.DataType()), end, tfDTypeName(endOut.DataType()))
	}
	endNode, startNode := nodeOf(end), nodeOf(start)
	order := fl.order
	pos, onPath, err := fl.path(startNode, endNode)
	if err != nil {
		return nil, err
	}
	// The seed is fed as float32 and enters the start tensor's dtype; the
	// result leaves as float32 (below).
	var seed, mask tf.Output
	if pick {
		seed, mask = b.pickSeed(startOut)
	} else {
		seed = b.defaultSeed(startOut)
	}
	grads := map[string][]tf.Output{} // tensor name → signals to sum
	grads[start] = []tf.Output{b.castTo(seed, startOut.DataType())}
	var result tf.Output
	signals := map[string]tf.Output{}
	var stops []*nodepb.NodeDef // nodes where a signal ends
	for i := pos[startNode]; i >= pos[endNode] && b.err == nil; i-- {
		n := order[i]
		name := n.GetName()
		if !onPath[name] {
			continue
		}
		op := fl.op(name)
		nout := op.NumOutputs()
		dys := make([]tf.Output, nout)
		any := false
		for k := 0; k < nout; k++ {
			t := name + outputSuffix(k)
			if gs := grads[t]; len(gs) > 0 {
				dys[k] = b.sum(gs)
				signals[t] = dys[k]
				any = true
			}
		}
		if !any {
			continue
		}
		if name == endNode {
			result = dys[tensorIndex(end)]
			break
		}
		n = fl.asComposite(n, rules)
		ins, need, blocked := fl.signalInputs(n, onPath)
		if blocked >= 0 {
			b.forgetDerived()
			return nil, fl.noRule(n, rules, onPath,
				fmt.Sprintf("its signal would pass through its %s input %d", tfDTypeName(ins[blocked].DataType()), blocked))
		}
		if !slices.Contains(need, true) {
			stops = append(stops, n) // its on-path inputs take no signal
			continue
		}
		r := rules.rule(n.GetOp())
		if r == nil {
			b.forgetDerived()
			return nil, fl.noRule(n, rules, onPath, "")
		}
		outs := make([]tf.Output, nout)
		for k := range outs {
			outs[k] = op.Output(k)
		}
		b.fwd = name
		dxs, err := callRule(r, b, &Node{def: n, In: ins, Out: outs, Dy: dys, Need: need})
		b.fwd = ""
		if err != nil {
			b.forgetDerived()
			return nil, fmt.Errorf("tfgraph: %s: the %s rule for op %s (node %s, layer %s): %w", fl.model.Dir, rules.Name, n.GetOp(), name, fl.layerOf(name), err)
		}
		if b.err != nil {
			break
		}
		for k := range need {
			if nout == 1 && need[k] && (k >= len(dxs) || dxs[k].Op == nil) {
				// A rule that drops a signal TensorFlow would pass (the
				// filter of a convolution computed from the image) would
				// give a silently smaller gradient. (An op with several
				// outputs, IdentityN, passes nothing to an input whose
				// output got no signal.)
				b.forgetDerived()
				return nil, &NoRuleError{Model: fl.model.Dir, Op: n.GetOp(), Node: name, Layer: fl.layerOf(name), Rules: rules.Name,
					Why: fmt.Sprintf("its input %d (%s) depends on the input too, and the rule gives it no signal", k, n.GetInput()[k])}
			}
		}
		for k, dx := range dxs {
			if dx.Op == nil || k >= len(n.GetInput()) || !need[k] {
				continue
			}
			if dx.DataType() != ins[k].DataType() {
				b.forgetDerived()
				return nil, fmt.Errorf("tfgraph: %s: the %s rule for op %s (node %s, layer %s) gives a %s signal for its %s input %d",
					fl.model.Dir, rules.Name, n.GetOp(), name, fl.layerOf(name), tfDTypeName(dx.DataType()), tfDTypeName(ins[k].DataType()), k)
			}
			src := canonical(n.GetInput()[k])
			grads[src] = append(grads[src], dx)
		}
	}
	if b.err != nil {
		b.forgetDerived()
		return nil, fmt.Errorf("%w (node in %s)", b.err, fl.model.Dir)
	}
	if result.Op == nil {
		b.forgetDerived()
		if len(stops) > 0 {
			return nil, fl.signalStops(stops, rules, start, end)
		}
		return nil, fmt.Errorf("tfgraph: %s: no %s signal reaches %s from %s", fl.model.Dir, rules, end, start)
	}
	result = b.castTo(result, tf.Float)
	if result == seed {
		// start is end (Grad-CAM of a unit at its own layer): the signal
		// is the seed, which a run cannot both feed and fetch.
		result = b.op1("Identity", nil, result)
	}
	if b.err != nil {
		b.forgetDerived()
		return nil, fmt.Errorf("%w (node in %s)", b.err, fl.model.Dir)
	}
	if err := b.initDerived(); err != nil {
		return nil, fl.explainRunErrorLocked(err)
	}
	return &Backward{fl: fl, Start: start, End: end, Rules: rules, seed: seed, pick: mask, startOut: startOut, result: result, prefix: prefix,
		signals: signals}, nil
}

// signalAt is the signal of this pass on flat tensor name (Grad.At), as a
// float32 tensor of its own that a run can fetch beside the result, added
// to the graph on first use. A tensor the pass does not reach (off the path
// from Start to End, or where every signal stopped) is an error.
func (bw *Backward) signalAt(name string) (tf.Output, error) {
	fl := bw.fl
	fl.bw.mu.Lock()
	defer fl.bw.mu.Unlock()
	name = canonical(name)
	if o, ok := bw.at[name]; ok {
		return o, nil
	}
	s, ok := bw.signals[name]
	if !ok {
		if _, err := fl.tensor(name); err != nil {
			return tf.Output{}, err
		}
		return tf.Output{}, fmt.Errorf("tfgraph: %s: no %s signal from %s reaches %s on the way to %s", fl.model.Dir, bw.Rules.Name, bw.Start, name, bw.End)
	}
	b := &Builder{fl: fl, g: fl.graph, prefix: fmt.Sprintf("%sat%d/", bw.prefix, len(bw.at))}
	// An Identity of its own: the signal may be the seed (a fed
	// placeholder) or the result, which a run fetches once.
	o := b.op1("Identity", nil, b.castTo(s, tf.Float))
	if b.err != nil {
		return tf.Output{}, fmt.Errorf("%w (node in %s)", b.err, fl.model.Dir)
	}
	if bw.at == nil {
		bw.at = map[string]tf.Output{}
	}
	bw.at[name] = o
	return o, nil
}

// signalInputs returns the inputs of node n in the graph, which of them need
// a backward signal (on the path, floating-point), and, when none does, the
// index of an input on the path that a signal would have to cross although
// the engine cannot follow it (a variant or resource: the TensorList of a
// loop), or -1. Through integer and boolean inputs no signal passes (Fill of
// a zero state whose shape comes from the input, a random op seeded by a
// shape): such a node is skipped, whatever the rule set.
func (fl *Flat) signalInputs(n *nodepb.NodeDef, onPath map[string]bool) (ins []tf.Output, need []bool, blocked int) {
	ins = make([]tf.Output, len(n.GetInput()))
	need = make([]bool, len(n.GetInput()))
	for k, in := range n.GetInput() {
		if o, err := fl.tensor(in); err == nil {
			ins[k] = o
		}
		need[k] = onPath[nodeOf(in)] && ins[k].Op != nil && isFloat(ins[k].DataType()) && !slices.Contains(noSignalInputs[n.GetOp()], k)
	}
	if slices.Contains(need, true) {
		return ins, need, -1
	}
	for k, in := range n.GetInput() {
		if onPath[nodeOf(in)] && ins[k].Op != nil && !noSignalType(ins[k].DataType()) && !isFloat(ins[k].DataType()) {
			return ins, need, k
		}
	}
	return ins, need, -1
}

// noRule is the *NoRuleError for node n. When control flow kept in the flat
// graph (a recurrent layer's While loop) lies on the path, the refusal names
// it instead: that is what the engine cannot go through, and an op after it
// (TensorListStack) is only where the signal first failed.
func (fl *Flat) noRule(n *nodepb.NodeDef, rules *RuleSet, onPath map[string]bool, why string) *NoRuleError {
	if c := fl.controlFlowOn(onPath); c != nil {
		return &NoRuleError{Model: fl.model.Dir, Op: c.GetOp(), Node: c.GetName(), Layer: fl.layerOf(c.GetName()), Rules: rules.Name,
			Why: controlFlowWhy(c.GetOp())}
	}
	return &NoRuleError{Model: fl.model.Dir, Op: n.GetOp(), Node: n.GetName(), Layer: fl.layerOf(n.GetName()), Rules: rules.Name, Why: why}
}

// controlFlowOn is the control-flow node kept in the flat graph that lies on
// a path and nearest its start (the logits), or nil.
func (fl *Flat) controlFlowOn(onPath map[string]bool) *nodepb.NodeDef {
	for i := len(fl.order) - 1; i >= 0; i-- {
		if c := fl.order[i]; onPath[c.GetName()] && keptControlFlow[c.GetOp()] {
			return c
		}
	}
	return nil
}

// asComposite is n, or for the output node of a composite that rs uses
// (PReLU; LayerNorm and Gelu under AttnLRP) a node of its pseudo-op over the
// composite's inputs, which the engine treats as one op.
func (fl *Flat) asComposite(n *nodepb.NodeDef, rs *RuleSet) *nodepb.NodeDef {
	if c, ok := fl.composite(n.GetName(), rs); ok {
		return &nodepb.NodeDef{Name: n.GetName(), Op: c.op, Input: c.inputs}
	}
	return n
}

// controlFlowWhy explains a refusal at a kept control-flow op.
func controlFlowWhy(op string) string {
	if op == "While" || op == "StatelessWhile" {
		return "a loop (a recurrent layer such as LSTM or GRU) is not differentiated by the backward engine; build the layer with unroll=True (Keras) to explain the model with gradient methods; occlusion and other forward-only methods work as it is"
	}
	return "a conditional (tf.cond or tf.switch_case) is not differentiated by the backward engine; forward-only methods such as occlusion work"
}

// signalStops is the error of a backward pass from start whose signal never
// reaches end: every way back ends at one of stops, a StopGradient or an op
// whose input on the way is an integer (a cast to uint8 and back, a
// quantisation), where TensorFlow's gradient is None too. The methods that
// need it do not apply; forward-only ones do.
func (fl *Flat) signalStops(stops []*nodepb.NodeDef, rules *RuleSet, start, end string) error {
	var where []string
	for _, n := range stops {
		s := n.GetOp()
		if src, ok := attr(n, "SrcT"); ok && n.GetOp() == "Cast" {
			s += " from " + tfDTypeName(src.(tf.DataType))
		}
		s += " (node " + n.GetName() + ", layer " + fl.layerOf(n.GetName()) + ")"
		if !slices.Contains(where, s) {
			where = append(where, s)
		}
	}
	return &NotApplicableError{Model: fl.model.Dir, Reason: fmt.Sprintf(
		"no %s signal reaches %s from %s: every path back stops at %s, through which TensorFlow's gradient is None (a StopGradient, a rounding, or an integer tensor such as a cast to uint8 and back); methods that need the gradient do not apply, forward-only methods (occlusion, RISE, Score-CAM) do",
		rules, end, start, strings.Join(where, ", "))}
}

// noSignalInputs are the inputs, by op, through which TensorFlow's own
// gradient passes nothing (it returns None for them): a signal that reaches
// them stops there.
var noSignalInputs = map[string][]int{
	"StopGradient": {0},
	// Piecewise-constant functions (a quantisation round(255·x)/255):
	// TensorFlow's gradient is None (Sign's zero), as the tape says.
	"Round": {0}, "Rint": {0}, "Floor": {0}, "Ceil": {0}, "Sign": {0},
	"ImageProjectiveTransformV3": {1, 2, 3}, // transforms, output shape, fill value
	"ScaleAndTranslate":          {1, 2, 3}, // size, scale, translation (from the input's shape)
}

// noSignalType says whether no backward signal can flow through a tensor of
// type dt (integers and booleans).
func noSignalType(dt tf.DataType) bool {
	switch dt {
	case tf.Int8, tf.Int16, tf.Int32, tf.Int64, tf.Uint8, tf.Uint16, tf.Uint32, tf.Uint64, tf.Bool, tf.String:
		return true
	}
	return false
}

// defaultSeed is the seed placeholder of a backward graph from start: fed, it
// is any seed; not fed, the one-hot of each row's largest value for a
// [batch, K] start (the predicted class), or ones otherwise.
func (b *Builder) defaultSeed(start tf.Output) tf.Output {
	var def tf.Output
	if sh := start.Shape(); sh.NumDimensions() == 2 && sh.Size(1) > 0 {
		top := b.op1("ArgMax", map[string]any{"output_type": tf.Int32}, start, b.scalarI32(1))
		def = b.op1("OneHot", map[string]any{"axis": int64(-1)}, top, b.scalarI32(int32(sh.Size(1))), b.constF32(1), b.constF32(0))
	} else {
		def = b.op1("OnesLike", nil, start)
	}
	return b.op1("PlaceholderWithDefault", map[string]any{"shape": start.Shape()}, def)
}

// pickSeed is the seed of a picking graph (Grad.Pick) and its mask
// placeholder: the one-hot, per row, of the largest start value where the
// mask is non-zero (ArgMax: the first of ties in row-major order).
func (b *Builder) pickSeed(start tf.Output) (seed, mask tf.Output) {
	mask = b.op1("Placeholder", map[string]any{"dtype": tf.Float})
	s := b.castTo(start, tf.Float)
	ninf := b.constF32(float32(math.Inf(-1)))
	masked := b.op1("SelectV2", nil, b.op1("NotEqual", nil, mask, b.constF32(0)), s, ninf)
	shape := b.op1("Shape", map[string]any{"out_type": tf.Int32}, s)
	rows := b.op1("StridedSlice", map[string]any{"shrink_axis_mask": int64(1)}, shape, b.constI32([]int32{0}), b.constI32([]int32{1}), b.constI32([]int32{1}))
	flat := b.op1("Reshape", nil, masked, b.op("Pack", []tf.Input{tf.OutputList{rows, b.scalarI32(-1)}}, map[string]any{"axis": int64(0)}))
	depth := b.op1("StridedSlice", map[string]any{"shrink_axis_mask": int64(1)}, b.op1("Shape", map[string]any{"out_type": tf.Int32}, flat), b.constI32([]int32{1}), b.constI32([]int32{2}), b.constI32([]int32{1}))
	top := b.op1("ArgMax", map[string]any{"output_type": tf.Int32}, flat, b.scalarI32(1))
	hot := b.op1("OneHot", map[string]any{"axis": int64(-1)}, top, depth, b.constF32(1), b.constF32(0))
	def := b.op1("Reshape", nil, hot, shape)
	seed = b.op1("PlaceholderWithDefault", map[string]any{"shape": start.Shape()}, def)
	return seed, mask
}

func (b *Builder) sum(gs []tf.Output) tf.Output {
	if len(gs) == 1 {
		return gs[0]
	}
	inputs := make(tf.OutputList, len(gs))
	copy(inputs, gs)
	return b.op("AddN", []tf.Input{inputs}, nil)
}

func canonical(t string) string {
	op, idx, err := parseTensorName(t)
	if err != nil {
		return t
	}
	return op + outputSuffix(idx)
}

func (fl *Flat) tensor(name string) (tf.Output, error) {
	op, idx, err := parseTensorName(name)
	if err != nil {
		return tf.Output{}, err
	}
	o := fl.op(op)
	if o == nil || idx >= o.NumOutputs() {
		return tf.Output{}, fmt.Errorf("tfgraph: %s: the flat graph has no tensor %s", fl.model.Dir, name)
	}
	return o.Output(idx), nil
}

func (fl *Flat) layerOf(node string) string {
	best := ""
	for _, l := range fl.layers {
		scope := nodeOf(l.Output)
		if i := strings.LastIndexByte(scope, '/'); i > 0 && strings.HasPrefix(node, scope[:i+1]) {
			best = l.Name
			if l.Outputs > 0 {
				best = l.Owner() // the ops of a layer with several outputs are its own
			}
		}
	}
	if best != "" {
		return best
	}
	// A node in another sub-scope of the layer than its output's (a
	// BatchNormalization's moments/mean beside its batchnorm/add_1): the
	// longest scope of a layer's output whose last part is the layer's
	// name (Keras numbers the calls: batch_normalization_1).
	longest := 0
	for _, l := range fl.layers {
		name := l.Name[strings.LastIndexByte(l.Name, '/')+1:]
		scope := nodeOf(l.Output)
		for i := strings.LastIndexByte(scope, '/'); i > 0; i = strings.LastIndexByte(scope[:i], '/') {
			part := scope[strings.LastIndexByte(scope[:i], '/')+1 : i]
			if strings.HasPrefix(part, name) && strings.HasPrefix(node, scope[:i+1]) && i > longest {
				best, longest = l.Name, i
			}
		}
	}
	if best == "" {
		return "none"
	}
	return best
}

// inputName is the flat tensor of the signature's (image) input.
func (fl *Flat) inputName() string {
	return fl.nameOf(fl.inputs[0])
}

// path returns the position of every node in the topological order and the
// nodes on a path from endNode to startNode (descendants of endNode that are
// ancestors of startNode).
func (fl *Flat) path(startNode, endNode string) (map[string]int, map[string]bool, error) {
	order := fl.order
	pos := map[string]int{}
	for i, n := range order {
		pos[n.GetName()] = i
	}
	for _, n := range []string{startNode, endNode} {
		if _, ok := pos[n]; !ok {
			return nil, nil, fmt.Errorf("tfgraph: %s: no node %s in the flat graph", fl.model.Dir, n)
		}
	}
	anc := map[string]bool{startNode: true}
	for i := pos[startNode]; i >= 0; i-- {
		n := order[i]
		if !anc[n.GetName()] {
			continue
		}
		for _, in := range n.GetInput() {
			anc[nodeOf(in)] = true
		}
	}
	if !anc[endNode] {
		return nil, nil, fmt.Errorf("tfgraph: %s: %s does not depend on %s", fl.model.Dir, startNode, endNode)
	}
	onPath := map[string]bool{endNode: true}
	for i := pos[endNode] + 1; i <= pos[startNode]; i++ {
		n := order[i]
		if !anc[n.GetName()] {
			continue
		}
		for _, in := range n.GetInput() {
			if onPath[nodeOf(in)] {
				onPath[n.GetName()] = true
				break
			}
		}
	}
	return pos, onPath, nil
}

func (fl *Flat) floatOutput(node string) bool {
	op := fl.op(node)
	return op != nil && op.NumOutputs() > 0 && isFloat(op.Output(0).DataType())
}

// callRule runs a rule; a rule that panics (a user's rule reading an
// attribute that is absent, say) is an error, not a crash.
func callRule(r Rule, b *Builder, n *Node) (dxs []Sym, err error) {
	defer func() {
		if p := recover(); p != nil {
			dxs, err = nil, fmt.Errorf("panicked: %v", p)
		}
	}()
	return r(b, n), nil
}

// backwardNodeRE finds the node a TensorFlow run error names.
var backwardNodeRE = regexp.MustCompile(`\{\{node (saliency_bw\d+/[^}\s]+)\}\}`)

// explainRunError adds, to an error of a run that names an op of a backward
// graph (a kernel TensorFlow lacks for a dtype, say), the forward op, node,
// layer and dtype whose rule added that op.
func (fl *Flat) explainRunError(err error) error {
	fl.bw.mu.Lock()
	defer fl.bw.mu.Unlock()
	return fl.explainRunErrorLocked(err)
}

// explainRunErrorLocked is explainRunError for a caller holding fl.bw.mu.
func (fl *Flat) explainRunErrorLocked(err error) error {
	m := backwardNodeRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	fwd := fl.bw.origin[m[1]]
	n := fl.nodes[fwd]
	if n == nil {
		return err
	}
	dt := ""
	if op := fl.op(fwd); op != nil && op.NumOutputs() > 0 {
		dt = ", dtype " + tfDTypeName(op.Output(0).DataType())
	}
	return fmt.Errorf("%w (in the backward pass of op %s, node %s, layer %s%s)", err, n.GetOp(), fwd, fl.layerOf(fwd), dt)
}
