//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
)

// A derived weight is a weight transformed once for the backward graphs
// (the flipped, channel-swapped kernel of a convolution's input gradient):
// a PlaceholderWithDefault of a constant computed from the frozen value, so
// that no run pays for the transform, fed in a view with replacement
// weights with the transform of the replacement (computed once per
// WeightFeed).
type derived struct {
	weight    string // Weight.Name
	out       tf.Output
	transform func(*tensor.Tensor) *tensor.Tensor
	// A derived expression (derivedExpr) has no transform: expr computes
	// its value in the graph from the weights named in weights.
	key     string
	expr    tf.Output
	weights []string
}

// derivedWeights are the derived weights of a flat graph, shared by its
// views; guarded by backwardCache.mu.
type derivedWeights struct {
	byKey    map[string]*derived
	byWeight map[string][]*derived
	// byOut finds the derived expression a tensor reads (so that a
	// transform of it, a flipped kernel, is derived from its expression).
	byOut map[tf.Output]*derived
}

// weightAt finds the weight that a kernel input reads, through Identity
// ops.
func (fl *Flat) weightAt(o tf.Output) (Weight, bool) {
	name := fl.nameOf(o)
	for i := 0; i < 8; i++ {
		for _, w := range fl.Weights {
			if w.Node == name {
				return w, w.DType == "float32"
			}
		}
		n := fl.nodes[strings.TrimSuffix(name, ":0")]
		if n == nil || n.GetOp() != "Identity" || len(n.GetInput()) < 1 {
			break
		}
		name = strings.TrimSuffix(n.GetInput()[0], ":0")
	}
	return Weight{}, false
}

// derivedOf returns the derived weight key of weight w under transform,
// adding it on first use (the caller holds fl.bw.mu, as Builder does). Its
// variable is assigned when the backward graph is complete (initDerived).
func (b *Builder) derivedOf(w Weight, key string, shape []int64, transform func(*tensor.Tensor) *tensor.Tensor) (tf.Output, bool) {
	fl := b.fl
	dw := &fl.bw.derived
	if d, ok := dw.byKey[w.Name+"#"+key]; ok {
		return d.out, true
	}
	// A resource variable, assigned once, holds the value: a Const would
	// put it into the GraphDef, which the session copies.
	name := b.name("derived")
	h, err := b.g.AddOperation(tf.OpSpec{Type: "VarHandleOp", Name: name, Attrs: map[string]any{"dtype": tf.Float, "shape": tf.MakeShape(shape...), "shared_name": name}})
	if err != nil {
		return tf.Output{}, false
	}
	in := b.op1("Placeholder", map[string]any{"dtype": tf.Float, "shape": tf.MakeShape(shape...)})
	if b.err != nil {
		return tf.Output{}, false
	}
	assign, err := b.g.AddOperation(tf.OpSpec{Type: "AssignVariableOp", Name: b.name("AssignVariableOp"), Input: []tf.Input{h.Output(0), in}, Attrs: map[string]any{"dtype": tf.Float}})
	if err != nil {
		return tf.Output{}, false
	}
	read := b.op1("ReadVariableOp", map[string]any{"dtype": tf.Float}, h.Output(0))
	out := b.op1("PlaceholderWithDefault", map[string]any{"dtype": tf.Float, "shape": tf.MakeShape(shape...)}, read)
	if b.err != nil {
		return tf.Output{}, false
	}
	d := &derived{weight: w.Name, out: out, transform: transform}
	if dw.byKey == nil {
		dw.byKey, dw.byWeight = map[string]*derived{}, map[string][]*derived{}
	}
	dw.byKey[w.Name+"#"+key] = d
	dw.byWeight[w.Name] = append(dw.byWeight[w.Name], d)
	b.pending = append(b.pending, pendingDerived{d: d, key: w.Name + "#" + key, weight: fl.op(w.Node).Output(0), in: in, assign: assign})
	return out, true
}

