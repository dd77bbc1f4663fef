package experiments

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/tensor"
)

// runROAD removes pixels in the map's order (or a random order) and scores
// the imputed images.
func (p *Plan) runROAD(ctx context.Context, u Unit, out string) (bool, error) {
	t, _ := p.Test("road")
	pm, om := p.Models[u.Model], p.models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	n := hi - lo
	h, w, c := pm.Shape[0], pm.Shape[1], pm.Shape[2]
	r := runfolder.ROADResult{Model: pm.Name, Method: p.MethodDir(u.Method), Classes: pm.Classes[lo:hi]}
	for i := lo; i < hi; i++ {
		r.Images = append(r.Images, p.PlanFile.Images[i].ID)
	}
	orders, na, err := p.pixelOrders(ctx, u, out)
	if err != nil {
		return false, err
	}
	if na != "" {
		r.NotApplicable, r.Classes = na, nil
		return true, p.writeUnitJSON(u, out, r)
	}
	black, white := om.spec.PixelValue(0), om.spec.PixelValue(255)
	var span float64
	for k := range black {
		span = max(span, math.Abs(float64(white[k]-black[k])))
	}
	x := om.x.Slice(lo, hi)
	for i := range n {
		img := x.Item(i).Data
		var imgs []*tensor.Tensor
		for _, morf := range []bool{true, false} {
			for fi, f := range t.Fractions {
				m := int(math.Round(f * float64(h*w)))
				removed := make([]bool, h*w)
				for j := range m {
					p := orders[i][j]
					if !morf {
						p = orders[i][h*w-1-j]
					}
					removed[p] = true
				}
				rng := rand.New(rand.NewPCG(p.Seed^0x726f6164, uint64(lo+i)<<8|uint64(fi)))
				im, err := metrics.ImputeLinear(img, h, w, c, removed, t.Noise*span, rng.NormFloat64)
				if err != nil {
					return false, err
				}
				imgs = append(imgs, &tensor.Tensor{Shape: []int{h, w, c}, Data: im})
			}
		}
		b, err := tensor.Stack(imgs)
		if err != nil {
			return false, err
		}
		probs, err := classProbabilities(ctx, om.fl, b, pm.Classes[lo+i])
		if err != nil {
			return false, err
		}
		nf := len(t.Fractions)
		r.MoRF, r.LeRF = append(r.MoRF, probs[:nf]), append(r.LeRF, probs[nf:])
	}
	return false, p.writeUnitJSON(u, out, r)
}
