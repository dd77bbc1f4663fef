package reports

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
)

// The widths of a two-column paper and the least legible font size in
// print.
const (
	// PaperColumnWidth is the width of a column of a two-column paper
	// (ACM, IEEE, …): 3.4 inches.
	PaperColumnWidth = 3.4 * vg.Inch

	// PaperTextWidth is the width of the text of a two-column paper, a
	// figure* across both columns: 7 inches.
	PaperTextWidth = 7 * vg.Inch

	// MinPaperFontSize is the least font size of a figure's text in
	// print, in points, as journals ask.
	MinPaperFontSize = 7
)

// newCanvas returns a canvas of size w×h for a figure format, "png" (at
// dpi), "svg" or "pdf"; the vector ones take the maps they embed from
// cache, when given, shared by the formats of one figure (embed.go).
func newCanvas(format string, w, h vg.Length, dpi int, cache *pngCache) (vg.CanvasWriterTo, error) {
	switch strings.ToLower(format) {
	case "png":
		if dpi == 0 {
			dpi = defaultDPI
		}
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
		useSeparableBiLinear(c)
		return pngCanvas{vgimg.PngCanvas{Canvas: c}}, nil
	case "svg":
		return newSVGCanvas(w, h, cache), nil
	case "pdf":
		c := vgpdf.New(w, h)
		return pdfCanvas{Canvas: c, embed: newPDFEmbed(c, cache)}, nil
	}
	return nil, fmt.Errorf("reports: unknown figure format %q; formats: png, svg, pdf", format)
}

// figure is what Grid, Curves and Dots have in common: a natural size and
// a way to draw on a canvas.
type figure interface {
	Size() (w, h vg.Length, err error)
	Draw(c draw.Canvas) error
}

// Figure is a figure of this package, a Grid, Curves or Dots, as
// SaveFigure and Figures write it: in several formats, laid out once.
type Figure interface {
	figure
	// renderer returns the figure with its layouts, kept from one format
	// to the next, and the resolution of its PNG.
	renderer() (r figure, dpi int)
}

var (
	_ Figure = (*Grid)(nil)
	_ Figure = (*Curves)(nil)
	_ Figure = (*Dots)(nil)
)

// panelRenderer is Curves or Dots with their layouts kept: one panelFigure,
// made after the check, for every format.
type panelRenderer struct {
	check  func() error
	figure func() *panelFigure
	f      *panelFigure
}

func (r *panelRenderer) fig() *panelFigure {
	if r.f == nil {
		r.f = r.figure()
	}
	return r.f
}

// Size is Curves.Size or Dots.Size.
func (r *panelRenderer) Size() (w, h vg.Length, err error) {
	if err := r.check(); err != nil {
		return 0, 0, err
	}
	return r.fig().size()
}

// Draw is Curves.Draw or Dots.Draw.
func (r *panelRenderer) Draw(c draw.Canvas) error {
	if err := r.check(); err != nil {
		return err
	}
	return r.fig().draw(c)
}

// SaveFigure writes f to each path in the format its extension names
// (.png at the figure's DPI, .svg or .pdf), each file atomically: the
// figure laid out once for all of them, the bytes those of f.Save(path).
func SaveFigure(f Figure, paths ...string) error {
	return saveFigures(context.Background(), f, paths)
}

// saveFigures is SaveFigure, stopped before a file when ctx is done (with
// ctx's error).
func saveFigures(ctx context.Context, f Figure, paths []string) error {
	r, dpi := f.renderer()
	cache := newPNGCache() // the maps the SVG and the PDF both embed
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := saveFigure(p, func(format string) (io.WriterTo, error) { return renderFigure(r, format, dpi, cache) }); err != nil {
			return err
		}
	}
	return nil
}

// renderFigure draws f at its natural size in a format, "png" (at dpi),
// "svg" or "pdf", and returns it ready to be written; cache, when given,
// is shared by the formats of the figure (newCanvas).
func renderFigure(f figure, format string, dpi int, cache *pngCache) (io.WriterTo, error) {
	w, h, err := f.Size()
	if err != nil {
		return nil, err
	}
	cv, err := newCanvas(format, w, h, dpi, cache)
	if err != nil {
		return nil, err
	}
	if err := f.Draw(draw.New(cv)); err != nil {
		return nil, err
	}
	return cv, nil
}

// saveFigure writes a figure to path in the format its extension names,
// as writerTo renders it, atomically (a temporary file in the same folder,
// renamed over path).
func saveFigure(path string, writerTo func(format string) (io.WriterTo, error)) error {
	format := strings.TrimPrefix(filepath.Ext(path), ".")
	wt, err := writerTo(format)
	if err != nil {
		return fmt.Errorf("reports: save %s: %w", path, unprefixed{err})
	}
	return writeAtomic(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}
