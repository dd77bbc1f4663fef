package reports

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Cell is one picture of a Grid.
type Cell struct {
	// Image is drawn with square, crisp pixels (see Pixels), as large as
	// fits in the square cell and centred in it. A nil Image leaves the
	// cell empty.
	Image image.Image
	// Title, when set, is drawn above this cell, in any row (in the first
	// row instead of its column's title), fitted like column titles: a
	// grid of many small pictures that each need a name (the channels of a
	// layer).
	Title string
	// Caption, when set, is drawn below this cell, small: what the row's
	// input is ("Sneaker · logit 7.31" under the input image), or the
	// logit of the class once a layer is randomized. All captions share
	// one font size (7.5 points down to 6, 7 at a paper's Width) and wrap
	// into at most two lines.
	Caption string
}

// Grid is a figure of pictures in rows (usually the images explained) and
// columns (usually the input and one saliency method each), with colour
// bars for the maps and an optional title:
//
//	                    Title
//	          input   gradient   integrated-gradients  …
//	label 0  [     ]  [       ]  [                   ]
//	label 1  [     ]  [       ]  [                   ]
//	   ▕▁▁▁▁▁▁▁▁▁▁▁▁▏         ▕▁▁▁▁▁▁▁▁▁▁▁▁▏
//	   0    0.5    1          −1     0     1
//	 normalised saliency    normalised saliency
//
// Each cell is a plot.Plot holding a Pixels plotter, and the cells are
// placed with plot.Align so that every image has the same size. Column
// titles and row labels are fitted to the cell, one font size for all
// column titles and one for all row labels: the font shrinks from 8 to 7
// points, then long names wrap after '-', '_' or '/' or at a space (two
// lines for a column title, three for a row label), then the font shrinks
// to 6 points, and only then are names cut with "…".
type Grid struct {
	// Title is drawn above the figure; empty for none.
	Title string

	// Columns are the column titles, drawn above the first row; nil for
	// none, else one per column ("" for an untitled column).
	Columns []string

	// Rows are the row labels, drawn rotated to the left of the first
	// column; nil for none, else one per row. A label may hold several
	// lines separated by "\n" (for example the image name and the
	// predicted class).
	Rows []string

	// Cells are the pictures, Cells[row][column]; every row has the same
	// number of cells.
	Cells [][]Cell

	// Sequential and Diverging ask for a colour bar of the Sequential map
	// (absolute saliency, 0 … 1) and of the Diverging map (signed saliency,
	// −1 … 1) below the cells.
	Sequential, Diverging bool

	// CellSize is the side of a square cell in the figure's natural size
	// (Size, Save). Zero means 1.3 inches.
	CellSize vg.Length

	// DPI is the resolution of a PNG written by Save or WriterTo. Zero
	// means 150 dots per inch; use 300 (or PDF) for print.
	DPI int

	// ColumnNotes are second lines under the column titles, smaller and
	// grey ("top-1 agrees 20/20"); nil for none, else one per column (""
	// for none). They share a font size with the captions and wrap into
	// at most two lines.
	ColumnNotes []string

	// Width is the width of the figure at its natural size (Size, Save),
	// for a figure printed at that width in a paper (PaperColumnWidth,
	// PaperTextWidth): the cells are as large as fit (an error if less
	// than a quarter inch; pick fewer columns with SelectColumns and
	// PickColumns), CellSize is ignored, and no text is smaller than
	// MinPaperFontSize (long titles wrap, then are cut with "…"). Zero
	// sizes the cells by CellSize.
	Width vg.Length
}

// The defaults and the fixed dimensions of a Grid.
const (
	defaultCellSize = 1.3 * vg.Inch
	defaultDPI      = 150

	minCellSize = vg.Inch / 4

	gridMargin   = 6  // points around the figure
	cellPad      = 4  // points between cells
	titleGap     = 6  // points below the title
	labelPad     = 3  // points between a cell and its title or label
	barGap       = 14 // points between the cells and the colour bars
	barSep       = 28 // points between two colour bars
	barThickness = 9  // points
	minBarWidth  = 1.4 * vg.Inch
	maxBarWidth  = 2.4 * vg.Inch
	// paperBarWidth is the least width of a colour bar in a grid of a
	// given Width.
	paperBarWidth = 1.1 * vg.Inch
)

