package methods

import (
	"context"
	"math/rand/v2"
	"slices"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// ClassModel is the class model visualisation of Simonyan et al. (2013): the
// image that maximises a class score (the logit, not the softmax), found by
// gradient ascent from a zero image with the trained weights fixed,
//
//	I* = argmax_I S_c(I) − λ‖I‖²,   I ← I + lr·(∂S_c/∂I − 2λI).
//
// Optional regularisers of Yosinski et al. (2015): random jitter (a cyclic
// shift of up to Jitter pixels before each step), a Gaussian blur every
// BlurEvery steps, and clipping to the range between a black and a white
// pixel. Each image of the batch gives one visualisation of its target class
// (the image itself is only the starting point when Init is "input"). Raw is
// the generated image; Info["probability"] is the probability of the class
// on it (softmax, or the sigmoid of a multi-label head).
//
// Each image is optimised in session runs of its own: gradient ascent through
// max-pool switches amplifies float rounding, which depends on the batch
// size, so batching the images would make a visualisation depend on the
// other images of the batch.
type ClassModel struct {
	// Steps is the number of ascent steps (default 200).
	Steps int `yaml:"steps"`
	// LR is the learning rate (default 0.05).
	LR float64 `yaml:"lr"`
	// L2 is λ (default 0.3).
	L2 *float64 `yaml:"l2"`
	// Jitter is the largest random shift in pixels (default 0: none).
	Jitter int `yaml:"jitter"`
	// Blur is the σ in pixels of a Gaussian blur applied every BlurEvery
	// steps (default 0: none; BlurEvery defaults to 4).
	Blur      float64 `yaml:"blur"`
	BlurEvery int     `yaml:"blur_every"`
	// Clip keeps the image between a black and a white pixel.
	Clip bool `yaml:"clip"`
	// Init is zeros (default) or input: start from the batch's image, which
	// is then also the centre of the L2 penalty, λ‖I − I₀‖². Simonyan et
	// al. start from the zero image of mean-centred inputs, that is from the
	// training set's mean image: pass that image with Init input for models
	// whose inputs are not centred.
	Init string `yaml:"init"`
	// Seed selects the jitter.
	Seed uint64 `yaml:"seed"`
}

var _ Method = (*ClassModel)(nil)

func init() { Register("class-model", func() Method { return &ClassModel{} }) }

// Name is "class-model".
func (cm *ClassModel) Name() string { return "class-model" }

// Defaults of the class model visualisation.
const (
	DefaultClassModelSteps = 200
	DefaultClassModelLR    = 0.05
	DefaultClassModelL2    = 0.3
)

// Validate checks the options.
func (cm *ClassModel) Validate() error {
	name := cm.Name()
	switch {
	case cm.Steps < 0 || cm.Jitter < 0 || cm.BlurEvery < 0:
		return optionErr(name, atFault([]string{"steps", "jitter", "blur_every"}, cm.Steps < 0, cm.Jitter < 0, cm.BlurEvery < 0),
			"steps, jitter and blur_every must be ≥ 0, got %d, %d, %d", cm.Steps, cm.Jitter, cm.BlurEvery)
	case cm.LR < 0 || cm.Blur < 0 || (cm.L2 != nil && *cm.L2 < 0):
		return optionErr(name, atFault([]string{"lr", "l2", "blur"}, cm.LR < 0, cm.L2 != nil && *cm.L2 < 0, cm.Blur < 0),
			"lr, l2 and blur must be ≥ 0")
	case cm.Blur > 100:
		// its kernel grows with σ: bounded as feature-visualization's
		return optionErr(name, []string{"blur"}, "blur must be in [0, 100] pixels, got %g", cm.Blur)
	case cm.Init != "" && !slices.Contains([]string{"zeros", "input"}, cm.Init):
		return optionErr(name, []string{"init"}, "init is zeros or input, not %q", cm.Init)
	}
	return nil
}

// Explain computes one visualisation per image of the batch.
func (cm *ClassModel) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := cm.Name()
	if err := cm.Validate(); err != nil {
		return nil, err
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if err := gl.classOnly(name); err != nil {
		return nil, err
	}
	score, k := gl.score, gl.k
	n := b.X.Shape[0]
	classes := t.Classes
	if classes == nil {
		if classes, _, err = predict(ctx, m, b.X, gl, t, Chunking{}); err != nil {
			return nil, notApplicable(name, err)
		}
	}
	steps, lr, l2 := cm.Steps, cm.LR, DefaultClassModelL2
	if steps == 0 {
		steps = DefaultClassModelSteps
	}
	if lr == 0 {
		lr = DefaultClassModelLR
	}
	if cm.L2 != nil {
		l2 = *cm.L2
	}
	every := cm.BlurEvery
	if every == 0 {
		every = 4
	}
	img := tensor.New(b.X.Shape...)
	if cm.Init == "input" {
		copy(img.Data, b.X.Data)
	}
	h, w, c := imageShape(b.X)
	scores := make([]float32, n)
	probs := make([]float64, n)
	for _, ch := range chunks(n, 1) {
		part := img.Slice(ch[0], ch[1])
		if err := cm.ascend(ctx, m, part, classes[ch[0]:ch[1]], score, k, b, steps, every, lr, l2, func(s int) { report(ctx, ch[0]*steps+s, n*steps) }); err != nil {
			return nil, notApplicable(name, err)
		}
		res, err := m.Run(ctx, part, tfgraph.Query{Fetch: []string{score}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		_, sc := pick(res.Fetched[0], classes[ch[0]:ch[1]])
		copy(scores[ch[0]:], sc)
		for i := ch[0]; i < ch[1]; i++ {
			probs[i] = tensor.ClassProbability(res.Fetched[0].Data[(i-ch[0])*k:(i-ch[0]+1)*k], classes[i], probabilityHead(m, score))
		}
	}
	mp := tensor.New(n, h, w)
	for p := range mp.Data {
		var s float32
		for j := 0; j < c; j++ {
			s += img.Data[p*c+j]
		}
		mp.Data[p] = s / float32(c)
	}
	return &Maps{Method: name, Map: mp, Signed: true, Raw: img, Classes: classes, Scores: scores,
		Info: map[string][]float64{"probability": probs}}, nil
}

// ascend runs the gradient ascent on img (a chunk of the batch) in place.
// The jitter of a chunk depends only on the seed, so results do not depend on
// how a batch is split.
func (cm *ClassModel) ascend(ctx context.Context, m Model, img *tensor.Tensor, classes []int, score string, k int, b Batch, steps, every int, lr, l2 float64, step func(int)) error {
	c := img.Shape[3]
	r := rand.New(rand.NewPCG(cm.Seed, 0x636c6173736d6f64))
	q := tfgraph.Query{Grads: []tfgraph.Grad{{Start: score, Seed: oneHot(classes, k)}}}
	shifted := tensor.New(img.Shape...)
	start := img.Clone() // the centre of the L2 penalty
	for s := 0; s < steps; s++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		step(s)
		dy, dx := 0, 0
		if cm.Jitter > 0 {
			dy, dx = r.IntN(2*cm.Jitter+1)-cm.Jitter, r.IntN(2*cm.Jitter+1)-cm.Jitter
		}
		in := img
		if dy != 0 || dx != 0 {
			roll(shifted, img, dy, dx)
			in = shifted
		}
		res, err := m.Run(ctx, in, q)
		if err != nil {
			return err
		}
		g := res.Grads[0]
		if dy != 0 || dx != 0 {
			roll(shifted, g, -dy, -dx)
			g = shifted
		}
		for i := range img.Data {
			img.Data[i] += float32(lr * (float64(g.Data[i]) - 2*l2*float64(img.Data[i]-start.Data[i])))
		}
		if cm.Blur > 0 && (s+1)%every == 0 {
			copy(img.Data, tensor.GaussianBlur(img, cm.Blur).Data)
		}
		if cm.Clip {
			for i := range img.Data {
				img.Data[i] = min(max(img.Data[i], b.Black[i%c]), b.White[i%c])
			}
		}
	}
	return nil
}

// roll writes src [N,H,W,C] shifted cyclically by (dy, dx) into dst.
func roll(dst, src *tensor.Tensor, dy, dx int) {
	n, h, w, c := src.Shape[0], src.Shape[1], src.Shape[2], src.Shape[3]
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			yy := ((y+dy)%h + h) % h
			for x := 0; x < w; x++ {
				xx := ((x+dx)%w + w) % w
				copy(dst.Data[((i*h+yy)*w+xx)*c:((i*h+yy)*w+xx+1)*c], src.Data[((i*h+y)*w+x)*c:((i*h+y)*w+x+1)*c])
			}
		}
	}
}
