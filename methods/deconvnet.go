package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// DeconvNet is the backward projection of Zeiler & Fergus (2013): a ReLU
// passes only the positive part of the backward signal, whatever its forward
// input was; max-pooling routes through the forward switches and a
// convolution through its transpose (tfgraph.DeconvNet). The map is the
// maximum over channels of the absolute signal.
type DeconvNet struct {
	// Reduce is the channel reduction of the map (default max-abs).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*DeconvNet)(nil)

func init() { Register("deconvnet", func() Method { return &DeconvNet{} }) }

// Name is "deconvnet".
func (d *DeconvNet) Name() string { return "deconvnet" }

// RuleSet is tfgraph.DeconvNet.
func (d *DeconvNet) RuleSet() *tfgraph.RuleSet { return tfgraph.DeconvNet }

// Validate checks the options.
func (d *DeconvNet) Validate() error {
	if err := validateReduction(d.Name(), d.Reduce); err != nil {
		return err
	}
	return d.Chunking.validate(d.Name())
}

// Explain computes the maps.
func (d *DeconvNet) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	return backprop{name: d.Name(), rules: tfgraph.DeconvNet, reduce: d.Reduce, def: tensor.MaxAbs, ch: d.Chunking}.explain(ctx, m, b, t)
}
