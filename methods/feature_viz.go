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

// FeatureVisualization is activation maximisation of any target (Erhan et
// al. 2009; Olah, Mordvintsev & Schubert 2017, "Feature Visualization"): the
// image that maximises a unit's value (a channel's strongest activation or
// its mean, a neuron, a direction; see Unit) or a class's logit or
// probability, found by gradient ascent on the parameters θ of the image,
//
//	x = R(P θ),   θ* = argmax_θ  v(T(x)) − l2·mean((x − x₀)²) − tv·TV(x) − diversity·D,
//
// where
//   - P is the parameterization: "pixel" (θ is the image) or "fourier" (θ is
//     a 1/f-scaled Fourier spectrum, Lucid's fft_image, with Lucid's
//     decorrelated colour for three channels; see fourierParam);
//   - R keeps x between a black and a white pixel (Batch.Black, Batch.White):
//     "clip", x = mid + (white−black)·u with u projected on [−½, ½] after
//     each step (pixel only); "sigmoid", x = black + (white−black)·σ(u);
//     "none", x = mid + (white−black)·u; mid is the grey between black and
//     white, so θ and the learning rate are in units of the input range;
//   - T is a random transformation drawn anew at each step (a shift of up to
//     Jitter pixels, a scale factor, a rotation; bilinear, periodic
//     boundaries), whose adjoint carries the gradient back exactly:
//     ∂v(T(x))/∂x = Tᵀ ∇v(T(x));
//   - x₀ is the grey image (the batch's image with Init "input");
//   - TV is the anisotropic total variation (totalVariation), and D the
//     Gram-matrix cosine similarity of the images of the batch at a layer
//     (diversity), which pushes the visualisations of one target apart.
//
// The model's gradient takes one backward pass per step (two session runs
// with diversity: its seed needs the layer's activations first); the rest is
// computed here in float64 and checked against finite differences. Each
// image of the batch is a visualisation of the target (Target.Classes gives
// one class per image; a unit is the same for all). Without diversity every
// image starts from the seed's draws and is optimised in session runs of
// its own, so that a batch gives its images one by one (see ClassModel);
// with diversity the images draw starts of their own and are optimised
// together. Ascent on a unit behind ReLUs stalls in its start's basin, and
// does not move at all from a start where the unit is zero: so each image
// first runs Restarts starts together for RestartSteps steps and goes on
// with the best, and for units the first Warmup steps let the gradient
// through every ReLU.
//
// The defaults reach the data set's top activation: on fmnist_vgg, with
// seeds 0 to 5, every channel of conv1_2 (1.04–1.44×) and of conv2_2
// (1.03–2.26×, but one channel at 0.99× with one seed) and every neuron of
// fc1 that the 10,000 Fashion-MNIST test images activate (2.1–10×) ends at
// or above its largest value over them, and every class of every zoo model
// at p ≥ 0.9999; see docs/feature-visualization.md. The L2 default fades to
// grey what the target does not see, so the image of a channel's strongest
// activation is its receptive field's pattern on grey. The transformations
// and the Fourier parameterization make images that look smoother and reach
// a little less.
//
// Raw is the image [N,H,W,C] in model-input units, Map its channel mean,
// Scores the target's value on it, untransformed: the unit's value (as Unit
// defines it), the class logit, or its probability. Info["probability"] is
// the class probability for class targets.
type FeatureVisualization struct {
	// Steps is the number of ascent steps (default 256, at most MaxSteps).
	Steps int `yaml:"steps"`
	// LR is the learning rate (default 0.05).
	LR float64 `yaml:"lr"`
	// Optimizer is "adam" (default; Kingma & Ba with β = 0.9, 0.999 and
	// ε = 1e-8, as Lucid and Xplique use it) or "sgd" (θ ← θ + lr·∇J).
	Optimizer string `yaml:"optimizer"`
	// Param is the parameterization, "pixel" (default) or "fourier".
	Param string `yaml:"param"`
	// Decay is the exponent of the Fourier spectrum's scale 1/f^decay
	// (default 1, Lucid's; Xplique uses 0.85).
	Decay *float64 `yaml:"decay"`
	// Decorrelate parameterizes three colour channels along Lucid's
	// decorrelated colour axes of ImageNet (default: true for fourier with
	// three channels, false otherwise).
	Decorrelate *bool `yaml:"decorrelate"`
	// Range is how images are kept in the input range: "clip" (the default
	// for pixel), "sigmoid" (the default for fourier) or "none".
	Range string `yaml:"range"`
	// L2 weighs the mean of (x − x₀)² over the image's values, in units of
	// the input range (default 1). Small beside any target's gradient where
	// the target looks, it is the only gradient where it does not, and
	// Adam's normalised steps take those pixels back to grey.
	L2 *float64 `yaml:"l2"`
	// TV weighs the total variation of the image in units of the input
	// range (default 0).
	TV float64 `yaml:"tv"`
	// Blur is the σ in pixels of a Gaussian blur of the image's parameters
	// every BlurEvery steps (default 0: none; BlurEvery defaults to 4): of
	// the pixels with edges replicated (pixel), or of the spectrum, a
	// periodic blur (fourier). At most 100.
	Blur      float64 `yaml:"blur"`
	BlurEvery int     `yaml:"blur_every"`
	// Jitter is the largest random shift in pixels along each axis (default
	// 0: none).
	Jitter int `yaml:"jitter"`
	// Scale is the range [min, max] of a random scale factor, or one fixed
	// factor (default none).
	Scale []float64 `yaml:"scale"`
	// Rotate is the largest random rotation in degrees (default 0).
	Rotate float64 `yaml:"rotate"`
	// Diversity weighs the diversity term over the batch (default 0: none).
	Diversity float64 `yaml:"diversity"`
	// DiversityLayer is the layer of the diversity term (default: the
	// unit's layer, or the model's CAM layer for a class).
	DiversityLayer string `yaml:"diversity_layer"`
	// Init is "noise" (default: θ drawn from N(0, InitSD²)) or "input"
	// (pixel only: start from the batch's image, which is then also x₀).
	Init string `yaml:"init"`
	// InitSD is the standard deviation of the start's noise (default 1:
	// with clip, most pixels start black or white).
	InitSD *float64 `yaml:"init_sd"`
	// Restarts is the number of starts tried for each image (default 4; 1
	// for one start). They run together for RestartSteps steps (default
	// 16), then the one whose image has the largest value goes on. Not with
	// diversity.
	Restarts     int `yaml:"restarts"`
	RestartSteps int `yaml:"restart_steps"`
	// Warmup is the number of first steps whose backward pass lets the
	// whole signal through every ReLU (Xplique's warm-up; default 16), for
	// unit targets: a unit behind a ReLU that is zero on the start has a
	// zero gradient and, without it, stays there (a third of fmnist_vgg's
	// fc1 neurons did). A class logit has a gradient wherever it starts,
	// and the open ReLUs only lead it astray (fmnist_vgg's sneaker ended
	// at p = 0.36 instead of 1), so classes take none.
	Warmup *int `yaml:"warmup"`
	// Seed selects the starts and the transformations. Every image of a
	// batch draws the same ones, so that a batch gives its images one by
	// one (as ClassModel); with diversity, image i draws from streams of
	// its own, which the term needs to push the images apart.
	Seed uint64 `yaml:"seed"`
	// Chunking bounds the session runs of restarts and diversity, whose
	// images run together.
	Chunking `yaml:",inline"`
}

