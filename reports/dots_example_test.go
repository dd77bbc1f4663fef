package reports_test

import (
	"fmt"
	"image"
	"log"
	"os"
	"path/filepath"

	"github.com/saliencykit/saliency/reports"
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
