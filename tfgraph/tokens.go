package tfgraph

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Grid is how the tokens [N,T,D] of a vision transformer's layer lie on the
// image: Prefix leading tokens (class, distillation or register tokens)
// followed by H·W patch tokens in row-major order.
type Grid struct {
	H, W   int
	Prefix int
}

// String is "7x7" or "7x7+1" (one leading token).
func (g Grid) String() string {
	if g.Prefix == 0 {
		return fmt.Sprintf("%dx%d", g.H, g.W)
	}
	return fmt.Sprintf("%dx%d+%d", g.H, g.W, g.Prefix)
}

// maxPrefix bounds the leading non-patch tokens tried when a grid is
// inferred (a class token, a distillation token, a few registers).
const maxPrefix = 8

// ParseGrid reads "HxW" or "HxW+P" for T tokens: without "+P" the leading
// tokens are T − H·W.
func ParseGrid(s string, tokens int) (Grid, error) {
	s = strings.TrimSpace(s)
	hw, pre, hasPre := strings.Cut(s, "+")
	hs, ws, ok := strings.Cut(strings.ToLower(hw), "x")
	h, err1 := strconv.Atoi(hs)
	w, err2 := strconv.Atoi(ws)
	if !ok || err1 != nil || err2 != nil || h < 1 || w < 1 {
		return Grid{}, fmt.Errorf("grid %q: want HxW or HxW+P (e.g. 14x14, or 14x14+1 after a class token)", s)
	}
	g := Grid{H: h, W: w, Prefix: tokens - h*w}
	if hasPre {
		p, err := strconv.Atoi(pre)
		if err != nil || p < 0 {
			return Grid{}, fmt.Errorf("grid %q: the leading token count %q is not a number", s, pre)
		}
		g.Prefix = p
	}
	if g.Prefix < 0 || g.Prefix+h*w != tokens {
		return Grid{}, fmt.Errorf("grid %s does not fit %d tokens (%d patches + %d leading)", g, tokens, h*w, g.Prefix)
	}
	return g, nil
}

// InferGrid finds the patch grid of T tokens for an input of height×width:
// T − P = h·w with h/w = height/width, for 0 ≤ P ≤ 8 leading tokens. It is
// an error when no P fits, or when more than one does (name the grid then).
func InferGrid(tokens, height, width int) (Grid, error) {
	var found []Grid
	for p := 0; p <= maxPrefix && p < tokens; p++ {
		n := tokens - p
		// h·w = n and h·width = w·height.
		h := int(math.Round(math.Sqrt(float64(n) * float64(height) / float64(width))))
		for _, hh := range []int{h - 1, h, h + 1} {
			if hh < 1 || n%hh != 0 {
				continue
			}
			ww := n / hh
			if hh*width == ww*height && hh > 1 && ww > 1 {
				found = append(found, Grid{H: hh, W: ww, Prefix: p})
			}
		}
	}
	switch len(found) {
	case 0:
		return Grid{}, fmt.Errorf("%d tokens do not form a patch grid of the %dx%d input's aspect ratio after 0–%d leading tokens; name the grid (HxW+P)", tokens, height, width, maxPrefix)
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, g := range found {
		names[i] = g.String()
	}
	return Grid{}, fmt.Errorf("%d tokens fit more than one patch grid (%s); name the grid", tokens, strings.Join(names, ", "))
}

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

// Attention is the attention matrix of one attention layer: the output of
// its Softmax, [N,heads,T,T] (rows: queries, columns: keys).
type Attention struct {
	Layer  string
	Tensor string // flat tensor "node:0"
	Tokens int
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