var _ Method = (*FeatureVisualization)(nil)

func init() {
	Register("feature-visualization", func() Method { return &FeatureVisualization{} })
}

// Name is "feature-visualization".
func (fv *FeatureVisualization) Name() string { return "feature-visualization" }

// Defaults of feature visualisation.
const (
	DefaultFeatureVizSteps        = 256
	DefaultFeatureVizLR           = 0.05
	DefaultFeatureVizL2           = 1.0
	DefaultFeatureVizInitSD       = 1.0
	DefaultFeatureVizRestarts     = 4
	DefaultFeatureVizRestartSteps = 16
	DefaultFeatureVizWarmup       = 16
	DefaultFeatureVizDecay        = 1.0
)

// MaxRestarts bounds the starts tried for each visualisation (they run in
// one batch).
const MaxRestarts = MaxChunk

// MaxDiversityBatch bounds the images optimised together for the diversity
// term: each step compares every pair of their Gram matrices.
const MaxDiversityBatch = 64

// Validate checks the options.
func (fv *FeatureVisualization) Validate() error {
	name := fv.Name()
	bad := func(opts []string, format string, a ...any) error { return optionErr(name, opts, format, a...) }
	opt := func(o ...string) []string { return o }
	switch {
	case fv.Steps < 0 || fv.Steps > MaxSteps:
		return bad(opt("steps"), "steps must be from 1 to %d, got %d", MaxSteps, fv.Steps)
	case fv.LR < 0:
		return bad(opt("lr"), "lr must be ≥ 0, got %g", fv.LR)
	case fv.Optimizer != "" && fv.Optimizer != "adam" && fv.Optimizer != "sgd":
		return bad(opt("optimizer"), "optimizer is adam or sgd, not %q", fv.Optimizer)
	case fv.Param != "" && fv.Param != "pixel" && fv.Param != "fourier":
		return bad(opt("param"), "param is pixel or fourier, not %q", fv.Param)
	case fv.Decay != nil && (*fv.Decay < 0 || *fv.Decay > 4):
		return bad(opt("decay"), "decay must be in [0, 4], got %g", *fv.Decay)
	case fv.Range != "" && !slices.Contains([]string{"sigmoid", "clip", "none"}, fv.Range):
		return bad(opt("range"), "range is sigmoid, clip or none, not %q", fv.Range)
	case fv.Range == "clip" && fv.Param == "fourier":
		return bad(opt("param", "range"), "range clip is a projection of the pixels: it needs param pixel (fourier takes sigmoid or none)")
	case (fv.L2 != nil && *fv.L2 < 0) || fv.TV < 0 || fv.Diversity < 0:
		return bad(atFault(opt("l2", "tv", "diversity"), fv.L2 != nil && *fv.L2 < 0, fv.TV < 0, fv.Diversity < 0), "l2, tv and diversity must be ≥ 0")
	case fv.Blur < 0 || fv.Blur > 100:
		return bad(opt("blur"), "blur must be in [0, 100] pixels, got %g", fv.Blur)
	case fv.BlurEvery < 0:
		return bad(opt("blur_every"), "blur_every must be ≥ 0, got %d", fv.BlurEvery)
	case fv.Jitter < 0 || fv.Jitter > 1000:
		return bad(opt("jitter"), "jitter must be in [0, 1000] pixels, got %d", fv.Jitter)
	case fv.Restarts < 0 || fv.Restarts > MaxRestarts:
		return bad(opt("restarts"), "restarts must be from 1 to %d, got %d", MaxRestarts, fv.Restarts)
	case fv.RestartSteps < 0:
		return bad(opt("restart_steps"), "restart_steps must be ≥ 0, got %d", fv.RestartSteps)
	case fv.Warmup != nil && (*fv.Warmup < 0 || *fv.Warmup > MaxSteps):
		return bad(opt("warmup"), "warmup must be from 0 to %d, got %d", MaxSteps, *fv.Warmup)
	case len(fv.Scale) > 2:
		return bad(opt("scale"), "scale is [min, max] or one factor, got %d values", len(fv.Scale))
	case fv.Rotate < 0 || fv.Rotate > 180:
		return bad(opt("rotate"), "rotate must be in [0, 180] degrees, got %g", fv.Rotate)
	case fv.Restarts > 1 && fv.Diversity > 0:
		return bad(opt("diversity", "restarts"), "restarts and diversity: the diversity term optimises the batch together, from one start per image")
	case fv.DiversityLayer != "" && fv.Diversity == 0:
		return bad(opt("diversity_layer"), "diversity_layer %s without a diversity weight", fv.DiversityLayer)
	case fv.Init != "" && fv.Init != "noise" && fv.Init != "input":
		return bad(opt("init"), "init is noise or input, not %q", fv.Init)
	case fv.Init == "input" && fv.Param == "fourier":
		return bad(opt("param", "init"), "init input needs param pixel")
	case fv.InitSD != nil && (*fv.InitSD < 0 || *fv.InitSD > 10):
		return bad(opt("init_sd"), "init_sd must be in [0, 10], got %g", *fv.InitSD)
	}
	for _, s := range fv.Scale {
		if s <= 0 || s > 10 {
			return bad(opt("scale"), "scale factors must be in (0, 10], got %g", s)
		}
	}
	if len(fv.Scale) == 2 && fv.Scale[0] > fv.Scale[1] {
		return bad(opt("scale"), "scale [%g, %g]: min above max", fv.Scale[0], fv.Scale[1])
	}
	return fv.Chunking.validate(name)
}

