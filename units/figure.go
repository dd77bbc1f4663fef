package units

import (
	"fmt"
	"image"
	"math"

	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
	"gonum.org/v1/plot/vg"
)

// ProjectionImage shows projection j as Zeiler & Fergus and Springenberg et
// al. do: each patch on its own scale, zero as mid-grey, the largest |value|
// as black or white (v / (2·max|v|) + 0.5, every input channel alike).
func (p *Projection) ProjectionImage(j int) (image.Image, error) {
	m := p.Maps.Item(j)
	var top float64
	for _, v := range m.Data {
		top = math.Max(top, math.Abs(float64(v)))
	}
	out := tensor.New(m.Shape...)
	for i, v := range m.Data {
		if top > 0 {
			out.Data[i] = float32(float64(v)/(2*top) + 0.5)
		} else {
			out.Data[i] = 0.5
		}
	}
	return reports.Image(out)
}

// PatchImage is patch j.
func (p *Projection) PatchImage(j int) (image.Image, error) {
	return reports.Image(p.Patches.Item(j))
}

// cells are the figure cells of activation j: its projection and its patch.
func (p *Projection) cells(j int) (proj, patch reports.Cell, err error) {
	pi, err := p.ProjectionImage(j)
	if err != nil {
		return proj, patch, err
	}
	im, err := p.PatchImage(j)
	if err != nil {
		return proj, patch, err
	}
	return reports.Cell{Image: pi}, reports.Cell{Image: im}, nil
}

// Figure is Zeiler & Fergus' figure of one channel (their Fig. 2): its top
// activations' projections on the left, in a square, and the image patches
// they come from on the right, in the same order (strongest first, row by
// row).
func Figure(s *Scan, p *Projection, projector string) (*reports.Grid, error) {
	k := len(p.Top)
	side := max(1, int(math.Ceil(math.Sqrt(float64(k)))))
	rows := max(1, (k+side-1)/side)
	g := &reports.Grid{
		Title:    fmt.Sprintf("%s channel %d: top %d of %d images — %s (left), patches (right)", s.Layer, p.Channel, k, s.Images, projectorTitle(projector)),
		CellSize: 0.75 * vg.Inch,
	}
	for r := 0; r < rows; r++ {
		row := make([]reports.Cell, 2*side+1)
		for c := 0; c < side; c++ {
			j := r*side + c
			if j >= k {
				continue
			}
			var err error
			if row[c], row[side+1+c], err = p.cells(j); err != nil {
				return nil, err
			}
		}
		g.Cells = append(g.Cells, row)
	}
	return g, nil
}

// Rows is Springenberg et al.'s figure of a layer: one row per channel, its
// top activations' projections, then their image patches.
func Rows(s *Scan, ps []*Projection, projector string) (*reports.Grid, error) {
	k := 0
	for _, p := range ps {
		k = max(k, len(p.Top))
	}
	g := &reports.Grid{
		Title:    fmt.Sprintf("%s: top %d of %d images per channel — %s, then the patches", s.Layer, k, s.Images, projectorTitle(projector)),
		CellSize: 0.5 * vg.Inch,
	}
	for _, p := range ps {
		row := make([]reports.Cell, 2*k)
		for j := range p.Top {
			var err error
			if row[j], row[k+j], err = p.cells(j); err != nil {
				return nil, err
			}
		}
		g.Rows = append(g.Rows, fmt.Sprintf("ch %d", p.Channel))
		g.Cells = append(g.Cells, row)
	}
	return g, nil
}

func projectorTitle(name string) string {
	switch name {
	case "deconvnet":
		return "DeconvNet projections"
	case "guided-backprop":
		return "guided backprop projections"
	}
	return "gradient projections"
}
