package reports

import (
	"image"
	"math"
	"reflect"

	"git.sr.ht/~sbinet/gg"
	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
	"gonum.org/v1/plot/vg/vgimg"
)

// separableBiLinear is draw.BiLinear with the same output bytes, faster in
// the one case a figure spends its raster time on: an opaque *image.NRGBA
// (an enlarged map, see Pixels) drawn onto the canvas's *image.RGBA by an
// axis-aligned affine transform with neither mask. There the kernel weights
// of a destination column depend on its x alone and those of a row on its y
// alone, so they are computed once per column and once per row, where
// x/image/draw's Kernel.Transform computes both for every pixel. Each
// weight, sum and rounding is the same float64 operation in the same order
// as x/image/draw v0.30.0's transform_RGBA_NRGBA_Src for BiLinear (explicit
// conversions keep products from being fused). Every other call goes to
// draw.BiLinear. TestSeparableBiLinear compares the two byte for byte.
type separableBiLinear struct{}

// Scale implements draw.Scaler with draw.BiLinear.
func (separableBiLinear) Scale(dst draw.Image, dr image.Rectangle, src image.Image, sr image.Rectangle, op draw.Op, opts *draw.Options) {
	draw.BiLinear.Scale(dst, dr, src, sr, op, opts)
}

// Transform implements draw.Transformer: the separable path where it
// applies, draw.BiLinear otherwise.
func (separableBiLinear) Transform(dst draw.Image, s2d f64.Aff3, src image.Image, sr image.Rectangle, op draw.Op, opts *draw.Options) {
	if d, s, ok := separable(dst, &s2d, src, sr, op, opts); ok {
		transformSeparable(d, &s2d, s, sr)
		return
	}
	draw.BiLinear.Transform(dst, s2d, src, sr, op, opts)
}

// separable says whether transformSeparable can draw src onto dst: an
// opaque *image.NRGBA onto an *image.RGBA, draw.Over without masks, by an
// s2d without rotation or shear that is not degenerate.
func separable(dst draw.Image, s2d *f64.Aff3, src image.Image, sr image.Rectangle, op draw.Op, opts *draw.Options) (*image.RGBA, *image.NRGBA, bool) {
	d, okd := dst.(*image.RGBA)
	s, oks := src.(*image.NRGBA)
	ok := okd && oks && opts == nil && op == draw.Over && s2d[1] == 0 && s2d[3] == 0 &&
		s2d[0] != 0 && s2d[4] != 0 && sr.In(s.Bounds()) && s.Opaque()
	return d, s, ok
}

// bilinearTap is a source column or row of non-zero weight w: its byte
// offset in a row of the source, or the offset of the row.
type bilinearTap struct {
	off int
	w   float64
}

// taps computes what transform_RGBA_NRGBA_Src computes for one coordinate:
// s is the source coordinate after the bias and the half-pixel shift; the
// source indexes [lo, hi) have the normalised weights w[:hi-lo].
func taps(s, halfWidth, argScale float64, lowest, end int, w []float64) (lo, hi int) {
	lo = int(math.Floor(s - halfWidth))
	if lo < lowest {
		lo = lowest
	}
	hi = int(math.Ceil(s + halfWidth))
	if hi > end {
		hi = end
	}
	total := 0.0
	for k := lo; k < hi; k++ {
		weight := 0.0
		if t := absf((s - float64(k)) * argScale); t < 1 {
			weight = 1 - t
		}
		w[k-lo] = weight
		total += weight
	}
	for i := range w[:max(hi-lo, 0)] {
		w[i] /= total
	}
	return lo, hi
}

func absf(f float64) float64 {
	if f < 0 {
		f = -f
	}
	return f
}