// fvSettings are the options with their defaults filled in.
type fvSettings struct {
	steps, every   int
	lr             float64
	adam, fourier  bool
	decay          float64
	decorrelate    *bool
	rng            string // sigmoid, clip, none
	l2, tv, blur   float64
	diversity      float64
	tr             transforms
	input          bool
	restarts       int
	warmup         int
	restartSteps   int
	initSD         float64
	seed           uint64
	diversityLayer string
}

func (fv *FeatureVisualization) settings() fvSettings {
	s := fvSettings{steps: fv.Steps, every: fv.BlurEvery, lr: fv.LR, adam: fv.Optimizer != "sgd",
		fourier: fv.Param == "fourier", decay: DefaultFeatureVizDecay, decorrelate: fv.Decorrelate,
		rng: fv.Range, l2: DefaultFeatureVizL2, tv: fv.TV, blur: fv.Blur, diversity: fv.Diversity,
		restarts: fv.Restarts, restartSteps: fv.RestartSteps, warmup: DefaultFeatureVizWarmup,
		input: fv.Init == "input", initSD: DefaultFeatureVizInitSD, seed: fv.Seed, diversityLayer: fv.DiversityLayer}
	if s.steps == 0 {
		s.steps = DefaultFeatureVizSteps
	}
	if s.every == 0 {
		s.every = 4
	}
	if s.restarts == 0 {
		s.restarts = DefaultFeatureVizRestarts
	}
	if s.restartSteps == 0 {
		s.restartSteps = DefaultFeatureVizRestartSteps
	}
	if s.lr == 0 {
		s.lr = DefaultFeatureVizLR
	}
	if fv.Decay != nil {
		s.decay = *fv.Decay
	}
	if fv.L2 != nil {
		s.l2 = *fv.L2
	}
	if fv.Warmup != nil {
		s.warmup = *fv.Warmup
	}
	if s.rng == "" {
		s.rng = "clip"
		if s.fourier {
			s.rng = "sigmoid"
		}
	}
	if fv.InitSD != nil {
		s.initSD = *fv.InitSD
	}
	s.tr.jitter = fv.Jitter
	switch len(fv.Scale) {
	case 1:
		s.tr.scale = []float64{fv.Scale[0], fv.Scale[0]}
	case 2:
		s.tr.scale = slices.Clone(fv.Scale)
	}
	if len(s.tr.scale) == 2 && s.tr.scale[0] == 1 && s.tr.scale[1] == 1 {
		s.tr.scale = nil
	}
	s.tr.rotate = fv.Rotate
	s.tr.identity = s.tr.jitter == 0 && s.tr.scale == nil && s.tr.rotate == 0
	return s
}

