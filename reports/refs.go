package reports

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HLine is a horizontal reference line across a panel of Curves or Dots:
// a threshold (a verdict's 0.5), a tolerance (1% on a log axis). It is
// drawn over the bands and under the series, dashed and dark grey unless
// told otherwise.
type HLine struct {
	// Y is the height of the line, in the panel's units.
	Y float64

	// Label names the line in the figure's legend; empty for none. Lines
	// and bands of the same label and look in several panels are one
	// entry.
	Label string

	// Note is written small right of the panel, level with the line (an
	// annotation instead of, or beside, a legend entry: "0.5", "1%"); it
	// wraps into two lines of at most 0.6 inch. Empty for none.
	Note string

	// Color is the colour of the line; nil for dark grey.
	Color color.Color

	// Solid draws a solid line; otherwise Dashes, or 4-point dashes if
	// Dashes is nil.
	Solid  bool
	Dashes []vg.Length
}

// HBand is a horizontal band across a panel of Curves or Dots, from Lo to
// Hi: the interval of a null model (the similarity a random map reaches),
// a floor below which a value means nothing. It is drawn under everything
// else (over the shaded categories of Dots).
type HBand struct {
	// Lo and Hi are the bottom and top of the band, Lo ≤ Hi.
	Lo, Hi float64

	// Label names the band in the figure's legend; empty for none. Bands
	// of the same label and look in several panels are one entry.
	Label string

	// Note is written small right of the panel, level with the middle
	// of the band, as an HLine's; empty for none.
	Note string

	// Series, when set, is the name of a series of the figure whose null
	// floor this is: the band takes the series' colour, lighter than its
	// confidence band and edged with dotted lines. Empty for a grey band.
	Series string

	// Color is the colour of a band without Series, drawn translucent;
	// nil for grey.
	Color color.Color
}

var (
	// bandGrey is the colour of a grey HBand: black at 12% opacity.
	bandGrey  = color.NRGBA{0, 0, 0, 0x1f}
	noteColor = color.Gray{Y: 70}
)

const (
	noteSize    = 7   // points
	seriesBandA = 0.1 // opacity of a series' HBand
	hBandA      = 0.2 // opacity of an HBand of a given Color
)

// lineStyle is the look of the line.
func (l *HLine) lineStyle() draw.LineStyle {
	st := refStyle
	if l.Color != nil {
		st.Color = l.Color
	}
	switch {
	case l.Solid:
		st.Dashes = nil
	case l.Dashes != nil:
		st.Dashes = l.Dashes
	}
	return st
}

// looks returns the fill of the band and the style of its edges (no
// Color for none) given the styles of the figure's series.
func (b *HBand) looks(styles map[string]*seriesStyle) (fill color.Color, edge draw.LineStyle) {
	switch {
	case b.Series != "":
		c := styles[b.Series].line.Color.(color.NRGBA)
		edge = draw.LineStyle{Color: c, Width: 0.6, Dashes: []vg.Length{1, 1.5}}
		c.A = uint8(math.Round(seriesBandA * float64(c.A)))
		return c, edge
	case b.Color != nil:
		c := color.NRGBAModel.Convert(b.Color).(color.NRGBA)
		c.A = uint8(math.Round(hBandA * float64(c.A)))
		return c, edge
	}
	return bandGrey, edge
}

// yScale is what the panels of Curves and Dots share about their y axis:
// its range, its log scale, and the reference lines and bands across it.
type yScale struct {
	yMin, yMax float64
	logY       bool
	logFloor   float64
	lines      []HLine
	bands      []HBand
}

// scale is the y axis of the panel.
func (pn *Panel) scale() *yScale {
	return &yScale{yMin: pn.YMin, yMax: pn.YMax, logY: pn.LogY, logFloor: pn.LogFloor, lines: pn.Lines, bands: pn.Bands}
}

