package metrics

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

type goldenCase struct {
	Name        string             `json:"name"`
	H           int                `json:"h"`
	W           int                `json:"w"`
	A           []float32          `json:"a"`
	B           []float32          `json:"b"`
	DataRange   float64            `json:"data_range"`
	Pearson     float64            `json:"pearson"`
	Spearman    float64            `json:"spearman"`
	SpearmanAbs float64            `json:"spearman_abs"`
	SSIM        float64            `json:"ssim"`
	TopK        map[string]float64 `json:"topk"`
	HOGDefault  []float64          `json:"hog_default"`
	HOGPDefault float64            `json:"hog_pearson_default"`
	HOGSmall    []float64          `json:"hog_small"`
	HOGPSmall   float64            `json:"hog_pearson_small"`
}

// Every metric equals scipy / scikit-image on the same float32 arrays to
// 1e-5 (the HOG features element by element) (testdata/golden.json, from scripts/golden_metrics.py): random
// pairs, near copies, a map and its negative, many ties, a non-square map
// and real saliency maps of the zoo.
func TestMetricsMatchScipy(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Source string       `json:"source"`
		Cases  []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 10 {
		t.Fatalf("%d golden cases", len(g.Cases))
	}
	const tol = 1e-5
	worst := 0.0
	check := func(c goldenCase, what string, got, want float64) {
		d := math.Abs(got - want)
		worst = math.Max(worst, d)
		if !(d <= tol) {
			t.Errorf("%s: %s = %.9f, %s gives %.9f", c.Name, what, got, g.Source, want)
		}
	}
	for _, c := range g.Cases {
		if len(c.A) != c.H*c.W || len(c.B) != len(c.A) {
			t.Fatalf("%s: %d and %d values for %d×%d", c.Name, len(c.A), len(c.B), c.H, c.W)
		}
		check(c, "Pearson", Pearson(c.A, c.B), c.Pearson)
		check(c, "Spearman", Spearman(c.A, c.B), c.Spearman)
		check(c, "Spearman of |map|", SpearmanAbs(c.A, c.B), c.SpearmanAbs)
		s, err := SSIM(c.A, c.B, c.H, c.W, c.DataRange)
		if err != nil {
			t.Fatal(err)
		}
		check(c, "SSIM", s, c.SSIM)
		for ks, want := range c.TopK {
			k, _ := strconv.Atoi(ks)
			got, err := TopKIntersection(c.A, c.B, k)
			if err != nil {
				t.Fatal(err)
			}
			check(c, "top-"+ks+" intersection", got, want)
		}
		for _, h := range []struct {
			what     string
			o        HOGOptions
			features []float64
			pearson  float64
		}{
			{"HOG (defaults)", HOGOptions{}, c.HOGDefault, c.HOGPDefault},
			{"HOG (4-pixel cells, 2-cell blocks)", HOGOptions{Cell: 4, Block: 2}, c.HOGSmall, c.HOGPSmall},
		} {
			f, err := HOG(c.A, c.H, c.W, h.o)
			if err != nil {
				t.Fatal(err)
			}
			if len(f) != len(h.features) {
				t.Fatalf("%s: %s has %d features, scikit-image %d", c.Name, h.what, len(f), len(h.features))
			}
			d := 0.0
			for i := range f {
				d = math.Max(d, math.Abs(f[i]-h.features[i]))
			}
			check(c, h.what+" features (max difference)", d, 0)
			p, err := HOGPearson(c.A, c.B, c.H, c.W, h.o)
			if err != nil {
				t.Fatal(err)
			}
			check(c, h.what+" Pearson", p, h.pearson)
		}
	}
	t.Logf("%d cases, largest difference to %s: %.2g", len(g.Cases), g.Source, worst)
}

func TestMetricErrors(t *testing.T) {
	a := make([]float32, 49)
	for i := range a {
		a[i] = float32(i)
	}
	if !math.IsNaN(Pearson(a, a[:10])) || !math.IsNaN(Spearman(a, make([]float32, 49))) {
		t.Error("Pearson of unequal lengths or Spearman of a constant map is not NaN")
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{second(SSIM(a, a, 5, 10, 1)), "maps of 49 and 49 values as 5×10"},
		{second(SSIM(a[:36], a[:36], 6, 6, 1)), "at least 7×7"},
		{second(SSIM(a, a, 7, 7, 0)), "data range 0 must be positive"},
		{second(TopKIntersection(a, a, 0)), "k = 0 for 49 values"},
		{second(TopKIntersection(a, a[:3], 2)), "maps of 49 and 3 values"},
		{second(HOGPearson(a, a, 7, 7, HOGOptions{})), "at least 24×24 for 8-pixel cells in blocks of 3"},
		{second(HOGPearson(a, a, 5, 10, HOGOptions{Cell: 2, Block: 1})), "a map of 49 values as 5×10"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v; want %q", c.err, c.want)
		}
	}
	if s, _ := SSIM(a, a, 7, 7, 48); math.Abs(s-1) > 1e-12 {
		t.Errorf("SSIM of a map with itself = %g", s)
	}
}

func second(_ float64, err error) error { return err }
