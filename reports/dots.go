package reports

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// DotSeries is one group of points of a DotPanel: a value per category
// with its interval. NaN in Mean leaves out the point of a category and its
// whisker; NaN in Lo or Hi leaves out the whisker only.
type DotSeries struct {
	// Name names the series in the legend; series of the same name in
	// different panels are one group (a dataset, a model, …), drawn
	// alike. It may be empty only when every series of the figure has no
	// name.
	Name string

	// Mean holds one value per category.
	Mean []float64

	// Lo and Hi are the interval around Mean (for example a 95%
	// confidence interval), one value each per category; both nil for no
	// whiskers.
	Lo, Hi []float64
}

// DotPanel is one subplot of a Dots figure: categories on the x axis (for
// example methods), one point per series and category, offset side by side
// within a category when there are several series, with a vertical
// whisker from Lo to Hi.
type DotPanel struct {
	// Title is drawn above the panel; empty for none.
	Title string

	// YLabel is the label of the y axis; empty for none.
	YLabel string

	// YMin and YMax are the range of the y axis; both zero for the range
	// of the data and of Reference. Values outside the range are clipped.
	YMin, YMax float64

	// Series are the groups of points of the panel, placed left to right
	// within each category in this order; their names are distinct.
	Series []DotSeries

	// Reference, if not nil, is drawn as a dashed horizontal line across
	// the panel: the score of a random map, for example.
	Reference *float64

	// ReferenceLabel is written small at the right end of the reference
	// line, outside the panel; empty for none. It is wrapped into two lines
	// of at most 0.6 inch, cut with "…" beyond.
	ReferenceLabel string

	// Lines are horizontal reference lines across the panel (a
	// threshold, a tolerance), as on a Curves panel: drawn over the bands
	// and under the points, named in the legend by their Label, their
	// Note right of the panel. They count in the range of the y axis.
	Lines []HLine

	// Bands are horizontal bands across the panel (the interval of a
	// null model, a floor below which a value means nothing), as on a
	// Curves panel: drawn over the shaded categories and under everything
	// else. They count in the range of the y axis.
	Bands []HBand

	// LogY draws the y axis on a log scale, as Panel.LogY does for
	// Curves: labelled at the powers of ten (10⁻⁷ … 10⁻¹), for values
	// that span decades. Values below the floor (zeros and negative
	// values among them, a whisker's low end too) are drawn at the floor,
	// and the axis says so: the tick at the floor reads "≤10⁻⁸". YMin,
	// YMax, Reference and Lines must then be positive; a band's end below
	// the floor is drawn at it.
	LogY bool

	// LogFloor is the floor of a LogY axis; zero for the power of ten at
	// or below the smallest positive value of the panel.
	LogFloor float64
}

