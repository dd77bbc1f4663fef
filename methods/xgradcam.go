package methods

import (
	"context"
)

// XGradCAM is XGrad-CAM, Axiom-based Grad-CAM (Fu et al. 2020): Grad-CAM
// with the gradient averaged over positions in proportion to the
// activation instead of uniformly,
//
//	α_k = Σ_{ij} (A^k_{ij} / Σ_{ab} A^k_{ab}) ∂S_c/∂A^k_{ij},   M = ReLU(Σ_k α_k A^k),
//
// upsampled to the input size (bilinear). These weights make the map
// satisfy the paper's two axioms (sensitivity and conservation) as closely
// as a linear combination of the maps can, for the non-negative
// activations (after a ReLU) the paper assumes. A channel whose activations
// sum to 0 (a dead channel) gets weight 0: the paper's formula is 0/0
// there. The authors' code and pytorch-grad-cam add 1e-6 and 1e-7 to the
// denominator instead, which changes α_k by that much relative to Σ A^k.
// On a network ending in global average pooling and a dense layer the
// gradient is the same at every position and XGrad-CAM equals Grad-CAM.
// One session run per chunk of images.
type XGradCAM struct {
	// NoReLU keeps the negative part of the map (the paper applies a ReLU).
	NoReLU   bool `yaml:"no_relu"`
	Chunking `yaml:",inline"`
}

var _ Method = (*XGradCAM)(nil)

func init() { Register("xgradcam", func() Method { return &XGradCAM{} }) }

// Name is "xgradcam".
func (x *XGradCAM) Name() string { return "xgradcam" }

// Validate checks the options.
func (x *XGradCAM) Validate() error { return x.Chunking.validate(x.Name()) }

// Explain computes the maps.
func (x *XGradCAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	lo, err := layerPass(ctx, x.Name(), m, &b, t, true, false, x.Chunking)
	if err != nil {
		return nil, err
	}
	a, g := lo.a, lo.g
	n, h, w, k := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	alpha := make([]float64, n*k)
	sum := make([]float64, k)
	for i := 0; i < n; i++ {
		clear(sum)
		row := alpha[i*k : (i+1)*k]
		for p := i * h * w; p < (i+1)*h*w; p++ {
			for c := 0; c < k; c++ {
				av := float64(a.Data[p*k+c])
				sum[c] += av
				row[c] += av * float64(g.Data[p*k+c])
			}
		}
		for c := range row {
			if sum[c] == 0 {
				row[c] = 0
			} else {
				row[c] /= sum[c]
			}
		}
	}
	return camMaps(x.Name(), b.X, weighted(a, alpha, !x.NoReLU), lo, x.NoReLU)
}
