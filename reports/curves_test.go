package reports

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/cmpimg"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// cascade are the x labels of a cascading randomization of a small
// network, from the logits down.
var cascade = []string{"original", "logits", "fc2", "fc1", "block2_conv2", "block2_conv1", "block1_conv2", "block1_conv1"}

// decay is a synthetic similarity curve over n steps: 1 at the first step,
// falling with rate k towards floor, with an interval of half-width w that
// grows along the curve.
func decay(name string, n int, k, floor, w float64) Series {
	s := Series{Name: name, Mean: make([]float64, n), Lo: make([]float64, n), Hi: make([]float64, n)}
	for i := range n {
		m := floor + (1-floor)*math.Exp(-k*float64(i))
		h := w * float64(i) / float64(n)
		s.Mean[i], s.Lo[i], s.Hi[i] = m, m-h, m+h
	}
	return s
}

// goldenCurves is the figure of the golden-image test: three metrics of
// four methods over a cascading randomization, with a missing point, a
// method without band, missing intervals, a negative range and a fixed
// range.
func goldenCurves() *Curves {
	n := len(cascade)
	abs := []Series{
		decay("gradient", n, 0.6, 0.05, 0.2),
		decay("integrated-gradients", n, 0.4, 0.1, 0.25),
		decay("guided-backprop", n, 0.05, 0.85, 0.1),
		decay("gradient×input", n, 0.3, 0.2, 0.3),
	}
	abs[1].Mean[3] = math.NaN() // a missing point: a gap in the line
	signed := []Series{
		decay("gradient", n, 0.9, -0.1, 0.2),
		decay("integrated-gradients", n, 0.7, -0.2, 0.3),
		decay("guided-backprop", n, 0.1, 0.7, 0.1),
		decay("gradient×input", n, 0.5, 0, 0.3),
	}
	signed[3].Lo, signed[3].Hi = nil, nil
	ssim := []Series{
		decay("gradient", n, 0.8, 0.1, 0.1),
		decay("guided-backprop", n, 0.08, 0.75, 0.1),
		decay("gradient×input", n, 0.5, 0.2, 0.2),
	}
	// Missing intervals: a gap in the band and two isolated bars.
	ssim[2].Lo[4], ssim[2].Hi[6] = math.NaN(), math.NaN()
	return &Curves{
		Title:   "Cascading randomization",
		XLabels: cascade,
		XTitle:  "layers randomized (from the logits)",
		Panels: []Panel{
			{Title: "Rank correlation (absolute)", YLabel: "Spearman ρ", Series: abs},
			{Title: "Rank correlation (no absolute)", YLabel: "Spearman ρ", Series: signed},
			{Title: "SSIM", YMin: 0, YMax: 1, Series: ssim},
		},
	}
}

// TestCurvesGolden compares the figure with testdata/curves_golden.png;
// go test -regen rewrites it.
func TestCurvesGolden(t *testing.T) {
	t.Cleanup(func() { os.Remove(filepath.Join("testdata", "curves.png")) })
	cmpimg.CheckPlotApprox(func() {
		if err := goldenCurves().Save(filepath.Join("testdata", "curves.png")); err != nil {
			t.Fatal(err)
		}
	}, t, 0.001, "curves.png")
}

