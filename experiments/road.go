package experiments

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/tensor"
	"gopkg.in/yaml.v3"
)

const kindROAD = "road"

// ROADTest is ROAD (Rong et al. 2022, Remove And Debias), "road:" under
// tests:: the share of pixels the map ranks most relevant (MoRF) or least
// relevant (LeRF) is removed and filled by noisy linear imputation, and the
// measure is the probability of the explained class. Its evaluation units
// score the original maps, and a seeded random order per image.
type ROADTest struct {
	// Fractions are the shares of pixels removed (default 0.1 … 0.9).
	Fractions []float64
	// Noise is the imputation noise's standard deviation, a fraction of
	// the input range (default 0.01).
	Noise float64

	testAt
}

var (
	_ classTest = (*ROADTest)(nil)
	_ evaluator = (*ROADTest)(nil)
)

// Kind is road.
func (*ROADTest) Kind() string { return kindROAD }

func (t *ROADTest) decode(v *validator, x *yaml.Node) {
	t.Noise = 0.01
	t.Fractions = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}
	if x.Tag == "!!null" {
		return
	}
	v.fields(x, kindROAD, map[string]func(*yaml.Node){
		"fractions": func(y *yaml.Node) {
			t.Fractions = nil
			v.list(y, "fractions", func(e *yaml.Node) {
				if f, ok := number(e); ok && f > 0 && !(f >= 1) {
					t.Fractions = append(t.Fractions, f)
					return
				}
				v.errorf(e, "a fraction of pixels is a number in (0, 1), not %s", kindName(e))
			})
		},
		"noise": func(y *yaml.Node) {
			if f, ok := number(y); ok && !(f < 0) && !(f > 1) {
				t.Noise = f
				return
			}
			v.errorf(y, "noise must be a number in [0, 1] (a fraction of the input range), not %s", kindName(y))
		},
	})
}

// PlanTest records the fractions and the noise.
func (t *ROADTest) PlanTest() PlanTest {
	return PlanTest{Kind: kindROAD, Fractions: t.Fractions, Noise: t.Noise}
}

func (*ROADTest) needsClass() {}

// evaluate removes pixels of one batch in the original map's order (or a
// random order, method -1) and scores the imputed images.
func (t *ROADTest) evaluate(ctx context.Context, p *Plan, u Unit, out string) (bool, error) {
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
