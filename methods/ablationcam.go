package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// AblationCAM is Ablation-CAM (Desai & Ramaswamy 2020), a CAM without
// gradients: the weight of a channel is the relative drop of the score when
// the channel is removed from the layer,
//
//	α_k = (y_c − y_c^k) / y_c,   M = ReLU(Σ_k α_k A^k),
//
// upsampled to the input size (bilinear), where y_c is the score and y_c^k
// the score computed from the layer on with channel k of the layer's
// activations set to zero (fed in place of the computed ones; a skip
// connection around the layer still reads the image). An image whose score
// is 0 is weighted by the drop y_c − y_c^k itself; a negative score flips the
// weights' signs, as the paper's formula does. A channel that is zero
// everywhere already gets weight 0 without a pass. On a token layer of a
// vision transformer channel k is set to zero in every token (the class
// token too, as pytorch-grad-cam's AblationLayerVit does).
//
// The K ablations of each image go through the model in chunks sized by the
// memory budget, K forward passes per image; progress is reported per chunk.
// pytorch-grad-cam computes the same weights, but where the layer has
// negative values it sets an ablated channel to (the minimum of the layer's
// batch) − 10⁷ instead of 0, deviating from the paper; here it is 0.
type AblationCAM struct {
	// NoReLU keeps the negative part of the map (the paper applies a ReLU).
	NoReLU   bool `yaml:"no_relu"`
	Chunking `yaml:",inline"`
}

var _ Method = (*AblationCAM)(nil)

func init() { Register("ablationcam", func() Method { return &AblationCAM{} }) }

// Name is "ablationcam".
func (ab *AblationCAM) Name() string { return "ablationcam" }

// Validate checks the options.
func (ab *AblationCAM) Validate() error { return ab.Chunking.validate(ab.Name()) }

// Explain computes the maps.
func (ab *AblationCAM) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := ab.Name()
	if t.Unit != nil {
		return nil, goal{unit: &unitGoal{u: *t.Unit}}.classOnly(name)
	}
	lo, err := layerPass(ctx, name, m, &b, t, false, false, ab.Chunking)
	if err != nil {
		return nil, err
	}
	score, k, err := scoreTensor(name, m, t)
	if err != nil {
		return nil, err
	}
	// act is the layer's output as the graph has it: the tensor fed.
	act := lo.a
	if lo.tokens != nil {
		act = lo.tokens
	}
	n := act.Shape[0]
	per := tensor.Size(act.Shape[1:])
	kc := act.Shape[len(act.Shape)-1]
	pos := per / kc
	// The ablations: image i with channel j set to zero, for the channels
	// that are not zero already.
	type ablation struct{ i, j int }
	var ex []ablation
	for i := 0; i < n; i++ {
		img := act.Data[i*per : (i+1)*per]
		for j := 0; j < kc; j++ {
			for p := 0; p < pos; p++ {
				if img[p*kc+j] != 0 {
					ex = append(ex, ablation{i, j})
					break
				}
			}
		}
	}
	alpha := make([]float64, n*kc)
	size := ab.Chunking.forwardSize(m)
	xper := tensor.Size(b.X.Shape[1:])
	xbuf := tensor.New(append([]int{min(size, len(ex))}, b.X.Shape[1:]...)...)
	abuf := tensor.New(append([]int{min(size, len(ex))}, act.Shape[1:]...)...)
	cs := chunks(len(ex), size)
	for ci, ch := range cs {
		report(ctx, ci, len(cs))
		c := ch[1] - ch[0]
		xc, ac := xbuf.Slice(0, c), abuf.Slice(0, c)
		for e := ch[0]; e < ch[1]; e++ {
			r, x := e-ch[0], ex[e]
			copy(xc.Data[r*xper:(r+1)*xper], b.X.Data[x.i*xper:(x.i+1)*xper])
			dst := ac.Data[r*per : (r+1)*per]
			copy(dst, act.Data[x.i*per:(x.i+1)*per])
			for p := 0; p < pos; p++ {
				dst[p*kc+x.j] = 0
			}
		}
		res, err := m.Run(ctx, xc, tfgraph.Query{Fetch: []string{score}, Feed: map[string]*tensor.Tensor{lo.layer.Output: ac}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		out := res.Fetched[0]
		for e := ch[0]; e < ch[1]; e++ {
			x := ex[e]
			y, yk := float64(lo.scores[x.i]), float64(out.Data[(e-ch[0])*k+lo.classes[x.i]])
			if y == 0 {
				alpha[x.i*kc+x.j] = y - yk
			} else {
				alpha[x.i*kc+x.j] = (y - yk) / y
			}
		}
	}
	return camMaps(name, b.X, weighted(lo.a, alpha, !ab.NoReLU), lo, ab.NoReLU)
}
