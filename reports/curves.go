package reports

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a Panel: a method's mean metric at each step (each
// x label of the figure) with an interval around it, drawn as a band.
// NaN marks a missing value: the line, or the band, has a gap there.
type Series struct {
	// Name names the series in the legend; series of the same name in
	// different panels are one method, drawn alike.
	Name string

	// Mean holds one value per x label.
	Mean []float64

	// Lo and Hi are the interval around Mean (for example a 95%
	// confidence interval), one value each per x label; both nil for no
	// band.
	Lo, Hi []float64
}

// Panel is one subplot of a Curves figure: one metric of every method.
type Panel struct {
	// Title is drawn above the panel; empty for none.
	Title string

	// YLabel is the label of the y axis; empty for none.
	YLabel string

	// YMin and YMax are the range of the y axis; both zero for the range
	// of the data. Values outside the range are clipped.
	YMin, YMax float64

	// Series are the lines of the panel, drawn in order (the last on
	// top); their names are distinct.
	Series []Series

	// Lines are horizontal reference lines across the panel (a
	// threshold, a tolerance), drawn dashed over the bands and under the
	// series; they count in the range of the y axis.
	Lines []HLine

	// Bands are horizontal bands across the panel (the interval of a
	// null model, possibly one per series), drawn under everything
	// else; they count in the range of the y axis.
	Bands []HBand

	// LogY draws the y axis on a log scale, labelled at the powers of
	// ten (10⁻⁷ … 10⁻¹), for values that span decades. Values below
	// the floor (zeros and negative values among them) are drawn at the
	// floor, and the axis says so: the tick at the floor reads "≤10⁻⁸".
	// YMin, YMax, Lines and Bands must then be positive.
	LogY bool

	// LogFloor is the floor of a LogY axis; zero for the power of ten at
	// or below the smallest positive value of the panel.
	LogFloor float64
}

// Curves is a figure of panels side by side (or wrapped in rows of at most
// Columns panels) over the same steps: a metric against the layers
// randomized, for example, as in Adebayo et al., "Sanity checks for
// saliency maps" (2018), Fig. 4:
//
//	                         Title
//	  rank correlation            SSIM               …
//	 1 ┤●━━●━━●╌╌◆             1 ┤●━━●
//	   │  ░░▓▓▓▓░░░              │ ░░▓▓▓▓
//	 0 ┤·········●━━●          0 ┤·······
//	    ╱   ╱   ╱   ╱              ╱   ╱
//	original fc1 conv2 conv1   original …
//	                layers randomized
//	     ● gradient   ■ integrated-gradients   ▲ smoothgrad
//
// Each series is a line with a marker at each point and a translucent band
// of its colour between Lo and Hi. A series keeps its colour, marker and
// dashes in every panel: the ten colours of matplotlib's "tab10" cycle,
// seven markers (● ■ ▲ ◆ ○ □ ▽) cycle too, and from the eleventh series on
// the lines are dashed; or those of a Palette. One legend below the panels names the series. A
// dotted line marks y = 0 when it is in range. The x labels are drawn under
// every panel, turned by 45° when they do not fit side by side, and the
// panels widen with the number of labels (13 points per turned label).
// Text has the font and sizes of a Grid.
type Curves struct {
	// Title is drawn above the figure; empty for none.
	Title string

	// XLabels name the steps, the points of every series (for example
	// "original", "logits", "fc1", …); long labels are cut with "…".
	XLabels []string

	// XTitle is drawn under the x labels of each panel; empty for none.
	XTitle string

	// Panels are the subplots, placed left to right and top to bottom.
	Panels []Panel

	// Columns is the largest number of panels in a row; zero puts all the
	// panels in one row.
	Columns int

	// DPI is the resolution of a PNG written by Save or WriterTo. Zero
	// means 150 dots per inch.
	DPI int

	// Palette gives the series their colours, dashes and markers; nil
	// for the default (tab10). ColorBlind() is for papers.
	Palette *Palette

	// Dodge spreads the series of a panel side by side within each x
	// step, over this fraction of a step (0 ≤ Dodge < 1; 0.2 suits most
	// figures), so that series with the same values show every marker
	// rather than the last one drawn; the lines and bands move with their
	// markers. Zero draws every series at the middle of its step.
	Dodge float64

	// Width is the width of the figure at its natural size (Size, Save),
	// for a figure printed at that width in a paper: PaperColumnWidth or
	// PaperTextWidth. The data areas are as wide as fit (an error if less
	// than half an inch) and at most 1.8 inches high, 0.75 of their width
	// down to 1.2 inches, and no text is smaller than MinPaperFontSize.
	// Zero lets the panels take 2.4 × 1.8 inches, or more for many x
	// labels. Use Columns to stack the panels of a narrow figure.
	Width vg.Length
}

// The fixed dimensions of a Curves figure, in points.
const (
	curvesDataW  = 2.4 * vg.Inch // least width of a panel's data area
	curvesDataH  = 1.8 * vg.Inch // height of a panel's data area
	minCurveData = vg.Inch / 2   // least side of a data area in Draw

	turnedStep    = 13 // points per x label when labels are turned
	xTickLength   = 3
	xLabelGap     = 2 // between a tick and its label
	xTitleGap     = 4 // between the x labels and the x title
	maxXLabel     = 1.5 * vg.Inch
	panelPadX     = 16 // between two panels, beyond their axes
	panelPadY     = 14
	legendGap     = 12 // between the panels and the legend
	swatchW       = 22
	swatchH       = 8
	swatchPad     = 4  // between a swatch and its name
	legendColGap  = 14 // between two columns of the legend
	legendRowGap  = 4
	maxLegendName = 2.5 * vg.Inch

	bandAlpha = 0.2 // opacity of the bands
)

