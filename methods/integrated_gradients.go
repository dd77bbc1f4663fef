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

// IntegratedGradients is the path attribution of Sundararajan et al. (2017):
//
//	raw = (I − I′) ⊙ Σ_k w_k ∂S_c/∂I (I′ + α_k (I − I′))
//
// along the straight path from a baseline I′. The method is the integral;
// the sum is its quadrature, m-point Gauss–Legendre by default (Captum's
// default). The paper writes the right Riemann sum (α_k = k/m, w_k = 1/m;
// rule riemann-right) and its code uses the left one; on ReLU networks with
// batch normalisation the integrand jumps along the path and is steep near a
// black baseline, where Gauss–Legendre's nodes crowd, and at 128 steps it
// meets completeness about three times better than the Riemann sums on the
// zoo. Completeness says that Σ raw = S_c(I) − S_c(I′); the relative error
// |Σ raw − ΔS| / |ΔS| of each image is reported in
// Maps.Info["completeness-error"] (and ΔS in "score-delta"): raise Steps
// when it is large. The map is the signed sum over channels.
type IntegratedGradients struct {
	// Steps is m (default 50).
	Steps int `yaml:"steps"`
	// Baseline is black (default: the input of a black image), white,
	// zeros (the all-zero input, whatever the model's range: black only
	// for inputs in [0,1]; Kindermans et al.'s zero baseline), uniform
	// (noise uniform between black and white, from Seed) or blurred (the
	// image under a Gaussian blur of BlurSigma pixels).
	Baseline string `yaml:"baseline"`
	// BlurSigma is the blur of the blurred baseline in pixels (default a
	// tenth of the larger image side).
	BlurSigma float64 `yaml:"blur_sigma"`
	// Seed selects the uniform baseline.
	Seed uint64 `yaml:"seed"`
	// Rule is the quadrature: gauss-legendre (default), riemann-right (the
	// paper's formula), riemann-left (the paper's code), riemann-middle,
	// trapezoid, or linspace (PAIR saliency 0.2.1's: the m points
	// numpy.linspace(0, 1, m), both ends included, each weighted 1/m, so
	// the weights sum to 1 over m−1 intervals; XRAI's IG there).
	Rule string `yaml:"rule"`
	// Reduce is the channel reduction of the map (default sum).
	Reduce tensor.Reduction `yaml:"reduce"`
	// BaselineFile, when set, is an .npy file with the baseline in model
	// input values ([H,W,C] for every image, or [N,H,W,C] one per image,
	// as DeepLIFT's): a dataset mean, say. It overrides Baseline.
	BaselineFile string `yaml:"baseline_file"`
	// Baselines, when set, is an .npy file of references [K,H,W,C] in
	// model input values (a sample of the data set, as DeepSHAP's), and the
	// attribution is the mean of the K Integrated Gradients, one from each
	// reference: expected IG, Expected Gradients with the path integral
	// taken by quadrature instead of sampled (Erion et al. 2021). Σ raw is
	// then S_c(I) − mean_k S_c(I′_k), and the references cost K·m
	// gradients per image.
	Baselines string `yaml:"baselines"`
	// References, when set, takes the first References of Baselines.
	References int `yaml:"references"`
	// BaselineImage, when set, is the baseline itself ([H,W,C] for every
	// image, or [N,H,W,C]), overriding Baseline and BaselineFile.
	BaselineImage *tensor.Tensor `yaml:"-"`
	// BaselineImages, when set, are the references [K,H,W,C], overriding
	// Baselines.
	BaselineImages *tensor.Tensor `yaml:"-"`
	Chunking       `yaml:",inline"`
}

var _ Method = (*IntegratedGradients)(nil)

func init() { Register("integrated-gradients", func() Method { return &IntegratedGradients{} }) }

// Name is "integrated-gradients".
func (ig *IntegratedGradients) Name() string { return "integrated-gradients" }

// DefaultSteps is the default number of steps of Integrated Gradients.
const DefaultSteps = 50

// MaxSteps bounds steps: the path's points and weights are laid out before
// the first session run (and Gauss–Legendre's nodes cost steps² to find).
const MaxSteps = 10000

var (
	igBaselines = []string{"black", "white", "zeros", "uniform", "blurred"}
	igRules     = []string{"gauss-legendre", "riemann-right", "riemann-left", "riemann-middle", "trapezoid", "linspace"}
)

