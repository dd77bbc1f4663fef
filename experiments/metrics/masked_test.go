package metrics

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// masked.json, from testdata/golden_masked.py.
type maskedGolden struct {
	Source string `json:"source"`
	Cases  []struct {
		Name               string    `json:"name"`
		H                  int       `json:"h"`
		W                  int       `json:"w"`
		A                  []float32 `json:"a"`
		B                  []float32 `json:"b"`
		Mask               []int     `json:"mask"`
		Spearman           float64   `json:"spearman"`
		SpearmanAbs        float64   `json:"spearman_abs"`
		Pearson            float64   `json:"pearson"`
		SSIM               *float64  `json:"ssim"`
		HOGDefault         *float64  `json:"hog_default"`
		HOGSmall           *float64  `json:"hog_small"`
		TopK               float64   `json:"topk"`
		ZeroFraction       float64   `json:"zero_fraction"`
		ZeroFractionBoth   float64   `json:"zero_fraction_both"`
		TiedFraction       float64   `json:"tied_fraction"`
		LargestTieValue    float32   `json:"largest_tie_value"`
		LargestTieFraction float64   `json:"largest_tie_fraction"`
	} `json:"cases"`
	Foreground []struct {
		X          []float32 `json:"x"`
		Background []float32 `json:"background"`
		Mask       []int     `json:"mask"`
	} `json:"foreground"`
	Null struct {
		X             []float32 `json:"x"`
		Shape         []int     `json:"shape"`
		Seed          uint64    `json:"seed"`
		UniformSum    []float32 `json:"uniform_sum"`
		UniformMaxAbs []float32 `json:"uniform_max_abs"`
		UniformGray   []float32 `json:"uniform_gray"`
		Random        []float32 `json:"random"`
	} `json:"null"`
	Independence []struct {
		Method  string      `json:"method"`
		Maps    [][]float32 `json:"maps"`
		H       int         `json:"h"`
		W       int         `json:"w"`
		Classes []int       `json:"classes"`
		Pairs   []struct {
			I       int     `json:"i"`
			J       int     `json:"j"`
			Rel     float64 `json:"rel"`
			Pearson float64 `json:"pearson"`
		} `json:"pairs"`
	} `json:"independence"`
}

