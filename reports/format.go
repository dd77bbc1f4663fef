package reports

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FormatFixed formats v with decimals digits after the point, as
// fmt's %.*f does, except that a value which rounds to zero is written
// without a sign: FormatFixed(-0.001, 2) is "0.00", not "-0.00". NaN is
// "NaN" and infinities "+Inf" and "-Inf", as with %f.
func FormatFixed(v float64, decimals int) string {
	return TrimNegativeZeros(strconv.FormatFloat(v, 'f', max(decimals, 0), 64))
}

// FormatInterval formats a value and its interval compactly for a narrow
// table column: "0.86 [0.81, 0.90]", each number with decimals digits
// (FormatFixed: no "-0.00"), negative numbers with the minus sign (U+2212,
// which lines break neither before nor after), and no-break spaces
// (U+00A0), so that a browser never wraps it. A NaN mean gives "n/a"; NaN
// bounds leave the interval out. TeXEscape writes the no-break spaces as ~
// and the minus signs as $-$, so the text also suits Table.LaTeX. (CSV
// wants the numbers in columns of their own, in full precision.)
func FormatInterval(mean, lo, hi float64, decimals int) string {
	if math.IsNaN(mean) {
		return "n/a"
	}
	num := func(v float64) string { return strings.Replace(FormatFixed(v, decimals), "-", "\u2212", 1) }
	s := num(mean)
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return s
	}
	return s + "\u00a0[" + num(lo) + ",\u00a0" + num(hi) + "]"
}

// TrimNegativeZeros returns s with the sign dropped from every number in
// it that is zero but written with a minus (a hyphen-minus or U+2212):
// "-0.00", "−0", "-0.0e+00", as %.2f writes a small negative value.
// "−0.00 [−0.03, 0.02]" becomes "0.00 [−0.03, 0.02]". A minus that follows
// a letter, a digit, '.', '_' or another minus is not a sign and stays
// ("e-0", "block-0", "2025-00"), as does the minus of a number followed by
// a letter or another digit ("-0x1", "-0.001").
func TrimNegativeZeros(s string) string {
	if !strings.Contains(s, "-0") && !strings.Contains(s, "\u22120") && !strings.Contains(s, "-.") && !strings.Contains(s, "\u2212.") {
		return s
	}
	var b strings.Builder
	prev := rune(-1) // the rune before i; -1 at the start
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == '-' || r == '\u2212') && !partOfWord(prev) {
			if n := zeroNumeral(s[i+size:]); n > 0 {
				b.WriteString(s[i+size : i+size+n])
				prev = '0'
				i += size + n
				continue
			}
		}
		b.WriteRune(r)
		prev = r
		i += size
	}
	return b.String()
}

// partOfWord reports whether a minus after r is not a sign.
func partOfWord(r rune) bool {
	return r == '.' || r == '_' || r == '-' || r == '\u2212' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// zeroNumeral returns the length of the zero numeral at the start of s
// (digits all 0, an optional fraction of zeros, an optional exponent), 0 if
// s does not start with one or it runs on into a letter, digit, '.' or '_'.
func zeroNumeral(s string) int {
	i := 0
	for i < len(s) && s[i] == '0' {
		i++
	}
	digits := i
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] == '0' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	if i < len(s) {
		r, _ := utf8.DecodeRuneInString(s[i:])
		if r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return 0
		}
	}
	return i
}
