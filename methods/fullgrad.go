package methods

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// FullGrad is FullGrad (Srinivas & Fleuret 2019): the input-gradient term
// and the bias-gradient terms of the full-gradient decomposition, each made
// a map by a post-processing ψ and summed,
//
//	M = ψ(∂S_c/∂I ⊙ I) + Σ_l Σ_k ψ(b_l^k · ∂S_c/∂z_l^k),
//
// where z_l is the output of a layer l that adds a bias b_l (a convolution's
// bias, a batch normalisation's effective bias β − μγ/√(σ²+ε); found by
// tfgraph.Flat.Biases) and ψ takes the absolute value, rescales the map to
// [0,1] (a constant map becomes 0) and upsamples it to the input size
// (bilinear). The sum runs over the channels k of each layer and of the
// input. Only layers with a map of positions count, [N,h,w,K] with a bias
// per channel (the paper's code and pytorch-grad-cam take convolutions and
// 2-D batch normalisations): dense layers, and the token layers of a
// transformer, whose positions are no pixels of a map, are left out (on a
// vision transformer the patch embedding is the one such layer). The map is
// non-negative, and class-specific through the gradients.
//
// Normalize says what ψ rescales: "channel" (the default) each channel's
// map, as the paper's equation and pytorch-grad-cam do; "layer" the maps of
// all the channels of a layer (or of the input) together, per image, as the
// authors' code does. Epsilon, when set, is added to the range ψ divides
// by, as the authors' code (10⁻⁶) and pytorch-grad-cam (10⁻⁷) add it: a map
// whose values span less than about Epsilon then counts for less than 1.
// That matters: on fmnist_resnet 37 channel maps span less than 10⁻⁴, and
// pytorch-grad-cam's map differs from the exact rescaling by 1.5·10⁻³ of its
// range (within 10⁻⁶ with epsilon 10⁻⁷). pytorch-grad-cam also rescales the
// final map to [0,1], which changes no correlation.
//
// One session run per chunk of images gives the gradient on the input and
// on every bias's output, from one backward pass (tfgraph.Grad.At). Info
// "decomposition-error" is |Σ I ⊙ ∂S_c/∂I + Σ_biases Σ b ⊙ ∂S_c/∂z − S_c| /
// |S_c| over every bias (dense layers' too): the decomposition is exact on
// networks that are piecewise linear in their input and biases (ReLU, max
// pooling, batch normalisation in inference), to float rounding, and only
// approximate elsewhere (GELU, LayerNorm, softmax attention, and ReLU6,
// whose clip at 6 is a constant with no term: 0.35 of the logit on a
// keras.applications MobileNet). Convolutions count with their biases
// wherever TensorFlow puts them (after the BatchToSpaceND of a dilated
// one).
type FullGrad struct {
	// Normalize is channel (default) or layer.
	Normalize string `yaml:"normalize"`
	// Epsilon is added to the range ψ divides by (0: exact rescaling).
	Epsilon  float64 `yaml:"epsilon"`
	Chunking `yaml:",inline"`
}

var _ Method = (*FullGrad)(nil)

func init() { Register("fullgrad", func() Method { return &FullGrad{} }) }

// Name is "fullgrad".
func (f *FullGrad) Name() string { return "fullgrad" }

// Validate checks the options.
func (f *FullGrad) Validate() error {
	switch f.Normalize {
	case "", "channel", "layer":
	default:
		return fmt.Errorf("methods: %s: normalize %q: want channel or layer", f.Name(), f.Normalize)
	}
	if f.Epsilon < 0 {
		return fmt.Errorf("methods: %s: epsilon must be ≥ 0, got %g", f.Name(), f.Epsilon)
	}
	return f.Chunking.validate(f.Name())
}

// biasLister is what FullGrad needs of a model beyond Model: its biases
// (*tfgraph.Flat lists them).
type biasLister interface {
	Biases(score string) ([]tfgraph.Bias, error)
}

