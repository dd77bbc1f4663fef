package experiments

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
	"gopkg.in/yaml.v3"
)

const kindInputInvariance = "input-invariance"

// InputInvarianceTest is the input invariance test of Kindermans et al.
// (2017), "input-invariance:" under tests:: the input is shifted by Shift
// times the range from a black to a white pixel and the first layer's bias
// absorbs it (tfgraph.CompensateShift), so the shifted model computes the
// same function; an invariant method gives the same maps.
type InputInvarianceTest struct {
	// Shift is a fraction of the input range (default -1: inputs in [0,1]
	// move to [-1,0]).
	Shift float64

	testAt
}

var _ stepPlanner = (*InputInvarianceTest)(nil)

// Kind is input-invariance.
func (*InputInvarianceTest) Kind() string { return kindInputInvariance }

func (t *InputInvarianceTest) decode(v *validator, x *yaml.Node) {
	t.Shift = -1
	if x.Tag == "!!null" {
		return
	}
	v.fields(x, kindInputInvariance, map[string]func(*yaml.Node){
		"shift": func(y *yaml.Node) {
			if f, ok := number(y); ok && f != 0 && !math.IsInf(f, 0) {
				t.Shift = f
				return
			}
			v.errorf(y, "shift must be a non-zero number (a fraction of the input range), not %s", kindName(y))
		},
	})
}

// PlanTest records the shift.
func (t *InputInvarianceTest) PlanTest() PlanTest {
	return PlanTest{Kind: kindInputInvariance, Shift: t.Shift}
}

// planSteps adds the shifted model's step. A model whose first layer cannot
// absorb the shift exactly (a SAME convolution, no bias) is a problem at the
// test's line, with the reason.
func (t *InputInvarianceTest) planSteps(ctx context.Context, p *Plan, m Model, _ *PlanModel, om *openModel) ([]Problem, error) {
	st, err := p.shiftStep(ctx, om, t.Shift)
	if err != nil {
		return []Problem{t.problem("input-invariance: model %s: %v", m.Name, err)}, nil
	}
	om.addStep(fmt.Sprintf("shift%+g", t.Shift), st)
	return nil, nil
}

// shiftStep builds the input-shift step of an input-invariance test: the
// shift, the first layer's compensated bias, and the logits checked over
// every image (their largest difference must be float32 rounding, below
// 1e-4 of the largest logit).
func (p *Plan) shiftStep(ctx context.Context, om *openModel, frac float64) (step, error) {
	black, white := om.spec.PixelValue(0), om.spec.PixelValue(255)
	c := make([]float32, len(black))
	for i := range c {
		c[i] = float32(frac * float64(white[i]-black[i]))
	}
	sh, err := om.fl.CompensateShift(c)
	if err != nil {
		return step{}, errors.New(strings.TrimPrefix(err.Error(), "tfgraph: "))
	}
	feed, err := om.fl.PrepareWeights(sh.Values)
	if err != nil {
		return step{}, err
	}
	view, err := om.fl.WithWeights(feed)
	if err != nil {
		return step{}, err
	}
	logits, _ := om.fl.Logits()
	var diff, scale float64
	n := p.Data.Len()
	for lo, size := 0, p.runSize(om.fl); lo < n; lo += size {
		hi := min(lo+size, n)
		x := om.x.Slice(lo, hi)
		a, err := om.fl.Run(ctx, x, tfgraph.Query{Fetch: []string{logits}})
		if err != nil {
			return step{}, err
		}
		b, err := view.Run(ctx, shiftInput(x, c), tfgraph.Query{Fetch: []string{logits}})
		if err != nil {
			return step{}, err
		}
		for i, v := range a.Fetched[0].Data {
			diff = max(diff, math.Abs(float64(v-b.Fetched[0].Data[i])))
			scale = max(scale, math.Abs(float64(v)))
		}
	}
	if diff > 1e-4*max(scale, 1) {
		return step{}, fmt.Errorf("the shifted model's logits differ by %.3g (logits up to %.3g): the compensation of %s is not exact", diff, scale, sh.Layer)
	}
	return step{PlanStep: PlanStep{Mode: modeInputShift, Layers: []string{sh.Layer}, Shift: c, LogitError: diff},
		weights: stepWeights{vals: sh.Values}}, nil
}

// shiftInput is x + c, c per channel.
func shiftInput(x *tensor.Tensor, c []float32) *tensor.Tensor {
	out := tensor.New(x.Shape...)
	for i, v := range x.Data {
		out.Data[i] = v + c[i%len(c)]
	}
	return out
}
