package tensor

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// GaussianFilter equals scipy.ndimage.gaussian_filter (scipy 1.15.3, the
// values in testdata/scipy_gaussian_filter.json, made by the script beside
// it) for each border mode and sigmas from below a pixel to past the image:
// within 2 float32 ulps of 1 (values are in [0, 1]).
func TestGaussianFilterScipy(t *testing.T) {
	raw, err := os.ReadFile("testdata/scipy_gaussian_filter.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Images map[string]struct {
			Shape []int
			Data  []float32
		}
		Cases []struct {
			Image    string
			Sigma    float64
			Mode     FilterMode
			Truncate float64
			Want     []float32
		}
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 30 {
		t.Fatalf("%d cases", len(g.Cases))
	}
	var all float64
	for _, c := range g.Cases {
		im := g.Images[c.Image]
		x := &Tensor{Shape: append([]int{1}, im.Shape...), Data: im.Data}
		got, err := GaussianFilter(x, c.Sigma, c.Truncate, c.Mode)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i, w := range c.Want {
			worst = max(worst, math.Abs(float64(got.Data[i])-float64(w)))
		}
		all = max(all, worst)
		if worst > 2.5e-7 {
			t.Errorf("%s sigma %g %s: max difference %.3g from scipy", c.Image, c.Sigma, c.Mode, worst)
		}
	}
	t.Logf("%d cases, max difference %.3g", len(g.Cases), all)
	if _, err := GaussianFilter(New(1, 2, 2, 1), 1, 4, "wrap"); err == nil {
		t.Error("mode wrap: no error")
	}
}

// BenchmarkGaussianFilter is Blur IG's blur: a zoo image and a 224×224 RGB
// one at σ 5 and 25 (a constant border).
func BenchmarkGaussianFilter(b *testing.B) {
	for _, s := range []struct {
		name  string
		shape []int
	}{{"28x28x1", []int{1, 28, 28, 1}}, {"224x224x3", []int{1, 224, 224, 3}}} {
		x := New(s.shape...)
		for i := range x.Data {
			x.Data[i] = float32(i%251) / 251
		}
		for _, sigma := range []float64{5, 25} {
			b.Run(fmt.Sprintf("%s/sigma%g", s.name, sigma), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := GaussianFilter(x, sigma, 4, FilterConstant); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
