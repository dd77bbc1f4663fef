package methods

import (
	"context"
	"slices"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// sharer is implemented by the methods whose model work is one session run
// per chunk (a backward signal on the input under a rule set, or a layer's
// activations and gradient), so that Share can do the work of several in
// one run.
type sharer interface {
	shareNeeds(n *needs)
	budget() Chunking
}

// needs is the union of what the methods of a Share need.
type needs struct {
	rules []*tfgraph.RuleSet // input signals, by rule set
	layer bool               // the CAM layer's activations and gradient
}

func (n *needs) addRules(r *tfgraph.RuleSet) {
	if !slices.ContainsFunc(n.rules, func(x *tfgraph.RuleSet) bool { return x.Name == r.Name }) {
		n.rules = append(n.rules, r)
	}
}

func (g *Gradient) shareNeeds(n *needs)        { n.addRules(tfgraph.Plain) }
func (g *GradientXInput) shareNeeds(n *needs)  { n.addRules(tfgraph.Plain) }
func (g *GuidedBackprop) shareNeeds(n *needs)  { n.addRules(tfgraph.Guided) }
func (d *DeconvNet) shareNeeds(n *needs)       { n.addRules(tfgraph.DeconvNet) }
func (g *GradCAM) shareNeeds(n *needs)         { n.layer = true }
func (g *GradCAMPlusPlus) shareNeeds(n *needs) { n.layer = true }
func (l *LayerCAM) shareNeeds(n *needs)        { n.layer = true }
func (h *HiResCAM) shareNeeds(n *needs)        { n.layer = true }
func (x *XGradCAM) shareNeeds(n *needs)        { n.layer = true }
func (e *EigenCAM) shareNeeds(n *needs)        { n.layer = true }
func (g *GuidedGradCAM) shareNeeds(n *needs) {
	n.layer = true
	n.addRules(tfgraph.Guided)
}

// shared holds the results of a Share for one model, batch and target.
type shared struct {
	m       Model
	x       *tensor.Tensor
	t       Target
	signals map[string]*tensor.Tensor // input signals by rule-set name
	layer   tfgraph.Layer
	a, g    *tensor.Tensor // the layer's activations and gradient, as fetched
	classes []int
	scores  []float32
}

type sharedKey struct{}

// Share does, for the methods ms that can share it, the model work of batch
// b and target t on m at once: one session run per chunk computes the
// forward pass, every backward signal on the input they need (one per rule
// set) and the CAM layer's activations and gradient. It returns a context
// under which their Explain on the same model, batch (the same X) and target
// takes these results instead of running the model: gradient and
// gradient-x-input, guided-backprop and guided-gradcam share a signal, and
// all of them share one forward pass. The maps are those of separate calls
// (to within float rounding between batch compositions). Methods outside
// the package take part as [Sharer]s, and any [Pass] run under the context
// takes the results that it asks for.
//
// Methods that cannot share (multi-pass ones) run as before under the
// returned context. When fewer than two signals are shared, or the shared
// run fails (a rule set that does not apply to the model, a model without a
// CAM layer), Share returns ctx unchanged and each method meets the problem
// on its own.
func Share(ctx context.Context, m Model, b Batch, t Target, ms []Method) context.Context {
	var n needs
	var budgets []Chunking
	for _, mt := range ms {
		var ch Chunking
		switch s := mt.(type) {
		case sharer:
			s.shareNeeds(&n)
			ch = s.budget()
		case Sharer:
			p := s.Pass()
			for _, r := range p.Rules {
				n.addRules(orPlain(r))
			}
			n.layer = n.layer || p.Layer || p.LayerGrad
			ch = p.Chunking
		default:
			continue
		}
		budgets = append(budgets, ch)
	}
	if len(budgets) < 2 {
		return ctx
	}
	gl, err := setup("share", m, &b, t)
	if err != nil {
		return ctx
	}
	var layer tfgraph.Layer
	if n.layer {
		if layer, _, err = camLayer("share", m, t); err != nil {
			n.layer = false
		}
	}
	// size is the smallest chunk of the methods' own runs: the shared run
	// holds the same images as theirs would.
	size := 0
	for _, ch := range budgets {
		if c := ch.gradSize(m, n.rules...); size == 0 || c < size {
			size = c
		}
	}
	res, err := runPass(ctx, m, b.X, t, gl, n.rules, n.layer, n.layer, layer, size)
	if err != nil {
		return ctx
	}
	s := &shared{m: m, x: b.X, t: t, signals: map[string]*tensor.Tensor{}, layer: layer,
		a: res.A, g: res.G, classes: res.Classes, scores: res.Scores}
	for i, r := range n.rules {
		s.signals[r.Name] = res.Input[i]
	}
	return context.WithValue(ctx, sharedKey{}, s)
}

// sameUnit says whether two targets' units are the same.
func sameUnit(a, b *Unit) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Layer == b.Layer && a.Channel == b.Channel && a.Reduce == b.Reduce && slices.Equal(a.At, b.At) &&
		slices.Equal(a.Direction, b.Direction) && (a.Direction == nil) == (b.Direction == nil)
}

// sharedFor returns the results of a Share of ctx made for this model, batch
// and target, or nil.
func sharedFor(ctx context.Context, m Model, b *Batch, t Target) *shared {
	s, _ := ctx.Value(sharedKey{}).(*shared)
	if s == nil || s.m != m || b.X == nil || s.x.Len() != b.X.Len() || !tensor.SameShape(s.x.Shape, b.X.Shape) {
		return nil
	}
	if s.x.Len() > 0 && &s.x.Data[0] != &b.X.Data[0] {
		return nil
	}
	if s.t.Layer != t.Layer || s.t.Grid != t.Grid || s.t.Score != t.Score || s.t.Probability != t.Probability || !sameUnit(s.t.Unit, t.Unit) || !slices.Equal(s.t.Classes, t.Classes) || (s.t.Classes == nil) != (t.Classes == nil) {
		return nil
	}
	return s
}
