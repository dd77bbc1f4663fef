package attack

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Attack is the targeted attack of Ghorbani et al. (2019) on saliency maps:
// a perturbation of each image within an L∞ ball that keeps the model's
// prediction and moves the map as far as it can from the original one.
//
// For a Differentiable method it is the paper's iterative attack. The map
// M(x) of the method on a smooth copy of the model (every ReLU replaced by
// softplus(βx)/β, tfgraph.Flat.Softplus: the ReLU network's maps have zero
// derivatives almost everywhere) is differentiated with respect to the
// input through a dissimilarity D (Loss), and
//
//	x ← Π(x − α·sign(∇ₓ D(M(x), M₀)))
//
// where Π projects onto the ball ‖x − x₀‖∞ ≤ ε and onto the input range.
// Each iterate is checked on the real model: its prediction must stay the
// original one, or the iterate is not accepted (the image goes back to its
// last accepted iterate and its step is halved). Of the accepted iterates,
// each image keeps the one whose map on the real model has the lowest top-k
// intersection with the original map, ties broken by the lower Spearman
// correlation of |map| (under the CenterOfMass loss: the largest shift of
// the centre of mass, ties by the lower top-k intersection).
//
// For other methods (guided backprop and deconvnet change the ReLU's
// backward rule, the CAM family reads a layer; see methods.Differentiable)
// the attack falls back to a derivative-free random search (Result.Search
// is RandomSearch, Result.Why says why): for Steps rounds, each image's
// proposal adds random signs to its current perturbation (of size ε in the
// first round, ε/4 after; projected as above), and is kept when the
// prediction stays and the top-k intersection falls.
//
// The zero value of every field but Epsilon is its default.
type Attack struct {
	// Epsilon is the L∞ budget, a fraction of the range from a black to a
	// white pixel, in (0, 1].
	Epsilon float64
	// Steps is the number of iterations (default 20).
	Steps int
	// StepSize is α, a fraction of the range (default Epsilon/4: four steps
	// of one sign cross the ball's radius).
	StepSize float64
	// Beta is the β of the softplus copy (default 30; see DefaultBeta).
	Beta float64
	// Loss is the dissimilarity (default TopK).
	Loss Loss
	// TopK is k of the top-k set, a fraction of the map's pixels (default
	// 0.1).
	TopK float64
	// Samples bounds the Integrated Gradients steps and SmoothGrad samples
	// of the attack's gradient (default 10; the maps on the real model keep
	// the method's own): each costs a second-order run.
	Samples int
	// Seed seeds the random search.
	Seed uint64
}

// The defaults.
const (
	DefaultSteps   = 20
	DefaultTopK    = 0.1
	DefaultSamples = 10
	// DefaultBeta is the softplus β: large enough that the softplus
	// copy's maps stand for the ReLU network's, small enough that its
	// second derivatives (softplus″ peaks at β/4 and vanishes elsewhere)
	// reach past the nearest kinks. Measured on 30 Fashion-MNIST images
	// (inputs in [0, 1], docs/experiments.md): at β = 30 the copy predicts
	// every image's class and its gradient and Integrated Gradients maps
	// share 80–90% of their top-10% pixels with the ReLU network's
	// (Spearman of |map| 0.86–0.99; 0.61–0.95 at β = 10, where 2 of 30
	// predictions differ); the attack is stronger than at β = 10 or 100.
	DefaultBeta = 30.0
	// MaxSteps bounds Steps.
	MaxSteps = 10000
)

// Search says how an attack searched.
type Search string

// The searches.
const (
	// Gradient is the iterative attack on the map's gradient.
	Gradient Search = "gradient"
	// RandomSearch is the derivative-free fallback.
	RandomSearch Search = "random-search"
)

// Result is the outcome of an attack on a batch.
type Result struct {
	// X holds the perturbed images kept ([N,H,W,C]; an image with no
	// accepted iterate is the original).
	X *tensor.Tensor
	// Map holds their maps on the model [N,H,W] (the original map where no
	// iterate was accepted).
	Map *tensor.Tensor
	// TopK, Spearman and Shift compare each kept map with the original:
	// the top-k intersection, the Spearman correlation of |map|, and the
	// distance in pixels between the centres of mass of |map|.
	TopK, Spearman, Shift []float64
	// Accepted counts the iterates of each image that kept the prediction.
	Accepted []int
	// Predicted is the model's class for each original image, which every
	// kept image keeps.
	Predicted []int
	// Search is how the attack searched; Why, for RandomSearch, says why
	// the gradient was not used.
	Search Search
	Why    string
	// Beta is the softplus β of a Gradient search.
	Beta float64
}

