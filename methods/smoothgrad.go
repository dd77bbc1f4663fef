package methods

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// SmoothGrad averages an input-space method over noisy copies of each image
// (Smilkov et al. 2017): raw = 1/n Σ_s E(I + σ·ε_s), ε_s ~ N(0, 1), with
// σ = Noise·(max(I) − min(I)) for each image. Registered three times:
//
//	smoothgrad  the mean of the attributions
//	squaregrad  the mean of their squares (Hooker et al. 2019)
//	vargrad     their variance, mean of squares minus squared mean
//	            (Adebayo et al. 2018)
//
// The map reduces the aggregated attribution over channels (by default as
// the wrapped method does). The noise draws ε_1…ε_n come from Seed and are the
// same for every image of a batch, so a batch gives the same maps as its
// images one by one, and the same seed the same bytes.
type SmoothGrad struct {
	// Method is the wrapped method: gradient (default), gradient-x-input,
	// guided-backprop, deconvnet or integrated-gradients.
	Method string `yaml:"method"`
	// Options are the wrapped method's options.
	Options map[string]any `yaml:"options"`
	// Samples is n (default 50).
	Samples int `yaml:"samples"`
	// Noise is the noise level, a fraction of each image's value range
	// (default 0.15; 0 gives the wrapped method itself).
	Noise *float64 `yaml:"noise"`
	// Seed selects the noise draws.
	Seed uint64 `yaml:"seed"`
	// Reduce is the channel reduction of the map (default: the wrapped
	// method's).
	Reduce tensor.Reduction `yaml:"reduce"`
	// Magnitude, for smoothgrad, averages |attribution| over the noisy
	// copies instead of the raw attributions (whose mean then goes
	// through |·| in the channel reduction, as Smilkov et al. 2017 define
	// SmoothGrad): signs that flip between copies no longer cancel, and
	// the map keeps more of its structure under model randomization.
	Magnitude bool `yaml:"magnitude"`
	// NoiseImages, when set, are the draws ε_s [n,H,W,C] (standard normal)
	// instead of the seeded generator's: to compare with another tool on the
	// same noise.
	NoiseImages *tensor.Tensor `yaml:"-"`
	// Wrapped, when set, is the wrapped method as a value (an
	// input-space method: Method and Options are then ignored), for a
	// method built in Go, a user's own included.
	Wrapped  Method `yaml:"-"`
	Chunking `yaml:",inline"`

	name  string // smoothgrad, squaregrad or vargrad
	inner Method
}

var _ Method = (*SmoothGrad)(nil)

func init() {
	for _, n := range []string{"smoothgrad", "squaregrad", "vargrad"} {
		Register(n, func() Method { return &SmoothGrad{name: n} })
	}
}

// Name is smoothgrad, squaregrad or vargrad (a SmoothGrad made without New
// is smoothgrad).
func (s *SmoothGrad) Name() string {
	if s.name == "" {
		return "smoothgrad"
	}
	return s.name
}

// RuleSet is the wrapped method's rule set, or nil for the plain gradient.
func (s *SmoothGrad) RuleSet() *tfgraph.RuleSet {
	inner, err := s.wrapped()
	if err != nil {
		return nil
	}
	if r, ok := inner.(RuleUser); ok {
		return r.RuleSet()
	}
	return nil
}

// MaxSamples bounds samples: SmoothGrad holds the noise of every sample
// (samples × the image's values) before the first session run.
const MaxSamples = 1000

// DefaultSamples and DefaultNoise are the defaults of Smilkov et al.
const (
	DefaultSamples = 50
	DefaultNoise   = 0.15
)

// Validate checks the options and builds the wrapped method (New calls
// it; like setting any field, not while the method is in use).
func (s *SmoothGrad) Validate() error {
	m, err := s.build()
	if err != nil {
		return err
	}
	s.inner = m
	return s.check()
}

// check checks the options other than the wrapped method's; it changes
// nothing.
func (s *SmoothGrad) check() error {
	if s.Samples < 0 {
		return optionErr(s.Name(), []string{"samples"}, "samples must be ≥ 1, got %d", s.Samples)
	}
	if s.Samples > MaxSamples {
		return optionErr(s.Name(), []string{"samples"}, "samples must be at most %d (the noise of every sample is held at once), got %d", MaxSamples, s.Samples)
	}
	if s.Noise != nil && *s.Noise < 0 {
		return optionErr(s.Name(), []string{"noise"}, "noise must be ≥ 0, got %g", *s.Noise)
	}
	if s.Magnitude && s.Name() != "smoothgrad" {
		return optionErr(s.Name(), []string{"magnitude"}, "magnitude is smoothgrad's option (%s aggregates squares already)", s.Name())
	}
	if err := validateReduction(s.Name(), s.Reduce); err != nil {
		return err
	}
	return s.Chunking.validate(s.Name())
}

