package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// inputSignal is the backward signal of S_c on the input under rules, with
// the classes explained and their scores: a Pass with one rule set.
func inputSignal(ctx context.Context, method string, m Model, b *Batch, t Target, rules *tfgraph.RuleSet, ch Chunking) (*tensor.Tensor, []int, []float32, error) {
	s, err := Pass{Rules: []*tfgraph.RuleSet{rules}, Chunking: ch}.run(ctx, method, m, b, t)
	if err != nil {
		return nil, nil, nil, err
	}
	return s.Input[0], s.Classes, s.Scores, nil
}

// backprop is the shared body of the methods that are one backward pass to
// the input under a rule set: gradient, guided-backprop, deconvnet, and
// gradient-x-input (times the input).
type backprop struct {
	name   string
	rules  *tfgraph.RuleSet
	times  bool // multiply by the input
	reduce tensor.Reduction
	def    tensor.Reduction
	ch     Chunking
}

func (p backprop) explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	raw, classes, scores, err := inputSignal(ctx, p.name, m, &b, t, p.rules, p.ch)
	if err != nil {
		return nil, err
	}
	if p.times {
		for i, v := range b.X.Data {
			raw.Data[i] *= v
		}
	}
	mp, signed, err := reduce(raw, p.reduce, p.def)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: p.name, Map: mp, Signed: signed, Raw: raw, Classes: classes, Scores: scores}, nil
}
