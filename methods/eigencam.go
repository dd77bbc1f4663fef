package methods

import (
	"context"
	"fmt"
	"strings"

	"github.com/saliencykit/saliency/tensor"
	"gonum.org/v1/gonum/mat"
)

// EigenCAM is Eigen-CAM (Muhammad & Yeasin 2020): the activations of the
// layer projected on their first principal direction. With A the [h·w, K]
// matrix of an image's activations (a row per position) and A = UΣVᵀ its
// singular value decomposition, the map is
//
//	M = A·v₁,
//
// v₁ the first right singular vector, reshaped to [h,w] and upsampled to
// the input size (bilinear). It uses no gradient and no score: the map is
// the same whatever the class (or unit) explained, so it shows what the
// layer responds to most, not why the model chose a class.
//
// A singular vector has no sign of its own (−v₁ is one too): the sign is
// chosen so that the map correlates positively with the mean activation over
// channels, (1/K) Σ_k A^k (on a tie, so that Σ_k v₁[k] ≥ 0). On the
// non-negative activations of a ReLU layer, v₁ then has non-negative
// entries and so has the map.
//
// As in the paper, A is not centred. pytorch-grad-cam's get_2d_projection
// subtracts each channel's mean over positions first (Center), does not fix
// the sign (numpy's SVD decides it), and clips the map at 0 (ReLU), as it
// does every CAM.
type EigenCAM struct {
	// Center subtracts each channel's mean over the positions before the
	// decomposition (principal components of the centred activations, as
	// pytorch-grad-cam computes them).
	Center bool `yaml:"center"`
	// ReLU keeps only the positive part of the map (pytorch-grad-cam's
	// clipping; the paper's map is the projection itself).
	ReLU     bool `yaml:"relu"`
	Chunking `yaml:",inline"`
}

var _ Method = (*EigenCAM)(nil)

func init() { Register("eigencam", func() Method { return &EigenCAM{} }) }

// Name is "eigencam".
func (e *EigenCAM) Name() string { return "eigencam" }

// Validate checks the options.
func (e *EigenCAM) Validate() error { return e.Chunking.validate(e.Name()) }

// Explain computes the maps.
func (e *EigenCAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	if t.Unit != nil {
		return nil, fmt.Errorf("methods: %s: the map depends on no target (the layer's first principal component), so it takes no unit (%s); unit targets work with %s",
			e.Name(), t.Unit, strings.Join(unitMethods, ", "))
	}
	lo, err := layerPass(ctx, e.Name(), m, &b, t, false, false, e.Chunking)
	if err != nil {
		return nil, err
	}
	a := lo.a
	n, h, w, k := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	low := tensor.New(n, h, w)
	for i := 0; i < n; i++ {
		e.project(a.Data[i*h*w*k:(i+1)*h*w*k], h*w, k, low.Data[i*h*w:(i+1)*h*w])
	}
	return camMaps(e.Name(), b.X, low, lo, !e.ReLU)
}

// project writes into out [p] the projection of the activations act [p,k]
// (a row per position) on their first right singular vector, signed to
// correlate positively with the mean activation.
func (e *EigenCAM) project(act []float32, p, k int, out []float32) {
	x := mat.NewDense(p, k, nil)
	mean := make([]float64, p) // over channels, of the activations as they are
	for r := 0; r < p; r++ {
		for c := 0; c < k; c++ {
			v := float64(act[r*k+c])
			x.Set(r, c, v)
			mean[r] += v / float64(k)
		}
	}
	if e.Center {
		for c := 0; c < k; c++ {
			var s float64
			for r := 0; r < p; r++ {
				s += x.At(r, c)
			}
			s /= float64(p)
			for r := 0; r < p; r++ {
				x.Set(r, c, x.At(r, c)-s)
			}
		}
	}
	proj := make([]float64, p)
	var svd mat.SVD
	if mat.Norm(x, 1) > 0 && svd.Factorize(x, mat.SVDThinV) {
		var v mat.Dense
		svd.VTo(&v)
		v1 := v.ColView(0)
		pv := mat.NewVecDense(p, proj)
		pv.MulVec(x, v1)
		var cov, mm, sumV float64
		for _, m := range mean {
			mm += m / float64(p)
		}
		for r := range proj {
			cov += proj[r] * (mean[r] - mm)
		}
		for c := 0; c < k; c++ {
			sumV += v1.AtVec(c)
		}
		if cov < 0 || (cov == 0 && sumV < 0) {
			for r := range proj {
				proj[r] = -proj[r]
			}
		}
	}
	for r, v := range proj {
		if e.ReLU && v < 0 {
			v = 0
		}
		out[r] = float32(v)
	}
}
