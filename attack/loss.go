package attack

import (
	"fmt"
	"math"
	"sort"
)

// Loss names the dissimilarity the attack lowers.
type Loss string

// The dissimilarities of Ghorbani et al. (2019), on |map| normalised to sum
// 1 (a map's scale says nothing of its ranking).
const (
	// TopK is the share of the map on the original map's top-k pixels,
	// Σ_{p∈K} |M_p| / Σ_p |M_p| (default): lowering it moves the salient
	// pixels elsewhere.
	TopK Loss = "top-k"
	// CenterOfMass is minus the distance of the map's centre of mass
	// (of |M|, in pixels) from the original map's.
	CenterOfMass Loss = "center-of-mass"
)

// Losses lists the dissimilarities.
var Losses = []Loss{TopK, CenterOfMass}

// Validate reports an unknown loss ("" is TopK).
func (l Loss) Validate() error {
	switch l {
	case "", TopK, CenterOfMass:
		return nil
	}
	return fmt.Errorf("attack: unknown loss %q; losses: %v", string(l), Losses)
}

// TopKSet is the set of the k entries of largest |m|, ties by position (the
// lower index first), as metrics.TopKIntersection ranks them.
func TopKSet(m []float32, k int) []int {
	idx := make([]int, len(m))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		return math.Abs(float64(m[idx[i]])) > math.Abs(float64(m[idx[j]]))
	})
	out := append([]int(nil), idx[:k]...)
	sort.Ints(out)
	return out
}

// CenterOfMassOf is the centre of mass (row, column) of |m| over an h×w
// map, in pixels; the centre of the map when m is zero.
func CenterOfMassOf(m []float32, h, w int) (float64, float64) {
	var s, r, c float64
	for p, v := range m {
		a := math.Abs(float64(v))
		s += a
		r += a * float64(p/w)
		c += a * float64(p%w)
	}
	if s == 0 {
		return float64(h-1) / 2, float64(w-1) / 2
	}
	return r / s, c / s
}

// CenterShift is the distance in pixels between the centres of mass of |a|
// and |b|, two h×w maps.
func CenterShift(a, b []float32, h, w int) float64 {
	ra, ca := CenterOfMassOf(a, h, w)
	rb, cb := CenterOfMassOf(b, h, w)
	return math.Hypot(ra-rb, ca-cb)
}

// dissimilarity is the loss D of one map m (h×w) and its derivative ∂D/∂m
// (written to grad), given the original map's top-k set or centre of mass.
type dissimilarity struct {
	loss   Loss
	h, w   int
	top    []int   // TopK: the original top-k set
	r0, c0 float64 // CenterOfMass: the original centre
}

// eval returns D(m) and fills grad with ∂D/∂m.
func (d dissimilarity) eval(m, grad []float32) float64 {
	var s float64
	for _, v := range m {
		s += math.Abs(float64(v))
	}
	for p := range grad {
		grad[p] = 0
	}
	if s == 0 {
		return 0
	}
	sign := func(v float32) float64 {
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return 0
	}
	switch d.loss {
	case CenterOfMass:
		// D = −‖C − C0‖, C = Σ |m_p| x_p / S: ∂D/∂|m_p| = −u·(x_p − C)/S
		// with u the unit vector from C0 to C (a fixed diagonal when they
		// coincide).
		r, c := CenterOfMassOf(m, d.h, d.w)
		dr, dc := r-d.r0, c-d.c0
		dist := math.Hypot(dr, dc)
		ur, uc := math.Sqrt2/2, math.Sqrt2/2
		if dist > 1e-12 {
			ur, uc = dr/dist, dc/dist
		}
		for p, v := range m {
			g := -(ur*(float64(p/d.w)-r) + uc*(float64(p%d.w)-c)) / s
			grad[p] = float32(g * sign(v))
		}
		return -dist
	default:
		// D = T/S, T = Σ_{p∈K} |m_p|: ∂D/∂|m_p| = (1[p∈K] − D)/S.
		var t float64
		for _, p := range d.top {
			t += math.Abs(float64(m[p]))
		}
		share := t / s
		for p, v := range m {
			grad[p] = float32(-share / s * sign(v))
		}
		for _, p := range d.top {
			grad[p] += float32(sign(m[p]) / s)
		}
		return share
	}
}
