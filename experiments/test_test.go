package experiments

import (
	"reflect"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// Every kind of testKinds parses its own key, records its own kind, and
// says it has evaluation units exactly when the run folder lists units of
// its kind (runfolder.PlanFile.Units, which reports read without this
// package).
func TestTestKinds(t *testing.T) {
	want := []string{"randomization", "data-randomization", "localization", "input-invariance", "faithfulness", "fragility", "random-logit", "road"}
	if !reflect.DeepEqual(Tests, want) {
		t.Errorf("Tests %q, want %q", Tests, want)
	}
	for _, kind := range Tests {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(kind+": {}\n"), &n); err != nil {
			t.Fatal(err)
		}
		v := &validator{file: "x.yaml"}
		got := v.test(n.Content[0])
		if got == nil || got.Kind() != kind || got.PlanTest().Kind != kind || reflect.TypeOf(got) != reflect.TypeOf(newTest(kind)) {
			t.Errorf("%s: parsed as %#v", kind, got)
			continue
		}
		if at := got.where().at; at.File != "x.yaml" || at.Line != 1 || at.Col != 1 {
			t.Errorf("%s: at %+v", kind, at)
		}
		pf := PlanFile{Batch: 1, Images: make([]PlanImage, 2), Methods: []PlanMethod{{Dir: "gradient"}},
			Models: []PlanModel{{Name: "m", Steps: []PlanStep{{Name: "original"}}}}, Tests: []PlanTest{got.PlanTest()}}
		listed := slices.ContainsFunc(pf.Units(), func(u Unit) bool { return u.Kind == kind })
		if listed != evaluates(kind) {
			t.Errorf("%s: the run folder lists units of the kind: %v; the kind evaluates units: %v", kind, listed, evaluates(kind))
		}
	}
	if newTest("nope") != nil || evaluates("nope") {
		t.Error("a kind that is not one")
	}
}
