package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// GuidedBackprop is Guided Backpropagation (Springenberg et al. 2014): the
// backward pass of the class score in which a ReLU keeps signal only where
// both its forward input and the backward signal are positive
// (tfgraph.Guided). The map is the maximum over channels of the absolute
// signal.
type GuidedBackprop struct {
	// Reduce is the channel reduction of the map (default max-abs).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*GuidedBackprop)(nil)

func init() { Register("guided-backprop", func() Method { return &GuidedBackprop{} }) }

// Name is "guided-backprop".
func (g *GuidedBackprop) Name() string { return "guided-backprop" }

// RuleSet is tfgraph.Guided.
func (g *GuidedBackprop) RuleSet() *tfgraph.RuleSet { return tfgraph.Guided }

// Validate checks the options.
func (g *GuidedBackprop) Validate() error {
	if err := validateReduction(g.Name(), g.Reduce); err != nil {
		return err
	}
	return g.Chunking.validate(g.Name())
}

// Explain computes the maps.
func (g *GuidedBackprop) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	return backprop{name: g.Name(), rules: tfgraph.Guided, reduce: g.Reduce, def: tensor.MaxAbs, ch: g.Chunking}.explain(ctx, m, b, t)
}