// Explain computes the maps.
func (f *FullGrad) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := f.Name()
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if err := gl.classOnly(name); err != nil {
		return nil, err
	}
	bl, ok := m.(biasLister)
	if !ok {
		return nil, &NotApplicableError{Method: name, Err: errors.New("methods: the model does not list its biases (tfgraph.Flat.Biases)")}
	}
	biases, err := bl.Biases(gl.score)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	x := b.X
	n, hh, ww, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	mp := tensor.New(n, hh, ww)
	out := &Maps{Method: name, Map: mp, Info: map[string][]float64{"decomposition-error": make([]float64, n)}}
	layer := f.Normalize == "layer"
	for _, ch := range chunks(n, f.Chunking.size(m)) {
		var given []int
		if t.Classes != nil {
			given = t.Classes[ch[0]:ch[1]]
		}
		rows := ch[1] - ch[0]
		q := tfgraph.Query{Fetch: []string{gl.score}}
		g := gl.grad("", nil, given, rows)
		for _, bs := range biases {
			q.Fetch = append(q.Fetch, bs.Inputs...)
			g.At = append(g.At, bs.Output)
		}
		q.Grads = []tfgraph.Grad{g}
		xc := x.Slice(ch[0], ch[1])
		res, err := m.Run(ctx, xc, q)
		if err != nil {
			return nil, notApplicable(name, err)
		}
		cl, sc := gl.values(res.Fetched[0], given)
		out.Classes, out.Scores = append(out.Classes, cl...), append(out.Scores, sc...)
		acc := make([]float64, rows*hh*ww) // the map of the chunk
		decomp := make([]float64, rows)    // Σ x·g + Σ b·g per image
		gx := res.Grads[0]
		prod := make([]float64, len(gx.Data)) // |x ⊙ g|
		for i, v := range gx.Data {
			p := float64(v) * float64(xc.Data[i])
			decomp[i/(hh*ww*c)] += p
			prod[i] = math.Abs(p)
		}
		psi(prod, rows, hh*ww, c, layer, f.Epsilon, func(r, p int, v float64) { acc[r*hh*ww+p] += v })
		k := 1
		for j, bs := range biases {
			v, err := bs.Value(res.Fetched[k : k+len(bs.Inputs)])
			if err != nil {
				return nil, err
			}
			k += len(bs.Inputs)
			sig := res.At[0][j]
			if err := biasTerm(name, bs, v, sig, decomp); err != nil {
				return nil, err
			}
			s := sig.Shape
			if len(s) != 4 || len(v.Data) != s[3] || v.Shape[len(v.Shape)-1] != s[3] {
				continue // no map of positions with a bias per channel
			}
			h, w, kc := s[1], s[2], s[3]
			prod := make([]float64, len(sig.Data))
			for e, sv := range sig.Data {
				prod[e] = math.Abs(float64(v.Data[e%kc]) * float64(sv))
			}
			low := make([]float64, rows*h*w)
			psi(prod, rows, h*w, kc, layer, f.Epsilon, func(r, p int, v float64) { low[r*h*w+p] += v })
			lt := tensor.New(rows, h, w)
			for e, v := range low {
				lt.Data[e] = float32(v)
			}
			up, err := tensor.Resize(lt, hh, ww)
			if err != nil {
				return nil, err
			}
			for e, v := range up.Data {
				acc[e] += float64(v)
			}
		}
		for e, v := range acc {
			mp.Data[ch[0]*hh*ww+e] = float32(v)
		}
		for r, d := range decomp {
			s := float64(sc[r])
			out.Info["decomposition-error"][ch[0]+r] = math.Abs(d-s) / math.Abs(s)
		}
	}
	return out, nil
}

// psi is FullGrad's post-processing of the non-negative values v of rows
// images, each [pos, k]: each channel's map (each image's, when layer is
// set) rescaled to [0,1], 0 where it is constant; with eps > 0, (v − min) /
// (max − min + eps). It hands each rescaled value to add with its image and
// position, to sum over the channels.
func psi(v []float64, rows, pos, k int, layer bool, eps float64, add func(r, p int, v float64)) {
	lo, hi := make([]float64, k), make([]float64, k)
	for r := 0; r < rows; r++ {
		img := v[r*pos*k : (r+1)*pos*k]
		for c := 0; c < k; c++ {
			lo[c], hi[c] = math.Inf(1), math.Inf(-1)
		}
		for e, x := range img {
			lo[e%k], hi[e%k] = min(lo[e%k], x), max(hi[e%k], x)
		}
		if layer {
			l, h := lo[0], hi[0]
			for c := 1; c < k; c++ {
				l, h = min(l, lo[c]), max(h, hi[c])
			}
			for c := range lo {
				lo[c], hi[c] = l, h
			}
		}
		for e, x := range img {
			if c := e % k; hi[c] > lo[c] {
				add(r, e/k, (x-lo[c])/(hi[c]-lo[c]+eps))
			}
		}
	}
}

// biasTerm adds to decomp, per image, Σ b ⊙ ∂S/∂z over the output z of bias
// bs: v broadcast against the signal sig as TensorFlow's Add broadcasts it
// (dimensions aligned on the right; v's may be 1).
func biasTerm(method string, bs tfgraph.Bias, v, sig *tensor.Tensor, decomp []float64) error {
	s := sig.Shape[1:] // one image
	vs := v.Shape
	for len(vs) > len(s) && vs[0] == 1 {
		vs = vs[1:]
	}
	if len(vs) > len(s) {
		return fmt.Errorf("methods: %s: the bias of %s has shape %v for an output %v", method, bs.Node, v.Shape, sig.Shape)
	}
	// stride[d] of v for dimension d of one image (0 where v broadcasts).
	stride := make([]int, len(s))
	off := len(s) - len(vs)
	st := 1
	for d := len(vs) - 1; d >= 0; d-- {
		switch vs[d] {
		case s[off+d]:
			stride[off+d] = st
		case 1:
		default:
			return fmt.Errorf("methods: %s: the bias of %s has shape %v for an output %v", method, bs.Node, v.Shape, sig.Shape)
		}
		st *= vs[d]
	}
	per := tensor.Size(s)
	idx := make([]int, len(s))
	for e := 0; e < per; e++ {
		vi := 0
		for d := range idx {
			vi += idx[d] * stride[d]
		}
		for r := range decomp {
			decomp[r] += float64(v.Data[vi]) * float64(sig.Data[r*per+e])
		}
		for d := len(idx) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < s[d] {
				break
			}
			idx[d] = 0
		}
	}
	return nil
}
