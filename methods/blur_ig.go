package methods

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/saliencykit/saliency/internal/par"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// BlurIG integrates gradients along a path of blurs (Xu et al. 2020, Blur
// Integrated Gradients): with x(σ) the image under a Gaussian blur of σ
// pixels,
//
//	raw = −Σ_k (σ_{k+1} − σ_k) ∂x/∂σ(σ_k) ⊙ ∂S_c/∂I (x(σ_k)),  k = 0…m−1,
//
// from the image (σ_0 = 0) to its blur at MaxSigma, ∂x/∂σ the forward
// difference (x(σ_k + GradStep) − x(σ_k)) / GradStep; σ_k = k·MaxSigma/m, or
// √(k·MaxSigma/m) with Sqrt. This is PAIR saliency 0.2.1's BlurIG.GetMask
// with its defaults and its blur, scipy.ndimage.gaussian_filter with
// truncate 4 and black beyond the border (tensor.GaussianFilter; PAIR pads
// with zeros, black for inputs in [0,1]); the paper does not say how the
// blur treats the border (Border). Completeness
// says Σ raw = S_c(I) − S_c(x(MaxSigma)); the relative error is in
// Maps.Info["completeness-error"] (ΔS in "score-delta"). The m points of
// every image go through the batch dimension in chunks of the memory
// budget; Info["forward-passes"] and ["backward-passes"] count, per image,
// the examples run forward (the m points, the image and its full blur) and
// backward (the m points). The map is the signed sum over channels.
type BlurIG struct {
	// MaxSigma is the blur at the path's start in pixels (default 50).
	MaxSigma float64 `yaml:"max_sigma"`
	// Steps is m (default 100).
	Steps int `yaml:"steps"`
	// GradStep is the σ step of ∂x/∂σ's forward difference (default 0.01).
	GradStep float64 `yaml:"grad_step"`
	// Sqrt spaces the σ_k as square roots (PAIR's sqrt).
	Sqrt bool `yaml:"sqrt"`
	// Border is the blur's border: constant (default: black beyond the
	// border, Batch.Black; PAIR's zeros for inputs in [0,1]), reflect or
	// nearest (tensor.FilterMode).
	Border tensor.FilterMode `yaml:"border"`
	// Reduce is the channel reduction of the map (default sum).
	Reduce   tensor.Reduction `yaml:"reduce"`
	Chunking `yaml:",inline"`
}

var _ Method = (*BlurIG)(nil)

func init() { Register("blur-ig", func() Method { return &BlurIG{} }) }

// Name is "blur-ig".
func (bi *BlurIG) Name() string { return "blur-ig" }

// Blur IG's defaults (PAIR saliency 0.2.1) and bounds.
const (
	DefaultBlurIGMaxSigma = 50
	DefaultBlurIGSteps    = 100
	DefaultBlurIGGradStep = 0.01
	// MaxBlurSigma bounds max_sigma: a blur costs 8σ+1 multiplications
	// per pixel and pass.
	MaxBlurSigma = 1000
)

// Validate checks the options.
func (bi *BlurIG) Validate() error {
	name := bi.Name()
	if bi.Steps < 0 || bi.Steps > MaxSteps {
		return optionErr(name, []string{"steps"}, "steps must be in [1, %d], got %d", MaxSteps, bi.Steps)
	}
	if bi.MaxSigma < 0 || bi.MaxSigma > MaxBlurSigma {
		return optionErr(name, []string{"max_sigma"}, "max_sigma must be in (0, %d], got %g", MaxBlurSigma, bi.MaxSigma)
	}
	if bi.GradStep < 0 || bi.GradStep > MaxBlurSigma {
		return optionErr(name, []string{"grad_step"}, "grad_step must be in (0, %d], got %g", MaxBlurSigma, bi.GradStep)
	}
	if bi.Border != "" && !slices.Contains(tensor.FilterModes, bi.Border) {
		return optionErr(name, []string{"border"}, "unknown border %q; borders: %v", bi.Border, tensor.FilterModes)
	}
	if err := validateReduction(name, bi.Reduce); err != nil {
		return err
	}
	return bi.Chunking.validate(name)
}

// sigmas returns σ_0…σ_m.
func (bi *BlurIG) sigmas() []float64 {
	m, top := bi.Steps, bi.MaxSigma
	if m == 0 {
		m = DefaultBlurIGSteps
	}
	if top == 0 {
		top = DefaultBlurIGMaxSigma
	}
	s := make([]float64, m+1)
	for k := range s {
		s[k] = float64(k) * top / float64(m)
		if bi.Sqrt {
			s[k] = math.Sqrt(s[k])
		}
	}
	return s
}

// blackBorderBlur is the Gaussian blur of the path (truncate 4). With the
// constant border, what lies beyond the border is black, Batch.Black (0 for
// inputs in [0,1], PAIR's zeros): the image less black is blurred with zeros
// beyond and black added back, so a caffe-style model's border is a black
// pixel, not the mean colour that 0 is in its input units.
func blackBorderBlur(x *tensor.Tensor, sigma float64, border tensor.FilterMode, black []float32) (*tensor.Tensor, error) {
	if border != tensor.FilterConstant || !slices.ContainsFunc(black, func(v float32) bool { return v != 0 }) {
		return tensor.GaussianFilter(x, sigma, 4, border)
	}
	c := x.Shape[len(x.Shape)-1]
	if len(black) != c {
		return nil, fmt.Errorf("black has %d channels, the images %d", len(black), c)
	}
	in := x.Clone()
	for i := range in.Data {
		in.Data[i] -= black[i%c]
	}
	out, err := tensor.GaussianFilter(in, sigma, 4, border)
	if err != nil {
		return nil, err
	}
	for i := range out.Data {
		out.Data[i] += black[i%c]
	}
	return out, nil
}

