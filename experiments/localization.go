package experiments

import (
	"gopkg.in/yaml.v3"
)

const kindLocalization = "localization"

// LocalizationTest scores the maps against the images' object masks,
// "localization:" under tests:: the pointing game (Zhang et al. 2016), the
// energy pointing game (Wang et al. 2020) and the ROC AUC of |map|. It adds
// no unit: its report reads the original maps and the masks the run folder
// holds.
type LocalizationTest struct {
	// Tolerance is the pointing game's in pixels (nil: 15 pixels at 224,
	// scaled to the model's input).
	Tolerance *float64

	testAt
}

var _ maskTest = (*LocalizationTest)(nil)

// Kind is localization.
func (*LocalizationTest) Kind() string { return kindLocalization }

func (t *LocalizationTest) decode(v *validator, x *yaml.Node) {
	if x.Tag == "!!null" {
		return
	}
	v.fields(x, kindLocalization, map[string]func(*yaml.Node){
		"tolerance": func(y *yaml.Node) {
			if f, ok := number(y); ok && !(f < 0) {
				t.Tolerance = &f
				return
			}
			v.errorf(y, "tolerance must be a number of pixels ≥ 0, not %s", kindName(y))
		},
	})
}

// PlanTest records the tolerance.
func (t *LocalizationTest) PlanTest() PlanTest {
	return PlanTest{Kind: kindLocalization, Tolerance: t.Tolerance}
}

func (*LocalizationTest) needsMasks() {}
