package methods

import (
	"context"
	"fmt"
	"math"

	"github.com/saliencykit/saliency/tensor"
)

// LIME is Local Interpretable Model-agnostic Explanations on superpixels
// (Ribeiro, Singh & Guestrin 2016). Each image is segmented into M
// superpixels; ns binary vectors z ∈ {0,1}^M switch segments off (to the
// reference value), the perturbed images z(I) go through the model, and a
// ridge regression with an intercept, weighted by the similarity
// π(z) = exp(−D(I, z(I))²/σ²) (D the Euclidean distance between the images,
// the paper's L2 for images, as Xplique), is fitted to S_c(z(I)):
//
//	φ = argmin Σ_z π(z) (S_c(z(I)) − b − z·φ)² + α‖φ‖².
//
// The map gives each pixel its segment's φ (signed). ns forward passes per
// image, and one for the clean score, in Info["forward-passes"].
//
// The paper draws the vectors by picking the number of active segments
// uniformly, then which (sampling uniform-count, the default); Xplique 2.0.2
// switches each segment on with probability prob (sampling bernoulli, prob
// 0.5). Xplique's cosine distance is 1 + cos (tf.keras' cosine_similarity
// is the negated cosine); here it is 1 − cos.
type LIME struct {
	Superpixels `yaml:",inline"`
	// Samples is ns (default 150, Xplique's).
	Samples int `yaml:"nb_samples"`
	// KernelWidth is σ (default 45, Xplique's).
	KernelWidth *float64 `yaml:"kernel_width"`
	// Distance is euclidean (default) or cosine.
	Distance string `yaml:"distance_mode"`
	// Sampling is uniform-count (default, the paper's) or bernoulli
	// (Xplique's).
	Sampling string `yaml:"sampling"`
	// Prob is the probability of an active segment under bernoulli
	// sampling (default 0.5).
	Prob *float64 `yaml:"prob"`
	// RefValue is the value of a switched-off pixel in model-input units
	// (default: black on one channel, mid-grey on three, as Xplique).
	RefValue *float64 `yaml:"ref_value"`
	// Alpha is the ridge penalty α (default 2, Xplique's Ridge(alpha=2)).
	Alpha *float64 `yaml:"alpha"`
	// Seed selects the vectors.
	Seed uint64 `yaml:"seed"`
	// Draws, when set, are the vectors [N or 1, ns, ≥ M] (image i uses its
	// first M columns) instead of the seeded ones.
	Draws    *tensor.Tensor `yaml:"-"`
	Chunking `yaml:",inline"`
}

var _ Method = (*LIME)(nil)

func init() { Register("lime", func() Method { return &LIME{} }) }

// Name is "lime".
func (l *LIME) Name() string { return "lime" }

// MaxSuperpixelSamples bounds nb_samples of LIME and KernelSHAP (the
// regression holds ns × M values).
const MaxSuperpixelSamples = 100000

// DefaultLIME* are Xplique's defaults.
const (
	DefaultLIMESamples     = 150
	DefaultLIMEKernelWidth = 45
	DefaultLIMEAlpha       = 2
)

// Validate checks the options.
func (l *LIME) Validate() error {
	name := l.Name()
	if l.Samples < 0 || l.Samples > MaxSuperpixelSamples {
		return optionErr(name, []string{"nb_samples"}, "nb_samples must be 1 to %d, got %d", MaxSuperpixelSamples, l.Samples)
	}
	if l.KernelWidth != nil && !(*l.KernelWidth > 0) {
		return optionErr(name, []string{"kernel_width"}, "kernel_width must be > 0, got %g", *l.KernelWidth)
	}
	if l.Distance != "" && l.Distance != "euclidean" && l.Distance != "cosine" {
		return optionErr(name, []string{"distance_mode"}, "distance_mode must be euclidean or cosine, got %q", l.Distance)
	}
	if l.Sampling != "" && l.Sampling != SampleCount && l.Sampling != SampleBernoulli {
		return optionErr(name, []string{"sampling"}, "sampling must be %s or %s, got %q", SampleCount, SampleBernoulli, l.Sampling)
	}
	if l.Prob != nil && (l.Sampling != SampleBernoulli || !(*l.Prob > 0 && *l.Prob < 1)) {
		return optionErr(name, []string{"prob"}, "prob is the probability of bernoulli sampling, in (0,1); got %g with sampling %q", *l.Prob, l.Sampling)
	}
	if l.Alpha != nil && !(*l.Alpha >= 0) {
		return optionErr(name, []string{"alpha"}, "alpha must be ≥ 0, got %g", *l.Alpha)
	}
	if err := l.Superpixels.validate(name); err != nil {
		return err
	}
	return l.Chunking.validate(name)
}

