package methods

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// ExpectedGradients is Integrated Gradients averaged over a distribution of
// baselines, estimated by sampling (Erion et al. 2021, Expected Gradients;
// GradientSHAP of Lundberg & Lee 2017, as Captum 0.9.0's GradientShap
// computes it):
//
//	raw = 1/n Σ_s (Ĩ_s − I′_s) ⊙ ∂S_c/∂I (α_s Ĩ_s + (1 − α_s) I′_s)
//
// with I′_s drawn uniformly from the references (a sample of the data
// set), α_s ~ U(0, 1) and Ĩ_s = I + ε_s, ε_s ~ N(0, Stdevs²) (Captum's
// stdevs; 0, Expected Gradients, by default). Registered twice: as
// expected-gradients (Samples default 50) and as gradient-shap (Captum's
// default of 5 samples); the computation is the same. The draws come
// from Seed and are the same for every image of a batch, so a batch gives
// the maps of its images one by one. In expectation Σ raw = S_c(I) −
// E S_c(I′) (without noise): Info["sampled-completeness-error"] is the
// relative error against S_c(I) − mean_s S_c(I′_s) over the drawn
// references ("score-delta"), which shrinks as 1/√n (a Monte Carlo error,
// so not the "completeness-error" diagnostic of the quadratures). The n points of every image go
// through the batch dimension in chunks of the memory budget;
// Info["forward-passes"] counts per image its n points, itself and its
// share of the forward pass of the drawn references, ["backward-passes"]
// the n points. The map is the signed sum over channels.
type ExpectedGradients struct {
	// Baselines is an .npy file of references [K,H,W,C] in model input
	// values (a sample of the data set, as DeepSHAP's).
	Baselines string `yaml:"baselines"`
	// Samples is n (default 50; gradient-shap: 5).
	Samples int `yaml:"samples"`
	// Stdevs is the standard deviation of the Gaussian noise added to the
	// input in model input values (default 0).
	Stdevs float64 `yaml:"stdevs"`
	// Seed selects the draws.
	Seed uint64 `yaml:"seed"`
	// BaselineImages, when set, are the references, overriding Baselines.
	BaselineImages *tensor.Tensor `yaml:"-"`
	// Draws, when set, are the draws instead of the seeded generator's: to
	// compare with another tool on the same randomness.
	Draws *PathDraws `yaml:"-"`
	// Reduce is the channel reduction of the map (default sum).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`

	name string // expected-gradients or gradient-shap
}

// PathDraws are the random draws of Expected Gradients: for each sample, a
// reference, a point on the path and the input's noise. It holds n samples
// used by every image, or N·n, image by image (sample s of image i at
// i·n + s).
type PathDraws struct {
	// Baselines are the indices of the references drawn.
	Baselines []int
	// Alphas are the points on the path, in [0, 1].
	Alphas []float32
	// Noise is ε [rows,H,W,C] (nil: none).
	Noise *tensor.Tensor
}

var _ Method = (*ExpectedGradients)(nil)

func init() {
	for _, n := range []string{"expected-gradients", "gradient-shap"} {
		Register(n, func() Method { return &ExpectedGradients{name: n} })
	}
}

// Name is expected-gradients or gradient-shap (an ExpectedGradients made
// without New is expected-gradients).
func (e *ExpectedGradients) Name() string {
	if e.name == "" {
		return "expected-gradients"
	}
	return e.name
}

// Expected Gradients' default sample counts: 50, and Captum's 5 for
// gradient-shap.
const (
	DefaultExpectedGradientsSamples = 50
	DefaultGradientSHAPSamples      = 5
)

// MaxPathSamples bounds samples of Expected Gradients.
const MaxPathSamples = 100000

// Validate checks the options.
func (e *ExpectedGradients) Validate() error {
	name := e.Name()
	if e.Samples < 0 || e.Samples > MaxPathSamples {
		return optionErr(name, []string{"samples"}, "samples must be in [1, %d], got %d", MaxPathSamples, e.Samples)
	}
	if e.Stdevs < 0 {
		return optionErr(name, []string{"stdevs"}, "stdevs must be ≥ 0, got %g", e.Stdevs)
	}
	if err := validateReduction(name, e.Reduce); err != nil {
		return err
	}
	return e.Chunking.validate(name)
}

