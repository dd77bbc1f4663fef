package reports_test

import (
	"fmt"
	"image"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/saliencykit/saliency/reports"
)

// The similarity of two methods' maps to the original map as the layers
// of a network are randomized from the logits down, with 95% intervals,
// written as a PNG.
func ExampleCurves() {
	layers := []string{"original", "logits", "fc1", "conv2", "conv1"}
	curve := func(name string, rate float64) reports.Series {
		s := reports.Series{Name: name}
		for i := range layers {
			m := math.Exp(-rate * float64(i))
			s.Mean = append(s.Mean, m)
			s.Lo = append(s.Lo, m-0.05*float64(i))
			s.Hi = append(s.Hi, m+0.05*float64(i))
		}
		return s
	}
	c := &reports.Curves{
		Title:   "Cascading randomization",
		XLabels: layers,
		XTitle:  "layers randomized",
		Panels: []reports.Panel{
			{Title: "Rank correlation", YLabel: "Spearman ρ", Series: []reports.Series{curve("gradient", 1), curve("guided-backprop", 0.05)}},
			{Title: "SSIM", YMin: 0, YMax: 1, Series: []reports.Series{curve("gradient", 1.5), curve("guided-backprop", 0.1)}},
		},
	}
	dir, err := os.MkdirTemp("", "reports-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cascade.png")
	if err := c.Save(path); err != nil {
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
	// Output:
	// cascade.png: png, 881×459 pixels
}

// A table of metrics as LaTeX, for \input in a paper.
func ExampleTable() {
	t := &reports.Table{
		Caption: "SSIM to the original map after full randomization",
		Label:   "tab:ssim",
		Columns: []string{"method", "SSIM", "Spearman ρ"},
		Rows: [][]string{
			{"gradient", "0.08 ± 0.02", "−0.01"},
			{"guided_backprop", "0.91 ± 0.03", "0.88"},
		},
	}
	fmt.Print(string(t.LaTeX()))
	// Output:
	// \begin{table}
	// \centering
	// \caption{SSIM to the original map after full randomization}
	// \label{tab:ssim}
	// \begin{tabular}{lrr}
	// \toprule
	// method & SSIM & Spearman $\rho$ \\
	// \midrule
	// gradient & 0.08 $\pm$ 0.02 & $-$0.01 \\
	// guided\_backprop & 0.91 $\pm$ 0.03 & 0.88 \\
	// \bottomrule
	// \end{tabular}
	// \end{table}
}

// The index page of a run as Markdown.
func ExamplePage() {
	p := &reports.Page{
		Title: "Sanity checks",
		Blocks: []reports.Block{{
			Heading: "Cascading randomization",
			Text:    []string{"Gradient maps change as the layers are randomized; guided backprop's do not."},
			Figure:  "cascade.png",
			Caption: "Similarity to the original map",
			Links:   []reports.Link{{Text: "PDF", Href: "cascade.pdf"}},
		}},
	}
	fmt.Print(string(p.Markdown()))
	// Output:
	// # Sanity checks
	//
	// ## Cascading randomization
	//
	// Gradient maps change as the layers are randomized; guided backprop's do not.
	//
	// ![Similarity to the original map](cascade.png)
	//
	// *Similarity to the original map*
	//
	// [PDF](cascade.pdf)
}
