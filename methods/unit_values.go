package methods

import (
	"context"
	"fmt"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// UnitValues returns the value of each unit on each image of x, as the
// methods explain it (see Unit: a channel's strongest activation, its mean,
// its activation at a position, a neuron, a direction): out[u][i] is unit
// u on image i. Each layer's activations are fetched once per chunk of
// images (sized by ch), whatever the number of its units. The largest value
// over a data set is the unit's top activation, which a feature
// visualisation's value is compared with.
func UnitValues(ctx context.Context, m Model, x *tensor.Tensor, units []Unit, ch Chunking) ([][]float32, error) {
	const name = "unit-values"
	if err := ch.validate(name); err != nil {
		return nil, err
	}
	b := Batch{X: x}
	if err := checkBatch(name, &b); err != nil {
		return nil, err
	}
	goals := make([]goal, len(units))
	var fetch []string
	at := map[string]int{}
	for i, u := range units {
		g, err := resolve(name, m, Target{Unit: &u}, x)
		if err != nil {
			return nil, err
		}
		goals[i] = g
		if _, ok := at[g.score]; !ok {
			at[g.score] = len(fetch)
			fetch = append(fetch, g.score)
		}
	}
	n := x.Shape[0]
	out := make([][]float32, len(units))
	for i := range out {
		out[i] = make([]float32, n)
	}
	for _, c := range chunks(n, ch.size(m)) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := m.Run(ctx, x.Slice(c[0], c[1]), tfgraph.Query{Fetch: fetch})
		if err != nil {
			return nil, fmt.Errorf("methods: %s: %w", name, err)
		}
		for i, g := range goals {
			_, v := g.values(res.Fetched[at[g.score]], nil)
			copy(out[i][c[0]:], v)
		}
		report(ctx, c[1], n)
	}
	return out, nil
}
