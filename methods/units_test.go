//go:build cgo

package methods_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
)

// The logits layer's neuron c is class c's logit: every method that takes
// unit targets gives, for the unit "predictions:c", the maps and scores of
// class c (the gradient methods through the same backward graph, occlusion
// and the CAM family through the unit's value and its gradient at the CAM
// layer). On fmnist_gap_softmax the layer ends in the softmax, and its
// neuron is the probability: the maps of "probability:c".
func TestUnitIsClassAtTheLogits(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		model, layer string
		prob         bool
	}{{"fmnist_vgg", "predictions", false}, {"fmnist_resnet", "predictions", false}, {"fmnist_gap_softmax", "predictions", true}} {
		fl, g := loadZoo(t, tc.model)
		x := g.Inputs.Slice(0, 3)
		classes := []int{3, 0, 7}
		if tc.prob {
			// the probability of a class the model does not predict has
			// no positive Grad-CAM: take the predicted ones
			classes = g.Top[:3]
		}
		for _, name := range methods.UnitMethods() {
			opts := map[string]any{}
			switch name {
			case "smoothgrad", "squaregrad", "vargrad":
				opts["samples"] = 3
			case "integrated-gradients":
				opts["steps"] = 8
			case "occlusion":
				opts["patch"], opts["stride"] = 7, 7
			case "gradcam", "hirescam", "xgradcam":
				// the whole map: after the ReLU, XGrad-CAM's of class 7
				// on fmnist_vgg's image 2 is all zeros
				opts["no_relu"] = true
			}
			m, err := methods.New(name, opts)
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Explain(ctx, fl, methods.Batch{X: x}, methods.Target{Classes: classes, Probability: tc.prob})
			if err != nil {
				t.Fatalf("%s %s class: %v", tc.model, name, err)
			}
			for i, c := range classes {
				// The same batch for both: oneDNN may round a batch of one
				// and of three differently (AVX2 kernels do), and a ReLU or
				// max-pool decision then flips.
				u := &methods.Unit{Layer: tc.layer, Channel: c}
				got, err := m.Explain(ctx, fl, methods.Batch{X: x}, methods.Target{Unit: u})
				if err != nil {
					t.Fatalf("%s %s %s: %v", tc.model, name, u, err)
				}
				d := maxDiff(got.Map.Slice(i, i+1), want.Map.Slice(i, i+1))
				scale := maxAbsT(want.Map.Slice(i, i+1))
				if scale == 0 || d > 1e-5*scale {
					t.Errorf("%s %s: unit %s vs class %d: max |Δmap| %.3g of %.3g", tc.model, name, u, c, d, scale)
				}
				if s, w := got.Scores[i], want.Scores[i]; math.Abs(float64(s-w)) > 1e-5*math.Max(1, math.Abs(float64(w))) {
					t.Errorf("%s %s: unit %s value %v, class %d score %v", tc.model, name, u, s, c, w)
				}
			}
		}
	}
}

