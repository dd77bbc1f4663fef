package methods

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// DeepLIFT is DeepLIFT with the Rescale rule (Shrikumar et al. 2017):
// raw = (I − I′) ⊙ m, with m the multipliers of S_c back to the input when
// each activation's derivative is replaced by its finite difference from
// the reference I′ (tfgraph.DeepLIFT; Captum's DeepLift). The network runs on
// the images and their references in one batch. Summation-to-delta holds:
// Σ raw = S_c(I) − S_c(I′); the relative error of each image is in
// Info["summation-error"] (ΔS in "score-delta"). The map is the signed sum
// over channels.
type DeepLIFT struct {
	// Baseline is the reference: black (default), white, zeros, uniform or
	// blurred, as for Integrated Gradients.
	Baseline string `yaml:"baseline"`
	// BlurSigma is the blur of the blurred reference in pixels.
	BlurSigma float64 `yaml:"blur_sigma"`
	// Seed selects the uniform reference.
	Seed uint64 `yaml:"seed"`
	// BaselineFile, when set, is an .npy file with the reference in model
	// input values ([H,W,C], or [N,H,W,C] one per image): a dataset mean,
	// say. It overrides Baseline.
	BaselineFile string `yaml:"baseline_file"`
	// BaselineImage, when set, is the reference itself ([H,W,C] or
	// [N,H,W,C]), overriding the others.
	BaselineImage *tensor.Tensor `yaml:"-"`
	// Reduce is the channel reduction of the map (default sum).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*DeepLIFT)(nil)

func init() {
	Register("deeplift", func() Method { return &DeepLIFT{} })
	Register("deepshap", func() Method { return &DeepSHAP{} })
}

// Name is "deeplift".
func (d *DeepLIFT) Name() string { return "deeplift" }

// RuleSet is tfgraph.DeepLIFT (RuleUser).
func (d *DeepLIFT) RuleSet() *tfgraph.RuleSet { return tfgraph.DeepLIFT }

// Validate checks the options.
func (d *DeepLIFT) Validate() error {
	if d.Baseline != "" && !slices.Contains(igBaselines, d.Baseline) {
		return &OptionError{Method: d.Name(), Options: []string{"baseline"}, Msg: fmt.Sprintf("unknown baseline %q; baselines: %v", d.Baseline, igBaselines)}
	}
	if d.BlurSigma < 0 {
		return &OptionError{Method: d.Name(), Options: []string{"blur_sigma"}, Msg: fmt.Sprintf("blur_sigma must be ≥ 0, got %g", d.BlurSigma)}
	}
	if err := validateReduction(d.Name(), d.Reduce); err != nil {
		return err
	}
	return d.Chunking.validate(d.Name())
}

// Explain computes the maps.
func (d *DeepLIFT) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	refs := func(b Batch) (*tensor.Tensor, error) {
		img := d.BaselineImage
		if img == nil && d.BaselineFile != "" {
			var err error
			if img, err = savedmodels.ReadNpy(d.BaselineFile); err != nil {
				return nil, &OptionError{Method: d.Name(), Options: []string{"baseline_file"}, Msg: err.Error()}
			}
		}
		ig := IntegratedGradients{Baseline: d.Baseline, BlurSigma: d.BlurSigma, Seed: d.Seed, BaselineImage: img}
		base, err := ig.baseline(b)
		if err != nil {
			return nil, fmt.Errorf("methods: %s: %w", d.Name(), err)
		}
		return base, nil
	}
	return deepLIFT(ctx, d.Name(), m, b, t, refs, false, d.Reduce, d.Chunking)
}

// DeepSHAP is DeepLIFT averaged over a distribution of references (Lundberg
// & Lee 2017; Captum's DeepLiftShap): raw = mean_k (I − I′_k) ⊙ m_k, whose
// sum is S_c(I) − mean_k S_c(I′_k) (Info["summation-error"], relative).
// The references are background images, a sample of the data set: K
// references cost K DeepLIFT passes.
type DeepSHAP struct {
	// Baselines is an .npy file of references [K,H,W,C] in model input
	// values.
	Baselines string `yaml:"baselines"`
	// Samples, when set, takes the first Samples references of the file.
	Samples int `yaml:"samples"`
	// BaselineImages, when set, are the references, overriding Baselines.
	BaselineImages *tensor.Tensor `yaml:"-"`
	// Reduce is the channel reduction of the map (default sum).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*DeepSHAP)(nil)

// Name is "deepshap".
func (d *DeepSHAP) Name() string { return "deepshap" }

// RuleSet is tfgraph.DeepLIFT (RuleUser).
func (d *DeepSHAP) RuleSet() *tfgraph.RuleSet { return tfgraph.DeepLIFT }

// MaxReferences bounds DeepSHAP's references.
const MaxReferences = 10000

// Validate checks the options.
func (d *DeepSHAP) Validate() error {
	if d.Samples < 0 || d.Samples > MaxReferences {
		return &OptionError{Method: d.Name(), Options: []string{"samples"}, Msg: fmt.Sprintf("samples must be in [1, %d], got %d", MaxReferences, d.Samples)}
	}
	if err := validateReduction(d.Name(), d.Reduce); err != nil {
		return err
	}
	return d.Chunking.validate(d.Name())
}

// Explain computes the maps.
func (d *DeepSHAP) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	refs := func(b Batch) (*tensor.Tensor, error) {
		refs := d.BaselineImages
		if refs == nil {
			if d.Baselines == "" {
				return nil, &OptionError{Method: d.Name(), Options: []string{"baselines"}, Msg: "needs baselines: an .npy file of reference images [K,H,W,C] (a sample of the data set)"}
			}
			var err error
			if refs, err = savedmodels.ReadNpy(d.Baselines); err != nil {
				return nil, &OptionError{Method: d.Name(), Options: []string{"baselines"}, Msg: err.Error()}
			}
		}
		if len(refs.Shape) != 4 || !slices.Equal(refs.Shape[1:], b.X.Shape[1:]) {
			return nil, fmt.Errorf("methods: %s: references have shape %v, want [K,%d,%d,%d]", d.Name(), refs.Shape, b.X.Shape[1], b.X.Shape[2], b.X.Shape[3])
		}
		if k := refs.Shape[0]; d.Samples > 0 && d.Samples < k {
			refs = refs.Slice(0, d.Samples)
		}
		if refs.Shape[0] > MaxReferences {
			return nil, fmt.Errorf("methods: %s: %d references; at most %d (samples)", d.Name(), refs.Shape[0], MaxReferences)
		}
		return refs, nil
	}
	return deepLIFT(ctx, d.Name(), m, b, t, refs, true, d.Reduce, d.Chunking)
}

