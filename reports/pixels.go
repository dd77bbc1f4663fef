package reports

import (
	"image"
	stddraw "image/draw"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// vectorDPI is the resolution at which Pixels enlarges an image for a
// vector canvas (SVG, PDF), whose viewers smooth embedded images: at 300
// dots per inch the smoothing is confined to a sliver at each pixel edge.
const vectorDPI = 300

// Pixels is a plotter that draws a raster image with square, crisp pixels
// in a rectangle of data coordinates. plotter.Image alone would blur a small
// image (a 28×28 map in a 1.3-inch cell): the raster canvas enlarges it with
// bilinear interpolation, and PDF and SVG viewers smooth it too. Pixels
// first enlarges the image by an integer factor, nearest neighbour, to at
// least the resolution of the canvas (its DPI for a raster canvas, 300 dpi
// for a vector one), then hands it to plotter.Image.
type Pixels struct {
	// Image is the picture; its pixels are drawn as equal rectangles.
	Image image.Image

	// XMin, YMin, XMax and YMax are the rectangle, in data coordinates,
	// that the image fills; the top row of the image is at YMax.
	XMin, YMin, XMax, YMax float64

	// Frame is the line drawn around the image; a zero Width draws none.
	Frame draw.LineStyle
}

var (
	_ plot.Plotter    = (*Pixels)(nil)
	_ plot.DataRanger = (*Pixels)(nil)
)

// Plot draws the image; it implements plot.Plotter.
func (px *Pixels) Plot(c draw.Canvas, p *plot.Plot) {
	if px.Image == nil || px.Image.Bounds().Empty() {
		return
	}
	trX, trY := p.Transforms(&c)
	rect := vg.Rectangle{
		Min: vg.Point{X: trX(px.XMin), Y: trY(px.YMin)},
		Max: vg.Point{X: trX(px.XMax), Y: trY(px.YMax)},
	}
	dpi := float64(vectorDPI)
	if r, ok := c.Canvas.(interface {
		DPI() float64
		Image() stddraw.Image
	}); ok {
		dpi = r.DPI()
	}
	b := px.Image.Bounds()
	k := min(int(max(
		math.Ceil(rect.Size().X.Dots(dpi)/float64(b.Dx())),
		math.Ceil(rect.Size().Y.Dots(dpi)/float64(b.Dy())),
		1)), 64)
	_, xLinear := p.X.Scale.(plot.LinearScale)
	_, yLinear := p.Y.Scale.(plot.LinearScale)
	if e, ok := embedderOf(c.Canvas); !ok || !xLinear || !yLinear || !e.embedPNG(rect, px.Image, k) {
		// plotter.Image draws the enlarged image in rect as it is on
		// linear axes (warped on others); a vector canvas that embeds
		// the same PNG from its figure's cache draws it so itself.
		img := Enlarge(px.Image, k)
		plotter.NewImage(img, px.XMin, px.YMin, px.XMax, px.YMax).Plot(c, p)
	}
	if px.Frame.Width > 0 && px.Frame.Color != nil {
		c.StrokeLines(px.Frame, []vg.Point{
			rect.Min, {X: rect.Max.X, Y: rect.Min.Y}, rect.Max, {X: rect.Min.X, Y: rect.Max.Y}, rect.Min,
		})
	}
}

// embedderOf is the pngEmbedder that vc is or draws on through draw.Canvas
// views (a plot's canvas is a view of the figure's).
func embedderOf(vc vg.Canvas) (pngEmbedder, bool) {
	for range 16 {
		switch c := vc.(type) {
		case pngEmbedder:
			return c, true
		case draw.Canvas:
			vc = c.Canvas
		case *draw.Canvas:
			vc = c.Canvas
		default:
			return nil, false
		}
	}
	return nil, false
}

// DataRange returns the rectangle of the image; it implements
// plot.DataRanger.
func (px *Pixels) DataRange() (xmin, xmax, ymin, ymax float64) {
	return px.XMin, px.XMax, px.YMin, px.YMax
}

// Enlarge repeats each pixel of img k×k times (nearest-neighbour
// enlargement by a whole factor, which keeps pixels crisp).
func Enlarge(img image.Image, k int) *image.NRGBA {
	b := img.Bounds()
	src, ok := img.(*image.NRGBA)
	if !ok {
		src = image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		stddraw.Draw(src, src.Bounds(), img, b.Min, stddraw.Src)
		b = src.Bounds()
	}
	if k == 1 {
		return src
	}
	w, h := b.Dx(), b.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w*k, h*k))
	for y := range h {
		row := out.Pix[y*k*out.Stride : y*k*out.Stride+w*k*4]
		for x := range w {
			px := src.Pix[src.PixOffset(b.Min.X+x, b.Min.Y+y):][:4]
			for i := range k {
				copy(row[(x*k+i)*4:], px)
			}
		}
		for i := 1; i < k; i++ {
			copy(out.Pix[(y*k+i)*out.Stride:], row)
		}
	}
	return out
}