// Gradient × Input of a unit is the input times the unit's gradient, and
// Integrated Gradients of a unit's mean is complete: its attributions add up
// to the unit's value at the image minus at the black baseline.
func TestUnitTargetProperties(t *testing.T) {
	ctx := context.Background()
	fl, g := loadZoo(t, "fmnist_vgg")
	x := g.Inputs.Slice(0, 4)
	target := methods.Target{Unit: &methods.Unit{Layer: "conv2_2", Channel: 5, Reduce: "mean"}}
	run := func(name string, opts map[string]any) *methods.Maps {
		m, err := methods.New(name, opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Explain(ctx, fl, methods.Batch{X: x}, target)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res
	}
	grad := run("gradient", nil)
	gxi := run("gradient-x-input", nil)
	for i, v := range grad.Raw.Data {
		if w := v * x.Data[i]; math.Abs(float64(gxi.Raw.Data[i]-w)) > 1e-6*math.Max(1, math.Abs(float64(w))) {
			t.Fatalf("gradient-x-input at %d: %v, want %v", i, gxi.Raw.Data[i], w)
		}
	}
	ig := run("integrated-gradients", map[string]any{"steps": 64})
	zero := tensor.New(x.Shape...)
	at0, err := methods.New("gradient", nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := at0.Explain(ctx, fl, methods.Batch{X: zero}, target)
	if err != nil {
		t.Fatal(err)
	}
	per := tensor.Size(x.Shape[1:])
	for i := 0; i < 4; i++ {
		var sum float64
		for _, v := range ig.Raw.Data[i*per : (i+1)*per] {
			sum += float64(v)
		}
		delta := float64(grad.Scores[i] - base.Scores[i])
		if delta == 0 {
			t.Fatalf("image %d: the unit's value %v equals the baseline's: completeness would assert nothing", i, grad.Scores[i])
		}
		if e := math.Abs(sum-delta) / math.Abs(delta); e > 0.02 || math.Abs(ig.Info["completeness-error"][i]-e) > 1e-6 {
			t.Errorf("image %d: Σ IG = %.5g, value − baseline = %.5g (error %.3g, reported %.3g)", i, sum, delta, e, ig.Info["completeness-error"][i])
		}
	}
}

// Methods that explain classes only (or no target: Eigen-CAM) refuse a unit by
// name, and unit targets
// that do not fit their layer are refused with the layer's shape.
func TestUnitTargetRefusals(t *testing.T) {
	ctx := context.Background()
	fl, g := loadZoo(t, "fmnist_vgg")
	x := g.Inputs.Slice(0, 2)
	unit := &methods.Unit{Layer: "conv2_2", Channel: 5}
	for _, name := range []string{"cam", "gradcam++", "scorecam", "ablationcam", "eigencam", "fullgrad", "class-model", "rise", "sobol", "hsic", "lime", "kernel-shap"} {
		want := "explains a class"
		if name == "eigencam" {
			want = "depends on no target"
		}
		m, err := methods.New(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Explain(ctx, fl, methods.Batch{X: x}, methods.Target{Unit: unit})
		if err == nil || !strings.Contains(err.Error(), "conv2_2:5") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s with a unit: %v", name, err)
		}
	}
	dir := t.TempDir()
	writeVector(t, filepath.Join(dir, "v3.npy"), 3)
	dir3, err := methods.ParseTarget("conv2_2:v3.npy", dir)
	if err != nil {
		t.Fatal(err)
	}
	grad, _ := methods.New("gradient", nil)
	gradcam, _ := methods.New("gradcam", nil)
	for _, tc := range []struct {
		m    methods.Method
		t    methods.Target
		want []string
	}{
		{grad, methods.Target{Unit: &methods.Unit{Layer: "conv2_2", Channel: 32}}, []string{"channel 32 is out of range", "32 channels"}},
		{grad, methods.Target{Unit: &methods.Unit{Layer: "conv2_2", Channel: 1, Reduce: "at", At: []int{14, 0}}}, []string{"position index 0 is 14", "[0,14)"}},
		{grad, methods.Target{Unit: &methods.Unit{Layer: "conv2_2", Channel: 1, Reduce: "at", At: []int{3}}}, []string{"1 indices", "2 position axes"}},
		{grad, methods.Target{Unit: &methods.Unit{Layer: "fc1", Channel: 1, Reduce: "at", At: []int{3}}}, []string{"no positions"}},
		{grad, methods.Target{Unit: &methods.Unit{Layer: "conv9", Channel: 1}}, []string{"conv9"}},
		{grad, dir3.Target(2), []string{"direction has 3 values", "32 channels"}},
		{grad, methods.Target{Unit: unit, Classes: []int{1, 2}}, []string{"is a unit", "no classes"}},
		{gradcam, methods.Target{Unit: &methods.Unit{Layer: "conv1_2", Channel: 1}, Layer: "conv2_2"}, []string{"conv1_2", "conv2_2"}},
	} {
		_, err := tc.m.Explain(ctx, fl, methods.Batch{X: x}, tc.t)
		if err == nil {
			t.Errorf("%s %v: no error", tc.m.Name(), tc.t.Unit)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v: %v; want it to say %q", tc.m.Name(), tc.t.Unit, err, w)
			}
		}
	}
}

// ParseTarget reads the syntax of the CLI and YAML, and names what is wrong.
func TestParseTarget(t *testing.T) {
	dir := t.TempDir()
	writeVector(t, filepath.Join(dir, "v.npy"), 4)
	for _, tc := range []struct {
		spec string
		want string // String() of the result, or the error's text
		ok   bool
	}{
		{"", "", true},
		{"class:3", "class:3", true},
		{"probability:3", "probability:3", true},
		{"prob:0", "probability:0", true},
		{"probability", "probability", true},
		{"block3_conv2:17", "block3_conv2:17", true},
		{"block3_conv2:17/max", "block3_conv2:17/max", true},
		{"block3_conv2:17/mean", "block3_conv2:17/mean", true},
		{"block3_conv2:17@5,9", "block3_conv2:17@5,9", true},
		{"fc1:17", "fc1:17", true},
		{"block3_conv2:v.npy", "block3_conv2:v.npy", true},
		{"block3_conv2:v.npy@2,3", "block3_conv2:v.npy@2,3", true},
		{"block3_conv2", "no ':'", false},
		{"class:-1", "not a non-negative integer", false},
		{"class:x", "not a non-negative integer", false},
		{"block3_conv2:17/median", "want /max or /mean", false},
		{"block3_conv2:17/mean@1,2", "a position (@) and a reduction", false},
		{"block3_conv2:17@a", "not non-negative integers", false},
		{"block3_conv2:seventeen", "not a non-negative integer (or a .npy direction)", false},
		{"block3_conv2:missing.npy", "missing.npy", false},
		{":3", "empty layer", false},
	} {
		s, err := methods.ParseTarget(tc.spec, dir)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%q: %v", tc.spec, err)
		case tc.ok && s.String() != tc.want:
			t.Errorf("%q reads as %q", tc.spec, s.String())
		case !tc.ok && err == nil:
			t.Errorf("%q: no error (%q)", tc.spec, s.String())
		case !tc.ok && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%q: %v; want it to say %q", tc.spec, err, tc.want)
		}
	}
	s, err := methods.ParseTarget("class:3", "")
	if err != nil {
		t.Fatal(err)
	}
	if tg := s.Target(2); len(tg.Classes) != 2 || tg.Classes[1] != 3 {
		t.Errorf("class:3 for 2 images: %+v", tg)
	}
}

// writeVector writes a float64 vector of n values as .npy (numpy's default
// dtype).
func writeVector(t *testing.T, path string, n int) {
	t.Helper()
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (" + itoa(n) + ",), }"
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = append(b, byte(len(hdr)), byte(len(hdr)>>8))
	b = append(b, hdr...)
	for i := 0; i < n; i++ {
		u := math.Float64bits(float64(i) + 0.5)
		for k := 0; k < 8; k++ {
			b = append(b, byte(u>>(8*k)))
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
