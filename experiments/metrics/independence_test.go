package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Synthetic maps of four classes, five images each: exact copies of a
// template (plus float32 rounding jitter), copies at other scales, the
// template plus image-dependent noise of 0.5% of its spread (near-identical)
// and of 3% (not), and a class where two images share a map and the others
// do not. The thresholds split them as documented; a constant map is left
// out of the pairs.
func TestInputIndependenceSynthetic(t *testing.T) {
	const px = 400
	rng := rand.New(rand.NewPCG(9, 9))
	template := make([]float64, px)
	for i := range template {
		template[i] = rng.NormFloat64()
	}
	var maps [][]float32
	var classes []int
	add := func(class int, f func(p int) float64) {
		m := make([]float32, px)
		for p := range m {
			m[p] = float32(f(p))
		}
		maps = append(maps, m)
		classes = append(classes, class)
	}
	for k := range 5 {
		add(0, func(p int) float64 { return template[p] * (1 + 1e-8*float64(k)) }) // rounding only
		add(1, func(p int) float64 { return template[p] * float64(k+1) })          // scaled
		add(2, func(p int) float64 { return template[p] + 0.005*rng.NormFloat64() })
		add(3, func(p int) float64 { return template[p] + 0.03*rng.NormFloat64() })
		if k < 2 {
			add(4, func(p int) float64 { return -template[p] + 7 })
		} else {
			add(4, func(p int) float64 { return rng.NormFloat64() })
		}
	}
	add(0, func(int) float64 { return 0 }) // an all-zero map in class 0
	res, err := InputIndependence(maps, classes, IndependenceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		images, degenerate, pairs, identical, near int
		verdict                                    Dependence
	}{
		{6, 1, 10, 10, 10, InputIndependent},
		{5, 0, 10, 0, 10, InputIndependent},
		{5, 0, 10, 0, 10, InputIndependent},
		{5, 0, 10, 0, 0, InputDependent},
		{5, 0, 10, 1, 1, PartlyIndependent},
	}
	if len(res.Classes) != len(want) {
		t.Fatalf("%d classes", len(res.Classes))
	}
	for i, w := range want {
		c := res.Classes[i]
		if c.Class != i || c.Images != w.images || c.Degenerate != w.degenerate || c.Pairs != w.pairs ||
			c.Identical != w.identical || c.NearIdentical != w.near || c.Verdict != w.verdict {
			t.Errorf("class %d: %+v, want %+v", i, c, w)
		}
	}
	if res.Pairs != 50 || res.Identical != 11 || res.NearIdentical != 31 || res.Verdict != PartlyIndependent {
		t.Errorf("overall %d pairs, %d identical, %d near, %v", res.Pairs, res.Identical, res.NearIdentical, res.Verdict)
	}
	if c := res.Classes[3]; !(c.MaxPearson > 0.998 && c.MaxPearson < 0.9999) || !(c.MinRelDiff > 1e-3) {
		t.Errorf("class 3's closest pair: Pearson %g, relative difference %g", c.MaxPearson, c.MinRelDiff)
	}
	// Without the classes that pass, the method depends on the input;
	// with one image per class nothing is tested.
	only, _ := InputIndependence(maps[3:4], []int{3}, IndependenceOptions{})
	if only.Verdict != Untested || !math.IsNaN(only.Classes[0].MaxPearson) {
		t.Errorf("one image: %+v", only)
	}
	for _, c := range []struct {
		maps    [][]float32
		classes []int
		o       IndependenceOptions
		want    string
	}{
		{maps, classes[:3], IndependenceOptions{}, "of 26 maps with 3 classes"},
		{[][]float32{{1, 2}, {1}}, []int{0, 0}, IndependenceOptions{}, "maps of 2 and 1 values"},
		{maps, classes, IndependenceOptions{Tolerance: -1}, "tolerance -1"},
	} {
		if _, err := InputIndependence(c.maps, c.classes, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// On the committed fmnist_resnet golden maps (masked.json) DeconvNet gives
// golden images 2 and 4, both predicted class 2, the same map (numpy: 0
// relative difference, Pearson 1): input-independent; the gradient does
// not (numpy: 0.98, −0.015). The closest pair's numbers equal numpy's.
func TestInputIndependenceZoo(t *testing.T) {
	g := readMasked(t)
	want := map[string]Dependence{"deconvnet": InputIndependent, "gradient": InputDependent}
	for _, c := range g.Independence {
		res, err := InputIndependence(c.Maps, c.Classes, IndependenceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != want[c.Method] || res.Pairs != len(c.Pairs) {
			t.Errorf("%s: %v with %d pairs, want %v with %d", c.Method, res.Verdict, res.Pairs, want[c.Method], len(c.Pairs))
		}
		i := slices.IndexFunc(res.Classes, func(d ClassDependence) bool { return d.Pairs > 0 })
		d, p := res.Classes[i], c.Pairs[0]
		if c.Classes[p.I] != d.Class || math.Abs(d.MaxPearson-p.Pearson) > 1e-12 || math.Abs(d.MinRelDiff-p.Rel) > 1e-12 {
			t.Errorf("%s: class %d, Pearson %g, relative difference %g; numpy class %d, %g, %g",
				c.Method, d.Class, d.MaxPearson, d.MinRelDiff, c.Classes[p.I], p.Pearson, p.Rel)
		}
	}
}
