package tfgraph_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The flat graph computes what the SavedModel signature computes.
func TestFlatMatchesSignature(t *testing.T) {
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			m, g := loadZoo(t, name)
			checkedFlat(t, m, g.Inputs, 1e-4)
		})
	}
}

// Every Keras layer of the card is found (Dropout has no ops at inference), and
// the named inner layers equal the golden layer outputs.
func TestLayersByKerasName(t *testing.T) {
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			m, g := loadZoo(t, name)
			card, err := savedmodels.ReadCard(zooDir(name))
			if err != nil {
				t.Fatal(err)
			}
			fl, err := m.Flat()
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range card.Layers {
				if l.Class == "InputLayer" || l.Class == "Dropout" {
					continue
				}
				if _, err := fl.Layer(l.Name); err != nil {
					t.Error(err)
				}
			}
			for lname, want := range g.Layers {
				l, err := fl.Layer(lname)
				if err != nil {
					t.Fatal(err)
				}
				got, err := fetch(fl, g.Inputs, l.Output)
				if err != nil {
					t.Fatal(err)
				}
				d, err := tensor.MaxAbsDiff(got[0], want)
				if err != nil {
					t.Fatalf("layer %s: %v", lname, err)
				}
				if d > 1e-4 {
					t.Errorf("layer %s (%s, ops %v) differs from golden by %g", lname, l.Output, l.Ops, d)
				}
			}
			_, err = fl.Layer("conv2_9")
			if err == nil || !strings.Contains(err.Error(), `layer "conv2_9" not found; nearest: `) {
				t.Errorf("unknown layer: %v", err)
			}
		})
	}
}

// Feeding randomized weights for one layer changes the logits and the
// gradients; feeding the original values restores them exactly. A view made
// with WithWeights shares the backward graphs of its flat graph.
func TestFeedWeights(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	base, err := fetch(fl, g.Inputs, fl.Output())
	if err != nil {
		t.Fatal(err)
	}
	baseGrad, err := fl.Gradient(g.Inputs, g.Top, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := fl.Layer("conv2_1")
	if err != nil {
		t.Fatal(err)
	}
	kernel := ""
	for _, w := range layer.Weights {
		if strings.Contains(w, "kernel") {
			kernel = w
		}
	}
	orig, err := fl.WeightValue(kernel)
	if err != nil {
		t.Fatal(err)
	}
	rnd := &tensor.Tensor{Shape: orig.Shape, Data: make([]float32, len(orig.Data))}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range rnd.Data {
		rnd.Data[i] = float32(r.NormFloat64() * 0.1)
	}
	view := func(v *tensor.Tensor) *tfgraph.Flat {
		t.Helper()
		feed, err := fl.PrepareWeights(map[string]*tensor.Tensor{kernel: v})
		if err != nil {
			t.Fatal(err)
		}
		if n := feed.Names(); len(n) != 1 || n[0] != kernel {
			t.Errorf("feed names %v", n)
		}
		fv, err := fl.WithWeights(feed)
		if err != nil {
			t.Fatal(err)
		}
		return fv
	}
	randomized := view(rnd)
	changed, err := fetch(randomized, g.Inputs, fl.Output())
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(changed[0], base[0]); d < 1e-2 {
		t.Errorf("randomized %s changed the logits by only %g", kernel, d)
	}
	bwBefore, _ := fl.Backward("", "", tfgraph.Plain)
	grad, err := randomized.Gradient(g.Inputs, g.Top, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(grad, baseGrad); d < 1e-3*maxAbs(baseGrad) {
		t.Errorf("randomized %s changed the gradient by only %g", kernel, d)
	}
	if bwAfter, _ := randomized.Backward("", "", tfgraph.Plain); bwAfter != bwBefore {
		t.Error("the view built its own backward graph")
	}
	// The unchanged flat graph still computes with the frozen weights.
	if again, _ := fetch(fl, g.Inputs, fl.Output()); again == nil || tensor.Equal(again[0], changed[0]) {
		t.Error("feeding a view changed the flat graph it came from")
	}
	restored := view(orig)
	out, err := fetch(restored, g.Inputs, fl.Output())
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(out[0], base[0]); d != 0 {
		t.Errorf("original weights do not restore the logits exactly: %g", d)
	}
	rg, err := restored.Gradient(g.Inputs, g.Top, "", tfgraph.Plain)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(rg, baseGrad); d != 0 {
		t.Errorf("original weights do not restore the gradient exactly: %g", d)
	}
	if _, err := fl.PrepareWeights(map[string]*tensor.Tensor{"conv9/kernel": orig}); err == nil {
		t.Error("unknown weight accepted")
	}
	if _, err := fl.PrepareWeights(map[string]*tensor.Tensor{kernel: tensor.New(3, 3)}); err == nil {
		t.Error("weight of the wrong shape accepted")
	}
	other, _ := loadFlat(t, "fmnist_vgg_randlabels")
	feed, _ := other.PrepareWeights(nil)
	if _, err := fl.WithWeights(feed); err == nil {
		t.Error("weights of another model accepted")
	}
}

// The target scores are the logits, also behind a softmax; TensorFlow's own
// gradient of the top logit on the flat graph equals the tf.GradientTape golden.
func TestLogitsAndOracleGradient(t *testing.T) {
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			fl, g := loadFlat(t, name)
			logits, behindSoftmax := fl.Logits()
			if behindSoftmax != (name == "fmnist_gap_softmax") {
				t.Errorf("logits %s: behind softmax %v", logits, behindSoftmax)
			}
			got, err := fetch(fl, g.Inputs, logits)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := tensor.MaxAbsDiff(got[0], g.Logits); d > 1e-4 {
				t.Errorf("logits %s differ from golden by %g", logits, d)
			}
			grad, err := fl.OracleGradient(g.Inputs, g.Top)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := tensor.MaxAbsDiff(grad, g.GradInput)
			scale := maxAbs(g.GradInput)
			t.Logf("oracle gradient vs tf.GradientTape: max diff %.3g, relative %.3g", d, d/scale)
			if d > 1e-4*scale {
				t.Errorf("oracle gradient differs from golden by %g (max |golden| %g)", d, scale)
			}
		})
	}
}

func maxAbs(t *tensor.Tensor) float64 {
	var m float64
	for _, v := range t.Data {
		if a := math.Abs(float64(v)); a > m {
			m = a
		}
	}
	return m
}
