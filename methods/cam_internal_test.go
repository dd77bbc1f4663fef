package methods

import (
	"math/rand/v2"
	"testing"

	"github.com/saliencykit/saliency/tensor"
)

// TestWeightedSameAsPlainSum: weighted (four pixels summed side by side,
// images on goroutines) gives, bit for bit, the plain per-pixel sum over
// the channels in order, with and without the ReLU, for pixel counts that
// are and are not multiples of four.
func TestWeightedSameAsPlainSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][4]int{{1, 1, 1, 1}, {3, 7, 5, 13}, {32, 14, 14, 64}, {2, 3, 3, 512}} {
		n, h, w, k := sh[0], sh[1], sh[2], sh[3]
		a := tensor.New(n, h, w, k)
		for i := range a.Data {
			a.Data[i] = float32(r.NormFloat64())
		}
		wt := make([]float64, n*k)
		for i := range wt {
			wt[i] = r.NormFloat64()
		}
		for _, relu := range []bool{false, true} {
			got := weighted(a, wt, relu)
			for i := 0; i < n; i++ {
				for p := 0; p < h*w; p++ {
					var s float64
					for c := 0; c < k; c++ {
						s += wt[i*k+c] * float64(a.Data[(i*h*w+p)*k+c])
					}
					if relu && s < 0 {
						s = 0
					}
					if g := got.Data[i*h*w+p]; g != float32(s) {
						t.Fatalf("shape %v relu %v: image %d pixel %d = %v, the plain sum is %v", sh, relu, i, p, g, float32(s))
					}
				}
			}
		}
	}
}
