package methods

import (
	"context"
	"fmt"
	"slices"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// A Pass is what most methods ask of the model for a batch and a target:
// the target's scores, the backward signal of the target on the input under
// each of Rules, and the activations of a layer with the target's gradient on
// them, together in one session run per chunk of images (at most Chunking's
// budget each). Pass.Run does it, or takes the results of a [Share] made for
// the same model, batch and target when they hold what the pass asks for: a
// method written outside this package shares runs as the built-in ones do
// (it takes part in a Share's run by implementing [Sharer]).
//
// Gradient, gradient × input, Guided Backprop and DeconvNet are one Pass
// with one rule set; Grad-CAM, Grad-CAM++ and LayerCAM one Pass with
// LayerGrad; Guided Grad-CAM both.
type Pass struct {
	// Rules asks for the backward signal of the target on the input under
	// each rule set (nil: tfgraph.Plain, the gradient).
	Rules []*tfgraph.RuleSet
	// Layer asks for the activations A [N,h,w,K] of the target's layer
	// (Target.Layer, or the model's CAM layer; a token layer [N,T,D] is
	// reshaped to its patch grid, see Target.Grid).
	Layer bool
	// LayerGrad asks for the target's gradient on the layer too,
	// G = ∂S/∂A (it implies Layer).
	LayerGrad bool
	Chunking
}

// Signals is what a Pass returns, for the N images of the batch.
type Signals struct {
	// Classes and Scores are the class explained in each image (the given
	// one, or the predicted one) and its score S_c(I); for a unit target,
	// nil classes and the unit's values.
	Classes []int
	Scores  []float32
	// Input holds the signal on the input [N,H,W,C] under each rule set of
	// Pass.Rules, in order.
	Input []*tensor.Tensor
	// Layer is the layer of Pass.Layer, A its activations and G the
	// gradient on them [N,h,w,K] (nil when not asked for).
	Layer tfgraph.Layer
	A, G  *tensor.Tensor
	// tokens is the layer's output as the graph has it ([N,T,D]) when A is
	// its patch grid (nil for a 4-D layer).
	tokens *tensor.Tensor
}

// Run performs the pass on model m for batch b and target t, after the
// checks every method starts with (the batch, one class per image when
// classes are given, the target on the model, the layer); method names the
// caller in errors. A rule set without a rule for an op of the model, or a
// model without a CAM layer, gives a *NotApplicableError.
func (p Pass) Run(ctx context.Context, method string, m Model, b Batch, t Target) (*Signals, error) {
	return p.run(ctx, method, m, &b, t)
}

// run is Run on b, whose Black and White it fills in (setup).
func (p Pass) run(ctx context.Context, method string, m Model, b *Batch, t Target) (*Signals, error) {
	gl, err := setup(method, m, b, t)
	if err != nil {
		return nil, err
	}
	p.Layer = p.Layer || p.LayerGrad
	var l tfgraph.Layer
	var grid *tfgraph.Grid
	if p.Layer {
		if l, grid, err = camLayer(method, m, t); err != nil {
			return nil, err
		}
	}
	rules := make([]*tfgraph.RuleSet, len(p.Rules))
	for i, r := range p.Rules {
		rules[i] = orPlain(r)
	}
	var out *Signals
	if s := sharedFor(ctx, m, b, t); s != nil {
		out = s.take(rules, p.Layer, l)
	}
	if out == nil {
		size := p.Chunking.gradSize(m, rules...)
		if out, err = runPass(ctx, m, b.X, t, gl, rules, p.Layer, p.LayerGrad, l, size); err != nil {
			return nil, notApplicable(method, err)
		}
	}
	if !p.Layer {
		return out, nil
	}
	if grid != nil {
		out.tokens = out.A
		if out.A, err = toGrid(out.A, *grid); err != nil {
			return nil, err
		}
	}
	if len(out.A.Shape) != 4 {
		return nil, fmt.Errorf("methods: %s: layer %s gave shape %v, want [N,h,w,K]", method, l.Name, out.A.Shape)
	}
	if p.LayerGrad && grid != nil {
		if out.G, err = toGrid(out.G, *grid); err != nil {
			return nil, err
		}
	}
	if !p.LayerGrad {
		out.G = nil
	}
	return out, nil
}

// runPass runs the model on x for goal gl in one session run per chunk of
// size images: the start tensor, a signal on the input under each rule set,
// and, with layer, the layer's activations (and the goal's gradient on them
// with grad), as fetched.
func runPass(ctx context.Context, m Model, x *tensor.Tensor, t Target, gl goal, rules []*tfgraph.RuleSet, layer, grad bool, l tfgraph.Layer, size int) (*Signals, error) {
	out := &Signals{Layer: l}
	sig := make([][]*tensor.Tensor, len(rules))
	var as, gs []*tensor.Tensor
	for _, c := range chunks(x.Shape[0], size) {
		var given []int
		if t.Classes != nil {
			given = t.Classes[c[0]:c[1]]
		}
		q := tfgraph.Query{Fetch: []string{gl.score}}
		for _, r := range rules {
			q.Grads = append(q.Grads, gl.grad("", r, given, c[1]-c[0]))
		}
		if layer {
			q.Fetch = append(q.Fetch, l.Output)
			if grad {
				q.Grads = append(q.Grads, gl.grad(l.Output, nil, given, c[1]-c[0]))
			}
		}
		res, err := m.Run(ctx, x.Slice(c[0], c[1]), q)
		if err != nil {
			return nil, err
		}
		cl, sc := gl.values(res.Fetched[0], given)
		out.Classes = append(out.Classes, cl...)
		out.Scores = append(out.Scores, sc...)
		for i := range rules {
			sig[i] = append(sig[i], res.Grads[i])
		}
		if layer {
			as = append(as, res.Fetched[1])
			if grad {
				gs = append(gs, res.Grads[len(rules)])
			}
		}
	}
	var err error
	out.Input = make([]*tensor.Tensor, len(rules))
	for i := range rules {
		if out.Input[i], err = joinChunks(sig[i]); err != nil {
			return nil, err
		}
	}
	if layer {
		if out.A, err = joinChunks(as); err != nil {
			return nil, err
		}
	}
	if grad {
		if out.G, err = joinChunks(gs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// joinChunks is the chunks' tensors concatenated along the batch; one
// chunk's tensor is returned as it is (a session run's fresh result: no
// copy).
func joinChunks(ts []*tensor.Tensor) (*tensor.Tensor, error) {
	if len(ts) == 1 {
		return ts[0], nil
	}
	return tensor.Concat(ts...)
}

// orPlain is r, or tfgraph.Plain for nil.
func orPlain(r *tfgraph.RuleSet) *tfgraph.RuleSet {
	if r == nil {
		return tfgraph.Plain
	}
	return r
}

// A Goal is a target resolved on a model for a batch ([Resolve]): the
// tensor whose value is explained (a score tensor [N,K], or a unit's layer)
// and how backward signals from it are seeded. A method that builds its own
// tfgraph.Query (on noisy copies, along a path, with masks) takes its seeds
// and scores from it.
type Goal struct {
	g       goal
	classes []int
}

// Resolve makes the checks every method starts with (a batch of images
// [N,H,W,C], one class per image when classes are given) and resolves
// target t on m: its score tensor and classes, or its unit. Errors name
// method.
func Resolve(method string, m Model, b Batch, t Target) (Goal, error) {
	g, err := setup(method, m, &b, t)
	return Goal{g: g, classes: t.Classes}, err
}

// Start is the flat tensor whose value is explained: fetch it in a query
// for Values.
func (g Goal) Start() string { return g.g.score }

// Grad is the backward signal of the target on end (a flat tensor; "" for
// the input) under rules (nil: Plain), for the images [lo, hi) of the batch:
// seeded with the one-hot of their classes, with the predicted class when
// the target gives none (a nil seed: picked inside the graph, in the run),
// or with a unit's seed or pick.
func (g Goal) Grad(end string, rules *tfgraph.RuleSet, lo, hi int) tfgraph.Grad {
	return g.g.grad(end, rules, g.given(lo, hi), hi-lo)
}

// Values are the classes explained in images [lo, hi) and their scores,
// from the Start tensor fetched for them (for a unit target, nil classes and
// the unit's values).
func (g Goal) Values(start *tensor.Tensor, lo, hi int) ([]int, []float32) {
	return g.g.values(start, g.given(lo, hi))
}

func (g Goal) given(lo, hi int) []int {
	if g.classes == nil {
		return nil
	}
	return g.classes[lo:hi]
}

// A Sharer is a method whose model work is one [Pass] over the batch and
// target it explains: Share does the passes of several such methods in one
// session run per chunk. The built-in single-pass methods take part too; a
// method outside the package implements Sharer to join them.
type Sharer interface {
	Method
	// Pass is the pass that Explain runs (with Pass.Run).
	Pass() Pass
}

// take returns the shared results that a pass asks for (clones: a method
// may change them), or nil when they are not all there.
func (s *shared) take(rules []*tfgraph.RuleSet, layer bool, l tfgraph.Layer) *Signals {
	if layer && (s.a == nil || s.layer.Output != l.Output) {
		return nil
	}
	out := &Signals{Classes: slices.Clone(s.classes), Scores: slices.Clone(s.scores)}
	for _, r := range rules {
		sig, ok := s.signals[r.Name]
		if !ok {
			return nil
		}
		out.Input = append(out.Input, sig.Clone())
	}
	if layer {
		out.Layer, out.A, out.G = s.layer, s.a.Clone(), s.g.Clone()
	}
	return out
}
