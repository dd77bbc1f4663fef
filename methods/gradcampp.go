package methods

import (
	"context"
	"math"

	"github.com/saliencykit/saliency/internal/par"
)

// GradCAMPlusPlus is Grad-CAM++ (Chattopadhay et al. 2018) in its
// exponential-score form, where the second and third derivatives of exp(S_c)
// follow from the first: with G = ∂S_c/∂A,
//
//	a_{ij}^k = G² / (2G² + Σ_{ab} A^k_{ab} · G³)   (0 where the denominator is 0)
//	w_k      = Σ_{ij} a_{ij}^k · ReLU(G_{ij}^k)
//	M        = ReLU(Σ_k w_k A^k), upsampled
//
// The paper's factor exp(S_c) on w is a positive constant of each image and is
// left out (it would overflow float32 for large logits).
type GradCAMPlusPlus struct {
	Chunking `yaml:",inline"`
}

var _ Method = (*GradCAMPlusPlus)(nil)

func init() { Register("gradcam++", func() Method { return &GradCAMPlusPlus{} }) }

// Name is "gradcam++".
func (g *GradCAMPlusPlus) Name() string { return "gradcam++" }

// Validate checks the options.
func (g *GradCAMPlusPlus) Validate() error { return g.Chunking.validate(g.Name()) }

// Explain computes the maps.
func (g *GradCAMPlusPlus) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	if t.Unit != nil {
		// Its weights are those of an exponential of a class score.
		return nil, goal{unit: &unitGoal{u: *t.Unit}}.classOnly(g.Name())
	}
	lo, err := layerPass(ctx, g.Name(), m, &b, t, true, false, g.Chunking)
	if err != nil {
		return nil, err
	}
	a, gr := lo.a, lo.g
	n, h, w, k := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	wt := make([]float64, n*k)
	par.Each(n, func(i int) {
		sumA := make([]float64, k)
		for p := 0; p < h*w; p++ {
			for c, v := range a.Data[(i*h*w+p)*k : (i*h*w+p+1)*k] {
				sumA[c] += float64(v)
			}
		}
		for p := 0; p < h*w; p++ {
			for c, v := range gr.Data[(i*h*w+p)*k : (i*h*w+p+1)*k] {
				g1 := float64(v)
				g2 := g1 * g1
				den := 2*g2 + sumA[c]*g2*g1
				if den == 0 {
					continue
				}
				wt[i*k+c] += g2 / den * math.Max(g1, 0)
			}
		}
	})
	return camMaps(g.Name(), b.X, weighted(a, wt, true), lo, false)
}