// check validates the y axis of a panel named name: its range, its log
// floor, its lines and its bands, whose Series must be among the names of
// the figure's series.
func (s *yScale) check(name string, series map[string]bool) error {
	if s.yMin != 0 || s.yMax != 0 {
		if !finite(s.yMin) || !finite(s.yMax) || s.yMin >= s.yMax || s.logY && s.yMin <= 0 {
			return fmt.Errorf("reports: %s has y range [%g, %g]", name, s.yMin, s.yMax)
		}
	}
	if !finite(s.logFloor) || s.logFloor < 0 || s.logFloor != 0 && !s.logY {
		return fmt.Errorf("reports: %s has log floor %g", name, s.logFloor)
	}
	for i, l := range s.lines {
		if !finite(l.Y) || s.logY && l.Y <= 0 {
			return fmt.Errorf("reports: %s line %d is at %g", name, i, l.Y)
		}
		for _, d := range l.Dashes {
			if !(d > 0) {
				return fmt.Errorf("reports: %s line %d has dashes %v; lengths must be positive", name, i, l.Dashes)
			}
		}
	}
	for i, b := range s.bands {
		if !finite(b.Lo) || !finite(b.Hi) || b.Lo > b.Hi {
			return fmt.Errorf("reports: %s band %d is [%g, %g]", name, i, b.Lo, b.Hi)
		}
		if b.Series != "" && !series[b.Series] {
			return fmt.Errorf("reports: %s band %d is of series %q, which the figure lacks", name, i, b.Series)
		}
	}
	return nil
}

// axis sets the ticks of p's y axis and returns the transform of the
// panel's values to the axis: the identity, or on a log scale log10
// clamped at the floor of values (the panel's own, untransformed) and of
// the lines and bands, with logTicks labelled by supText.
func (s *yScale) axis(p *plot.Plot, values [][]float64) func(float64) float64 {
	if !s.logY {
		return func(v float64) float64 { return v }
	}
	log := s.logAxis(values)
	p.Y.Tick.Marker = logTicks{floor: math.Log10(log.floor), clamped: log.clamped > 0}
	p.Y.Tick.Label.Handler = supText{text.Plain{Fonts: font.DefaultCache}}
	return log.transform()
}

// yRange is the range of the y axis before padding, in the units of the
// axis (after ty, the transform axis returned): that of YMin and YMax, or
// of values (untransformed, as given to axis) and the lines and bands.
func (s *yScale) yRange(ty func(float64) float64, values [][]float64) (lo, hi float64) {
	yMin, yMax := s.yMin, s.yMax
	if s.logY && (yMin != 0 || yMax != 0) {
		yMin, yMax = ty(yMin), ty(yMax)
	}
	var all [][]float64
	for _, vs := range values {
		all = append(all, mapped(vs, ty))
	}
	for _, l := range s.lines {
		all = append(all, []float64{ty(l.Y)})
	}
	for _, b := range s.bands {
		all = append(all, []float64{ty(b.Lo), ty(b.Hi)})
	}
	return yRange(yMin, yMax, all...)
}

// addBands adds a plotter of the bands to p, if there are any.
func (s *yScale) addBands(p *plot.Plot, ty func(float64) float64, styles map[string]*seriesStyle) {
	if len(s.bands) > 0 {
		p.Add(refBands{bands: s.bands, ty: ty, styles: styles})
	}
}

// addLines adds a plotter of the lines to p, if there are any.
func (s *yScale) addLines(p *plot.Plot, ty func(float64) float64) {
	if len(s.lines) > 0 {
		p.Add(refLines{lines: s.lines, ty: ty})
	}
}

// addNotes adds a plotter of the notes of the bands and lines to p, if
// there are lines or bands; notes are those fitNotes returns.
func (s *yScale) addNotes(p *plot.Plot, ty func(float64) float64, notes []string) {
	if len(s.lines)+len(s.bands) > 0 {
		p.Add(refNotes{lines: s.lines, bands: s.bands, notes: notes, ty: ty})
	}
}

