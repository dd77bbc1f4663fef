package methods

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
)

// The Sobol' sequence equals tf.math.sobol_sample's, as Xplique drew it for
// its Sobol design (A then B of 2·64 dimensions, 32 points;
// bench/blackbox_goldens.py), and in every one of its MaxSobolDimension
// dimensions the origin and the first 2^k − 1 points are the 2^k multiples of
// 2^−k (a (0, k, 1)-net in each dimension), k = 1 … 10.
func TestSobolSequence(t *testing.T) {
	ab, err := savedmodels.ReadNpy(filepath.Join("..", "savedmodels", "fmnist_vgg", "golden", "peers", "xplique", "sobol_ab.npy"))
	if err != nil {
		t.Fatal(err)
	}
	pts, err := SobolSequence(128, 32)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 32; j++ {
		for i := 0; i < 64; i++ {
			if a, b := float32(pts[j][i]), ab.Data[j*64+i]; a != b {
				t.Fatalf("point %d, dimension %d (A): %g, TensorFlow's %g", j, i, a, b)
			}
			if a, b := float32(pts[j][64+i]), ab.Data[(32+j)*64+i]; a != b {
				t.Fatalf("point %d, dimension %d (B): %g, TensorFlow's %g", j, 64+i, a, b)
			}
		}
	}
	pts, err = SobolSequence(MaxSobolDimension, 1023)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 10; k++ {
		n := 1 << k
		for d := 0; d < MaxSobolDimension; d++ {
			seen := make([]bool, n)
			seen[0] = true
			for _, p := range pts[:n-1] {
				v := p[d] * float64(n)
				if v != math.Floor(v) || seen[int(v)] {
					t.Fatalf("k %d, dimension %d: the first %d points are not the multiples of 1/%d", k, d, n-1, n)
				}
				seen[int(v)] = true
			}
		}
	}
	if _, err := SobolSequence(MaxSobolDimension+1, 2); err == nil {
		t.Error("a dimension beyond the table: no error")
	}
}