// deepLIFT computes DeepLIFT of the images of b against the references
// that makeRefs gives (after the batch and target are checked): one per
// image, or, when shared, K references for every image, the attributions
// averaged over them (DeepSHAP).
func deepLIFT(ctx context.Context, name string, m Model, b Batch, t Target, makeRefs func(Batch) (*tensor.Tensor, error), shared bool, red tensor.Reduction, ch Chunking) (*Maps, error) {
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if err := gl.classOnly(name); err != nil {
		return nil, err
	}
	refs, err := makeRefs(b)
	if err != nil {
		return nil, err
	}
	k := 1
	if shared {
		k = refs.Shape[0]
	}
	n := b.X.Shape[0]
	per := tensor.Size(b.X.Shape[1:])
	// One forward pass gives the classes (when not given) and the scores of
	// the images and references for summation-to-delta.
	both, err := tensor.Concat(b.X, refs)
	if err != nil {
		return nil, err
	}
	rows, err := scoreRows(ctx, m, both, gl.score, ch)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	classes, s1 := gl.values(rows.Slice(0, n), t.Classes)
	refOf := func(i, j int) int { // the reference row of pair (image i, reference j)
		if !shared {
			return i
		}
		return j
	}
	sumAttr := make([]float32, n*per)
	total := n * k
	size := max(1, ch.size(m)/2)
	cs := chunks(total, size)
	for ci, c := range cs {
		report(ctx, ci, len(cs))
		cnt := c[1] - c[0]
		x := tensor.New(append([]int{2 * cnt}, b.X.Shape[1:]...)...)
		seed := tensor.New(2*cnt, gl.k)
		for e := c[0]; e < c[1]; e++ {
			i, j := e/k, e%k
			copy(x.Data[(e-c[0])*per:], b.X.Data[i*per:(i+1)*per])
			r := refOf(i, j)
			copy(x.Data[(cnt+e-c[0])*per:], refs.Data[r*per:(r+1)*per])
			// Both halves are seeded, as Captum does: the rules mix the
			// halves' signals (max pooling) only in ways that keep
			// summation-to-delta when they are equal.
			seed.Data[(e-c[0])*gl.k+classes[i]] = 1
			seed.Data[(cnt+e-c[0])*gl.k+classes[i]] = 1
		}
		res, err := m.Run(ctx, x, tfgraph.Query{Grads: []tfgraph.Grad{{Start: gl.score, Rules: tfgraph.DeepLIFT, Seed: seed}}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		g := res.Grads[0]
		for e := c[0]; e < c[1]; e++ {
			i, j := e/k, e%k
			r := refOf(i, j)
			gi := g.Data[(e-c[0])*per : (e-c[0]+1)*per]
			dst := sumAttr[i*per : (i+1)*per]
			img, ref := b.X.Data[i*per:(i+1)*per], refs.Data[r*per:(r+1)*per]
			for q := range dst {
				dst[q] += (img[q] - ref[q]) * gi[q]
			}
		}
	}
	raw := tensor.New(b.X.Shape...)
	errs, deltas := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		var base float64
		if !shared {
			base = float64(rows.Data[(n+i)*gl.k+classes[i]])
		} else {
			for j := 0; j < k; j++ {
				base += float64(rows.Data[(n+j)*gl.k+classes[i]])
			}
			base /= float64(k)
		}
		var sum float64
		for q := i * per; q < (i+1)*per; q++ {
			raw.Data[q] = sumAttr[q] / float32(k)
			sum += float64(raw.Data[q])
		}
		deltas[i] = float64(s1[i]) - base
		errs[i] = math.Abs(sum-deltas[i]) / math.Max(math.Abs(deltas[i]), 1e-12)
	}
	mp, signed, err := reduce(raw, red, tensor.Sum)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: name, Map: mp, Signed: signed, Raw: raw, Classes: classes, Scores: s1,
		Info: map[string][]float64{"summation-error": errs, "score-delta": deltas}}, nil
}
