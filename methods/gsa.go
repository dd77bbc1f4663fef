package methods

import (
	"context"
	"fmt"

	"github.com/saliencykit/saliency/tensor"
)

// GSA holds the options that Sobol and HSIC attribution share: the image is
// cut into a Grid×Grid grid of cells, each cell a variable of a design of
// masks (values in [0,1] per cell, upsampled by nearest neighbour), applied
// to the image by a perturbation. The final per-cell indices are upsampled
// to the image bicubically (Xplique's tf.image.resize(method="bicubic")).
type GSA struct {
	// Grid is the side of the grid of cells (default 8, Xplique's).
	Grid int `yaml:"grid_size"`
	// Sampler draws the design: sobol (default; the unscrambled Sobol'
	// sequence of tf.math.sobol_sample, Xplique's), lhs (a Latin hypercube)
	// or random.
	Sampler string `yaml:"sampler"`
	// Perturbation applies a mask M to the image x: inpainting (default;
	// x ⊙ M + (1 − M)·black), blurring (x ⊙ M + (1 − M) ⊙ the 10×10 box
	// blur of x) or amplitude (x ⊙ (M − ½), Xplique's code).
	Perturbation string `yaml:"perturbation"`
	// Seed selects the lhs and random designs.
	Seed uint64 `yaml:"seed"`
}

// MaxGSAGrid bounds grid_size: the design has a variable per cell and the
// Sobol' sequence's table MaxSobolDimension dimensions.
const MaxGSAGrid = 16

// DefaultGSAGrid is Xplique's grid of Sobol and HSIC attribution.
const DefaultGSAGrid = 8

func (g GSA) validate(name string) error {
	if g.Grid < 0 || g.Grid > MaxGSAGrid {
		return optionErr(name, []string{"grid_size"}, "grid_size must be 1 to %d, got %d", MaxGSAGrid, g.Grid)
	}
	if err := validSampler(name, g.Sampler); err != nil {
		return err
	}
	return validPerturbation(name, g.Perturbation)
}

func (g GSA) grid() int { return cmp0(g.Grid, DefaultGSAGrid) }

// run puts the masks [nm][gd*gd] (cell values) through the model on every
// image of the probe and returns the scores out[i][s].
func (g GSA) run(ctx context.Context, name string, m Model, p *probe, masks [][]float32, gd int, ch Chunking) ([][]float64, error) {
	x := p.b.X
	n := x.Shape[0]
	h, w, c := imageShape(x)
	per := h * w * c
	kind := g.Perturbation
	if kind == "" {
		kind = PerturbInpainting
	}
	prt := make([]perturber, n)
	for i := range prt {
		prt[i] = newPerturber(kind, x.Data[i*per:(i+1)*per], h, w, c, p.b.Black)
	}
	up := make([]float32, h*w)
	return p.perturbed(ctx, name, m, all(n), len(masks), ch, func(i, s int, dst []float32) {
		nearestUp(masks[s], gd, gd, up, h, w)
		prt[i].apply(up, dst)
	})
}

// cellMaps upsamples the per-cell indices [n][gd*gd] bicubically to the
// images' size.
func cellMaps(idx [][]float64, gd, h, w int) *tensor.Tensor {
	n := len(idx)
	low := tensor.New(n, gd, gd)
	out := tensor.New(n, h, w)
	for i, v := range idx {
		for q, x := range v {
			low.Data[i*gd*gd+q] = float32(x)
		}
		tensor.ResizeBicubic(low.Data[i*gd*gd:(i+1)*gd*gd], gd, gd, 1, out.Data[i*h*w:(i+1)*h*w], h, w)
	}
	return out
}

// fedDesign checks a fed design [rows, gd, gd] (or [rows, gd*gd]).
func fedDesign(name string, t *tensor.Tensor, rows, gd int) ([][]float32, error) {
	s := t.Shape
	d := gd * gd
	if !(len(s) == 3 && s[0] == rows && s[1] == gd && s[2] == gd) && !(len(s) == 2 && s[0] == rows && s[1] == d) {
		return nil, fmt.Errorf("methods: %s: the design has shape %v, want [%d,%d,%d]", name, s, rows, gd, gd)
	}
	out := make([][]float32, rows)
	for i := range out {
		out[i] = t.Data[i*d : (i+1)*d]
		for _, v := range out[i] {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("methods: %s: a design value %g is outside [0,1]", name, v)
			}
		}
	}
	return out, nil
}
