//go:build cgo

package tfgraph

import "fmt"

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
	g, err := InferGrid(t, int(in[1]), int(in[2]))
	if err != nil {
		return Grid{}, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	return g, nil
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
		if _, err := InferGrid(int(s[1]), int(in[1]), int(in[2])); err != nil {
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
