package reports

import (
	"image/color"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tensor"
)

func TestHeatmap(t *testing.T) {
	m := []float32{0, 0.5, 1, 2, -1, float32(math.NaN())}
	img, err := Heatmap(m, 2, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 3 || b.Dy() != 2 {
		t.Fatalf("bounds %v, want 3×2", b)
	}
	for i, v := range m {
		if got, want := img.NRGBAAt(i%3, i/3), ColorOf(float64(v), false); got != want {
			t.Errorf("pixel %d (value %g): %v, want %v", i, v, got, want)
		}
	}
	signed, err := Heatmap([]float32{-1, 0, 1}, 1, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if signed.NRGBAAt(0, 0) != ColorOf(-1, true) || signed.NRGBAAt(1, 0) != ColorOf(0, true) {
		t.Error("signed heat map does not use the diverging map")
	}
}

func TestHeatmapErrors(t *testing.T) {
	for _, tc := range []struct {
		m    []float32
		h, w int
		want string
	}{
		{make([]float32, 4), 0, 4, "heatmap of size 0×4"},
		{make([]float32, 4), 2, -2, "heatmap of size 2×-2"},
		{make([]float32, 5), 2, 2, "heatmap map has 5 values, want 2×2 = 4"},
		{nil, 1, 1, "heatmap map has 0 values"},
	} {
		_, err := Heatmap(tc.m, tc.h, tc.w, false)
		if err == nil || !strings.HasPrefix(err.Error(), "reports: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Heatmap(%d values, %d, %d): error %v, want %q", len(tc.m), tc.h, tc.w, err, tc.want)
		}
	}
}

func TestOverlayErrors(t *testing.T) {
	good := tensor.New(2, 3, 1)
	for _, tc := range []struct {
		name  string
		base  *tensor.Tensor
		m     []float32
		alpha float64
		want  string
	}{
		{"nil image", nil, make([]float32, 6), 0.5, "nil image"},
		{"batch", tensor.New(1, 2, 3, 1), make([]float32, 6), 0.5, "want [H,W,C] or [H,W]"},
		{"two channels", tensor.New(2, 3, 2), make([]float32, 6), 0.5, "has 2 channels, want 1 or 3"},
		{"short data", &tensor.Tensor{Shape: []int{2, 3, 1}, Data: make([]float32, 5)}, make([]float32, 6), 0.5, "needs 6 values, got 5"},
		{"empty", tensor.New(0, 3, 1), nil, 0.5, "empty image"},
		{"map size", good, make([]float32, 9), 0.5, "map has 9 values, image [2 3 1] has 2×3 = 6 pixels"},
		{"negative alpha", good, make([]float32, 6), -0.1, "alpha -0.1 outside [0, 1]"},
		{"large alpha", good, make([]float32, 6), 1.5, "alpha 1.5 outside [0, 1]"},
		{"NaN alpha", good, make([]float32, 6), math.NaN(), "alpha NaN outside [0, 1]"},
	} {
		_, err := Overlay(tc.base, tc.m, false, tc.alpha)
		if err == nil || !strings.HasPrefix(err.Error(), "reports: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := Image(tensor.New(4)); err == nil {
		t.Error("Image of a vector: no error")
	}
}

// Zero saliency shows the photo in grey with reduced contrast; full
// saliency at alpha 1 is the colour of the map; in between is a blend.
func TestOverlayBlend(t *testing.T) {
	base := &tensor.Tensor{Shape: []int{1, 4, 3}, Data: []float32{
		1, 1, 1, 0, 0, 0, 1, 0, 0, 0.5, 0.5, 0.5,
	}}
	grey := func(r, g, b float64) uint8 {
		return to8(overlayFloor + overlayRange*(0.2126*r+0.7152*g+0.0722*b))
	}
	zero, err := Overlay(base, make([]float32, 4), false, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	for x, want := range []uint8{grey(1, 1, 1), grey(0, 0, 0), grey(1, 0, 0), grey(0.5, 0.5, 0.5)} {
		if c := zero.NRGBAAt(x, 0); c != (color.NRGBA{want, want, want, 255}) {
			t.Errorf("zero saliency, pixel %d: %v, want grey %d", x, c, want)
		}
	}
	full, err := Overlay(base, []float32{1, -1, 1, 0.5}, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c := full.NRGBAAt(0, 0); c != ColorOf(1, true) {
		t.Errorf("saliency 1 at alpha 1: %v, want %v", c, ColorOf(1, true))
	}
	if c := full.NRGBAAt(1, 0); c != ColorOf(-1, true) {
		t.Errorf("saliency -1 at alpha 1: %v, want %v", c, ColorOf(-1, true))
	}
	// Half saliency, alpha 1: halfway between grey and the colour.
	g, col := float64(grey(0.5, 0.5, 0.5)), ColorOf(0.5, true)
	if c := full.NRGBAAt(3, 0); math.Abs(float64(c.R)-(g+float64(col.R))/2) > 1 || math.Abs(float64(c.B)-(g+float64(col.B))/2) > 1 {
		t.Errorf("saliency 0.5 at alpha 1: %v, want halfway between grey %v and %v", c, g, col)
	}
	// An unsigned overlay treats negative values as 0.
	neg, _ := Overlay(base, []float32{-1, 0, 0, 0}, false, 1)
	if c := neg.NRGBAAt(0, 0); c != zero.NRGBAAt(0, 0) {
		t.Errorf("unsigned overlay of -1: %v, want the bare photo %v", c, zero.NRGBAAt(0, 0))
	}
}

func TestImage(t *testing.T) {
	rgb := &tensor.Tensor{Shape: []int{1, 2, 3}, Data: []float32{1, 0.5, 0, -1, 2, float32(math.NaN())}}
	img, err := Image(rgb)
	if err != nil {
		t.Fatal(err)
	}
	if c := img.NRGBAAt(0, 0); c != (color.NRGBA{255, 128, 0, 255}) {
		t.Errorf("pixel 0: %v", c)
	}
	if c := img.NRGBAAt(1, 0); c != (color.NRGBA{0, 255, 0, 255}) {
		t.Errorf("pixel 1 (clamped, NaN black): %v", c)
	}
	grey, err := Image(&tensor.Tensor{Shape: []int{2, 1}, Data: []float32{0.2, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if c := grey.NRGBAAt(0, 0); c != (color.NRGBA{51, 51, 51, 255}) {
		t.Errorf("grey pixel: %v", c)
	}
}