// Dots is a categorical dot-and-whisker figure: per-method scores with
// their confidence intervals, such as the localization scores of saliency
// methods (pointing game, energy pointing game, mask AUC), faithfulness
// AUCs or the final similarity of each method. Its panels are side by side
// (or wrapped in rows of at most Columns panels) over the same categories:
//
//	                        Title
//	        Pointing game                    Mask AUC          …
//	1.0 ┤    ┬    ░░░┬░░░           0.8 ┤    ┬    ░░░┬░░░
//	    │    ●    ░░░●░░░               │    ●    ░░░●░░░
//	0.5 ┤╌╌╌╌┼┬╌╌╌░░░┴┬░░╌ random   0.5 ┤╌╌╌╌┴┬╌╌╌░░░┴┬░░╌ random
//	    │    ┴■   ░░░░■░░               │     ■   ░░░░■░░
//	    └───────────────┘               └───────────────┘
//	        ╱       ╱                        ╱       ╱
//	   gradient  gradcam                gradient  gradcam
//	              ● trained   ■ randomized
//
// Each point is a marker on a whisker from Lo to Hi, both of its series'
// colour; the series of a category are side by side, in the order of the
// panel's series, centred on the category. A series keeps its colour and
// marker in every panel: those of a Curves series of the same rank
// (matplotlib's "tab10" colours, ● ■ ▲ ◆ ○ □ ▽). Every other category has
// a light grey background. A dotted line marks y = 0 when it is in range,
// a dashed one the Reference, its label right of the panel. The category
// labels are drawn under every panel, turned by 45° when they do not fit
// side by side; the panels widen with the number of categories and of
// series. A panel may have reference lines and bands (Lines, Bands) and a
// log y axis (LogY), as a Curves panel. A legend below the panels names
// the series, if they have more than one name, then the labelled lines and
// bands. Fonts, sizes, axes and legend are those of Curves.
type Dots struct {
	// Title is drawn above the figure; empty for none.
	Title string

	// Categories name the positions on the x axis, those of every panel
	// (for example the methods); long names are cut with "…".
	Categories []string

	// Panels are the subplots, placed left to right and top to bottom.
	Panels []DotPanel

	// Columns is the largest number of panels in a row; zero puts all the
	// panels in one row.
	Columns int

	// DPI is the resolution of a PNG written by Save or WriterTo. Zero
	// means 150 dots per inch.
	DPI int

	// Palette gives the series their colours and markers; nil for the
	// default (tab10, as Curves). ColorBlind() is for papers.
	Palette *Palette

	// Width is the width of the figure at its natural size, as that of
	// Curves: the reference labels are then 7 points rather than 6.5.
	// Zero lets the panels take their natural width.
	Width vg.Length
}

// The fixed dimensions of a Dots figure, in points.
const (
	dotRadius     = 2.5
	dotWhiskerW   = 1.1 // width of a whisker
	dotCap        = 2   // half-width of a whisker's caps
	minDotSpacing = 8   // between the points of a category, at the natural size
	maxDotSpacing = 11
	dotGroupGap   = 6  // at least between the points of neighbouring categories
	dotSwatchW    = 10 // width of a legend swatch
	refLabelGap   = 3  // between the panel and the reference label
	maxRefLabel   = 0.6 * vg.Inch
	refLabelSize  = 6.5
)

var (
	// shadeColor is the background of every other category.
	shadeColor = color.Gray{Y: 245}
	refStyle   = draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(0.8), Dashes: []vg.Length{4, 2}}
	refText    = color.Gray{Y: 60}
)

// Size returns the natural size of the figure: data areas of 2.4 × 1.8
// inches, wider for many categories or series, and the room the text and
// legend need.
func (d *Dots) Size() (w, h vg.Length, err error) {
	if err := d.check(); err != nil {
		return 0, 0, err
	}
	return d.figure().size()
}

// SmallestFont returns the size, in points, of the smallest text of the
// figure when the figure at its natural size is scaled to width (see
// Curves.SmallestFont).
func (d *Dots) SmallestFont(width vg.Length) (vg.Length, error) {
	if err := d.check(); err != nil {
		return 0, err
	}
	return d.figure().smallestFont(width)
}

// Draw draws the figure on c, on a white background, its data areas
// stretched or shrunk to fill it. It reports an error for invalid Dots or
// a canvas too small for data areas of half an inch.
func (d *Dots) Draw(c draw.Canvas) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.figure().draw(c)
}

// WriterTo draws the figure at its natural size (Size) in a format, "png",
// "svg" or "pdf", and returns it ready to be written.
func (d *Dots) WriterTo(format string) (io.WriterTo, error) {
	r, dpi := d.renderer()
	return renderFigure(r, format, dpi, nil)
}

// Save writes the figure at its natural size to path, in the format its
// extension names: .png (at DPI), .svg or .pdf. The file is written
// atomically (a temporary file in the same folder, renamed over path), the
// same bytes from run to run.
func (d *Dots) Save(path string) error {
	return SaveFigure(d, path)
}