func (e *ExpectedGradients) samples() int {
	switch {
	case e.Samples > 0:
		return e.Samples
	case e.Name() == "gradient-shap":
		return DefaultGradientSHAPSamples
	}
	return DefaultExpectedGradientsSamples
}

// references returns the reference images [K,H,W,C] for images of shape
// shape (the batch's).
func (e *ExpectedGradients) references(shape []int) (*tensor.Tensor, error) {
	name := e.Name()
	refs := e.BaselineImages
	if refs == nil {
		if e.Baselines == "" {
			return nil, optionErr(name, []string{"baselines"}, "needs baselines: an .npy file of reference images [K,H,W,C] (a sample of the data set)")
		}
		var err error
		if refs, err = readBaselineFile(name, "baselines", e.Baselines); err != nil {
			return nil, err
		}
	}
	if len(refs.Shape) != 4 || refs.Shape[0] < 1 || !slices.Equal(refs.Shape[1:], shape[1:]) {
		return nil, fmt.Errorf("methods: %s: references have shape %v, want [K,%d,%d,%d]", name, refs.Shape, shape[1], shape[2], shape[3])
	}
	if refs.Shape[0] > MaxReferences {
		return nil, fmt.Errorf("methods: %s: %d references; at most %d", name, refs.Shape[0], MaxReferences)
	}
	return refs, nil
}

// draws returns the draws of n images × s samples and whether they are
// per image (else shared).
func (e *ExpectedGradients) draws(n, s, k int, shape []int) (*PathDraws, bool, error) {
	name := e.Name()
	per := tensor.Size(shape[1:])
	if d := e.Draws; d != nil {
		rows := len(d.Baselines)
		if rows != s && rows != n*s {
			return nil, false, fmt.Errorf("methods: %s: %d drawn references for %d images × %d samples; want %d or %d", name, rows, n, s, s, n*s)
		}
		if len(d.Alphas) != rows {
			return nil, false, fmt.Errorf("methods: %s: %d drawn alphas for %d drawn references", name, len(d.Alphas), rows)
		}
		for i, j := range d.Baselines {
			if j < 0 || j >= k {
				return nil, false, fmt.Errorf("methods: %s: drawn reference %d is %d, not in [0,%d)", name, i, j, k)
			}
			if a := d.Alphas[i]; !(a >= 0 && a <= 1) {
				return nil, false, fmt.Errorf("methods: %s: drawn alpha %d is %g, not in [0,1]", name, i, a)
			}
		}
		if d.Noise == nil && e.Stdevs > 0 {
			return nil, false, fmt.Errorf("methods: %s: stdevs %g but the drawn noise is not given", name, e.Stdevs)
		}
		if d.Noise != nil && (len(d.Noise.Shape) != 4 || d.Noise.Shape[0] != rows || !slices.Equal(d.Noise.Shape[1:], shape[1:])) {
			return nil, false, fmt.Errorf("methods: %s: drawn noise has shape %v, want [%d,%d,%d,%d]", name, d.Noise.Shape, rows, shape[1], shape[2], shape[3])
		}
		return d, rows == n*s && n > 1, nil
	}
	r := rand.New(rand.NewPCG(e.Seed, 0x6578706772616473))
	d := &PathDraws{Baselines: make([]int, s), Alphas: make([]float32, s)}
	if e.Stdevs > 0 {
		d.Noise = tensor.New(append([]int{s}, shape[1:]...)...)
	}
	for i := 0; i < s; i++ {
		d.Baselines[i] = r.IntN(k)
		d.Alphas[i] = float32(r.Float64())
		if d.Noise != nil {
			for q := range per {
				d.Noise.Data[i*per+q] = float32(r.NormFloat64() * e.Stdevs)
			}
		}
	}
	return d, false, nil
}

