package methods

import (
	"context"
	"slices"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// inputSignal is the backward signal of S_c on the input under rules, with
// the classes explained and their scores: one session run per chunk of
// images, the forward scores fetched in the same run. Without given classes
// the seed is the predicted class, picked inside the graph.
func inputSignal(ctx context.Context, method string, m Model, b *Batch, t Target, rules *tfgraph.RuleSet, ch Chunking) (*tensor.Tensor, []int, []float32, error) {
	gl, err := setup(method, m, b, t)
	if err != nil {
		return nil, nil, nil, err
	}
	if s := sharedFor(ctx, m, b, t); s != nil {
		if sig, ok := s.signals[rules.Name]; ok {
			return sig.Clone(), slices.Clone(s.classes), slices.Clone(s.scores), nil
		}
	}
	x := b.X
	n := x.Shape[0]
	out := tensor.New(x.Shape...)
	var classes []int
	scores := make([]float32, 0, n)
	per := tensor.Size(x.Shape[1:])
	for _, c := range chunks(n, ch.size(m)) {
		var given []int
		if t.Classes != nil {
			given = t.Classes[c[0]:c[1]]
		}
		g := gl.grad("", rules, given, c[1]-c[0])
		res, err := m.Run(ctx, x.Slice(c[0], c[1]), tfgraph.Query{Fetch: []string{gl.score}, Grads: []tfgraph.Grad{g}})
		if err != nil {
			return nil, nil, nil, notApplicable(method, err)
		}
		copy(out.Data[c[0]*per:], res.Grads[0].Data)
		cl, sc := gl.values(res.Fetched[0], given)
		classes = append(classes, cl...)
		scores = append(scores, sc...)
	}
	return out, classes, scores, nil
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
