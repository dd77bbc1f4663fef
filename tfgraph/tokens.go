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

// Attention is the attention matrix of one attention layer: the output of
// its Softmax, [N,heads,T,T] (rows: queries, columns: keys).
type Attention struct {
	Layer  string
	Tensor string // flat tensor "node:0"
	Tokens int
}