var (
	// curveTitleSizes are the font sizes tried for panel titles.
	curveTitleSizes = []vg.Length{9, 8.5, 8, 7.5, 7, 6.5, 6}

	// tab10 is matplotlib's default colour cycle.
	tab10 = []color.NRGBA{
		{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
		{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
		{0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff},
		{0x17, 0xbe, 0xcf, 0xff},
	}
	// markers cycle with a period prime to that of the colours: ● ■ ▲ ◆
	// ○ □ ▽.
	markers = []marker{
		{shape: circle}, {shape: square}, {shape: triangleUp}, {shape: diamond},
		{shape: circle, open: true}, {shape: square, open: true}, {shape: triangleDown, open: true},
	}
	// dashes are those of series 0–9, 10–19, …
	dashes = [][]vg.Length{nil, {4, 2}, {1.5, 1.5}, {5, 2, 1.5, 2}}

	axisStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}
	gridStyle = draw.LineStyle{Color: color.Gray{Y: 225}, Width: vg.Points(0.4)}
	zeroStyle = draw.LineStyle{Color: color.Gray{Y: 80}, Width: vg.Points(0.6), Dashes: []vg.Length{1, 2}}
)

// seriesStyle is the look of a series.
type seriesStyle struct {
	line    draw.LineStyle
	glyph   draw.GlyphStyle
	band    color.NRGBA // translucent
	hasBand bool        // some panel draws a band for the series
	rank    int         // of the series in the figure
}

// styleOf is the style of the i-th series of a figure.
func styleOf(i int, radius vg.Length) *seriesStyle {
	c := tab10[i%len(tab10)]
	band := c
	band.A = uint8(math.Round(bandAlpha * 255))
	return &seriesStyle{
		line:  draw.LineStyle{Color: c, Width: vg.Points(1.1), Dashes: dashes[(i/len(tab10))%len(dashes)]},
		glyph: draw.GlyphStyle{Color: c, Radius: radius, Shape: markers[i%len(markers)]},
		band:  band,
	}
}

// styles returns the names of the series in order of first appearance and
// the style of each name.
func (c *Curves) styles() ([]string, map[string]*seriesStyle) {
	radius := vg.Length(2.2)
	if len(c.XLabels) > 20 {
		radius = 1.7
	}
	styles := map[string]*seriesStyle{}
	var names []string
	for _, p := range c.Panels {
		for _, s := range p.Series {
			st := styles[s.Name]
			if st == nil {
				st = c.Palette.style(len(names), radius)
				st.rank = len(names)
				styles[s.Name] = st
				names = append(names, s.Name)
			}
			st.hasBand = st.hasBand || s.Lo != nil
		}
	}
	return names, styles
}

// Size returns the natural size of the figure: data areas of 2.4 × 1.8
// inches, wider for many x labels, and the room the text and legend need.
func (c *Curves) Size() (w, h vg.Length, err error) {
	if err := c.check(); err != nil {
		return 0, 0, err
	}
	return c.figure().size()
}

// SmallestFont returns the size, in points, of the smallest text of the
// figure (labels, ticks, legend, notes) when the figure at its natural
// size is scaled to width, as a paper's \includegraphics[width=…] does.
// Text of at least MinPaperFontSize is legible in print; the exponents
// of a log axis are drawn at 72% of their labels. Width makes the natural
// size the printed one, so that SmallestFont(c.Width) is at least
// MinPaperFontSize.
func (c *Curves) SmallestFont(width vg.Length) (vg.Length, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	return c.figure().smallestFont(width)
}

// Draw draws the figure on dc, on a white background, its data areas
// stretched or shrunk to fill it. It reports an error for invalid Curves
// or a canvas too small for data areas of half an inch.
func (c *Curves) Draw(dc draw.Canvas) error {
	if err := c.check(); err != nil {
		return err
	}
	return c.figure().draw(dc)
}

// WriterTo draws the figure at its natural size (Size) in a format, "png",
// "svg" or "pdf", and returns it ready to be written.
func (c *Curves) WriterTo(format string) (io.WriterTo, error) {
	r, dpi := c.renderer()
	return renderFigure(r, format, dpi, nil)
}

// Save writes the figure at its natural size to path, in the format its
// extension names: .png (at DPI), .svg or .pdf. The file is written
// atomically (a temporary file in the same folder, renamed over path).
func (c *Curves) Save(path string) error {
	return SaveFigure(c, path)
}

// renderer implements Figure: the figure's layouts, kept for every format.
func (c *Curves) renderer() (figure, int) {
	return &panelRenderer{check: c.check, figure: c.figure}, c.DPI
}

// check validates the figure.
func (c *Curves) check() error {
	if len(c.Panels) == 0 {
		return fmt.Errorf("reports: curves have no panels")
	}
	n := len(c.XLabels)
	if n == 0 {
		return fmt.Errorf("reports: curves have no x labels")
	}
	if c.Columns < 0 {
		return fmt.Errorf("reports: curves columns %d is negative", c.Columns)
	}
	if c.DPI < 0 {
		return fmt.Errorf("reports: curves DPI %d is negative", c.DPI)
	}
	if c.Width < 0 {
		return fmt.Errorf("reports: curves width %gpt is negative", float64(c.Width))
	}
	if !(c.Dodge >= 0 && c.Dodge < 1) {
		return fmt.Errorf("reports: curves dodge %g is not in [0, 1)", c.Dodge)
	}
	if c.Palette != nil {
		if err := c.Palette.check(); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	for _, p := range c.Panels {
		for _, s := range p.Series {
			names[s.Name] = true
		}
	}
	for i, p := range c.Panels {
		name := fmt.Sprintf("curves panel %d", i)
		if p.Title != "" {
			name += fmt.Sprintf(" (%q)", p.Title)
		}
		if len(p.Series) == 0 {
			return fmt.Errorf("reports: %s has no series", name)
		}
		if err := p.scale().check(name, names); err != nil {
			return err
		}
		seen := map[string]bool{}
		for j, s := range p.Series {
			if s.Name == "" {
				return fmt.Errorf("reports: %s series %d has no name", name, j)
			}
			if seen[s.Name] {
				return fmt.Errorf("reports: %s has two series %q", name, s.Name)
			}
			seen[s.Name] = true
			sname := fmt.Sprintf("%s series %q", name, s.Name)
			if len(s.Mean) != n {
				return fmt.Errorf("reports: %s has %d means for %d x labels", sname, len(s.Mean), n)
			}
			if (s.Lo == nil) != (s.Hi == nil) {
				return fmt.Errorf("reports: %s has only one of Lo and Hi", sname)
			}
			if s.Lo != nil && (len(s.Lo) != n || len(s.Hi) != n) {
				return fmt.Errorf("reports: %s has %d lows and %d highs for %d x labels", sname, len(s.Lo), len(s.Hi), n)
			}
			for k, v := range s.Mean {
				if math.IsInf(v, 0) {
					return fmt.Errorf("reports: %s has mean %g at %q", sname, v, c.XLabels[k])
				}
			}
			for k := range s.Lo {
				lo, hi := s.Lo[k], s.Hi[k]
				if math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo > hi {
					return fmt.Errorf("reports: %s has interval [%g, %g] at %q", sname, lo, hi, c.XLabels[k])
				}
			}
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// figure is the Curves figure as a panelFigure.
func (c *Curves) figure() *panelFigure {
	names, styles := c.styles()
	titles := make([]string, len(c.Panels))
	for i, p := range c.Panels {
		titles[i] = p.Title
	}
	n := len(c.XLabels)
	// The offset of each series within a step.
	var dx map[string]float64
	if c.Dodge > 0 && len(names) > 1 {
		dx = map[string]float64{}
		for _, name := range names {
			dx[name] = c.Dodge * (float64(styles[name].rank)/float64(len(names)-1) - 0.5)
		}
	}
	// The notes of the references, right of the panels.
	notes := make([][]string, len(c.Panels))
	scales := make([]*yScale, len(c.Panels))
	var right []vg.Length
	for k := range c.Panels {
		var room vg.Length
		scales[k] = c.Panels[k].scale()
		notes[k], room = scales[k].fitNotes()
		if room > 0 && right == nil {
			right = make([]vg.Length, len(c.Panels))
		}
		if right != nil {
			right[k] = room
		}
	}
	return &panelFigure{
		kind:    "curve",
		title:   c.Title,
		xLabels: c.XLabels,
		xTitle:  c.XTitle,
		titles:  titles,
		columns: c.Columns,
		names:   names,
		styles:  styles,
		refs:    legendRefs(scales, styles),
		right:   right,
		width:   c.Width,
		panel: func(k int, title string, titleSize vg.Length) *plot.Plot {
			return panelPlot(&c.Panels[k], n, title, titleSize, styles, dx, notes[k])
		},
	}
}

// naturalDataW is the width of a data area of the figure at its natural
// size.
func (c *Curves) naturalDataW() vg.Length { return c.figure().naturalDataW() }

// layout lays the figure out for data areas of dataW×dataH.
func (c *Curves) layout(dataW, dataH vg.Length) *figureLayout {
	return c.figure().layout(dataW, dataH)
}

// panelFigure is what Curves and Dots have in common: a title, panels in
// rows of at most columns over the same x labels (drawn under every
// panel), and one legend below the panels.
type panelFigure struct {
	kind    string // of the panels, in errors: "curve", "dot"
	title   string
	xLabels []string
	xTitle  string
	titles  []string // of the panels; one per panel
	columns int      // zero: all in one row

	// names are the entries of the legend, styles their looks; no names,
	// no legend. dotLegend draws each entry as a marker on a whisker
	// rather than as a line.
	names     []string
	styles    map[string]*seriesStyle
	dotLegend bool

	// refs are the legend's entries for reference lines and bands, after
	// the names.
	refs []legendRef

	// minStep is the least width of an x label's step at the natural
	// size.
	minStep vg.Length

	// right, if not nil, holds the room each panel needs right of its
	// data area beyond its plot's (for text its plotters draw there).
	right []vg.Length

	// panel builds the plot of the k-th panel, without x axis, its title
	// (fitted, maybe "") at titleSize.
	panel func(k int, title string, titleSize vg.Length) *plot.Plot

	// width, if not zero, is the width of the figure at its natural size,
	// which then has no text below MinPaperFontSize.
	width vg.Length

	// minFont is the size of the smallest text the panels draw beyond
	// those figureLayout knows of (Dots' reference labels); 0 for none.
	minFont vg.Length

	// layouts are those made, by the size of the data areas: the natural
	// size and the drawings on canvases of any format lay the figure out
	// once for each size they try.
	layouts map[[2]vg.Length]*figureLayout
}

// paperDataH is the height of the data areas of a figure laid out at a
// given Width, for data areas dataW wide.
func paperDataH(dataW vg.Length) vg.Length {
	return min(curvesDataH, max(0.75*dataW, 1.2*vg.Inch))
}

// sizes returns sizes (largest first), but for a figure laid out at a
// given width only those of at least MinPaperFontSize (atLeast).
func (f *panelFigure) sizes(sizes []vg.Length) []vg.Length {
	if f.width == 0 {
		return sizes
	}
	return atLeast(sizes, MinPaperFontSize)
}

// atLeast returns those of sizes (largest first) at least least, or the
// largest alone if none is.
func atLeast(sizes []vg.Length, least vg.Length) []vg.Length {
	var out []vg.Length
	for _, s := range sizes {
		if s >= least {
			out = append(out, s)
		}
	}
	if out == nil {
		return sizes[:1]
	}
	return out
}

// natural returns the layout of the figure at its natural size: data areas
// of curvesDataH and naturalDataW, or as wide as width allows.
func (f *panelFigure) natural() (*figureLayout, error) {
	if f.width == 0 {
		return f.layout(f.naturalDataW(), curvesDataH), nil
	}
	dw := f.naturalDataW()
	var l *figureLayout
	for range 6 {
		l = f.layout(dw, paperDataH(dw))
		nw := (f.width - (l.w - vg.Length(l.cols)*dw)) / vg.Length(l.cols)
		if nw == dw {
			break
		}
		dw = nw
	}
	l = f.layout(dw, paperDataH(dw))
	const slack = 1e-6
	if dw < minCurveData || l.w > f.width+slack {
		return nil, fmt.Errorf("reports: %d %s panels in rows of %d do not fit in a width of %.3g inches", len(f.titles), f.kind, l.cols, f.width/vg.Inch)
	}
	return l, nil
}

// smallestFont returns the size of the smallest text of the figure at its
// natural size scaled to width.
func (f *panelFigure) smallestFont(width vg.Length) (vg.Length, error) {
	l, err := f.natural()
	if err != nil {
		return 0, err
	}
	least := l.minFont
	if f.minFont > 0 {
		least = min(least, f.minFont)
	}
	return least * width / l.w, nil
}

// size returns the natural size of the figure.
func (f *panelFigure) size() (w, h vg.Length, err error) {
	l, err := f.natural()
	if err != nil {
		return 0, 0, err
	}
	return l.w, l.h, nil
}

// draw draws the figure on dc, on a white background, its data areas
// stretched or shrunk to fill it. It reports an error for a canvas too
// small for data areas of half an inch.
func (f *panelFigure) draw(dc draw.Canvas) error {
	size := dc.Size()
	dw, dh := f.naturalDataW(), vg.Length(curvesDataH)
	if f.width > 0 {
		// Start from the natural size, which a canvas often has.
		if nl, err := f.natural(); err == nil {
			dw, dh = nl.dataW, nl.dataH
		}
	}
	var l *figureLayout
	for range 4 {
		l = f.layout(dw, dh)
		nw := (size.X - (l.w - vg.Length(l.cols)*dw)) / vg.Length(l.cols)
		nh := (size.Y - (l.h - vg.Length(l.rows)*dh)) / vg.Length(l.rows)
		if nw == dw && nh == dh {
			break
		}
		dw, dh = nw, nh
	}
	l = f.layout(dw, dh)
	const slack = 1e-6
	if dw < minCurveData || dh < minCurveData || l.w > size.X+slack || l.h > size.Y+slack {
		return fmt.Errorf("reports: %d %s panels do not fit on a %.3g×%.3g inch canvas", len(f.titles), f.kind, size.X/vg.Inch, size.Y/vg.Inch)
	}
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	fig := draw.Crop(dc, (size.X-l.w)/2, -(size.X-l.w)/2, (size.Y-l.h)/2, -(size.Y-l.h)/2)
	fig = draw.Crop(fig, gridMargin, -gridMargin, gridMargin, -gridMargin)
	l.draw(fig)
	return nil
}

// naturalDataW is the width of a data area at the natural size: at least
// curvesDataW, and room for each x label side by side or turned, whichever
// is narrower, and at least minStep.
func (f *panelFigure) naturalDataW() vg.Length {
	sty := sans(7)
	var w vg.Length
	for _, s := range f.xLabels {
		t, _ := fitText(sty, oneLine(s), maxXLabel, false, 1)
		w = max(w, sty.Width(t))
	}
	return max(curvesDataW, vg.Length(len(f.xLabels))*max(min(w+4, turnedStep), f.minStep))
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// figureLayout is a panelFigure laid out for one size of data area.
type figureLayout struct {
	rows, cols   int
	dataW, dataH vg.Length

	title      string
	titleStyle text.Style
	titleH     vg.Length

	plots      [][]*plot.Plot // nil after the last panel
	insets     [][][4]vg.Length
	colL, colR []vg.Length // room left and right of the data areas of a column
	rowT, rowB []vg.Length // above and below the data areas of a row
	panelsW    vg.Length
	panelsH    vg.Length

	xLabels     []string // fitted; "" where thinned out
	xStyle      text.Style
	xBoxes      []vg.Rectangle // of each label around its anchor
	xLabelsH    vg.Length      // of the turned or straight labels
	xTitle      string
	xTitleStyle text.Style

	legend    legendLayout
	hasLegend bool

	minFont vg.Length // the smallest text drawn

	w, h vg.Length
}

// layout builds the panels for data areas of dataW×dataH and measures the
// figure, once for each size.
func (f *panelFigure) layout(dataW, dataH vg.Length) *figureLayout {
	key := [2]vg.Length{dataW, dataH}
	if l, ok := f.layouts[key]; ok {
		return l
	}
	l := f.newLayout(dataW, dataH)
	if f.layouts == nil {
		f.layouts = map[[2]vg.Length]*figureLayout{}
	}
	f.layouts[key] = l
	return l
}

// newLayout is layout, made anew.
func (f *panelFigure) newLayout(dataW, dataH vg.Length) *figureLayout {
	n := len(f.xLabels)
	l := &figureLayout{dataW: dataW, dataH: dataH}
	l.cols = len(f.titles)
	if f.columns > 0 {
		l.cols = min(f.columns, len(f.titles))
	}
	l.rows = (len(f.titles) + l.cols - 1) / l.cols

	// The x labels: side by side if each fits its step, else turned by
	// 45°, every k-th label if turned labels would overlap.
	step := dataW / vg.Length(n)
	l.xStyle = sans(7)
	l.xLabels = make([]string, n)
	var widest vg.Length
	for i, s := range f.xLabels {
		l.xLabels[i], _ = fitText(l.xStyle, oneLine(s), maxXLabel, false, 1)
		widest = max(widest, l.xStyle.Width(l.xLabels[i]))
	}
	if widest+4 > step {
		l.xStyle.Rotation = math.Pi / 4
		l.xStyle.XAlign, l.xStyle.YAlign = draw.XRight, draw.YCenter
		if k := int(math.Ceil(float64(turnedStep/step) - 1e-9)); k > 1 {
			for i := range l.xLabels {
				if i%k != 0 {
					l.xLabels[i] = ""
				}
			}
		}
	}
	l.xBoxes = make([]vg.Rectangle, n)
	var overL, overR vg.Length // label overhang beyond the data area
	for i, s := range l.xLabels {
		if s == "" {
			continue
		}
		r := l.xStyle.Rectangle(s)
		l.xBoxes[i] = r
		x := (vg.Length(i) + 0.5) * step
		overL = max(overL, -(x + r.Min.X))
		overR = max(overR, x+r.Max.X-dataW)
		l.xLabelsH = max(l.xLabelsH, r.Max.Y-r.Min.Y)
	}
	// The y tick labels, 7 points.
	l.minFont = 7
	below := xTickLength + xLabelGap + l.xLabelsH
	if f.xTitle != "" {
		l.xTitle = oneLine(f.xTitle)
		l.xTitleStyle = sans(8)
		below += xTitleGap + l.xTitleStyle.Height(l.xTitle)
		// A title wider than the data area overhangs it too.
		overL = max(overL, (l.xTitleStyle.Width(l.xTitle)-dataW)/2)
		overR = max(overR, (l.xTitleStyle.Width(l.xTitle)-dataW)/2)
	}

	// The panels, their titles fitted to the data width and given the
	// same number of lines in a row.
	titles, titleSize := fitTexts(f.titles, dataW, f.sizes(curveTitleSizes), 2)
	if slices.ContainsFunc(titles, func(t string) bool { return t != "" }) {
		l.minFont = min(l.minFont, titleSize)
	}
	l.plots = make([][]*plot.Plot, l.rows)
	l.insets = make([][][4]vg.Length, l.rows)
	for r := range l.rows {
		l.plots[r] = make([]*plot.Plot, l.cols)
		l.insets[r] = make([][4]vg.Length, l.cols)
		lines := 0
		for k := r * l.cols; k < min((r+1)*l.cols, len(f.titles)); k++ {
			if titles[k] != "" {
				lines = max(lines, strings.Count(titles[k], "\n")+1)
			}
		}
		for col := range l.cols {
			k := r*l.cols + col
			if k >= len(f.titles) {
				continue
			}
			t := titles[k]
			switch {
			case lines > 0 && t == "":
				t = strings.Repeat("\n", lines-1) + " "
			case lines > 0:
				t = strings.Repeat("\n", lines-1-strings.Count(t, "\n")) + t
			}
			p := f.panel(k, t, titleSize)
			l.plots[r][col] = p
			l.insets[r][col] = plotInsets(p, dataW, dataH)
		}
	}
	l.colL, l.colR = make([]vg.Length, l.cols), make([]vg.Length, l.cols)
	l.rowT, l.rowB = make([]vg.Length, l.rows), make([]vg.Length, l.rows)
	for r := range l.rows {
		for col := range l.cols {
			if l.plots[r][col] == nil {
				continue
			}
			in := l.insets[r][col]
			right := in[1]
			if f.right != nil {
				right = max(right, f.right[r*l.cols+col])
			}
			l.colL[col] = max(l.colL[col], in[0], overL)
			l.colR[col] = max(l.colR[col], right, overR)
			l.rowB[r] = max(l.rowB[r], in[2]+below)
			l.rowT[r] = max(l.rowT[r], in[3])
		}
	}
	for col := range l.cols {
		l.panelsW += l.colL[col] + dataW + l.colR[col]
	}
	for r := range l.rows {
		l.panelsH += l.rowT[r] + dataH + l.rowB[r]
	}
	l.panelsW += vg.Length(l.cols-1) * panelPadX
	l.panelsH += vg.Length(l.rows-1) * panelPadY

	// The legend, in as many columns as fit under the panels.
	contentW := l.panelsW
	if len(f.names)+len(f.refs) > 0 {
		l.legend = newLegend(f.names, f.styles, f.refs, l.panelsW, f.dotLegend)
		l.hasLegend = true
		contentW = max(contentW, l.legend.w)
	}

	if f.title != "" {
		ts, size := fitTexts([]string{f.title}, contentW, titleSizes, 2)
		l.title, l.titleStyle = ts[0], sans(size)
		l.minFont = min(l.minFont, size)
		l.titleH = l.titleStyle.Height(l.title) + titleGap
	}
	l.w = contentW + 2*gridMargin
	if l.hasLegend {
		l.h = l.titleH + l.panelsH + legendGap + l.legend.h + 2*gridMargin
	} else {
		l.h = l.titleH + l.panelsH + 2*gridMargin
	}
	return l
}

// plotInsets returns the room a plot takes left, right, below and above
// its data area when that area is w×h.
func plotInsets(p *plot.Plot, w, h vg.Length) [4]vg.Length {
	in := [4]vg.Length{40, 4, 4, 20}
	for range 5 {
		c := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: in[0] + w + in[1], Y: in[2] + h + in[3]}}}
		d := p.DataCanvas(c)
		next := [4]vg.Length{d.Min.X - c.Min.X, c.Max.X - d.Max.X, d.Min.Y - c.Min.Y, c.Max.Y - d.Max.Y}
		if next == in {
			break
		}
		in = next
	}
	return in
}

// panelPlot is the plot of one panel, without x axis (figureLayout draws
// it): the y axis, light horizontal grid lines, the reference bands, the
// series' bands, the zero line, the reference lines, then the series'
// lines and markers, the notes of the references (fitted, right of the
// data area), and a frame. dx holds the offset of each series within its
// step (nil for none).
func panelPlot(pn *Panel, n int, title string, titleSize vg.Length, styles map[string]*seriesStyle, dx map[string]float64, notes []string) *plot.Plot {
	p := newPanelPlot(title, titleSize, pn.YLabel)
	scale := pn.scale()
	var values [][]float64
	for _, s := range pn.Series {
		values = append(values, s.Mean, s.Lo, s.Hi)
	}
	ty := scale.axis(p, values)
	series := pn.Series
	if pn.LogY {
		series = make([]Series, len(pn.Series))
		for i, s := range pn.Series {
			series[i] = Series{Name: s.Name, Mean: mapped(s.Mean, ty), Lo: mapped(s.Lo, ty), Hi: mapped(s.Hi, ty)}
		}
	}
	lo, hi := scale.yRange(ty, values)

	p.Add(newGridLines())
	scale.addBands(p, ty, styles)
	for _, s := range series {
		if s.Lo != nil {
			p.Add(&curve{s: s, style: styles[s.Name], band: true, dx: dx[s.Name]})
		}
	}
	if !pn.LogY && lo <= 0 && 0 <= hi {
		p.Add(hline{y: 0, style: zeroStyle})
	}
	scale.addLines(p, ty)
	for _, s := range series {
		p.Add(&curve{s: s, style: styles[s.Name], dx: dx[s.Name]})
	}
	scale.addNotes(p, ty, notes)
	p.Add(outline{axisStyle})
	setRanges(p, n, lo, hi)
	return p
}

// mapped returns f of each value, nil for nil.
func mapped(vs []float64, f func(float64) float64) []float64 {
	if vs == nil {
		return nil
	}
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = f(v)
	}
	return out
}

// newPanelPlot is an empty panel without x axis: its title (if any), its
// y axis with niceTicks and its label (if any).
func newPanelPlot(title string, titleSize vg.Length, yLabel string) *plot.Plot {
	p := plot.New()
	p.BackgroundColor = nil
	if title != "" {
		p.Title.Text = title
		p.Title.TextStyle = sans(titleSize)
		p.Title.Padding = 5
	}
	p.HideX()
	p.X.Padding = 0
	p.Y.Padding = 0
	p.Y.Width = 0
	p.Y.Tick.Length = 3
	p.Y.Tick.LineStyle = axisStyle
	p.Y.Tick.Label = sans(7)
	p.Y.Tick.Label.XAlign, p.Y.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.Y.Tick.Marker = niceTicks{}
	if yLabel != "" {
		p.Y.Label.Text = oneLine(yLabel)
		p.Y.Label.TextStyle = sans(8)
		p.Y.Label.TextStyle.YAlign = draw.YBottom
		p.Y.Label.Padding = 4
	}
	return p
}

// yRange is the range of a panel's y axis before padding: [yMin, yMax]
// unless both are zero, else the range of the values but NaN, widened to
// one unit if it is a point, [0, 1] if there are no values.
func yRange(yMin, yMax float64, values ...[]float64) (lo, hi float64) {
	if yMin != 0 || yMax != 0 {
		return yMin, yMax
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, vs := range values {
		for _, v := range vs {
			if !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	switch {
	case lo > hi:
		lo, hi = 0, 1
	case lo == hi:
		lo, hi = lo-0.5, hi+0.5
	}
	return lo, hi
}

// newGridLines are light horizontal lines at the y ticks.
func newGridLines() *plotter.Grid {
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal = gridStyle
	return grid
}

// setRanges sets the x range of a panel to n steps, one unit apart from 0,
// and its y range to [lo, hi] padded by 4% on each side.
func setRanges(p *plot.Plot, n int, lo, hi float64) {
	pad := 0.04 * (hi - lo)
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
}

// draw draws the laid-out figure on c, the figure's size less its margins.
func (l *figureLayout) draw(c draw.Canvas) {
	top := c.Max.Y
	contentW := c.Max.X - c.Min.X
	if l.title != "" {
		c.FillText(l.titleStyle, vg.Point{X: c.Min.X + contentW/2, Y: top}, l.title)
		top -= l.titleH
	}

	x0 := c.Min.X + (contentW-l.panelsW)/2
	y := top
	for r := range l.rows {
		y -= l.rowT[r]
		x := x0
		for col := range l.cols {
			x += l.colL[col]
			if p := l.plots[r][col]; p != nil {
				data := vg.Rectangle{Min: vg.Point{X: x, Y: y - l.dataH}, Max: vg.Point{X: x + l.dataW, Y: y}}
				in := l.insets[r][col]
				p.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
					Min: vg.Point{X: data.Min.X - in[0], Y: data.Min.Y - in[2]},
					Max: vg.Point{X: data.Max.X + in[1], Y: data.Max.Y + in[3]},
				}})
				l.drawXAxis(c, data)
			}
			x += l.dataW + l.colR[col] + panelPadX
		}
		y -= l.dataH + l.rowB[r] + panelPadY
	}

	if l.hasLegend {
		l.legend.draw(c, vg.Point{X: c.Min.X + contentW/2, Y: top - l.panelsH - legendGap})
	}
}

// drawXAxis draws the ticks, labels and title of the x axis under a data
// area.
func (l *figureLayout) drawXAxis(c draw.Canvas, data vg.Rectangle) {
	n := len(l.xLabels)
	step := l.dataW / vg.Length(n)
	y := data.Min.Y
	for i := range n {
		x := data.Min.X + (vg.Length(i)+0.5)*step
		c.StrokeLine2(axisStyle, x, y, x, y-xTickLength)
	}
	y -= xTickLength + xLabelGap
	for i, s := range l.xLabels {
		if s == "" {
			continue
		}
		x := data.Min.X + (vg.Length(i)+0.5)*step
		c.FillText(l.xStyle, vg.Point{X: x, Y: y - l.xBoxes[i].Max.Y}, s)
	}
	if l.xTitle != "" {
		y -= l.xLabelsH + xTitleGap
		c.FillText(l.xTitleStyle, vg.Point{X: (data.Min.X + data.Max.X) / 2, Y: y}, l.xTitle)
	}
}

// curve is a plotter drawing a series: its band, or its line and markers.
type curve struct {
	s     Series
	style *seriesStyle
	band  bool
	dx    float64 // offset within a step, in steps
}

// Plot draws the band, or the line and markers; it implements
// plot.Plotter.
func (cv *curve) Plot(c draw.Canvas, p *plot.Plot) {
	trX0, trY := p.Transforms(&c)
	trX := func(x float64) vg.Length { return trX0(x + cv.dx) }
	n := len(cv.s.Mean)
	if cv.band {
		for i := 0; i < n; {
			j := i
			for j < n && !math.IsNaN(cv.s.Lo[j]) && !math.IsNaN(cv.s.Hi[j]) {
				j++
			}
			switch {
			case j-i == 1: // an isolated interval: a bar
				x := trX(float64(i))
				bar := draw.LineStyle{Color: cv.style.band, Width: 3}
				c.StrokeLines(bar, c.ClipLinesXY([]vg.Point{{X: x, Y: trY(cv.s.Lo[i])}, {X: x, Y: trY(cv.s.Hi[i])}})...)
			case j-i > 1:
				var pts []vg.Point
				for k := i; k < j; k++ {
					pts = append(pts, vg.Point{X: trX(float64(k)), Y: trY(cv.s.Hi[k])})
				}
				for k := j - 1; k >= i; k-- {
					pts = append(pts, vg.Point{X: trX(float64(k)), Y: trY(cv.s.Lo[k])})
				}
				c.FillPolygon(cv.style.band, c.ClipPolygonXY(pts))
			}
			i = j + 1
		}
		return
	}
	var line []vg.Point
	flush := func() {
		if len(line) > 1 {
			c.StrokeLines(cv.style.line, c.ClipLinesXY(line)...)
		}
		line = line[:0]
	}
	for i, v := range cv.s.Mean {
		if math.IsNaN(v) {
			flush()
			continue
		}
		line = append(line, vg.Point{X: trX(float64(i)), Y: trY(v)})
	}
	flush()
	for i, v := range cv.s.Mean {
		if !math.IsNaN(v) {
			c.DrawGlyph(cv.style.glyph, vg.Point{X: trX(float64(i)), Y: trY(v)})
		}
	}
}

// hline is a plotter drawing a horizontal line across the data area.
type hline struct {
	y     float64
	style draw.LineStyle
}

// Plot draws the line; it implements plot.Plotter.
func (h hline) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(h.y)
	if y < c.Min.Y || y > c.Max.Y {
		return
	}
	c.StrokeLine2(h.style, c.Min.X, y, c.Max.X, y)
}

// niceTicks are four to eight ticks at multiples of 1, 2, 2.5 or 5 times
// a power of ten (so 0 is a tick when in range), labelled with as many
// decimals as the step needs and a minus sign for negative values.
type niceTicks struct{}

// Ticks returns the ticks between lo and hi; it implements plot.Ticker.
func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return nil
	}
	mag := math.Pow(10, math.Floor(math.Log10((hi-lo)/4)))
	var step float64
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		step = m * mag
		if (hi-lo)/step <= 7 {
			break
		}
	}
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if math.Abs(step/math.Pow(10, -float64(decimals))-math.Round(step/math.Pow(10, -float64(decimals)))) > 1e-9 {
		decimals++ // 2.5, 0.25, …
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+1e-9*step; k++ {
		v := k * step
		label := strconv.FormatFloat(v, 'f', decimals, 64)
		if k == 0 {
			v, label = 0, strconv.FormatFloat(0, 'f', decimals, 64)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strings.Replace(label, "-", "\u2212", 1)})
	}
	return ticks
}