// Validate checks the settings.
func (a *Attack) Validate() error {
	switch {
	case !(a.Epsilon > 0 && a.Epsilon <= 1):
		return fmt.Errorf("attack: epsilon must be in (0, 1], got %g", a.Epsilon)
	case a.Steps < 0 || a.Steps > MaxSteps:
		return fmt.Errorf("attack: steps must be in [0, %d], got %d", MaxSteps, a.Steps)
	case a.StepSize < 0 || math.IsNaN(a.StepSize) || math.IsInf(a.StepSize, 0):
		return fmt.Errorf("attack: step size must be finite and ≥ 0, got %g", a.StepSize)
	case a.Beta < 0 || math.IsNaN(a.Beta) || math.IsInf(a.Beta, 0):
		return fmt.Errorf("attack: β must be finite and ≥ 0, got %g", a.Beta)
	case !(a.TopK >= 0 && a.TopK <= 1):
		return fmt.Errorf("attack: top-k must be in [0, 1], got %g", a.TopK)
	case a.Samples < 0:
		return fmt.Errorf("attack: samples must be ≥ 0, got %d", a.Samples)
	}
	return a.Loss.Validate()
}

func (a *Attack) steps() int {
	if a.Steps == 0 {
		return DefaultSteps
	}
	return a.Steps
}

func (a *Attack) stepSize() float64 {
	if a.StepSize == 0 {
		return a.Epsilon / 4
	}
	return a.StepSize
}

func (a *Attack) beta() float64 {
	if a.Beta == 0 {
		return DefaultBeta
	}
	return a.Beta
}

func (a *Attack) samples() int {
	if a.Samples == 0 {
		return DefaultSamples
	}
	return a.Samples
}

// K is the size of the top-k set of a map of the given pixels.
func (a *Attack) K(pixels int) int {
	f := a.TopK
	if f == 0 {
		f = DefaultTopK
	}
	return min(pixels, max(1, int(math.Ceil(f*float64(pixels)))))
}

// state is an attack in progress on one batch.
type state struct {
	a         *Attack
	m         *tfgraph.Flat
	meth      methods.Method
	b         methods.Batch
	t         methods.Target
	orig      *methods.Maps
	n, h, w   int
	per       int // values of an image
	k         int
	predicted []int
	lo, hi    []float32 // the input range per channel
	radius    []float32 // ε per channel
	res       *Result
	best      [][2]float64 // the kept map's (top-k, Spearman), or (−shift, top-k) under CenterOfMass: lower is further
}

// Run attacks the images of b, whose maps by meth on m, for target t, are
// orig (from meth.Explain). The maps of every iterate are meth's, for the
// classes orig explains (t.Classes when given).
func (a *Attack) Run(ctx context.Context, m *tfgraph.Flat, meth methods.Method, b methods.Batch, t methods.Target, orig *methods.Maps) (*Result, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	s, err := a.start(ctx, m, meth, b, t, orig)
	if err != nil {
		return nil, err
	}
	why := fmt.Sprintf("%s is not differentiable here (only gradient, gradient-x-input, integrated-gradients and smoothgrad around them)", meth.Name())
	if d, ok := meth.(methods.Differentiable); ok {
		err := s.gradient(ctx, d)
		var na *methods.NotApplicableError
		if !errors.As(err, &na) {
			if err != nil {
				return nil, err
			}
			return s.res, nil
		}
		why = strings.TrimPrefix(err.Error(), "methods: ")
		// Start again: the search failed before its first check, or at a
		// later one (an op of the softplus copy without a second-order
		// rule, say).
		if s, err = a.start(ctx, m, meth, b, t, orig); err != nil {
			return nil, err
		}
	}
	s.res.Search, s.res.Why, s.res.Beta = RandomSearch, why, 0
	if err := s.random(ctx); err != nil {
		return nil, err
	}
	return s.res, nil
}