func readMasked(t *testing.T) maskedGolden {
	t.Helper()
	raw, err := os.ReadFile("testdata/masked.json")
	if err != nil {
		t.Fatal(err)
	}
	var g maskedGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func boolMask(m []int) []bool {
	out := make([]bool, len(m))
	for i, v := range m {
		out[i] = v != 0
	}
	return out
}

// Every measure on the pixels of a mask equals scipy / scikit-image on the
// same pixels (testdata/masked.json): Fashion-MNIST Gradient × Input maps
// of two models and against |x·noise| on the foreground, a mask of every
// pixel, random masks, a mask inside SSIM's border (undefined), ties; the
// zero, tie and largest-tie shares equal numpy's.
func TestMaskedMeasuresMatchScipy(t *testing.T) {
	g := readMasked(t)
	if len(g.Cases) < 8 {
		t.Fatalf("%d cases", len(g.Cases))
	}
	const tol = 1e-5
	for _, c := range g.Cases {
		mask := boolMask(c.Mask)
		for _, m := range []struct {
			m    Measure
			want *float64
		}{
			{SpearmanMeasure{}, &c.Spearman},
			{SpearmanMeasure{Abs: true}, &c.SpearmanAbs},
			{PearsonMeasure{}, &c.Pearson},
			{SSIMMeasure{}, c.SSIM},
			{HOGMeasure{}, c.HOGDefault},
			{HOGMeasure{HOGOptions{Cell: 4, Block: 2}}, c.HOGSmall},
			{TopKMeasure{}, &c.TopK},
		} {
			r, err := m.m.Compare(c.A, c.B, c.H, c.W, mask)
			if m.want == nil {
				if err == nil && r.Status != Undefined {
					t.Errorf("%s: %s = %+v, scipy: undefined", c.Name, m.m.Name(), r)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", c.Name, m.m.Name(), err)
			}
			if r.Status != Scored || !(math.Abs(r.Value-*m.want) <= tol) {
				t.Errorf("%s: %s = %.9f (%v), %s gives %.9f", c.Name, m.m.Name(), r.Value, r.Status, g.Source, *m.want)
			}
		}
		if z, _ := ZeroFraction(c.A); z != c.ZeroFraction {
			t.Errorf("%s: ZeroFraction %g, numpy %g", c.Name, z, c.ZeroFraction)
		}
		if z, _ := ZeroFraction(c.A, c.B); z != c.ZeroFractionBoth {
			t.Errorf("%s: ZeroFraction of a and b %g, numpy %g", c.Name, z, c.ZeroFractionBoth)
		}
		if f := TiedFraction(c.A); f != c.TiedFraction {
			t.Errorf("%s: TiedFraction %g, numpy %g", c.Name, f, c.TiedFraction)
		}
		if v, f := LargestTie(c.A); v != c.LargestTieValue || f != c.LargestTieFraction {
			t.Errorf("%s: LargestTie %g, %g; numpy %g, %g", c.Name, v, f, c.LargestTieValue, c.LargestTieFraction)
		}
	}
}

// With no mask (or a mask of every pixel) the measures are the report's
// computations bit for bit on every golden pair: the functions, with SSIM
// and HOG of min-max normalised maps and k = ceil(0.1·n).
func TestMeasuresUnmaskedAreTheFunctions(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		h, w := c.H, c.W
		na, nb := minMax(c.A), minMax(c.B)
		ssim, _ := SSIM(na, nb, h, w, 1)
		want := map[string]float64{
			"spearman":     Spearman(c.A, c.B),
			"spearman-abs": SpearmanAbs(c.A, c.B),
			"pearson":      Pearson(c.A, c.B),
			"ssim":         ssim,
		}
		if h >= 24 && w >= 24 {
			want["hog-pearson"], _ = HOGPearson(na, nb, h, w, HOGOptions{})
		}
		want["top-k"], _ = TopKIntersection(c.A, c.B, int(math.Ceil(0.1*float64(h*w))))
		all := make([]bool, h*w)
		for i := range all {
			all[i] = true
		}
		for name, v := range want {
			for _, mask := range [][]bool{nil, all} {
				r, err := Measures[name].Compare(c.A, c.B, h, w, mask)
				if err != nil {
					t.Fatal(err)
				}
				if r.Value != v || r.Status != Scored {
					t.Errorf("%s: %s (mask %v) = %v %v, the function gives %v", c.Name, name, mask != nil, r.Value, r.Status, v)
				}
			}
		}
	}
}

// One policy: a pair with a degenerate map is not scored by any measure,
// whatever its kind, with or without a mask; CompareAll drops a pair from
// every measure when one cannot score it.
func TestDegeneratePolicy(t *testing.T) {
	const h, w = 28, 28
	ok := make([]float32, h*w)
	for i := range ok {
		ok[i] = float32(math.Sin(float64(i)*0.37)) * float32(i%13)
	}
	constant := slices.Repeat([]float32{0.25}, h*w)
	zero := make([]float32, h*w)
	nan := slices.Clone(ok)
	nan[17] = float32(math.NaN())
	inf := slices.Clone(ok)
	inf[3] = float32(math.Inf(-1))
	// constant on the left half, where the mask is, not elsewhere
	half := slices.Clone(ok)
	left := make([]bool, h*w)
	for i := range half {
		if i%w < w/2 {
			half[i], left[i] = 3, true
		}
	}
	ms := []Measure{SpearmanMeasure{}, SpearmanMeasure{Abs: true}, PearsonMeasure{}, SSIMMeasure{}, HOGMeasure{}, TopKMeasure{}}
	for _, c := range []struct {
		name string
		b    []float32
		mask []bool
		kind Kind
	}{
		{"constant", constant, nil, Constant},
		{"all zero", zero, nil, AllZero},
		{"NaN", nan, nil, NonFinite},
		{"−Inf", inf, nil, NonFinite},
		{"constant on the mask", half, left, Constant},
		{"empty mask", ok, make([]bool, h*w), Empty},
	} {
		rs, err := CompareAll(ms, ok, c.b, h, w, c.mask)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			if r.Status != DegenerateMaps || !math.IsNaN(r.Value) || r.B != c.kind || r.Kind() != c.kind {
				t.Errorf("%s: %s gives %+v, want not scored, B %v", c.name, ms[i].Name(), r, c.kind)
			}
			// b against itself: both maps degenerate
			r2, _ := ms[i].Compare(c.b, c.b, h, w, c.mask)
			if r2.Status != DegenerateMaps || r2.A != c.kind {
				t.Errorf("%s: %s of the map with itself gives %+v", c.name, ms[i].Name(), r2)
			}
		}
	}
	// The old functions keep their results: NaN for Spearman, a number
	// for top-k.
	if !math.IsNaN(Spearman(ok, constant)) {
		t.Error("Spearman of a constant map is not NaN")
	}
	if v, _ := TopKIntersection(ok, constant, 10); math.IsNaN(v) {
		t.Error("TopKIntersection of a constant map is NaN")
	}
	// A map of ±1 is OK, but |map| is constant: spearman-abs is undefined,
	// and CompareAll excludes the pair from the others.
	pm := make([]float32, h*w)
	for i := range pm {
		pm[i] = 1
		if math.Sin(float64(i)*1.3) < 0 {
			pm[i] = -1
		}
	}
	rs, _ := CompareAll(ms, ok, pm, h, w, nil)
	for i, r := range rs {
		want := Excluded
		if ms[i].Name() == "spearman-abs" {
			want = Undefined
		}
		if r.Status != want || !math.IsNaN(r.Value) || r.Kind() != OK {
			t.Errorf("±1 map: %s gives %+v, want %v", ms[i].Name(), r, want)
		}
	}
	if got := TallyResults(rs).String(); got != "0 scored; not scored: 1 undefined, 5 excluded" {
		t.Errorf("tally %q", got)
	}
	// Counting: 20 images, one map constant after randomization, gives
	// n = 19 for every measure.
	var per = make([][]Result, len(ms))
	for img := 0; img < 20; img++ {
		b := slices.Clone(ok)
		b[img], b[img+100] = b[img+100], b[img] // another map per image
		if img == 7 {
			b = constant
		}
		rs, err := CompareAll(ms, ok, b, h, w, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			per[i] = append(per[i], r)
		}
	}
	for i := range ms {
		if got := TallyResults(per[i]).String(); got != "19 scored; not scored: 1 constant" {
			t.Errorf("%s: %s", ms[i].Name(), got)
		}
		nan := 0
		for _, v := range Values(per[i]) {
			if math.IsNaN(v) {
				nan++
			}
		}
		if nan != 1 {
			t.Errorf("%s: %d NaN values", ms[i].Name(), nan)
		}
	}
}

