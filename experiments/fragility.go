package experiments

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/saliencykit/saliency/tensor"
	"gopkg.in/yaml.v3"
)

const kindFragility = "fragility"

// FragilityTest is the fragility test of Ghorbani et al. (2019),
// "fragility:" under tests:: each image gets random sign noise of L∞ size
// ε (a step per ε), and the maps of the perturbed images, for the class
// explained originally, are compared with the original maps; the
// predictions on the perturbed images are recorded.
type FragilityTest struct {
	// Epsilons are the sizes of the noise, each a fraction of the range
	// from a black to a white pixel (default 0.01, 0.02, 0.04, 0.08).
	Epsilons []float64
	// Attack, when positive, adds Ghorbani et al.'s targeted attack at the
	// largest ε (runAttack): this many steps (package attack: signed
	// gradient steps through a softplus copy of the model for the
	// differentiable methods, rounds of a random search for the others)
	// that keep the prediction and lower the map's top-k intersection with
	// the original.
	Attack int

	testAt
}

var (
	_ classTest   = (*FragilityTest)(nil)
	_ stepPlanner = (*FragilityTest)(nil)
)

// Kind is fragility.
func (*FragilityTest) Kind() string { return kindFragility }

func (t *FragilityTest) decode(v *validator, x *yaml.Node) {
	t.Epsilons = []float64{0.01, 0.02, 0.04, 0.08}
	if x.Tag == "!!null" {
		return
	}
	v.fields(x, kindFragility, map[string]func(*yaml.Node){
		"attack": func(y *yaml.Node) { t.Attack = v.integer(y, "attack", 0) },
		"epsilons": func(y *yaml.Node) {
			t.Epsilons = nil
			v.list(y, "epsilons", func(e *yaml.Node) {
				if f, ok := number(e); ok && f > 0 && !(f > 1) {
					t.Epsilons = append(t.Epsilons, f)
					return
				}
				v.errorf(e, "an epsilon is a number in (0, 1] (a fraction of the input range), not %s", kindName(e))
			})
		},
	})
}

// PlanTest records the sizes and the attack's rounds.
func (t *FragilityTest) PlanTest() PlanTest {
	return PlanTest{Kind: kindFragility, Epsilons: t.Epsilons, Attack: t.Attack}
}

func (*FragilityTest) needsClass() {}

// planSteps adds a perturbation step per ε, then the attack's step.
func (t *FragilityTest) planSteps(_ context.Context, _ *Plan, _ Model, _ *PlanModel, om *openModel) ([]Problem, error) {
	for _, eps := range t.Epsilons {
		om.addStep(fmt.Sprintf("eps%g", eps), step{PlanStep: PlanStep{Mode: modePerturbation, Epsilon: eps}})
	}
	if t.Attack > 0 {
		eps := slices.Max(t.Epsilons)
		om.addStep(fmt.Sprintf("attack-eps%g", eps), step{PlanStep: PlanStep{Mode: modeAttack, Epsilon: eps, Attack: t.Attack}})
	}
	return nil, nil
}

// perturb adds random sign noise of size eps·(white − black) to images
// lo… of x, one seeded stream per image and size, and clips to the range
// between black and white (Ghorbani et al. 2019's random sign
// perturbation).
func perturb(x *tensor.Tensor, lo int, eps float64, black, white []float32, seed uint64) *tensor.Tensor {
	out := tensor.New(x.Shape...)
	c := len(black)
	per := x.Len() / x.Shape[0]
	for i := range x.Shape[0] {
		rng := rand.New(rand.NewPCG(seed^0x66726167696c65, uint64(lo+i)<<20|uint64(math.Float64bits(eps)>>44)))
		for j := range per {
			k := i*per + j
			ch := j % c
			d := float32(eps) * (white[ch] - black[ch])
			if rng.Uint64()&1 == 0 {
				d = -d
			}
			lo, hi := min(black[ch], white[ch]), max(black[ch], white[ch])
			out.Data[k] = min(max(x.Data[k]+d, lo), hi)
		}
	}
	return out
}
