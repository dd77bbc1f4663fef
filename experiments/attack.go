package experiments

import (
	"context"
	"errors"
	"fmt"

	"github.com/saliencykit/saliency/attack"
	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tfgraph"
)

// runAttack is the targeted attack of Ghorbani et al. (2019) at the step's
// ε (attack.Attack, its defaults): for the methods whose maps are
// differentiable (methods.Differentiable: gradient, gradient-x-input,
// integrated-gradients, smoothgrad), st.Attack signed gradient steps of the
// top-k loss through the model's softplus copy, each iterate checked on the
// model; for the others, st.Attack rounds of a seeded random search. Both
// keep every prediction and, per image, the iterate whose map has the
// lowest top-10% intersection with the original (ties by the Spearman
// correlation of |map|). The unit stores the kept maps, the predictions,
// how the attack searched (UnitResult.Attack) and the accepted iterates per
// image (Info "attack-accepted"); it gives the same bytes in every run.
func (p *Plan) runAttack(ctx context.Context, view *tfgraph.Flat, u Unit, b methods.Batch, st PlanStep, lo, hi int, base string) (bool, error) {
	pm := p.Models[u.Model]
	meth := p.methods[u.Method]
	target := methods.Target{Classes: pm.Classes[lo:hi], Layer: p.Exp.Models[u.Model].Layer}
	r := UnitResult{Model: pm.Name, Step: st.Name, Method: p.Methods[u.Method].Dir}
	for i := lo; i < hi; i++ {
		r.Images = append(r.Images, p.PlanFile.Images[i].ID)
	}
	orig, err := meth.Explain(ctx, view, b, target)
	var na *methods.NotApplicableError
	if errors.As(err, &na) {
		r.NotApplicable = p.notApplicable(u.Model, err)
		return true, reports.WriteJSON(base+".json", r)
	}
	if err != nil {
		return false, err
	}
	a := attack.Attack{Epsilon: st.Epsilon, Steps: st.Attack, TopK: metrics.TopKFraction, Seed: p.Seed}
	res, err := a.Run(ctx, view, meth, b, target, orig)
	if err != nil {
		return false, err
	}
	if err := reports.WriteNpy(base+".npy", res.Map); err != nil {
		return false, err
	}
	r.Classes, r.Scores, r.Layer, r.Signed, r.Predicted = orig.Classes, orig.Scores, orig.Layer, orig.Signed, res.Predicted
	r.Attack = fmt.Sprintf("%s, softplus β = %g", res.Search, res.Beta)
	if res.Search != attack.Gradient {
		r.Attack = fmt.Sprintf("%s (%s)", res.Search, res.Why)
	}
	accepted := make([]*float64, len(res.Accepted))
	for i, n := range res.Accepted {
		v := float64(n)
		accepted[i] = &v
	}
	r.Info = map[string][]*float64{"attack-accepted": accepted}
	return false, reports.WriteJSON(base+".json", r)
}
