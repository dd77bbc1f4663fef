package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
)

// HiResCAM is HiResCAM (Draelos & Carin 2020): Grad-CAM without the spatial
// averaging of the gradient, each activation weighted by its own gradient,
//
//	M = ReLU(Σ_k ∂S_c/∂A^k ⊙ A^k),
//
// upsampled to the input size (bilinear). Before its ReLU the map sums to
// Σ_k ⟨∂S_c/∂A^k, A^k⟩, the first-order term of the score in the layer's
// activations, each position with its own share: it shows where the score
// comes from, where Grad-CAM's averaged gradient can credit positions that
// lower it. On a network ending in global average
// pooling and a dense layer the gradient is the same at every position
// (W[k,c]/(h·w)), and HiResCAM equals Grad-CAM. Unlike Layer-CAM it keeps
// the negative gradients inside the sum. One session run per chunk of
// images.
type HiResCAM struct {
	// NoReLU keeps the negative part of the map (the paper applies a ReLU).
	NoReLU   bool `yaml:"no_relu"`
	Chunking `yaml:",inline"`
}

var _ Method = (*HiResCAM)(nil)

func init() { Register("hirescam", func() Method { return &HiResCAM{} }) }

// Name is "hirescam".
func (h *HiResCAM) Name() string { return "hirescam" }

// Validate checks the options.
func (h *HiResCAM) Validate() error { return h.Chunking.validate(h.Name()) }

// Explain computes the maps.
func (h *HiResCAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	lo, err := layerPass(ctx, h.Name(), m, &b, t, true, false, h.Chunking)
	if err != nil {
		return nil, err
	}
	a, g := lo.a, lo.g
	n, hh, w, k := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	low := tensor.New(n, hh, w)
	for p := range low.Data {
		var s float64
		for c := 0; c < k; c++ {
			s += float64(g.Data[p*k+c]) * float64(a.Data[p*k+c])
		}
		if !h.NoReLU {
			s = max(s, 0)
		}
		low.Data[p] = float32(s)
	}
	return camMaps(h.Name(), b.X, low, lo, h.NoReLU)
}
