package analysis

import (
	"fmt"
	"path/filepath"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
)

// localization scores each model's original maps against the images'
// object masks: the pointing game with a tolerance (Zhang et al. 2016), the
// energy pointing game (Wang et al. 2020) and the ROC AUC of |map|, beside
// the scores of a random map.
func (rd *runData) localization(t runfolder.PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	for mi, m := range pf.Models {
		masks, err := savedmodels.ReadNpy(filepath.Join(rd.dir, "inputs", runfolder.SafeName(m.Name)+"-masks.npy"))
		if err != nil {
			return sec, err
		}
		h, w := m.Shape[0], m.Shape[1]
		tol := 15 * float64(max(h, w)) / 224
		if t.Tolerance != nil {
			tol = *t.Tolerance
		}
		n := len(pf.Images)
		// The scores of a random map: the (dilated) area fraction, and one half.
		var pgRef, eRef []float64
		for j := range n {
			mask := masks.Item(j).Data
			in, near := 0, 0
			for p := range mask {
				if mask[p] == 1 {
					in++
				}
				if metrics.NearMask(mask, h, w, p/w, p%w, tol) {
					near++
				}
			}
			pgRef = append(pgRef, float64(near)/float64(h*w))
			eRef = append(eRef, float64(in)/float64(h*w))
		}
		refPG, refE, refAUC := mean(pgRef), mean(eRef), 0.5
		measures := []struct {
			name, title string
			ref         float64
			f           func(a, mask []float32) (float64, error)
		}{
			{"pointing-game", fmt.Sprintf("pointing game (tolerance %.3g px)", tol), refPG, func(a, mask []float32) (float64, error) {
				return metrics.PointingGame(a, mask, h, w, tol)
			}},
			{"energy-pointing-game", "energy pointing game", refE, func(a, mask []float32) (float64, error) { return metrics.EnergyPointingGame(a, mask, h, w) }},
			{"mask-auc", "ROC AUC of |map| against the mask", refAUC, func(a, mask []float32) (float64, error) { return metrics.MaskAUC(a, mask, h, w) }},
		}
		var methods []int
		var names []string
		for ki, meth := range pf.Methods {
			if rd.maps[mi][0][ki] != nil && meth.Name != "class-model" {
				methods = append(methods, ki)
				names = append(names, reports.MethodName(meth.Dir))
			}
		}
		dots := &reports.Dots{Palette: reports.ColorBlind(), Title: fmt.Sprintf("%s: localization on the object masks, mean and 95%% CI over %d images", m.Name, n), Categories: names, Columns: 3}
		sums := make([][]stats.Summary, len(measures))
		for qi, q := range measures {
			for _, ki := range methods {
				vals := make([]float64, n)
				for j := range n {
					v, err := q.f(rd.maps[mi][0][ki].Item(j).Data, masks.Item(j).Data)
					if err != nil {
						return sec, fmt.Errorf("experiments: %s, image %s: %w", q.name, pf.Images[j].ID, err)
					}
					vals[j] = v
				}
				s, err := rd.bootstrap(vals)
				if err != nil {
					return sec, err
				}
				sums[qi] = append(sums[qi], s)
			}
			ref := q.ref
			dots.Panels = append(dots.Panels, reports.DotPanel{Title: q.title, YLabel: "score", YMin: 0, YMax: 1,
				Series: []reports.DotSeries{dotSeries("score", sums[qi])}, Reference: &ref, ReferenceLabel: "random map"})
		}
		name := runfolder.SafeName(m.Name) + "-localization"
		rd.fit(name, dots)
		png, links, err := save(name, dots)
		if err != nil {
			return sec, err
		}
		var lines []string
		for i, ki := range methods {
			e := sums[1][i]
			var word, what string
			switch {
			case e.N == 0:
				word, what = "undetermined", "no energy (constant zero maps)"
			case e.Lo > refE:
				word, what = "better than random", "better than a random map"
			case e.Hi <= refE:
				word, what = "no better than random", "no better than a random map"
			default:
				word, what = "inconclusive", "not distinguishable from a random map"
			}
			line := fmt.Sprintf("Localization, %s, %s: energy pointing game %s (a random map: %.2f): %s; pointing game %s (random: %.2f), mask AUC %s (random: 0.50).",
				m.Name, pf.Methods[ki].Dir, e, refE, what, sums[0][i], refPG, sums[2][i])
			lines = append(lines, line)
			sec.verdicts = append(sec.verdicts, line)
			for qi, q := range measures {
				v := ""
				if qi == 1 {
					v = word
				}
				ref := q.ref
				sec.findings = append(sec.findings, newFinding("localization", m.Name, pf.Methods[ki].Dir, q.name, sums[qi][i], &ref, v))
			}
		}
		sec.blocks = append(sec.blocks,
			reports.Block{Heading: "Localization: " + m.Name, Bullets: true, Text: lines},
			reports.Block{Figure: png, Links: links, Caption: fmt.Sprintf("How well the maps of %s point at the object: the pointing game (the map's maximum within %.3g pixels of the mask; Zhang et al. 2016), the energy pointing game (the share of Σ|map| on the mask; Wang et al. 2020) and the ROC AUC of |map| against the mask; dashed: the expected score of a random map (the mask's area fraction, dilated by the tolerance for the pointing game; 0.5 for the AUC).", m.Name, tol)})
	}
	return sec, nil
}