var (
	// labelSizes are the font sizes tried, largest first, for column
	// titles and row labels; titleSizes for the figure title.
	labelSizes = []vg.Length{8, 7.5, 7, 6.5, 6}
	titleSizes = []vg.Length{10, 9.5, 9, 8.5, 8}
	// captionSizes are those of the captions and column notes.
	captionSizes = []vg.Length{7.5, 7, 6.5, 6}

	frameStyle = draw.LineStyle{Color: color.Gray{Y: 150}, Width: vg.Points(0.4)}
)

// Size returns the natural size of the figure: cells of CellSize and the
// room its text and colour bars need.
func (g *Grid) Size() (w, h vg.Length, err error) { return g.laid().Size() }

// SmallestFont returns the size, in points, of the smallest text of the
// figure (titles, labels, captions, notes, colour bars) when the figure at
// its natural size is scaled to width, as a paper's
// \includegraphics[width=…] does; at least MinPaperFontSize is legible in
// print. With Width set, SmallestFont(g.Width) is at least that.
func (g *Grid) SmallestFont(width vg.Length) (vg.Length, error) {
	return g.laid().SmallestFont(width)
}

// Draw draws the figure on c: with the largest cells that let it fit,
// centred, on a white background. It reports an error for an invalid Grid
// or a canvas too small for cells of a quarter inch.
func (g *Grid) Draw(c draw.Canvas) error { return g.laid().Draw(c) }

// renderer implements Figure: the grid's layouts, kept for every format.
func (g *Grid) renderer() (figure, int) { return g.laid(), g.DPI }

// laid is the grid with no layout made yet.
func (g *Grid) laid() *gridLayouts { return &gridLayouts{g: g, memo: map[vg.Length]*gridLayout{}} }

// gridLayouts is a Grid with the layouts made for it, by cell size: its
// natural size, the size of its smallest text and its drawing on canvases
// of any format lay it out once for each cell size they try. The Grid must
// not change meanwhile.
type gridLayouts struct {
	g    *Grid
	memo map[vg.Length]*gridLayout
}

// layout is g.layout(cell), made once.
func (ls *gridLayouts) layout(cell vg.Length) *gridLayout {
	if l, ok := ls.memo[cell]; ok {
		return l
	}
	l := ls.g.layout(cell)
	ls.memo[cell] = l
	return l
}

// Size is Grid.Size.
func (ls *gridLayouts) Size() (w, h vg.Length, err error) {
	if err := ls.g.check(); err != nil {
		return 0, 0, err
	}
	l, err := ls.natural()
	if err != nil {
		return 0, 0, err
	}
	return l.w, l.h, nil
}

// SmallestFont is Grid.SmallestFont.
func (ls *gridLayouts) SmallestFont(width vg.Length) (vg.Length, error) {
	if err := ls.g.check(); err != nil {
		return 0, err
	}
	l, err := ls.natural()
	if err != nil {
		return 0, err
	}
	return l.minFont * width / l.w, nil
}

// natural lays the figure out at its natural size: cells of CellSize, or
// as large as Width allows.
func (ls *gridLayouts) natural() (*gridLayout, error) {
	g := ls.g
	if g.Width == 0 {
		return ls.layout(g.cellSize()), nil
	}
	cell := g.cellSize()
	var l *gridLayout
	for range 6 {
		l = ls.layout(cell)
		next := (g.Width - 2*gridMargin - (l.gridW - vg.Length(l.cols)*cell)) / vg.Length(l.cols)
		if next == cell {
			break
		}
		cell = next
	}
	l = ls.layout(cell)
	const slack = 1e-6
	if cell < minCellSize || l.w > g.Width+slack {
		return nil, fmt.Errorf("reports: a %d×%d grid does not fit in a width of %.3g inches", l.rows, l.cols, g.Width/vg.Inch)
	}
	return l, nil
}