// Validate checks the options.
func (ig *IntegratedGradients) Validate() error {
	if ig.Steps < 0 {
		return optionErr(ig.Name(), []string{"steps"}, "steps must be ≥ 1, got %d", ig.Steps)
	}
	if ig.Steps > MaxSteps {
		return optionErr(ig.Name(), []string{"steps"}, "steps must be at most %d, got %d", MaxSteps, ig.Steps)
	}
	if ig.Baseline != "" && !slices.Contains(igBaselines, ig.Baseline) {
		return optionErr(ig.Name(), []string{"baseline"}, "unknown baseline %q; baselines: %v", ig.Baseline, igBaselines)
	}
	if ig.Rule != "" && !slices.Contains(igRules, ig.Rule) {
		return optionErr(ig.Name(), []string{"rule"}, "unknown rule %q; rules: %v", ig.Rule, igRules)
	}
	if ig.BlurSigma < 0 {
		return optionErr(ig.Name(), []string{"blur_sigma"}, "blur_sigma must be ≥ 0, got %g", ig.BlurSigma)
	}
	if ig.BaselineFile != "" && ig.Baselines != "" {
		return optionErr(ig.Name(), []string{"baseline_file", "baselines"}, "baseline_file (one baseline) and baselines (references averaged over) exclude each other")
	}
	if ig.Baselines != "" && ig.Baseline != "" {
		return optionErr(ig.Name(), []string{"baseline", "baselines"}, "baseline %q and baselines (references averaged over) exclude each other", ig.Baseline)
	}
	if ig.References < 0 || ig.References > MaxReferences {
		return optionErr(ig.Name(), []string{"references"}, "references must be in [1, %d], got %d", MaxReferences, ig.References)
	}
	if err := validateReduction(ig.Name(), ig.Reduce); err != nil {
		return err
	}
	return ig.Chunking.validate(ig.Name())
}

// alphas returns the path points and their weights.
func (ig *IntegratedGradients) alphas() ([]float32, []float32) {
	m := ig.Steps
	if m == 0 {
		m = DefaultSteps
	}
	var a, w []float32
	switch ig.Rule {
	case "riemann-left":
		for k := 0; k < m; k++ {
			a, w = append(a, float32(k)/float32(m)), append(w, 1/float32(m))
		}
	case "riemann-middle":
		for k := 0; k < m; k++ {
			a, w = append(a, (float32(k)+0.5)/float32(m)), append(w, 1/float32(m))
		}
	case "riemann-right":
		for k := 1; k <= m; k++ {
			a, w = append(a, float32(k)/float32(m)), append(w, 1/float32(m))
		}
	case "trapezoid":
		for k := 0; k <= m; k++ {
			wk := 1 / float32(m)
			if k == 0 || k == m {
				wk /= 2
			}
			a, w = append(a, float32(k)/float32(m)), append(w, wk)
		}
	case "linspace":
		for k := 0; k < m; k++ {
			ak := float32(0)
			if m > 1 {
				ak = float32(float64(k) / float64(m-1))
			}
			a, w = append(a, ak), append(w, 1/float32(m))
		}
	default:
		return gaussLegendre(m)
	}
	return a, w
}

// baseline returns I′ for every image of b.
func (ig *IntegratedGradients) baseline(b Batch) (*tensor.Tensor, error) {
	n, h, w, c := b.X.Shape[0], b.X.Shape[1], b.X.Shape[2], b.X.Shape[3]
	bi := ig.BaselineImage
	if bi == nil && ig.BaselineFile != "" {
		var err error
		if bi, err = readBaselineFile(ig.Name(), "baseline_file", ig.BaselineFile); err != nil {
			return nil, err
		}
	}
	if bi != nil {
		switch {
		case tensor.SameShape(bi.Shape, b.X.Shape):
			return bi, nil
		case tensor.SameShape(bi.Shape, b.X.Shape[1:]):
			out := tensor.New(b.X.Shape...)
			for i := 0; i < n; i++ {
				copy(out.Item(i).Data, bi.Data)
			}
			return out, nil
		}
		return nil, fmt.Errorf("methods: %s: baseline image has shape %v, want %v or %v", ig.Name(), bi.Shape, b.X.Shape[1:], b.X.Shape)
	}
	out := tensor.New(b.X.Shape...)
	switch ig.Baseline {
	case "", "black", "white":
		v := b.Black
		if ig.Baseline == "white" {
			v = b.White
		}
		for i := range out.Data {
			out.Data[i] = v[i%c]
		}
	case "zeros":
		// out is zero already
	case "uniform":
		r := rand.New(rand.NewPCG(ig.Seed, 0x756e69666f726d))
		one := make([]float32, h*w*c)
		for i := range one {
			lo, hi := b.Black[i%c], b.White[i%c]
			one[i] = lo + float32(r.Float64())*(hi-lo)
		}
		for i := 0; i < n; i++ {
			copy(out.Item(i).Data, one)
		}
	case "blurred":
		sigma := ig.BlurSigma
		if sigma == 0 {
			sigma = float64(max(h, w)) / 10
		}
		out = tensor.GaussianBlur(b.X, sigma)
	}
	return out, nil
}

