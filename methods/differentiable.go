package methods

import (
	"context"
	"fmt"
	"math"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Differentiable is implemented by the methods whose map is a
// differentiable function of the input when the model is smooth: gradient,
// gradient-x-input, integrated-gradients (with a baseline that does not
// depend on the image) and smoothgrad around one of these. The targeted
// attack of Ghorbani et al. (2019) follows the gradient of a dissimilarity
// of maps through them, on a copy of the model whose ReLUs are softplus
// (tfgraph.Flat.Softplus): on a piecewise-linear network these derivatives
// are zero almost everywhere.
//
// Methods whose backward pass changes the ReLU's rule (guided-backprop,
// deconvnet) or that read a layer (the CAM family) are not Differentiable.
type Differentiable interface {
	Method
	// Reduction is the channel reduction from Maps.Raw to Maps.Map.
	Reduction() tensor.Reduction
	// RawGrad returns ∂⟨w, Raw⟩/∂X [N,H,W,C]: the derivative of the raw
	// attribution of batch b (Maps.Raw) along the cotangent w [N,H,W,C],
	// for the classes of t held fixed (t.Classes must be given), by
	// second-order runs of m (tfgraph.Grad.Along). Options under which the
	// map is not differentiable here give a *NotApplicableError.
	RawGrad(ctx context.Context, m Model, b Batch, t Target, w *tensor.Tensor) (*tensor.Tensor, error)
}

// MapGrad returns ∂⟨v, Map⟩/∂X [N,H,W,C] for a cotangent v [N,H,W] on the
// maps of b that d computed on m (maps, from d.Explain with the same batch
// and target): the channel reduction's derivative at maps.Raw (max-abs
// routes v to the channel of largest |raw|, the first of ties, times its
// sign; abs-sum multiplies by the signs; l2 by raw/map, 0 where the map is
// 0), then d.RawGrad.
func MapGrad(ctx context.Context, d Differentiable, m Model, b Batch, t Target, maps *Maps, v *tensor.Tensor) (*tensor.Tensor, error) {
	if maps == nil || maps.Raw == nil || maps.Map == nil {
		return nil, fmt.Errorf("methods: %s: MapGrad needs the maps with their raw attribution", d.Name())
	}
	raw := maps.Raw
	if len(raw.Shape) != 4 || v == nil || !tensor.SameShape(v.Shape, raw.Shape[:3]) {
		return nil, fmt.Errorf("methods: %s: cotangent of shape %v for maps of %v", d.Name(), shapeOf(v), maps.Map.Shape)
	}
	w, err := ReductionGrad(raw, maps.Map, d.Reduction(), v)
	if err != nil {
		return nil, fmt.Errorf("methods: %s: %w", d.Name(), err)
	}
	return d.RawGrad(ctx, m, b, t, w)
}

// ReductionGrad is ∂⟨v, Map⟩/∂Raw [N,H,W,C] for Map = reduce(raw) under r
// ("" is max-abs) and a cotangent v [N,H,W] on it.
func ReductionGrad(raw, mp *tensor.Tensor, r tensor.Reduction, v *tensor.Tensor) (*tensor.Tensor, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	c := raw.Shape[3]
	w := tensor.New(raw.Shape...)
	sign := func(a float32) float32 {
		switch {
		case a > 0:
			return 1
		case a < 0:
			return -1
		}
		return 0
	}
	for p, vp := range v.Data {
		px, dst := raw.Data[p*c:(p+1)*c], w.Data[p*c:(p+1)*c]
		switch r {
		case "", tensor.MaxAbs:
			best, at := -1.0, 0
			for k, a := range px {
				if x := math.Abs(float64(a)); x > best {
					best, at = x, k
				}
			}
			dst[at] = vp * sign(px[at])
		case tensor.Sum:
			for k := range dst {
				dst[k] = vp
			}
		case tensor.AbsSum:
			for k, a := range px {
				dst[k] = vp * sign(a)
			}
		case tensor.L2:
			if n := mp.Data[p]; n != 0 {
				for k, a := range px {
					dst[k] = vp * a / n
				}
			}
		}
	}
	return w, nil
}

// secondOrder runs, on points x [P,H,W,C] with one class each (or a unit's
// seed), the second-order signal H(x)·along of the target's score in chunks,
// and the first-order signal g(x) beside it when first is set (in the same
// runs). A second-order run holds about three times the activations of a
// first-order one (the forward pass, the backward pass and its derivative),
// so its chunks are a third as large.
func secondOrder(ctx context.Context, method string, m Model, gl goal, x *tensor.Tensor, classes []int, along *tensor.Tensor, first bool, ch Chunking) (g, hv *tensor.Tensor, err error) {
	if gl.unit != nil && gl.unit.pick != nil {
		return nil, nil, &NotApplicableError{Method: method, Err: fmt.Errorf("the strongest activation of a channel (a picked seed) is not differentiable")}
	}
	n := x.Shape[0]
	per := tensor.Size(x.Shape[1:])
	hv = tensor.New(x.Shape...)
	if first {
		g = tensor.New(x.Shape...)
	}
	for _, c := range chunks(n, max(1, ch.size(m)/3)) {
		var given []int
		if classes != nil {
			given = classes[c[0]:c[1]]
		}
		gr := gl.grad("", nil, given, c[1]-c[0])
		gr.Along = along.Slice(c[0], c[1])
		q := tfgraph.Query{Grads: []tfgraph.Grad{gr}}
		if first {
			f := gr
			f.Along = nil
			q.Grads = append(q.Grads, f)
		}
		res, err := m.Run(ctx, x.Slice(c[0], c[1]), q)
		if err != nil {
			return nil, nil, notApplicable(method, err)
		}
		copy(hv.Data[c[0]*per:], res.Grads[0].Data)
		if first {
			copy(g.Data[c[0]*per:], res.Grads[1].Data)
		}
	}
	return g, hv, nil
}

// rawGradSetup makes the checks of RawGrad: the batch, the target with its
// classes (the predicted ones when not given, read from m), and the
// cotangent's shape.
func rawGradSetup(ctx context.Context, method string, m Model, b *Batch, t Target, w *tensor.Tensor, ch Chunking) (goal, []int, error) {
	gl, err := setup(method, m, b, t)
	if err != nil {
		return goal{}, nil, err
	}
	if w == nil || !tensor.SameShape(w.Shape, b.X.Shape) {
		return goal{}, nil, fmt.Errorf("methods: %s: cotangent of shape %v for images of %v", method, shapeOf(w), b.X.Shape)
	}
	classes := t.Classes
	if classes == nil && gl.unit == nil {
		if classes, _, err = predict(ctx, m, b.X, gl, t, ch); err != nil {
			return goal{}, nil, notApplicable(method, err)
		}
	}
	return gl, classes, nil
}

// shapeOf is the shape of t, or nil.
func shapeOf(t *tensor.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape
}