// renderer implements Figure: the figure's layouts, kept for every format.
func (d *Dots) renderer() (figure, int) {
	return &panelRenderer{check: d.check, figure: d.figure}, d.DPI
}

// check validates the figure.
func (d *Dots) check() error {
	n := len(d.Categories)
	if n == 0 {
		return fmt.Errorf("reports: dots have no categories")
	}
	if len(d.Panels) == 0 {
		return fmt.Errorf("reports: dots have no panels")
	}
	if d.Columns < 0 {
		return fmt.Errorf("reports: dots columns %d is negative", d.Columns)
	}
	if d.DPI < 0 {
		return fmt.Errorf("reports: dots DPI %d is negative", d.DPI)
	}
	if d.Width < 0 {
		return fmt.Errorf("reports: dots width %gpt is negative", float64(d.Width))
	}
	if d.Palette != nil {
		if err := d.Palette.check(); err != nil {
			return err
		}
	}
	named := false
	names := map[string]bool{}
	for _, p := range d.Panels {
		for _, s := range p.Series {
			named = named || s.Name != ""
			names[s.Name] = true
		}
	}
	for i, p := range d.Panels {
		name := fmt.Sprintf("dots panel %d", i)
		if p.Title != "" {
			name += fmt.Sprintf(" (%q)", p.Title)
		}
		if len(p.Series) == 0 {
			return fmt.Errorf("reports: %s has no series", name)
		}
		if err := p.scale().check(name, names); err != nil {
			return err
		}
		if p.Reference != nil && (!finite(*p.Reference) || p.LogY && *p.Reference <= 0) {
			return fmt.Errorf("reports: %s has reference %g", name, *p.Reference)
		}
		seen := map[string]bool{}
		for j, s := range p.Series {
			if s.Name == "" && named {
				return fmt.Errorf("reports: %s series %d has no name", name, j)
			}
			if seen[s.Name] {
				return fmt.Errorf("reports: %s has two series %q", name, s.Name)
			}
			seen[s.Name] = true
			sname := fmt.Sprintf("%s series %d", name, j)
			if s.Name != "" {
				sname = fmt.Sprintf("%s series %q", name, s.Name)
			}
			if len(s.Mean) != n {
				return fmt.Errorf("reports: %s has %d means for %d categories", sname, len(s.Mean), n)
			}
			if (s.Lo == nil) != (s.Hi == nil) {
				return fmt.Errorf("reports: %s has only one of Lo and Hi", sname)
			}
			if s.Lo != nil && (len(s.Lo) != n || len(s.Hi) != n) {
				return fmt.Errorf("reports: %s has %d lows and %d highs for %d categories", sname, len(s.Lo), len(s.Hi), n)
			}
			for k, v := range s.Mean {
				if math.IsInf(v, 0) {
					return fmt.Errorf("reports: %s has mean %g at %q", sname, v, d.Categories[k])
				}
			}
			for k := range s.Lo {
				lo, hi := s.Lo[k], s.Hi[k]
				if math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo > hi {
					return fmt.Errorf("reports: %s has interval [%g, %g] at %q", sname, lo, hi, d.Categories[k])
				}
			}
		}
	}
	return nil
}

// styles returns the names of the series in order of first appearance and
// the style of each name.
func (d *Dots) styles() ([]string, map[string]*seriesStyle) {
	styles := map[string]*seriesStyle{}
	var names []string
	for _, p := range d.Panels {
		for _, s := range p.Series {
			if styles[s.Name] == nil {
				styles[s.Name] = d.Palette.style(len(names), dotRadius)
				names = append(names, s.Name)
			}
		}
	}
	return names, styles
}

