package experiments

import (
	"context"
	"strconv"

	"gopkg.in/yaml.v3"
)

const kindRandomization = "randomization"

// RandomizationTest is the model-parameter randomization test of Adebayo et
// al. (2018), "randomization:" under tests:. The weights of the layers are
// replaced (Randomization), step by step, and the maps of each step are
// compared with the original ones.
type RandomizationTest struct {
	// Modes are cascading (from the logits towards the input), bottom-up
	// (from the input towards the logits) and independent (one layer at a
	// time); default cascading and independent.
	Modes []string
	// Distribution of the new weights: reinit (default), gaussian,
	// permutation (Randomization.Distribution).
	Distribution string
	// BatchNorm is randomize (default) or keep (Randomization.BatchNorm).
	BatchNorm string
	// Repeats draws the random weights this many times (default 1), each
	// from its own seed; an image's similarity is the mean over repeats.
	Repeats int
	// Smooth, when positive, makes the test the smooth MPRT of Hedström et
	// al. (2024): every map, of the original and of each randomized model,
	// is the mean of the maps of Smooth noisy copies of the image (Gaussian
	// noise of SmoothNoise times the image's range, default 0.1).
	Smooth      int
	SmoothNoise float64

	testAt
}

var _ stepPlanner = (*RandomizationTest)(nil)

// Kind is randomization.
func (*RandomizationTest) Kind() string { return kindRandomization }

func (t *RandomizationTest) decode(v *validator, x *yaml.Node) {
	t.Distribution, t.BatchNorm, t.Repeats = "reinit", "randomize", 1
	if x.Tag == "!!null" {
		t.Modes = []string{modeCascading, modeIndependent}
		return
	}
	v.fields(x, kindRandomization, map[string]func(*yaml.Node){
		"modes": func(y *yaml.Node) {
			v.list(y, "modes", func(m *yaml.Node) {
				t.Modes = append(t.Modes, v.oneOf(m, "mode", modeCascading, modeBottomUp, modeIndependent))
			})
		},
		"distribution": func(y *yaml.Node) { t.Distribution = v.oneOf(y, "distribution", "reinit", "gaussian", "permutation") },
		"batchnorm":    func(y *yaml.Node) { t.BatchNorm = v.oneOf(y, "batchnorm", "randomize", "keep") },
		"repeats":      func(y *yaml.Node) { t.Repeats = v.upTo(y, "repeats", 1, MaxRepeats) },
		"smooth":       func(y *yaml.Node) { t.Smooth = v.integer(y, "smooth", 1) },
		"smooth_noise": func(y *yaml.Node) {
			if f, ok := number(y); ok && f > 0 && f <= 10 {
				t.SmoothNoise = f
				return
			}
			v.errorf(y, "smooth_noise must be a positive fraction of the image's range, not %s", kindName(y))
		},
	})
	if len(t.Modes) == 0 {
		t.Modes = []string{modeCascading, modeIndependent}
	}
	if t.Repeats == 0 {
		t.Repeats = 1
	}
	if t.Smooth > 0 && t.SmoothNoise == 0 {
		t.SmoothNoise = 0.1
	}
}

// PlanTest records the options and which weights are replaced.
func (t *RandomizationTest) PlanTest() PlanTest {
	w := "every weight of each layer with weights (kernels, biases, batch-norm scale and shift); batch-norm moving statistics are kept"
	if t.BatchNorm == "keep" {
		w = "kernels and biases of each layer with weights; batch-norm scale, shift and moving statistics are kept"
	}
	return PlanTest{Kind: kindRandomization, Modes: t.Modes, Distribution: t.Distribution, BatchNorm: t.BatchNorm, Repeats: t.Repeats,
		Smooth: t.Smooth, SmoothNoise: t.SmoothNoise, Weights: w}
}

// planSteps lays out, for each repeat and mode, one step per layer: its
// name, the layers it randomizes and the seed of their draws, not the
// weights themselves (drawn when the step's units run). A smooth test
// first adds the smoothed original, which its steps are compared with.
func (t *RandomizationTest) planSteps(_ context.Context, p *Plan, _ Model, _ *PlanModel, om *openModel) ([]Problem, error) {
	ref := 0
	if t.Smooth > 0 {
		ref = len(om.steps)
		om.addStep("original-smooth"+strconv.Itoa(t.Smooth), step{PlanStep: PlanStep{Mode: modeSmoothOriginal, Smooth: t.Smooth, SmoothNoise: t.SmoothNoise}})
	}
	for r := 1; r <= t.Repeats; r++ {
		rz := Randomization{Distribution: t.Distribution, BatchNorm: t.BatchNorm, Seed: repeatSeed(p.Seed, r)}
		for _, mode := range t.Modes {
			recipes, err := rz.recipes(om.fl, mode)
			if err != nil {
				return nil, err
			}
			for _, s := range recipes {
				name := s.name
				if t.Smooth > 0 {
					name = "smooth-" + name
				}
				if t.Repeats > 1 {
					name += "#" + strconv.Itoa(r)
				}
				om.addStep(name, step{PlanStep: PlanStep{Mode: mode, Repeat: r, Layers: s.names, Smooth: t.Smooth, SmoothNoise: t.SmoothNoise, Ref: ref},
					weights: stepWeights{rz: rz.withDefaults(), layers: s.layers}})
			}
		}
	}
	return nil, nil
}

// repeatSeed is the seed of the randomized weights of repeat r.
func repeatSeed(seed uint64, r int) uint64 {
	if r == 1 {
		return seed
	}
	return seed ^ (uint64(r) * 0x9e3779b97f4a7c15)
}
