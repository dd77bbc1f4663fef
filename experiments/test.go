package experiments

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/images"
	"gopkg.in/yaml.v3"
)

// Test is one reliability test of an experiment: an entry of tests:, with
// its options resolved. Each kind is a type of its own, in a file of its
// own (randomization.go, fragility.go, …), listed once in testKinds: Load
// parses a tests: entry through the kind its key names, and the plan and
// the run ask each test what it does through the optional interfaces below
// (a kind implements those it needs, and says so with `var _ … = (*T)(nil)`).
//
// The report of a kind is experiments/analysis/<kind>.go, which reads its
// units back from the run folder (runfolder), without this package.
type Test interface {
	// Kind is the test's key under tests: (randomization, fragility, …),
	// and its PlanTest's Kind.
	Kind() string
	// PlanTest is the test as plan.json records it, every option resolved.
	PlanTest() PlanTest

	// decode reads the test's options from the node under its key (a null
	// node: every default), each problem at its line through v.
	decode(v *validator, n *yaml.Node)
	// where is the test's place in the file; every kind embeds testAt.
	where() *testAt
}

// What a kind may do besides parsing its options, in the order a run asks.
type (
	// experimentChecker checks the test against the rest of the file once
	// it is read: the models it names (data-randomization).
	experimentChecker interface {
		Test
		checkExperiment(v *validator, e *Experiment)
	}

	// maskTest needs the object mask of every image (localization): the
	// plan refuses images without one, and the run folder holds each
	// model's masks (inputs/<model>-masks.npy).
	maskTest interface {
		Test
		needsMasks()
	}

	// classTest measures something of a class (its probability under
	// deletion, another class, a kept prediction), so a model that explains
	// a unit does not fit it (faithfulness, road, random-logit, fragility).
	classTest interface {
		Test
		needsClass()
	}

	// modelChecker checks the test against a loaded model, before any step
	// is laid out (faithfulness: at most one step per pixel).
	modelChecker interface {
		Test
		checkModel(m Model, spec images.Spec) []Problem
	}

	// stepPlanner lays out the test's steps on a model (openModel.addStep),
	// after the original weights, in the order of the tests: the maps of
	// each step are units of the run. An error is a failure of the model;
	// the problems are the file's (at the test's line).
	stepPlanner interface {
		Test
		planSteps(ctx context.Context, p *Plan, m Model, pm *PlanModel, om *openModel) ([]Problem, error)
	}

	// modelsPlanner completes the plan once every model is laid out: the
	// model trained on permuted labels explains the other's classes
	// (data-randomization).
	modelsPlanner interface {
		Test
		planModels(p *Plan) []Problem
	}

	// evaluator computes the test's evaluation units, which score the
	// original model's maps (faithfulness, road). runfolder.PlanFile.Units
	// lists them, with the test's kind, after every map unit: one per
	// model, method (and the random order, method -1) and batch. A unit
	// gives the same bytes whichever process computes it: its maps are read
	// from their unit, or computed when another shard has not written them
	// yet.
	evaluator interface {
		Test
		evaluate(ctx context.Context, p *Plan, u Unit, out string) (notApplicable bool, err error)
	}
)

// testKinds are the reliability tests an experiment may name, in the order
// of docs/experiments.md. A new kind is a type in a file of its own and a
// line here.
var testKinds = []func() Test{
	func() Test { return new(RandomizationTest) },
	func() Test { return new(DataRandomizationTest) },
	func() Test { return new(LocalizationTest) },
	func() Test { return new(InputInvarianceTest) },
	func() Test { return new(FaithfulnessTest) },
	func() Test { return new(FragilityTest) },
	func() Test { return new(RandomLogitTest) },
	func() Test { return new(ROADTest) },
}

// Tests are the reliability tests an experiment may name.
var Tests = testNames()

func testNames() []string {
	var out []string
	for _, k := range testKinds {
		out = append(out, k().Kind())
	}
	return out
}

// newTest is a test of the kind with no options read (nil for no kind).
func newTest(kind string) Test {
	for _, k := range testKinds {
		if t := k(); t.Kind() == kind {
			return t
		}
	}
	return nil
}

// evaluates says whether tests of the kind have evaluation units.
func evaluates(kind string) bool {
	_, ok := newTest(kind).(evaluator)
	return ok
}

// testAt is where a test is in the experiment file, for the problems found
// when the models are loaded.
type testAt struct{ at Problem }

func (t *testAt) where() *testAt { return t }

// problem is a problem at the test's line.
func (t *testAt) problem(format string, a ...any) Problem {
	pr := t.at
	pr.Msg = fmt.Sprintf(format, a...)
	return pr
}

// test reads an entry of tests: through the kind its key names (nil when
// it names none: a problem).
func (v *validator) test(n *yaml.Node) Test {
	var t Test
	handlers := map[string]func(*yaml.Node){}
	for _, k := range testKinds {
		handlers[k().Kind()] = func(x *yaml.Node) {
			t = k()
			t.where().at = Problem{File: v.file, Line: n.Line, Col: n.Column}
			t.decode(v, x)
		}
	}
	v.fields(n, "a test", handlers)
	if t == nil && n.Kind == yaml.MappingNode && len(n.Content) == 0 {
		v.errorf(n, "a test needs one of %s", strings.Join(Tests, ", "))
	}
	return t
}

// test is the experiment's first test of the kind (nil without one).
func (p *Plan) test(kind string) Test {
	i := slices.IndexFunc(p.Exp.Tests, func(t Test) bool { return t.Kind() == kind })
	if i < 0 {
		return nil
	}
	return p.Exp.Tests[i]
}

// needsMasks says whether a test of the plan needs the images' masks.
func (p *Plan) needsMasks() bool {
	return slices.ContainsFunc(p.Exp.Tests, func(t Test) bool { _, ok := t.(maskTest); return ok })
}
