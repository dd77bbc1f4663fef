package analysis

import (
	"fmt"
	"math"
	"strings"

	"github.com/saliencykit/saliency/reports"
	"gonum.org/v1/plot/vg"
)

// halfPage is half the width of a letter page (8.5 in): a report's figure
// must stay legible there, its smallest text at least
// reports.MinPaperFontSize (7 pt), whether it is printed in a column of a
// two-column paper or across both.
const halfPage = 4.25 * vg.Inch

// paperFigure is a figure laid out for a paper's width.
type paperFigure interface {
	Size() (w, h vg.Length, err error)
	SmallestFont(width vg.Length) (vg.Length, error)
}

// fit lays figure name out for a paper: at half a page's width when it
// fits there (Curves and Dots in fewer columns of panels if need be), else
// at the text width of a two-column paper, else at its natural size; and
// records the size of its smallest text printed at half a page
// (manifest.json, figure_text_pt).
func (rd *runData) fit(name string, f paperFigure) { rd.fitAt(name, f, halfPage) }

// fitAt lays figure name out at width when it fits, else wider, and
// records its smallest text printed at width.
func (rd *runData) fitAt(name string, f paperFigure, width vg.Length) {
	try := func(w vg.Length) bool {
		switch f := f.(type) {
		case *reports.Curves:
			f.Width = w
			cols := f.Columns
			for ; f.Columns >= 1; f.Columns-- {
				if _, _, err := f.Size(); err == nil {
					return true
				}
			}
			f.Columns = cols
		case *reports.Dots:
			f.Width = w
			cols := f.Columns
			for ; f.Columns >= 1; f.Columns-- {
				if _, _, err := f.Size(); err == nil {
					return true
				}
			}
			f.Columns = cols
		case *reports.Grid:
			f.Width = w
			if _, _, err := f.Size(); err == nil {
				return true
			}
		}
		return false
	}
	if !try(width) && (width >= reports.PaperTextWidth || !try(reports.PaperTextWidth)) {
		try(0)
	}
	pt, err := f.SmallestFont(width)
	if rd.fonts == nil {
		rd.fonts = map[string]float64{}
	}
	if err != nil {
		rd.fonts[name] = math.NaN()
		return
	}
	rd.fonts[name] = math.Round(float64(pt)*10) / 10
}

// smallFonts names the figures whose text at half a page is below
// reports.MinPaperFontSize.
func (rd *runData) smallFonts() string {
	var small []string
	for name, pt := range rd.fonts {
		if !(pt >= float64(reports.MinPaperFontSize)) {
			small = append(small, fmt.Sprintf("%s (%.1f pt)", name, pt))
		}
	}
	return strings.Join(small, ", ")
}