// figure is the Dots figure as a panelFigure.
func (d *Dots) figure() *panelFigure {
	names, styles := d.styles()
	titles := make([]string, len(d.Panels))
	labels := make([]string, len(d.Panels))  // of the references, fitted
	notes := make([][]string, len(d.Panels)) // of the lines and bands, fitted
	scales := make([]*yScale, len(d.Panels))
	right := make([]vg.Length, len(d.Panels))
	most := 0 // series in a panel
	labelSize := d.refLabelSize()
	var minFont vg.Length
	for i, p := range d.Panels {
		titles[i] = p.Title
		most = max(most, len(p.Series))
		if p.Reference != nil && p.ReferenceLabel != "" {
			sty := refLabelStyle(labelSize)
			labels[i], _ = fitText(sty, oneLine(p.ReferenceLabel), maxRefLabel, true, 2)
			right[i] = refLabelGap + sty.Width(labels[i])
			minFont = labelSize
		}
		scales[i] = p.scale()
		var room vg.Length
		notes[i], room = scales[i].fitNotes()
		right[i] = max(right[i], room)
	}
	legend := names
	if len(names) < 2 {
		legend = nil
	}
	n := len(d.Categories)
	return &panelFigure{
		kind:      "dot",
		title:     d.Title,
		xLabels:   d.Categories,
		titles:    titles,
		columns:   d.Columns,
		names:     legend,
		styles:    styles,
		dotLegend: true,
		refs:      legendRefs(scales, styles),
		minStep:   vg.Length(most-1)*minDotSpacing + 2*dotRadius + dotGroupGap,
		right:     right,
		width:     d.Width,
		minFont:   minFont,
		panel: func(k int, title string, titleSize vg.Length) *plot.Plot {
			return dotPanelPlot(&d.Panels[k], n, title, titleSize, labels[k], labelSize, notes[k], styles)
		},
	}
}

// scale is the y axis of the panel.
func (pn *DotPanel) scale() *yScale {
	return &yScale{yMin: pn.YMin, yMax: pn.YMax, logY: pn.LogY, logFloor: pn.LogFloor, lines: pn.Lines, bands: pn.Bands}
}

// dotPanelPlot is the plot of one panel, without x axis (figureLayout
// draws it): the y axis, the shaded categories, light horizontal grid
// lines, the bands, the zero line, the Reference and the Lines, then the
// whiskers and points, the notes of the lines and bands, and a frame.
// refLabel is the fitted ReferenceLabel, notes the fitted notes
// (yScale.fitNotes).
func dotPanelPlot(pn *DotPanel, n int, title string, titleSize vg.Length, refLabel string, refSize vg.Length, notes []string, styles map[string]*seriesStyle) *plot.Plot {
	p := newPanelPlot(title, titleSize, pn.YLabel)
	scale := pn.scale()
	var values [][]float64
	for _, s := range pn.Series {
		values = append(values, s.Mean, s.Lo, s.Hi)
	}
	if pn.Reference != nil {
		values = append(values, []float64{*pn.Reference})
	}
	ty := scale.axis(p, values)
	lo, hi := scale.yRange(ty, values)
	series := pn.Series
	if pn.LogY {
		series = make([]DotSeries, len(pn.Series))
		for i, s := range pn.Series {
			series[i] = DotSeries{Name: s.Name, Mean: mapped(s.Mean, ty), Lo: mapped(s.Lo, ty), Hi: mapped(s.Hi, ty)}
		}
	}

	p.Add(shades{n})
	p.Add(newGridLines())
	scale.addBands(p, ty, styles)
	if !pn.LogY && lo <= 0 && 0 <= hi && (pn.Reference == nil || *pn.Reference != 0) {
		p.Add(hline{y: 0, style: zeroStyle})
	}
	if pn.Reference != nil {
		p.Add(reference{y: ty(*pn.Reference), label: refLabel, size: refSize})
	}
	scale.addLines(p, ty)
	p.Add(&dots{series: series, styles: styles})
	scale.addNotes(p, ty, notes)
	p.Add(outline{axisStyle})
	setRanges(p, n, lo, hi)
	return p
}

// shades is a plotter shading every other of n categories, from the
// second.
type shades struct{ n int }

