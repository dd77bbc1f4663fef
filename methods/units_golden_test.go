//go:build cgo

package methods_test

import (
	"context"
	"encoding/json"

	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
)

// unitGolden is savedmodels/golden_units.py's units.json.
type unitGolden struct {
	Model   string `json:"model"`
	Entries []struct {
		Layer, Tensor, Target, Kind, Rules, File string
		Values                                   []float64
	} `json:"entries"`
}

func unitsDir(model string) string {
	return filepath.Join(zooDir("edge"), "units", model)
}

// Unit targets (a channel's strongest activation, its mean, its activation
// at a position, a neuron of a dense layer, a direction in channel space) at
// three layers of every zoo model give the signal TensorFlow's registered
// gradients give for the same unit (savedmodels/golden_units.py, tf.gradients
// on the frozen signature with the unit's seed): ≤ 1e-5 of the golden's
// largest |value|, under the plain rules, and under Guided Backprop's and
// DeconvNet's ReLU overrides on the ReLU models; the unit's value is the one
// Python computed.
func TestUnitTargetsGolden(t *testing.T) {
	methodOf := map[string]string{"plain": "gradient", "guided": "guided-backprop", "deconvnet": "deconvnet"}
	for _, model := range zooModels {
		t.Run(model, func(t *testing.T) {
			dir := unitsDir(model)
			raw, err := os.ReadFile(filepath.Join(dir, "units.json"))
			if err != nil {
				t.Fatalf("no unit goldens: run make edge-models (%v)", err)
			}
			var g unitGolden
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			x, err := savedmodels.ReadNpy(filepath.Join(dir, "inputs.npy"))
			if err != nil {
				t.Fatal(err)
			}
			fl, _ := loadZoo(t, model)
			kinds := map[string]bool{}
			layers := map[string]bool{}
			var worst float64
			for _, e := range g.Entries {
				spec, err := methods.ParseTarget(e.Target, dir)
				if err != nil {
					t.Fatal(err)
				}
				m, err := methods.New(methodOf[e.Rules], map[string]any{"reduce": "sum"})
				if err != nil {
					t.Fatal(err)
				}
				res, err := m.Explain(context.Background(), fl, methods.Batch{X: x}, spec.Target(x.Shape[0]))
				if err != nil {
					t.Errorf("%s %s: %v", e.Rules, e.Target, err)
					continue
				}
				want, err := savedmodels.ReadNpy(filepath.Join(dir, e.File))
				if err != nil {
					t.Fatal(err)
				}
				d, scale := maxDiff(res.Raw, want), maxAbsT(want)
				if scale == 0 {
					t.Errorf("%s %s: the golden signal is zero: the test would assert nothing", e.Rules, e.Target)
					continue
				}
				worst = math.Max(worst, d/scale)
				if d > 1e-5*scale {
					t.Errorf("%s %s (%s): max |Go − tf.gradients| = %.3g, %.3g of the largest |value| %.3g", e.Rules, e.Target, e.Tensor, d, d/scale, scale)
				}
				if res.Classes != nil {
					t.Errorf("%s %s: a unit target gives classes %v", e.Rules, e.Target, res.Classes)
				}
				for i, v := range e.Values {
					if math.Abs(float64(res.Scores[i])-v) > 1e-5*math.Max(1, math.Abs(v)) {
						t.Errorf("%s %s image %d: value %v, Python %v", e.Rules, e.Target, i, res.Scores[i], v)
					}
				}
				kinds[e.Kind], layers[e.Layer] = true, true
			}
			if len(layers) < 3 || len(kinds) < 4 {
				t.Errorf("goldens cover layers %v and kinds %v; want 3 layers and max, mean, at/neuron, direction", layers, kinds)
			}
			t.Logf("%d unit signals at %d layers, worst max |Go − Python| %.2g of the largest |value|", len(g.Entries), len(layers), worst)
		})
	}
}

func maxDiff(a, b *tensor.Tensor) float64 {
	if a == nil || b == nil || len(a.Data) != len(b.Data) {
		return math.Inf(1)
	}
	var d float64
	for i := range a.Data {
		d = math.Max(d, math.Abs(float64(a.Data[i])-float64(b.Data[i])))
	}
	return d
}

func maxAbsT(a *tensor.Tensor) float64 {
	var m float64
	for _, v := range a.Data {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}
