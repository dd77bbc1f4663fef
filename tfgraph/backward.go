package tfgraph

import (
	"context"
	"fmt"
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
	startOut   tf.Output
	result     tf.Output
}

type bwKey struct {
	start, end, rules string
}

// backwardCache holds the Backward graphs of a Flat, shared by its views.
type backwardCache struct {
	mu      sync.Mutex
	m       map[bwKey]*Backward
	oracles map[string]*oracle // TF_AddGradients per target tensor (oracle.go)
	n       int
	derived derivedWeights
}

// Backward returns the backward graph from start to end (flat tensor names;
// "" means the logits and the signature input) under rules (nil: Plain),
// adding it to the graph on first use. An op on the path with no rule is a
// *NoRuleError naming the op, its layer and the rule set, before anything runs.
func (fl *Flat) Backward(start, end string, rules *RuleSet) (*Backward, error) {
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
	key := bwKey{start, end, rules.Name}
	if b, ok := fl.bw.m[key]; ok {
		return b, nil
	}
	if fl.bw.m == nil {
		fl.bw.m = map[bwKey]*Backward{}
	}
	fl.bw.n++
	b, err := fl.buildBackward(start, end, rules, fmt.Sprintf("saliency_bw%d/", fl.bw.n))
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

func (fl *Flat) buildBackward(start, end string, rules *RuleSet, prefix string) (*Backward, error) {
	b := &Builder{fl: fl, g: fl.graph, prefix: prefix}
	startOut, err := fl.tensor(start)
	if err != nil {
		return nil, err
	}
	endOut, err := fl.tensor(end)
	if err != nil {
		return nil, err
	}
	if startOut.DataType() != tf.Float || endOut.DataType() != tf.Float {
		return nil, fmt.Errorf("tfgraph: %s: backward from %s to %s: both must be float32", fl.model.Dir, start, end)
	}
	endNode, startNode := nodeOf(end), nodeOf(start)
	order := fl.order
	pos, onPath, err := fl.path(startNode, endNode)
	if err != nil {
		return nil, err
	}
	seed := b.defaultSeed(startOut)
	grads := map[string][]tf.Output{} // tensor name → signals to sum
	grads[start] = []tf.Output{seed}
	var result tf.Output
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
		r := rules.rule(n.GetOp())
		if r == nil {
			b.forgetDerived()
			return nil, &NoRuleError{Model: fl.model.Dir, Op: n.GetOp(), Node: name, Layer: fl.layerOf(name), Rules: rules.Name}
		}
		ins := make([]tf.Output, len(n.GetInput()))
		need := make([]bool, len(n.GetInput()))
		for k, in := range n.GetInput() {
			if o, err := fl.tensor(in); err == nil {
				ins[k] = o
			}
			need[k] = onPath[nodeOf(in)] && ins[k].Op != nil && ins[k].DataType() == tf.Float
		}
		outs := make([]tf.Output, nout)
		for k := range outs {
			outs[k] = op.Output(k)
		}
		dxs, err := callRule(r, b, &Node{def: n, In: ins, Out: outs, Dy: dys, Need: need})
		if err != nil {
			b.forgetDerived()
			return nil, fmt.Errorf("tfgraph: %s: the %s rule for op %s (node %s, layer %s): %w", fl.model.Dir, rules.Name, n.GetOp(), name, fl.layerOf(name), err)
		}
		for k, dx := range dxs {
			if dx.Op == nil || k >= len(n.GetInput()) || !need[k] {
				continue
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
		return nil, fmt.Errorf("tfgraph: %s: no %s signal reaches %s from %s", fl.model.Dir, rules, end, start)
	}
	if err := b.initDerived(); err != nil {
		return nil, err
	}
	return &Backward{fl: fl, Start: start, End: end, Rules: rules, seed: seed, startOut: startOut, result: result}, nil
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
	return op != nil && op.NumOutputs() > 0 && op.Output(0).DataType() == tf.Float
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