// start checks the inputs and sets up the state: the original maps as the
// kept ones, and the predictions on the original images.
func (a *Attack) start(ctx context.Context, m *tfgraph.Flat, meth methods.Method, b methods.Batch, t methods.Target, orig *methods.Maps) (*state, error) {
	if b.X == nil || len(b.X.Shape) != 4 || b.X.Shape[0] < 1 {
		return nil, fmt.Errorf("attack: images of shape %v, want [N,H,W,C]", shapeOf(b.X))
	}
	n, h, w, c := b.X.Shape[0], b.X.Shape[1], b.X.Shape[2], b.X.Shape[3]
	if orig == nil || orig.Map == nil || !tensor.SameShape(orig.Map.Shape, []int{n, h, w}) {
		return nil, fmt.Errorf("attack: original maps of shape %v for images of %v", shapeOf(mapOf(orig)), b.X.Shape)
	}
	if b.Black == nil {
		b.Black = make([]float32, c)
	}
	if b.White == nil {
		b.White = make([]float32, c)
		for i := range b.White {
			b.White[i] = 1
		}
	}
	if len(b.Black) != c || len(b.White) != c {
		return nil, fmt.Errorf("attack: black and white have %d and %d values for %d channels", len(b.Black), len(b.White), c)
	}
	if t.Classes == nil && t.Unit == nil {
		t.Classes = orig.Classes
	}
	s := &state{a: a, m: m, meth: meth, b: b, t: t, orig: orig, n: n, h: h, w: w, per: h * w * c, k: a.K(h * w)}
	for ch := range c {
		lo, hi := min(b.Black[ch], b.White[ch]), max(b.Black[ch], b.White[ch])
		s.lo, s.hi = append(s.lo, lo), append(s.hi, hi)
		s.radius = append(s.radius, float32(a.Epsilon*float64(hi-lo)))
	}
	var err error
	if s.predicted, err = predictions(ctx, m, b.X); err != nil {
		return nil, err
	}
	s.res = &Result{X: b.X.Clone(), Map: orig.Map.Clone(), TopK: make([]float64, n), Spearman: make([]float64, n), Shift: make([]float64, n),
		Accepted: make([]int, n), Predicted: s.predicted, Search: Gradient, Beta: a.beta()}
	s.best = make([][2]float64, n)
	for i := range n {
		s.res.TopK[i], s.res.Spearman[i] = 1, 1
		s.best[i] = [2]float64{1, 1}
		if a.Loss == CenterOfMass {
			s.best[i] = [2]float64{0, 1}
		}
	}
	return s, nil
}

// gradient is the iterative attack on the softplus copy.
func (s *state) gradient(ctx context.Context, d methods.Differentiable) error {
	a := s.a
	sp, err := s.m.Softplus(a.beta())
	if err != nil {
		return err
	}
	sur := surrogate(d, a.samples())
	// The dissimilarity of each image, from the original map on the model.
	ds := make([]dissimilarity, s.n)
	for i := range s.n {
		om := s.orig.Map.Item(i).Data
		ds[i] = dissimilarity{loss: a.Loss, h: s.h, w: s.w}
		if a.Loss == CenterOfMass {
			ds[i].r0, ds[i].c0 = CenterOfMassOf(om, s.h, s.w)
		} else {
			ds[i].top = TopKSet(om, s.k)
		}
	}
	cur := s.b.X.Clone()
	alpha := make([]float64, s.n) // per image: halved when an iterate is not accepted
	for i := range alpha {
		alpha[i] = a.stepSize()
	}
	hw := s.h * s.w
	for range a.steps() {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := s.b
		b.X = cur
		sm, err := sur.Explain(ctx, sp, b, s.t)
		if err != nil {
			return err
		}
		v := tensor.New(s.n, s.h, s.w)
		for i := range s.n {
			ds[i].eval(sm.Map.Data[i*hw:(i+1)*hw], v.Data[i*hw:(i+1)*hw])
		}
		g, err := methods.MapGrad(ctx, sur, sp, b, s.t, sm, v)
		if err != nil {
			return err
		}
		cand := tensor.New(cur.Shape...)
		for i := range s.n {
			for q := i * s.per; q < (i+1)*s.per; q++ {
				ch := q % len(s.lo)
				step := float32(alpha[i]) * (s.hi[ch] - s.lo[ch])
				x := cur.Data[q]
				switch {
				case g.Data[q] > 0:
					x -= step
				case g.Data[q] < 0:
					x += step
				}
				cand.Data[q] = s.project(q, x)
			}
		}
		ok, _, err := s.check(ctx, cand)
		if err != nil {
			return err
		}
		for i := range s.n {
			if ok[i] {
				copy(cur.Data[i*s.per:(i+1)*s.per], cand.Data[i*s.per:(i+1)*s.per])
			} else {
				alpha[i] /= 2
			}
		}
	}
	return nil
}

