package methods

import (
	"context"
	"fmt"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// CAM is the class activation map of Zhou et al. (2016) for a network that
// ends in global average pooling and a dense layer: with A the pooled
// activations and W the dense kernel, M_c = Σ_k W[k,c]·A^k, upsampled to the
// input size (bilinear). The map is signed (no ReLU, as in the paper). On any
// other head CAM does not apply (a *NotApplicableError that says what the
// model has instead); Grad-CAM generalises it.
type CAM struct {
	// ReLU keeps only the positive part of the map.
	ReLU     bool `yaml:"relu"`
	Chunking `yaml:",inline"`
}

var _ Method = (*CAM)(nil)

func init() { Register("cam", func() Method { return &CAM{} }) }

// Name is "cam".
func (c *CAM) Name() string { return "cam" }

// Validate checks the options.
func (c *CAM) Validate() error { return c.Chunking.validate(c.Name()) }

// Explain computes the maps.
func (c *CAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := c.Name()
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	if err := gl.classOnly(name); err != nil {
		return nil, err
	}
	score, k := gl.score, gl.k
	n := b.X.Shape[0]
	head, err := m.GAPHead()
	if err != nil {
		return nil, notApplicable(name, err)
	}
	if t.Layer != "" && t.Layer != head.Layer {
		return nil, fmt.Errorf("methods: cam is defined at the layer that global average pooling reads (%s), not at %s; use gradcam for other layers", head.Layer, t.Layer)
	}
	logits, _ := m.Logits()
	if t.Score != "" && t.Score != logits {
		return nil, fmt.Errorf("methods: cam explains the logits %s, not %s", logits, t.Score)
	}
	var parts []*tensor.Tensor
	var classes []int
	var scores []float32
	var w []float64
	for _, ch := range chunks(n, c.Chunking.size(m)) {
		res, err := m.Run(ctx, b.X.Slice(ch[0], ch[1]), tfgraph.Query{Fetch: []string{score, head.Features, head.Kernel}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		var given []int
		if t.Classes != nil {
			given = t.Classes[ch[0]:ch[1]]
		}
		cl, sc := pick(res.Fetched[0], given)
		classes, scores = append(classes, cl...), append(scores, sc...)
		a, kern := res.Fetched[1], res.Fetched[2]
		parts = append(parts, a)
		kk := a.Shape[3]
		for _, cls := range cl {
			// A binary classifier's kernel has one column, class 1's;
			// class 0's score is its negation.
			col, cols, sign := cls, k, 1.0
			if head.Binary {
				col, cols = 0, 1
				if cls == 0 {
					sign = -1
				}
			}
			for ch := 0; ch < kk; ch++ {
				idx := ch*cols + col
				if head.KernelTransposed {
					idx = col*kk + ch
				}
				w = append(w, sign*float64(kern.Data[idx]))
			}
		}
	}
	a, err := tensor.Concat(parts...)
	if err != nil {
		return nil, err
	}
	low := weighted(a, w, c.ReLU)
	return camMaps(name, b.X, low, &layerOut{layer: tfgraph.Layer{Name: head.Layer}, classes: classes, scores: scores}, !c.ReLU)
}