// legendRefs are the legend entries of the labelled lines and bands of
// panels' scales, in order of first appearance, one per label and look.
func legendRefs(scales []*yScale, styles map[string]*seriesStyle) []legendRef {
	var refs []legendRef
	seen := map[string]bool{}
	add := func(r legendRef) {
		if !seen[r.key()] {
			seen[r.key()] = true
			refs = append(refs, r)
		}
	}
	for _, s := range scales {
		for _, b := range s.bands {
			if b.Label != "" {
				fill, edge := b.looks(styles)
				add(legendRef{label: b.Label, fill: fill, edge: edge})
			}
		}
		for _, l := range s.lines {
			if l.Label != "" {
				st := l.lineStyle()
				add(legendRef{label: l.Label, line: &st})
			}
		}
	}
	return refs
}

// refLines is a plotter drawing a panel's lines and their notes.
type refLines struct {
	lines []HLine
	ty    func(float64) float64 // the panel's y transform
}

// Plot draws the lines; it implements plot.Plotter.
func (r refLines) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	for _, l := range r.lines {
		y := trY(r.ty(l.Y))
		if y < c.Min.Y || y > c.Max.Y {
			continue
		}
		c.StrokeLine2(l.lineStyle(), c.Min.X, y, c.Max.X, y)
	}
}

// refNotes is a plotter writing the notes of a panel's lines and bands
// right of its data area (in the room panelFigure.right keeps), each
// centred on its line or band; notes holds the fitted notes of the bands,
// then of the lines ("" for none).
type refNotes struct {
	lines []HLine
	bands []HBand
	notes []string
	ty    func(float64) float64
}

// Plot writes the notes; it implements plot.Plotter.
func (r refNotes) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	sty := noteStyle()
	for i, b := range r.bands {
		lo, hi := max(trY(r.ty(b.Lo)), c.Min.Y), min(trY(r.ty(b.Hi)), c.Max.Y)
		if r.notes[i] != "" && lo <= hi {
			c.FillText(sty, vg.Point{X: c.Max.X + refLabelGap, Y: (lo + hi) / 2}, r.notes[i])
		}
	}
	for i, l := range r.lines {
		y := trY(r.ty(l.Y))
		if n := r.notes[len(r.bands)+i]; n != "" && y >= c.Min.Y && y <= c.Max.Y {
			c.FillText(sty, vg.Point{X: c.Max.X + refLabelGap, Y: y}, n)
		}
	}
}

// fitNotes returns the notes of a panel's bands, then of its lines,
// fitted as a Dots reference label is (two lines of at most 0.6 inch),
// and the room they need right of the data area.
func (s *yScale) fitNotes() ([]string, vg.Length) {
	var notes []string
	var room vg.Length
	sty := noteStyle()
	add := func(note string) {
		if note == "" {
			notes = append(notes, "")
			return
		}
		t, _ := fitText(sty, oneLine(note), maxRefLabel, true, 2)
		notes = append(notes, t)
		room = max(room, refLabelGap+sty.Width(t))
	}
	for _, b := range s.bands {
		add(b.Note)
	}
	for _, l := range s.lines {
		add(l.Note)
	}
	return notes, room
}

// refBands is a plotter drawing a panel's bands and their notes.
type refBands struct {
	bands  []HBand
	ty     func(float64) float64
	styles map[string]*seriesStyle
}

// Plot draws the bands; it implements plot.Plotter.
func (r refBands) Plot(c draw.Canvas, p *plot.Plot) {
	_, trY := p.Transforms(&c)
	for _, b := range r.bands {
		lo := max(trY(r.ty(b.Lo)), c.Min.Y)
		hi := min(trY(r.ty(b.Hi)), c.Max.Y)
		if lo > hi {
			continue
		}
		fill, edge := b.looks(r.styles)
		if hi-lo < 0.75 { // a band of one value: a thin bar
			lo, hi = (lo+hi)/2-0.375, (lo+hi)/2+0.375
		}
		c.FillPolygon(fill, []vg.Point{{X: c.Min.X, Y: lo}, {X: c.Max.X, Y: lo}, {X: c.Max.X, Y: hi}, {X: c.Min.X, Y: hi}})
		if edge.Color != nil {
			c.StrokeLine2(edge, c.Min.X, lo, c.Max.X, lo)
			c.StrokeLine2(edge, c.Min.X, hi, c.Max.X, hi)
		}
	}
}

