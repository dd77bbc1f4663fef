package reports

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
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

// goldenGrid is the figure of the golden-image test: two synthetic images,
// the input and three maps (absolute overlay, signed overlay, heat map), in
// cells small enough that "integrated-gradients" wraps.
func goldenGrid() *Grid {
	g := testGrid(2, 4)
	g.Title = "Synthetic rings"
	g.Columns = []string{"input", "gradient", "integrated-gradients", "smoothgrad"}
	g.Rows = []string{"ring_0\npred: ring (0.97)", "ring_1"}
	g.CellSize = 0.75 * vg.Inch
	return g
}

// TestGridGolden compares the figure with testdata/grid_golden.png;
// go test -regen rewrites it. The tolerance, 0.001 in cmpimg's YIQ metric
// (about 8 levels of luma per pixel), leaves room for rasteriser rounding on
// other platforms, not for a change of colours: a 5% change of the overlay's
// grey contrast fails.
func TestGridGolden(t *testing.T) {
	t.Cleanup(func() { os.Remove(filepath.Join("testdata", "grid.png")) })
	cmpimg.CheckPlotApprox(func() {
		if err := goldenGrid().Save(filepath.Join("testdata", "grid.png")); err != nil {
			t.Fatal(err)
		}
	}, t, 0.001, "grid.png")
}

