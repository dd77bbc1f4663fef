package methods

import (
	"context"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// probe is the setup of a black-box method: the batch checked, the target
// resolved, and the clean images' classes and scores (one forward pass per
// image).
type probe struct {
	b       Batch
	gl      goal
	classes []int
	scores  []float32
}

// newProbe makes the checks of a black-box method and scores the clean
// images. The black-box methods explain classes, not units.
func newProbe(ctx context.Context, name string, m Model, b Batch, t Target, ch Chunking) (*probe, error) {
	if t.Unit != nil {
		return nil, goal{unit: &unitGoal{u: *t.Unit}}.classOnly(name)
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	classes, scores, err := predict(ctx, m, b.X, gl, t, ch)
	if err != nil {
		return nil, notApplicable(name, err)
	}
	return &probe{b: b, gl: gl, classes: classes, scores: scores}, nil
}

// perturbed puts ns perturbed copies of each image of images through the model,
// in chunks of ch's size, and returns the target's score on each:
// out[i][s] for image i (an index into the probe's batch) and sample s.
// fill writes sample s of image i into dst ([H,W,C]).
func (p *probe) perturbed(ctx context.Context, name string, m Model, images []int, ns int, ch Chunking, fill func(i, s int, dst []float32)) ([][]float64, error) {
	x := p.b.X
	per := tensor.Size(x.Shape[1:])
	out := make([][]float64, len(images))
	for k := range out {
		out[k] = make([]float64, ns)
	}
	total := len(images) * ns
	if total == 0 {
		return out, nil
	}
	size := ch.forwardSize(m)
	buf := tensor.New(append([]int{min(size, total)}, x.Shape[1:]...)...)
	cs := chunks(total, size)
	var given []int
	for ci, c := range cs {
		report(ctx, ci, len(cs))
		xc := buf.Slice(0, c[1]-c[0])
		given = given[:0]
		for e := c[0]; e < c[1]; e++ {
			i := images[e/ns]
			fill(i, e%ns, xc.Data[(e-c[0])*per:(e-c[0]+1)*per])
			if p.classes != nil {
				given = append(given, p.classes[i])
			}
		}
		res, err := m.Run(ctx, xc, tfgraph.Query{Fetch: []string{p.gl.score}})
		if err != nil {
			return nil, notApplicable(name, err)
		}
		g := given
		if p.classes == nil {
			g = nil
		}
		_, vals := p.gl.values(res.Fetched[0], g)
		for e := c[0]; e < c[1]; e++ {
			out[e/ns][e%ns] = float64(vals[e-c[0]])
		}
	}
	return out, nil
}

// all lists the indices 0 … n−1.
func all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// passes is Maps.Info's "forward-passes" per image: n values of v.
func passes(n int, v int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(v)
	}
	return out
}