// Explain computes one visualisation per image of the batch.
func (fv *FeatureVisualization) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := fv.Name()
	if err := fv.Validate(); err != nil {
		return nil, err
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	st := fv.settings()
	n := b.X.Shape[0]
	h, w, c := imageShape(b.X)
	if st.diversity > 0 && n > MaxDiversityBatch {
		return nil, fmt.Errorf("methods: %s: diversity optimises the batch together: at most %d images, got %d", name, MaxDiversityBatch, n)
	}
	classes := t.Classes
	if gl.unit == nil && classes == nil {
		if classes, _, err = predict(ctx, m, b.X, gl, t, Chunking{}); err != nil {
			return nil, notApplicable(name, err)
		}
	}
	a, err := newAscent(name, m, gl, b, st, fv.Chunking.size(m))
	if err != nil {
		return nil, err
	}
	group := 1
	if st.diversity > 0 {
		group = n
	}
	raw := tensor.New(b.X.Shape...)
	scores := make([]float32, n)
	var probs []float64
	if gl.unit == nil {
		probs = make([]float64, n)
	}
	for _, ch := range chunks(n, group) {
		var cls []int
		if classes != nil {
			cls = classes[ch[0]:ch[1]]
		}
		tracks, err := a.optimise(ctx, b.X, ch[0], ch[1], cls, func(s int) { report(ctx, ch[0]*st.steps+(ch[1]-ch[0])*s, n*st.steps) })
		if err != nil {
			return nil, notApplicable(name, err)
		}
		part := raw.Slice(ch[0], ch[1])
		copy(part.Data, a.images(tracks).Data)
		rows, vals, err := a.score(ctx, part, cls)
		if err != nil {
			return nil, notApplicable(name, err)
		}
		copy(scores[ch[0]:], vals)
		if probs != nil {
			for i := ch[0]; i < ch[1]; i++ {
				if t.Probability {
					probs[i] = float64(vals[i-ch[0]])
					continue
				}
				k := gl.k
				probs[i] = tensor.ClassProbability(rows.Data[(i-ch[0])*k:(i-ch[0]+1)*k], classes[i], probabilityHead(m, gl.score))
			}
		}
	}
	mp := tensor.New(n, h, w)
	for p := range mp.Data {
		var s float32
		for j := 0; j < c; j++ {
			s += raw.Data[p*c+j]
		}
		mp.Data[p] = s / float32(c)
	}
	out := &Maps{Method: name, Map: mp, Signed: true, Raw: raw, Scores: scores}
	if gl.unit == nil {
		out.Classes = classes
		out.Info = map[string][]float64{"probability": probs}
	}
	return out, nil
}