func (l *LIME) samples() int { return cmp0(l.Samples, DefaultLIMESamples) }

// draws are the seeded vectors of an image with m segments.
func (l *LIME) draws(m int) [][]float64 {
	r := newStream(l.Seed, 0x6c696d6521212121)
	out := make([][]float64, l.samples())
	prob := 0.5
	if l.Prob != nil {
		prob = *l.Prob
	}
	for s := range out {
		if l.Sampling == SampleBernoulli {
			z := make([]float64, m)
			for j := range z {
				if r.Float64() < prob {
					z[j] = 1
				}
			}
			out[s] = z
			continue
		}
		out[s] = subset(r, m, 1+r.IntN(m))
	}
	return out
}

// Explain computes the maps.
func (l *LIME) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := l.Name()
	if err := l.Validate(); err != nil {
		return nil, err
	}
	p, err := newProbe(ctx, name, m, b, t, l.Chunking)
	if err != nil {
		return nil, err
	}
	x := p.b.X
	n := x.Shape[0]
	h, w, c := imageShape(x)
	sg, err := l.Superpixels.prepare(name, b, n, h, w, c)
	if err != nil {
		return nil, err
	}
	ref := refValue(l.RefValue, p.b, c)
	width := float64(DefaultLIMEKernelWidth)
	if l.KernelWidth != nil {
		width = *l.KernelWidth
	}
	alpha := float64(DefaultLIMEAlpha)
	if l.Alpha != nil {
		alpha = *l.Alpha
	}
	per := h * w * c
	out := tensor.New(n, h, w)
	ns := l.samples()
	for i := 0; i < n; i++ {
		img := x.Data[i*per : (i+1)*per]
		lab, nseg, err := sg.labels(name, i, img, h, w, c)
		if err != nil {
			return nil, err
		}
		z, err := superpixelDraws(name, l.Draws, i, n, ns, nseg, func() [][]float64 { return l.draws(nseg) })
		if err != nil {
			return nil, err
		}
		f, err := p.perturbed(ctx, name, m, []int{i}, ns, l.Chunking, func(_, s int, dst []float32) {
			fillSuperpixels(img, lab, z[s], ref, c, dst)
		})
		if err != nil {
			return nil, err
		}
		wt := make([]float64, ns)
		pert := make([]float32, per)
		var sum float64
		for s := range wt {
			fillSuperpixels(img, lab, z[s], ref, c, pert)
			d := imageDistance(l.Distance, img, pert)
			wt[s] = math.Exp(-d * d / math.Max(width*width, 1e-8))
			sum += wt[s]
		}
		if sum == 0 {
			return nil, fmt.Errorf("methods: %s: image %d: every similarity is 0 (kernel_width %g is too small for distances of these images)", name, i, width)
		}
		coef, err := ridge(z, f[0], wt, alpha)
		if err != nil {
			return nil, fmt.Errorf("methods: %s: image %d: %w", name, i, err)
		}
		broadcast(coef, lab, out.Data[i*h*w:(i+1)*h*w])
	}
	return &Maps{Method: name, Map: out, Signed: true, Classes: p.classes, Scores: p.scores,
		Info: map[string][]float64{"forward-passes": passes(n, ns+1)}}, nil
}

// imageDistance is the Euclidean distance between two images, or their
// cosine distance 1 − cos.
func imageDistance(mode string, a, b []float32) float64 {
	var d2, ab, aa, bb float64
	for q := range a {
		x, y := float64(a[q]), float64(b[q])
		d2 += (x - y) * (x - y)
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if mode == "cosine" {
		if aa == 0 || bb == 0 {
			return 1
		}
		return 1 - ab/math.Sqrt(aa*bb)
	}
	return math.Sqrt(d2)
}
