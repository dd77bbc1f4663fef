package tfgraph

import (
	"fmt"
	"github.com/saliencykit/saliency/tensor"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	"google.golang.org/protobuf/proto"
)

// Flat is the flat frozen graph of a model's signature (see flatten.go), in a
// graph and session of its own. Every tensor inside the model is reachable,
// and weights can be fed.
type Flat struct {
	model   *Model
	graph   *tf.Graph
	sess    *tf.Session
	inputs  []tf.Output
	outputs []tf.Output
	// Weights lists the frozen variables, sorted by variable name.
	Weights []Weight
	// Nodes is the number of nodes in the flat graph.
	Nodes  int
	layers []Layer
	nodes  map[string]*nodepb.NodeDef
	order  []*nodepb.NodeDef // topological
	quiet  firstRunFilter
	bw     backwardCache
}

// Flat returns the model's flat graph, building it on first use.
func (m *Model) Flat() (*Flat, error) {
	m.flatOnce.Do(func() { m.flat, m.flatErr = m.buildFlat() })
	return m.flat, m.flatErr
}

func (m *Model) buildFlat() (*Flat, error) {
	if m.saved == nil {
		return nil, fmt.Errorf("tfgraph: %s: model is closed", m.Dir)
	}
	fg, err := m.flatten()
	if err != nil {
		return nil, err
	}
	raw, err := proto.Marshal(fg.def)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: flat graph: %w", m.Dir, err)
	}
	g := tf.NewGraph()
	if err := g.Import(raw, ""); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: importing the flat graph: %s", m.Dir, firstLine(err.Error()))
	}
	opts, err := sessionOptions(m.opts)
	if err != nil {
		return nil, err
	}
	sess, err := tf.NewSession(g, opts)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: flat graph session: %w", m.Dir, err)
	}
	fl := &Flat{model: m, graph: g, sess: sess, Weights: fg.weights, Nodes: len(fg.def.GetNode()),
		layers: findLayers(fg.def, fg.origin, fg.weights, fg.outputs), nodes: map[string]*nodepb.NodeDef{}}
	for _, n := range fg.def.GetNode() {
		fl.nodes[n.GetName()] = n
	}
	fl.order = topoSort(fg.def.GetNode())
	for _, names := range []struct {
		names []string
		dst   *[]tf.Output
	}{{fg.inputs, &fl.inputs}, {fg.outputs, &fl.outputs}} {
		for _, n := range names.names {
			op, idx, err := parseTensorName(n)
			if err != nil {
				return nil, err
			}
			o := g.Operation(op)
			if o == nil {
				return nil, fmt.Errorf("tfgraph: %s: flat graph lacks %s", m.Dir, n)
			}
			*names.dst = append(*names.dst, o.Output(idx))
		}
	}
	return fl, nil
}

// Forward runs a batch through the flat graph and returns the signature's
// first output. x is checked as in Model.Forward.
func (fl *Flat) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	outs, err := fl.runWith(x, nil, nil, fl.outputs[:1])
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

func (fl *Flat) run(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output) ([]*tensor.Tensor, error) {
	var res []*tf.Tensor
	var err error
	fl.quiet.do(func() { res, err = fl.sess.Run(feeds, fetches, nil) })
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: flat graph: %s", fl.model.Dir, firstLine(err.Error()))
	}
	out := make([]*tensor.Tensor, len(res))
	for i, t := range res {
		if out[i], err = fromTF(t); err != nil {
			return nil, fmt.Errorf("tfgraph: %s: %w", fl.model.Dir, err)
		}
	}
	return out, nil
}

func (fl *Flat) close() error {
	if fl == nil || fl.sess == nil {
		return nil
	}
	err := fl.sess.Close()
	fl.sess = nil
	return err
}

// Run feeds x to the signature's input, replaces the named weights (by
// Weight.Name) with the given values for this run only, and fetches the named
// flat tensors ("node:index", e.g. a Layer's Output).
func (fl *Flat) Run(x *tensor.Tensor, weights map[string]*tensor.Tensor, fetch ...string) ([]*tensor.Tensor, error) {
	var fetches []tf.Output
	for _, n := range fetch {
		o, err := fl.tensor(n)
		if err != nil {
			return nil, err
		}
		fetches = append(fetches, o)
	}
	return fl.runWith(x, weights, nil, fetches)
}

