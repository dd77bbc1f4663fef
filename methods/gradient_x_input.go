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