// The same curves give the same bytes, in every format.
func TestCurvesDeterministic(t *testing.T) {
	for _, format := range []string{"png", "svg", "pdf"} {
		var out [3]bytes.Buffer
		for i := range out {
			wt, err := goldenCurves().WriterTo(format)
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

func TestCurvesSave(t *testing.T) {
	dir := t.TempDir()
	c := goldenCurves()
	c.DPI = 100
	for ext, magic := range map[string]string{".png": "\x89PNG", ".svg": "<?xml", ".pdf": "%PDF"} {
		path := filepath.Join(dir, "curves"+ext)
		if err := c.Save(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte(magic)) {
			t.Errorf("%s starts with %q, want %q", ext, b[:min(len(b), 8)], magic)
		}
	}
	f, err := os.Open(filepath.Join(dir, "curves.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	w, h, _ := c.Size()
	if cfg.Width != int(w.Dots(100)+0.5) || cfg.Height != int(h.Dots(100)+0.5) {
		t.Errorf("PNG is %d×%d pixels, want %v×%v at 100 dpi", cfg.Width, cfg.Height, w.Dots(100), h.Dots(100))
	}
	path := filepath.Join(dir, "curves.eps")
	if err := c.Save(path); err == nil || err.Error() != "reports: save "+path+`: unknown figure format "eps"; formats: png, svg, pdf` {
		t.Errorf("save as eps: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("folder holds %d files, want 3", len(entries))
	}
}

func TestCurvesErrors(t *testing.T) {
	x := []string{"a", "b"}
	ok := Series{Name: "m", Mean: []float64{1, 0}}
	panel := func(s ...Series) []Panel { return []Panel{{Title: "P", Series: s}} }
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		c    Curves
		want string
	}{
		{"no panels", Curves{XLabels: x}, "curves have no panels"},
		{"no labels", Curves{Panels: panel(ok)}, "curves have no x labels"},
		{"columns", Curves{XLabels: x, Panels: panel(ok), Columns: -1}, "curves columns -1 is negative"},
		{"dpi", Curves{XLabels: x, Panels: panel(ok), DPI: -2}, "curves DPI -2 is negative"},
		{"no series", Curves{XLabels: x, Panels: []Panel{{}}}, "curves panel 0 has no series"},
		{"y range", Curves{XLabels: x, Panels: []Panel{{Title: "P", YMin: 1, YMax: 1, Series: []Series{ok}}}}, `curves panel 0 ("P") has y range [1, 1]`},
		{"y range nan", Curves{XLabels: x, Panels: []Panel{{YMin: nan, YMax: 1, Series: []Series{ok}}}}, "curves panel 0 has y range [NaN, 1]"},
		{"no name", Curves{XLabels: x, Panels: panel(ok, Series{Mean: []float64{1, 2}})}, `curves panel 0 ("P") series 1 has no name`},
		{"two names", Curves{XLabels: x, Panels: panel(ok, ok)}, `curves panel 0 ("P") has two series "m"`},
		{"means", Curves{XLabels: x, Panels: []Panel{{Series: []Series{ok}}, {Series: []Series{{Name: "m", Mean: []float64{1}}}}}}, `curves panel 1 series "m" has 1 means for 2 x labels`},
		{"lo only", Curves{XLabels: x, Panels: panel(Series{Name: "m", Mean: []float64{1, 0}, Lo: []float64{0, 0}})}, `curves panel 0 ("P") series "m" has only one of Lo and Hi`},
		{"interval lengths", Curves{XLabels: x, Panels: panel(Series{Name: "m", Mean: []float64{1, 0}, Lo: []float64{0}, Hi: []float64{1, 1}})}, `curves panel 0 ("P") series "m" has 1 lows and 2 highs for 2 x labels`},
		{"infinite mean", Curves{XLabels: x, Panels: panel(Series{Name: "m", Mean: []float64{1, math.Inf(1)}})}, `curves panel 0 ("P") series "m" has mean +Inf at "b"`},
		{"inverted interval", Curves{XLabels: x, Panels: panel(Series{Name: "m", Mean: []float64{1, 0}, Lo: []float64{0, 1}, Hi: []float64{2, 0.5}})}, `curves panel 0 ("P") series "m" has interval [1, 0.5] at "b"`},
	} {
		_, _, err := tc.c.Size()
		if err == nil || err.Error() != "reports: "+tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if _, err := tc.c.WriterTo("png"); err == nil {
			t.Errorf("%s: WriterTo succeeds", tc.name)
		}
	}

	// Gaps everywhere draw nothing, without error.
	gaps := Curves{XLabels: x, Panels: panel(Series{Name: "m", Mean: []float64{nan, nan}, Lo: []float64{nan, nan}, Hi: []float64{nan, nan}})}
	if _, err := gaps.WriterTo("png"); err != nil {
		t.Errorf("curves of NaN: %v", err)
	}
	// A canvas too small.
	small := vgimg.New(vg.Inch, vg.Inch)
	if err := goldenCurves().Draw(draw.New(small)); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("draw on a one-inch canvas: %v", err)
	}
}

// Drawn on a canvas larger than its natural size, the figure fills it.
func TestCurvesDrawLarger(t *testing.T) {
	c := goldenCurves()
	w, h, err := c.Size()
	if err != nil {
		t.Fatal(err)
	}
	cv := vgimg.NewWith(vgimg.UseWH(w+2*vg.Inch, h+vg.Inch), vgimg.UseDPI(30))
	if err := c.Draw(draw.New(cv)); err != nil {
		t.Fatal(err)
	}
	l := c.layout(c.naturalDataW(), curvesDataH)
	if l.w != w || l.h != h {
		t.Errorf("layout %v×%v, Size %v×%v", l.w, l.h, w, h)
	}
}

// Twelve methods over forty layers of long names: the panel widens, the
// labels are turned and all drawn, the legend fits the figure, and every
// method has its own look.
func TestCurvesLargeLayout(t *testing.T) {
	var labels []string
	for i := range 40 {
		labels = append(labels, fmt.Sprintf("block_%d_depthwise_conv", i))
	}
	names := []string{"gradient", "integrated-gradients", "smoothgrad", "vargrad", "guided-backprop",
		"deconvnet", "gradcam", "guided-gradcam", "gradient×input", "occlusion", "xrai", "blur-integrated-gradients"}
	var series []Series
	for k, name := range names {
		series = append(series, decay(name, 40, 0.05+0.03*float64(k), 0.08*float64(k)-0.3, 0.2))
	}
	c := &Curves{XLabels: labels, XTitle: "layers randomized", Columns: 1, Panels: []Panel{
		{Title: "Rank correlation", Series: series},
		{Title: "SSIM", Series: slices.Clone(series[6:])},
	}}
	l := c.layout(c.naturalDataW(), curvesDataH)
	if l.dataW < 40*turnedStep {
		t.Errorf("data area %v wide for 40 labels", l.dataW)
	}
	if l.xStyle.Rotation == 0 {
		t.Error("long labels are not turned")
	}
	for i, s := range l.xLabels {
		if s != labels[i] {
			t.Errorf("label %d drawn as %q", i, s)
		}
	}
	if l.rows != 2 || l.cols != 1 {
		t.Errorf("%d×%d panels, want 2×1", l.rows, l.cols)
	}
	if l.legend.w > l.w-2*gridMargin || l.legend.cols < 2 {
		t.Errorf("legend of %d columns %v wide in a %v figure", l.legend.cols, l.legend.w, l.w)
	}
	for i, name := range l.legend.names {
		if name != names[i] {
			t.Errorf("legend entry %d is %q, want %q", i, name, names[i])
		}
	}

	// One look per name, the same in every panel.
	order, styles := c.styles()
	if !slices.Equal(order, names) {
		t.Errorf("series order %q", order)
	}
	type look struct {
		c      color.Color
		dashes string
		marker marker
	}
	seen := map[look]string{}
	for _, name := range names {
		st := styles[name]
		lk := look{st.line.Color, fmt.Sprint(st.line.Dashes), st.glyph.Shape.(marker)}
		if other, ok := seen[lk]; ok {
			t.Errorf("%s and %s look alike", name, other)
		}
		seen[lk] = name
	}
	for i := range 10 {
		for j := range i {
			if styleOf(i, 2).line.Color == styleOf(j, 2).line.Color {
				t.Errorf("series %d and %d have the same colour", i, j)
			}
		}
	}
	if _, err := c.WriterTo("png"); err != nil {
		t.Fatal(err)
	}

	// Short labels stay level; on a narrow canvas turned labels thin out.
	c.XLabels = make([]string, 40)
	for i := range c.XLabels {
		c.XLabels[i] = fmt.Sprint(i)
	}
	if l := c.layout(c.naturalDataW(), curvesDataH); l.xStyle.Rotation != 0 {
		t.Error("short labels are turned")
	}
	c.XLabels = labels
	l = c.layout(curvesDataW, curvesDataH)
	drawn := 0
	for _, s := range l.xLabels {
		if s != "" {
			drawn++
		}
	}
	if step := l.dataW / vg.Length(drawn); drawn == 40 || step < turnedStep {
		t.Errorf("%d labels drawn in %v", drawn, l.dataW)
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{-0.04, 1.04, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{-0.38, 1.04, "−0.25 0.00 0.25 0.50 0.75 1.00"},
		{-1.08, 1.08, "−1.0 −0.5 0.0 0.5 1.0"},
		{0, 250, "0 50 100 150 200 250"},
		{0.91, 0.93, "0.910 0.915 0.920 0.925 0.930"},
		{-1e-17, 1, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{1, 1, ""},
	} {
		var got []string
		for _, tk := range (niceTicks{}).Ticks(tc.lo, tc.hi) {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ticks of [%g, %g]: %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}
