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

// GuidedIG is Guided Integrated Gradients (Kapishnikov et al. 2021): the
// path from the baseline I′ to the image is chosen as it is walked. At each
// of m steps the gradient g is taken at the current point x, and the
// features with the smallest |g| (a Fraction of them) move towards the
// image until the L1 distance to it has shrunk by 1/m of the total; no
// feature may run ahead of the straight line by more than MaxDist
// (relative), nor lag behind it by more, and
//
//	raw = Σ over every move  Δx ⊙ g(x at the start of the step).
//
// This is PAIR saliency 0.2.1's GuidedIG.GetMask (guided_ig_impl) with its
// defaults, computed in float64 with the gradients of the float32 point;
// its baseline is black (PAIR's zeros for inputs in [0,1]), or any of
// Integrated Gradients'. Completeness holds as for a Riemann sum:
// Info["completeness-error"] is |Σ raw − ΔS| / |ΔS| with ΔS = S_c(I) −
// S_c(I′) ("score-delta"). Each step needs the gradient at the point the
// previous one reached, so the steps run one after another and the images
// of the batch go through the batch dimension together (in chunks of the
// memory budget): m session runs, and one for the scores, for a batch that
// fits.
// Info["forward-passes"] and ["backward-passes"] count the examples per
// image (m + 2 forward with the scores of the image and its baseline, m
// backward; 2 and 0 for an image equal to its baseline, whose map is 0).
// The map is the signed sum over channels.
type GuidedIG struct {
	// Steps is m (default 200).
	Steps int `yaml:"steps"`
	// Fraction is the share of the features (those with the smallest
	// |gradient|) that move in each round of a step (default 0.25).
	Fraction float64 `yaml:"fraction"`
	// MaxDist is how far (as a fraction of the way, in [0, 1]) a feature
	// may deviate from the straight line (default 0.02; 0: the straight
	// line, Integrated Gradients with a left Riemann sum; 1: unbounded).
	MaxDist *float64 `yaml:"max_dist"`
	// Baseline is black (default), white, zeros, uniform or blurred, as for
	// Integrated Gradients.
	Baseline string `yaml:"baseline"`
	// BlurSigma is the blur of the blurred baseline in pixels.
	BlurSigma float64 `yaml:"blur_sigma"`
	// Seed selects the uniform baseline.
	Seed uint64 `yaml:"seed"`
	// BaselineFile, when set, is an .npy file with the baseline in model
	// input values ([H,W,C], or [N,H,W,C] one per image), overriding
	// Baseline.
	BaselineFile string `yaml:"baseline_file"`
	// BaselineImage, when set, is the baseline itself ([H,W,C] or
	// [N,H,W,C]), overriding the others.
	BaselineImage *tensor.Tensor `yaml:"-"`
	// Reduce is the channel reduction of the map (default sum).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*GuidedIG)(nil)

func init() { Register("guided-ig", func() Method { return &GuidedIG{} }) }

// Name is "guided-ig".
func (g *GuidedIG) Name() string { return "guided-ig" }

// Guided IG's defaults (PAIR saliency 0.2.1's GetMask).
const (
	DefaultGuidedIGSteps    = 200
	DefaultGuidedIGFraction = 0.25
	DefaultGuidedIGMaxDist  = 0.02
)

// Validate checks the options.
func (g *GuidedIG) Validate() error {
	name := g.Name()
	if g.Steps < 0 || g.Steps > MaxSteps {
		return optionErr(name, []string{"steps"}, "steps must be in [1, %d], got %d", MaxSteps, g.Steps)
	}
	if g.Fraction < 0 || g.Fraction > 1 {
		return optionErr(name, []string{"fraction"}, "fraction must be in (0, 1], got %g", g.Fraction)
	}
	if g.MaxDist != nil && !(*g.MaxDist >= 0 && *g.MaxDist <= 1) {
		return optionErr(name, []string{"max_dist"}, "max_dist must be in [0, 1], got %g", *g.MaxDist)
	}
	if g.Baseline != "" && !slices.Contains(igBaselines, g.Baseline) {
		return optionErr(name, []string{"baseline"}, "unknown baseline %q; baselines: %v", g.Baseline, igBaselines)
	}
	if g.BlurSigma < 0 {
		return optionErr(name, []string{"blur_sigma"}, "blur_sigma must be ≥ 0, got %g", g.BlurSigma)
	}
	if err := validateReduction(name, g.Reduce); err != nil {
		return err
	}
	return g.Chunking.validate(name)
}

// readBaselineFile reads the .npy file of option opt of a method.
func readBaselineFile(method, opt, path string) (*tensor.Tensor, error) {
	t, err := savedmodels.ReadNpy(path)
	if err != nil {
		return nil, optionErr(method, []string{opt}, "%s: %v", opt, err)
	}
	if err := t.Check(); err != nil {
		return nil, optionErr(method, []string{opt}, "%s: %s: %v", opt, path, err)
	}
	return t, nil
}

// Explain computes the maps.
func (g *GuidedIG) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := g.Name()
	if err := g.Validate(); err != nil {
		return nil, err
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if err := gl.classOnly(name); err != nil {
		return nil, err
	}
	img := g.BaselineImage
	if img == nil && g.BaselineFile != "" {
		if img, err = readBaselineFile(name, "baseline_file", g.BaselineFile); err != nil {
			return nil, err
		}
	}
	ig := IntegratedGradients{Baseline: g.Baseline, BlurSigma: g.BlurSigma, Seed: g.Seed, BaselineImage: img}
	base, err := ig.baseline(b)
	if err != nil {
		return nil, fmt.Errorf("methods: %s: %w", name, err)
	}
	steps, frac, maxDist := g.Steps, g.Fraction, DefaultGuidedIGMaxDist
	if steps == 0 {
		steps = DefaultGuidedIGSteps
	}
	if frac == 0 {
		frac = DefaultGuidedIGFraction
	}
	if g.MaxDist != nil {
		maxDist = *g.MaxDist
	}
	n := b.X.Shape[0]
	per := tensor.Size(b.X.Shape[1:])
	both, err := tensor.Concat(b.X, base)
	if err != nil {
		return nil, err
	}
	rows, err := scoreRows(ctx, m, both, gl.score, g.Chunking)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	classes, s1 := gl.values(rows.Slice(0, n), t.Classes)
	_, s0 := gl.values(rows.Slice(n, 2*n), classes)

	paths := make([]*guidedPath, n)
	var active []int // the images that differ from their baselines
	for i := range paths {
		paths[i] = newGuidedPath(b.X.Data[i*per:(i+1)*per], base.Data[i*per:(i+1)*per], frac, maxDist)
		if paths[i].l1Total > 0 {
			active = append(active, i)
		}
	}
	size := g.Chunking.gradSize(m)
	x := tensor.New(append([]int{min(size, max(1, len(active)))}, b.X.Shape[1:]...)...)
	cs := chunks(len(active), size)
	for step := 0; step < steps && len(active) > 0; step++ {
		report(ctx, step, steps)
		for _, c := range cs {
			cnt := c[1] - c[0]
			xc := x.Slice(0, cnt)
			cls := make([]int, cnt)
			for r, i := range active[c[0]:c[1]] {
				dst := xc.Data[r*per : (r+1)*per]
				for q, v := range paths[i].x {
					dst[q] = float32(v)
				}
				cls[r] = classes[i]
			}
			res, err := m.Run(ctx, xc, tfgraph.Query{Grads: []tfgraph.Grad{gl.grad("", nil, cls, cnt)}})
			if err != nil {
				return nil, notApplicable(name, err)
			}
			for r, i := range active[c[0]:c[1]] {
				if err := paths[i].step(step, steps, res.Grads[0].Data[r*per:(r+1)*per]); err != nil {
					return nil, fmt.Errorf("methods: %s: image %d: %w", name, i, err)
				}
			}
		}
	}
	raw := tensor.New(b.X.Shape...)
	fwd, bwd := repeatCount(n, 2), make([]float64, n)
	for _, i := range active {
		for q, v := range paths[i].attr {
			raw.Data[i*per+q] = float32(v)
		}
		fwd[i] += float64(steps)
		bwd[i] = float64(steps)
	}
	info := completeness(raw, s1, s0)
	info["forward-passes"], info["backward-passes"] = fwd, bwd
	mp, signed, err := reduce(raw, g.Reduce, tensor.Sum)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: name, Map: mp, Signed: signed, Raw: raw, Classes: classes, Scores: s1, Info: info}, nil
}