// Draw is Grid.Draw.
func (ls *gridLayouts) Draw(c draw.Canvas) error {
	g := ls.g
	if err := g.check(); err != nil {
		return err
	}
	size := c.Size()
	// The room taken by text depends a little on the cell size (fonts
	// shrink in small cells), so settle the cell size in a few rounds.
	cell := g.cellSize()
	if g.Width > 0 {
		// Start from the natural size, which a canvas often has.
		if nl, err := ls.natural(); err == nil {
			cell = nl.cell
		}
	}
	var l *gridLayout
	for range 4 {
		l = ls.layout(cell)
		fixedW := l.gridW - vg.Length(l.cols)*cell
		fixedH := l.h - vg.Length(l.rows)*cell
		next := min((size.X-2*gridMargin-fixedW)/vg.Length(l.cols), (size.Y-fixedH)/vg.Length(l.rows))
		if next == cell {
			break
		}
		cell = next
	}
	l = ls.layout(cell)
	const slack = 1e-6
	if cell < minCellSize || l.w > size.X+slack || l.h > size.Y+slack {
		return fmt.Errorf("reports: a %d×%d grid does not fit on a %.3g×%.3g inch canvas", l.rows, l.cols, size.X/vg.Inch, size.Y/vg.Inch)
	}
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	// The figure, centred on c.
	fig := draw.Crop(c, (size.X-l.w)/2, -(size.X-l.w)/2, (size.Y-l.h)/2, -(size.Y-l.h)/2)
	fig = draw.Crop(fig, gridMargin, -gridMargin, gridMargin, -gridMargin)
	l.draw(fig)
	return nil
}

// WriterTo draws the figure at its natural size (Size) in a format, "png",
// "svg" or "pdf", and returns it ready to be written.
func (g *Grid) WriterTo(format string) (io.WriterTo, error) {
	return renderFigure(g.laid(), format, g.DPI, nil)
}

// Save writes the figure at its natural size to path, in the format its
// extension names: .png (at DPI), .svg or .pdf. The file is written
// atomically (a temporary file in the same folder, renamed over path).
func (g *Grid) Save(path string) error {
	return SaveFigure(g, path)
}

// unprefixed is an error of this package wrapped again with more context:
// its message drops the "reports: " prefix, and it unwraps to the original.
type unprefixed struct{ err error }

func (e unprefixed) Error() string { return strings.TrimPrefix(e.err.Error(), "reports: ") }
func (e unprefixed) Unwrap() error { return e.err }

func (g *Grid) cellSize() vg.Length {
	if g.CellSize == 0 {
		return defaultCellSize
	}
	return g.CellSize
}

// check validates the shape of the grid.
func (g *Grid) check() error {
	if len(g.Cells) == 0 || len(g.Cells[0]) == 0 {
		return fmt.Errorf("reports: grid has no cells")
	}
	cols := len(g.Cells[0])
	for r, row := range g.Cells {
		if len(row) != cols {
			return fmt.Errorf("reports: grid row %d has %d cells, row 0 has %d", r, len(row), cols)
		}
		for c, cell := range row {
			if isNil(cell.Image) {
				continue
			}
			if cell.Image.Bounds().Empty() {
				return fmt.Errorf("reports: grid cell (%d, %d) has an empty image", r, c)
			}
		}
	}
	if g.Columns != nil && len(g.Columns) != cols {
		return fmt.Errorf("reports: grid has %d column titles for %d columns", len(g.Columns), cols)
	}
	if g.Rows != nil && len(g.Rows) != len(g.Cells) {
		return fmt.Errorf("reports: grid has %d row labels for %d rows", len(g.Rows), len(g.Cells))
	}
	if g.ColumnNotes != nil && len(g.ColumnNotes) != cols {
		return fmt.Errorf("reports: grid has %d column notes for %d columns", len(g.ColumnNotes), cols)
	}
	if g.CellSize < 0 {
		return fmt.Errorf("reports: grid cell size %gpt is negative", float64(g.CellSize))
	}
	if g.Width < 0 {
		return fmt.Errorf("reports: grid width %gpt is negative", float64(g.Width))
	}
	if g.DPI < 0 {
		return fmt.Errorf("reports: grid DPI %d is negative", g.DPI)
	}
	return nil
}

// isNil reports a nil image, including a nil *image.NRGBA in the interface.
func isNil(img image.Image) bool {
	if img == nil {
		return true
	}
	p, ok := img.(*image.NRGBA)
	return ok && p == nil
}