// The shapes of a marker.
const (
	circle = iota
	square
	triangleUp
	diamond
	triangleDown
	plus  // two strokes, +
	cross // two strokes, ×
)

// marker is a glyph: a filled shape, or an open one (filled white, with a
// coloured outline).
type marker struct {
	shape int
	open  bool
}

// DrawGlyph draws the marker; it implements draw.GlyphDrawer.
func (m marker) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	if m.shape == plus || m.shape == cross {
		r *= 1.2
		ls := draw.LineStyle{Color: sty.Color, Width: 1.3}
		if m.shape == plus {
			c.StrokeLine2(ls, pt.X-r, pt.Y, pt.X+r, pt.Y)
			c.StrokeLine2(ls, pt.X, pt.Y-r, pt.X, pt.Y+r)
			return
		}
		r *= 0.8
		c.StrokeLine2(ls, pt.X-r, pt.Y-r, pt.X+r, pt.Y+r)
		c.StrokeLine2(ls, pt.X-r, pt.Y+r, pt.X+r, pt.Y-r)
		return
	}
	var p vg.Path
	switch m.shape {
	case circle:
		p.Move(vg.Point{X: pt.X + r, Y: pt.Y})
		p.Arc(pt, r, 0, 2*math.Pi)
	case square:
		r *= 0.9 // as heavy as the circle
		p.Move(vg.Point{X: pt.X - r, Y: pt.Y - r})
		p.Line(vg.Point{X: pt.X + r, Y: pt.Y - r})
		p.Line(vg.Point{X: pt.X + r, Y: pt.Y + r})
		p.Line(vg.Point{X: pt.X - r, Y: pt.Y + r})
	case triangleUp, triangleDown:
		r *= 1.25
		s := vg.Length(1)
		if m.shape == triangleDown {
			s = -1
		}
		p.Move(vg.Point{X: pt.X, Y: pt.Y + s*r})
		p.Line(vg.Point{X: pt.X - r*0.866, Y: pt.Y - s*r/2})
		p.Line(vg.Point{X: pt.X + r*0.866, Y: pt.Y - s*r/2})
	case diamond:
		r *= 1.25
		p.Move(vg.Point{X: pt.X, Y: pt.Y + r})
		p.Line(vg.Point{X: pt.X - r*0.75, Y: pt.Y})
		p.Line(vg.Point{X: pt.X, Y: pt.Y - r})
		p.Line(vg.Point{X: pt.X + r*0.75, Y: pt.Y})
	}
	p.Close()
	if !m.open {
		c.Fill(p)
		return
	}
	c.SetColor(color.White)
	c.Fill(p)
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: 0.9})
	c.Stroke(p)
}