// build makes the wrapped method: Wrapped, or Method with Options.
func (s *SmoothGrad) build() (Method, error) {
	if s.Wrapped != nil {
		if !isInputSpace(s.Wrapped.Name()) {
			return nil, fmt.Errorf("methods: %s wraps a method with an input-space attribution (%v), not %q", s.Name(), inputSpace, s.Wrapped.Name())
		}
		return s.Wrapped, nil
	}
	inner := s.Method
	if inner == "" {
		inner = "gradient"
	}
	if !isInputSpace(inner) {
		return nil, optionErr(s.Name(), []string{"method"}, "wraps a method with an input-space attribution (%v), not %q", inputSpace, inner)
	}
	m, err := New(inner, s.Options)
	if err != nil {
		return nil, fmt.Errorf("methods: %s: %w", s.Name(), err)
	}
	return m, nil
}

// wrapped is the wrapped method: the one Validate built, or one built now
// and not kept, so that a SmoothGrad made without New (its zero value
// among others) is safe to share between goroutines.
func (s *SmoothGrad) wrapped() (Method, error) {
	if s.Wrapped != nil {
		return s.build()
	}
	if s.inner != nil {
		return s.inner, nil
	}
	return s.build()
}

func (s *SmoothGrad) samples() int {
	if s.Samples == 0 {
		return DefaultSamples
	}
	return s.Samples
}

// draws returns ε_1…ε_n for images of the given shape.
func (s *SmoothGrad) draws(n int, shape []int) (*tensor.Tensor, error) {
	if s.NoiseImages != nil {
		want := append([]int{n}, shape...)
		if !tensor.SameShape(s.NoiseImages.Shape, want) {
			return nil, fmt.Errorf("methods: %s: noise images have shape %v, want %v", s.Name(), s.NoiseImages.Shape, want)
		}
		return s.NoiseImages, nil
	}
	r := rand.New(rand.NewPCG(s.Seed, 0x736d6f6f74686772))
	t := tensor.New(append([]int{n}, shape...)...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	return t, nil
}

// Explain computes the maps.
func (s *SmoothGrad) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	inner, err := s.wrapped()
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	gl, err := setup(s.Name(), m, &b, t)
	if err != nil {
		return nil, err
	}
	n := b.X.Shape[0]
	// The classes are those of the clean images.
	classes, scores, err := predict(ctx, m, b.X, gl, t, s.Chunking)
	if err != nil {
		return nil, notApplicable(s.Name(), err)
	}
	ns := s.samples()
	per := tensor.Size(b.X.Shape[1:])
	eps, err := s.draws(ns, b.X.Shape[1:])
	if err != nil {
		return nil, err
	}
	level := DefaultNoise
	if s.Noise != nil {
		level = *s.Noise
	}
	raw := tensor.New(b.X.Shape...)
	sq := tensor.New(b.X.Shape...)
	group := max(1, s.Chunking.size(m)/ns)
	groups := chunks(n, group)
	for gi, g := range groups {
		report(ctx, gi, len(groups))
		k := g[1] - g[0]
		noisy := tensor.New(append([]int{k * ns}, b.X.Shape[1:]...)...)
		var cls []int // nil for a unit
		for i := 0; i < k; i++ {
			img := b.X.Item(g[0] + i)
			lo, hi := img.Range()
			sigma := float32(level) * (hi - lo)
			for j := 0; j < ns; j++ {
				dst := noisy.Data[(i*ns+j)*per : (i*ns+j+1)*per]
				e := eps.Data[j*per : (j+1)*per]
				for p := range dst {
					dst[p] = img.Data[p] + sigma*e[p]
				}
				if classes != nil {
					cls = append(cls, classes[g[0]+i])
				}
			}
		}
		// The groups are the progress; the wrapped method's chunks are not.
		res, err := inner.Explain(WithProgress(ctx, nil), m, Batch{X: noisy, Black: b.Black, White: b.White, BGR: b.BGR}, Target{Classes: cls, Layer: t.Layer, Score: t.Score, Probability: t.Probability, Unit: t.Unit})
		if err != nil {
			return nil, err
		}
		for i := 0; i < k; i++ {
			dst := raw.Data[(g[0]+i)*per : (g[0]+i+1)*per]
			dsq := sq.Data[(g[0]+i)*per : (g[0]+i+1)*per]
			for j := 0; j < ns; j++ {
				a := res.Raw.Data[(i*ns+j)*per : (i*ns+j+1)*per]
				for p := range dst {
					v := a[p]
					if s.Magnitude {
						v = float32(math.Abs(float64(v)))
					}
					dst[p] += v
					dsq[p] += a[p] * a[p]
				}
			}
		}
	}
	inv := 1 / float32(ns)
	for p := range raw.Data {
		mean, meanSq := raw.Data[p]*inv, sq.Data[p]*inv
		switch s.Name() {
		case "squaregrad":
			raw.Data[p] = meanSq
		case "vargrad":
			raw.Data[p] = meanSq - mean*mean
		default:
			raw.Data[p] = mean
		}
	}
	def := tensor.MaxAbs
	if slices.Contains([]string{"gradient-x-input", "integrated-gradients"}, inner.Name()) {
		def = tensor.Sum
	}
	mp, signed, err := reduce(raw, s.Reduce, def)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: s.Name(), Map: mp, Signed: signed && s.Name() == "smoothgrad" && !s.Magnitude, Raw: raw, Classes: classes, Scores: scores}, nil
}

