package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/cmpimg"
	"gonum.org/v1/plot/vg"
)

// saveForReview writes a figure into $SALIENCY_FIGS_OUT, if set, to look
// at.
func saveForReview(t *testing.T, name string, save func(string) error) {
	t.Helper()
	dir := os.Getenv("SALIENCY_FIGS_OUT")
	if dir == "" {
		return
	}
	if err := save(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// paperCurves is a figure for a paper: twelve methods under the
// colour-blind palette, dodged, a threshold line and a null-floor band,
// one series' own floor, and a log panel of logit errors with zeros and a
// 1% tolerance line.
func paperCurves() *Curves {
	names := []string{"gradient", "gradient-x-input", "smoothgrad", "squaregrad", "vargrad", "integrated-gradients",
		"deconvnet", "guided-backprop", "gradcam", "gradcam++", "scorecam", "occlusion"}
	n := len(cascade)
	var sim, errs []Series
	for k, name := range names {
		s := decay(MethodName(name), n, 0.1+0.12*float64(k%6), 0.05*float64(k%4), 0.15)
		if k == 1 { // the same values as gradient: only the dodge shows both
			s = decay(MethodName(names[0]), n, 0.1, 0, 0.15)
			s.Name = MethodName(name)
		}
		sim = append(sim, s)
		e := Series{Name: MethodName(name), Mean: make([]float64, n)}
		for i := range n {
			e.Mean[i] = math.Pow(10, -7+float64(i)*0.8+0.3*float64(k%5))
		}
		if k == 3 {
			e.Mean[0] = 0 // an exact answer
		}
		errs = append(errs, e)
	}
	return &Curves{
		Title:   "Cascading randomization",
		XLabels: cascade,
		XTitle:  "layers randomized (from the logits)",
		Palette: ColorBlind(),
		Dodge:   0.3,
		Columns: 1,
		Panels: []Panel{
			{Title: "Rank correlation", YLabel: "Spearman ρ", Series: sim,
				Lines: []HLine{{Y: 0.5, Label: "verdict threshold", Note: "0.5"}},
				Bands: []HBand{{Lo: -0.05, Hi: 0.12, Label: "random map (95%)"}, {Lo: 0.15, Hi: 0.2, Series: MethodName("gradcam"), Label: "Grad-CAM null floor"}}},
			{Title: "Logit error against TensorFlow", YLabel: "relative error", Series: errs, LogY: true,
				Lines: []HLine{{Y: 0.01, Label: "1% tolerance", Note: "1%", Dashes: []vg.Length{1.5, 1.5}}}},
		},
	}
}

// The paper figure is the same bytes from run to run in every format.
func TestPaperCurves(t *testing.T) {
	for _, format := range []string{"png", "svg", "pdf"} {
		var out [2]bytes.Buffer
		for i := range out {
			wt, err := paperCurves().WriterTo(format)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := wt.WriteTo(&out[i]); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
			t.Errorf("%s: two renderings differ", format)
		}
		saveForReview(t, "paper_curves."+format, paperCurves().Save)
	}
}

// TestPaperCurvesGolden compares the paper figure with
// testdata/paper_curves_golden.png; go test -run PaperCurvesGolden -regen
// rewrites it.
func TestPaperCurvesGolden(t *testing.T) {
	t.Cleanup(func() { os.Remove(filepath.Join("testdata", "paper_curves.png")) })
	cmpimg.CheckPlotApprox(func() {
		if err := paperCurves().Save(filepath.Join("testdata", "paper_curves.png")); err != nil {
			t.Fatal(err)
		}
	}, t, 0.001, "paper_curves.png")
}

// Up to twelve series (and many more), every series of the colour-blind
// palettes has its own colour, dashes and marker, and two series among
// the first 21 differ in at least two of them.
func TestPaletteLooks(t *testing.T) {
	for name, p := range map[string]*Palette{"ColorBlind": ColorBlind(), "TolMuted": TolMuted()} {
		if err := p.check(); err != nil {
			t.Fatal(err)
		}
		type look struct {
			c      color.NRGBA
			dashes string
			m      marker
		}
		looks := make([]look, 21)
		for i := range looks {
			st := p.style(i, 2)
			looks[i] = look{st.line.Color.(color.NRGBA), fmt.Sprint(st.line.Dashes), st.glyph.Shape.(marker)}
		}
		for i := range looks {
			for j := range i {
				same := 0
				if looks[i].c == looks[j].c {
					same++
				}
				if looks[i].dashes == looks[j].dashes {
					same++
				}
				if looks[i].m == looks[j].m {
					same++
				}
				if same > 1 {
					t.Errorf("%s: series %d and %d share %d of colour, dashes and marker: %v, %v", name, j, i, same, looks[j], looks[i])
				}
			}
		}
		// Neighbours differ in all three.
		for i := 1; i < 12; i++ {
			if looks[i].c == looks[i-1].c || looks[i].dashes == looks[i-1].dashes || looks[i].m == looks[i-1].m {
				t.Errorf("%s: series %d and %d share a colour, dashes or marker", name, i-1, i)
			}
		}
	}
	for _, tc := range []struct {
		p    Palette
		want string
	}{
		{Palette{Markers: []MarkerShape{MarkerCircle}}, "palette has no colours"},
		{Palette{Colors: []color.Color{color.Black}}, "palette has no markers"},
		{Palette{Colors: []color.Color{nil}, Markers: []MarkerShape{MarkerCircle}}, "palette colour 0 is nil"},
		{Palette{Colors: []color.Color{color.Black}, Markers: []MarkerShape{99}}, "palette marker 0 is 99; shapes: 0 to 11"},
		{Palette{Colors: []color.Color{color.Black}, Markers: []MarkerShape{MarkerPlus}, Dashes: [][]vg.Length{nil, {2, 0}}}, "palette dashes 1 are [2 0]; lengths must be positive"},
	} {
		c := Curves{XLabels: []string{"a"}, Palette: &tc.p, Panels: []Panel{{Series: []Series{{Name: "m", Mean: []float64{1}}}}}}
		if _, _, err := c.Size(); err == nil || err.Error() != "reports: "+tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func TestCurvesRefsErrors(t *testing.T) {
	x := []string{"a", "b"}
	ok := []Series{{Name: "m", Mean: []float64{1, 0.5}}}
	for _, tc := range []struct {
		name string
		c    Curves
		want string
	}{
		{"dodge", Curves{XLabels: x, Dodge: 1, Panels: []Panel{{Series: ok}}}, "curves dodge 1 is not in [0, 1)"},
		{"dodge nan", Curves{XLabels: x, Dodge: math.NaN(), Panels: []Panel{{Series: ok}}}, "curves dodge NaN is not in [0, 1)"},
		{"line", Curves{XLabels: x, Panels: []Panel{{Series: ok, Lines: []HLine{{Y: math.Inf(1)}}}}}, "curves panel 0 line 0 is at +Inf"},
		{"line dashes", Curves{XLabels: x, Panels: []Panel{{Series: ok, Lines: []HLine{{Y: 1, Dashes: []vg.Length{-1}}}}}}, "curves panel 0 line 0 has dashes [-1]; lengths must be positive"},
		{"log line", Curves{XLabels: x, Panels: []Panel{{Series: ok, LogY: true, Lines: []HLine{{Y: 0}}}}}, "curves panel 0 line 0 is at 0"},
		{"band", Curves{XLabels: x, Panels: []Panel{{Series: ok, Bands: []HBand{{Lo: 1, Hi: 0}}}}}, "curves panel 0 band 0 is [1, 0]"},
		{"band series", Curves{XLabels: x, Panels: []Panel{{Series: ok, Bands: []HBand{{Lo: 0, Hi: 1, Series: "other"}}}}}, `curves panel 0 band 0 is of series "other", which the figure lacks`},
		{"log floor", Curves{XLabels: x, Panels: []Panel{{Series: ok, LogFloor: 1e-3}}}, "curves panel 0 has log floor 0.001"},
		{"log floor negative", Curves{XLabels: x, Panels: []Panel{{Series: ok, LogY: true, LogFloor: -1}}}, "curves panel 0 has log floor -1"},
		{"log range", Curves{XLabels: x, Panels: []Panel{{Series: ok, LogY: true, YMin: 0, YMax: 1}}}, "curves panel 0 has y range [0, 1]"},
	} {
		if _, _, err := tc.c.Size(); err == nil || err.Error() != "reports: "+tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		lt     logTicks
		want   string
		minor  int
	}{
		{-7.2, -0.8, logTicks{}, "10^−7 10^−6 10^−5 10^−4 10^−3 10^−2 10^−1", 0},
		{-7.2, -0.8, logTicks{floor: -7, clamped: true}, "≤10^−7 10^−6 10^−5 10^−4 10^−3 10^−2 10^−1", 0},
		{-12.5, 0.5, logTicks{}, "10^−12 10^−10 10^−8 10^−6 10^−4 10^−2 1", 6},
		{-2.1, 1.1, logTicks{}, "10^−2 10^−1 1 10", 26},
		{-0.1, 1.1, logTicks{}, "1 2 5 10", 8},
		{-8.3, -7.1, logTicks{floor: -8.3, clamped: true}, "≤5.01×10^−9 10^−8 2×10^−8 5×10^−8", 8},
	} {
		var labels []string
		minor := 0
		for _, tk := range tc.lt.Ticks(tc.lo, tc.hi) {
			if tk.Label == "" {
				minor++
				continue
			}
			labels = append(labels, tk.Label)
		}
		if got := strings.Join(labels, " "); got != tc.want || minor != tc.minor {
			t.Errorf("ticks of [%g, %g] %+v: %q and %d unlabelled, want %q and %d", tc.lo, tc.hi, tc.lt, got, minor, tc.want, tc.minor)
		}
	}
}

// A log panel clamps zeros and negative values at its floor, the power of
// ten at or below its least positive value unless given.
func TestLogAxisFloor(t *testing.T) {
	pn := &Panel{LogY: true, Series: []Series{{Name: "m", Mean: []float64{0, 3e-7, 0.02, math.NaN(), -1}}}}
	a := pn.scale().logAxis([][]float64{pn.Series[0].Mean})
	if a.floor != 1e-7 || a.clamped != 2 {
		t.Errorf("floor %g, %d clamped; want 1e-7, 2", a.floor, a.clamped)
	}
	ty := a.transform()
	for v, want := range map[float64]float64{0: -7, -1: -7, 1e-7: -7, 0.01: -2} {
		if got := ty(v); math.Abs(got-want) > 1e-12 {
			t.Errorf("y(%g) = %g, want %g", v, got, want)
		}
	}
	pn.LogFloor = 1e-9
	if a := pn.scale().logAxis([][]float64{pn.Series[0].Mean}); a.floor != 1e-9 || a.clamped != 2 {
		t.Errorf("floor %g, %d clamped; want 1e-9, 2", a.floor, a.clamped)
	}
	if a := (&yScale{logY: true}).logAxis([][]float64{{0, 0}}); a.floor != 1 {
		t.Errorf("floor of zeros %g, want 1", a.floor)
	}
}

// At a column's width, text of the natural-size figures shrinks below
// legibility; with Width set, none is smaller than MinPaperFontSize, and
// the figure is as wide as asked.
func TestPaperWidthLegible(t *testing.T) {
	type fig interface {
		Size() (vg.Length, vg.Length, error)
		SmallestFont(vg.Length) (vg.Length, error)
	}
	natural := map[string]fig{"curves": goldenCurves(), "dots": goldenDots()}
	for name, f := range natural {
		got, err := f.SmallestFont(PaperColumnWidth)
		if err != nil {
			t.Fatal(err)
		}
		if got >= MinPaperFontSize {
			t.Errorf("%s: smallest font at a column's width %.2gpt; the natural size is meant to be too wide", name, got)
		}
		t.Logf("%s at its natural size scaled to %.3g in: smallest text %.2g pt", name, PaperColumnWidth/vg.Inch, got)
	}

	pc := paperCurves()
	pc.Width = PaperColumnWidth
	gd := goldenDots()
	gd.Width, gd.Columns, gd.Palette = PaperTextWidth, 2, ColorBlind()
	gc := goldenCurves()
	gc.Width, gc.Palette, gc.Dodge = PaperTextWidth, ColorBlind(), 0.2
	for name, f := range map[string]fig{"paper curves": pc, "dots": gd, "curves": gc} {
		w, _, err := f.Size()
		if err != nil {
			t.Fatal(err)
		}
		width := map[string]vg.Length{"paper curves": PaperColumnWidth}[name]
		if width == 0 {
			width = PaperTextWidth
		}
		if math.Abs(float64(w-width)) > 0.01 {
			t.Errorf("%s: %v wide, want %v", name, w, width)
		}
		got, err := f.SmallestFont(width)
		if err != nil {
			t.Fatal(err)
		}
		if got < MinPaperFontSize-1e-9 {
			t.Errorf("%s: smallest font %.3gpt at %v", name, got, width)
		}
	}
	saveForReview(t, "paper_curves_column.png", pc.Save)
	saveForReview(t, "paper_dots_text.png", gd.Save)
	saveForReview(t, "paper_cascade_text.png", gc.Save)

	// Three panels side by side do not fit in a column.
	gc.Width = PaperColumnWidth
	if _, _, err := gc.Size(); err == nil || !strings.Contains(err.Error(), "3 curve panels in rows of 3 do not fit in a width of 3.4 inches") {
		t.Errorf("three panels in a column: %v", err)
	}
	gc.Columns = 1
	if _, _, err := gc.Size(); err != nil {
		t.Error(err)
	}
}

// paperGrid is a cascading randomization grid of a deep model for a
// paper: the input, then the original map and 15 layers randomized, with
// the class and logit of each input as its caption and a note per column.
func paperGrid() *Grid {
	g := testGrid(3, 17)
	g.Title = "Guided Backprop under cascading randomization"
	g.Columns = []string{"input", "original"}
	g.ColumnNotes = []string{"", ""}
	for i := 15; i >= 1; i-- {
		g.Columns = append(g.Columns, "block"+fmt.Sprint(i)+"_out")
		g.ColumnNotes = append(g.ColumnNotes, fmt.Sprintf("top-1 agrees %d/20", 20-(16-i)))
	}
	g.ColumnNotes[1] = "top-1 agrees 20/20"
	for r, class := range []string{"Sneaker", "Ankle boot", "T-shirt/top"} {
		g.Cells[r][0].Caption = fmt.Sprintf("%s · logit %.2f", class, 7.31-1.7*float64(r))
	}
	g.Rows = []string{"img_003", "img_017", "img_042"}
	return g
}

func TestPaperGrid(t *testing.T) {
	full := paperGrid()
	// Six of the fifteen layers, the original and the input.
	layers := PickColumns(full.Columns[1:], 7, nil)
	cols := []int{0}
	for _, i := range layers {
		cols = append(cols, i+1)
	}
	g, err := full.SelectColumns(cols...)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(g.Columns, " "), "input original block13_out block11_out block8_out block6_out block3_out block1_out"; got != want {
		t.Errorf("columns %q, want %q", got, want)
	}
	if g.Cells[0][0].Caption != "Sneaker · logit 7.31" || g.ColumnNotes[7] != "top-1 agrees 5/20" {
		t.Errorf("caption %q, note %q", g.Cells[0][0].Caption, g.ColumnNotes[7])
	}
	for _, width := range []vg.Length{PaperColumnWidth, PaperTextWidth} {
		g := g
		if width == PaperColumnWidth {
			// Four maps in a column.
			if g, err = g.SelectColumns(0, 1, 3, 5, 7); err != nil {
				t.Fatal(err)
			}
		}
		g.Width = width
		w, _, err := g.Size()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(w-width)) > 0.01 {
			t.Errorf("grid %v wide, want %v", w, width)
		}
		least, err := g.SmallestFont(width)
		if err != nil {
			t.Fatal(err)
		}
		if least < MinPaperFontSize-1e-9 {
			t.Errorf("at %v: smallest text %.3gpt", width, least)
		}
		if _, err := g.WriterTo("png"); err != nil {
			t.Fatal(err)
		}
		saveForReview(t, fmt.Sprintf("paper_grid_%.1fin.png", width/vg.Inch), g.Save)
	}
	// The whole grid scaled to a column is illegible; laid out at a
	// column's width its cells would be too small.
	least, err := full.SmallestFont(PaperColumnWidth)
	if err != nil {
		t.Fatal(err)
	}
	if least >= MinPaperFontSize {
		t.Errorf("17 columns at a column's width: smallest text %.3gpt", least)
	}
	full.Width = PaperColumnWidth
	if _, _, err := full.Size(); err == nil || err.Error() != "reports: a 3×17 grid does not fit in a width of 3.4 inches" {
		t.Errorf("17 columns in 3.4 inches: %v", err)
	}
}

func TestPickColumns(t *testing.T) {
	labels := make([]string, 16)
	for i := range labels {
		labels[i] = fmt.Sprintf("layer%d", i)
	}
	labels[4], labels[8], labels[12] = "block1_out", "block2_out", "block3_out"
	block := func(s string) bool { return strings.HasSuffix(s, "_out") }
	for _, tc := range []struct {
		labels []string
		most   int
		cand   func(string) bool
		want   []int
	}{
		{labels, 6, nil, []int{0, 3, 6, 9, 12, 15}},
		{labels, 16, nil, seq(16)},
		{labels, 40, nil, seq(16)},
		{labels, 2, nil, []int{0, 15}},
		{labels, 1, nil, []int{0}},
		{labels, 0, nil, nil},
		{labels, 5, block, []int{0, 4, 8, 12, 15}},
		{labels, 9, block, []int{0, 4, 8, 12, 15}},
		{labels, 3, block, []int{0, 8, 15}},
		{labels, 4, block, []int{0, 4, 12, 15}},
		{labels[:1], 3, nil, []int{0}},
		{nil, 3, nil, nil},
	} {
		if got := PickColumns(tc.labels, tc.most, tc.cand); !slices.Equal(got, tc.want) {
			t.Errorf("PickColumns(%d labels, %d) = %v, want %v", len(tc.labels), tc.most, got, tc.want)
		}
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestSelectColumnsErrors(t *testing.T) {
	g := testGrid(2, 3)
	for _, tc := range []struct {
		cols []int
		want string
	}{
		{nil, "no columns selected of 3"},
		{[]int{0, 3}, "column 3 selected of 3"},
		{[]int{-1}, "column -1 selected of 3"},
		{[]int{1, 1}, "column 1 selected twice"},
	} {
		if _, err := g.SelectColumns(tc.cols...); err == nil || err.Error() != "reports: "+tc.want {
			t.Errorf("SelectColumns(%v): %v, want %q", tc.cols, err, tc.want)
		}
	}
	s, err := g.SelectColumns(2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Cells[1][0].Image != g.Cells[1][2].Image || s.Columns != nil || len(s.Cells[0]) != 2 {
		t.Error("SelectColumns(2, 0) does not reorder the cells")
	}
	g.ColumnNotes = []string{"a"}
	if _, _, err := g.Size(); err == nil || err.Error() != "reports: grid has 1 column notes for 3 columns" {
		t.Errorf("short notes: %v", err)
	}
}

// TestPaperGridGolden compares the grid of eight columns across a paper's
// text with testdata/paper_grid_golden.png; go test -run PaperGridGolden
// -regen rewrites it.
func TestPaperGridGolden(t *testing.T) {
	t.Cleanup(func() { os.Remove(filepath.Join("testdata", "paper_grid.png")) })
	g, err := paperGrid().SelectColumns(0, 1, 3, 5, 8, 10, 13, 15)
	if err != nil {
		t.Fatal(err)
	}
	g.Width = PaperTextWidth
	cmpimg.CheckPlotApprox(func() {
		if err := g.Save(filepath.Join("testdata", "paper_grid.png")); err != nil {
			t.Fatal(err)
		}
	}, t, 0.001, "paper_grid.png")
}

// paperVerdicts is a page with a compact verdict table: intervals that do
// not wrap, verdict cells coloured by class.
func paperVerdicts() *Page {
	tb := &Table{Caption: "Cascading randomization of fmnist_vgg: rank correlation to the original map after every layer is randomized",
		Columns: []string{"method", "Spearman ρ", "SSIM", "random map", "verdict"}, Class: "compact"}
	rows := []struct {
		m             string
		v, lo, hi, ss float64
		verdict       Verdict
		word          string
	}{
		{"gradient", 0.07, -0.004, 0.15, 0.12, VerdictPass, "changes"},
		{"gradient-x-input", -0.002, -0.05, 0.04, 0.1, VerdictPass, "changes"},
		{"guided-backprop", 0.86, 0.81, 0.904, 0.88, VerdictFail, "barely changes"},
		{"squaregrad", 0.48, 0.39, 0.57, 0.5, VerdictInconclusive, "inconclusive"},
		{"gradcam++", math.NaN(), math.NaN(), math.NaN(), math.NaN(), VerdictUndetermined, "undetermined"},
	}
	for _, r := range rows {
		tb.Rows = append(tb.Rows, []string{MethodName(r.m), FormatInterval(r.v, r.lo, r.hi, 2), FormatInterval(r.ss, r.ss-0.1, r.ss+0.1, 2), FormatFixed(-0.001, 2), r.word})
		tb.Classes = append(tb.Classes, []string{"", "", "", "", r.verdict.Class()})
	}
	return &Page{Title: "Verdicts", Blocks: []Block{{Heading: "Summary", Table: tb}}}
}

func TestPaperVerdicts(t *testing.T) {
	p := paperVerdicts()
	h, err := p.HTML(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<table class="compact">`, `<td class="verdict-fail" style="text-align: right">barely changes</td>`, "0.86\u00a0[0.81,\u00a00.90]", TableStyle} {
		if !strings.Contains(string(h), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(h), "-0.00") || strings.Contains(string(h), "−0.00") {
		t.Error("page has a negative zero")
	}
	saveForReview(t, "verdicts.html", func(path string) error { return WriteFile(path, h) })
}
