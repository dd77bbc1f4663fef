package images

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Formula describes the mapping from a pixel p in [0, 255] to the model's
// input, e.g. "x = p/255", "x = p" or "x = (p/127.5 - 1 - mean)/std".
func (s Spec) Formula() string {
	g := func(v float32) string { return strconv.FormatFloat(float64(v), 'g', 6, 32) }
	var x string
	switch {
	case s.Scale == 0 || s.Scale == 1.0/255:
		x = "p/255"
	case s.Scale == 1:
		x = "p"
	case math.Abs(1/float64(s.Scale)-math.Round(10/float64(s.Scale))/10) < 1e-3:
		x = "p/" + strconv.FormatFloat(math.Round(10/float64(s.Scale))/10, 'g', 6, 64)
	default:
		x = g(s.Scale) + "·p"
	}
	if s.Offset > 0 {
		x += " + " + g(s.Offset)
	} else if s.Offset < 0 {
		x += " - " + g(-s.Offset)
	}
	if len(s.Mean) > 0 || len(s.Std) > 0 {
		parts := []string{"(" + x}
		if len(s.Mean) > 0 {
			parts = append(parts, " - "+vec(s.Mean))
		}
		x = strings.Join(parts, "") + ")"
		if len(s.Std) > 0 {
			x += "/" + vec(s.Std)
		}
	}
	order := ""
	if s.BGR {
		order = ", BGR order"
	}
	if s.Channels < 1 {
		return "x = " + x
	}
	lo, hi := s.PixelValue(0), s.PixelValue(255)
	a, b := min(lo[0], hi[0]), max(lo[0], hi[0])
	for c := range lo {
		a, b = min(a, lo[c], hi[c]), max(b, lo[c], hi[c])
	}
	return fmt.Sprintf("x = %s (pixels 0..255 → %s..%s%s)", x, g(a), g(b), order)
}

func vec(v []float32) string {
	p := make([]string, len(v))
	for i, x := range v {
		p[i] = strconv.FormatFloat(float64(x), 'g', 4, 32)
	}
	if len(p) == 1 {
		return p[0]
	}
	return "[" + strings.Join(p, ",") + "]"
}
