package reports

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Palette is how the series of a Curves or Dots figure are told apart: a
// colour, a dash pattern (for the lines of Curves) and a marker each. The
// three cycle independently: the i-th series (in order of first
// appearance) has Colors[i%len(Colors)], Dashes[i%len(Dashes)] and
// Markers[i%len(Markers)]. When the three lengths are pairwise coprime, as
// in ColorBlind and TolMuted, every series up to the product of the
// lengths has its own combination, and two series among the first
// min(a·b) (a, b two of the lengths) differ in at least two of the three:
// two lines drawn on top of each other still show two markers and two
// dash patterns.
//
// A nil *Palette is the figures' default look: matplotlib's "tab10"
// colours, seven markers, and dashes from the eleventh series on.
type Palette struct {
	// Colors are the colours of the lines, markers, whiskers and bands
	// (bands at 20% opacity); at least one.
	Colors []color.Color

	// Dashes are the dash patterns of the lines of Curves, in points
	// (on, off, …); nil or empty for solid lines only, a nil entry for a
	// solid line. Dots ignore them.
	Dashes [][]vg.Length

	// Markers are the shapes drawn at each point; at least one.
	Markers []MarkerShape
}

// MarkerShape is the shape of a marker: filled, or open (white inside, a
// coloured outline), or two strokes (plus, cross), which hide nothing of
// what is under them.
type MarkerShape int

// The marker shapes.
const (
	MarkerCircle MarkerShape = iota
	MarkerSquare
	MarkerTriangleUp
	MarkerDiamond
	MarkerTriangleDown
	MarkerOpenCircle
	MarkerOpenSquare
	MarkerOpenTriangleUp
	MarkerOpenDiamond
	MarkerOpenTriangleDown
	MarkerPlus
	MarkerCross
	numMarkerShapes
)

// ColorBlind returns a palette for any reader: the colours of Okabe and
// Ito (2008), told apart under every common colour vision deficiency, but
// their yellow, too pale on white (orange, sky blue, bluish green, blue,
// vermillion, reddish purple, black); eight markers (● ■ ▲ ◆ ▼ ○ □ ×); and
// three line patterns (solid, dashed, dotted). The lengths, 7, 8 and 3, are
// pairwise coprime: up to 168 series each look different, and any two of
// the first 21 differ in at least two of colour, marker and dashes.
func ColorBlind() *Palette {
	return &Palette{
		Colors: []color.Color{
			color.NRGBA{0xe6, 0x9f, 0x00, 0xff}, color.NRGBA{0x56, 0xb4, 0xe9, 0xff}, color.NRGBA{0x00, 0x9e, 0x73, 0xff},
			color.NRGBA{0x00, 0x72, 0xb2, 0xff}, color.NRGBA{0xd5, 0x5e, 0x00, 0xff}, color.NRGBA{0xcc, 0x79, 0xa7, 0xff},
			color.NRGBA{0x00, 0x00, 0x00, 0xff},
		},
		Markers: []MarkerShape{MarkerCircle, MarkerSquare, MarkerTriangleUp, MarkerDiamond, MarkerTriangleDown,
			MarkerOpenCircle, MarkerOpenSquare, MarkerCross},
		Dashes: [][]vg.Length{nil, {4, 2}, {1.2, 1.6}},
	}
}

// TolMuted returns Paul Tol's "muted" qualitative scheme (2021), nine
// colours for colour-blind readers when more series need their own
// colour (rose, indigo, sand, green, cyan, wine, teal, olive, purple);
// seven markers (● ■ ▲ ◆ ▼ ○ □) and four line patterns (solid, dashed,
// dotted, dash-dotted). The lengths 9, 7 and 4 are pairwise coprime: up
// to 252 series each look different, and any two of the first 28 differ
// in at least two of colour, marker and dashes.
func TolMuted() *Palette {
	return &Palette{
		Colors: []color.Color{
			color.NRGBA{0xcc, 0x66, 0x77, 0xff}, color.NRGBA{0x33, 0x22, 0x88, 0xff}, color.NRGBA{0xdd, 0xcc, 0x77, 0xff},
			color.NRGBA{0x11, 0x77, 0x33, 0xff}, color.NRGBA{0x88, 0xcc, 0xee, 0xff}, color.NRGBA{0x88, 0x22, 0x55, 0xff},
			color.NRGBA{0x44, 0xaa, 0x99, 0xff}, color.NRGBA{0x99, 0x99, 0x33, 0xff}, color.NRGBA{0xaa, 0x44, 0x99, 0xff},
		},
		Markers: []MarkerShape{MarkerCircle, MarkerSquare, MarkerTriangleUp, MarkerDiamond, MarkerTriangleDown,
			MarkerOpenCircle, MarkerOpenSquare},
		Dashes: [][]vg.Length{nil, {4, 2}, {1.2, 1.6}, {5, 2, 1.2, 2}},
	}
}

// check validates the palette.
func (p *Palette) check() error {
	if len(p.Colors) == 0 {
		return fmt.Errorf("reports: palette has no colours")
	}
	if len(p.Markers) == 0 {
		return fmt.Errorf("reports: palette has no markers")
	}
	for i, c := range p.Colors {
		if c == nil {
			return fmt.Errorf("reports: palette colour %d is nil", i)
		}
	}
	for i, m := range p.Markers {
		if m < 0 || m >= numMarkerShapes {
			return fmt.Errorf("reports: palette marker %d is %d; shapes: 0 to %d", i, m, numMarkerShapes-1)
		}
	}
	for i, d := range p.Dashes {
		for _, v := range d {
			if !(v > 0) {
				return fmt.Errorf("reports: palette dashes %d are %v; lengths must be positive", i, d)
			}
		}
	}
	return nil
}

// style is the look of the i-th series under palette p; nil p is the
// default look (styleOf).
func (p *Palette) style(i int, radius vg.Length) *seriesStyle {
	if p == nil {
		return styleOf(i, radius)
	}
	c := color.NRGBAModel.Convert(p.Colors[i%len(p.Colors)]).(color.NRGBA)
	band := c
	band.A = uint8(math.Round(bandAlpha * float64(c.A)))
	var dashes []vg.Length
	if len(p.Dashes) > 0 {
		dashes = p.Dashes[i%len(p.Dashes)]
	}
	return &seriesStyle{
		line:  draw.LineStyle{Color: c, Width: vg.Points(1.1), Dashes: dashes},
		glyph: draw.GlyphStyle{Color: c, Radius: radius, Shape: p.Markers[i%len(p.Markers)].marker()},
		band:  band,
	}
}

// marker is the glyph drawer of a shape.
func (m MarkerShape) marker() marker {
	switch m {
	case MarkerSquare:
		return marker{shape: square}
	case MarkerTriangleUp:
		return marker{shape: triangleUp}
	case MarkerDiamond:
		return marker{shape: diamond}
	case MarkerTriangleDown:
		return marker{shape: triangleDown}
	case MarkerOpenCircle:
		return marker{shape: circle, open: true}
	case MarkerOpenSquare:
		return marker{shape: square, open: true}
	case MarkerOpenTriangleUp:
		return marker{shape: triangleUp, open: true}
	case MarkerOpenDiamond:
		return marker{shape: diamond, open: true}
	case MarkerOpenTriangleDown:
		return marker{shape: triangleDown, open: true}
	case MarkerPlus:
		return marker{shape: plus}
	case MarkerCross:
		return marker{shape: cross}
	}
	return marker{shape: circle}
}