// gridLayout is a Grid laid out for one cell size: the plots and the room
// they take, in points.
type gridLayout struct {
	rows, cols int
	cell       vg.Length

	title      string
	titleStyle text.Style
	titleH     vg.Length // with the gap below, 0 without a title

	rowLabels []string // fitted, nil for none
	rowStyle  text.Style
	labelW    vg.Length // of the column of row labels, with its padding

	cells        [][]*plot.Plot
	left, right  []vg.Length // per column: from the tile edge to the image
	top, bottom  []vg.Length // per row
	gridW, gridH vg.Length

	bars       []*plot.Plot
	barW, barH vg.Length // of one bar plot, with its axis
	barsW      vg.Length

	notes     []string // of the columns, fitted; nil for none
	noteStyle text.Style

	minFont vg.Length // the smallest text drawn

	w, h vg.Length // of the whole figure, margins included
}

// layout builds the plots of g for cells of the given side and measures
// them.
func (g *Grid) layout(cell vg.Length) *gridLayout {
	l := &gridLayout{rows: len(g.Cells), cols: len(g.Cells[0]), cell: cell, minFont: vg.Length(math.Inf(1))}
	sizes := labelSizes
	small := captionSizes
	if g.Width > 0 {
		sizes, small = atLeast(sizes, MinPaperFontSize), atLeast(small, MinPaperFontSize)
	}

	var rows []string
	var colSize, rowSize vg.Length
	// The titles above the cells: the column titles on the first row,
	// replaced by the cells' own, fitted together to one font size.
	titles := make([][]string, len(g.Cells))
	var all []string
	for r, row := range g.Cells {
		titles[r] = make([]string, len(row))
		for c, cl := range row {
			switch {
			case cl.Title != "":
				titles[r][c] = cl.Title
			case r == 0 && g.Columns != nil:
				titles[r][c] = g.Columns[c]
			}
			all = append(all, titles[r][c])
		}
	}
	if slices.ContainsFunc(all, func(t string) bool { return t != "" }) {
		var fitted []string
		fitted, colSize = fitTexts(all, cell, sizes, 2)
		l.minFont = min(l.minFont, colSize)
		for r := range titles {
			copy(titles[r], fitted[r*l.cols:(r+1)*l.cols])
			// Give every title of a row the same number of lines, blank
			// ones first, so that all sit on the images whether wrapped
			// or not.
			n := 0
			for _, t := range titles[r] {
				n = max(n, strings.Count(t, "\n")+1)
			}
			for i, t := range titles[r] {
				if t != "" {
					titles[r][i] = strings.Repeat("\n", n-1-strings.Count(t, "\n")) + t
				}
			}
		}
	}
	if g.Rows != nil {
		rows, rowSize = fitTexts(g.Rows, cell, sizes, 3)
		l.minFont = min(l.minFont, rowSize)
		l.rowLabels = rows
		l.rowStyle = sans(rowSize)
		l.rowStyle.YAlign = draw.YBottom
		l.rowStyle.Rotation = math.Pi / 2
		for _, t := range rows {
			if t != "" {
				l.labelW = max(l.labelW, sans(rowSize).Height(t)+l.rowStyle.FontExtents().Descent+labelPad)
			}
		}
	}

	// The captions below the cells, at one small size, and the notes
	// under the column titles, at another, each given the same number of
	// lines in a row.
	var captions [][]string
	var captionSize, noteH vg.Length
	var caps []string
	for _, row := range g.Cells {
		for _, cl := range row {
			caps = append(caps, cl.Caption)
		}
	}
	if slices.ContainsFunc(caps, func(t string) bool { return t != "" }) {
		fitted, size := fitTexts(caps, cell, small, 2)
		captionSize = size
		l.minFont = min(l.minFont, size)
		captions = make([][]string, l.rows)
		for r := range l.rows {
			captions[r] = sameLines(fitted[r*l.cols:(r+1)*l.cols], false)
		}
	}
	if slices.ContainsFunc(g.ColumnNotes, func(t string) bool { return t != "" }) {
		fitted, size := fitTexts(g.ColumnNotes, cell, small, 2)
		l.minFont = min(l.minFont, size)
		l.notes = sameLines(fitted, true)
		l.noteStyle = sans(size)
		l.noteStyle.Color = noteColor
		l.noteStyle.YAlign = draw.YBottom
		for _, n := range l.notes {
			if n != "" {
				noteH = max(noteH, l.noteStyle.Height(n)+labelPad)
			}
		}
	}

	l.cells = make([][]*plot.Plot, l.rows)
	l.left, l.right = make([]vg.Length, l.cols), make([]vg.Length, l.cols)
	l.top, l.bottom = make([]vg.Length, l.rows), make([]vg.Length, l.rows)
	probe := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: 1000, Y: 1000}}}
	for r, row := range g.Cells {
		l.cells[r] = make([]*plot.Plot, l.cols)
		for c, cl := range row {
			p := cellPlot(cl.Image)
			if t := titles[r][c]; t != "" {
				p.Title.Text = t
				p.Title.TextStyle = sans(colSize)
				p.Title.Padding = labelPad
			}
			if r == 0 && l.notes != nil {
				// The notes sit between the titles and the images.
				if p.Title.Text == "" {
					p.Title.Text = " "
					p.Title.TextStyle = sans(max(colSize, l.noteStyle.Font.Size))
				}
				p.Title.Padding = noteH
			}
			if captions != nil && captions[r][c] != "" {
				p.X.Label.Text = captions[r][c]
				p.X.Label.TextStyle = sans(captionSize)
				p.X.Label.TextStyle.YAlign = draw.YBottom
				p.X.Label.Padding = labelPad
			}
			l.cells[r][c] = p
			d := p.DataCanvas(probe)
			l.left[c] = max(l.left[c], d.Min.X-probe.Min.X)
			l.right[c] = max(l.right[c], probe.Max.X-d.Max.X)
			l.bottom[r] = max(l.bottom[r], d.Min.Y-probe.Min.Y)
			l.top[r] = max(l.top[r], probe.Max.Y-d.Max.Y)
		}
	}
	l.gridW = l.labelW
	for c := range l.cols {
		l.gridW += l.left[c] + l.right[c] + cell
	}
	for r := range l.rows {
		l.gridH += l.top[r] + l.bottom[r] + cell
	}
	l.gridW += vg.Length(l.cols-1) * cellPad
	l.gridH += vg.Length(l.rows-1) * cellPad

	// Colour bars, as wide as the cells allow within [min, max]BarWidth.
	var maps []palette.ColorMap
	var labels []string
	if g.Sequential {
		maps, labels = append(maps, Sequential()), append(labels, "normalised saliency")
	}
	if g.Diverging {
		maps, labels = append(maps, Diverging()), append(labels, "normalised saliency")
	}
	leastBar := vg.Length(minBarWidth)
	if g.Width > 0 {
		// For a paper's width, shorter bars under shorter labels.
		leastBar = paperBarWidth
		if len(maps) == 2 {
			labels = []string{"saliency (absolute)", "saliency (signed)"}
		}
	}
	if len(maps) == 2 && g.Width == 0 {
		labels[0] += " (absolute)"
		labels[1] += " (signed)"
	}
	if len(maps) > 0 {
		l.minFont = min(l.minFont, 7) // the ticks
	}
	if n := vg.Length(len(maps)); n > 0 {
		cellsW := l.gridW - l.labelW - l.left[0] - l.right[l.cols-1]
		l.barW = min(max((cellsW-(n-1)*barSep)/n, leastBar), maxBarWidth)
		for i, cm := range maps {
			p := barPlot(cm, labels[i])
			d := p.DataCanvas(probe)
			l.barH = max(l.barH, barThickness+(d.Min.Y-probe.Min.Y)+(probe.Max.Y-d.Max.Y))
			l.barW = max(l.barW, p.X.Label.TextStyle.Width(labels[i])+2*labelPad)
			l.bars = append(l.bars, p)
		}
		l.barsW = n*l.barW + (n-1)*barSep
	}

	contentW := max(l.gridW, l.barsW)
	if g.Title != "" {
		var ts []string
		var size vg.Length
		ts, size = fitTexts([]string{g.Title}, contentW, titleSizes, 2)
		l.title, l.titleStyle = ts[0], sans(size)
		l.minFont = min(l.minFont, size)
		l.titleH = l.titleStyle.Height(l.title) + titleGap
	}
	l.w = contentW + 2*gridMargin
	l.h = l.titleH + l.gridH + 2*gridMargin
	if len(l.bars) > 0 {
		l.h += barGap + l.barH
	}
	if math.IsInf(float64(l.minFont), 1) {
		l.minFont = 0 // no text at all
	}
	return l
}

