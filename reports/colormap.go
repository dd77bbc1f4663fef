package reports

import (
	"fmt"
	"image/color"
	"math"
	"sync"

	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
)

// The two colour maps of saliency, sampled once from Kenneth Moreland's
// perceptual maps (gonum.org/v1/plot/palette/moreland) into tables that the
// pixels (ColorOf, Heatmap, Overlay) and the colour bars of a Grid share.
//
// Sequential (absolute maps, [0, 1]) is moreland.BlackBody cut at its
// yellow control point (84% of the way): black → dark red → orange →
// yellow, with CIE L* rising linearly from 0 to 84 and the hue staying in
// the warm half of the circle. Why this one:
//   - the uncut black-body maps (and Kindlmann's) end in white, and white
//     vanishes on the light parts of a grayscale photo, where the strongest
//     saliency should be loudest; saturated orange and yellow stay visible
//     on light and dark pixels alike;
//   - ExtendedBlackBody and Kindlmann pass through blue and purple at low
//     values, which in an overlay puts a blue halo round every blob, read as
//     negative evidence next to a Diverging map (blue = negative);
//   - black for zero costs nothing in an overlay, where zero saliency is
//     transparent (see Overlay), and makes a plain Heatmap read like a
//     thermal image.
//
// Diverging (signed maps, [-1, 1]) is moreland.SmoothBlueRed: blue for
// negative, red for positive, a neutral light grey at 0, both halves with
// the same lightness ramp so that +v and −v are equally salient. Blue and red
// are the two hues farthest from grey and are told apart by readers with the
// common red-green colour deficiencies.
const (
	// tableSize is the number of colours sampled from each map: odd, so the
	// middle entry of the diverging table is exactly the neutral colour at 0.
	tableSize = 1025
	// sequentialEnd is where the sequential map stops on BlackBody's [0, 1]
	// scale: its yellow control point (L* = 84.13).
	sequentialEnd = 0.8413253643355525
)

var (
	tablesOnce                  sync.Once
	sequentialLUT, divergingLUT []color.NRGBA
)

// tables samples the two moreland maps once.
func tables() (seq, div []color.NRGBA) {
	tablesOnce.Do(func() {
		bb := moreland.BlackBody()
		bb.SetMin(0)
		bb.SetMax(1)
		sequentialLUT = sample(bb, 0, sequentialEnd)
		br := moreland.SmoothBlueRed()
		br.SetMin(-1)
		br.SetMax(1)
		divergingLUT = sample(br, -1, 1)
	})
	return sequentialLUT, divergingLUT
}

// sample takes tableSize evenly spaced colours of cm over [lo, hi].
func sample(cm palette.ColorMap, lo, hi float64) []color.NRGBA {
	out := make([]color.NRGBA, tableSize)
	for i := range out {
		v := lo + (hi-lo)*float64(i)/float64(tableSize-1)
		c, err := cm.At(min(max(v, cm.Min()), cm.Max()))
		if err != nil {
			// The moreland maps are defined on their whole range; an error
			// here is a bug in this file, not in the caller's data.
			panic(fmt.Sprintf("reports: colour map at %g: %v", v, err))
		}
		out[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
	}
	return out
}

// Sequential returns the colour map of absolute saliency maps, over [0, 1]:
// Moreland's black-body map from black to yellow (see the comment on the maps). Each
// call returns a new value, so a caller may change its range or alpha.
func Sequential() palette.ColorMap {
	seq, _ := tables()
	return &tableMap{colors: seq, min: 0, max: 1, alpha: 1}
}

// Diverging returns the colour map of signed saliency maps, over [-1, 1]
// with neutral grey at 0: Moreland's smooth blue-red map. Each call returns
// a new value.
func Diverging() palette.ColorMap {
	_, div := tables()
	return &tableMap{colors: div, min: -1, max: 1, alpha: 1}
}

// ColorOf is the opaque colour of a normalised saliency value: v in [0, 1] on
// the Sequential map, or in [-1, 1] on the Diverging map when signed. Values
// outside the range are clamped to it and NaN is taken as 0.
func ColorOf(v float64, signed bool) color.NRGBA {
	seq, div := tables()
	lut, lo := seq, 0.0
	if signed {
		lut, lo = div, -1
	}
	return lut[index(v, lo, 1)]
}

// index is the table entry of v on [lo, hi], clamped; NaN gives the entry
// of 0 clamped to the range.
func index(v, lo, hi float64) int {
	if math.IsNaN(v) {
		v = 0
	}
	if !(hi > lo) {
		return 0
	}
	v = min(max(v, lo), hi)
	return int(math.Round((v - lo) / (hi - lo) * (tableSize - 1)))
}

// tableMap is a palette.ColorMap that looks its colours up in a table
// sampled evenly over [min, max].
type tableMap struct {
	colors   []color.NRGBA
	min, max float64
	alpha    float64
}

var _ palette.ColorMap = (*tableMap)(nil)

// At returns the colour of v, or palette's ErrNaN, ErrUnderflow or
// ErrOverflow for a value outside [Min, Max].
func (m *tableMap) At(v float64) (color.Color, error) {
	switch {
	case math.IsNaN(v):
		return nil, palette.ErrNaN
	case v < m.min:
		return nil, palette.ErrUnderflow
	case v > m.max:
		return nil, palette.ErrOverflow
	}
	c := m.colors[index(v, m.min, m.max)]
	if m.alpha < 1 {
		c.A = uint8(math.Round(float64(c.A) * m.alpha))
	}
	return c, nil
}

// Max returns the value drawn with the last colour.
func (m *tableMap) Max() float64 { return m.max }

// SetMax sets the value drawn with the last colour.
func (m *tableMap) SetMax(v float64) { m.max = v }

// Min returns the value drawn with the first colour.
func (m *tableMap) Min() float64 { return m.min }

// SetMin sets the value drawn with the first colour.
func (m *tableMap) SetMin(v float64) { m.min = v }

// Alpha returns the opacity of the colours.
func (m *tableMap) Alpha() float64 { return m.alpha }

// SetAlpha sets the opacity of the colours; it panics outside [0, 1], as
// palette.ColorMap documents.
func (m *tableMap) SetAlpha(a float64) {
	if !(a >= 0 && a <= 1) {
		panic(fmt.Sprintf("reports: alpha %g outside [0, 1]", a))
	}
	m.alpha = a
}

// Palette returns n colours evenly spaced over [Min, Max].
func (m *tableMap) Palette(n int) palette.Palette {
	p := make(colors, n)
	for i := range p {
		t := 0.0
		if n > 1 {
			t = float64(i) / float64(n-1)
		}
		c, _ := m.At(m.min + t*(m.max-m.min))
		p[i] = c
	}
	return p
}

// colors is a palette.Palette.
type colors []color.Color

// Colors returns the colours.
func (p colors) Colors() []color.Color { return p }
