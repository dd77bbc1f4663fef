//go:build cgo

package tfgraph

import (
	"fmt"
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
}

// derivedWeights are the derived weights of a flat graph, shared by its
// views; guarded by backwardCache.mu.
type derivedWeights struct {
	byKey    map[string]*derived
	byWeight map[string][]*derived
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
			t, err := toTF(p.d.transform(vals[i]))
			if err != nil {
				return err
			}
			feeds[p.in] = t
			targets = append(targets, p.assign)
		}
		var runErr error
		if e := fl.model.session(func(s *tf.Session) { fl.quiet.do(func() { _, runErr = s.Run(feeds, nil, targets) }) }); e != nil {
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
		delete(dw.byWeight, p.d.weight)
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
	for _, name := range w.names {
		ds = append(ds, fl.bw.derived.byWeight[name]...)
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