// Plot draws the shades; it implements plot.Plotter.
func (s shades) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for i := 1; i < s.n; i += 2 {
		x0, x1 := trX(float64(i)-0.5), trX(float64(i)+0.5)
		c.FillPolygon(shadeColor, []vg.Point{
			{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y},
		})
	}
}

// reference is a plotter drawing a dashed horizontal line across the data
// area and its label, small, right of the data area.
type reference struct {
	y     float64
	label string
	size  vg.Length // of the label
}

// refLabelSize is the font size of the reference labels.
func (d *Dots) refLabelSize() vg.Length {
	if d.Width > 0 {
		return MinPaperFontSize
	}
	return refLabelSize
}

// refLabelStyle is the style of a reference label of a font size, drawn
// right of its anchor and centred on it vertically.
func refLabelStyle(size vg.Length) text.Style {
	sty := sans(size)
	sty.Color = refText
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	return sty
}

// Plot draws the line and label; it implements plot.Plotter.
func (r reference) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	y := trY(r.y)
	if y < c.Min.Y || y > c.Max.Y {
		return
	}
	c.StrokeLine2(refStyle, c.Min.X, y, c.Max.X, y)
	if r.label != "" {
		c.FillText(refLabelStyle(r.size), vg.Point{X: c.Max.X + refLabelGap, Y: y}, r.label)
	}
}

// dots is a plotter drawing the points of a panel's series with their
// whiskers: all whiskers, then all points.
type dots struct {
	series []DotSeries
	styles map[string]*seriesStyle
}

// dotSpacing is the distance between the points of a category of k series
// when a category is step wide: as close as minDotSpacing and at most
// maxDotSpacing, leaving dotGroupGap between categories if it can.
func dotSpacing(k int, step vg.Length) vg.Length {
	if k < 2 {
		return 0
	}
	return max(0, min(maxDotSpacing, (step-2*dotRadius-dotGroupGap)/vg.Length(k-1)))
}

// Plot draws the whiskers and the points; it implements plot.Plotter.
func (ds *dots) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	k := len(ds.series)
	spacing := dotSpacing(k, trX(1)-trX(0))
	xOf := func(j, i int) vg.Length {
		return trX(float64(i)) + (vg.Length(j)-vg.Length(k-1)/2)*spacing
	}
	for j, s := range ds.series {
		st := ds.styles[s.Name]
		for i := range s.Lo {
			lo, hi := s.Lo[i], s.Hi[i]
			if math.IsNaN(s.Mean[i]) || math.IsNaN(lo) || math.IsNaN(hi) {
				continue
			}
			drawWhisker(c, st, xOf(j, i), trY(lo), trY(hi))
		}
	}
	for j, s := range ds.series {
		st := ds.styles[s.Name]
		for i, v := range s.Mean {
			if !math.IsNaN(v) {
				c.DrawGlyph(st.glyph, vg.Point{X: xOf(j, i), Y: trY(v)})
			}
		}
	}
}

// drawWhisker draws a vertical whisker at x from lo to hi, clipped to c,
// with a short cap at each end within c.
func drawWhisker(c draw.Canvas, st *seriesStyle, x, lo, hi vg.Length) {
	line := draw.LineStyle{Color: st.line.Color, Width: dotWhiskerW}
	c.StrokeLines(line, c.ClipLinesY([]vg.Point{{X: x, Y: lo}, {X: x, Y: hi}})...)
	for _, y := range []vg.Length{lo, hi} {
		if c.ContainsY(y) {
			c.StrokeLine2(line, x-dotCap, y, x+dotCap, y)
		}
	}
}

// drawDot draws a point at pt on a whisker from lo to hi, as in a legend.
func drawDot(c draw.Canvas, st *seriesStyle, pt vg.Point, lo, hi vg.Length) {
	drawWhisker(c, st, pt.X, lo, hi)
	c.DrawGlyph(st.glyph, pt)
}
