package experiments

import (
	"fmt"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
)

// The modes of a model's steps (PlanStep.Mode): what a step changes of the
// original model, its inputs or its target.
const (
	modeOriginal       = ""                // the original weights, inputs and classes
	modeCascading      = "cascading"       // randomization: the k layers nearest the logits
	modeBottomUp       = "bottom-up"       // randomization: the k layers nearest the input
	modeIndependent    = "independent"     // randomization: one layer
	modeInputShift     = "input-shift"     // input invariance: a shifted input, the first bias compensating
	modePerturbation   = "perturbation"    // fragility: random sign noise on the input
	modeAttack         = "attack"          // fragility: a targeted attack on the map
	modeSmoothOriginal = "smooth-original" // smooth MPRT: the original model's smoothed maps
	modeRandomLogit    = "random-logit"    // another class per image
)

// stepOriginal names the first step of every model: the original weights.
const stepOriginal = "original"

// step is one step of a model as the run computes it: its record in
// plan.json, which also says what the step does to the inputs and the
// target (Shift, Epsilon, Attack, Smooth, SmoothNoise, Classes), and where
// its weights come from. A model's steps are one slice (openModel.steps);
// PlanModel.Steps are their records.
type step struct {
	PlanStep
	weights stepWeights
}

// stepWeights say where the weights of a step come from: none replaced (the
// original model, perturbed inputs, another class), fixed values (an input
// shift's bias), or the draws of a Randomization for some layers, made when
// the step's units run so that a plan does not hold the random weights of
// every step, mode and repeat at once.
type stepWeights struct {
	vals   map[string]*tensor.Tensor
	rz     Randomization
	layers []int // positions in RandomizableLayers; nil: not randomized
}

// randomized says whether the step's weights are drawn: its units record
// the randomized model's predictions, the proof that the randomization
// changed the model.
func (s step) randomized() bool { return s.weights.layers != nil }

// predicts says whether the step's units record the model's predictions on
// their inputs: perturbed inputs, or randomized weights.
func (s step) predicts() bool { return s.Epsilon > 0 || s.randomized() }

// plain says whether the step explains a batch as it is, with the step's
// weights only (no attack, noise, shift or smoothing): the map units of
// such a step and batch can share their session runs.
func (s step) plain() bool {
	return s.Attack == 0 && s.Epsilon == 0 && s.Smooth == 0 && s.Shift == nil
}

// inputs are the batch of images lo… as the step's model sees them:
// perturbed by random sign noise (fragility), or shifted with black and
// white (input invariance).
func (s step) inputs(b methods.Batch, lo int, seed uint64) methods.Batch {
	if s.Epsilon > 0 {
		b.X = perturb(b.X, lo, s.Epsilon, b.Black, b.White, seed)
	}
	if c := s.Shift; c != nil {
		b.X = shiftInput(b.X, c)
		b.Black, b.White = addTo(b.Black, c), addTo(b.White, c)
	}
	return b
}

// addTo is v + c, element by element, in a new slice.
func addTo(v, c []float32) []float32 {
	out := make([]float32, len(v))
	for i := range v {
		out[i] = v[i] + c[i]
	}
	return out
}

// addStep appends a step to the model's, named name, in the folder
// <index>-<name>.
func (om *openModel) addStep(name string, s step) {
	s.Name, s.Dir = name, fmt.Sprintf("%03d-%s", len(om.steps), runfolder.SafeName(name))
	om.steps = append(om.steps, s)
}

// stepValues are the weights step si replaces (nil: none). The draws of
// one Randomization are kept until a step of another (a repeat, another
// distribution) needs its own.
func (om *openModel) stepValues(si int) (map[string]*tensor.Tensor, error) {
	w := om.steps[si].weights
	if w.layers == nil {
		return w.vals, nil
	}
	if om.draws == nil || om.draws.r != w.rz {
		om.draws = newDraws(w.rz, om.fl)
	}
	return om.draws.values(w.layers)
}