// noteStyle is the style of a note right of a panel: left-aligned,
// centred vertically.
func noteStyle() text.Style {
	sty := sans(noteSize)
	sty.Color = noteColor
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	return sty
}

// legendRef is an entry of a legend for a reference line or band: a band
// swatch (fill, with edges if edge has a colour) and a line swatch, either
// optional.
type legendRef struct {
	label string
	fill  color.Color
	edge  draw.LineStyle
	line  *draw.LineStyle
}

// key identifies entries drawn alike under one label.
func (r legendRef) key() string {
	s := fmt.Sprintf("%s|%v|%v", r.label, r.fill, r.edge)
	if r.line != nil {
		s += fmt.Sprintf("|%v", *r.line)
	}
	return s
}

// logAxis is the y axis of a panel with LogY: values are drawn at their
// decimal logarithm, those below floor (zeros, negative values) at floor.
type logAxis struct {
	floor   float64
	clamped int // finite values below floor in the panel
}

// transform returns the y transform of the axis: log10, clamped at the
// floor; NaN stays NaN.
func (a *logAxis) transform() func(float64) float64 {
	lf := math.Log10(a.floor)
	return func(v float64) float64 {
		if math.IsNaN(v) {
			return v
		}
		if v <= a.floor {
			return lf
		}
		return math.Log10(v)
	}
}

// logAxis is the log axis of a panel whose values (its own, such as
// those of its series) are values: its floor is LogFloor, or the power of
// ten at or below the smallest positive value of the panel (values, lines
// and bands); 1 if there is none.
func (s *yScale) logAxis(values [][]float64) *logAxis {
	a := &logAxis{floor: s.logFloor}
	var all []float64
	for _, vs := range values {
		all = append(all, vs...)
	}
	for _, l := range s.lines {
		all = append(all, l.Y)
	}
	for _, b := range s.bands {
		all = append(all, b.Lo, b.Hi)
	}
	if a.floor == 0 {
		least := math.Inf(1)
		for _, v := range all {
			if v > 0 {
				least = min(least, v)
			}
		}
		a.floor = 1
		if !math.IsInf(least, 1) {
			a.floor = math.Pow(10, math.Floor(math.Log10(least)+1e-9))
		}
	}
	for _, v := range all {
		if !math.IsNaN(v) && v < a.floor {
			a.clamped++
		}
	}
	return a
}

// logTicks are the ticks of a log axis whose values are decimal
// logarithms: a labelled tick at each power of ten (every second, third, …
// one labelled when there are more than eight), minor ticks at 2…9 times
// each power when the axis spans at most five decades, and labelled ticks
// at 2 and 5 times each power when it spans less than two. When values
// were clamped, the tick at the floor reads "≤10⁻⁸" (the floor), and the
// labels too close above it are left out.
type logTicks struct {
	floor   float64 // log10 of the floor
	clamped bool
}

