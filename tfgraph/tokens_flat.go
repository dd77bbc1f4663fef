//go:build cgo

package tfgraph

import (
	"fmt"
	"slices"
)

// TokenGrid is the grid of a token layer [N,T,D] of this model: parsed from
// spec when given, else inferred from the input's size.
func (fl *Flat) TokenGrid(l Layer, spec string) (Grid, error) {
	s := fl.Shape(l.Output)
	if len(s) != 3 || s[1] < 1 {
		return Grid{}, fmt.Errorf("layer %s has output shape %v; a token layer is [N,T,D] with T known", l.Name, s)
	}
	t := int(s[1])
	if spec != "" {
		g, err := ParseGrid(spec, t)
		if err != nil {
			return Grid{}, fmt.Errorf("layer %s: %w", l.Name, err)
		}
		return g, nil
	}
	in := fl.Shape(fl.inputName())
	if len(in) != 4 || in[1] < 1 || in[2] < 1 {
		return Grid{}, fmt.Errorf("layer %s: the input shape %v is not [N,H,W,C]; name the grid", l.Name, in)
	}
	g, err := fl.PatchGrid(t, int(in[1]), int(in[2]))
	if err != nil {
		return Grid{}, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	return g, nil
}

// PatchGrid is the grid of T tokens of this model for an input of
// height×width. Where the graph reshapes a 4-D tensor into tokens — its
// patch embedding [N,H,W,D] into [N,H·W,D], or [N,D,H,W] into [N,D,H·W] as
// a model converted from PyTorch does — with H/W the input's aspect ratio
// and 0 ≤ T − H·W ≤ 8, that grid after T − H·W leading tokens: so 17 tokens
// of a 64×64 input are 4×4+1 when the graph shows a 4×4 patch embedding,
// where the count alone also fits 3×3+8. Otherwise, or when the graph shows
// more than one such grid, InferGrid's from the count alone.
func (fl *Flat) PatchGrid(tokens, height, width int) (Grid, error) {
	var found []Grid
	for _, n := range fl.order {
		if n.GetOp() != "Reshape" || len(n.GetInput()) == 0 {
			continue
		}
		in, out := fl.Shape(n.GetInput()[0]), fl.Shape(n.GetName()+":0")
		if len(in) != 4 || len(out) != 3 || in[1] < 1 || in[2] < 1 || in[3] < 1 {
			continue
		}
		var h, w int64
		switch {
		case out[1] == in[1]*in[2] && out[2] == in[3]:
			h, w = in[1], in[2]
		case out[1] == in[1] && out[2] == in[2]*in[3]:
			h, w = in[2], in[3]
		default:
			continue
		}
		p := tokens - int(h*w)
		if h < 2 || w < 2 || int(h)*width != int(w)*height || p < 0 || p > maxPrefix {
			continue
		}
		if g := (Grid{H: int(h), W: int(w), Prefix: p}); !slices.Contains(found, g) {
			found = append(found, g)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return InferGrid(tokens, height, width)
}

// tokenCAMLayer is the default CAM layer of a transformer: the input of the
// last attention layer (a layer with a Softmax op and a token output), as
// Grad-CAM for vision transformers uses it (the norm before the last block's
// attention). Later token layers only see the class token's gradient. ok is
// false when the model has no attention over a patch grid.
func (fl *Flat) tokenCAMLayer() (Layer, bool) {
	in := fl.Shape(fl.inputName())
	if len(in) != 4 || in[1] < 1 || in[2] < 1 {
		return Layer{}, false
	}
	for i := len(fl.layers) - 1; i > 0; i-- {
		l := fl.layers[i]
		if !contains(l.Ops, "Softmax") || len(fl.Shape(l.Output)) != 3 {
			continue
		}
		prev := fl.layers[i-1]
		s := fl.Shape(prev.Output)
		if len(s) != 3 || s[1] < 1 {
			return Layer{}, false
		}
		if _, err := fl.PatchGrid(int(s[1]), int(in[1]), int(in[2])); err != nil {
			return Layer{}, false
		}
		return prev, true
	}
	return Layer{}, false
}

// Attentions lists the attention matrices of the model in graph order: every
// Softmax whose output is [N,heads,T,T] (or
// [N,T,T]) with a known T. Attention rollout multiplies them.
func (fl *Flat) Attentions() []Attention {
	var out []Attention
	for _, n := range fl.order {
		if n.GetOp() != "Softmax" {
			continue
		}
		name := n.GetName() + ":0"
		s := fl.Shape(name)
		if (len(s) != 4 && len(s) != 3) || s[len(s)-1] < 1 || s[len(s)-1] != s[len(s)-2] {
			continue
		}
		out = append(out, Attention{Layer: fl.layerOf(n.GetName()), Tensor: name, Tokens: int(s[len(s)-1])})
	}
	return out
}
