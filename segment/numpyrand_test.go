package segment

import (
	"math"
	"path/filepath"
	"testing"
)

// numpyNormal reproduces numpy.random.default_rng(42).normal(scale=1e-5,
// size=(h, w)), skimage's quickshift noise, saved by the goldens script.
func TestNumpyNormal(t *testing.T) {
	for _, f := range []string{"noise42_28x28.npy", "noise42_64x64.npy"} {
		want := readFloat64s(t, filepath.Join("testdata", f))
		got := numpyNormal(42, len(want), QuickshiftNoiseScale)
		worst, equal := 0.0, 0
		for i := range want {
			d := math.Abs(got[i]-want[i]) / math.Abs(want[i])
			worst = max(worst, d)
			if got[i] == want[i] {
				equal++
			}
		}
		t.Logf("%s: max relative difference %.3g, %d of %d equal", f, worst, equal, len(want))
		if worst > 1e-12 {
			t.Errorf("%s: max relative difference %.3g against numpy's draws", f, worst)
		}
	}
}
