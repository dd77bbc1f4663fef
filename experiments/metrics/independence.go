package metrics

import (
	"fmt"
	"math"
	"sort"
)

// Dependence is the verdict of InputIndependence.
type Dependence string

const (
	// InputIndependent: every pair of maps of different images of a class
	// is near-identical (in every class with a pair): the maps say what
	// the class is, not where it is in the image.
	InputIndependent Dependence = "input-independent"
	// PartlyIndependent: some pairs are near-identical, not all.
	PartlyIndependent Dependence = "partly input-independent"
	// InputDependent: no pair is near-identical.
	InputDependent Dependence = "input-dependent"
	// Untested: no class has two maps to compare.
	Untested Dependence = "untested"
)

// IndependenceOptions are the thresholds of InputIndependence; zero values
// take the defaults.
type IndependenceOptions struct {
	// Tolerance of identical maps: max_p |a_p − b_p| ≤ Tolerance ·
	// max(max_p |a_p|, max_p |b_p|). Default 1e-6, 8 float32 ulps of the
	// larger map's largest value: maps the same graph computed from the
	// same start signal, whose only differences are float32 rounding
	// (summation order in a batch of another size), not any image.
	Tolerance float64
	// MinPearson of maps identical up to a positive scale and an offset:
	// Pearson(a, b) ≥ MinPearson. Default 0.9999: two maps t + e₁ and
	// t + e₂ whose image-dependent parts e are independent, of σ times t's
	// standard deviation, have r = 1/(1+σ²), so the threshold admits
	// image-dependent parts of at most 1% of the map's spread. The maps of
	// a method that sees the input score far lower (|r| = 0.015 for the
	// gradient of fmnist_resnet's golden images 2 and 4, both class 2).
	MinPearson float64
}

func (o IndependenceOptions) withDefaults() IndependenceOptions {
	if o.Tolerance == 0 {
		o.Tolerance = 1e-6
	}
	if o.MinPearson == 0 {
		o.MinPearson = 0.9999
	}
	return o
}

// ClassDependence is InputIndependence for the images of one class.
type ClassDependence struct {
	Class int
	// Images counts the maps of the class; Degenerate those of them that
	// are not OK (constant, all zero, non-finite), which are left out of
	// the pairs: Degenerate reports them on their own.
	Images, Degenerate int
	// Pairs counts the pairs of OK maps; Identical those within Tolerance;
	// NearIdentical those identical or with Pearson ≥ MinPearson.
	Pairs, Identical, NearIdentical int
	// MaxPearson is the largest Pearson correlation of a pair and
	// MinRelDiff the smallest max|a−b| / max(max|a|, max|b|) (NaN without
	// a pair): the closest pair, for a table.
	MaxPearson, MinRelDiff float64
	Verdict                Dependence
}

// Independence is the result of InputIndependence.
type Independence struct {
	// Classes are the classes with at least one map, in increasing order.
	Classes []ClassDependence
	// Pairs, Identical and NearIdentical sum those of the classes.
	Pairs, Identical, NearIdentical int
	// Verdict is InputIndependent when every class with a pair is,
	// InputDependent when no pair is near-identical, Untested without a
	// pair, and PartlyIndependent otherwise.
	Verdict Dependence
}

// InputIndependence tests whether a method's maps depend on the input
// beyond its class: maps[i] is the map of image i (all of one length) and
// classes[i] the class explained. It compares every pair of maps of
// different images of the same class: a map that does not change from one
// image to another (DeconvNet on fmnist_resnet, whose backward pass does
// not see the input) is near-identical for every pair and passes measures
// such as fragility trivially. The images must be distinct (two copies of
// an image have identical maps for any method). The cost is
// O(Σ_class n²·pixels).
func InputIndependence(maps [][]float32, classes []int, o IndependenceOptions) (Independence, error) {
	o = o.withDefaults()
	if len(maps) != len(classes) {
		return Independence{}, fmt.Errorf("metrics: input independence of %d maps with %d classes", len(maps), len(classes))
	}
	if err := sameLength(maps); err != nil {
		return Independence{}, err
	}
	if !(o.Tolerance >= 0) || !(o.MinPearson <= 1) {
		return Independence{}, fmt.Errorf("metrics: input independence tolerance %g, minimum Pearson %g", o.Tolerance, o.MinPearson)
	}
	byClass := map[int][]int{}
	for i, c := range classes {
		byClass[c] = append(byClass[c], i)
	}
	var res Independence
	for c, idx := range byClass {
		cd := ClassDependence{Class: c, Images: len(idx), MaxPearson: math.NaN(), MinRelDiff: math.NaN()}
		var ok []int
		for _, i := range idx {
			if Degenerate(maps[i]) == OK {
				ok = append(ok, i)
			} else {
				cd.Degenerate++
			}
		}
		x := make([][]float64, len(ok))
		for k, i := range ok {
			x[k] = to64(maps[i])
		}
		for k := range ok {
			for l := k + 1; l < len(ok); l++ {
				cd.Pairs++
				rel := relDiff(x[k], x[l])
				r := pearson64(x[k], x[l])
				if rel <= o.Tolerance {
					cd.Identical++
				}
				if rel <= o.Tolerance || r >= o.MinPearson {
					cd.NearIdentical++
				}
				if !(cd.MaxPearson >= r) {
					cd.MaxPearson = r
				}
				if !(cd.MinRelDiff <= rel) {
					cd.MinRelDiff = rel
				}
			}
		}
		cd.Verdict = dependence(cd.Pairs, cd.NearIdentical)
		res.Classes = append(res.Classes, cd)
		res.Pairs += cd.Pairs
		res.Identical += cd.Identical
		res.NearIdentical += cd.NearIdentical
	}
	sort.Slice(res.Classes, func(i, j int) bool { return res.Classes[i].Class < res.Classes[j].Class })
	res.Verdict = dependence(res.Pairs, res.NearIdentical)
	return res, nil
}

func dependence(pairs, near int) Dependence {
	switch {
	case pairs == 0:
		return Untested
	case near == pairs:
		return InputIndependent
	case near == 0:
		return InputDependent
	}
	return PartlyIndependent
}

// relDiff is max|a−b| / max(max|a|, max|b|), 0 for two zero maps.
func relDiff(a, b []float64) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
		s = math.Max(s, math.Max(math.Abs(a[i]), math.Abs(b[i])))
	}
	if s == 0 {
		return 0
	}
	return d / s
}
