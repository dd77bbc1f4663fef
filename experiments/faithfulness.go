package experiments

import (
	"context"
	"math"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/tensor"
	"gopkg.in/yaml.v3"
)

const kindFaithfulness = "faithfulness"

// FaithfulnessTest is the deletion and insertion test of Petsiuk et al.
// (2018), "faithfulness:" under tests:: pixels go black (deletion) or into
// the blurred image (insertion) in the map's order, most salient first, and
// the curve is the probability of the explained class. Its evaluation
// units score the original maps, and a seeded random order per image.
type FaithfulnessTest struct {
	// Steps+1 is the number of points of a curve (default 20 steps, at
	// most the model's pixels).
	Steps int
	// Blur is the σ in pixels of insertion's blurred start (default 5 at
	// 224, scaled, at least 1: PlanTest.BlurSigma).
	Blur float64

	testAt
}

var (
	_ classTest    = (*FaithfulnessTest)(nil)
	_ modelChecker = (*FaithfulnessTest)(nil)
	_ evaluator    = (*FaithfulnessTest)(nil)
)

// Kind is faithfulness.
func (*FaithfulnessTest) Kind() string { return kindFaithfulness }

func (t *FaithfulnessTest) decode(v *validator, x *yaml.Node) {
	t.Steps = 20
	if x.Tag == "!!null" {
		return
	}
	v.fields(x, kindFaithfulness, map[string]func(*yaml.Node){
		"steps": func(y *yaml.Node) { t.Steps = v.integer(y, "steps", 2) },
		"blur": func(y *yaml.Node) {
			if f, ok := number(y); ok && f > 0 && !math.IsInf(f, 0) {
				t.Blur = f
				return
			}
			v.errorf(y, "blur must be a positive number of pixels, not %s", kindName(y))
		},
	})
}

// PlanTest records the steps and the blur.
func (t *FaithfulnessTest) PlanTest() PlanTest {
	return PlanTest{Kind: kindFaithfulness, Steps: t.Steps, Blur: t.Blur}
}

func (*FaithfulnessTest) needsClass() {}

// checkModel refuses more steps than the model's pixels: a deletion curve
// moves at least one pixel per step.
func (t *FaithfulnessTest) checkModel(m Model, spec images.Spec) []Problem {
	if px := spec.Height * spec.Width; t.Steps > px {
		return []Problem{t.problem("faithfulness: steps %d: model %s has %d pixels (%d×%d); want at most one step per pixel", t.Steps, m.Name, px, spec.Height, spec.Width)}
	}
	return nil
}

// evaluate computes the deletion and insertion curves of one batch's
// original maps (or of the random order, method -1): it reads the maps from
// their unit, or computes them when that unit is not written yet (another
// shard's), which gives the same values.
func (t *FaithfulnessTest) evaluate(ctx context.Context, p *Plan, u Unit, out string) (notApplicable bool, err error) {
	pm, om := p.Models[u.Model], p.models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	n := hi - lo
	h, w, c := pm.Shape[0], pm.Shape[1], pm.Shape[2]
	r := runfolder.FaithfulnessResult{Model: pm.Name, Method: p.MethodDir(u.Method), Classes: pm.Classes[lo:hi]}
	for i := lo; i < hi; i++ {
		r.Images = append(r.Images, p.PlanFile.Images[i].ID)
	}
	x := om.x.Slice(lo, hi)
	orders, na, err := p.pixelOrders(ctx, u, out)
	if err != nil {
		return false, err
	}
	if na != "" {
		r.NotApplicable, r.Classes = na, nil
		return true, p.writeUnitJSON(u, out, r)
	}
	black := om.spec.PixelValue(0)
	blurred := tensor.GaussianBlur(x, t.PlanTest().BlurSigma(h, w))
	for i := range n {
		class := pm.Classes[lo+i]
		score := func(imgs [][]float32) ([]float64, error) {
			b := tensor.New(len(imgs), h, w, c)
			for k, im := range imgs {
				copy(b.Data[k*h*w*c:], im)
			}
			return classProbabilities(ctx, om.fl, b, class)
		}
		img := x.Item(i).Data
		fill := make([]float32, len(img))
		for j := range fill {
			fill[j] = black[j%c]
		}
		del, err := metrics.PerturbationCurve(img, fill, c, orders[i], t.Steps, score)
		if err != nil {
			return false, err
		}
		ins, err := metrics.PerturbationCurve(blurred.Item(i).Data, img, c, orders[i], t.Steps, score)
		if err != nil {
			return false, err
		}
		r.Deletion, r.Insertion = append(r.Deletion, del), append(r.Insertion, ins)
		r.DeletionAUC, r.InsertionAUC = append(r.DeletionAUC, metrics.CurveAUC(del)), append(r.InsertionAUC, metrics.CurveAUC(ins))
	}
	return false, p.writeUnitJSON(u, out, r)
}
