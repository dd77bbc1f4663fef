//go:build cgo

package tfgraph

import (
	"bytes"
	"fmt"
	"maps"
	"strings"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	"google.golang.org/protobuf/proto"
)

// secondOrder is the graph of a second-order signal (Grad.Along): a
// first-order backward graph from start to end, and the plain backward graph
// of its result back to end.
//
// The engine differentiates its own backward graph as it does the forward
// one: the first graph's ops join the forward graph's nodes (a view of the
// flat graph whose node list holds both, read back from the graph's
// GraphDef), and the plain rules of the backward ops (ReluGrad,
// SoftplusGrad, MaxPoolGrad, Conv2DBackpropInput, …) give their exact
// derivatives.
type secondOrder struct {
	first, second *Backward
}

// secondOrderGraph returns the second-order graph of the signal of start on
// end under rules, adding it to the graph on first use.
func (fl *Flat) secondOrderGraph(start, end string, rules *RuleSet) (*secondOrder, error) {
	first, err := fl.backward(start, end, rules, false)
	if err != nil {
		return nil, err
	}
	fl.bw.mu.Lock()
	defer fl.bw.mu.Unlock()
	key := bwKey{first.Start, first.End, first.Rules.Name, false}
	if s, ok := fl.bw.second[key]; ok {
		return s, nil
	}
	u, err := fl.withBackwardNodes(first)
	if err != nil {
		return nil, err
	}
	second, err := u.buildBackward(u.nameOf(first.result), first.End, Plain, false, fmt.Sprintf("saliency_bw%d/", fl.model.seq.Add(1)))
	if err != nil {
		if nr, ok := err.(*NoRuleError); ok {
			e := *nr
			e.Why = strings.TrimPrefix(e.Why+"; ", "; ") + fmt.Sprintf("needed to differentiate the %s signal of %s on %s (Grad.Along)", first.Rules.Name, first.Start, first.End)
			return nil, &e
		}
		return nil, err
	}
	s := &secondOrder{first: first, second: second}
	if fl.bw.second == nil {
		fl.bw.second = map[bwKey]*secondOrder{}
	}
	fl.bw.second[key] = s
	return s, nil
}

// withBackwardNodes is a view of fl whose nodes are the flat graph's and
// those of backward graph b, in topological order, so that the engine can
// differentiate b's result. b's nodes keep their names in the loaded graph
// (Flat.abs); their inputs from the flat graph are renamed to flat names.
// The caller holds fl.bw.mu.
func (fl *Flat) withBackwardNodes(b *Backward) (*Flat, error) {
	var buf bytes.Buffer
	if _, err := fl.graph.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: reading the backward graph: %w", fl.model.Dir, err)
	}
	var gd graphpb.GraphDef
	if err := proto.Unmarshal(buf.Bytes(), &gd); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: reading the backward graph: %w", fl.model.Dir, err)
	}
	var extra []*nodepb.NodeDef
	abs := map[string]bool{}
	for _, n := range gd.GetNode() {
		if strings.HasPrefix(n.GetName(), b.prefix) {
			abs[n.GetName()] = true
			extra = append(extra, n)
		}
	}
	for _, n := range extra {
		for i, in := range n.GetInput() {
			ctl := strings.HasPrefix(in, "^")
			name := strings.TrimPrefix(in, "^")
			if abs[nodeOf(name)] {
				continue
			}
			if !strings.HasPrefix(name, fl.prefix) {
				return nil, fmt.Errorf("tfgraph: %s: backward node %s reads %s, outside the flat graph", fl.model.Dir, n.GetName(), in)
			}
			name = strings.TrimPrefix(name, fl.prefix)
			if ctl {
				name = "^" + name
			}
			n.Input[i] = name
		}
	}
	u := *fl
	u.nodes = maps.Clone(fl.nodes)
	for _, n := range extra {
		u.nodes[n.GetName()] = n
	}
	u.order = append(append([]*nodepb.NodeDef(nil), fl.order...), topoSort(extra)...)
	u.abs = abs
	return &u, nil
}
