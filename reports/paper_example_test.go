package reports_test

import (
	"fmt"
	"log"
	"math"

	"github.com/saliencykit/saliency/reports"
	"gonum.org/v1/plot/vg"
)

// A figure for one column of a two-column paper: the similarity of four
// methods to their original maps with a verdict threshold and the band a
// random map reaches, and their logit errors on a log axis with a 1%
// tolerance; papers' method names, colours for every reader, and no text
// below 7 points once printed 3.4 inches wide.
func ExampleCurves_paper() {
	layers := []string{"original", "logits", "fc1", "conv2", "conv1"}
	methods := []string{"gradient", "smoothgrad", "guided-backprop", "gradcam"}
	var sim, errs []reports.Series
	for k, m := range methods {
		s := reports.Series{Name: reports.MethodName(m)}
		e := reports.Series{Name: reports.MethodName(m)}
		for i := range layers {
			v := math.Exp(-float64(i) / float64(k+1))
			s.Mean, s.Lo, s.Hi = append(s.Mean, v), append(s.Lo, v-0.05), append(s.Hi, v+0.05)
			e.Mean = append(e.Mean, math.Pow(10, float64(i-7+k))) // 1e-7 … 1e-0
		}
		e.Mean[0] = 0 // exact: drawn at the floor, which the axis labels ≤10⁻⁷
		sim, errs = append(sim, s), append(errs, e)
	}
	c := &reports.Curves{
		XLabels: layers,
		XTitle:  "layers randomized",
		Columns: 1,
		Width:   reports.PaperColumnWidth,
		Palette: reports.ColorBlind(),
		Dodge:   0.2,
		Panels: []reports.Panel{
			{Title: "Rank correlation", YLabel: "Spearman ρ", Series: sim,
				Lines: []reports.HLine{{Y: 0.5, Label: "verdict threshold", Note: "0.5"}},
				Bands: []reports.HBand{{Lo: -0.05, Hi: 0.1, Label: "random map (95%)"}}},
			{Title: "Logit error", YLabel: "relative error", Series: errs, LogY: true,
				Lines: []reports.HLine{{Y: 0.01, Label: "1% tolerance", Dashes: []vg.Length{1.5, 1.5}}}},
		},
	}
	w, h, err := c.Size()
	if err != nil {
		log.Fatal(err)
	}
	least, err := c.SmallestFont(reports.PaperColumnWidth)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.1f × %.1f inches, smallest text %.0f pt\n", w/vg.Inch, h/vg.Inch, least)
	// c.Save("cascade.pdf") writes it for \includegraphics[width=\columnwidth]{cascade}.
	// Output:
	// 3.4 × 6.6 inches, smallest text 7 pt
}
