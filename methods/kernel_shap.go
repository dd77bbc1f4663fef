package methods

import (
	"context"
	"fmt"

	"github.com/saliencykit/saliency/tensor"
	"gonum.org/v1/gonum/mat"
)

// KernelSHAP is Kernel SHAP on superpixels (Lundberg & Lee 2017): the
// Shapley values of the M segments of each image as a linear regression on
// coalitions z ∈ {0,1}^M (segments off take the reference value). The
// coalitions are drawn under the Shapley kernel, π(z) ∝ (M − 1)/(C(M,|z|)
// |z| (M − |z|)), as Xplique and Captum draw them: |z| = k with probability
// ∝ (M − 1)/(k (M − k)), k = 1 … M−1, then a uniform subset of k segments,
// so that the regression is unweighted. The infinite weight the kernel gives
// to the empty and full coalitions makes the paper's constraints, which
// this default enforces:
//
//	φ_0 = S_c(ref),   Σ_j φ_j = S_c(I) − S_c(ref)   (local accuracy),
//
// solving the least squares on the remaining M − 1 free coefficients (one
// forward pass for the reference image more). Unconstrained fits a free
// intercept and free φ by ordinary least squares, as Xplique 2.0.2 does
// (scikit-learn's LinearRegression). The map gives each pixel its segment's
// φ_j (signed). ns + 2 forward passes per image (ns + 1 unconstrained), in
// Info["forward-passes"].
type KernelSHAP struct {
	Superpixels `yaml:",inline"`
	// Samples is ns (default 800, Xplique's).
	Samples int `yaml:"nb_samples"`
	// RefValue is the value of a switched-off pixel in model-input units
	// (default: black on one channel, mid-grey on three, as Xplique).
	RefValue *float64 `yaml:"ref_value"`
	// Unconstrained fits without the local-accuracy constraints (Xplique's
	// regression).
	Unconstrained bool `yaml:"unconstrained"`
	// Seed selects the coalitions.
	Seed uint64 `yaml:"seed"`
	// Draws, when set, are the coalitions [N or 1, ns, ≥ M] instead of the
	// seeded ones.
	Draws    *tensor.Tensor `yaml:"-"`
	Chunking `yaml:",inline"`
}

var _ Method = (*KernelSHAP)(nil)

func init() { Register("kernel-shap", func() Method { return &KernelSHAP{} }) }

// Name is "kernel-shap".
func (k *KernelSHAP) Name() string { return "kernel-shap" }

// DefaultKernelSHAPSamples is Xplique's.
const DefaultKernelSHAPSamples = 800

// Validate checks the options.
func (k *KernelSHAP) Validate() error {
	name := k.Name()
	if k.Samples < 0 || k.Samples > MaxSuperpixelSamples {
		return optionErr(name, []string{"nb_samples"}, "nb_samples must be 1 to %d, got %d", MaxSuperpixelSamples, k.Samples)
	}
	if err := k.Superpixels.validate(name); err != nil {
		return err
	}
	return k.Chunking.validate(name)
}

func (k *KernelSHAP) samples() int { return cmp0(k.Samples, DefaultKernelSHAPSamples) }

// draws are the seeded coalitions of an image with m ≥ 2 segments.
func (k *KernelSHAP) draws(m int) [][]float64 {
	r := newStream(k.Seed, 0x6b73686170212121)
	cum := make([]float64, m) // cum[k−1]: P(|z| ≤ k), k = 1 … m−1
	var tot float64
	for j := 1; j < m; j++ {
		tot += float64(m-1) / float64(j*(m-j))
		cum[j-1] = tot
	}
	out := make([][]float64, k.samples())
	for s := range out {
		u := r.Float64() * tot
		size := 1
		for size < m-1 && cum[size-1] <= u {
			size++
		}
		out[s] = subset(r, m, size)
	}
	return out
}

