package analysis

import (
	"fmt"
	"math"
	"slices"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
)

// fragility compares each method's maps of the original images with those
// of randomly perturbed ones (random sign noise of L∞ size ε, clipped to
// the input range; Ghorbani et al. 2019), by every metric, beside the share
// of images whose prediction is unchanged.
func (rd *runData) fragility(t runfolder.PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	for mi, m := range pf.Models {
		var steps []int
		var labels []string
		attack := -1
		for si, s := range m.Steps {
			switch s.Mode {
			case "perturbation":
				steps = append(steps, si)
				labels = append(labels, fmt.Sprintf("ε = %g", s.Epsilon))
			case "attack":
				attack = si
			}
		}
		if attack >= 0 {
			steps = append(steps, attack)
			labels = append(labels, fmt.Sprintf("attack, ε = %g", m.Steps[attack].Epsilon))
		}
		if len(steps) == 0 {
			continue
		}
		n := len(pf.Images)
		// The share of predictions kept, per ε.
		keptSer := reports.Series{Name: "prediction kept", Mean: []float64{1}, Lo: []float64{1}, Hi: []float64{1}}
		var kept []stats.Summary
		for _, si := range steps {
			vals := make([]float64, n)
			for i := range n {
				if rd.predicted[mi][si] != nil && rd.predicted[mi][si][i] == m.Predicted[i] {
					vals[i] = 1
				}
			}
			s, err := rd.bootstrap(vals)
			if err != nil {
				return sec, err
			}
			kept = append(kept, s)
			keptSer.Mean, keptSer.Lo, keptSer.Hi = append(keptSer.Mean, s.Mean), append(keptSer.Lo, s.Lo), append(keptSer.Hi, s.Hi)
		}
		curves := &reports.Curves{Palette: reports.ColorBlind(), Title: fmt.Sprintf("%s: fragility, maps of randomly perturbed images against the original maps (mean, 95%% CI over %d images)", m.Name, n),
			XLabels: append([]string{"original"}, labels...), XTitle: "random sign perturbation, L∞ size ε of the input range", Columns: 3}
		var lastBy []map[string]stats.Summary
		var methods []int
		for ki := range pf.Methods {
			if rd.maps[mi][0][ki] != nil {
				methods = append(methods, ki)
				lastBy = append(lastBy, map[string]stats.Summary{})
			}
		}
		for _, metric := range pf.Metrics {
			panel := reports.Panel{Title: metricDefs[metric].title, YLabel: "similarity"}
			for j, ki := range methods {
				s := reports.Series{Name: reports.MethodName(pf.Methods[ki].Dir), Mean: []float64{1}, Lo: []float64{1}, Hi: []float64{1}}
				for k, si := range steps {
					vals, err := rd.compare(mi, ki, []int{si}, metric)
					if err != nil {
						return sec, err
					}
					sum, err := rd.bootstrap(vals)
					if err != nil {
						return sec, err
					}
					mean, lo, hi := math.NaN(), math.NaN(), math.NaN()
					if sum.N > 0 {
						mean, lo, hi = sum.Mean, sum.Lo, sum.Hi
					}
					s.Mean, s.Lo, s.Hi = append(s.Mean, mean), append(s.Lo, lo), append(s.Hi, hi)
					if k == len(steps)-1 {
						lastBy[j][metric] = sum
					}
				}
				panel.Series = append(panel.Series, s)
			}
			curves.Panels = append(curves.Panels, panel)
		}
		curves.Panels = append(curves.Panels, reports.Panel{Title: "predictions unchanged", YLabel: "share of images", YMin: 0, YMax: 1, Series: []reports.Series{keptSer}})
		name := runfolder.SafeName(m.Name) + "-fragility"
		rd.fit(name, curves)
		png, links, err := save(name, curves)
		if err != nil {
			return sec, err
		}
		eps := m.Steps[steps[len(steps)-1]].Epsilon
		k := kept[len(kept)-1]
		// With an attack, the random perturbation of the same size is the
		// one before it.
		randomBy := lastBy
		if attack >= 0 && len(steps) > 1 {
			k = kept[len(kept)-2]
			randomBy = make([]map[string]stats.Summary, len(methods))
			for j, ki := range methods {
				randomBy[j] = map[string]stats.Summary{}
				for _, metric := range pf.Metrics {
					vals, err := rd.compare(mi, ki, []int{steps[len(steps)-2]}, metric)
					if err != nil {
						return sec, err
					}
					if randomBy[j][metric], err = rd.bootstrap(vals); err != nil {
						return sec, err
					}
				}
			}
		}
		primary := "top-k"
		if !slices.Contains(pf.Metrics, primary) {
			primary = primaryMetric(pf.Metrics)
		}
		var lines []string
		for j, ki := range methods {
			s := randomBy[j][primary]
			word := "as robust as the prediction"
			if s.N > 0 && k.N > 0 && s.Hi < k.Lo {
				word = "more fragile than the prediction"
			}
			line := fmt.Sprintf("Fragility, %s, %s: at ε = %g the %s with the original map is %s while %s of the predictions are unchanged: the map is %s.",
				m.Name, pf.Methods[ki].Dir, eps, metricDefs[primary].title, s, k, word)
			if attack >= 0 {
				// Ghorbani et al.'s question: does a targeted perturbation
				// that keeps the prediction move the map more than random
				// noise of the same size?
				a := lastBy[j][primary]
				word = "as robust under attack as under noise"
				if a.N > 0 && s.N > 0 && a.Hi < s.Lo {
					word = "fragile under attack"
				}
				search := rd.attack[mi][ki]
				if search == "" {
					search = "random search"
				}
				kept := 0
				for i, c := range rd.predicted[mi][attack] {
					if c == m.Predicted[i] {
						kept++
					}
				}
				line = fmt.Sprintf("Fragility, %s, %s: at ε = %g the targeted attack (%d steps, %s; %d of %d predictions kept) brings the %s with the original map to %s, against %s under random sign noise of the same size: the map is %s.",
					m.Name, pf.Methods[ki].Dir, eps, m.Steps[attack].Attack, search, kept, len(rd.predicted[mi][attack]), metricDefs[primary].title, a, s, word)
			}
			if ok, why, err := rd.independent(mi, ki); err != nil {
				return sec, err
			} else if ok {
				word = "input-independent"
				line += fmt.Sprintf(" But its maps do not depend on the image (%s): no perturbation can move them, and the test does not apply (degenerate).", why)
			}
			lines = append(lines, line)
			sec.verdicts = append(sec.verdicts, line)
			for _, metric := range pf.Metrics {
				v := ""
				if metric == primary {
					v = word
				}
				sec.findings = append(sec.findings, newFinding(fmt.Sprintf("fragility (ε = %g)", eps), m.Name, pf.Methods[ki].Dir, metric, randomBy[j][metric], nil, v))
				if attack >= 0 {
					sec.findings = append(sec.findings, newFinding(fmt.Sprintf("fragility, targeted attack (ε = %g)", eps), m.Name, pf.Methods[ki].Dir, metric, lastBy[j][metric], nil, ""))
				}
			}
		}
		sec.blocks = append(sec.blocks,
			reports.Block{Heading: "Fragility: " + m.Name, Bullets: true, Text: append([]string{fmt.Sprintf(
				"Each image gets random sign noise of L∞ size ε (a fraction of the range from black to white, seeded per image and ε, clipped to the range), and the maps of the perturbed image, for the class explained originally, are compared with the original maps (Ghorbani et al. 2019). The map is called more fragile than the prediction when the interval of %s lies below that of the share of unchanged predictions.",
				metricDefs[primary].title)}, lines...)},
			reports.Block{Figure: png, Links: links, Caption: "Similarity of the maps of perturbed images to the original maps, and the share of unchanged predictions, against ε."})
	}
	return sec, nil
}
