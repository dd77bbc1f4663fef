package reports

import (
	"errors"
	"image/color"
	"math"
	"testing"

	"gonum.org/v1/plot/palette"
)

// lightness is the CIE L* of an sRGB colour (D65 white).
func lightness(c color.NRGBA) float64 {
	lin := func(u uint8) float64 {
		v := float64(u) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	y := 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
	if y > 216.0/24389 {
		return 116*math.Cbrt(y) - 16
	}
	return 24389.0 / 27 * y
}

func nrgba(t *testing.T, cm palette.ColorMap, v float64) color.NRGBA {
	t.Helper()
	c, err := cm.At(v)
	if err != nil {
		t.Fatalf("At(%g): %v", v, err)
	}
	return color.NRGBAModel.Convert(c).(color.NRGBA)
}

func TestColorMapEndpoints(t *testing.T) {
	seq, div := Sequential(), Diverging()
	if seq.Min() != 0 || seq.Max() != 1 || div.Min() != -1 || div.Max() != 1 {
		t.Fatalf("ranges: sequential [%g, %g], diverging [%g, %g]", seq.Min(), seq.Max(), div.Min(), div.Max())
	}
	if c := nrgba(t, seq, 0); c != (color.NRGBA{A: 255}) {
		t.Errorf("sequential at 0 is %v, want black", c)
	}
	// Yellow, not white: the strongest saliency stays visible on a light photo.
	if c := nrgba(t, seq, 1); !(c.R > 200 && c.G > 150 && c.B < 100) {
		t.Errorf("sequential at 1 is %v, want yellow", c)
	}
	if l := lightness(nrgba(t, seq, 1)); math.Abs(l-84.1) > 1.5 {
		t.Errorf("sequential at 1 has L* %.1f, want 84.1", l)
	}
	mid := nrgba(t, div, 0)
	if spread := max(mid.R, mid.G, mid.B) - min(mid.R, mid.G, mid.B); spread > 12 || lightness(mid) < 80 {
		t.Errorf("diverging at 0 is %v, want a light neutral grey", mid)
	}
	if lo := nrgba(t, div, -1); !(lo.B > lo.R+60) {
		t.Errorf("diverging at -1 is %v, want blue", lo)
	}
	if hi := nrgba(t, div, 1); !(hi.R > hi.B+60) {
		t.Errorf("diverging at 1 is %v, want red", hi)
	}
	for _, tc := range []struct {
		cm   palette.ColorMap
		v    float64
		want error
	}{
		{seq, 1.001, palette.ErrOverflow},
		{seq, -0.001, palette.ErrUnderflow},
		{div, -1.5, palette.ErrUnderflow},
		{div, math.NaN(), palette.ErrNaN},
	} {
		if _, err := tc.cm.At(tc.v); !errors.Is(err, tc.want) {
			t.Errorf("At(%g) error %v, want %v", tc.v, err, tc.want)
		}
	}
}

// The lightness of the sequential map rises with the value, so a map reads
// the same in grey; the diverging map darkens symmetrically away from 0.
func TestColorMapLightness(t *testing.T) {
	seq, div := Sequential(), Diverging()
	prev := -1.0
	for i := range 257 {
		v := float64(i) / 256
		l := lightness(nrgba(t, seq, v))
		if l < prev-0.3 { // 8-bit rounding
			t.Errorf("sequential L* falls from %.2f to %.2f at %g", prev, l, v)
		}
		prev = max(prev, l)
	}
	prevAbs := 101.0
	for i := range 129 {
		v := float64(i) / 128
		lp, ln := lightness(nrgba(t, div, v)), lightness(nrgba(t, div, -v))
		if math.Abs(lp-ln) > 3 {
			t.Errorf("diverging L* at ±%g: %.1f and %.1f", v, lp, ln)
		}
		if lp > prevAbs+0.3 {
			t.Errorf("diverging L* rises from %.2f to %.2f at %g", prevAbs, lp, v)
		}
		prevAbs = min(prevAbs, lp)
	}
}

func TestColorOf(t *testing.T) {
	seq, div := Sequential(), Diverging()
	for _, v := range []float64{0, 0.1, 0.25, 0.5, 0.9, 1} {
		if got, want := ColorOf(v, false), nrgba(t, seq, v); got != want {
			t.Errorf("ColorOf(%g, false) = %v, Sequential gives %v", v, got, want)
		}
		if got, want := ColorOf(-v, true), nrgba(t, div, -v); got != want {
			t.Errorf("ColorOf(%g, true) = %v, Diverging gives %v", -v, got, want)
		}
	}
	// Clamping, and NaN as 0.
	for _, tc := range []struct {
		v, as  float64
		signed bool
	}{
		{2, 1, false}, {-0.5, 0, false}, {math.Inf(1), 1, false}, {math.NaN(), 0, false},
		{-3, -1, true}, {7, 1, true}, {math.NaN(), 0, true}, {math.Inf(-1), -1, true},
	} {
		if got, want := ColorOf(tc.v, tc.signed), ColorOf(tc.as, tc.signed); got != want {
			t.Errorf("ColorOf(%g, %v) = %v, want %v (the colour of %g)", tc.v, tc.signed, got, want, tc.as)
		}
	}
	if ColorOf(0.3, false).A != 255 || ColorOf(-0.3, true).A != 255 {
		t.Error("ColorOf is not opaque")
	}
}

// Sequential and Diverging return independent values over shared tables.
func TestColorMapValues(t *testing.T) {
	a := Sequential()
	a.SetMax(10)
	a.SetAlpha(0.5)
	b := Sequential()
	if b.Max() != 1 || b.Alpha() != 1 {
		t.Fatalf("changing one Sequential changed another: max %g, alpha %g", b.Max(), b.Alpha())
	}
	if got, want := nrgba(t, a, 10), nrgba(t, b, 1); got.R != want.R || got.G != want.G || got.B != want.B || got.A != 128 {
		t.Errorf("rescaled map at its max: %v, want %v with alpha 128", got, want)
	}
	p := Diverging().Palette(3).Colors()
	if len(p) != 3 || color.NRGBAModel.Convert(p[1]) != ColorOf(0, true) {
		t.Errorf("Diverging().Palette(3) = %v, want the neutral colour in the middle", p)
	}
}
