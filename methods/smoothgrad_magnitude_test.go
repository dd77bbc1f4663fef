//go:build cgo

package methods_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
)

// SmoothGrad's magnitude averages |attribution| over the noisy copies
// instead of the raw attributions: |mean| ≤ mean |·| value by value, and
// strictly where signs flip between copies; the map is unsigned. It is
// smoothgrad's option only.
func TestSmoothGradMagnitude(t *testing.T) {
	if _, err := methods.New("vargrad", map[string]any{"magnitude": true}); err == nil || !strings.Contains(err.Error(), "magnitude is smoothgrad's option") {
		t.Errorf("vargrad with magnitude: %v", err)
	}
	fl, g := loadZoo(t, "fmnist_vgg")
	x := g.Inputs.Slice(0, 2)
	run := func(mag bool) *methods.Maps {
		sg, err := methods.New("smoothgrad", map[string]any{"samples": 8, "noise": 0.3, "magnitude": mag})
		if err != nil {
			t.Fatal(err)
		}
		r, err := sg.Explain(context.Background(), fl, methods.Batch{X: x}, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	raw, mag := run(false), run(true)
	if mag.Signed {
		t.Error("the magnitude's map is signed")
	}
	less := false
	for i, v := range raw.Raw.Data {
		a, b := math.Abs(float64(v)), float64(mag.Raw.Data[i])
		if a > b*(1+1e-5)+1e-12 {
			t.Fatalf("value %d: |mean| %g > mean |·| %g", i, a, b)
		}
		if a < b*0.999 {
			less = true
		}
	}
	if !less {
		t.Error("the magnitude's mean equals the raw mean's magnitude everywhere")
	}
}