// transformSeparable is draw.BiLinear.Transform(dst, *s2d, src, sr,
// draw.Over, nil) for an opaque src and an s2d without rotation or shear
// (s2d[1] = s2d[3] = 0): draw.Over on an opaque source is draw.Src.
func transformSeparable(dst *image.RGBA, s2d *f64.Aff3, src *image.NRGBA, sr image.Rectangle) {
	dr := transformRectOf(s2d, &sr)
	adr := dst.Bounds().Intersect(dr)
	if adr.Empty() || sr.Empty() {
		return
	}
	d2s := invertAff(s2d)
	bias := transformRectOf(&d2s, &adr).Min
	bias.X--
	bias.Y--
	d2s[2] -= float64(bias.X)
	d2s[5] -= float64(bias.Y)
	adr = adr.Sub(dr.Min)

	xscale := max(absf(d2s[0]), absf(d2s[1]))
	yscale := max(absf(d2s[3]), absf(d2s[4]))
	xHalfWidth, xArgScale := 1.0, 1.0
	if xscale > 1 {
		xHalfWidth *= xscale
		xArgScale = 1 / xscale
	}
	yHalfWidth, yArgScale := 1.0, 1.0
	if yscale > 1 {
		yHalfWidth *= yscale
		yArgScale = 1 / yscale
	}
	nx := 1 + 2*int(math.Ceil(xHalfWidth))
	ny := 1 + 2*int(math.Ceil(yHalfWidth))

	// The columns: d2s[1]·y is ±0 for every y and d2s[0]·x is not zero
	// (x > 0, d2s[0] ≠ 0), so sx is the same on every row. Each column
	// keeps its taps of non-zero weight, in order, with their byte offsets
	// in a source row.
	dyf0 := float64(dr.Min.Y+adr.Min.Y) + 0.5
	colStart := make([]int, adr.Dx()+1)
	colIn := make([]bool, adr.Dx())
	var colTaps []bilinearTap
	w := make([]float64, max(nx, ny))
	for i := range adr.Dx() {
		colStart[i] = len(colTaps)
		dxf := float64(dr.Min.X+adr.Min.X+i) + 0.5
		sx := float64(d2s[0]*dxf) + float64(d2s[1]*dyf0) + d2s[2]
		if x := int(sx) + bias.X; x < sr.Min.X || x >= sr.Max.X {
			continue
		}
		colIn[i] = true
		sx += float64(bias.X)
		sx -= 0.5
		lo, hi := taps(sx, xHalfWidth, xArgScale, sr.Min.X, sr.Max.X, w[:nx])
		for k := lo; k < hi; k++ {
			if w[k-lo] != 0 {
				colTaps = append(colTaps, bilinearTap{off: (k - src.Rect.Min.X) * 4, w: w[k-lo]})
			}
		}
	}
	colStart[adr.Dx()] = len(colTaps)

	// The source is opaque: every alpha is 0xff, so x/image/draw's
	// premultiplied channel uint32(c)·0xffff/0xff is c·0x101.
	var level [256]float64
	for c := range level {
		level[c] = float64(uint32(c) * 0xffff / 0xff)
	}
	const alpha = float64(0xffff)

	dxf0 := float64(dr.Min.X+adr.Min.X) + 0.5
	var rowTaps []bilinearTap
	for dy := adr.Min.Y; dy < adr.Max.Y; dy++ {
		dyf := float64(dr.Min.Y+dy) + 0.5
		sy := float64(d2s[3]*dxf0) + float64(d2s[4]*dyf) + d2s[5]
		if y := int(sy) + bias.Y; y < sr.Min.Y || y >= sr.Max.Y {
			continue
		}
		sy += float64(bias.Y)
		sy -= 0.5
		lo, hi := taps(sy, yHalfWidth, yArgScale, sr.Min.Y, sr.Max.Y, w[:ny])
		rowTaps = rowTaps[:0]
		for k := lo; k < hi; k++ {
			if w[k-lo] != 0 {
				rowTaps = append(rowTaps, bilinearTap{off: (k - src.Rect.Min.Y) * src.Stride, w: w[k-lo]})
			}
		}
		d := (dr.Min.Y+dy-dst.Rect.Min.Y)*dst.Stride + (dr.Min.X+adr.Min.X-dst.Rect.Min.X)*4
		out := dst.Pix[d : d+4*adr.Dx()]
		for i := range adr.Dx() {
			if !colIn[i] {
				continue
			}
			cols := colTaps[colStart[i]:colStart[i+1]]
			var pr, pg, pb, pa float64
			for _, ry := range rowTaps {
				for _, cx := range cols {
					if w := cx.w * ry.w; w != 0 {
						px := src.Pix[ry.off+cx.off:][:3]
						pr += float64(level[px[0]] * w)
						pg += float64(level[px[1]] * w)
						pb += float64(level[px[2]] * w)
						pa += float64(alpha * w)
					}
				}
			}
			pr, pg, pb = min(pr, pa), min(pg, pa), min(pb, pa)
			o := out[4*i:][:4]
			o[0] = uint8(roundFFFF(pr) >> 8)
			o[1] = uint8(roundFFFF(pg) >> 8)
			o[2] = uint8(roundFFFF(pb) >> 8)
			o[3] = uint8(roundFFFF(pa) >> 8)
		}
	}
}

