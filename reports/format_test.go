package reports

import (
	"math"
	"strings"
	"testing"
)

func TestTrimNegativeZeros(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"-0.00", "0.00"},
		{"−0.00", "0.00"},
		{"-0", "0"},
		{"-0.", "0."},
		{"-.00", ".00"},
		{"-0.0e+00", "0.0e+00"},
		{"-0.00%", "0.00%"},
		{"−0.00 [−0.03, 0.02]", "0.00 [−0.03, 0.02]"},
		{"0.12 [-0.00, 0.05]", "0.12 [0.00, 0.05]"},
		{"(-0.000)", "(0.000)"},
		{"$-0.0$", "$0.0$"},
		{"a -0.00 b -0.00", "a 0.00 b 0.00"},
		// Not signs, or not zero.
		{"-0.001", "-0.001"},
		{"-0.10", "-0.10"},
		{"-00.5", "-00.5"},
		{"-10", "-10"},
		{"1e-0", "1e-0"},
		{"block-0", "block-0"},
		{"2025-00", "2025-00"},
		{"x_-0", "x_-0"},
		{"--0", "--0"},
		{"-0x1", "-0x1"},
		{"-0.0.1", "-0.0.1"},
		{"-0_a", "-0_a"},
		{"-", "-"},
		{"-.", "-."},
		{"-0e", "-0e"},
		{"", ""},
		{"plain text", "plain text"},
	} {
		if got := TrimNegativeZeros(tc.in); got != tc.want {
			t.Errorf("TrimNegativeZeros(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatFixed(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		d    int
		want string
	}{
		{-0.001, 2, "0.00"},
		{math.Copysign(0, -1), 2, "0.00"},
		{-0.004999, 2, "0.00"},
		{-0.005001, 2, "-0.01"},
		{0.86, 2, "0.86"},
		{-1.5, 0, "-2"},
		{-0.4, 0, "0"},
		{-0.0001234, 3, "0.000"},
		{math.NaN(), 2, "NaN"},
		{math.Inf(-1), 2, "-Inf"},
		{1.25, -1, "1"},
	} {
		if got := FormatFixed(tc.v, tc.d); got != tc.want {
			t.Errorf("FormatFixed(%g, %d) = %q, want %q", tc.v, tc.d, got, tc.want)
		}
	}
}

func TestFormatInterval(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		m, lo, hi float64
		d         int
		want      string
	}{
		{0.86, 0.81, 0.9, 2, "0.86 [0.81, 0.90]"},
		{-0.001, -0.031, 0.02, 2, "0.00 [−0.03, 0.02]"},
		{-0.5, -0.75, -0.25, 1, "−0.5 [−0.8, −0.2]"},
		{0.5, nan, 0.6, 2, "0.50"},
		{nan, 0.1, 0.2, 2, "n/a"},
	} {
		got := FormatInterval(tc.m, tc.lo, tc.hi, tc.d)
		if strings.ReplaceAll(got, "\u00a0", " ") != tc.want {
			t.Errorf("FormatInterval(%g, %g, %g, %d) = %q, want %q", tc.m, tc.lo, tc.hi, tc.d, got, tc.want)
		}
		if strings.ContainsAny(got, " -") {
			t.Errorf("FormatInterval(%g, %g, %g, %d) = %q has a breaking space or a hyphen", tc.m, tc.lo, tc.hi, tc.d, got)
		}
	}
	// In LaTeX: ties and math minus signs.
	if got, want := TeXEscape(FormatInterval(-0.25, -0.5, 0, 2)), `$-$0.25~[$-$0.50,~0.00]`; got != want {
		t.Errorf("TeXEscape(FormatInterval) = %q, want %q", got, want)
	}
}
