package reports

import (
	"image"
	"math"

	"github.com/saliencykit/saliency/tensor"
)

// The synthetic data of the tests: no model, no TensorFlow.

// testImage is a 28×28 one-channel input in [0, 1]: a dim diagonal gradient
// with a bright ring centred at (cx, cy).
func testImage(cx, cy float64) *tensor.Tensor {
	t := tensor.New(28, 28, 1)
	for y := range 28 {
		for x := range 28 {
			v := 0.25 * float64(x+y) / 54
			r := math.Hypot(float64(x)-cx, float64(y)-cy)
			if r > 5 && r < 9 {
				v = 0.9
			}
			t.Data[y*28+x] = float32(v)
		}
	}
	return t
}

// blob is a 28×28 map: a Gaussian of height amp and width sigma at (cx, cy).
func blob(cx, cy, sigma, amp float64) []float32 {
	m := make([]float32, 28*28)
	for y := range 28 {
		for x := range 28 {
			d2 := (float64(x)-cx)*(float64(x)-cx) + (float64(y)-cy)*(float64(y)-cy)
			m[y*28+x] = float32(amp * math.Exp(-d2/(2*sigma*sigma)))
		}
	}
	return m
}

// add is a + b, element by element.
func add(a, b []float32) []float32 {
	out := make([]float32, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

// testGrid is a rows×cols grid of synthetic images and maps; columns after
// the first alternate between absolute (overlay), signed (overlay) and
// absolute (heat map) maps.
func testGrid(rows, cols int) *Grid {
	g := &Grid{Sequential: true, Diverging: cols > 2}
	for r := range rows {
		cx, cy := 10+float64(r%3)*4, 12+float64(r%2)*4
		base := testImage(cx, cy)
		row := []Cell{}
		in, err := Image(base)
		if err != nil {
			panic(err)
		}
		row = append(row, Cell{Image: in})
		for c := 1; c < cols; c++ {
			var img image.Image
			switch c % 3 {
			case 1:
				m := tensor.Normalize(add(blob(cx, cy-7, 2.5, 1), blob(cx+7, cy+2, 3, 0.5)), false, 99)
				img, err = Overlay(base, m, false, 0.7)
			case 2:
				m := tensor.Normalize(add(blob(cx-6, cy, 3, 1), blob(cx+6, cy, 3, -0.8)), true, 99)
				img, err = Overlay(base, m, true, 0.7)
			case 0:
				m := tensor.Normalize(blob(cx, cy, 4+float64(c%4), 1), false, 100)
				img, err = Heatmap(m, 28, 28, false)
			}
			if err != nil {
				panic(err)
			}
			row = append(row, Cell{Image: img})
		}
		g.Cells = append(g.Cells, row)
	}
	return g
}