// derivedExpr returns a derived expression: the value that build computes
// from the weights named in weights only (and constants), held in a
// variable assigned once when the backward graph is complete, and computed
// again, once per WeightFeed, under replacement weights (derivedFeeds). A
// key names the value (equal keys are the same value in every backward
// graph of the flat graph); build is called only for a new key. A value of
// another dtype than float32, or of a shape not fully known, is not derived:
// build's tensor is returned as is and computed at every run.
func (b *Builder) derivedExpr(key string, weights []string, build func() Sym) Sym {
	fl := b.fl
	dw := &fl.bw.derived
	if d, ok := dw.byKey[key]; ok {
		return d.out
	}
	expr := build()
	if b.err != nil || expr.Op == nil || expr.DataType() != tf.Float {
		return expr
	}
	shape, err := expr.Shape().ToSlice()
	if err != nil {
		return expr
	}
	for _, d := range shape {
		if d < 0 {
			return expr
		}
	}
	name := b.name("derived")
	h, err := b.g.AddOperation(tf.OpSpec{Type: "VarHandleOp", Name: name, Attrs: map[string]any{"dtype": tf.Float, "shape": tf.MakeShape(shape...), "shared_name": name}})
	if err != nil {
		return expr
	}
	in := b.op1("Placeholder", map[string]any{"dtype": tf.Float, "shape": tf.MakeShape(shape...)})
	if b.err != nil {
		return expr
	}
	assign, err := b.g.AddOperation(tf.OpSpec{Type: "AssignVariableOp", Name: b.name("AssignVariableOp"), Input: []tf.Input{h.Output(0), in}, Attrs: map[string]any{"dtype": tf.Float}})
	if err != nil {
		return expr
	}
	read := b.op1("ReadVariableOp", map[string]any{"dtype": tf.Float}, h.Output(0))
	out := b.op1("PlaceholderWithDefault", map[string]any{"dtype": tf.Float, "shape": tf.MakeShape(shape...)}, read)
	if b.err != nil {
		return expr
	}
	d := &derived{out: out, key: key, expr: expr, weights: weights}
	if dw.byKey == nil {
		dw.byKey, dw.byWeight = map[string]*derived{}, map[string][]*derived{}
	}
	if dw.byOut == nil {
		dw.byOut = map[tf.Output]*derived{}
	}
	dw.byKey[key] = d
	dw.byOut[out] = d
	for _, w := range weights {
		dw.byWeight[w] = append(dw.byWeight[w], d)
	}
	b.pending = append(b.pending, pendingDerived{d: d, key: key, weight: expr, in: in, assign: assign})
	return out
}

// weightsBehind returns the weights (by Weight.Name) that the flat graph's
// nodes depend on, and whether they depend on nothing else: no input
// dependence, no placeholder but the weights', no variable read but the
// weights', no random op. Control inputs are not followed.
func (fl *Flat) weightsBehind(nodes []string, dep map[string]bool) ([]string, bool) {
	byNode := make(map[string]string, len(fl.Weights))
	for _, w := range fl.Weights {
		byNode[w.Node] = w.Name
	}
	seen := map[string]bool{}
	var out []string
	stack := append([]string(nil), nodes...)
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[x] {
			continue
		}
		seen[x] = true
		if w, ok := byNode[x]; ok {
			out = append(out, w)
			continue
		}
		n := fl.nodes[x]
		if n == nil || dep[x] {
			return nil, false
		}
		switch op := n.GetOp(); {
		case op == "Placeholder" || op == "PlaceholderWithDefault" || op == "VarHandleOp" || op == "ReadVariableOp" ||
			op == "VariableV2" || op == "Variable" || strings.Contains(op, "Random"):
			return nil, false
		}
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				stack = append(stack, nodeOf(in))
			}
		}
	}
	sort.Strings(out)
	return out, true
}

// pendingDerived is a derived weight whose variable is not assigned yet.
type pendingDerived struct {
	d      *derived
	key    string
	weight tf.Output // the frozen weight
	in     tf.Output // the placeholder of the assignment
	assign *tf.Operation
}