func TestMeasureErrors(t *testing.T) {
	a := make([]float32, 49)
	for i := range a {
		a[i] = float32(i)
	}
	for _, c := range []struct {
		m    Measure
		b    []float32
		h, w int
		mask []bool
		want string
	}{
		{PearsonMeasure{}, a[:10], 7, 7, nil, "maps of 49 and 10 values as 7×7"},
		{SpearmanMeasure{}, a, 7, 7, make([]bool, 3), "mask of 3 pixels for a map of 49"},
		{SSIMMeasure{}, a[:36], 6, 6, nil, "maps of 49 and 36 values as 6×6"},
		{SSIMMeasure{}, make([]float32, 49), 7, 7, nil, ""},
		{HOGMeasure{}, a, 7, 7, nil, "at least 24×24"},
		{HOGMeasure{}, make([]float32, 49), 7, 7, nil, "at least 24×24"}, // sizes before degeneracy
		{TopKMeasure{Fraction: 2}, a, 7, 7, nil, "top-k fraction 2"},
	} {
		_, err := c.m.Compare(a, c.b, c.h, c.w, c.mask)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.m.Name(), err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.m.Name(), err, c.want)
		}
	}
	if _, err := MeasureNamed("kendall"); err == nil || !strings.Contains(err.Error(), "measures: hog-pearson, pearson, spearman, spearman-abs, ssim, top-k") {
		t.Errorf("MeasureNamed: %v", err)
	}
	for name, m := range Measures {
		if m.Name() != name {
			t.Errorf("Measures[%q].Name() = %q", name, m.Name())
		}
	}
}