// random is the derivative-free search, seeded per image (by its values)
// and round.
func (s *state) random(ctx context.Context) error {
	a := s.a
	cur := s.b.X.Clone()
	seeds := make([]uint64, s.n)
	for i := range s.n {
		h := fnv.New64a()
		for _, v := range s.b.X.Data[i*s.per : (i+1)*s.per] {
			u := math.Float32bits(v)
			h.Write([]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)})
		}
		seeds[i] = h.Sum64()
	}
	for round := range a.steps() {
		if err := ctx.Err(); err != nil {
			return err
		}
		cand := tensor.New(cur.Shape...)
		for i := range s.n {
			rng := rand.New(rand.NewPCG(a.Seed^0x61747461636b, seeds[i]^uint64(round)))
			for q := i * s.per; q < (i+1)*s.per; q++ {
				// The first proposal is random signs of the ball's full
				// radius (the random perturbation the attack must beat),
				// the others steps of a quarter of it.
				step := s.radius[q%len(s.lo)] / 4
				if round == 0 {
					step *= 4
				}
				if rng.Uint64()&1 == 0 {
					step = -step
				}
				cand.Data[q] = s.project(q, cur.Data[q]+step)
			}
		}
		_, better, err := s.check(ctx, cand)
		if err != nil {
			return err
		}
		for i := range s.n {
			if better[i] {
				copy(cur.Data[i*s.per:(i+1)*s.per], cand.Data[i*s.per:(i+1)*s.per])
			}
		}
	}
	return nil
}

// project clips value x of entry q to the ε-ball around the original image
// and to the input range.
func (s *state) project(q int, x float32) float32 {
	ch := q % len(s.lo)
	x0, r := s.b.X.Data[q], s.radius[ch]
	x = min(max(x, x0-r), x0+r)
	return min(max(x, s.lo[ch]), s.hi[ch])
}

// check computes the maps and predictions of the candidates on the model;
// a candidate that keeps its prediction is accepted, and kept when its map
// is further from the original than the kept one. It says which were
// accepted and which kept.
func (s *state) check(ctx context.Context, cand *tensor.Tensor) (accepted, kept []bool, err error) {
	b := s.b
	b.X = cand
	res, err := s.meth.Explain(ctx, s.m, b, s.t)
	if err != nil {
		return nil, nil, err
	}
	pred, err := predictions(ctx, s.m, cand)
	if err != nil {
		return nil, nil, err
	}
	accepted, kept = make([]bool, s.n), make([]bool, s.n)
	hw := s.h * s.w
	for i := range s.n {
		if pred[i] != s.predicted[i] {
			continue
		}
		accepted[i] = true
		s.res.Accepted[i]++
		om, nm := s.orig.Map.Data[i*hw:(i+1)*hw], res.Map.Data[i*hw:(i+1)*hw]
		t, err := metrics.TopKIntersection(om, nm, s.k)
		if err != nil {
			return nil, nil, err
		}
		sp := metrics.SpearmanAbs(om, nm)
		shift := CenterShift(om, nm, s.h, s.w)
		key := [2]float64{t, sp}
		if s.a.Loss == CenterOfMass {
			key = [2]float64{-shift, t}
		}
		if key[0] < s.best[i][0] || (key[0] == s.best[i][0] && key[1] < s.best[i][1]) {
			kept[i] = true
			s.best[i] = key
			s.res.TopK[i], s.res.Spearman[i], s.res.Shift[i] = t, sp, shift
			copy(s.res.X.Data[i*s.per:(i+1)*s.per], cand.Data[i*s.per:(i+1)*s.per])
			copy(s.res.Map.Data[i*hw:(i+1)*hw], nm)
		}
	}
	return accepted, kept, nil
}

// predictions is the argmax of the logits of each image, in forward runs of
// the default chunk size.
func predictions(ctx context.Context, m *tfgraph.Flat, x *tensor.Tensor) ([]int, error) {
	logits, _ := m.Logits()
	size := methods.Chunking{}.Size(m)
	var out []int
	for lo := 0; lo < x.Shape[0]; lo += size {
		res, err := m.Run(ctx, x.Slice(lo, min(lo+size, x.Shape[0])), tfgraph.Query{Fetch: []string{logits}})
		if err != nil {
			return nil, err
		}
		z := res.Fetched[0]
		k := z.Shape[1]
		for i := range z.Shape[0] {
			out = append(out, tensor.Argmax(z.Data[i*k:(i+1)*k]))
		}
	}
	return out, nil
}

// surrogate is d with at most n Integrated Gradients steps or SmoothGrad
// samples (the first n draws), for the attack's gradient.
func surrogate(d methods.Differentiable, n int) methods.Differentiable {
	switch v := d.(type) {
	case *methods.IntegratedGradients:
		c := *v
		if c.Steps == 0 {
			c.Steps = methods.DefaultSteps
		}
		c.Steps = min(c.Steps, n)
		return &c
	case *methods.SmoothGrad:
		c := *v
		if c.Samples == 0 {
			c.Samples = methods.DefaultSamples
		}
		c.Samples = min(c.Samples, n)
		if c.NoiseImages != nil {
			c.NoiseImages = c.NoiseImages.Slice(0, c.Samples)
		}
		return &c
	}
	return d
}

func shapeOf(t *tensor.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape
}

func mapOf(m *methods.Maps) *tensor.Tensor {
	if m == nil {
		return nil
	}
	return m.Map
}
