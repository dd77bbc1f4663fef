package reports

import (
	"bytes"
	"testing"
)

// TestEmbeddedPNGShared: the SVG and the PDF of a figure drawn with a
// shared pngCache are the same bytes as drawn by vgsvg and vgpdf alone,
// and every map was encoded once, for the SVG, and taken from the cache
// for the PDF.
func TestEmbeddedPNGShared(t *testing.T) {
	for _, g := range []*Grid{goldenGrid(), testGrid(3, 5)} {
		r, dpi := g.renderer()
		cache := newPNGCache()
		for _, format := range []string{"svg", "pdf"} {
			var shared, alone bytes.Buffer
			wt, err := renderFigure(r, format, dpi, cache)
			if err != nil {
				t.Fatal(err)
			}
			wt.WriteTo(&shared)
			wt, err = renderFigure(r, format, dpi, nil)
			if err != nil {
				t.Fatal(err)
			}
			wt.WriteTo(&alone)
			if !bytes.Equal(shared.Bytes(), alone.Bytes()) {
				t.Errorf("%s: %d bytes with the shared encodings, %d without: they differ", format, shared.Len(), alone.Len())
			}
		}
		if n := len(cache.png); n == 0 || cache.hits != n {
			t.Errorf("%d maps encoded, %d taken from the cache: want each encoded for the SVG and taken for the PDF", n, cache.hits)
		}
	}
}