// sameLines gives the non-empty texts the same number of lines, adding
// blank lines before them (top: text set on its bottom line) or after
// them, so that the texts of a row start, or end, level.
func sameLines(texts []string, top bool) []string {
	n := 0
	for _, t := range texts {
		if t != "" {
			n = max(n, strings.Count(t, "\n")+1)
		}
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		if t == "" {
			continue
		}
		k := n - 1 - strings.Count(t, "\n")
		if top {
			out[i] = strings.Repeat("\n", k) + t
		} else {
			// Blank lines of a space: text handlers drop trailing
			// newlines.
			out[i] = t + strings.Repeat("\n ", k)
		}
	}
	return out
}

// draw draws the laid-out figure on c, the figure's size less its margins.
func (l *gridLayout) draw(c draw.Canvas) {
	top := c.Max.Y
	contentW := c.Max.X - c.Min.X
	// The cells, then the title and the colour bars centred over the
	// images (not the row labels) where the figure is wide enough.
	gx := c.Min.X + (contentW-l.gridW)/2
	cellsMin := gx + l.labelW + l.left[0]
	cellsMax := gx + l.gridW - l.right[l.cols-1]
	centre := func(w vg.Length) vg.Length { // left edge of a block of width w
		x := (cellsMin+cellsMax)/2 - w/2
		return min(max(x, c.Min.X), c.Max.X-w)
	}

	if l.title != "" {
		w := l.titleStyle.Width(l.title)
		c.FillText(l.titleStyle, vg.Point{X: centre(w) + w/2, Y: top}, l.title)
		top -= l.titleH
	}

	gc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: gx + l.labelW, Y: top - l.gridH},
		Max: vg.Point{X: gx + l.gridW, Y: top},
	}}
	tiles := draw.Tiles{Rows: l.rows, Cols: l.cols, PadX: cellPad, PadY: cellPad}
	canvases := plot.Align(l.cells, tiles, gc)
	for r := range l.cells {
		for col, p := range l.cells[r] {
			p.Draw(canvases[r][col])
			if r == 0 && l.notes != nil && l.notes[col] != "" {
				// One line at a time, as the row labels.
				d := p.DataCanvas(canvases[r][col])
				lines := strings.Split(l.notes[col], "\n")
				step := l.noteStyle.FontExtents().Height
				for i, line := range lines {
					c.FillText(l.noteStyle, vg.Point{X: d.Center().X, Y: d.Max.Y + labelPad + vg.Length(len(lines)-1-i)*step}, line)
				}
			}
		}
		// Row labels, rotated, centred on the row and set against its first
		// image, drawn as verticalAxis draws a label.
		if l.rowLabels != nil && l.rowLabels[r] != "" {
			d := l.cells[r][0].DataCanvas(canvases[r][0])
			x := d.Min.X - labelPad - l.rowStyle.FontExtents().Descent
			// One line at a time: text.Plain spaces lines by the font size,
			// tighter than the height it measures, and underscores of one
			// line would touch the next.
			lines := strings.Split(l.rowLabels[r], "\n")
			step := l.rowStyle.FontExtents().Height
			for i, line := range lines {
				c.FillText(l.rowStyle, vg.Point{X: x - vg.Length(len(lines)-1-i)*step, Y: d.Center().Y}, line)
			}
		}
	}
	top -= l.gridH + barGap

	x := centre(l.barsW)
	for _, p := range l.bars {
		bc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: top - l.barH},
			Max: vg.Point{X: x + l.barW, Y: top},
		}}
		p.Draw(bc)
		x += l.barW + barSep
	}
}