var _ Differentiable = (*SmoothGrad)(nil)

// Reduction is the channel reduction of the map (Reduce, default the
// wrapped method's).
func (s *SmoothGrad) Reduction() tensor.Reduction {
	inner := s.Method
	if inner == "" {
		inner = "gradient"
	}
	if slices.Contains([]string{"gradient-x-input", "integrated-gradients"}, inner) {
		return orDefault(s.Reduce, tensor.Sum)
	}
	return orDefault(s.Reduce, tensor.MaxAbs)
}

// RawGrad is the mean of the wrapped method's RawGrad over the noisy
// copies, the same draws as Explain's, with σ held at each image's value
// (Differentiable). Only smoothgrad (the mean) around a Differentiable
// method is differentiated; squaregrad and vargrad give a
// *NotApplicableError.
func (s *SmoothGrad) RawGrad(ctx context.Context, m Model, b Batch, t Target, w *tensor.Tensor) (*tensor.Tensor, error) {
	wrapped, err := s.wrapped()
	if err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.Name() != "smoothgrad" {
		return nil, &NotApplicableError{Method: s.Name(), Err: fmt.Errorf("only the mean of the attributions (smoothgrad) is differentiated")}
	}
	inner, ok := wrapped.(Differentiable)
	if !ok {
		return nil, &NotApplicableError{Method: s.Name(), Err: fmt.Errorf("the wrapped method %s is not differentiable", wrapped.Name())}
	}
	_, classes, err := rawGradSetup(ctx, s.Name(), m, &b, t, w, s.Chunking)
	if err != nil {
		return nil, err
	}
	n := b.X.Shape[0]
	ns := s.samples()
	per := tensor.Size(b.X.Shape[1:])
	eps, err := s.draws(ns, b.X.Shape[1:])
	if err != nil {
		return nil, err
	}
	level := DefaultNoise
	if s.Noise != nil {
		level = *s.Noise
	}
	out := tensor.New(b.X.Shape...)
	group := max(1, s.Chunking.size(m)/ns)
	groups := chunks(n, group)
	for gi, g := range groups {
		report(ctx, gi, len(groups))
		k := g[1] - g[0]
		noisy := tensor.New(append([]int{k * ns}, b.X.Shape[1:]...)...)
		wr := tensor.New(noisy.Shape...)
		var cls []int // nil for a unit
		for i := 0; i < k; i++ {
			img := b.X.Item(g[0] + i)
			lo, hi := img.Range()
			sigma := float32(level) * (hi - lo)
			wi := w.Data[(g[0]+i)*per : (g[0]+i+1)*per]
			for j := 0; j < ns; j++ {
				dst := noisy.Data[(i*ns+j)*per : (i*ns+j+1)*per]
				e := eps.Data[j*per : (j+1)*per]
				for p := range dst {
					dst[p] = img.Data[p] + sigma*e[p]
				}
				copy(wr.Data[(i*ns+j)*per:], wi)
				if classes != nil {
					cls = append(cls, classes[g[0]+i])
				}
			}
		}
		res, err := inner.RawGrad(WithProgress(ctx, nil), m, Batch{X: noisy, Black: b.Black, White: b.White, BGR: b.BGR}, Target{Classes: cls, Layer: t.Layer, Score: t.Score, Probability: t.Probability, Unit: t.Unit}, wr)
		if err != nil {
			return nil, err
		}
		inv := 1 / float32(ns)
		for i := 0; i < k; i++ {
			dst := out.Data[(g[0]+i)*per : (g[0]+i+1)*per]
			for j := 0; j < ns; j++ {
				a := res.Data[(i*ns+j)*per : (i*ns+j+1)*per]
				for p := range dst {
					dst[p] += a[p] * inv
				}
			}
		}
	}
	return out, nil
}
