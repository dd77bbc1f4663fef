package methods

import (
	"context"
	"fmt"
	"sort"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// AttentionRollout is the attention rollout of Abnar & Zuidema (2020) for a
// vision transformer: the attention matrices of the L attention layers
// (Softmax outputs [N,heads,T,T]) are fused over heads, the residual
// connection is modelled by adding the identity, Â_l = (1−r)·A_l + r·I with
// rows renormalised, and multiplied from the first layer on:
// R = Â_L·…·Â_1. The map is the row of the class token (the first token)
// over the patch tokens, reshaped to the patch grid and upsampled (bilinear);
// a model without leading tokens (pooled tokens) uses the mean of all rows.
// It is a forward-only method and does not depend on the class: Classes and
// Scores report the class of the target (the predicted one by default).
type AttentionRollout struct {
	// Heads fuses the heads: mean (the paper), max or min.
	Heads string `yaml:"heads"`
	// Residual is the weight r of the identity (default 0.5, the paper's).
	Residual *float64 `yaml:"residual"`
	// Discard is the fraction of the lowest fused attention weights of each
	// layer set to zero before the identity is added (0: none; the class
	// token's column is kept), as in common ViT rollout code.
	Discard  float64 `yaml:"discard"`
	Chunking `yaml:",inline"`
}

var _ Method = (*AttentionRollout)(nil)

func init() { Register("attention-rollout", func() Method { return &AttentionRollout{} }) }

// Name is "attention-rollout".
func (a *AttentionRollout) Name() string { return "attention-rollout" }

// Validate checks the options.
func (a *AttentionRollout) Validate() error {
	switch a.Heads {
	case "", "mean", "max", "min":
	default:
		return optionErr(a.Name(), []string{"heads"}, "heads %q: want mean, max or min", a.Heads)
	}
	if a.Residual != nil && (*a.Residual < 0 || *a.Residual > 1) {
		return optionErr(a.Name(), []string{"residual"}, "residual %g is outside [0,1]", *a.Residual)
	}
	if a.Discard < 0 || a.Discard >= 1 {
		return optionErr(a.Name(), []string{"discard"}, "discard %g is outside [0,1)", a.Discard)
	}
	return a.Chunking.validate(a.Name())
}

// Explain computes the maps.
func (a *AttentionRollout) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := a.Name()
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if err := gl.classOnly(name); err != nil {
		return nil, err
	}
	score := gl.score
	att := m.Attentions()
	if len(att) == 0 {
		return nil, &NotApplicableError{Method: name, Err: fmt.Errorf("the model has no attention layers (Softmax outputs [N,heads,T,T])")}
	}
	tokens := att[0].Tokens
	for _, at := range att {
		if at.Tokens != tokens {
			return nil, &NotApplicableError{Method: name, Err: fmt.Errorf("attention layers %s and %s attend over %d and %d tokens; rollout needs one token set", att[0].Layer, at.Layer, tokens, at.Tokens)}
		}
	}
	var grid tfgraph.Grid
	if t.Grid != "" {
		grid, err = tfgraph.ParseGrid(t.Grid, tokens)
	} else {
		grid, err = patchGrid(m, tokens, b.X.Shape[1], b.X.Shape[2])
	}
	if err != nil {
		return nil, fmt.Errorf("methods: %s: %w", name, err)
	}
	r := 0.5
	if a.Residual != nil {
		r = *a.Residual
	}
	n := b.X.Shape[0]
	fetch := []string{score}
	for _, at := range att {
		fetch = append(fetch, at.Tensor)
	}
	low := tensor.New(n, grid.H, grid.W)
	var classes []int
	var scores []float32
	for _, c := range chunks(n, a.Chunking.size(m)) {
		res, err := m.Run(ctx, b.X.Slice(c[0], c[1]), tfgraph.Query{Fetch: fetch})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		var given []int
		if t.Classes != nil {
			given = t.Classes[c[0]:c[1]]
		}
		cl, sc := pick(res.Fetched[0], given)
		classes, scores = append(classes, cl...), append(scores, sc...)
		for i := 0; i < c[1]-c[0]; i++ {
			roll := a.rollout(res.Fetched[1:], i, tokens, r)
			dst := low.Data[(c[0]+i)*grid.H*grid.W : (c[0]+i+1)*grid.H*grid.W]
			for p := range dst {
				var v float64
				if grid.Prefix > 0 {
					v = roll[grid.Prefix+p] // row 0: the class token
				} else {
					for q := 0; q < tokens; q++ {
						v += roll[q*tokens+p]
					}
					v /= float64(tokens)
				}
				dst[p] = float32(v)
			}
		}
	}
	mp, err := tensor.Resize(low, b.X.Shape[1], b.X.Shape[2])
	if err != nil {
		return nil, err
	}
	return &Maps{Method: name, Map: mp, LowRes: low, Layer: att[len(att)-1].Layer, Classes: classes, Scores: scores}, nil
}