// Explain computes the maps.
func (e *ExpectedGradients) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := e.Name()
	if err := e.Validate(); err != nil {
		return nil, err
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if err := gl.classOnly(name); err != nil {
		return nil, err
	}
	refs, err := e.references(b.X.Shape)
	if err != nil {
		return nil, err
	}
	n, s, k := b.X.Shape[0], e.samples(), refs.Shape[0]
	per := tensor.Size(b.X.Shape[1:])
	d, perImage, err := e.draws(n, s, k, b.X.Shape)
	if err != nil {
		return nil, err
	}
	row := func(i, j int) int { // the draw of sample j of image i
		if perImage {
			return i*s + j
		}
		return j
	}
	// One forward pass of the images and the references drawn: classes and
	// the scores of completeness.
	var used []int
	for _, j := range d.Baselines {
		if !slices.Contains(used, j) {
			used = append(used, j)
		}
	}
	slices.Sort(used)
	parts := []*tensor.Tensor{b.X}
	for _, j := range used {
		parts = append(parts, refs.Slice(j, j+1))
	}
	both, err := tensor.Concat(parts...)
	if err != nil {
		return nil, err
	}
	rows, err := scoreRows(ctx, m, both, gl.score, e.Chunking)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	classes, s1 := gl.values(rows.Slice(0, n), t.Classes)
	refScore := map[int]int{} // reference → its row in rows
	for u, j := range used {
		refScore[j] = n + u
	}
	sum := make([]float64, n*per)
	s0 := make([]float32, n)
	for i := 0; i < n; i++ {
		var mean float64
		for j := 0; j < s; j++ {
			r := refScore[d.Baselines[row(i, j)]]
			mean += float64(rows.Data[r*gl.k+classes[i]])
		}
		s0[i] = float32(mean / float64(s))
	}
	total := n * s
	size := e.Chunking.gradSize(m)
	x := tensor.New(append([]int{min(size, total)}, b.X.Shape[1:]...)...)
	diff := make([]float32, min(size, total)*per)
	cs := chunks(total, size)
	for ci, c := range cs {
		report(ctx, ci, len(cs))
		cnt := c[1] - c[0]
		xc := x.Slice(0, cnt)
		cls := make([]int, cnt)
		for ex := c[0]; ex < c[1]; ex++ {
			i, j := ex/s, ex%s
			dr := row(i, j)
			a := d.Alphas[dr]
			ref := d.Baselines[dr]
			img, bl := b.X.Data[i*per:(i+1)*per], refs.Data[ref*per:(ref+1)*per]
			r := ex - c[0]
			dst, df := xc.Data[r*per:(r+1)*per], diff[r*per:(r+1)*per]
			for q := range dst {
				in := img[q]
				if d.Noise != nil {
					in += d.Noise.Data[dr*per+q]
				}
				// float32, as Captum computes it.
				dst[q] = a*in + (1-a)*bl[q]
				df[q] = in - bl[q]
			}
			cls[r] = classes[i]
		}
		res, err := m.Run(ctx, xc, tfgraph.Query{Grads: []tfgraph.Grad{gl.grad("", nil, cls, cnt)}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		for ex := c[0]; ex < c[1]; ex++ {
			i, r := ex/s, ex-c[0]
			g := res.Grads[0].Data[r*per : (r+1)*per]
			df := diff[r*per : (r+1)*per]
			dst := sum[i*per : (i+1)*per]
			for q := range dst {
				dst[q] += float64(df[q] * g[q])
			}
		}
	}
	raw := tensor.New(b.X.Shape...)
	for q, v := range sum {
		raw.Data[q] = float32(v / float64(s))
	}
	info := completeness(raw, s1, s0)
	// A Monte Carlo error, not a quadrature's: not the diagnostic
	// "completeness-error", whose threshold and causes are Integrated
	// Gradients'.
	info["sampled-completeness-error"] = info["completeness-error"]
	delete(info, "completeness-error")
	info["forward-passes"] = repeatCount(n, 0)
	info["backward-passes"] = repeatCount(n, s)
	for i := range info["forward-passes"] {
		info["forward-passes"][i] = float64(s) + float64(n+len(used))/float64(n)
	}
	mp, signed, err := reduce(raw, e.Reduce, tensor.Sum)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: name, Map: mp, Signed: signed, Raw: raw, Classes: classes, Scores: s1, Info: info}, nil
}
