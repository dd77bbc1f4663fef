package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// GuidedGradCAM is Guided Grad-CAM (Selvaraju et al. 2016): the Guided
// Backprop signal times the upsampled Grad-CAM map, element by element
// (every channel by the same map value), which keeps Guided Backprop's fine
// detail where Grad-CAM localises the class. The scores, the layer's
// activations, its gradient and the guided signal come from one session run
// per chunk of images. The map is the maximum over channels of the absolute
// product.
type GuidedGradCAM struct {
	// Reduce is the channel reduction of the map (default max-abs).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*GuidedGradCAM)(nil)

func init() { Register("guided-gradcam", func() Method { return &GuidedGradCAM{} }) }

// Name is "guided-gradcam".
func (g *GuidedGradCAM) Name() string { return "guided-gradcam" }

// RuleSet is tfgraph.Guided.
func (g *GuidedGradCAM) RuleSet() *tfgraph.RuleSet { return tfgraph.Guided }

// Validate checks the options.
func (g *GuidedGradCAM) Validate() error {
	if err := validateReduction(g.Name(), g.Reduce); err != nil {
		return err
	}
	return g.Chunking.validate(g.Name())
}

// Explain computes the maps.
func (g *GuidedGradCAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	lo, err := layerPass(ctx, g.Name(), m, &b, t, true, true, g.Chunking)
	if err != nil {
		return nil, err
	}
	low := gradCAM(lo.a, lo.g, true)
	up, err := tensor.Resize(low, b.X.Shape[1], b.X.Shape[2])
	if err != nil {
		return nil, err
	}
	raw := lo.guided
	c := b.X.Shape[3]
	for i := range raw.Data {
		raw.Data[i] *= up.Data[i/c]
	}
	mp, signed, err := reduce(raw, g.Reduce, tensor.MaxAbs)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: g.Name(), Map: mp, Signed: signed, Raw: raw, LowRes: low, Layer: lo.layer.Name,
		Classes: lo.classes, Scores: lo.scores}, nil
}
