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
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// What the evaluation units of the tests (evaluator) share: the pixel
// orders of the original maps, the class probabilities of perturbed images,
// and the writing of a unit's .json file.

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
// b, with the original weights: the softmax of the logits, their sigmoid
// for a multi-label head, the scores themselves when they are probabilities
// already. Scores said to be probabilities must lie in [0, 1]; scores taken
// for logits must not all be probability distributions (a softmax the graph
// does not show, written as exp/sum): the softmax of probabilities is no
// probability of the model's, and its curves are flat.
func classProbabilities(ctx context.Context, fl *tfgraph.Flat, b *tensor.Tensor, class int) ([]float64, error) {
	z, err := logitRows(ctx, fl, b, methods.Chunking{}.Size(fl))
	if err != nil {
		return nil, err
	}
	k := z.Shape[1]
	head := fl.Head()
	switch {
	case head == "probabilities":
		for _, v := range z.Data {
			if !(v >= 0 && v <= 1+1e-6) {
				why := "computed from a " + fl.Probabilities()
				switch fl.Probabilities() {
				case tfgraph.ProbabilitiesByCard:
					why = "said to be probabilities by the card's output.kind"
				case tfgraph.ProbabilitiesByOutputs:
					why = "taken for probabilities (the outputs for constant images are probability distributions)"
				}
				return nil, fmt.Errorf("the model's outputs are %s, but one is %g, not a probability in [0, 1]", why, v)
			}
		}
	case head == "" && tensor.ProbabilityRows(z):
		return nil, fmt.Errorf("the model's outputs are taken for logits, as its graph shows no softmax, but every row of this batch is a probability distribution (non-negative, summing to 1): their softmax is no probability of the model's. If they are probabilities, say so in the model's card: output.kind probabilities")
	}
	out := make([]float64, b.Shape[0])
	for j := range out {
		out[j] = tensor.ClassProbability(z.Data[j*k:(j+1)*k], class, head)
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
	batch := methods.Batch{X: om.x.Slice(lo, hi), Black: om.spec.PixelValue(0), White: om.spec.PixelValue(255), BGR: om.spec.BGR}
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