// runWith feeds x, weight replacements and extra tensors, and fetches.
func (fl *Flat) runWith(x *tensor.Tensor, weights map[string]*tensor.Tensor, extra map[tf.Output]*tensor.Tensor, fetches []tf.Output) ([]*tensor.Tensor, error) {
	if len(fl.inputs) != 1 {
		return nil, fmt.Errorf("tfgraph: %s: the flat graph takes one image input; the signature has %d inputs", fl.model.Dir, len(fl.inputs))
	}
	in := fl.model.Signature.Inputs[0]
	if err := checkInput(in, x); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", fl.model.Dir, err)
	}
	t, err := toTF(x)
	if err != nil {
		return nil, err
	}
	feeds := map[tf.Output]*tf.Tensor{fl.inputs[0]: t}
	for name, v := range weights {
		w, ok := fl.weight(name)
		if !ok {
			return nil, fmt.Errorf("tfgraph: %s: no weight %q", fl.model.Dir, name)
		}
		if w.DType != "float32" {
			return nil, fmt.Errorf("tfgraph: %s: weight %s is %s; only float32 weights can be fed", fl.model.Dir, name, w.DType)
		}
		if v == nil || !tensor.SameShape(v.Shape, int64sToInts(w.Shape)) || len(v.Data) != tensor.Size(v.Shape) {
			return nil, fmt.Errorf("tfgraph: %s: weight %s has shape %v, got %v", fl.model.Dir, name, w.Shape, shapeOf(v))
		}
		wt, err := toTF(v)
		if err != nil {
			return nil, err
		}
		feeds[fl.graph.Operation(w.Node).Output(0)] = wt
	}
	for o, v := range extra {
		if v == nil {
			return nil, fmt.Errorf("tfgraph: %s: nil feed for %s", fl.model.Dir, o.Op.Name())
		}
		want, err := o.Shape().ToSlice()
		ok := err == nil && len(want) == len(v.Shape)
		for i := 0; ok && i < len(want); i++ {
			ok = want[i] < 0 || want[i] == int64(v.Shape[i])
		}
		if !ok || len(v.Data) != tensor.Size(v.Shape) {
			return nil, fmt.Errorf("tfgraph: %s: feed %s wants shape %v, got %v", fl.model.Dir, o.Op.Name(), o.Shape(), v.Shape)
		}
		vt, err := toTF(v)
		if err != nil {
			return nil, err
		}
		feeds[o] = vt
	}
	return fl.run(feeds, fetches)
}

// topoSort orders nodes so that every node comes after its inputs.
func topoSort(nodes []*nodepb.NodeDef) []*nodepb.NodeDef {
	byName := make(map[string]*nodepb.NodeDef, len(nodes))
	for _, n := range nodes {
		byName[n.GetName()] = n
	}
	done := make(map[string]bool, len(nodes))
	out := make([]*nodepb.NodeDef, 0, len(nodes))
	var visit func(n *nodepb.NodeDef)
	visit = func(n *nodepb.NodeDef) {
		if done[n.GetName()] {
			return
		}
		done[n.GetName()] = true
		for _, in := range n.GetInput() {
			if p := byName[nodeOf(strings.TrimPrefix(in, "^"))]; p != nil {
				visit(p)
			}
		}
		out = append(out, n)
	}
	for _, n := range nodes {
		visit(n)
	}
	return out
}

// Output is the flat tensor of the signature's first output.
func (fl *Flat) Output() string { return fl.outputs[0].Op.Name() + outputSuffix(fl.outputs[0].Index) }

// WeightValue reads a weight's frozen value.
func (fl *Flat) WeightValue(name string) (*tensor.Tensor, error) {
	w, ok := fl.weight(name)
	if !ok {
		return nil, fmt.Errorf("tfgraph: %s: no weight %q", fl.model.Dir, name)
	}
	outs, err := fl.run(nil, []tf.Output{fl.graph.Operation(w.Node + "/value").Output(0)})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

func (fl *Flat) weight(name string) (Weight, bool) {
	for _, w := range fl.Weights {
		if w.Name == name {
			return w, true
		}
	}
	return Weight{}, false
}

func outputSuffix(i int) string {
	if i == 0 {
		return ""
	}
	return fmt.Sprintf(":%d", i)
}

func int64sToInts(s []int64) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}