// legendLayout is the legend of a Curves or Dots figure: one entry per
// series name, row by row, each a swatch (a line, or for dots a marker on
// a whisker) and the name.
type legendLayout struct {
	names      []string // fitted; the series, then the references
	styles     []*seriesStyle
	refs       []legendRef // of the entries after the series
	dots       bool
	swatchW    vg.Length
	textStyle  text.Style
	cols, rows int
	colX       []vg.Length // left edge of each column
	rowH       vg.Length
	w, h       vg.Length
}

// newLegend lays the entries out in rows, in as many columns as fit in
// width (at least one), the rows balanced, each column as wide as its
// widest entry: the series, then the reference lines and bands.
func newLegend(names []string, styles map[string]*seriesStyle, refs []legendRef, width vg.Length, dots bool) legendLayout {
	lg := legendLayout{textStyle: sans(8), dots: dots, swatchW: swatchW}
	if dots && len(refs) == 0 {
		// Narrow, unless beside the swatches of references, whose names
		// then line up with the series'.
		lg.swatchW = dotSwatchW
	}
	lg.textStyle.XAlign, lg.textStyle.YAlign = draw.XLeft, draw.YCenter
	var entryW []vg.Length
	for _, name := range names {
		t, _ := fitText(lg.textStyle, oneLine(name), maxLegendName, false, 1)
		lg.names = append(lg.names, t)
		lg.styles = append(lg.styles, styles[name])
		entryW = append(entryW, lg.swatchW+swatchPad+lg.textStyle.Width(t))
	}
	for _, r := range refs {
		t, _ := fitText(lg.textStyle, oneLine(r.label), maxLegendName, false, 1)
		lg.names = append(lg.names, t)
		lg.refs = append(lg.refs, r)
		entryW = append(entryW, swatchW+swatchPad+lg.textStyle.Width(t))
	}
	n := len(lg.names)
	// columns returns the left edges of about cols columns and their
	// total width.
	columns := func(cols int) ([]vg.Length, vg.Length) {
		rows := (n + cols - 1) / cols
		cols = (n + rows - 1) / rows
		xs := make([]vg.Length, cols)
		var x vg.Length
		for col := range cols {
			xs[col] = x
			var w vg.Length
			for i := col; i < n; i += cols {
				w = max(w, entryW[i])
			}
			x += w + legendColGap
		}
		return xs, x - legendColGap
	}
	lg.colX, lg.w = columns(1)
	for cols := n; cols > 1; cols-- {
		if xs, w := columns(cols); w <= width {
			lg.colX, lg.w = xs, w
			break
		}
	}
	lg.cols = len(lg.colX)
	lg.rows = (n + lg.cols - 1) / lg.cols
	lg.rowH = max(swatchH, lg.textStyle.Height("Mg")) + legendRowGap
	lg.h = vg.Length(lg.rows)*lg.rowH - legendRowGap
	return lg
}

