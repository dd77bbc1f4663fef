package methods

import (
	"context"
	"fmt"

	"github.com/saliencykit/saliency/internal/par"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// camLayer resolves the layer of a CAM method: the target's, or the model's
// CAM layer. It must have a 4-D output [N,h,w,K], or be a token layer
// [N,T,D] whose tokens form a patch grid (grid is then set).
func camLayer(method string, m Model, t Target) (l tfgraph.Layer, grid *tfgraph.Grid, err error) {
	if t.Layer == "" {
		l, err = m.CAMLayer()
		if err != nil {
			return l, nil, notApplicable(method, err)
		}
	} else if l, err = m.Layer(t.Layer); err != nil {
		return l, nil, err
	}
	switch s := m.Shape(l.Output); len(s) {
	case 4:
		if t.Grid != "" {
			return l, nil, fmt.Errorf("methods: %s: grid %q given, but layer %s is already a 4-D map %v", method, t.Grid, l.Name, s)
		}
		return l, nil, nil
	case 3:
		g, err := m.TokenGrid(l, t.Grid)
		if err != nil {
			return l, nil, fmt.Errorf("methods: %s: %w", method, err)
		}
		return l, &g, nil
	default:
		return l, nil, fmt.Errorf("methods: %s: layer %s has output shape %v; CAM methods need a 4-D layer [N,h,w,K] or tokens [N,T,D] on a patch grid", method, l.Name, s)
	}
}

// toGrid reshapes tokens [N,T,D] to the patch grid [N,h,w,D], dropping the
// leading tokens.
func toGrid(x *tensor.Tensor, g tfgraph.Grid) (*tensor.Tensor, error) {
	if len(x.Shape) != 3 || x.Shape[1] != g.Prefix+g.H*g.W {
		return nil, fmt.Errorf("methods: tokens of shape %v do not fit grid %s", x.Shape, g)
	}
	n, t, d := x.Shape[0], x.Shape[1], x.Shape[2]
	out := tensor.New(n, g.H, g.W, d)
	for i := 0; i < n; i++ {
		copy(out.Data[i*g.H*g.W*d:(i+1)*g.H*g.W*d], x.Data[(i*t+g.Prefix)*d:(i+1)*t*d])
	}
	return out, nil
}

// layerOut is what a CAM method gets from the model: the activations A of the
// layer, the gradient G = ∂S_c/∂A (when asked), the Guided Backprop signal on
// the input (when asked), the classes and their scores. A and G of a token
// layer are on its patch grid; tokens holds the layer's output as the graph
// has it ([N,T,D]; nil for a 4-D layer).
type layerOut struct {
	layer   tfgraph.Layer
	a, g    *tensor.Tensor
	tokens  *tensor.Tensor
	guided  *tensor.Tensor
	classes []int
	scores  []float32
}

// layerPass is the Pass of a CAM method: the scores and the layer's
// activations, with G and the guided signal when asked. It makes the checks
// of setup on b.
func layerPass(ctx context.Context, method string, m Model, b *Batch, t Target, grad, guided bool, ch Chunking) (*layerOut, error) {
	p := Pass{Layer: true, LayerGrad: grad, Chunking: ch}
	if guided {
		p.Rules = []*tfgraph.RuleSet{tfgraph.Guided}
	}
	s, err := p.run(ctx, method, m, b, t)
	if err != nil {
		return nil, err
	}
	out := &layerOut{layer: s.Layer, a: s.A, g: s.G, tokens: s.tokens, classes: s.Classes, scores: s.Scores}
	if guided {
		out.guided = s.Input[0]
	}
	return out, nil
}

// weighted is the class activation map [N,h,w] = Σ_k w[n,k]·A[n,:,:,k], with
// a ReLU when relu is set. Each pixel's sum is taken over k in order, in
// float64; the images run on up to GOMAXPROCS goroutines.
func weighted(a *tensor.Tensor, w []float64, relu bool) *tensor.Tensor {
	n, h, wd, k := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	hw := h * wd
	out := tensor.New(n, h, wd)
	par.Each(n, func(i int) {
		weightedImage(a.Data[i*hw*k:(i+1)*hw*k], w[i*k:(i+1)*k], out.Data[i*hw:(i+1)*hw], relu)
	})
	return out
}

// weightedImage is weighted for one image: out[p] = Σ_c w[c]·a[p·k+c]. Four
// pixels are summed side by side (four independent chains of additions,
// each in the order of c), which is what makes it fast; every pixel's sum is
// the same as one taken alone.
func weightedImage(a []float32, w []float64, out []float32, relu bool) {
	k := len(w)
	p := 0
	for ; p+4 <= len(out); p += 4 {
		r0 := a[p*k : (p+1)*k : (p+1)*k]
		r1 := a[(p+1)*k : (p+2)*k : (p+2)*k]
		r2 := a[(p+2)*k : (p+3)*k : (p+3)*k]
		r3 := a[(p+3)*k : (p+4)*k : (p+4)*k]
		w := w[:len(r0)]
		r1, r2, r3 = r1[:len(w)], r2[:len(w)], r3[:len(w)]
		var s0, s1, s2, s3 float64
		for c, wc := range w {
			s0 += wc * float64(r0[c])
			s1 += wc * float64(r1[c])
			s2 += wc * float64(r2[c])
			s3 += wc * float64(r3[c])
		}
		out[p], out[p+1], out[p+2], out[p+3] = camValue(s0, relu), camValue(s1, relu), camValue(s2, relu), camValue(s3, relu)
	}
	for ; p < len(out); p++ {
		var s float64
		for c, v := range a[p*k : (p+1)*k] {
			s += w[c] * float64(v)
		}
		out[p] = camValue(s, relu)
	}
}

// camValue is s as float32, 0 if relu and s < 0.
func camValue(s float64, relu bool) float32 {
	if relu && s < 0 {
		return 0
	}
	return float32(s)
}

// camMaps upsamples a low-resolution map [N,h,w] to the input size and makes
// the Maps of a CAM method.
func camMaps(method string, x *tensor.Tensor, low *tensor.Tensor, lo *layerOut, signed bool) (*Maps, error) {
	mp, err := tensor.Resize(low, x.Shape[1], x.Shape[2])
	if err != nil {
		return nil, err
	}
	return &Maps{Method: method, Map: mp, Signed: signed, LowRes: low, Layer: lo.layer.Name,
		Classes: lo.classes, Scores: lo.scores}, nil
}
