package attack

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/saliencykit/saliency/experiments/metrics"
)

// The derivatives of both dissimilarities agree with central differences,
// on signed maps away from zero (where |m| has a kink).
func TestDissimilarityGradient(t *testing.T) {
	const h, w = 6, 5
	r := rand.New(rand.NewPCG(3, 4))
	m := make([]float32, h*w)
	for p := range m {
		v := 0.2 + r.Float64()
		if r.IntN(3) == 0 {
			v = -v
		}
		m[p] = float32(v)
	}
	orig := make([]float32, h*w)
	for p := range orig {
		orig[p] = float32(r.NormFloat64())
	}
	r0, c0 := CenterOfMassOf(orig, h, w)
	for _, d := range []dissimilarity{
		{loss: TopK, h: h, w: w, top: TopKSet(orig, 3)},
		{loss: CenterOfMass, h: h, w: w, r0: r0, c0: c0},
	} {
		grad := make([]float32, h*w)
		d.eval(m, grad)
		scratch := make([]float32, h*w)
		for p := range m {
			const e = 1e-3
			up, down := append([]float32(nil), m...), append([]float32(nil), m...)
			up[p] += e
			down[p] -= e
			fd := (d.eval(up, scratch) - d.eval(down, scratch)) / (2 * e)
			if math.Abs(fd-float64(grad[p])) > 1e-3*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s: ∂D/∂m[%d] = %g, central difference %g", d.loss, p, grad[p], fd)
			}
		}
	}
}

// TopKSet is the set metrics.TopKIntersection ranks: a map meets its own
// set fully, and a map zero outside the set meets it fully too.
func TestTopKSet(t *testing.T) {
	m := []float32{0.5, -3, 2, 2, 0, -2, 1}
	set := TopKSet(m, 3)
	if want := []int{1, 2, 3}; len(set) != 3 || set[0] != want[0] || set[1] != want[1] || set[2] != want[2] {
		t.Errorf("top-3 of %v: %v, want %v (ties by position)", m, set, want)
	}
	only := make([]float32, len(m))
	for _, p := range set {
		only[p] = m[p]
	}
	if v, _ := metrics.TopKIntersection(m, only, 3); v != 1 {
		t.Errorf("intersection with the map on its own top-3 set: %g", v)
	}
	if d := CenterShift([]float32{1, 0, 0, 0}, []float32{0, 0, 0, 1}, 2, 2); math.Abs(d-math.Sqrt2) > 1e-12 {
		t.Errorf("shift between opposite corners of 2×2: %g", d)
	}
}
