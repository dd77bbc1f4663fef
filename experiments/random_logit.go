package experiments

import (
	"context"
	"math/rand/v2"

	"gopkg.in/yaml.v3"
)

const kindRandomLogit = "random-logit"

// RandomLogitTest is the random logit test of Sixt et al. (2020),
// "random-logit:" under tests:: each image is also explained for a random
// other class, seeded, and the maps are compared with those of the
// explained class. It has no options.
type RandomLogitTest struct {
	testAt
}

var (
	_ classTest   = (*RandomLogitTest)(nil)
	_ stepPlanner = (*RandomLogitTest)(nil)
)

// Kind is random-logit.
func (*RandomLogitTest) Kind() string { return kindRandomLogit }

func (t *RandomLogitTest) decode(v *validator, x *yaml.Node) {
	if x.Tag != "!!null" {
		v.fields(x, kindRandomLogit, map[string]func(*yaml.Node){})
	}
}

// PlanTest records the kind.
func (t *RandomLogitTest) PlanTest() PlanTest { return PlanTest{Kind: kindRandomLogit} }

func (*RandomLogitTest) needsClass() {}

// planSteps adds the step that explains one other class per image, drawn
// with the seed. A model of one class has no other class: a problem, where
// the test was left out without a word. A binary classifier's one logit is
// two classes (tfgraph.Flat.BinaryLogit): the other class of each image is
// the complement of its own.
func (t *RandomLogitTest) planSteps(_ context.Context, p *Plan, m Model, pm *PlanModel, om *openModel) ([]Problem, error) {
	k := len(pm.ClassNames)
	if k < 2 {
		return []Problem{t.where().problem("random-logit: model %s has %d class: there is no other class to explain", m.Name, k)}, nil
	}
	var cls []int
	for i, c := range pm.Classes {
		rng := rand.New(rand.NewPCG(p.Seed^0x6c6f676974, uint64(i)))
		o := rng.IntN(k - 1)
		if o >= c {
			o++
		}
		cls = append(cls, o)
	}
	om.addStep(kindRandomLogit, step{PlanStep: PlanStep{Mode: modeRandomLogit, Classes: cls}})
	return nil, nil
}