// Explain computes the maps.
func (k *KernelSHAP) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := k.Name()
	if err := k.Validate(); err != nil {
		return nil, err
	}
	p, err := newProbe(ctx, name, m, b, t, k.Chunking)
	if err != nil {
		return nil, err
	}
	x := p.b.X
	n := x.Shape[0]
	h, w, c := imageShape(x)
	sg, err := k.Superpixels.prepare(name, b, n, h, w, c)
	if err != nil {
		return nil, err
	}
	ref := refValue(k.RefValue, p.b, c)
	per := h * w * c
	out := tensor.New(n, h, w)
	ns := k.samples()
	extra := 1 // the reference image
	if k.Unconstrained {
		extra = 0
	}
	for i := 0; i < n; i++ {
		img := x.Data[i*per : (i+1)*per]
		lab, nseg, err := sg.labels(name, i, img, h, w, c)
		if err != nil {
			return nil, err
		}
		if nseg < 2 {
			return nil, fmt.Errorf("methods: %s: image %d has %d segment; Kernel SHAP needs 2 or more", name, i, nseg)
		}
		z, err := superpixelDraws(name, k.Draws, i, n, ns, nseg, func() [][]float64 { return k.draws(nseg) })
		if err != nil {
			return nil, err
		}
		off := make([]float64, nseg)
		f, err := p.perturbed(ctx, name, m, []int{i}, ns+extra, k.Chunking, func(_, s int, dst []float32) {
			zs := off
			if s < ns {
				zs = z[s]
			}
			fillSuperpixels(img, lab, zs, ref, c, dst)
		})
		if err != nil {
			return nil, err
		}
		var coef []float64
		if k.Unconstrained {
			ones := make([]float64, ns)
			for s := range ones {
				ones[s] = 1
			}
			coef, err = ridge(z, f[0][:ns], ones, 0)
		} else {
			coef, err = shapConstrained(z, f[0][:ns], f[0][ns], float64(p.scores[i]), usedSegments(lab, nseg))
		}
		if err != nil {
			return nil, fmt.Errorf("methods: %s: image %d: %w", name, i, err)
		}
		broadcast(coef, lab, out.Data[i*h*w:(i+1)*h*w])
	}
	return &Maps{Method: name, Map: out, Signed: true, Classes: p.classes, Scores: p.scores,
		Info: map[string][]float64{"forward-passes": passes(n, ns+extra+1)}}, nil
}

// usedSegments lists the labels of 0 … m−1 that some pixel has.
func usedSegments(lab []int32, m int) []int {
	seen := make([]bool, m)
	for _, l := range lab {
		seen[l] = true
	}
	var out []int
	for j, s := range seen {
		if s {
			out = append(out, j)
		}
	}
	return out
}

// shapConstrained solves min Σ_s (y_s − f0 − z_s·φ)² subject to
// Σ_j φ_j = fx − f0 over the used segments (the others get 0): φ_last is
// eliminated, y_s − f0 − z_s,last·Δ = Σ_{j≠last} (z_sj − z_s,last) φ_j.
func shapConstrained(z [][]float64, y []float64, f0, fx float64, used []int) ([]float64, error) {
	m := len(z[0])
	coef := make([]float64, m)
	delta := fx - f0
	last := used[len(used)-1]
	free := used[:len(used)-1]
	if len(free) == 0 {
		coef[last] = delta
		return coef, nil
	}
	ns := len(z)
	a := mat.NewDense(ns, len(free), nil)
	b := mat.NewVecDense(ns, nil)
	for s := 0; s < ns; s++ {
		zl := z[s][last]
		for j, col := range free {
			a.Set(s, j, z[s][col]-zl)
		}
		b.SetVec(s, y[s]-f0-zl*delta)
	}
	phi, err := solveLS(a, b, 0)
	if err != nil {
		return nil, err
	}
	sum := 0.0
	for j, col := range free {
		coef[col] = phi[j]
		sum += phi[j]
	}
	coef[last] = delta - sum
	return coef, nil
}
