//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// GAPHead finds the global-average-pooling head in front of the logits: the
// logits must be a dense layer (MatMul, then BiasAdd or Add, with Identity,
// Reshape or Squeeze between) of the mean of a 4-D tensor over its two
// spatial axes. Anything else is a *NotApplicableError that says what was
// found instead.
func (fl *Flat) GAPHead() (GAPHead, error) {
	logits, _ := fl.Logits()
	z, binary := fl.BinaryLogit()
	if binary {
		logits = z
	}
	fail := func(format string, a ...any) (GAPHead, error) {
		reason := fmt.Sprintf(format, a...)
		return GAPHead{}, &NotApplicableError{Model: fl.model.Dir,
			Reason: "no global-average-pooling head (conv → GlobalAveragePooling2D → Dense) before the logits: " + reason}
	}
	n := fl.skip(logits, "Identity")
	if n == nil {
		return fail("logits %s not found", logits)
	}
	if op := n.GetOp(); op == "BiasAdd" || op == "AddV2" || op == "Add" {
		n = fl.skip(n.GetInput()[0], "Identity")
	}
	if n == nil || n.GetOp() != "MatMul" {
		return fail("the logits come from %s, not from a dense layer", opOf(n))
	}
	if ta, _ := attr(n, "transpose_a"); ta == true {
		return fail("the dense layer transposes its input")
	}
	tb, _ := attr(n, "transpose_b")
	head := GAPHead{Kernel: canonical(n.GetInput()[1]), KernelTransposed: tb == true, Binary: binary}
	mean := fl.skip(n.GetInput()[0], "Identity", "Reshape", "Squeeze")
	if mean == nil || mean.GetOp() != "Mean" {
		return fail("the dense layer's input comes from %s, not from global average pooling", opOf(mean))
	}
	axes, ok := fl.constInts(mean.GetInput()[1])
	x, err := fl.tensor(mean.GetInput()[0])
	if err != nil {
		return GAPHead{}, err
	}
	rank := x.Shape().NumDimensions()
	for i := range axes {
		if axes[i] < 0 {
			axes[i] += int64(rank)
		}
	}
	slices.Sort(axes)
	if !ok || rank != 4 || !slices.Equal(axes, []int64{1, 2}) {
		return fail("the mean before the dense layer is over axes %v of a rank-%d tensor, not over the spatial axes of a 4-D one", axes, rank)
	}
	head.Features = canonical(mean.GetInput()[0])
	for _, l := range fl.layers {
		if canonical(l.Output) == head.Features {
			head.Layer = l.Name
		}
	}
	if head.Layer == "" {
		// The pooled tensor may be an Identity of a layer's output.
		src := fl.skip(head.Features, "Identity")
		for _, l := range fl.layers {
			if src != nil && nodeOf(l.Output) == src.GetName() {
				head.Layer = l.Name
			}
		}
	}
	return head, nil
}

// skip follows the first input of nodes of the given op types from tensor t
// and returns the first node of another type (nil if t names no node).
func (fl *Flat) skip(t string, ops ...string) *nodepb.NodeDef {
	n := fl.nodes[nodeOf(t)]
	for n != nil && slices.Contains(ops, n.GetOp()) && len(n.GetInput()) > 0 {
		n = fl.nodes[nodeOf(n.GetInput()[0])]
	}
	return n
}

func opOf(n *nodepb.NodeDef) string {
	if n == nil {
		return "nothing"
	}
	return n.GetOp() + " " + n.GetName()
}