// Explain computes the maps.
func (ig *IntegratedGradients) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := ig.Name()
	if err := ig.Validate(); err != nil {
		return nil, err
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if refs, err := ig.references(b); err != nil || refs != nil {
		if err != nil {
			return nil, err
		}
		return ig.explainExpected(ctx, m, b, t, gl, refs)
	}
	n := b.X.Shape[0]
	base, err := ig.baseline(b)
	if err != nil {
		return nil, err
	}
	// One forward pass of the images and their baselines predicts the
	// classes (when not given) and gives the scores of completeness,
	// S_c(I) and S_c(I′); the path points need gradients only.
	both, err := tensor.Concat(b.X, base)
	if err != nil {
		return nil, err
	}
	rows, err := scoreRows(ctx, m, both, gl.score, ig.Chunking)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	classes, s1 := gl.values(rows.Slice(0, n), t.Classes)
	_, s0 := gl.values(rows.Slice(n, 2*n), classes)
	alpha, weight := ig.alphas()
	np := len(alpha)
	per := tensor.Size(b.X.Shape[1:])
	sumGrad := make([]float32, n*per)
	total := n * np
	size := ig.Chunking.gradSize(m)
	x := tensor.New(append([]int{min(size, total)}, b.X.Shape[1:]...)...)
	cs := chunks(total, size)
	for ci, c := range cs {
		report(ctx, ci, len(cs))
		cnt := c[1] - c[0]
		xc := x.Slice(0, cnt)
		var cls []int // nil for a unit
		if classes != nil {
			cls = make([]int, cnt)
		}
		for e := c[0]; e < c[1]; e++ {
			i, p := e/np, e%np
			a := alpha[p]
			img, bl := b.X.Data[i*per:(i+1)*per], base.Data[i*per:(i+1)*per]
			dst := xc.Data[(e-c[0])*per : (e-c[0]+1)*per]
			for q := range dst {
				dst[q] = bl[q] + a*(img[q]-bl[q])
			}
			if cls != nil {
				cls[e-c[0]] = classes[i]
			}
		}
		res, err := m.Run(ctx, xc, tfgraph.Query{Grads: []tfgraph.Grad{gl.grad("", nil, cls, cnt)}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		for e := c[0]; e < c[1]; e++ {
			i, p := e/np, e%np
			wt := weight[p]
			g := res.Grads[0].Data[(e-c[0])*per : (e-c[0]+1)*per]
			dst := sumGrad[i*per : (i+1)*per]
			for q := range dst {
				dst[q] += wt * g[q]
			}
		}
	}
	raw := tensor.New(b.X.Shape...)
	errs, deltas := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		var sum float64
		for q := i * per; q < (i+1)*per; q++ {
			raw.Data[q] = (b.X.Data[q] - base.Data[q]) * sumGrad[q]
			sum += float64(raw.Data[q])
		}
		deltas[i] = float64(s1[i]) - float64(s0[i])
		errs[i] = math.Abs(sum-deltas[i]) / math.Abs(deltas[i])
	}
	mp, signed, err := reduce(raw, ig.Reduce, tensor.Sum)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: name, Map: mp, Signed: signed, Raw: raw, Classes: classes, Scores: s1,
		Info: map[string][]float64{"completeness-error": errs, "score-delta": deltas,
			"forward-passes": repeatCount(n, np+2), "backward-passes": repeatCount(n, np)}}, nil
}

// references returns the references of expected IG [K,H,W,C], or nil for
// one baseline per image.
func (ig *IntegratedGradients) references(b Batch) (*tensor.Tensor, error) {
	name := ig.Name()
	refs := ig.BaselineImages
	if refs == nil {
		if ig.Baselines == "" {
			return nil, nil
		}
		var err error
		if refs, err = readBaselineFile(name, "baselines", ig.Baselines); err != nil {
			return nil, err
		}
	}
	if len(refs.Shape) != 4 || refs.Shape[0] < 1 || !slices.Equal(refs.Shape[1:], b.X.Shape[1:]) {
		return nil, fmt.Errorf("methods: %s: references have shape %v, want [K,%d,%d,%d]", name, refs.Shape, b.X.Shape[1], b.X.Shape[2], b.X.Shape[3])
	}
	if k := refs.Shape[0]; ig.References > 0 && ig.References < k {
		refs = refs.Slice(0, ig.References)
	}
	if refs.Shape[0] > MaxReferences {
		return nil, fmt.Errorf("methods: %s: %d references; at most %d (references)", name, refs.Shape[0], MaxReferences)
	}
	return refs, nil
}

