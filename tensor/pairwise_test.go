package tensor

import (
	"math"
	"testing"
)

// TestPairwiseSum checks the float32 sum against the float64 one and
// numpy's value of np.arange(1000, dtype=np.float32).sum().
func TestPairwiseSum(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 127, 128, 129, 1000, 4099} {
		a := make([]float32, n)
		var want float64
		for i := range a {
			a[i] = float32(math.Sin(float64(i))) * 3
			want += float64(a[i])
		}
		got := float64(PairwiseSum(a))
		if math.Abs(got-want) > 1e-6*float64(n) {
			t.Errorf("n=%d: %v, float64 sum %v", n, got, want)
		}
	}
	// numpy.float32 values: np.arange(1000, dtype=np.float32).sum() == 499500
	a := make([]float32, 1000)
	for i := range a {
		a[i] = float32(i)
	}
	if s := PairwiseSum(a); s != 499500 {
		t.Errorf("sum 0..999 = %v", s)
	}
}