// roundFFFF is x/image/draw's conversion of [0, 0xffff] to uint16.
func roundFFFF(f float64) uint16 {
	i := int32(f + 0.5)
	if i > 0xffff {
		return 0xffff
	}
	if i > 0 {
		return uint16(i)
	}
	return 0
}

// transformRectOf is x/image/draw's bounding rectangle of sr under s2d.
func transformRectOf(s2d *f64.Aff3, sr *image.Rectangle) (dr image.Rectangle) {
	ps := [...]image.Point{
		{sr.Min.X, sr.Min.Y},
		{sr.Max.X, sr.Min.Y},
		{sr.Min.X, sr.Max.Y},
		{sr.Max.X, sr.Max.Y},
	}
	for i, p := range ps {
		sxf := float64(p.X)
		syf := float64(p.Y)
		dx := int(math.Floor(float64(s2d[0]*sxf) + float64(s2d[1]*syf) + s2d[2]))
		dy := int(math.Floor(float64(s2d[3]*sxf) + float64(s2d[4]*syf) + s2d[5]))
		if i == 0 {
			dr = image.Rect(dx, dy, dx+1, dy+1)
			continue
		}
		dr.Min.X = min(dr.Min.X, dx)
		dr.Max.X = max(dr.Max.X, dx+1)
		dr.Min.Y = min(dr.Min.Y, dy)
		dr.Max.Y = max(dr.Max.Y, dy+1)
	}
	return dr
}

// invertAff is x/image/draw's inverse of an affine transform.
func invertAff(m *f64.Aff3) f64.Aff3 {
	m00 := +m[3*1+1]
	m01 := -m[3*0+1]
	m02 := +float64(m[3*1+2]*m[3*0+1]) - float64(m[3*1+1]*m[3*0+2])
	m10 := -m[3*1+0]
	m11 := +m[3*0+0]
	m12 := +float64(m[3*1+0]*m[3*0+2]) - float64(m[3*1+2]*m[3*0+0])
	det := float64(m00*m11) - float64(m10*m01)
	return f64.Aff3{m00 / det, m01 / det, m02 / det, m10 / det, m11 / det, m12 / det}
}

// useSeparableBiLinear makes c draw images with separableBiLinear. vgimg
// keeps its gg.Context unexported; it is reached by reflection, and if a
// gonum/plot release moves it, c keeps draw.BiLinear (the same bytes,
// slower; TestSeparableBiLinearInstalled then fails).
func useSeparableBiLinear(c *vgimg.Canvas) bool {
	f := field(c, "ctx", reflect.TypeFor[*gg.Context]())
	if !f.IsValid() || f.IsNil() {
		return false
	}
	(*gg.Context)(f.UnsafePointer()).SetInterpolator(separableBiLinear{})
	return true
}