// explainExpected is Integrated Gradients averaged over the K references
// refs: the K·m path points of every image go through the batch dimension
// in chunks.
func (ig *IntegratedGradients) explainExpected(ctx context.Context, m Model, b Batch, t Target, gl goal, refs *tensor.Tensor) (*Maps, error) {
	name := ig.Name()
	n, k := b.X.Shape[0], refs.Shape[0]
	per := tensor.Size(b.X.Shape[1:])
	both, err := tensor.Concat(b.X, refs)
	if err != nil {
		return nil, err
	}
	rows, err := scoreRows(ctx, m, both, gl.score, ig.Chunking)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	classes, s1 := gl.values(rows.Slice(0, n), t.Classes)
	_, refScores := gl.values(rows.Slice(n, n+k), nil)
	s0 := make([]float32, n)
	for i := range s0 {
		var mean float64
		for j := 0; j < k; j++ {
			if classes == nil {
				mean += float64(refScores[j])
			} else {
				mean += float64(rows.Data[(n+j)*gl.k+classes[i]])
			}
		}
		s0[i] = float32(mean / float64(k))
	}
	alpha, weight := ig.alphas()
	np := len(alpha)
	sum := make([]float64, n*per)
	total := n * k * np
	size := ig.Chunking.gradSize(m)
	x := tensor.New(append([]int{min(size, total)}, b.X.Shape[1:]...)...)
	cs := chunks(total, size)
	for ci, c := range cs {
		report(ctx, ci, len(cs))
		cnt := c[1] - c[0]
		xc := x.Slice(0, cnt)
		var cls []int // nil for a unit
		if classes != nil {
			cls = make([]int, cnt)
		}
		for e := c[0]; e < c[1]; e++ {
			i, j, p := e/(k*np), (e/np)%k, e%np
			a := alpha[p]
			img, bl := b.X.Data[i*per:(i+1)*per], refs.Data[j*per:(j+1)*per]
			dst := xc.Data[(e-c[0])*per : (e-c[0]+1)*per]
			for q := range dst {
				dst[q] = bl[q] + a*(img[q]-bl[q])
			}
			if cls != nil {
				cls[e-c[0]] = classes[i]
			}
		}
		res, err := m.Run(ctx, xc, tfgraph.Query{Grads: []tfgraph.Grad{gl.grad("", nil, cls, cnt)}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		for e := c[0]; e < c[1]; e++ {
			i, j, p := e/(k*np), (e/np)%k, e%np
			wt := float64(weight[p]) / float64(k)
			img, bl := b.X.Data[i*per:(i+1)*per], refs.Data[j*per:(j+1)*per]
			g := res.Grads[0].Data[(e-c[0])*per : (e-c[0]+1)*per]
			dst := sum[i*per : (i+1)*per]
			for q := range dst {
				dst[q] += wt * float64(img[q]-bl[q]) * float64(g[q])
			}
		}
	}
	raw := tensor.New(b.X.Shape...)
	for q, v := range sum {
		raw.Data[q] = float32(v)
	}
	info := completeness(raw, s1, s0)
	info["forward-passes"] = repeatCount(n, k*np+1)
	for i := range info["forward-passes"] {
		info["forward-passes"][i] += float64(k) / float64(n)
	}
	info["backward-passes"] = repeatCount(n, k*np)
	mp, signed, err := reduce(raw, ig.Reduce, tensor.Sum)
	if err != nil {
		return nil, err
	}
	return &Maps{Method: name, Map: mp, Signed: signed, Raw: raw, Classes: classes, Scores: s1, Info: info}, nil
}

// gaussLegendre returns the m nodes and weights of Gauss–Legendre quadrature
// on [0, 1], in increasing order (Newton's method on the Legendre
// polynomial P_m, from the Chebyshev guesses).
func gaussLegendre(m int) ([]float32, []float32) {
	a, w := make([]float32, m), make([]float32, m)
	for i := 0; i < (m+1)/2; i++ {
		x := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(m) + 0.5))
		var dp float64
		for it := 0; it < 100; it++ {
			p0, p1 := 1.0, x
			if m == 1 {
				p1, p0 = x, 1
			}
			for k := 2; k <= m; k++ {
				p0, p1 = p1, ((2*float64(k)-1)*x*p1-(float64(k)-1)*p0)/float64(k)
			}
			if m == 1 {
				p1, p0 = x, 1
			}
			dp = float64(m) * (x*p1 - p0) / (x*x - 1)
			dx := p1 / dp
			x -= dx
			if math.Abs(dx) < 1e-15 {
				break
			}
		}
		wi := 2 / ((1 - x*x) * dp * dp)
		// x is the i-th largest root on [-1, 1]; map to [0, 1].
		a[m-1-i], w[m-1-i] = float32((1+x)/2), float32(wi/2)
		a[i], w[i] = float32((1-x)/2), float32(wi/2)
	}
	return a, w
}

