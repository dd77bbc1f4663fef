package methods

import (
	"context"

	"github.com/saliencykit/saliency/internal/par"
	"github.com/saliencykit/saliency/tensor"
)

// GradCAM is Grad-CAM (Selvaraju et al. 2016): with A the activations of a
// convolutional layer and α_k = mean_{i,j} ∂S_c/∂A^k_{ij}, the map is
// ReLU(Σ_k α_k A^k), upsampled to the input size (bilinear). It works for any
// CNN; on a network ending in global average pooling and a dense layer it is
// CAM up to a positive factor. One session run per chunk of images gives the
// scores, the activations and the gradient together.
type GradCAM struct {
	// NoReLU keeps the negative part of the map (the paper applies a ReLU).
	NoReLU   bool `yaml:"no_relu"`
	Chunking `yaml:",inline"`
}

var _ Method = (*GradCAM)(nil)

func init() { Register("gradcam", func() Method { return &GradCAM{} }) }

// Name is "gradcam".
func (g *GradCAM) Name() string { return "gradcam" }

// Validate checks the options.
func (g *GradCAM) Validate() error { return g.Chunking.validate(g.Name()) }

// Explain computes the maps.
func (g *GradCAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	lo, err := layerPass(ctx, g.Name(), m, &b, t, true, false, g.Chunking)
	if err != nil {
		return nil, err
	}
	return camMaps(g.Name(), b.X, gradCAM(lo.a, lo.g, !g.NoReLU), lo, g.NoReLU)
}

// gradCAM is ReLU(Σ_k mean_{ij}(G^k) A^k) [N,h,w].
func gradCAM(a, g *tensor.Tensor, relu bool) *tensor.Tensor {
	n, h, w, k := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	alpha := make([]float64, n*k)
	par.Each(n, func(i int) {
		al := alpha[i*k : (i+1)*k]
		for p := 0; p < h*w; p++ {
			for c, v := range g.Data[(i*h*w+p)*k : (i*h*w+p+1)*k] {
				al[c] += float64(v)
			}
		}
		for c := range al {
			al[c] /= float64(h * w)
		}
	})
	return weighted(a, alpha, relu)
}
