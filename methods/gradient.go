package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Gradient is the vanilla saliency map of Simonyan et al. (2013): the
// derivative of the class score (the logit, not the softmax) with respect to
// the input, ∂S_c/∂I at I₀, in one backward pass. The map is the maximum over
// channels of its absolute value.
type Gradient struct {
	// Reduce is the channel reduction of the map (default max-abs).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*Gradient)(nil)

func init() { Register("gradient", func() Method { return &Gradient{} }) }

// Name is "gradient".
func (g *Gradient) Name() string { return "gradient" }

// Validate checks the options.
func (g *Gradient) Validate() error {
	if err := validateReduction(g.Name(), g.Reduce); err != nil {
		return err
	}
	return g.Chunking.validate(g.Name())
}

// Explain computes the maps.
func (g *Gradient) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	return backprop{name: g.Name(), rules: tfgraph.Plain, reduce: g.Reduce, def: tensor.MaxAbs, ch: g.Chunking}.explain(ctx, m, b, t)
}

var _ Differentiable = (*Gradient)(nil)

// Reduction is the channel reduction of the map (Reduce, default max-abs).
func (g *Gradient) Reduction() tensor.Reduction { return orDefault(g.Reduce, tensor.MaxAbs) }

// RawGrad is ∂⟨w, ∂S_c/∂I⟩/∂I = H·w, the Hessian-vector product of the
// class score (Differentiable).
func (g *Gradient) RawGrad(ctx context.Context, m Model, b Batch, t Target, w *tensor.Tensor) (*tensor.Tensor, error) {
	gl, classes, err := rawGradSetup(ctx, g.Name(), m, &b, t, w, g.Chunking)
	if err != nil {
		return nil, err
	}
	_, hv, err := secondOrder(ctx, g.Name(), m, gl, b.X, classes, w, false, g.Chunking)
	return hv, err
}
