package reports_test

import (
	"fmt"
	"image"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
)

// A figure of one image explained by an absolute and a signed map, written
// as a PNG.
func ExampleGrid() {
	// A 28×28 input (a bright square on a dark gradient) and two maps over
	// it: the absolute map a blob on the square, the signed map positive on
	// its left and negative on its right. Maps come normalised, for example
	// by tensor.Normalize.
	input := tensor.New(28, 28, 1)
	abs := make([]float32, 28*28)
	signed := make([]float32, 28*28)
	for y := range 28 {
		for x := range 28 {
			i := y*28 + x
			input.Data[i] = float32(x+y) / 216
			if x >= 8 && x < 20 && y >= 8 && y < 20 {
				input.Data[i] = 0.9
			}
			d2 := float64((x-14)*(x-14) + (y-14)*(y-14))
			abs[i] = float32(math.Exp(-d2 / 18))
			signed[i] = float32(float64(14-x) / 6 * math.Exp(-d2/40))
		}
	}
	in, err := reports.Image(input)
	if err != nil {
		log.Fatal(err)
	}
	grad, err := reports.Overlay(input, tensor.Normalize(abs, false, 99), false, 0.7)
	if err != nil {
		log.Fatal(err)
	}
	ig, err := reports.Overlay(input, tensor.Normalize(signed, true, 99), true, 0.7)
	if err != nil {
		log.Fatal(err)
	}

	g := &reports.Grid{
		Title:      "One square, two methods",
		Columns:    []string{"input", "gradient", "integrated-gradients"},
		Rows:       []string{"square\npred: square (0.99)"},
		Cells:      [][]reports.Cell{{{Image: in}, {Image: grad}, {Image: ig}}},
		Sequential: true,
		Diverging:  true,
	}
	dir, err := os.MkdirTemp("", "reports-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "grid.png")
	if err := g.Save(path); err != nil {
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
	// grid.png: png, 674×374 pixels
}

// The colours of normalised saliency values.
func ExampleColorOf() {
	for _, v := range []float64{0, 0.5, 1} {
		fmt.Printf("absolute %4.1f: %v\n", v, reports.ColorOf(v, false))
	}
	for _, v := range []float64{-1, 0, 1} {
		fmt.Printf("signed   %4.1f: %v\n", v, reports.ColorOf(v, true))
	}
	// Output:
	// absolute  0.0: {0 0 0 255}
	// absolute  0.5: {186 47 32 255}
	// absolute  1.0: {238 210 20 255}
	// signed   -1.0: {58 76 192 255}
	// signed    0.0: {221 221 221 255}
	// signed    1.0: {180 4 38 255}
}
