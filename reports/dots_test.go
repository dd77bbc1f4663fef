package reports

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/cmpimg"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// localizers are the categories of the golden Dots figure: saliency
// methods, and a random map.
var localizers = []string{"gradient", "smoothgrad", "integrated-gradients", "guided-backprop", "gradcam", "gradient×input", "random"}

// scores is a synthetic DotSeries: means m with intervals of half-width w.
func scores(name string, w float64, m ...float64) DotSeries {
	s := DotSeries{Name: name, Mean: m, Lo: make([]float64, len(m)), Hi: make([]float64, len(m))}
	for i, v := range m {
		s.Lo[i], s.Hi[i] = v-w*(1+float64(i%3)/2), v+w*(1+float64(i%2)/3)
	}
	return s
}

func ref(v float64) *float64 { return &v }

// goldenDots is the figure of the golden-image test: localization scores
// of six methods and a random map under a trained and a randomized model,
// in two rows of panels, with a fixed range, references (one at the top of
// its panel, its label below the line), a missing point, a missing
// whisker, a series without whiskers, a one-series panel and negative
// values.
func goldenDots() *Dots {
	pg := []DotSeries{
		scores("trained", 0.05, 0.62, 0.71, 0.66, 0.83, 0.91, 0.58, 0.30),
		scores("randomized", 0.06, 0.33, 0.35, 0.31, 0.79, 0.36, 0.32, 0.30),
	}
	epg := []DotSeries{
		scores("trained", 0.03, 0.31, 0.36, 0.34, 0.45, 0.52, 0.29, 0.18),
		scores("randomized", 0.03, 0.19, 0.20, 0.18, 0.41, 0.19, 0.18, 0.18),
	}
	epg[1].Mean[4] = math.NaN() // a missing point
	auc := []DotSeries{
		scores("trained", 0.02, 0.71, 0.76, 0.74, 0.86, 0.83, 0.69, 0.5),
		{Name: "randomized", Mean: []float64{0.52, 0.55, 0.51, 0.84, 0.53, 0.50, 0.5}},
	}
	auc[0].Lo[2] = math.NaN() // a missing whisker
	delta := []DotSeries{scores("trained", 0.04, 0.12, 0.18, 0.21, -0.03, 0.15, 0.16, -0.01)}
	return &Dots{
		Title:      "Localization of the object",
		Categories: localizers,
		Columns:    2,
		Panels: []DotPanel{
			{Title: "Pointing game", YLabel: "hit rate", YMin: 0, YMax: 1, Series: pg, Reference: ref(0.30), ReferenceLabel: "random map"},
			{Title: "Energy pointing game", YLabel: "energy in the box", Series: epg, Reference: ref(0.18), ReferenceLabel: "box area"},
			{Title: "Mask AUC", YLabel: "ROC AUC of |map|", Series: auc, Reference: ref(0.9), ReferenceLabel: "chance (top)"},
			{Title: "Insertion − deletion AUC (trained only)", YLabel: "Δ AUC", Series: delta},
		},
	}
}

// TestDotsGolden compares the figure with testdata/dots_golden.png; go test
// -regen rewrites it.
func TestDotsGolden(t *testing.T) {
	t.Cleanup(func() { os.Remove(filepath.Join("testdata", "dots.png")) })
	cmpimg.CheckPlotApprox(func() {
		if err := goldenDots().Save(filepath.Join("testdata", "dots.png")); err != nil {
			t.Fatal(err)
		}
	}, t, 0.001, "dots.png")
}