// cellPlot is a plot without axes showing img (nil for an empty cell)
// letterboxed in a square.
func cellPlot(img image.Image) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil
	p.HideAxes()
	p.X.Padding, p.Y.Padding = 0, 0
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	if isNil(img) {
		return p
	}
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	side := max(w, h)
	p.Add(&Pixels{
		Image: img,
		XMin:  (side - w) / 2, XMax: (side + w) / 2,
		YMin: (side - h) / 2, YMax: (side + h) / 2,
		Frame: frameStyle,
	})
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, side, 0, side
	return p
}

// barPlot is a horizontal colour bar of cm with ticks and an axis label.
func barPlot(cm palette.ColorMap, label string) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil
	p.Add(&plotter.ColorBar{ColorMap: cm}, outline{draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}})
	p.HideY()
	p.X.Padding, p.Y.Padding = 0, 0
	p.X.Width = 0
	p.X.Tick.Length = 3
	p.X.Tick.Label = sans(7)
	p.X.Tick.Label.YAlign = draw.YTop
	p.X.Label.Text = label
	p.X.Label.TextStyle = sans(8)
	p.X.Label.TextStyle.YAlign = draw.YBottom
	p.X.Label.Padding = 2
	var ticks []plot.Tick
	for _, v := range []float64{-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1} {
		if v < cm.Min() || v > cm.Max() {
			continue
		}
		t := plot.Tick{Value: v}
		if v == -1 || v == 0 || v == 1 || (cm.Min() == 0 && v == 0.5) || (cm.Min() < 0 && (v == -0.5 || v == 0.5)) {
			t.Label = strings.Replace(fmt.Sprint(v), "-", "\u2212", 1)
		}
		ticks = append(ticks, t)
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	return p
}

