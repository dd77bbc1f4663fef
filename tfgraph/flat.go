//go:build cgo

package tfgraph

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/saliencykit/saliency/tensor"
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
	inputs  []tf.Output
	outputs []tf.Output
	// Weights lists the frozen variables, sorted by variable name.
	Weights []Weight
	// Nodes is the number of nodes in the flat graph.
	Nodes  int
	layers []Layer
	// notLayers are the names of Keras' list that SetKerasLayers could not
	// place, with why (Flat.Layer, Flat.NotLayers).
	notLayers map[string]string
	// declared completes static shapes of layer outputs from Keras' list.
	declared map[string][]int64
	nodes    map[string]*nodepb.NodeDef
	// head is the walk from the output to the final activation (Logits,
	// Head, HeadOutput, HeadOps).
	head  headWalk
	order []*nodepb.NodeDef // topological
	// composites are the activations made of several ops (composite.go),
	// by output node.
	composites     map[string]composite
	compositeInner map[string]string // the nodes inside them, to their output
	prefix         string            // of the flat graph's nodes in the loaded graph
	// Shared by the views WithWeights makes:
	quiet    *firstRunFilter
	bw       *backwardCache
	runs     *atomic.Int64
	perImage int64 // bytes of float activations per example
	fwdImage int64 // bytes a forward pass holds at once per example
	// gradImage is the bytes a run with a backward pass under the
	// gradient family's rules holds per example (gradientPeakBytes).
	gradImage int64
	// feed replaces weights in every run of this view (nil: none).
	feed *WeightFeed
	// profile, when set, traces every run of this view (Profiled).
	profile *Profile
	// rf holds the receptive fields (receptive.go), shared by the views.
	rf *rfCache
	// src is the flat graph this one was imported from (its GraphDef and
	// weight mappings), for rewritten copies (Flat.Softplus).
	src *flatGraph
	// abs names the nodes of a second-order view (second.go) that live
	// outside prefix: the first-order backward graph it differentiates.
	abs map[string]bool
}

// Flat returns the model's flat graph, building it on first use.
func (m *Model) Flat() (*Flat, error) {
	m.flatOnce.Do(func() { m.flat, m.flatErr = m.buildFlat() })
	return m.flat, m.flatErr
}

func (m *Model) buildFlat() (*Flat, error) {
	m.life.RLock()
	defer m.life.RUnlock()
	if m.saved == nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, ErrClosed)
	}
	fg, err := m.flatten()
	if err != nil {
		return nil, err
	}
	// Shapes first, in a scratch graph (cheap: the flat graph holds no
	// weight values). TensorFlow's CPU kernels cannot run a grouped
	// convolution (Keras 3 marks the function holding one for XLA, which a
	// flat graph loses): it is rewritten as convolutions of channel groups.
	scratch, err := importFlat(m.Dir, fg, tf.NewGraph(), "", false)
	if err != nil {
		return nil, err
	}
	groupedConvs(scratch, fg)
	// A softmax written as exp / sum becomes a Softmax op.
	expSumSoftmaxes(scratch, fg)
	// A softmax over [N, 1, 1, K] reshaped to the output [N, K] becomes a
	// softmax of the reshaped logits, which the head walk finds.
	reshapedHeads(scratch, fg)
	// A binary classifier's one logit z becomes two classes, −z and z.
	binaryHeads(scratch, fg)
	// The flat graph goes into the loaded graph, its weight values mapped to
	// the live variables, and runs in the loaded session: every weight is
	// held once, by TensorFlow.
	return m.importAsFlat(fg, flatPrefix, &firstRunFilter{}, &atomic.Int64{})
}

// importAsFlat imports the flat graph fg into the loaded graph under prefix
// and makes the Flat that runs it: the model's flat graph, or a rewritten
// copy of it (Flat.Softplus) sharing its first-run filter and run count. The
// caller holds m.life.
func (m *Model) importAsFlat(fg *flatGraph, prefix string, quiet *firstRunFilter, runs *atomic.Int64) (*Flat, error) {
	g := m.saved.Graph
	if _, err := importFlat(m.Dir, fg, g, prefix, true); err != nil {
		return nil, err
	}
	fl := &Flat{model: m, graph: g, prefix: prefix, Weights: fg.weights, Nodes: len(fg.def.GetNode()),
		layers: findLayers(fg.def, fg.origin, fg.weights, fg.outputs), nodes: nodesByName(fg.def.GetNode()),
		quiet: quiet, bw: &backwardCache{}, runs: runs, rf: &rfCache{def: fg.def}, src: fg}
	fl.order = topoSort(fg.def.GetNode())
	fl.findComposites(fg.inputs)
	fl.perImage = fl.activationBytes()
	fl.fwdImage = fl.forwardPeakBytes()
	fl.gradImage = fl.gradientPeakBytes()
	if len(m.opts.KerasLayers) > 0 {
		fl.SetKerasLayers(m.opts.KerasLayers)
	}
	for _, names := range []struct {
		names []string
		dst   *[]tf.Output
	}{{fg.inputs, &fl.inputs}, {fg.outputs, &fl.outputs}} {
		for _, n := range names.names {
			o, err := fl.tensor(n)
			if err != nil {
				return nil, fmt.Errorf("tfgraph: %s: flat graph lacks %s", m.Dir, n)
			}
			*names.dst = append(*names.dst, o)
		}
	}
	fl.head = fl.walkHead()
	fl.useBinary()
	fl.head.probs = fl.probabilitiesBehind()
	if s := fl.Shape(fl.head.logits); fl.head.head == "" && len(s) == 2 && s[1] == 1 {
		// One logit: a binary classifier's (Keras' BinaryCrossentropy
		// from_logits, PyTorch's BCEWithLogitsLoss), whose probability is
		// its sigmoid.
		fl.head.labels = true
	}
	return fl, nil
}

