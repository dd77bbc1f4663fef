package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// runFaithfulness scores the original maps of one batch: it reads them from
// the map unit, or computes them when that unit is not written yet (another
// shard's), which gives the same values.
func (p *Plan) runFaithfulness(ctx context.Context, u Unit, out string) (notApplicable bool, err error) {
	t, _ := p.Test("faithfulness")
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
	blurred := tensor.GaussianBlur(x, t.BlurSigma(h, w))
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

// pixelOrders ranks the pixels of each image of an evaluation unit's
// batch: by the original map of the unit's method, or, for method -1, in a
// random order seeded per image. na says why the method does not apply.
func (p *Plan) pixelOrders(ctx context.Context, u Unit, out string) (orders [][]int, na string, err error) {
	pm := p.Models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	orders = make([][]int, hi-lo)
	if u.Method < 0 {
		for i := range orders {
			orders[i] = rand.New(rand.NewPCG(p.Seed, uint64(lo+i))).Perm(pm.Shape[0] * pm.Shape[1])
		}
		return orders, "", nil
	}
	maps, na, err := p.originalMaps(ctx, u, out)
	if err != nil || na != "" {
		return nil, na, err
	}
	for i := range orders {
		orders[i] = metrics.PixelOrder(maps.Item(i).Data)
	}
	return orders, "", nil
}

// classProbabilities are the probabilities of class for each image of batch
// b, with the original weights: the softmax of the logits, or their sigmoid
// for a multi-label head.
func classProbabilities(ctx context.Context, fl *tfgraph.Flat, b *tensor.Tensor, class int) ([]float64, error) {
	z, err := logitRows(ctx, fl, b, methods.Chunking{}.Size(fl))
	if err != nil {
		return nil, err
	}
	k := z.Shape[1]
	out := make([]float64, b.Shape[0])
	for j := range out {
		out[j] = tensor.ClassProbability(z.Data[j*k:(j+1)*k], class, fl.Head())
	}
	return out, nil
}

// originalMaps are the maps of u's method and batch with the original
// weights: read from their unit when it is finished, else computed.
func (p *Plan) originalMaps(ctx context.Context, u Unit, out string) (*tensor.Tensor, string, error) {
	mu := Unit{Model: u.Model, Step: 0, Method: u.Method, Batch: u.Batch}
	base := filepath.Join(out, p.UnitPath(mu))
	if b, err := os.ReadFile(base + ".json"); err == nil {
		var r UnitResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, "", fmt.Errorf("%s.json: %w", base, err)
		}
		if r.NotApplicable != "" {
			return nil, r.NotApplicable, nil
		}
		t, err := savedmodels.ReadNpy(base + ".npy")
		return t, "", err
	}
	pm, om := p.Models[u.Model], p.models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	batch := methods.Batch{X: om.x.Slice(lo, hi), Black: om.spec.PixelValue(0), White: om.spec.PixelValue(255)}
	res, err := p.methods[u.Method].Explain(ctx, om.fl, batch, methods.Target{Classes: pm.Classes[lo:hi], Layer: p.Exp.Models[u.Model].Layer})
	var na *methods.NotApplicableError
	if errors.As(err, &na) {
		return nil, strings.TrimPrefix(err.Error(), "methods: "), nil
	}
	if err != nil {
		return nil, "", err
	}
	return res.Map, "", nil
}

func (p *Plan) writeUnitJSON(u Unit, out string, v any) error {
	base := filepath.Join(out, p.UnitPath(u))
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return err
	}
	return reports.WriteJSON(base+".json", v)
}