// Explain computes the maps.
func (bi *BlurIG) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := bi.Name()
	if err := bi.Validate(); err != nil {
		return nil, err
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if err := gl.classOnly(name); err != nil {
		return nil, err
	}
	border := bi.Border
	if border == "" {
		border = tensor.FilterConstant
	}
	gs := bi.GradStep
	if gs == 0 {
		gs = DefaultBlurIGGradStep
	}
	blur := func(x *tensor.Tensor, sigma float64) (*tensor.Tensor, error) {
		return blackBorderBlur(x, sigma, border, b.Black)
	}
	sig := bi.sigmas()
	steps := len(sig) - 1
	n := b.X.Shape[0]
	per := tensor.Size(b.X.Shape[1:])
	// The images and their full blurs: classes and the scores of
	// completeness.
	end, err := blur(b.X, sig[steps])
	if err != nil {
		return nil, err
	}
	both, err := tensor.Concat(b.X, end)
	if err != nil {
		return nil, err
	}
	rows, err := scoreRows(ctx, m, both, gl.score, bi.Chunking)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	classes, s1 := gl.values(rows.Slice(0, n), t.Classes)
	_, s0 := gl.values(rows.Slice(n, 2*n), classes)
	sum := make([]float64, n*per)
	total := n * steps
	size := bi.Chunking.gradSize(m)
	x := tensor.New(append([]int{min(size, total)}, b.X.Shape[1:]...)...)
	dx := make([]float32, min(size, total)*per)
	cs := chunks(total, size)
	for ci, c := range cs {
		report(ctx, ci, len(cs))
		cnt := c[1] - c[0]
		xc := x.Slice(0, cnt)
		cls := make([]int, cnt)
		// The rows' blurs are independent (each writes its own rows of
		// xc and dx): they run on up to GOMAXPROCS goroutines while
		// TensorFlow is idle.
		err := eachRow(cnt, func(r int) error {
			e := c[0] + r
			i, k := e/steps, e%steps
			img := b.X.Slice(i, i+1)
			at, err := blur(img, sig[k])
			if err != nil {
				return err
			}
			next, err := blur(img, sig[k]+gs)
			if err != nil {
				return err
			}
			copy(xc.Data[r*per:(r+1)*per], at.Data)
			d := dx[r*per : (r+1)*per]
			for q := range d {
				// float32, as PAIR computes it on float32 images.
				d[q] = (next.Data[q] - at.Data[q]) / float32(gs)
			}
			cls[r] = classes[i]
			return nil
		})
		if err != nil {
			return nil, err
		}
		res, err := m.Run(ctx, xc, tfgraph.Query{Grads: []tfgraph.Grad{gl.grad("", nil, cls, cnt)}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		for e := c[0]; e < c[1]; e++ {
			i, k := e/steps, e%steps
			r := e - c[0]
			w := sig[k+1] - sig[k]
			g := res.Grads[0].Data[r*per : (r+1)*per]
			d := dx[r*per : (r+1)*per]
			dst := sum[i*per : (i+1)*per]
			for q := range dst {
				dst[q] -= w * float64(d[q]) * float64(g[q])
			}
		}
	}
	raw := tensor.New(b.X.Shape...)
	for q, v := range sum {
		raw.Data[q] = float32(v)
	}
	info := completeness(raw, s1, s0)
	info["forward-passes"] = repeatCount(n, steps+2)
	info["backward-passes"] = repeatCount(n, steps)
	mp, signed, err := reduce(raw, bi.Reduce, tensor.Sum)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: name, Map: mp, Signed: signed, Raw: raw, Classes: classes, Scores: s1, Info: info}, nil
}

// completeness is the Info of a path method whose attributions raw should
// sum to S_c(I) − S_c(start): the relative error per image
// ("completeness-error") and the difference ("score-delta").
func completeness(raw *tensor.Tensor, s1, s0 []float32) map[string][]float64 {
	n := raw.Shape[0]
	per := tensor.Size(raw.Shape[1:])
	errs, deltas := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		var sum float64
		for _, v := range raw.Data[i*per : (i+1)*per] {
			sum += float64(v)
		}
		deltas[i] = float64(s1[i]) - float64(s0[i])
		errs[i] = math.Abs(sum-deltas[i]) / math.Abs(deltas[i])
	}
	return map[string][]float64{"completeness-error": errs, "score-delta": deltas}
}

// repeatCount is n copies of v, an Info entry that is the same for every
// image.
func repeatCount(n, v int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(v)
	}
	return out
}

// eachRow calls f(0), …, f(n−1) on up to GOMAXPROCS goroutines and returns
// the error of the lowest row that failed. f must touch only row r's data.
func eachRow(n int, f func(r int) error) error {
	errs := make([]error, n)
	par.Each(n, func(r int) { errs[r] = f(r) })
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