// flatPrefix starts the names of the flat graph's nodes in the loaded graph.
const flatPrefix = "saliency_flat/"

// importFlat imports the flat GraphDef into g under prefix, mapping the
// weight value placeholders to the live variables when mapped is set.
func importFlat(dir string, fg *flatGraph, g *tf.Graph, prefix string, mapped bool) (*tf.Graph, error) {
	raw, err := proto.Marshal(fg.def)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: %s: flat graph: %w", dir, err)
	}
	opts := tf.GraphImportOptions{Prefix: strings.TrimSuffix(prefix, "/")}
	if mapped {
		for name, read := range fg.reads {
			opts.AddInputMapping(name, 0, read)
		}
		for name, v := range fg.handles {
			h := g.Operation(v)
			if h == nil {
				return nil, fmt.Errorf("tfgraph: %s: variable %s is not in the loaded graph", dir, v)
			}
			opts.AddInputMapping(name, 0, h.Output(0))
		}
	}
	if err := g.ImportWithOptions(raw, opts); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: importing the flat graph: %s", dir, firstLine(err.Error()))
	}
	return g, nil
}

// op is the operation of a flat-graph node in the loaded graph.
func (fl *Flat) op(node string) *tf.Operation {
	if fl.abs[node] {
		return fl.graph.Operation(node)
	}
	return fl.graph.Operation(fl.prefix + node)
}

// nameOf is the flat-graph name of a tensor of the loaded graph.
func (fl *Flat) nameOf(o tf.Output) string {
	return strings.TrimPrefix(o.Op.Name(), fl.prefix) + outputSuffix(o.Index)
}

// Forward runs a batch through the flat graph and returns the signature's
// selected output (Model.Output). x is checked as in Model.Forward.
func (fl *Flat) Forward(x *tensor.Tensor) (*tensor.Tensor, error) {
	res, err := fl.Run(context.Background(), x, Query{Fetch: []string{fl.Output()}})
	if err != nil {
		return nil, err
	}
	return res.Fetched[0], nil
}

// consumersOf maps each node to the nodes that take one of its outputs as a
// data input, in graph order.
func consumersOf(order []*nodepb.NodeDef) map[string][]string {
	consumers := map[string][]string{}
	for _, n := range order {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				consumers[nodeOf(in)] = append(consumers[nodeOf(in)], n.GetName())
			}
		}
	}
	return consumers
}

// nodesByName maps each node's name to the node.
func nodesByName(nodes []*nodepb.NodeDef) map[string]*nodepb.NodeDef {
	byName := make(map[string]*nodepb.NodeDef, len(nodes))
	for _, n := range nodes {
		byName[n.GetName()] = n
	}
	return byName
}

// topoSort orders nodes so that every node comes after its inputs.
func topoSort(nodes []*nodepb.NodeDef) []*nodepb.NodeDef {
	byName := nodesByName(nodes)
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

// Output is the flat tensor of the signature's selected output
// (Model.Output).
func (fl *Flat) Output() string { return fl.nameOf(fl.outputs[fl.model.outIdx]) }

// WeightValue reads a weight's frozen value.
func (fl *Flat) WeightValue(name string) (*tensor.Tensor, error) {
	w, ok := fl.weight(name)
	if !ok {
		return nil, fmt.Errorf("tfgraph: %s: no weight %q", fl.model.Dir, name)
	}
	outs, err := fl.exec(nil, []tf.Output{fl.op(w.Node).Output(0)})
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

// activationBytes sums, over the float outputs of every node whose static
// shape has a batch dimension, the bytes of one example.
// outputBytes are the bytes per example of node n's float outputs with a
// batch dimension, from their static shapes.
func (fl *Flat) outputBytes(n *nodepb.NodeDef) int64 {
	op := fl.op(n.GetName())
	if op == nil {
		return 0
	}
	var total int64
	for i := 0; i < op.NumOutputs(); i++ {
		o := op.Output(i)
		if !isFloat(o.DataType()) {
			continue
		}
		dims, err := o.Shape().ToSlice()
		if err != nil || len(dims) == 0 || dims[0] >= 0 {
			continue
		}
		size := dtypeBytes(o.DataType())
		for _, d := range dims[1:] {
			size *= max(d, 1)
		}
		total += size
	}
	return total
}

// forwardPeakBytes is what a forward pass holds at once per example: the
// flat graph's ops run in graph order, each op's outputs held from when it
// runs until its last consumer has, and the most held at any op (its
// inputs and outputs both) is the peak. TensorFlow frees a tensor when its
// last consumer has run, so this bounds a forward-only run's activations
// (consumers outside the fetched path keep theirs longer here than there).
func (fl *Flat) forwardPeakBytes() int64 {
	left := map[string]int{}
	for _, n := range fl.order {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				left[nodeOf(in)]++
			}
		}
	}
	var live, peak int64
	size := map[string]int64{}
	for _, n := range fl.order {
		b := fl.outputBytes(n)
		size[n.GetName()] = b
		live += b
		peak = max(peak, live)
		for _, in := range n.GetInput() {
			if strings.HasPrefix(in, "^") {
				continue
			}
			src := nodeOf(in)
			if left[src]--; left[src] == 0 {
				live -= size[src]
			}
		}
		if left[n.GetName()] == 0 {
			live -= b
		}
	}
	return peak
}

