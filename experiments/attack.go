package experiments

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// runAttack is the targeted attack of Ghorbani et al. (2019) by a
// derivative-free random search (the maps of most methods cannot be
// differentiated through the backward graph here): from the image, each of
// st.Attack rounds proposes, for every image, a step of random signs of
// size ε/4 added to the current perturbation, clipped to the L∞ ball of
// size ε and to the input range; a proposal is kept when the prediction
// stays the original one and the map's top-10% intersection with the
// original map falls (ties broken by the Spearman correlation of |map|).
// The unit stores the map of the final perturbed image and its
// prediction. The search is seeded per image and round, so it gives the
// same bytes in every run.
func (p *Plan) runAttack(ctx context.Context, view *tfgraph.Flat, u Unit, b methods.Batch, st PlanStep, lo, hi int, base string) (bool, error) {
	pm := p.Models[u.Model]
	n := hi - lo
	meth := p.methods[u.Method]
	target := methods.Target{Classes: pm.Classes[lo:hi], Layer: p.Exp.Models[u.Model].Layer}
	r := UnitResult{Model: pm.Name, Step: st.Name, Method: p.Methods[u.Method].Dir}
	for i := lo; i < hi; i++ {
		r.Images = append(r.Images, p.PlanFile.Images[i].ID)
	}
	orig, err := meth.Explain(ctx, view, b, target)
	var na *methods.NotApplicableError
	if errors.As(err, &na) {
		r.NotApplicable = strings.TrimPrefix(err.Error(), "methods: ")
		return true, reports.WriteJSON(base+".json", r)
	}
	if err != nil {
		return false, err
	}
	per := b.X.Len() / n
	c := len(b.Black)
	k := max(1, int(math.Ceil(metrics.TopKFraction*float64(orig.Map.Len()/n))))
	score := func(i int, m []float32) (float64, float64) {
		a := orig.Map.Item(i).Data
		t, _ := metrics.TopKIntersection(a, m, k)
		return t, metrics.SpearmanAbs(a, m)
	}
	cur := tensor.New(b.X.Shape...)
	copy(cur.Data, b.X.Data)
	best := make([][2]float64, n)
	bestMap := tensor.New(orig.Map.Shape...)
	copy(bestMap.Data, orig.Map.Data)
	for i := range n {
		best[i] = [2]float64{1, 1}
	}
	// Every proposal kept keeps the prediction.
	predicted := append([]int(nil), pm.Predicted[lo:hi]...)
	for round := range st.Attack {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		cand := tensor.New(cur.Shape...)
		for i := range n {
			rng := rand.New(rand.NewPCG(p.Seed^0x61747461636b, uint64(lo+i)<<16|uint64(round)))
			for j := range per {
				q := i*per + j
				ch := j % c
				span := float64(b.White[ch] - b.Black[ch])
				step := float32(st.Epsilon / 4 * span)
				if rng.Uint64()&1 == 0 {
					step = -step
				}
				v := cur.Data[q] + step
				d := float64(v - b.X.Data[q])
				lim := st.Epsilon * math.Abs(span)
				d = math.Max(-lim, math.Min(lim, d))
				v = b.X.Data[q] + float32(d)
				lo, hi := min(b.Black[ch], b.White[ch]), max(b.Black[ch], b.White[ch])
				cand.Data[q] = min(max(v, lo), hi)
			}
		}
		nb := b
		nb.X = cand
		res, err := meth.Explain(ctx, view, nb, target)
		if err != nil {
			return false, err
		}
		z, err := logitRows(ctx, view, cand, p.runSize(view))
		if err != nil {
			return false, err
		}
		kz := z.Shape[1]
		for i := range n {
			if tensor.Argmax(z.Data[i*kz:(i+1)*kz]) != pm.Predicted[lo+i] {
				continue
			}
			t, s := score(i, res.Map.Item(i).Data)
			if t < best[i][0] || (t == best[i][0] && s < best[i][1]) {
				best[i] = [2]float64{t, s}
				copy(cur.Data[i*per:(i+1)*per], cand.Data[i*per:(i+1)*per])
				copy(bestMap.Item(i).Data, res.Map.Item(i).Data)
			}
		}
	}
	if err := reports.WriteNpy(base+".npy", bestMap); err != nil {
		return false, err
	}
	r.Classes, r.Scores, r.Layer, r.Signed, r.Predicted = orig.Classes, orig.Scores, orig.Layer, orig.Signed, predicted
	return false, reports.WriteJSON(base+".json", r)
}
