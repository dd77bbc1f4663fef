package methods

import (
	"context"

	"github.com/saliencykit/saliency/internal/par"
	"github.com/saliencykit/saliency/tensor"
)

// LayerCAM is Layer-CAM (Jiang et al. 2021): each activation weighted by its
// own positive gradient, M = ReLU(Σ_k ReLU(∂S_c/∂A^k) ⊙ A^k), upsampled. The
// pixel-wise weights keep fine detail, so it also works on shallow layers.
type LayerCAM struct {
	Chunking `yaml:",inline"`
}

var _ Method = (*LayerCAM)(nil)

func init() { Register("layercam", func() Method { return &LayerCAM{} }) }

// Name is "layercam".
func (l *LayerCAM) Name() string { return "layercam" }

// Validate checks the options.
func (l *LayerCAM) Validate() error { return l.Chunking.validate(l.Name()) }

// Explain computes the maps.
func (l *LayerCAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	lo, err := layerPass(ctx, l.Name(), m, &b, t, true, false, l.Chunking)
	if err != nil {
		return nil, err
	}
	a, g := lo.a, lo.g
	n, h, w, k := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	low := tensor.New(n, h, w)
	par.Each(n, func(i int) {
		for p := i * h * w; p < (i+1)*h*w; p++ {
			gp, ap := g.Data[p*k:(p+1)*k], a.Data[p*k:(p+1)*k]
			ap = ap[:len(gp)]
			var s float64
			for c, gv := range gp {
				if gv > 0 {
					s += float64(gv) * float64(ap[c])
				}
			}
			low.Data[p] = float32(max(s, 0))
		}
	})
	return camMaps(l.Name(), b.X, low, lo, false)
}