// readsNone are the op types whose gradients under the plain, Guided
// Backprop and DeconvNet rules read no activation: linear maps with
// constant parameters and reshuffles (a product reads its operands only
// when two of them are activations, a quotient when its denominator is
// one: twoActivations, quotients).
var readsNone = opSet("Conv2D", "DepthwiseConv2dNative", "MatMul", "BiasAdd", "AddV2", "Add", "Sub", "Neg",
	"AddN", "Reshape", "Squeeze", "ExpandDims", "Transpose", "Pad", "PadV2", "MirrorPad", "Mean", "Sum",
	"AvgPool", "ConcatV2", "Identity", "IdentityN", "StridedSlice", "Slice", "Cast", "Pack", "Unpack",
	"Split", "SplitV", "Tile", "ZerosLike", "StopGradient", "PreventGradient", "Placeholder",
	"PlaceholderWithDefault", "FusedBatchNormV3", "Conv2DBackpropInput", "ResizeNearestNeighbor", "ResizeBilinear",
	"GatherV2", "BroadcastTo")

// twoActivations are the op types whose gradients read their operands when
// two or more of them are activations (with one constant, they are linear).
var twoActivations = opSet("Mul", "BatchMatMulV2", "BatchMatMulV3", "BatchMatMul", "Einsum", "MatMul")

// quotients read their operands when the denominator (the second) is an
// activation; a quotient by a constant is linear.
var quotients = opSet("RealDiv", "Div")

// gradientPeakBytes estimates what a run with a backward pass under the
// gradient family's rules holds per example: the forward pass's peak
// (forwardPeakBytes), plus every activation those rules read back, kept
// from the forward pass to the backward one (the inputs and outputs of the
// ReLU family, max pooling, a maximum or minimum with a constant and any
// other op not in readsNone; both operands of a product of two
// activations or of a quotient by an activation), plus the backward signal and
// its gradient at the largest activation, at most all activations
// (activationBytes). TensorFlow frees the rest of the
// forward activations after their last forward consumer: on ResNet50 the
// estimate is 89 MiB against 222 MiB of all activations (activationBytes).
func (fl *Flat) gradientPeakBytes() int64 {
	size := map[string]int64{}
	var largest int64
	for _, n := range fl.order {
		b := fl.outputBytes(n)
		size[n.GetName()] = b
		largest = max(largest, b)
	}
	kept := map[string]bool{}
	for _, n := range fl.order {
		op := n.GetOp()
		if readsNone[op] && !twoActivations[op] {
			continue
		}
		var acts []string
		denominator := false
		for i, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") && size[nodeOf(in)] > 0 {
				acts = append(acts, nodeOf(in))
				denominator = denominator || i == 1
			}
		}
		switch {
		case twoActivations[op]:
			if len(acts) < 2 {
				continue
			}
		case quotients[op] && !denominator:
			continue
		default:
			kept[n.GetName()] = size[n.GetName()] > 0
		}
		for _, a := range acts {
			kept[a] = true
		}
	}
	var total int64
	for name, k := range kept {
		if k {
			total += size[name]
		}
	}
	return min(fl.forwardPeakBytes()+total+2*largest, fl.activationBytes())
}

func (fl *Flat) activationBytes() int64 {
	var total int64
	for _, n := range fl.order {
		op := fl.op(n.GetName())
		if op == nil {
			continue
		}
		for i := 0; i < op.NumOutputs(); i++ {
			o := op.Output(i)
			if !isFloat(o.DataType()) {
				continue
			}
			dims, err := o.Shape().ToSlice()
			if err != nil || len(dims) == 0 || dims[0] >= 0 {
				continue
			}
			size := dtypeBytes(o.DataType())
			for _, d := range dims[1:] {
				size *= max(d, 1)
			}
			total += size
		}
	}
	return total
}
