package reports

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/saliencykit/saliency/tensor"
)

// The look of an overlay. The photo is drawn in grey with its contrast
// reduced to [overlayFloor, overlayFloor+overlayRange], so that the
// colours of the map, blended over it, stand out on its darkest and its
// lightest pixels while the object stays recognisable.
const (
	overlayFloor = 0.10
	overlayRange = 0.60
)

// Heatmap colours a normalised saliency map: m is row-major h×w with values
// in [0, 1] (the Sequential map) or, when signed, in [-1, 1] (the Diverging
// map). Values outside the range are clamped and NaN is drawn as 0, as in
// ColorOf. The image is opaque.
func Heatmap(m []float32, h, w int, signed bool) (*image.NRGBA, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("reports: heatmap of size %d×%d", h, w)
	}
	if len(m) != h*w {
		return nil, fmt.Errorf("reports: heatmap map has %d values, want %d×%d = %d", len(m), h, w, h*w)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, v := range m {
		setNRGBA(img, i, ColorOf(float64(v), signed))
	}
	return img, nil
}

// Overlay draws a normalised saliency map over the image it explains. base is
// the model input [H,W,C] (C = 1 or 3; [H,W] is one channel) with display
// values in [0, 1]; m is the map, row-major H×W, in [0, 1] or, when signed,
// in [-1, 1] (values outside are clamped, NaN is 0).
//
// The image is rendered in grey, g = 0.2126 R + 0.7152 G + 0.0722 B, with its
// contrast reduced to [0.10, 0.70] so that the colour map reads on dark and
// light pixels alike (the top of the Sequential map, yellow at L* 84, stays
// lighter than the lightest grey). Each pixel then blends in the colour of its saliency v
// (ColorOf) with opacity a = alpha·|v|:
//
//	out = (1 − a)·grey + a·ColorOf(v)
//
// so zero saliency leaves the photo untouched, the strongest saliency covers
// it to the degree alpha (0.7 is a good default), and the sign of a signed
// map shows as hue (blue or red), its magnitude as opacity and lightness.
func Overlay(base *tensor.Tensor, m []float32, signed bool, alpha float64) (*image.NRGBA, error) {
	h, w, c, err := imageShape(base)
	if err != nil {
		return nil, err
	}
	if len(m) != h*w {
		return nil, fmt.Errorf("reports: overlay map has %d values, image %v has %d×%d = %d pixels", len(m), base.Shape, h, w, h*w)
	}
	if !(alpha >= 0 && alpha <= 1) {
		return nil, fmt.Errorf("reports: overlay alpha %g outside [0, 1]", alpha)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, v := range m {
		r, g, b := pixel(base.Data, i, c)
		grey := overlayFloor + overlayRange*(0.2126*r+0.7152*g+0.0722*b)
		s := float64(v)
		if math.IsNaN(s) {
			s = 0
		}
		if !signed {
			s = max(s, 0)
		}
		a := alpha * min(math.Abs(s), 1)
		col := ColorOf(s, signed)
		blend := func(k uint8) uint8 {
			return to8((1-a)*grey + a*float64(k)/255)
		}
		setNRGBA(img, i, color.NRGBA{R: blend(col.R), G: blend(col.G), B: blend(col.B), A: 255})
	}
	return img, nil
}

// Image renders a model input [H,W,C] (C = 1 or 3; [H,W] is one channel)
// with display values in [0, 1] as an opaque image, in grey for one channel.
// Values are clamped to [0, 1] and NaN is drawn black.
func Image(base *tensor.Tensor) (*image.NRGBA, error) {
	h, w, c, err := imageShape(base)
	if err != nil {
		return nil, err
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range h * w {
		r, g, b := pixel(base.Data, i, c)
		setNRGBA(img, i, color.NRGBA{R: to8(r), G: to8(g), B: to8(b), A: 255})
	}
	return img, nil
}

// imageShape checks an image tensor and returns its height, width and
// channels.
func imageShape(t *tensor.Tensor) (h, w, c int, err error) {
	if t == nil {
		return 0, 0, 0, fmt.Errorf("reports: nil image")
	}
	if err := t.Check(); err != nil {
		return 0, 0, 0, fmt.Errorf("reports: image: %w", err)
	}
	switch len(t.Shape) {
	case 2:
		h, w, c = t.Shape[0], t.Shape[1], 1
	case 3:
		h, w, c = t.Shape[0], t.Shape[1], t.Shape[2]
	default:
		return 0, 0, 0, fmt.Errorf("reports: image of shape %v, want [H,W,C] or [H,W]", t.Shape)
	}
	if c != 1 && c != 3 {
		return 0, 0, 0, fmt.Errorf("reports: image of shape %v has %d channels, want 1 or 3", t.Shape, c)
	}
	if h == 0 || w == 0 {
		return 0, 0, 0, fmt.Errorf("reports: empty image of shape %v", t.Shape)
	}
	return h, w, c, nil
}

// pixel returns the i-th pixel of an [H,W,c] array as clamped r, g, b in
// [0, 1]; one channel is grey.
func pixel(data []float32, i, c int) (r, g, b float64) {
	if c == 1 {
		v := unit(data[i])
		return v, v, v
	}
	return unit(data[i*3]), unit(data[i*3+1]), unit(data[i*3+2])
}

// unit clamps v to [0, 1]; NaN is 0.
func unit(v float32) float64 {
	if !(v > 0) {
		return 0
	}
	return min(float64(v), 1)
}

// to8 is the 8-bit value of x in [0, 1].
func to8(x float64) uint8 {
	return uint8(math.Round(255 * min(max(x, 0), 1)))
}

// setNRGBA sets the i-th pixel, in row-major order, of an image whose
// bounds start at (0, 0).
func setNRGBA(img *image.NRGBA, i int, c color.NRGBA) {
	p := img.Pix[4*i : 4*i+4 : 4*i+4]
	p[0], p[1], p[2], p[3] = c.R, c.G, c.B, c.A
}
