package reports_test

import (
	"fmt"
	"log"
	"math"
	"strings"

	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
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

// The layers of a deep model to show in a grid that fits a page: at most
// six, evenly spaced among the block outputs, the first and last always.
func ExamplePickColumns() {
	layers := []string{"original", "conv1", "block1_out", "conv2", "block2_out", "conv3", "block3_out",
		"conv4", "block4_out", "conv5", "block5_out", "conv6", "block6_out", "logits"}
	isBlock := func(l string) bool { return strings.HasSuffix(l, "_out") }
	var picked []string
	for _, i := range reports.PickColumns(layers, 6, isBlock) {
		picked = append(picked, layers[i])
	}
	fmt.Println(strings.Join(picked, " "))
	fmt.Println(reports.PickColumns(layers, 4, nil))
	// Output:
	// original block1_out block3_out block4_out block6_out logits
	// [0 4 9 13]
}

// A grid for a paper: the input first, captioned with its class and logit,
// then the maps of a few picked layers, each column noting how many
// images keep their top-1 class, laid out across both columns of a
// two-column paper.
func ExampleGrid_paper() {
	input := tensor.New(28, 28, 1)
	m := make([]float32, 28*28)
	for i := range input.Data {
		input.Data[i] = float32(i%28) / 28
		m[i] = float32(i % 7)
	}
	in, err := reports.Image(input)
	if err != nil {
		log.Fatal(err)
	}
	over, err := reports.Overlay(input, tensor.Normalize(m, false, 99), false, 0.7)
	if err != nil {
		log.Fatal(err)
	}
	layers := []string{"original", "fc2", "fc1", "conv4", "conv3", "conv2", "conv1"}
	g := &reports.Grid{Columns: []string{"input"}, ColumnNotes: []string{""}, Sequential: true}
	row := []reports.Cell{{Image: in, Caption: "Sneaker · logit 7.31"}}
	for i, l := range layers {
		g.Columns = append(g.Columns, l)
		g.ColumnNotes = append(g.ColumnNotes, fmt.Sprintf("top-1 agrees %d/20", 20-3*i))
		row = append(row, reports.Cell{Image: over})
	}
	g.Cells = [][]reports.Cell{row}
	g.Rows = []string{reports.MethodName("guided-backprop")}

	// The input and five of the seven layers.
	cols := []int{0}
	for _, i := range reports.PickColumns(layers, 5, nil) {
		cols = append(cols, i+1)
	}
	paper, err := g.SelectColumns(cols...)
	if err != nil {
		log.Fatal(err)
	}
	paper.Width = reports.PaperTextWidth
	w, h, err := paper.Size()
	if err != nil {
		log.Fatal(err)
	}
	least, err := paper.SmallestFont(reports.PaperTextWidth)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(paper.Columns)
	fmt.Printf("%.1f × %.1f inches, smallest text %.0f pt\n", w/vg.Inch, h/vg.Inch, least)
	// Output:
	// [input original fc1 conv4 conv2 conv1]
	// 7.0 × 2.3 inches, smallest text 7 pt
}