func TestDegenerateKinds(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	for _, c := range []struct {
		m    []float32
		want Kind
	}{
		{nil, Empty},
		{[]float32{1}, Constant},
		{[]float32{0, negZero, 0}, AllZero},
		{[]float32{2, 2, 2}, Constant},
		{[]float32{2, 2, math.Nextafter32(2, 3)}, OK},
		{[]float32{0, 0, 1e-30}, OK},
		{[]float32{0, 0, nan}, NonFinite},
		{[]float32{1, inf, 2}, NonFinite},
		{[]float32{-inf, -inf}, NonFinite},
		{[]float32{1, math.Float32frombits(0xffc00001)}, NonFinite}, // a negative NaN
		{[]float32{math.MaxFloat32, -math.MaxFloat32}, OK},
		{[]float32{math.SmallestNonzeroFloat32, 0}, OK},
	} {
		if got := Degenerate(c.m); got != c.want {
			t.Errorf("Degenerate(%v) = %v, want %v", c.m, got, c.want)
		}
	}
	if Kind(9).String() != "Kind(9)" || Status(9).String() != "Status(9)" || NonFinite.String() != "non-finite" {
		t.Error("String")
	}
	// Ties: NaN ties with nothing, +0 with −0.
	if f := TiedFraction([]float32{nan, nan, 0, negZero, 1}); f != 0.4 {
		t.Errorf("TiedFraction = %g", f)
	}
	if v, f := LargestTie([]float32{negZero, 0, 3, 3, nan}); v != 0 || math.Signbit(float64(v)) || f != 0.4 {
		t.Errorf("LargestTie = %g, %g", v, f)
	}
	if v, f := LargestTie([]float32{nan}); !math.IsNaN(float64(v)) || !math.IsNaN(f) {
		t.Errorf("LargestTie of NaN = %g, %g", v, f)
	}
	if z, _ := ZeroFraction(); !math.IsNaN(z) {
		t.Error("ZeroFraction of no map")
	}
	if _, err := ZeroFraction([]float32{1}, []float32{1, 2}); err == nil {
		t.Error("ZeroFraction of maps of other lengths")
	}
}

// Foreground equals numpy's np.any(x != background, axis=-1), for a black
// background and a non-zero one (masked.json); Support marks the pixels
// not zero in every map.
func TestForeground(t *testing.T) {
	g := readMasked(t)
	for i, c := range g.Foreground {
		got, err := Foreground(c.X, c.Background)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, boolMask(c.Mask)) {
			t.Errorf("case %d: Foreground %v, numpy %v", i, got, c.Mask)
		}
	}
	if _, err := Foreground(make([]float32, 7), []float32{0, 0}); err == nil || !strings.Contains(err.Error(), "foreground of 7 values with a background of 2 channels") {
		t.Errorf("error %v", err)
	}
	s, _ := Support([]float32{0, 1, 0, 0}, []float32{0, 0, -2, 0})
	if !slices.Equal(s, []bool{false, true, true, false}) || Count(s) != 2 {
		t.Errorf("Support = %v", s)
	}
}