// Ticks returns the ticks between lo and hi (logarithms); it implements
// plot.Ticker.
func (lt logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return nil
	}
	k0, k1 := int(math.Ceil(lo-1e-9)), int(math.Floor(hi+1e-9))
	every := max(1, (k1-k0+1+7)/8)
	var ticks []plot.Tick
	for k := int(math.Floor(lo)); k <= k1; k++ {
		if k >= k0 {
			t := plot.Tick{Value: float64(k)}
			if (k-k0)%every == 0 {
				t.Label = powerLabel(math.Pow(10, float64(k)))
			}
			ticks = append(ticks, t)
		}
		if hi-lo > 5 {
			continue
		}
		for j := 2; j <= 9; j++ {
			v := float64(k) + math.Log10(float64(j))
			if v < lo-1e-9 || v > hi+1e-9 {
				continue
			}
			t := plot.Tick{Value: v}
			if hi-lo < 2 && (j == 2 || j == 5) {
				t.Label = powerLabel(float64(j) * math.Pow(10, float64(k)))
			}
			ticks = append(ticks, t)
		}
	}
	if !lt.clamped {
		return ticks
	}
	// The floor's tick says that lower values are drawn there.
	gap := (hi - lo) / 12 // about a label's height
	out := []plot.Tick{{Value: lt.floor, Label: "≤" + powerLabel(math.Pow(10, lt.floor))}}
	for _, t := range ticks {
		if math.Abs(t.Value-lt.floor) < 1e-9 {
			continue
		}
		if t.Label != "" && t.Value-lt.floor < gap {
			t.Label = ""
		}
		out = append(out, t)
	}
	return out
}

// powerLabel writes a positive v for a log axis: a power of ten as
// "10^−7" (supText draws the exponent raised), or "1" or "10"; another
// value between 0.001 and 10000 in %.3g ("0.02", "500"), and beyond as
// "5×10^−9".
func powerLabel(v float64) string {
	k := math.Floor(math.Log10(v) + 1e-9)
	m := v / math.Pow(10, k)
	if math.Abs(m-1) < 1e-9 {
		switch k {
		case 0:
			return "1"
		case 1:
			return "10"
		}
		return "10^" + minusSign(strconv.Itoa(int(k)))
	}
	if v >= 1e-3 && v < 1e4 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(m, 'g', 3, 64) + "×10^" + minusSign(strconv.Itoa(int(k)))
}

// minusSign writes the minus of a number as U+2212.
func minusSign(s string) string { return strings.Replace(s, "-", "\u2212", 1) }

// supText is a text handler drawing what follows a '^' in a line as a
// superscript (smaller and raised), and any other text as text.Plain; the
// fonts lack a superscript minus. Rotated text is drawn plain, without the
// '^'.
type supText struct{ text.Plain }

const (
	supScale = 0.72 // of the font size
	supRise  = 0.38 // of the font size
)

// split returns the text before and after the '^' of a line.
func (supText) split(line string) (base, sup string) {
	base, sup, _ = strings.Cut(line, "^")
	return base, sup
}

// Box returns the bounding box of a line; it implements text.Handler.
func (h supText) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	base, sup := h.split(txt)
	width, height, depth = h.Plain.Box(base, fnt)
	if sup != "" {
		small := fnt
		small.Size *= supScale
		w, _, _ := h.Plain.Box(sup, small)
		width += w
	}
	return width, height, depth
}

// Draw draws the text; it implements text.Handler.
func (h supText) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	txt = strings.TrimRight(txt, "\n")
	if !strings.Contains(txt, "^") {
		h.Plain.Draw(c, txt, sty, pt)
		return
	}
	if sty.Rotation != 0 || strings.Contains(txt, "\n") {
		h.Plain.Draw(c, strings.ReplaceAll(txt, "^", ""), sty, pt)
		return
	}
	base, sup := h.split(txt)
	fnt := h.Fonts.Lookup(sty.Font, sty.Font.Size)
	small := sty.Font
	small.Size *= supScale
	sfnt := h.Fonts.Lookup(small, small.Size)
	c.SetColor(sty.Color)
	w, _, _ := h.Box(txt, sty.Font)
	// As text.Plain places a line.
	y := pt.Y + sty.Height(txt)*vg.Length(sty.YAlign) - fnt.Extents().Ascent + sty.Font.Size
	x := pt.X + vg.Length(sty.XAlign)*w
	c.FillString(fnt, vg.Point{X: x, Y: y}, base)
	c.FillString(sfnt, vg.Point{X: x + fnt.Width(base), Y: y + supRise*sty.Font.Size}, sup)
}