// draw draws the legend with the middle of its top edge at top.
func (lg *legendLayout) draw(c draw.Canvas, top vg.Point) {
	for i, name := range lg.names {
		r, col := i/lg.cols, i%lg.cols
		x := top.X - lg.w/2 + lg.colX[col]
		y := top.Y - vg.Length(r)*lg.rowH - (lg.rowH-legendRowGap)/2
		if i >= len(lg.styles) {
			lg.drawRef(c, lg.refs[i-len(lg.styles)], x, y)
			c.FillText(lg.textStyle, vg.Point{X: x + swatchW + swatchPad, Y: y}, name)
			continue
		}
		st := lg.styles[i]
		if lg.dots {
			drawDot(c, st, vg.Point{X: x + lg.swatchW/2, Y: y}, y-swatchH/2-1, y+swatchH/2+1)
			c.FillText(lg.textStyle, vg.Point{X: x + lg.swatchW + swatchPad, Y: y}, name)
			continue
		}
		if st.hasBand {
			c.FillPolygon(st.band, []vg.Point{
				{X: x, Y: y - swatchH/2}, {X: x + swatchW, Y: y - swatchH/2},
				{X: x + swatchW, Y: y + swatchH/2}, {X: x, Y: y + swatchH/2},
			})
		}
		c.StrokeLine2(st.line, x, y, x+swatchW, y)
		c.DrawGlyph(st.glyph, vg.Point{X: x + swatchW/2, Y: y})
		c.FillText(lg.textStyle, vg.Point{X: x + swatchW + swatchPad, Y: y}, name)
	}
}

// drawRef draws the swatch of a reference line or band with its left edge
// at x, centred on y.
func (lg *legendLayout) drawRef(c draw.Canvas, r legendRef, x, y vg.Length) {
	if r.fill != nil {
		lo, hi := y-swatchH/2, y+swatchH/2
		c.FillPolygon(r.fill, []vg.Point{{X: x, Y: lo}, {X: x + swatchW, Y: lo}, {X: x + swatchW, Y: hi}, {X: x, Y: hi}})
		if r.edge.Color != nil {
			c.StrokeLine2(r.edge, x, lo, x+swatchW, lo)
			c.StrokeLine2(r.edge, x, hi, x+swatchW, hi)
		}
	}
	if r.line != nil {
		c.StrokeLine2(*r.line, x, y, x+swatchW, y)
	}
}