// outline is a plotter drawing a thin line around the data area.
type outline struct{ draw.LineStyle }

// Plot draws the outline; it implements plot.Plotter.
func (o outline) Plot(c draw.Canvas, _ *plot.Plot) {
	r := c.Rectangle
	c.StrokeLines(o.LineStyle, []vg.Point{
		r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}, r.Min,
	})
}

// sans is the text style of the figures: Liberation Sans, black, centred.
func sans(size vg.Length) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.Font{Typeface: "Liberation", Variant: "Sans", Size: size},
		XAlign:  draw.XCenter,
		YAlign:  draw.YTop,
		Handler: plot.DefaultTextHandler,
	}
}

// fitTexts chooses one font size for all texts, the largest of sizes
// (largest first) at which each fits in width: first the comfortable sizes
// (7 points and more) without wrapping, then wrapped into at most maxLines
// lines (or the text's own lines if more), then the small sizes likewise.
// If none fits, the smallest size is used and lines that still do not fit
// are cut with "…". It returns the texts with their line breaks.
func fitTexts(texts []string, width vg.Length, sizes []vg.Length, maxLines int) ([]string, vg.Length) {
	const comfortable = 7
	k := len(sizes)
	for i, s := range sizes {
		if s < comfortable {
			k = i
			break
		}
	}
	out := make([]string, len(texts))
	for _, group := range [][]vg.Length{sizes[:k], sizes[k:]} {
		for _, wrap := range []bool{false, true} {
			for _, s := range group {
				sty := sans(s)
				ok := true
				for i, t := range texts {
					var fits bool
					out[i], fits = fitText(sty, t, width, wrap, maxLines)
					ok = ok && fits
				}
				if ok {
					return out, s
				}
			}
		}
	}
	s := sizes[len(sizes)-1]
	for i, t := range texts {
		out[i], _ = fitText(sans(s), t, width, true, maxLines)
	}
	return out, s
}

// fitText breaks txt into lines no wider than width: its own lines, each
// wrapped (when wrap is set) after '-', '_' or '/' or at a space. It reports
// whether the result fits without cutting; if not, the lines beyond maxLines
// are dropped and over-long lines are cut with "…".
func fitText(sty text.Style, txt string, width vg.Length, wrap bool, maxLines int) (string, bool) {
	hard := strings.Split(txt, "\n")
	maxLines = max(maxLines, len(hard))
	if !wrap {
		maxLines = len(hard)
	}
	fits := true
	var lines []string
	for _, line := range hard {
		if !wrap || sty.Width(line) <= width {
			lines = append(lines, line)
			continue
		}
		cur := ""
		for _, tok := range tokens(line) {
			cand := cur + tok
			if cur == "" || sty.Width(strings.TrimRight(cand, " ")) <= width {
				cur = cand
				continue
			}
			lines = append(lines, strings.TrimRight(cur, " "))
			cur = tok
		}
		lines = append(lines, strings.TrimRight(cur, " "))
	}
	if len(lines) > maxLines {
		fits = false
		lines = lines[:maxLines]
		lines[maxLines-1] += "…"
	}
	for i, line := range lines {
		if sty.Width(line) <= width {
			continue
		}
		fits = false
		r := []rune(strings.TrimSuffix(line, "…"))
		for len(r) > 0 && sty.Width(string(r)+"…") > width {
			r = r[:len(r)-1]
		}
		lines[i] = string(r) + "…"
	}
	return strings.Join(lines, "\n"), fits
}

