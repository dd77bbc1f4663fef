package experiments

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

const kindDataRandomization = "data-randomization"

// DataRandomizationTest is the data randomization test of Adebayo et al.
// (2018, Sec. 5), "data-randomization:" under tests:: the maps of Model are
// compared with those of Against, the same architecture trained on permuted
// labels, for the classes of Model. Both are models of the experiment; the
// maps are the original steps of each.
type DataRandomizationTest struct {
	Model, Against string

	testAt
}

var (
	_ experimentChecker = (*DataRandomizationTest)(nil)
	_ modelsPlanner     = (*DataRandomizationTest)(nil)
)

// Kind is data-randomization.
func (*DataRandomizationTest) Kind() string { return kindDataRandomization }

func (t *DataRandomizationTest) decode(v *validator, x *yaml.Node) {
	v.fields(x, kindDataRandomization, map[string]func(*yaml.Node){
		"model":   func(y *yaml.Node) { t.Model = v.str(y, "model") },
		"against": func(y *yaml.Node) { t.Against = v.str(y, "against") },
	}, "model", "against")
}

// PlanTest records the two models.
func (t *DataRandomizationTest) PlanTest() PlanTest {
	return PlanTest{Kind: kindDataRandomization, Model: t.Model, Against: t.Against}
}

// checkExperiment checks that the two models are models of the experiment,
// and not the same.
func (t *DataRandomizationTest) checkExperiment(v *validator, e *Experiment) {
	var modelNames []string
	names := map[string]bool{}
	for _, m := range e.Models {
		modelNames = append(modelNames, m.Name)
		names[m.Name] = true
	}
	for _, name := range []string{t.Model, t.Against} {
		if name != "" && !names[name] {
			v.problems = append(v.problems, t.problem("data-randomization: no model named %q%s; models: %s", name, nearest(name, modelNames), strings.Join(modelNames, ", ")))
		}
	}
	if t.Model != "" && t.Model == t.Against {
		v.problems = append(v.problems, t.problem("data-randomization: model and against name the same model"))
	}
}

// planModels makes the model trained on permuted labels explain the classes
// of the model it is compared with; both must have the same input and
// classes.
func (t *DataRandomizationTest) planModels(p *Plan) []Problem {
	a, b := p.ModelIndex(t.Model), p.ModelIndex(t.Against)
	if p.Models[a].Shape != p.Models[b].Shape || len(p.Models[a].ClassNames) != len(p.Models[b].ClassNames) {
		return []Problem{t.problem("data-randomization: %s (input %v, %d classes) and %s (input %v, %d classes) differ", t.Model, p.Models[a].Shape,
			len(p.Models[a].ClassNames), t.Against, p.Models[b].Shape, len(p.Models[b].ClassNames))}
	}
	p.Models[b].Classes = p.Models[a].Classes
	p.Models[b].Target = fmt.Sprintf("the classes of %s", t.Model)
	return nil
}
