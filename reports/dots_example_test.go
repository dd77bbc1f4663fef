package reports_test

import (
	"fmt"
	"image"
	"log"
	"os"
	"path/filepath"

	"github.com/saliencykit/saliency/reports"
	"gonum.org/v1/plot/vg"
)

// The pointing game and mask AUC of three methods under a trained and a
// randomized model, with 95% confidence intervals and the score of a
// random map, written as a PNG.
func ExampleDots() {
	random := 0.5
	d := &reports.Dots{
		Title:      "Localization",
		Categories: []string{"gradient", "smoothgrad", "gradcam"},
		Panels: []reports.DotPanel{
			{
				Title: "Pointing game", YLabel: "hit rate", YMin: 0, YMax: 1,
				Series: []reports.DotSeries{
					{Name: "trained", Mean: []float64{0.62, 0.71, 0.91}, Lo: []float64{0.55, 0.64, 0.86}, Hi: []float64{0.69, 0.78, 0.95}},
					{Name: "randomized", Mean: []float64{0.33, 0.35, 0.36}, Lo: []float64{0.26, 0.28, 0.29}, Hi: []float64{0.40, 0.42, 0.43}},
				},
			},
			{
				Title: "Mask AUC", YLabel: "ROC AUC of |map|",
				Series: []reports.DotSeries{
					{Name: "trained", Mean: []float64{0.71, 0.76, 0.83}, Lo: []float64{0.69, 0.73, 0.80}, Hi: []float64{0.73, 0.79, 0.85}},
					{Name: "randomized", Mean: []float64{0.52, 0.55, 0.53}, Lo: []float64{0.50, 0.52, 0.51}, Hi: []float64{0.54, 0.58, 0.55}},
				},
				Reference: &random, ReferenceLabel: "random",
			},
		},
	}
	dir, err := os.MkdirTemp("", "reports-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "localization.png")
	if err := d.Save(path); err != nil {
		log.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s, %d×%d pixels\n", filepath.Base(path), format, cfg.Width, cfg.Height)

	// An interval upside down is an error.
	d.Panels[1].Series[0].Lo[2] = 0.9
	if _, _, err := d.Size(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// localization.png: png, 954×432 pixels
	// reports: dots panel 1 ("Mask AUC") series "trained" has interval [0.9, 0.85] at "gradcam"
}

// Input invariance for one column of a paper: the relative difference
// between the maps of an input and of the same input shifted by a
// constant, rounding errors of 1e-7 beside changes of 10–30%, on a log
// axis with a 1% tolerance. The exact zero of integrated gradients is
// drawn at the floor, whose tick reads ≤10⁻⁹; no text is below 7 points
// once printed 3.4 inches wide.
func ExampleDots_logY() {
	d := &reports.Dots{
		Categories: []string{"gradient", "integrated-gradients", "gradient×input"},
		Width:      reports.PaperColumnWidth,
		Palette:    reports.ColorBlind(),
		Panels: []reports.DotPanel{{
			Title: "Input invariance", YLabel: "relative difference",
			LogY: true, LogFloor: 1e-9,
			Lines: []reports.HLine{{Y: 0.01, Label: "1% tolerance", Note: "1%"}},
			Series: []reports.DotSeries{
				{Name: "MLP", Mean: []float64{2e-7, 0, 0.31}, Lo: []float64{1e-7, 0, 0.25}, Hi: []float64{4e-7, 0, 0.37}},
				{Name: "CNN", Mean: []float64{5e-7, 3e-6, 0.12}, Lo: []float64{2e-7, 1e-6, 0.10}, Hi: []float64{9e-7, 8e-6, 0.15}},
			},
		}},
	}
	w, h, err := d.Size()
	if err != nil {
		log.Fatal(err)
	}
	least, err := d.SmallestFont(reports.PaperColumnWidth)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.1f × %.1f inches, smallest text %.0f pt\n", w/vg.Inch, h/vg.Inch, least)

	// A log axis has no zero to draw a line at.
	d.Panels[0].Lines[0].Y = 0
	if _, _, err := d.Size(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 3.4 × 3.2 inches, smallest text 7 pt
	// reports: dots panel 0 ("Input invariance") line 0 is at 0
}
