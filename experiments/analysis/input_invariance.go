package analysis

import (
	"fmt"
	"math"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
)

// invarianceTolerance is the largest relative difference between the maps
// of the original and the shifted model that counts as invariant: float32
// rounding through a network is far below it, a method that reads the
// input's values far above.
const invarianceTolerance = 0.01

// inputInvariance compares, for each model and method, the maps of the
// original model with those of the model whose input is shifted and whose
// first layer absorbs the shift (Kindermans et al. 2017): the two models
// compute the same function, so an input-invariant method gives the same
// map.
func (rd *runData) inputInvariance(t runfolder.PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	for mi, m := range pf.Models {
		si := -1
		for i, s := range m.Steps {
			if s.Mode == "input-shift" && s.Name == fmt.Sprintf("shift%+g", t.Shift) {
				si = i
			}
		}
		if si < 0 {
			continue
		}
		step := m.Steps[si]
		var methods []int
		var names []string
		for ki := range pf.Methods {
			if rd.maps[mi][0][ki] != nil && rd.maps[mi][si][ki] != nil {
				methods = append(methods, ki)
				names = append(names, reports.MethodName(pf.Methods[ki].Dir))
			}
		}
		n := len(pf.Images)
		var relSums, corSums []stats.Summary
		for _, ki := range methods {
			a, b := rd.maps[mi][0][ki], rd.maps[mi][si][ki]
			rel, cor := make([]float64, n), make([]float64, n)
			for j := range n {
				x, y := a.Item(j).Data, b.Item(j).Data
				var d, s float64
				for p := range x {
					d = max(d, math.Abs(float64(x[p]-y[p])))
					s = max(s, math.Abs(float64(x[p])))
				}
				rel[j] = d / s
				if s == 0 {
					rel[j] = math.NaN()
				}
				cor[j] = metrics.Pearson(x, y)
			}
			r, err := rd.bootstrap(rel)
			if err != nil {
				return sec, err
			}
			c, err := rd.bootstrap(cor)
			if err != nil {
				return sec, err
			}
			relSums, corSums = append(relSums, r), append(corSums, c)
		}
		tol, zero, one := float64(invarianceTolerance), 0.0, 1.0
		dots := &reports.Dots{Palette: reports.ColorBlind(), Title: fmt.Sprintf("%s: input invariance, maps of the original model and of the model with inputs shifted by %+g of the range (mean, 95%% CI over %d images)", m.Name, t.Shift, n),
			Categories: names, Columns: 2, Panels: []reports.DotPanel{
				// A log axis: float32 rounding (1e-7) and the 1% tolerance
				// both look like 0 on a linear one.
				{Title: "largest difference / largest |map|", YLabel: "relative difference (log)", Series: []reports.DotSeries{dotSeries("value", relSums)}, LogY: true,
					Lines: []reports.HLine{{Y: tol, Label: fmt.Sprintf("tolerance (%g%%)", 100*tol), Note: fmt.Sprintf("%g%%", 100*tol)}}},
				{Title: "Pearson correlation", YLabel: "correlation", Series: []reports.DotSeries{dotSeries("value", corSums)}, Reference: &one, ReferenceLabel: "invariant"},
			}}
		name := runfolder.SafeName(m.Name) + "-input-invariance"
		rd.fit(name, dots)
		png, links, err := save(name, dots)
		if err != nil {
			return sec, err
		}
		g := &reports.Grid{Title: fmt.Sprintf("%s: original model and shifted inputs (%+g)", m.Name, t.Shift)}
		shown := min(2, n)
		for j := range shown {
			g.Columns = append(g.Columns, pf.Images[j].ID+"\noriginal", pf.Images[j].ID+"\nshifted")
		}
		for _, ki := range methods {
			var row []reports.Cell
			for j := range shown {
				for _, s := range []int{0, si} {
					cell, err := rd.mapCell(mi, s, ki, j, false)
					if err != nil {
						return sec, err
					}
					row = append(row, cell)
				}
			}
			markBar(g, rd.signed[mi][ki])
			g.Rows = append(g.Rows, reports.MethodName(pf.Methods[ki].Dir))
			g.Cells = append(g.Cells, row)
		}
		rd.fit(name+"-maps", g)
		gridPNG, gridLinks, err := save(name+"-maps", g)
		if err != nil {
			return sec, err
		}
		var lines []string
		for i, ki := range methods {
			r := relSums[i]
			word := "not invariant"
			switch {
			case r.N == 0:
				word = "undetermined"
			case r.Hi < invarianceTolerance:
				word = "invariant"
			}
			line := fmt.Sprintf("Input invariance, %s, %s: the maps of the shifted model differ by %s of the largest |map| (Pearson %s): %s.",
				m.Name, pf.Methods[ki].Dir, pctSummary(r), corSums[i], word)
			lines = append(lines, line)
			sec.verdicts = append(sec.verdicts, line)
			sec.findings = append(sec.findings,
				newFinding("input-invariance", m.Name, pf.Methods[ki].Dir, "relative difference", r, &zero, word),
				newFinding("input-invariance", m.Name, pf.Methods[ki].Dir, "pearson", corSums[i], &one, ""))
		}
		sec.blocks = append(sec.blocks,
			reports.Block{Heading: "Input invariance: " + m.Name, Bullets: true, Text: append([]string{fmt.Sprintf(
				"The input is shifted by %v (per channel) and %s's bias absorbs it, so both models compute the same function: their logits differ by at most %.2g over the images (float32 rounding). A method is invariant when the maps differ by less than %g%% of the largest |map| (the interval's upper end).",
				step.Shift, step.Layers[0], step.LogitError, invarianceTolerance*100)}, lines...)},
			reports.Block{Figure: png, Links: links, Caption: fmt.Sprintf("Difference between the maps of the original and the shifted model (Kindermans et al. 2017): 0 and a correlation of 1 for an input-invariant method. The relative difference is on a log axis (float32 rounding, about 1e-7, and the %g%% tolerance under which a method counts as invariant both look like 0 on a linear one); the lowest tick holds every smaller value, 0 included.", 100*invarianceTolerance)},
			reports.Block{Figure: gridPNG, Links: gridLinks, Caption: "The maps of both models on the first images, each normalised on its own."})
	}
	return sec, nil
}