// rollout is R = Â_L·…·Â_1 of image i, row-major [T,T], in float64.
func (a *AttentionRollout) rollout(atts []*tensor.Tensor, i, t int, r float64) []float64 {
	roll := make([]float64, t*t)
	for p := 0; p < t; p++ {
		roll[p*t+p] = 1
	}
	fused := make([]float64, t*t)
	next := make([]float64, t*t)
	for _, at := range atts {
		heads := 1
		if len(at.Shape) == 4 {
			heads = at.Shape[1]
		}
		base := at.Data[i*heads*t*t : (i+1)*heads*t*t]
		for p := range fused {
			var v float64
			for h := 0; h < heads; h++ {
				x := float64(base[h*t*t+p])
				switch {
				case h == 0:
					v = x
				case a.Heads == "max":
					v = max(v, x)
				case a.Heads == "min":
					v = min(v, x)
				default:
					v += x
				}
			}
			if a.Heads == "" || a.Heads == "mean" {
				v /= float64(heads)
			}
			fused[p] = v
		}
		if a.Discard > 0 {
			discardLowest(fused, t, a.Discard)
		}
		for q := 0; q < t; q++ {
			row := fused[q*t : (q+1)*t]
			var s float64
			for p := range row {
				row[p] *= 1 - r
				if p == q {
					row[p] += r
				}
				s += row[p]
			}
			if s > 0 {
				for p := range row {
					row[p] /= s
				}
			}
		}
		// next = fused · roll
		for q := 0; q < t; q++ {
			for p := 0; p < t; p++ {
				var s float64
				for k := 0; k < t; k++ {
					s += fused[q*t+k] * roll[k*t+p]
				}
				next[q*t+p] = s
			}
		}
		roll, next = next, roll
	}
	return roll
}

// discardLowest zeroes the fraction f of the smallest weights of a [t,t]
// attention matrix, keeping column 0 (the class token).
func discardLowest(a []float64, t int, f float64) {
	vals := make([]float64, 0, len(a))
	for p, v := range a {
		if p%t != 0 {
			vals = append(vals, v)
		}
	}
	k := int(f * float64(len(vals)))
	if k == 0 {
		return
	}
	sort.Float64s(vals)
	cut := vals[k-1]
	dropped := 0
	for p, v := range a {
		if p%t != 0 && v <= cut && dropped < k {
			a[p] = 0
			dropped++
		}
	}
}

// PatchGridder is a Model that finds the patch grid of its tokens from its
// graph (tfgraph.Flat does: its patch embedding's reshape).
type PatchGridder interface {
	PatchGrid(tokens, height, width int) (tfgraph.Grid, error)
}

// patchGrid is the grid of tokens for an input of height×width: the
// model's where it says (PatchGridder), else from the count alone.
func patchGrid(m Model, tokens, height, width int) (tfgraph.Grid, error) {
	if pg, ok := m.(PatchGridder); ok {
		return pg.PatchGrid(tokens, height, width)
	}
	return tfgraph.InferGrid(tokens, height, width)
}