// guidedPath is the state of one image's Guided IG path, in float64.
type guidedPath struct {
	in, base, x, attr []float64
	l1Total           float64
	frac, maxDist     float64
	// scratch
	grad, xmin, xmax, old, abs []float64
	sel                        []bool
}

func newGuidedPath(in, base []float32, frac, maxDist float64) *guidedPath {
	n := len(in)
	p := &guidedPath{in: make([]float64, n), base: make([]float64, n), x: make([]float64, n), attr: make([]float64, n),
		frac: frac, maxDist: maxDist, grad: make([]float64, n), xmin: make([]float64, n), xmax: make([]float64, n),
		old: make([]float64, n), abs: make([]float64, n), sel: make([]bool, n)}
	for q := range in {
		p.in[q], p.base[q] = float64(in[q]), float64(base[q])
		p.x[q] = p.base[q]
		p.l1Total += math.Abs(p.in[q] - p.base[q])
	}
	return p
}

// guidedEpsilon is the tolerance of "the L1 distance has reached its
// target" (PAIR's EPSILON, relative and absolute).
const guidedEpsilon = 1e-9

// step takes step s of m with the gradient g at the current point.
func (p *guidedPath) step(s, m int, g []float32) error {
	alpha := float64(s+1) / float64(m)
	amin, amax := max(alpha-p.maxDist, 0), min(alpha+p.maxDist, 1)
	for q := range p.x {
		d := p.in[q] - p.base[q]
		p.xmin[q] = p.base[q] + d*amin
		p.xmax[q] = p.base[q] + d*amax
		p.grad[q] = float64(g[q])
	}
	target := p.l1Total * (1 - float64(s+1)/float64(m))
	// Each round with gamma > 1 moves every selected feature to x_max,
	// which excludes it from the next: at most len(x)+1 rounds.
	for round := 0; round <= len(p.x)+1; round++ {
		copy(p.old, p.x)
		var cur float64
		for q := range p.x {
			// A feature behind the allowed band jumps to its start (a
			// feature equal to its baseline counts as at alpha_max).
			if d := p.in[q] - p.base[q]; d != 0 && (p.x[q]-p.base[q])/d < amin {
				p.x[q] = p.xmin[q]
			}
			cur += math.Abs(p.x[q] - p.in[q])
		}
		if math.Abs(target-cur) <= max(guidedEpsilon*max(math.Abs(target), math.Abs(cur)), guidedEpsilon) {
			p.accumulate(g)
			return nil
		}
		for q := range p.x {
			if p.x[q] == p.xmax[q] {
				p.grad[q] = math.Inf(1)
			}
			p.abs[q] = math.Abs(p.grad[q])
		}
		th := quantileLower(p.abs, p.frac)
		var l1s float64
		for q := range p.x {
			p.sel[q] = p.abs[q] <= th && !math.IsInf(p.grad[q], 1)
			if p.sel[q] {
				l1s += math.Abs(p.x[q] - p.xmax[q])
			}
		}
		gamma := math.Inf(1)
		if l1s > 0 {
			gamma = (cur - target) / l1s
		}
		if !(gamma > 0) {
			return fmt.Errorf("step %d: the path passed its L1 target (%g < %g)", s, cur, target)
		}
		for q := range p.x {
			if !p.sel[q] {
				continue
			}
			if gamma > 1 {
				p.x[q] = p.xmax[q]
			} else {
				p.x[q] += (p.xmax[q] - p.x[q]) * gamma
			}
		}
		p.accumulate(g)
		if gamma <= 1 {
			return nil
		}
	}
	return fmt.Errorf("step %d: the L1 target was not reached", s)
}

// accumulate adds (x − old) ⊙ g to the attribution.
func (p *guidedPath) accumulate(g []float32) {
	for q := range p.x {
		p.attr[q] += (p.x[q] - p.old[q]) * float64(g[q])
	}
}

// quantileLower is numpy's quantile(v, f, method="lower"): the element of
// rank floor((len−1)·f) (v is reordered).
func quantileLower(v []float64, f float64) float64 {
	k := int(math.Floor(float64(len(v)-1) * f))
	s := slices.Clone(v)
	tensor.SelectNth(s, k)
	return s[k]
}
