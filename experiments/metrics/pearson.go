package metrics

import "math"

// Pearson is the Pearson correlation of a and b (as scipy.stats.pearsonr):
// NaN when either is constant or they differ in length or are empty.
func Pearson(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	return pearson64(to64(a), to64(b))
}

func pearson64(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	r := sxy / math.Sqrt(sxx*syy)
	return math.Max(-1, math.Min(1, r))
}

func to64(a []float32) []float64 { return to64Into(nil, a) }

// to64Into is to64 written into dst's array where it is long enough.
func to64Into(dst []float64, a []float32) []float64 {
	out := resize(dst, len(a))
	for i, v := range a {
		out[i] = float64(v)
	}
	return out
}