var _ Differentiable = (*IntegratedGradients)(nil)

// Reduction is the channel reduction of the map (Reduce, default sum).
func (ig *IntegratedGradients) Reduction() tensor.Reduction { return orDefault(ig.Reduce, tensor.Sum) }

// RawGrad is the derivative of the quadrature along w (Differentiable):
// with p_k = I′ + α_k (I − I′) and G = Σ_k w_k ∂S_c/∂I (p_k),
//
//	∂⟨w, (I − I′) ⊙ G⟩/∂I = w ⊙ G + Σ_k w_k α_k H(p_k)·((I − I′) ⊙ w)
//
// for a baseline that does not depend on the image (the blurred one does:
// a *NotApplicableError).
func (ig *IntegratedGradients) RawGrad(ctx context.Context, m Model, b Batch, t Target, w *tensor.Tensor) (*tensor.Tensor, error) {
	name := ig.Name()
	if err := ig.Validate(); err != nil {
		return nil, err
	}
	if ig.Baseline == "blurred" && ig.BaselineImage == nil && ig.BaselineFile == "" {
		return nil, &NotApplicableError{Method: name, Err: fmt.Errorf("the blurred baseline depends on the image; its derivative is not computed")}
	}
	if ig.Baselines != "" || ig.BaselineImages != nil {
		return nil, &NotApplicableError{Method: name, Err: fmt.Errorf("the derivative of IG averaged over references (baselines) is not computed")}
	}
	gl, classes, err := rawGradSetup(ctx, name, m, &b, t, w, ig.Chunking)
	if err != nil {
		return nil, err
	}
	base, err := ig.baseline(b)
	if err != nil {
		return nil, err
	}
	n := b.X.Shape[0]
	per := tensor.Size(b.X.Shape[1:])
	alpha, weight := ig.alphas()
	np := len(alpha)
	sumGrad := make([]float32, n*per)
	out := tensor.New(b.X.Shape...)
	size := max(1, ig.Chunking.size(m)/3)
	cs := chunks(n*np, size)
	for ci, c := range cs {
		report(ctx, ci, len(cs))
		cnt := c[1] - c[0]
		xc := tensor.New(append([]int{cnt}, b.X.Shape[1:]...)...)
		along := tensor.New(xc.Shape...)
		var cls []int // nil for a unit
		if classes != nil {
			cls = make([]int, cnt)
		}
		for e := c[0]; e < c[1]; e++ {
			i, p := e/np, e%np
			a := alpha[p]
			img, bl, wi := b.X.Data[i*per:(i+1)*per], base.Data[i*per:(i+1)*per], w.Data[i*per:(i+1)*per]
			dst, dal := xc.Data[(e-c[0])*per:(e-c[0]+1)*per], along.Data[(e-c[0])*per:(e-c[0]+1)*per]
			for q := range dst {
				dst[q] = bl[q] + a*(img[q]-bl[q])
				dal[q] = a * (img[q] - bl[q]) * wi[q]
			}
			if cls != nil {
				cls[e-c[0]] = classes[i]
			}
		}
		g, hv, err := secondOrder(ctx, name, m, gl, xc, cls, along, true, ig.Chunking)
		if err != nil {
			return nil, err
		}
		for e := c[0]; e < c[1]; e++ {
			i, p := e/np, e%np
			wt := weight[p]
			gp, hp := g.Data[(e-c[0])*per:(e-c[0]+1)*per], hv.Data[(e-c[0])*per:(e-c[0]+1)*per]
			sg, dst := sumGrad[i*per:(i+1)*per], out.Data[i*per:(i+1)*per]
			for q := range dst {
				sg[q] += wt * gp[q]
				dst[q] += wt * hp[q]
			}
		}
	}
	for q, v := range w.Data {
		out.Data[q] += v * sumGrad[q]
	}
	return out, nil
}