// ascent is the optimisation of a batch on a model: the parameterization,
// the range, the regularizers, and the layer of the diversity term.
type ascent struct {
	m             Model
	gl            goal
	st            fvSettings
	param         imageParam
	h, w, c       int
	black, white  []float64
	mid           []float64
	x0            []float64 // the L2 centre of each image [N·H·W·C] (nil: mid)
	divLayer      string
	divPos, divCh int
	name          string
	chunk         int // images per session run
	rules         *tfgraph.RuleSet
}

// openReLU is the rule set of the warm-up steps: the ReLU family passes the
// whole signal back whatever its input (Xplique's open_relu_policy for its
// warmup_steps), so that a unit that is zero on the start, where the true
// gradient is zero too, still gets a direction to grow in.
var openReLU = &tfgraph.RuleSet{Name: "open-relu", Rules: map[string]tfgraph.Rule{
	"Relu": openRelu, "Relu6": openRelu, "LeakyRelu": openRelu, "Elu": openRelu, "Selu": openRelu,
}}

func openRelu(b *tfgraph.Builder, n *tfgraph.Node) []tfgraph.Sym {
	out := make([]tfgraph.Sym, len(n.In))
	out[0] = n.Dy[0]
	return out
}

// runChunks runs the queries of the images x in chunks of a.chunk: q(lo,
// hi) is the query of images [lo, hi). It joins the chunks' results along
// the batch.
func (a *ascent) runChunks(ctx context.Context, x *tensor.Tensor, q func(lo, hi int) tfgraph.Query) (*tfgraph.Result, error) {
	var parts []*tfgraph.Result
	for _, c := range chunks(x.Shape[0], a.chunk) {
		res, err := a.m.Run(ctx, x.Slice(c[0], c[1]), q(c[0], c[1]))
		if err != nil {
			return nil, err
		}
		parts = append(parts, res)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	out := &tfgraph.Result{Fetched: make([]*tensor.Tensor, len(parts[0].Fetched)), Grads: make([]*tensor.Tensor, len(parts[0].Grads))}
	join := func(dst []*tensor.Tensor, get func(*tfgraph.Result) []*tensor.Tensor) error {
		for k := range dst {
			var ts []*tensor.Tensor
			for _, p := range parts {
				ts = append(ts, get(p)[k])
			}
			var err error
			if dst[k], err = tensor.Concat(ts...); err != nil {
				return err
			}
		}
		return nil
	}
	if err := join(out.Fetched, func(r *tfgraph.Result) []*tensor.Tensor { return r.Fetched }); err != nil {
		return nil, err
	}
	return out, join(out.Grads, func(r *tfgraph.Result) []*tensor.Tensor { return r.Grads })
}

// score is the target's value on the images x (and, for classes, the class
// score rows).
func (a *ascent) score(ctx context.Context, x *tensor.Tensor, cls []int) (*tensor.Tensor, []float32, error) {
	res, err := a.runChunks(ctx, x, func(lo, hi int) tfgraph.Query { return tfgraph.Query{Fetch: []string{a.gl.score}} })
	if err != nil {
		return nil, nil, err
	}
	_, vals := a.gl.values(res.Fetched[0], cls)
	return res.Fetched[0], vals, nil
}

func newAscent(name string, m Model, gl goal, b Batch, st fvSettings, chunk int) (*ascent, error) {
	h, w, c := imageShape(b.X)
	a := &ascent{m: m, gl: gl, st: st, h: h, w: w, c: c, name: name, chunk: chunk,
		black: make([]float64, c), white: make([]float64, c), mid: make([]float64, c)}
	for j := 0; j < c; j++ {
		a.black[j], a.white[j] = float64(b.Black[j]), float64(b.White[j])
		a.mid[j] = (a.black[j] + a.white[j]) / 2
	}
	dec := st.fourier && c == 3
	if st.decorrelate != nil {
		dec = *st.decorrelate
	}
	if dec && c != 3 {
		return nil, fmt.Errorf("methods: %s: decorrelate needs three colour channels; the input has %d", name, c)
	}
	if dec && st.input {
		return nil, fmt.Errorf("methods: %s: init input needs the pixels' own colours (decorrelate false)", name)
	}
	if dec && st.rng == "clip" {
		return nil, fmt.Errorf("methods: %s: range clip projects the pixels; with decorrelated colour use sigmoid or none", name)
	}
	if st.tr.jitter >= max(h, w) {
		return nil, fmt.Errorf("methods: %s: jitter %d is not less than the image size %dx%d", name, st.tr.jitter, h, w)
	}
	if st.fourier {
		a.param = newFourierParam(h, w, c, st.decay, dec)
	} else {
		a.param = &pixelParam{h: h, w: w, c: c}
		if dec {
			a.param = &colourParam{inner: a.param, m: decorrelation()}
		}
	}
	if st.diversity > 0 {
		layer := st.diversityLayer
		var l tfgraph.Layer
		var err error
		switch {
		case layer != "":
			l, err = m.Layer(layer)
		case gl.unit != nil:
			l = gl.unit.layer
		default:
			l, err = m.CAMLayer()
		}
		if err != nil {
			return nil, fmt.Errorf("methods: %s: diversity layer: %w", name, err)
		}
		s := m.Shape(l.Output)
		if len(s) < 2 || slices.ContainsFunc(s[1:], func(d int64) bool { return d < 1 }) {
			return nil, fmt.Errorf("methods: %s: diversity layer %s has output shape %v; it needs a static [N,…,C]", name, l.Name, s)
		}
		a.divLayer = l.Output
		a.divCh = int(s[len(s)-1])
		a.divPos = 1
		for _, d := range s[1 : len(s)-1] {
			a.divPos *= int(d)
		}
	}
	if st.input {
		a.x0 = make([]float64, b.X.Len())
		for i, v := range b.X.Data {
			a.x0[i] = float64(v)
		}
	}
	return a, nil
}

// optimise runs the ascent of images [lo, hi) of x (optimised together),
// with their classes cls, and returns their tracks. With restarts, each
// image first runs its candidates together for restart_steps and goes on
// with the one whose image has the largest value.
func (a *ascent) optimise(ctx context.Context, x *tensor.Tensor, lo, hi int, cls []int, step func(int)) ([]*track, error) {
	var tracks []*track
	for i := lo; i < hi; i++ {
		tracks = append(tracks, a.newTrack(x, i, 0))
	}
	from := 0
	if r := a.st.restarts; r > 1 && hi-lo == 1 && a.st.diversity == 0 {
		from = min(a.st.restartSteps, a.st.steps)
		cands := tracks
		ccls := slices.Clone(cls)
		for k := 1; k < r; k++ {
			cands = append(cands, a.newTrack(x, lo, k))
			if cls != nil {
				ccls = append(ccls, cls[0])
			}
		}
		if err := a.run(ctx, cands, ccls, 0, from, step); err != nil {
			return nil, err
		}
		_, vals, err := a.score(ctx, a.images(cands), ccls)
		if err != nil {
			return nil, err
		}
		tracks = []*track{cands[argmax32(vals)]}
	}
	return tracks, a.run(ctx, tracks, cls, from, a.st.steps, step)
}

// argmax32 is the index of the largest value (the first on ties).
func argmax32(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// track is one image under optimisation: its parameters, Adam's moments,
// and its stream of transformations.
type track struct {
	image       int // its image in the batch
	theta, m, v []float64
	rng         *rand.Rand
}

// newTrack is the start of candidate r of image i of x, with random
// streams of the seed for the start and the transformations: candidate r's,
// and with diversity image i's.
func (a *ascent) newTrack(x *tensor.Tensor, i, r int) *track {
	stream := 0x6665617476697a00 ^ uint64(r)<<32
	if a.st.diversity > 0 {
		stream ^= uint64(i)
	}
	tr := &track{image: i, theta: make([]float64, a.param.size()),
		rng: rand.New(rand.NewPCG(a.st.seed^0x7472616e73666f72, stream))}
	if a.st.adam {
		tr.m, tr.v = make([]float64, len(tr.theta)), make([]float64, len(tr.theta))
	}
	th := tr.theta
	switch {
	case a.st.input:
		per := a.h * a.w * a.c
		for p, v := range x.Data[i*per : (i+1)*per] {
			j := p % a.c
			switch a.st.rng {
			case "sigmoid":
				f := (float64(v) - a.black[j]) / (a.white[j] - a.black[j])
				f = min(max(f, 1e-4), 1-1e-4)
				th[p] = math.Log(f / (1 - f))
			default:
				th[p] = (float64(v) - a.mid[j]) / (a.white[j] - a.black[j])
			}
		}
	case a.st.initSD > 0:
		r := rand.New(rand.NewPCG(a.st.seed, stream))
		for p := range th {
			th[p] = a.st.initSD * r.NormFloat64()
		}
	}
	if a.st.rng == "clip" {
		for p := range th {
			th[p] = min(max(th[p], -0.5), 0.5)
		}
	}
	return tr
}

// images are the images x = R(Pθ) of tracks, as a batch for the model.
func (a *ascent) images(tracks []*track) *tensor.Tensor {
	per := a.h * a.w * a.c
	out := tensor.New(len(tracks), a.h, a.w, a.c)
	u := make([]float64, per)
	for i, tr := range tracks {
		a.param.image(u, tr.theta)
		a.toRange(u, u)
		for p, v := range u {
			out.Data[i*per+p] = float32(v)
		}
	}
	return out
}

// toRange writes x = R(u).
func (a *ascent) toRange(x, u []float64) {
	for p, v := range u {
		j := p % a.c
		if a.st.rng == "sigmoid" {
			x[p] = a.black[j] + (a.white[j]-a.black[j])/(1+math.Exp(-v))
		} else {
			x[p] = a.mid[j] + (a.white[j]-a.black[j])*v
		}
	}
}

// objective is one evaluation of the objective of a group of images under
// one step's transformations.
type objective struct {
	total  float64   // J summed over the group
	values []float32 // the target's value at each transformed image
	div    float64   // D of the group
}

// evaluate computes J(θ) for the tracks (with classes cls) under the
// transforms warps (nil entries: no transform), and writes ∂J/∂θ into
// grad.
func (a *ascent) evaluate(ctx context.Context, tracks []*track, cls []int, warps []*warp, grad [][]float64) (objective, error) {
	g := len(tracks)
	per := a.h * a.w * a.c
	us := make([][]float64, g)
	xs := make([][]float64, g)
	in := tensor.New(g, a.h, a.w, a.c)
	tmp := make([]float64, per)
	for i, tr := range tracks {
		us[i] = make([]float64, per)
		xs[i] = make([]float64, per)
		a.param.image(us[i], tr.theta)
		a.toRange(xs[i], us[i])
		src := xs[i]
		if warps[i] != nil {
			warps[i].apply(tmp, xs[i], a.c)
			src = tmp
		}
		for p, v := range src {
			in.Data[i*per+p] = float32(v)
		}
	}
	var ob objective
	var seed *tensor.Tensor // the diversity term's seed on its layer
	merged := true          // with the unit's seed in it
	if a.st.diversity > 0 && g > 1 {
		res, err := a.runChunks(ctx, in, func(lo, hi int) tfgraph.Query { return tfgraph.Query{Fetch: []string{a.divLayer}} })
		if err != nil {
			return ob, err
		}
		act := res.Fetched[0]
		seed = tensor.New(act.Shape...)
		ob.div = diversity(seed.Data, act.Data, g, a.divPos, a.divCh)
		for k := range seed.Data {
			seed.Data[k] *= float32(-a.st.diversity)
		}
		if u := a.gl.unit; u != nil && a.divLayer == a.gl.score && a.rules == nil {
			// The unit's layer is the diversity term's, and one backward
			// pass carries both seeds: the unit's (the strongest
			// activation's one-hot, found in the activations as Pick
			// finds it) is added to the term's.
			addUnitSeed(seed, act, u)
		} else {
			merged = false
		}
	}
	res, err := a.runChunks(ctx, in, func(lo, hi int) tfgraph.Query {
		var c []int
		if cls != nil {
			c = cls[lo:hi]
		}
		q := tfgraph.Query{Fetch: []string{a.gl.score}, Grads: []tfgraph.Grad{a.gl.grad("", a.rules, c, hi-lo)}}
		switch {
		case seed != nil && merged:
			q.Grads = []tfgraph.Grad{{Start: a.divLayer, Seed: seed.Slice(lo, hi)}}
		case seed != nil:
			q.Grads = append(q.Grads, tfgraph.Grad{Start: a.divLayer, Seed: seed.Slice(lo, hi)})
		}
		return q
	})
	if err != nil {
		return ob, err
	}
	_, ob.values = a.gl.values(res.Fetched[0], cls)
	gx := make([]float64, per)
	for i := range tracks {
		for p := range tmp {
			v := float64(res.Grads[0].Data[i*per+p])
			if len(res.Grads) > 1 {
				v += float64(res.Grads[1].Data[i*per+p])
			}
			tmp[p] = v
		}
		if warps[i] != nil {
			warps[i].adjoint(gx, tmp, a.c)
		} else {
			copy(gx, tmp)
		}
		ob.total += float64(ob.values[i])
		// The regularizers act on the image in units of the input range,
		// n = (x − black)/(white − black), and so does the gradient from
		// here on: n = ½ + u (clip, none) or σ(u) (sigmoid).
		x, u := xs[i], us[i]
		for p, v := range x {
			j := p % a.c
			d := a.white[j] - a.black[j]
			gx[p] *= d
			tmp[p] = (v - a.black[j]) / d
		}
		nx := tmp
		if a.st.l2 > 0 {
			var s float64
			w := a.st.l2 / float64(per) // the mean square
			for p, v := range nx {
				d := v - a.centre(tracks[i].image, p)
				s += d * d
				gx[p] -= 2 * w * d
			}
			ob.total -= w * s
		}
		if a.st.tv > 0 {
			ob.total -= a.st.tv * totalVariation(gx, nx, a.h, a.w, a.c, a.st.tv)
		}
		if a.st.rng == "sigmoid" {
			for p, v := range u {
				s := 1 / (1 + math.Exp(-v))
				gx[p] *= s * (1 - s)
			}
		}
		a.param.adjoint(grad[i], gx)
	}
	ob.total -= a.st.diversity * ob.div
	return ob, nil
}

// addUnitSeed adds the seed of unit u, on its layer's activations act [N,
// ...], to seed: its fixed seed, or the one-hot of its strongest activation
// in each image (the first in raster order on ties, as Grad.Pick).
func addUnitSeed(seed, act *tensor.Tensor, u *unitGoal) {
	n := act.Shape[0]
	per := len(act.Data) / n
	for i := 0; i < n; i++ {
		row := act.Data[i*per : (i+1)*per]
		out := seed.Data[i*per : (i+1)*per]
		if u.pick == nil {
			for p, w := range u.seed.Data {
				out[p] += w
			}
			continue
		}
		best := -1
		for p, v := range row {
			if u.pick.Data[p] != 0 && (best < 0 || v > row[best]) {
				best = p
			}
		}
		out[best]++
	}
}

// centre is x₀ at value p of image i, in units of the input range.
func (a *ascent) centre(i, p int) float64 {
	if a.x0 != nil {
		j := p % a.c
		return (a.x0[i*a.h*a.w*a.c+p] - a.black[j]) / (a.white[j] - a.black[j])
	}
	return 0.5
}

// run takes steps from to to of the tracks, optimised together (with
// classes cls), in place.
func (a *ascent) run(ctx context.Context, tracks []*track, cls []int, from, to int, step func(int)) error {
	g := len(tracks)
	grad := make([][]float64, g)
	for i, tr := range tracks {
		grad[i] = make([]float64, len(tr.theta))
	}
	warps := make([]*warp, g)
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for s := from; s < to; s++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		step(s)
		a.rules = nil
		if s < a.st.warmup && a.gl.unit != nil {
			a.rules = openReLU
		}
		for i, tr := range tracks {
			warps[i] = a.st.tr.draw(tr.rng, a.h, a.w)
		}
		if _, err := a.evaluate(ctx, tracks, cls, warps, grad); err != nil {
			return err
		}
		c1, c2 := 1-math.Pow(b1, float64(s+1)), 1-math.Pow(b2, float64(s+1))
		for i, tr := range tracks {
			th, gr := tr.theta, grad[i]
			if !a.st.adam {
				for p := range th {
					th[p] += a.st.lr * gr[p]
				}
			} else {
				m, v := tr.m, tr.v
				for p := range th {
					m[p] = b1*m[p] + (1-b1)*gr[p]
					v[p] = b2*v[p] + (1-b2)*gr[p]*gr[p]
					th[p] += a.st.lr * (m[p] / c1) / (math.Sqrt(v[p]/c2) + eps)
				}
			}
			if a.st.rng == "clip" {
				for p := range th {
					th[p] = min(max(th[p], -0.5), 0.5)
				}
			}
			if a.st.blur > 0 && (s+1)%a.st.every == 0 {
				a.param.blur(th, a.st.blur)
			}
		}
	}
	return nil
}

// colourParam is a parameterization followed by a colour mixing M at every
// pixel (Lucid's decorrelated colour on pixels).
type colourParam struct {
	inner imageParam
	m     *[3][3]float64
}

func (p *colourParam) size() int { return p.inner.size() }
func (p *colourParam) image(u, theta []float64) {
	p.inner.image(u, theta)
	mixColour(u, p.m, false)
}
func (p *colourParam) adjoint(dst, g []float64) {
	t := append([]float64(nil), g...)
	mixColour(t, p.m, true)
	p.inner.adjoint(dst, t)
}
func (p *colourParam) blur(theta []float64, sigma float64) { p.inner.blur(theta, sigma) }
