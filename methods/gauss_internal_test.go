package methods

import (
	"math"
	"testing"
)

// Gauss–Legendre with m nodes integrates polynomials of degree 2m−1 exactly.
func TestGaussLegendre(t *testing.T) {
	for _, m := range []int{1, 2, 3, 8, 50, 128} {
		a, w := gaussLegendre(m)
		for deg := 0; deg <= min(2*m-1, 12); deg++ {
			var s float64
			for i := range a {
				s += float64(w[i]) * math.Pow(float64(a[i]), float64(deg))
			}
			if want := 1 / float64(deg+1); math.Abs(s-want) > 1e-6 {
				t.Errorf("m=%d: ∫x^%d = %g, want %g", m, deg, s, want)
			}
		}
		for i := 1; i < m; i++ {
			if a[i] <= a[i-1] {
				t.Errorf("m=%d: nodes not increasing at %d", m, i)
			}
		}
	}
}