// The same grid gives the same bytes, in every format. Its eight images of
// equal width would come out of fpdf in the random order of a map (see
// canonicalPDF), so a PDF is rendered several times.
func TestGridDeterministic(t *testing.T) {
	for _, format := range []string{"png", "svg", "pdf"} {
		var out [4]bytes.Buffer
		for i := range out {
			wt, err := goldenGrid().WriterTo(format)
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

func TestGridSave(t *testing.T) {
	dir := t.TempDir()
	g := testGrid(1, 2)
	g.DPI = 200
	for ext, magic := range map[string]string{".png": "\x89PNG", ".svg": "<?xml", ".pdf": "%PDF"} {
		path := filepath.Join(dir, "grid"+ext)
		if err := g.Save(path); err != nil {
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
	// PNG size: the natural size at DPI.
	f, _ := os.Open(filepath.Join(dir, "grid.png"))
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	w, h, _ := g.Size()
	if cfg.Width != int(w.Dots(200)+0.5) || cfg.Height != int(h.Dots(200)+0.5) {
		t.Errorf("PNG is %d×%d pixels, want %v×%v at 200 dpi", cfg.Width, cfg.Height, w.Dots(200), h.Dots(200))
	}
	err = g.Save(filepath.Join(dir, "grid.gif"))
	if err == nil || err.Error() != `reports: save `+filepath.Join(dir, "grid.gif")+`: unknown figure format "gif"; formats: png, svg, pdf` {
		t.Errorf("save as gif: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("folder holds %d files, want 3", len(entries))
	}
}

// Cell titles take room above their row, whichever row it is, and replace
// the column title in the first.
func TestGridCellTitles(t *testing.T) {
	plain := testGrid(2, 3)
	plain.Columns = []string{"a", "b", "c"}
	_, h0, err := plain.Size()
	if err != nil {
		t.Fatal(err)
	}
	titled := testGrid(2, 3)
	titled.Columns = []string{"a", "b", "c"}
	titled.Cells[1][2].Title = "channel 5\n1.32× top"
	titled.Cells[0][1].Title = "b, own"
	_, h1, err := titled.Size()
	if err != nil {
		t.Fatal(err)
	}
	l := titled.layout(titled.cellSize())
	if h1 <= h0 || l.top[1] <= l.top[0] {
		t.Errorf("a two-line title over row 1: height %v (without %v), room above row 1 %v, row 0 %v", h1, h0, l.top[1], l.top[0])
	}
	if got := l.cells[0][1].Title.Text; got != "b, own" {
		t.Errorf("row 0, column 1 is titled %q", got)
	}
	if got := l.cells[1][0].Title.Text; got != "" {
		t.Errorf("row 1, column 0 is titled %q", got)
	}
	if _, err := titled.WriterTo("png"); err != nil {
		t.Error(err)
	}
}

func TestGridErrors(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	var nilImg *image.NRGBA
	for _, tc := range []struct {
		name string
		g    Grid
		want string
	}{
		{"no cells", Grid{}, "grid has no cells"},
		{"empty row", Grid{Cells: [][]Cell{{}}}, "grid has no cells"},
		{"ragged", Grid{Cells: [][]Cell{{{Image: img}, {Image: img}}, {{Image: img}}}}, "grid row 1 has 1 cells, row 0 has 2"},
		{"columns", Grid{Cells: [][]Cell{{{Image: img}}}, Columns: []string{"a", "b"}}, "grid has 2 column titles for 1 columns"},
		{"rows", Grid{Cells: [][]Cell{{{Image: img}}}, Rows: []string{}}, "grid has 0 row labels for 1 rows"},
		{"empty image", Grid{Cells: [][]Cell{{{Image: img}, {Image: image.NewNRGBA(image.Rect(0, 0, 0, 3))}}}}, "grid cell (0, 1) has an empty image"},
		{"cell size", Grid{Cells: [][]Cell{{{Image: img}}}, CellSize: -1}, "grid cell size -1pt is negative"},
		{"dpi", Grid{Cells: [][]Cell{{{Image: img}}}, DPI: -3}, "grid DPI -3 is negative"},
	} {
		_, _, err := tc.g.Size()
		if err == nil || err.Error() != "reports: "+tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// A nil *image.NRGBA is an empty cell, like a nil Image.
	g := Grid{Cells: [][]Cell{{{Image: img}, {Image: nilImg}, {}}}}
	if _, err := g.WriterTo("png"); err != nil {
		t.Errorf("grid with empty cells: %v", err)
	}
	// A canvas too small.
	c := vgimg.New(vg.Inch/2, vg.Inch/2)
	if err := testGrid(3, 3).Draw(draw.New(c)); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("draw on a half-inch canvas: %v", err)
	}
}

// Sixteen columns and twelve rows with long names: every title and label
// fits its cell without cutting, and nothing overlaps.
func TestGridLargeLayout(t *testing.T) {
	names := []string{"input", "gradient", "integrated-gradients", "smoothgrad", "guided-gradcam",
		"guided-backprop", "deconvnet", "gradient×input", "gradcam", "occlusion-sensitivity",
		"vargrad", "xrai", "blur-integrated-gradients", "lrp-epsilon", "deeplift", "random-baseline"}
	img := image.NewNRGBA(image.Rect(0, 0, 28, 28))
	g := &Grid{Title: "Twelve images, sixteen methods", Columns: names, Sequential: true, Diverging: true}
	for r := range 12 {
		g.Rows = append(g.Rows, fmt.Sprintf("fmnist_%04d_ankle-boot\npred: sneaker (0.%02d)", r, 90+r))
		row := make([]Cell, 16)
		for c := range row {
			row[c].Image = img
		}
		g.Cells = append(g.Cells, row)
	}
	l := g.layout(g.cellSize())
	for c, p := range l.cells[0] {
		title := p.Title.Text
		if strings.Contains(title, "…") || p.Title.TextStyle.Width(title) > l.cell {
			t.Errorf("column %d title %q (%v wide) does not fit a %v cell", c, title, p.Title.TextStyle.Width(title), l.cell)
		}
		if p.Title.TextStyle.Font.Size < 6 {
			t.Errorf("column %d title at %v", c, p.Title.TextStyle.Font.Size)
		}
	}
	for r, label := range l.rowLabels {
		if strings.Contains(label, "…") || l.rowStyle.Width(label) > l.cell {
			t.Errorf("row %d label %q (%v long) does not fit a %v cell", r, label, l.rowStyle.Width(label), l.cell)
		}
	}
	// Colour bars side by side within the figure, under the cells.
	if l.barsW > l.w-2*gridMargin || len(l.bars) != 2 {
		t.Errorf("%d colour bars %v wide in a %v figure", len(l.bars), l.barsW, l.w)
	}
	if w, h, _ := g.Size(); w < 16*l.cell || h < 12*l.cell {
		t.Errorf("size %v×%v for 16×12 cells of %v", w, h, l.cell)
	}
}

func TestFitText(t *testing.T) {
	sty := sans(8)
	w := sty.Width("integrated-")
	for _, tc := range []struct {
		in, want string
		fits     bool
	}{
		{"gradient", "gradient", true},
		{"integrated-gradients", "integrated-\ngradients", true},
		{"ankle boot sneaker", "ankle boot\nsneaker", true},
		{"a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-0-1-2-3-4-5-6-7-8-9", "", false},
	} {
		got, fits := fitText(sty, tc.in, w, true, 2)
		if fits != tc.fits || (tc.want != "" && got != tc.want) {
			t.Errorf("fitText(%q) = %q, %v; want %q, %v", tc.in, got, fits, tc.want, tc.fits)
		}
		for _, line := range strings.Split(got, "\n") {
			if sty.Width(line) > w {
				t.Errorf("fitText(%q): line %q wider than %v", tc.in, line, w)
			}
		}
	}
	if got, size := fitTexts([]string{"a", "gradient"}, sans(6).Width("gradient"), labelSizes, 2); size != 6 || got[1] != "gradient" {
		t.Errorf("fitTexts chose %v: %q", size, got)
	}
}

// Pixels keeps a 4×4 checkerboard crisp, softening only a one-dot seam
// between squares, where plotter.Image alone blends neighbouring pixels
// over the whole of each square (6% of the dots stay pure black or white).
func TestPixelsCrisp(t *testing.T) {
	board := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for y := range 4 {
		for x := range 4 {
			v := uint8(255 * ((x + y) % 2))
			board.SetNRGBA(x, y, color.NRGBA{v, v, v, 255})
		}
	}
	c := vgimg.NewWith(vgimg.UseWH(vg.Inch, vg.Inch), vgimg.UseDPI(150))
	p := plot.New()
	p.HideAxes()
	p.X.Padding, p.Y.Padding = 0, 0
	p.Add(&Pixels{Image: board, XMax: 4, YMax: 4})
	p.Draw(draw.New(c))
	out := c.Image()
	b := out.Bounds()
	pure, n := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := out.At(x, y).RGBA()
			if r == 0 || r == 0xffff {
				pure++
			}
			n++
		}
	}
	if frac := float64(pure) / float64(n); frac < 0.9 {
		t.Errorf("%.1f%% of the pixels are pure black or white, want ≥ 90%%", 100*frac)
	}
	if got := Enlarge(board, 3); got.Bounds().Dx() != 12 || got.NRGBAAt(5, 2) != board.NRGBAAt(1, 0) || got.NRGBAAt(6, 2) != board.NRGBAAt(2, 0) {
		t.Error("enlarge does not repeat each pixel 3×3 times")
	}
}