// initDerived assigns the derived weights of a complete backward graph:
// one run reads the frozen weights, one run assigns their transforms (one
// run each, rather than one per weight: the session keeps an executor per
// distinct run). On error the derived weights are forgotten.
func (b *Builder) initDerived() error {
	if len(b.pending) == 0 {
		return nil
	}
	fl := b.fl
	err := func() error {
		outs := make([]tf.Output, len(b.pending))
		for i, p := range b.pending {
			outs[i] = p.weight
		}
		vals, err := fl.run1(nil, outs)
		if err != nil {
			return err
		}
		feeds := map[tf.Output]*tf.Tensor{}
		var targets []*tf.Operation
		for i, p := range b.pending {
			v := vals[i]
			if p.d.transform != nil {
				v = p.d.transform(v)
			}
			t, err := toTF(v)
			if err != nil {
				return err
			}
			feeds[p.in] = t
			targets = append(targets, p.assign)
		}
		var runErr error
		if e := fl.model.session(func(s *tf.Session) {
			fl.quiet.do(runKey(feeds, nil, targets), func() { _, runErr = s.Run(feeds, nil, targets) })
		}); e != nil {
			return e
		}
		return runErr
	}()
	if err != nil {
		b.forgetDerived()
		return fmt.Errorf("tfgraph: %s: derived weights: %w", fl.model.Dir, err)
	}
	b.pending = nil
	return nil
}

// forgetDerived drops the derived weights of a backward graph that failed.
func (b *Builder) forgetDerived() {
	dw := &b.fl.bw.derived
	for _, p := range b.pending {
		delete(dw.byKey, p.key)
		delete(dw.byOut, p.d.out)
		names := p.d.weights
		if p.d.transform != nil {
			names = []string{p.d.weight}
		}
		for _, w := range names {
			dw.byWeight[w] = slices.DeleteFunc(dw.byWeight[w], func(d *derived) bool { return d == p.d })
			if len(dw.byWeight[w]) == 0 {
				delete(dw.byWeight, w)
			}
		}
	}
	b.pending = nil
}

// flipSwap is the kernel of a convolution's input gradient as a forward
// convolution: HWIO flipped in H and W, with I and O swapped.
func flipSwap(k *tensor.Tensor) *tensor.Tensor {
	kh, kw, ci, co := k.Shape[0], k.Shape[1], k.Shape[2], k.Shape[3]
	out := tensor.New(kh, kw, co, ci)
	for i := 0; i < kh; i++ {
		for j := 0; j < kw; j++ {
			src := k.Data[(i*kw+j)*ci*co:]
			dst := out.Data[((kh-1-i)*kw+(kw-1-j))*co*ci:]
			for a := 0; a < ci; a++ {
				for o := 0; o < co; o++ {
					dst[o*ci+a] = src[a*co+o]
				}
			}
		}
	}
	return out
}

// derivedFeeds adds to feeds the derived weights of the weights w replaces,
// computing each transform once per WeightFeed.
func (fl *Flat) derivedFeeds(w *WeightFeed, feeds map[tf.Output]*tf.Tensor) error {
	fl.bw.mu.Lock()
	var ds []*derived
	seen := map[*derived]bool{}
	for _, name := range w.names {
		for _, d := range fl.bw.derived.byWeight[name] {
			if !seen[d] {
				seen[d] = true
				ds = append(ds, d)
			}
		}
	}
	fl.bw.mu.Unlock()
	if len(ds) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.derived == nil {
		w.derived = map[*derived]*tf.Tensor{}
	}
	// The derived expressions not computed yet under these weights: one
	// session run for all of them (their expressions read the weights the
	// feed replaces, never a derived value).
	var exprs []*derived
	var outs []tf.Output
	for _, d := range ds {
		if _, ok := w.derived[d]; !ok && d.transform == nil {
			exprs = append(exprs, d)
			outs = append(outs, d.expr)
		}
	}
	if len(exprs) > 0 {
		vals, err := fl.run1(w.feeds, outs)
		if err != nil {
			return fmt.Errorf("tfgraph: %s: derived weights under replaced weights: %w", fl.model.Dir, err)
		}
		for i, d := range exprs {
			t, err := toTF(vals[i])
			if err != nil {
				return err
			}
			w.derived[d] = t
		}
	}
	for _, d := range ds {
		t, ok := w.derived[d]
		if !ok {
			var err error
			if t, err = toTF(d.transform(w.values[d.weight])); err != nil {
				return err
			}
			w.derived[d] = t
		}
		feeds[d.out] = t
	}
	return nil
}