// tokens splits a line after each '-', '_', '/' and space, keeping the
// separators: "integrated-gradients" → "integrated-", "gradients"; but not
// after a '/' between digits, a fraction ("20/20").
func tokens(line string) []string {
	var out []string
	start := 0
	for i, r := range line {
		if r == '/' && i > 0 && i+1 < len(line) && isDigit(line[i-1]) && isDigit(line[i+1]) {
			continue
		}
		if r == '-' || r == '_' || r == '/' || r == ' ' {
			out = append(out, line[start:i+1])
			start = i + 1
		}
	}
	if start < len(line) {
		out = append(out, line[start:])
	}
	return out
}

// SelectColumns returns a copy of the grid with only the given columns, in
// that order (for example the input and the layers picked by PickColumns,
// so that a grid of a deep model fits a page): their titles, notes and
// cells. The pictures are shared, not copied. It reports an error for a
// column out of range or given twice, or no column.
func (g *Grid) SelectColumns(cols ...int) (*Grid, error) {
	if len(g.Cells) == 0 || len(g.Cells[0]) == 0 {
		return nil, fmt.Errorf("reports: grid has no cells")
	}
	n := len(g.Cells[0])
	if len(cols) == 0 {
		return nil, fmt.Errorf("reports: no columns selected of %d", n)
	}
	seen := map[int]bool{}
	for _, c := range cols {
		if c < 0 || c >= n {
			return nil, fmt.Errorf("reports: column %d selected of %d", c, n)
		}
		if seen[c] {
			return nil, fmt.Errorf("reports: column %d selected twice", c)
		}
		seen[c] = true
	}
	out := *g
	pick := func(s []string) []string {
		if s == nil {
			return nil
		}
		p := make([]string, len(cols))
		for i, c := range cols {
			if c < len(s) {
				p[i] = s[c]
			}
		}
		return p
	}
	out.Columns, out.ColumnNotes = pick(g.Columns), pick(g.ColumnNotes)
	out.Cells = make([][]Cell, len(g.Cells))
	for r, row := range g.Cells {
		if len(row) != n {
			return nil, fmt.Errorf("reports: grid row %d has %d cells, row 0 has %d", r, len(row), n)
		}
		out.Cells[r] = make([]Cell, len(cols))
		for i, c := range cols {
			out.Cells[r][i] = row[c]
		}
	}
	out.Rows = slices.Clone(g.Rows)
	return &out, nil
}

// PickColumns picks at most most of n columns (the layers of a model,
// named by labels), evenly spaced, always the first and the last: indices
// into labels, ascending. When candidate is not nil, only the labels it
// accepts are picked between the first and the last (the outputs of a deep
// model's blocks, say, rather than every convolution): all of them if they
// fit, else evenly spaced among them. With most < 2 it picks the first
// label alone, or nothing of no labels.
//
//	PickColumns(labels, 6, nil) // 16 labels → 0, 3, 6, 9, 12, 15
func PickColumns(labels []string, most int, candidate func(label string) bool) []int {
	n := len(labels)
	if n == 0 || most < 1 {
		return nil
	}
	if most == 1 {
		return []int{0}
	}
	pool := []int{0}
	for i := 1; i < n-1; i++ {
		if candidate == nil || candidate(labels[i]) {
			pool = append(pool, i)
		}
	}
	if n > 1 {
		pool = append(pool, n-1)
	}
	if len(pool) <= most {
		return pool
	}
	out := make([]int, most)
	for k := range most {
		out[k] = pool[int(math.Round(float64(k)*float64(len(pool)-1)/float64(most-1)))]
	}
	return out
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
