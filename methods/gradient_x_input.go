package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// GradientXInput is I ⊙ ∂S_c/∂I (Shrikumar et al. 2016). The map is the
// signed sum over channels.
type GradientXInput struct {
	// Reduce is the channel reduction of the map (default sum).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*GradientXInput)(nil)

func init() { Register("gradient-x-input", func() Method { return &GradientXInput{} }) }

// Name is "gradient-x-input".
func (g *GradientXInput) Name() string { return "gradient-x-input" }

// Validate checks the options.
func (g *GradientXInput) Validate() error {
	if err := validateReduction(g.Name(), g.Reduce); err != nil {
		return err
	}
	return g.Chunking.validate(g.Name())
}

// Explain computes the maps.
func (g *GradientXInput) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	return backprop{name: g.Name(), rules: tfgraph.Plain, times: true, reduce: g.Reduce, def: tensor.Sum, ch: g.Chunking}.explain(ctx, m, b, t)
}

var _ Differentiable = (*GradientXInput)(nil)

// Reduction is the channel reduction of the map (Reduce, default sum).
func (g *GradientXInput) Reduction() tensor.Reduction { return orDefault(g.Reduce, tensor.Sum) }

// RawGrad is ∂⟨w, I ⊙ ∂S_c/∂I⟩/∂I = w ⊙ ∂S_c/∂I + H·(I ⊙ w)
// (Differentiable).
func (g *GradientXInput) RawGrad(ctx context.Context, m Model, b Batch, t Target, w *tensor.Tensor) (*tensor.Tensor, error) {
	gl, classes, err := rawGradSetup(ctx, g.Name(), m, &b, t, w, g.Chunking)
	if err != nil {
		return nil, err
	}
	xw := tensor.New(w.Shape...)
	for i, v := range w.Data {
		xw.Data[i] = v * b.X.Data[i]
	}
	gr, hv, err := secondOrder(ctx, g.Name(), m, gl, b.X, classes, xw, true, g.Chunking)
	if err != nil {
		return nil, err
	}
	for i, v := range w.Data {
		hv.Data[i] += v * gr.Data[i]
	}
	return hv, nil
}
