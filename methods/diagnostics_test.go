package methods

import (
	"math"
	"strings"
	"testing"
)

// Check flags the values above a diagnostic's threshold (an infinite one
// too, not a NaN), and Message names the images, largest first, with the
// likely causes.
func TestCheckDiagnostics(t *testing.T) {
	info := map[string][]float64{
		"completeness-error": {0.01, 0.2, math.NaN(), math.Inf(1), 0.05, 0.0501},
		"score-delta":        {1, 2, 0, 0, 3, 4},
	}
	got := Check(info)
	if len(got) != 1 || got[0].Key != "completeness-error" {
		t.Fatalf("flagged %+v", got)
	}
	f := got[0]
	if want := []int{1, 3, 5}; len(f.Images) != 3 || f.Images[0] != want[0] || f.Images[1] != want[1] || f.Images[2] != want[2] || f.N != 5 {
		t.Errorf("images %v of %d, want %v of 5", f.Images, f.N, want)
	}
	names := []string{"a.png", "b.png", "c.png", "d.png", "e.png", "f.png"}
	msg := f.Message("integrated-gradients", names, 2)
	for _, want := range []string{
		"integrated-gradients: completeness-error above 5% on 3 of 5 images (d.png infinite, b.png 20%, and 1 more): the map is likely wrong; likely causes: too few steps",
		"an input range or pixel mapping the model was not trained with",
		"float16 or bfloat16 layers",
		"to tell them apart, run again with 4 times the steps",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if got := Check(map[string][]float64{"completeness-error": {0.01, 0.05}, "probability": {0.1}}); got != nil {
		t.Errorf("flagged within the threshold: %+v", got)
	}
}