// The same dots give the same bytes, in every format.
func TestDotsDeterministic(t *testing.T) {
	for _, format := range []string{"png", "svg", "pdf"} {
		var out [3]bytes.Buffer
		for i := range out {
			wt, err := goldenDots().WriterTo(format)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := wt.WriteTo(&out[i]); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i < len(out); i++ {
			if !bytes.Equal(out[0].Bytes(), out[i].Bytes()) {
				t.Errorf("%s: renderings 0 and %d differ (%d and %d bytes)", format, i, out[0].Len(), out[i].Len())
			}
		}
	}
}

func TestDotsSave(t *testing.T) {
	dir := t.TempDir()
	d := goldenDots()
	d.DPI = 100
	saved := map[string][]byte{}
	for ext, magic := range map[string]string{".png": "\x89PNG", ".svg": "<?xml", ".pdf": "%PDF"} {
		path := filepath.Join(dir, "dots"+ext)
		if err := d.Save(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s starts with %q, want %q", ext, b[:min(len(b), 8)], magic)
		}
		saved[ext] = b
	}
	// Saved again, the files are the same.
	for ext, b := range saved {
		path := filepath.Join(dir, "dots"+ext)
		if err := d.Save(path); err != nil {
			t.Fatal(err)
		}
		if again, _ := os.ReadFile(path); !bytes.Equal(again, b) {
			t.Errorf("%s saved twice differs", ext)
		}
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(saved[".png"]))
	if err != nil {
		t.Fatal(err)
	}
	w, h, _ := d.Size()
	if cfg.Width != int(w.Dots(100)+0.5) || cfg.Height != int(h.Dots(100)+0.5) {
		t.Errorf("PNG is %d×%d pixels, want %v×%v at 100 dpi", cfg.Width, cfg.Height, w.Dots(100), h.Dots(100))
	}
	path := filepath.Join(dir, "dots.eps")
	if err := d.Save(path); err == nil || err.Error() != "reports: save "+path+`: unknown figure format "eps"; formats: png, svg, pdf` {
		t.Errorf("save as eps: %v", err)
	}
	path = filepath.Join(dir, "bad.png")
	if err := (&Dots{}).Save(path); err == nil || err.Error() != "reports: save "+path+": dots have no categories" {
		t.Errorf("save empty dots: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("folder holds %d files, want 3", len(entries))
	}
}

func TestDotsErrors(t *testing.T) {
	cats := []string{"a", "b"}
	ok := DotSeries{Name: "m", Mean: []float64{1, 0}}
	panel := func(s ...DotSeries) []DotPanel { return []DotPanel{{Title: "P", Series: s}} }
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name string
		d    Dots
		want string
	}{
		{"no categories", Dots{Panels: panel(ok)}, "dots have no categories"},
		{"no panels", Dots{Categories: cats}, "dots have no panels"},
		{"columns", Dots{Categories: cats, Panels: panel(ok), Columns: -1}, "dots columns -1 is negative"},
		{"dpi", Dots{Categories: cats, Panels: panel(ok), DPI: -2}, "dots DPI -2 is negative"},
		{"no series", Dots{Categories: cats, Panels: []DotPanel{{}}}, "dots panel 0 has no series"},
		{"y range", Dots{Categories: cats, Panels: []DotPanel{{Title: "P", YMin: 1, YMax: 0.5, Series: []DotSeries{ok}}}}, `dots panel 0 ("P") has y range [1, 0.5]`},
		{"y range inf", Dots{Categories: cats, Panels: []DotPanel{{YMin: 0, YMax: inf, Series: []DotSeries{ok}}}}, "dots panel 0 has y range [0, +Inf]"},
		{"reference", Dots{Categories: cats, Panels: []DotPanel{{Series: []DotSeries{ok}, Reference: &nan}}}, "dots panel 0 has reference NaN"},
		{"no name", Dots{Categories: cats, Panels: panel(ok, DotSeries{Mean: []float64{1, 2}})}, `dots panel 0 ("P") series 1 has no name`},
		{"no name elsewhere", Dots{Categories: cats, Panels: []DotPanel{{Series: []DotSeries{{Mean: []float64{1, 2}}}}, {Series: []DotSeries{ok}}}}, "dots panel 0 series 0 has no name"},
		{"two names", Dots{Categories: cats, Panels: panel(ok, ok)}, `dots panel 0 ("P") has two series "m"`},
		{"means", Dots{Categories: cats, Panels: []DotPanel{{Series: []DotSeries{ok}}, {Series: []DotSeries{{Name: "m", Mean: []float64{1, 2, 3}}}}}}, `dots panel 1 series "m" has 3 means for 2 categories`},
		{"means unnamed", Dots{Categories: cats, Panels: panel(DotSeries{Mean: []float64{1}})}, `dots panel 0 ("P") series 0 has 1 means for 2 categories`},
		{"lo only", Dots{Categories: cats, Panels: panel(DotSeries{Name: "m", Mean: []float64{1, 0}, Lo: []float64{0, 0}})}, `dots panel 0 ("P") series "m" has only one of Lo and Hi`},
		{"hi only", Dots{Categories: cats, Panels: panel(DotSeries{Name: "m", Mean: []float64{1, 0}, Hi: []float64{0, 0}})}, `dots panel 0 ("P") series "m" has only one of Lo and Hi`},
		{"interval lengths", Dots{Categories: cats, Panels: panel(DotSeries{Name: "m", Mean: []float64{1, 0}, Lo: []float64{0, 0}, Hi: []float64{1}})}, `dots panel 0 ("P") series "m" has 2 lows and 1 highs for 2 categories`},
		{"infinite mean", Dots{Categories: cats, Panels: panel(DotSeries{Name: "m", Mean: []float64{-inf, 0}})}, `dots panel 0 ("P") series "m" has mean -Inf at "a"`},
		{"inverted interval", Dots{Categories: cats, Panels: panel(DotSeries{Name: "m", Mean: []float64{1, 0}, Lo: []float64{0, 1}, Hi: []float64{2, 0.5}})}, `dots panel 0 ("P") series "m" has interval [1, 0.5] at "b"`},
		{"infinite interval", Dots{Categories: cats, Panels: panel(DotSeries{Name: "m", Mean: []float64{1, 0}, Lo: []float64{0, 0}, Hi: []float64{inf, 1}})}, `dots panel 0 ("P") series "m" has interval [0, +Inf] at "a"`},
		{"log floor", Dots{Categories: cats, Panels: []DotPanel{{Series: []DotSeries{ok}, LogFloor: 1e-3}}}, "dots panel 0 has log floor 0.001"},
		{"log floor nan", Dots{Categories: cats, Panels: []DotPanel{{Series: []DotSeries{ok}, LogY: true, LogFloor: nan}}}, "dots panel 0 has log floor NaN"},
		{"log range", Dots{Categories: cats, Panels: []DotPanel{{Series: []DotSeries{ok}, LogY: true, YMin: 0, YMax: 1}}}, "dots panel 0 has y range [0, 1]"},
		{"log reference", Dots{Categories: cats, Panels: []DotPanel{{Series: []DotSeries{ok}, LogY: true, Reference: ref(0)}}}, "dots panel 0 has reference 0"},
	} {
		_, _, err := tc.d.Size()
		if err == nil || err.Error() != "reports: "+tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if _, err := tc.d.WriterTo("png"); err == nil {
			t.Errorf("%s: WriterTo succeeds", tc.name)
		}
		if err := tc.d.Draw(draw.New(vgimg.New(8*vg.Inch, 6*vg.Inch))); err == nil {
			t.Errorf("%s: Draw succeeds", tc.name)
		}
	}

	// NaN everywhere draws nothing, without error; so does one unnamed
	// series, and a reference out of a fixed range.
	for name, d := range map[string]Dots{
		"NaN":       {Categories: cats, Panels: panel(DotSeries{Name: "m", Mean: []float64{nan, nan}, Lo: []float64{nan, nan}, Hi: []float64{nan, nan}})},
		"unnamed":   {Categories: cats, Panels: panel(DotSeries{Mean: []float64{1, 0}}), Title: "T"},
		"reference": {Categories: cats, Panels: []DotPanel{{YMin: 0, YMax: 1, Series: []DotSeries{ok}, Reference: ref(2), ReferenceLabel: "out"}}},
	} {
		if _, err := d.WriterTo("png"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A canvas too small.
	small := vgimg.New(vg.Inch, vg.Inch)
	if err := goldenDots().Draw(draw.New(small)); err == nil || err.Error() != "reports: 4 dot panels do not fit on a 1×1 inch canvas" {
		t.Errorf("draw on a one-inch canvas: %v", err)
	}
}

// Drawn on a canvas larger than its natural size, the figure fills it.
func TestDotsDrawLarger(t *testing.T) {
	d := goldenDots()
	w, h, err := d.Size()
	if err != nil {
		t.Fatal(err)
	}
	cv := vgimg.NewWith(vgimg.UseWH(w+2*vg.Inch, h+vg.Inch), vgimg.UseDPI(30))
	if err := d.Draw(draw.New(cv)); err != nil {
		t.Fatal(err)
	}
}

// The legend is drawn only for more than one series name, its entries in
// order of first appearance; a series has the look of its name in every
// panel, that of a Curves series of the same rank.
func TestDotsLegend(t *testing.T) {
	f := goldenDots().figure()
	l := f.layout(f.naturalDataW(), curvesDataH)
	if !l.hasLegend || !l.legend.dots || strings.Join(l.legend.names, ",") != "trained,randomized" {
		t.Errorf("legend %v %q", l.hasLegend, l.legend.names)
	}
	names, styles := goldenDots().styles()
	for i, name := range names {
		want := styleOf(i, dotRadius)
		if st := styles[name]; st.line.Color != want.line.Color || st.glyph.Shape != want.glyph.Shape {
			t.Errorf("%s looks like %v %v", name, st.line.Color, st.glyph.Shape)
		}
	}

	one := goldenDots()
	one.Panels = one.Panels[3:]
	f1 := one.figure()
	l1 := f1.layout(f1.naturalDataW(), curvesDataH)
	if l1.hasLegend {
		t.Errorf("one series has a legend %q", l1.legend.names)
	}
	wantH := l1.titleH + l1.panelsH + 2*gridMargin
	if _, h, _ := one.Size(); h != wantH {
		t.Errorf("height %v without legend, want %v", h, wantH)
	}
}

// Long category names are turned and all drawn; short ones stay level.
// The panels widen with the categories and the series, so that the points
// of a category are at least minDotSpacing apart and apart from those of
// the next category.
func TestDotsLayout(t *testing.T) {
	f := goldenDots().figure()
	l := f.layout(f.naturalDataW(), curvesDataH)
	if l.xStyle.Rotation == 0 {
		t.Error("long categories are not turned")
	}
	for i, s := range l.xLabels {
		if s != localizers[i] {
			t.Errorf("category %d drawn as %q", i, s)
		}
	}
	if l.rows != 2 || l.cols != 2 {
		t.Errorf("%d×%d panels, want 2×2", l.rows, l.cols)
	}

	short := &Dots{Categories: []string{"A", "B", "C"}, Panels: []DotPanel{{Series: []DotSeries{{Name: "x", Mean: []float64{1, 2, 3}}}}}}
	fs := short.figure()
	if l := fs.layout(fs.naturalDataW(), curvesDataH); l.xStyle.Rotation != 0 {
		t.Error("short categories are turned")
	}

	var cats []string
	var series []DotSeries
	for i := range 30 {
		cats = append(cats, fmt.Sprint("method ", i))
	}
	for k := range 8 {
		s := DotSeries{Name: fmt.Sprint("model ", k), Mean: make([]float64, 30)}
		for i := range s.Mean {
			s.Mean[i] = float64(i*k%7) / 7
		}
		series = append(series, s)
	}
	many := &Dots{Categories: cats, Panels: []DotPanel{{Series: series}}}
	fm := many.figure()
	dataW := fm.naturalDataW()
	step := dataW / 30
	if sp := dotSpacing(8, step); sp < minDotSpacing || step-7*sp < 2*dotRadius+dotGroupGap-1e-9 {
		t.Errorf("points %v apart in categories %v wide", sp, step)
	}
	if _, err := many.WriterTo("png"); err != nil {
		t.Fatal(err)
	}
	if sp := dotSpacing(2, 200); sp != maxDotSpacing {
		t.Errorf("points %v apart in a wide category", sp)
	}
	if sp := dotSpacing(1, 20); sp != 0 {
		t.Errorf("one point offset by %v", sp)
	}
}

// invariance is a panel of relative differences between the maps of an
// input and of the same input shifted by a constant, per method: rounding
// errors (about 1e-7) for invariant methods, exact zeros for some, and
// 10–70% for the others.
func invariance() DotPanel {
	return DotPanel{
		Title: "Input invariance", YLabel: "relative difference", LogY: true,
		Series: []DotSeries{
			{Name: "MLP", Mean: []float64{2e-7, 0, 3e-6, 0.31, 0.22, 0, 0.45},
				Lo: []float64{1e-7, 0, 1e-6, 0.25, 0.18, 0, 0.38}, Hi: []float64{4e-7, 0, 8e-6, 0.37, 0.27, 0, 0.52}},
			{Name: "CNN", Mean: []float64{5e-7, 1e-8, 2e-5, 0.12, 0.6, 0, 0.2},
				Lo: []float64{-1e-7, 1e-9, 9e-6, 0.1, 0.5, 0, 0.15}, Hi: []float64{9e-7, 3e-8, 4e-5, 0.15, 0.7, 0, 0.26}},
		},
	}
}

// A log panel clamps zeros, negative values and whiskers below its
// floor at the floor, whose tick reads ≤ the floor, as Curves does; the
// values above are drawn at their logarithm.
func TestDotsLogY(t *testing.T) {
	pn := invariance()
	d := &Dots{Categories: localizers, Panels: []DotPanel{pn}}
	if _, _, err := d.Size(); err != nil {
		t.Fatal(err)
	}
	_, styles := d.styles()
	p := dotPanelPlot(&d.Panels[0], len(localizers), pn.Title, 9, "", refLabelSize, nil, styles)
	lt, ok := p.Y.Tick.Marker.(logTicks)
	if !ok || lt.floor != -9 || !lt.clamped {
		t.Fatalf("ticks %#v, want log ticks with a clamped floor at 10^-9", p.Y.Tick.Marker)
	}
	if _, ok := p.Y.Tick.Label.Handler.(supText); !ok {
		t.Errorf("tick labels drawn by %T, want supText", p.Y.Tick.Label.Handler)
	}
	var labels []string
	for _, tk := range lt.Ticks(p.Y.Min, p.Y.Max) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); !strings.HasPrefix(got, "≤10^−9 ") || !strings.HasSuffix(got, " 10^−1") {
		t.Errorf("tick labels %q, want ≤10^−9 … 10^−1", got)
	}
	if lo, hi := p.Y.Min, p.Y.Max; lo > -9 || lo < -9.5 || hi < math.Log10(0.7) || hi > 0.5 {
		t.Errorf("y range [%g, %g], want about [-9, log10(0.7)], padded", lo, hi)
	}
	var values [][]float64
	for _, s := range pn.Series {
		values = append(values, s.Mean, s.Lo, s.Hi)
	}
	ty := pn.scale().axis(plot.New(), values)
	for v, want := range map[float64]float64{0: -9, -1e-7: -9, 1e-8: -8, 0.01: -2} {
		if got := ty(v); math.Abs(got-want) > 1e-12 {
			t.Errorf("y(%g) = %g, want %g", v, got, want)
		}
	}

	// A floor of its own, and a reference, which counts in the range.
	d.Panels[0].LogFloor = 1e-6
	d.Panels[0].Reference = ref(2)
	p = dotPanelPlot(&d.Panels[0], len(localizers), pn.Title, 9, "", refLabelSize, nil, styles)
	if lt := p.Y.Tick.Marker.(logTicks); lt.floor != -6 || !lt.clamped {
		t.Errorf("ticks %+v with LogFloor 1e-6", lt)
	}
	if lo, hi := p.Y.Min, p.Y.Max; lo > -6 || lo < -6.5 || hi < math.Log10(2) || hi > 1 {
		t.Errorf("y range [%g, %g] with LogFloor 1e-6 and a reference at 2", lo, hi)
	}
	if _, err := d.WriterTo("png"); err != nil {
		t.Error(err)
	}
}

// invarianceDots is the figure of the log golden-image test, for one
// column of a paper: the relative differences of input invariance on a log
// axis with a 1% tolerance line and a band of float32 rounding, beside
// rank correlations on a linear axis with a threshold, a series' null
// floor and a reference.
func invarianceDots() *Dots {
	inv := invariance()
	inv.Title = "Map change under a constant input shift"
	inv.LogFloor = 1e-9
	inv.Lines = []HLine{{Y: 0.01, Label: "1% tolerance", Note: "1%", Dashes: []vg.Length{1.5, 1.5}}}
	inv.Bands = []HBand{{Lo: 0, Hi: 1e-6, Label: "float32 rounding"}}
	rank := DotPanel{
		Title: "Rank correlation with the original map", YLabel: "Spearman ρ", YMin: -0.2, YMax: 1,
		Series: []DotSeries{
			scores("MLP", 0.04, 0.98, 0.99, 0.97, 0.41, 0.55, 0.99, 0.02),
			scores("CNN", 0.05, 0.95, 0.96, 0.93, 0.62, 0.12, 0.97, -0.01),
		},
		Reference: ref(0), ReferenceLabel: "random map",
		Lines: []HLine{{Y: 0.5, Label: "verdict threshold", Note: "0.5"}},
		Bands: []HBand{{Lo: -0.08, Hi: 0.15, Series: "CNN", Label: "CNN null floor"}},
	}
	return &Dots{
		Title:      "Input invariance",
		Categories: localizers,
		Columns:    1,
		Width:      PaperColumnWidth,
		Palette:    ColorBlind(),
		Panels:     []DotPanel{inv, rank},
	}
}

// TestDotsLogGolden compares the log figure with
// testdata/dots_log_golden.png; go test -run DotsLogGolden -regen rewrites
// it.
func TestDotsLogGolden(t *testing.T) {
	t.Cleanup(func() { os.Remove(filepath.Join("testdata", "dots_log.png")) })
	cmpimg.CheckPlotApprox(func() {
		if err := invarianceDots().Save(filepath.Join("testdata", "dots_log.png")); err != nil {
			t.Fatal(err)
		}
	}, t, 0.001, "dots_log.png")
	saveForReview(t, "dots_log.png", invarianceDots().Save)
}

// The lines and bands of Dots panels are named in the legend once per
// label and look, after the series, and their notes widen the room right
// of the panels; at a column's width no text is below MinPaperFontSize.
func TestDotsRefs(t *testing.T) {
	d := invarianceDots()
	f := d.figure()
	var refs []string
	for _, r := range f.refs {
		refs = append(refs, r.label)
	}
	if got, want := strings.Join(refs, ", "), "float32 rounding, 1% tolerance, CNN null floor, verdict threshold"; got != want {
		t.Errorf("legend refs %q, want %q", got, want)
	}
	if strings.Join(f.names, ",") != "MLP,CNN" {
		t.Errorf("legend series %q", f.names)
	}
	if f.right[0] <= refLabelGap || f.right[1] <= f.right[0] {
		t.Errorf("room right of the panels %v: the notes need some, the reference label more", f.right)
	}
	w, _, err := d.Size()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(w-PaperColumnWidth)) > 0.01 {
		t.Errorf("%v wide, want %v", w, PaperColumnWidth)
	}
	least, err := d.SmallestFont(PaperColumnWidth)
	if err != nil {
		t.Fatal(err)
	}
	if least < MinPaperFontSize-1e-9 {
		t.Errorf("smallest font %.3gpt at %v", least, PaperColumnWidth)
	}

	// A legend for the references alone, when the series have one name.
	one := invarianceDots()
	for i := range one.Panels {
		one.Panels[i].Series = one.Panels[i].Series[:1]
		one.Panels[i].Bands = nil
	}
	l, err := one.figure().natural()
	if err != nil {
		t.Fatal(err)
	}
	if !l.hasLegend || strings.Join(l.legend.names, ",") != "1% tolerance,verdict threshold" {
		t.Errorf("legend %v %q, want the lines alone", l.hasLegend, l.legend.names)
	}

	for _, tc := range []struct {
		name string
		pn   DotPanel
		want string
	}{
		{"line", DotPanel{Lines: []HLine{{Y: math.NaN()}}}, "dots panel 0 line 0 is at NaN"},
		{"log line", DotPanel{LogY: true, Lines: []HLine{{Y: -1}}}, "dots panel 0 line 0 is at -1"},
		{"band", DotPanel{Bands: []HBand{{Lo: 1, Hi: 0}}}, "dots panel 0 band 0 is [1, 0]"},
		{"band series", DotPanel{Bands: []HBand{{Lo: 0, Hi: 1, Series: "GPU"}}}, `dots panel 0 band 0 is of series "GPU", which the figure lacks`},
	} {
		tc.pn.Series = []DotSeries{{Name: "CNN", Mean: []float64{1, 2}}}
		d := Dots{Categories: []string{"a", "b"}, Panels: []DotPanel{tc.pn}}
		if _, _, err := d.Size(); err == nil || err.Error() != "reports: "+tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
