package experiments

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
)

// finding is one number of a test with its verdict: a row of the findings
// table that sums up every test of a report.
type finding struct {
	Test    string   `json:"test"`
	Model   string   `json:"model"`
	Method  string   `json:"method"`
	Measure string   `json:"measure"`
	N       int      `json:"n"`
	Mean    *float64 `json:"mean"`
	Lo      *float64 `json:"ci_low"`
	Hi      *float64 `json:"ci_high"`
	// Reference is the value of a random or unchanged map, when the
	// measure has one.
	Reference *float64 `json:"reference,omitempty"`
	Verdict   string   `json:"verdict"`
	sum       stats.Summary
}

// section is what a test adds to a report.
type section struct {
	blocks   []reports.Block
	verdicts []string
	findings []finding
}

// figures saves a figure in the report's formats and links the others.
type figureSaver func(name string, save func(path string) error) (png string, links []reports.Link, err error)

func (rd *runData) bootstrap(vals []float64) (stats.Summary, error) {
	return stats.Bootstrap(vals, stats.Options{Resamples: bootstrapResamples, Seed: rd.pf.Seed})
}

func newFinding(test, model, method, measure string, s stats.Summary, ref *float64, verdict string) finding {
	f := finding{Test: test, Model: model, Method: method, Measure: measure, N: s.N, Reference: ref, Verdict: verdict, sum: s}
	if s.N > 0 {
		f.Mean, f.Lo, f.Hi = ptr(s.Mean), ptr(s.Lo), ptr(s.Hi)
	}
	return f
}

// dotSeries turns summaries into a series of a Dots panel.
func dotSeries(name string, sums []stats.Summary) reports.DotSeries {
	s := reports.DotSeries{Name: name}
	for _, x := range sums {
		if x.N == 0 {
			s.Mean, s.Lo, s.Hi = append(s.Mean, math.NaN()), append(s.Lo, math.NaN()), append(s.Hi, math.NaN())
			continue
		}
		s.Mean, s.Lo, s.Hi = append(s.Mean, x.Mean), append(s.Lo, x.Lo), append(s.Hi, x.Hi)
	}
	return s
}

// dataRandomization compares the maps of a model with those of the same
// architecture trained on permuted labels (Adebayo et al. 2018, Sec. 5):
// every metric, image by image, for the classes of the first model.
func (rd *runData) dataRandomization(t PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	a, b := pf.modelIndex(t.Model), pf.modelIndex(t.Against)
	if a < 0 || b < 0 {
		return sec, fmt.Errorf("experiments: data-randomization: models %s and %s are not in the plan", t.Model, t.Against)
	}
	primary := primaryMetric(pf.Metrics)
	var methods []int
	var names []string
	for ki, m := range pf.Methods {
		if rd.maps[a][0][ki] != nil && rd.maps[b][0][ki] != nil {
			methods = append(methods, ki)
			names = append(names, m.Dir)
		}
	}
	dots := &reports.Dots{Title: fmt.Sprintf("Data randomization: maps of %s against %s (trained on permuted labels), mean and 95%% CI over %d images", t.Model, t.Against, len(pf.Images)),
		Categories: names, Columns: 3}
	byMethod := make([]map[string]stats.Summary, len(methods))
	for i := range byMethod {
		byMethod[i] = map[string]stats.Summary{}
	}
	for _, metric := range pf.Metrics {
		var sums []stats.Summary
		for i, ki := range methods {
			orig := rd.maps[a][0][ki]
			n, h, w := orig.Shape[0], orig.Shape[1], orig.Shape[2]
			vals := make([]float64, n)
			for j := range n {
				v, err := metricDefs[metric].f(orig.Item(j).Data, rd.maps[b][0][ki].Item(j).Data, h, w)
				if err != nil {
					return sec, fmt.Errorf("experiments: %s: %w", metric, err)
				}
				vals[j] = v
			}
			s, err := rd.bootstrap(vals)
			if err != nil {
				return sec, err
			}
			sums = append(sums, s)
			byMethod[i][metric] = s
		}
		dots.Panels = append(dots.Panels, reports.DotPanel{Title: metricDefs[metric].title, YLabel: "similarity", Series: []reports.DotSeries{dotSeries("similarity", sums)}})
	}
	name := "data-randomization-" + safeName(t.Model)
	png, links, err := save(name, dots.Save)
	if err != nil {
		return sec, err
	}
	// The maps side by side for the first images.
	g := &reports.Grid{Title: fmt.Sprintf("%s (trained) and %s (permuted labels)", t.Model, t.Against)}
	shown := min(3, len(pf.Images))
	for j := range shown {
		g.Columns = append(g.Columns, pf.Images[j].ID+"\n"+t.Model, pf.Images[j].ID+"\n"+t.Against)
	}
	for _, ki := range methods {
		var row []reports.Cell
		for j := range shown {
			for _, mi := range []int{a, b} {
				cell, err := rd.mapCell(mi, 0, ki, j, true)
				if err != nil {
					return sec, err
				}
				row = append(row, cell)
			}
		}
		markBar(g, rd.signed[a][ki])
		g.Rows = append(g.Rows, pf.Methods[ki].Dir)
		g.Cells = append(g.Cells, row)
	}
	gridPNG, gridLinks, err := save(name+"-maps", g.Save)
	if err != nil {
		return sec, err
	}
	var lines []string
	for i, ki := range methods {
		s := byMethod[i][primary]
		var word, what string
		switch {
		case s.N == 0:
			word, what = "undetermined", "is undefined (constant maps)"
		case s.Hi < verdictThreshold:
			word, what = "changes", fmt.Sprintf("is %s: the map depends on what the model learned (passes)", s)
		case s.Lo >= verdictThreshold:
			word, what = "barely changes", fmt.Sprintf("stays %s: the map barely depends on what the model learned (fails)", s)
		default:
			word, what = "inconclusive", fmt.Sprintf("is %s, across %.1f (inconclusive)", s, verdictThreshold)
		}
		line := fmt.Sprintf("Data randomization, %s: %s between the maps of %s and of %s %s.", pf.Methods[ki].Dir, metricDefs[primary].title, t.Model, t.Against, what)
		var others []string
		for _, m := range pf.Metrics {
			if m != primary {
				others = append(others, fmt.Sprintf("%s %s", metricDefs[m].title, byMethod[i][m]))
			}
		}
		if len(others) > 0 {
			line += " Others: " + joinComma(others) + "."
		}
		lines = append(lines, line)
		sec.verdicts = append(sec.verdicts, line)
		for _, m := range pf.Metrics {
			v := ""
			if m == primary {
				v = word
			}
			sec.findings = append(sec.findings, newFinding("data-randomization", t.Model+" vs "+t.Against, pf.Methods[ki].Dir, m, byMethod[i][m], nil, v))
		}
	}
	sec.blocks = append(sec.blocks,
		reports.Block{Heading: fmt.Sprintf("Data randomization: %s against %s", t.Model, t.Against), Bullets: true, Text: lines},
		reports.Block{Figure: png, Links: links, Caption: fmt.Sprintf("Similarity between the maps of %s and of %s, the same architecture trained on permuted labels, for the classes %s explains (Adebayo et al. 2018, Sec. 5); points are means over the images, whiskers bootstrap 95%% intervals. A method that passes gives maps unlike the trained model's.", t.Model, t.Against, t.Model)},
		reports.Block{Figure: gridPNG, Links: gridLinks, Caption: "The maps of both models on the first images."})
	return sec, nil
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// localization scores each model's original maps against the images'
// object masks: the pointing game with a tolerance (Zhang et al. 2016), the
// energy pointing game (Wang et al. 2020) and the ROC AUC of |map|, beside
// the scores of a random map.
func (rd *runData) localization(t PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	for mi, m := range pf.Models {
		masks, err := savedmodels.ReadNpy(filepath.Join(rd.dir, "inputs", safeName(m.Name)+"-masks.npy"))
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
				names = append(names, meth.Dir)
			}
		}
		dots := &reports.Dots{Title: fmt.Sprintf("%s: localization on the object masks, mean and 95%% CI over %d images", m.Name, n), Categories: names, Columns: 3}
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
		name := safeName(m.Name) + "-localization"
		png, links, err := save(name, dots.Save)
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

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

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
func (rd *runData) inputInvariance(t PlanTest, save figureSaver) (section, error) {
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
				names = append(names, pf.Methods[ki].Dir)
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
		zero, one := 0.0, 1.0
		dots := &reports.Dots{Title: fmt.Sprintf("%s: input invariance, maps of the original model and of the model with inputs shifted by %+g of the range (mean, 95%% CI over %d images)", m.Name, t.Shift, n),
			Categories: names, Columns: 2, Panels: []reports.DotPanel{
				{Title: "largest difference / largest |map|", YLabel: "relative difference", Series: []reports.DotSeries{dotSeries("value", relSums)}, Reference: &zero, ReferenceLabel: "invariant"},
				{Title: "Pearson correlation", YLabel: "correlation", Series: []reports.DotSeries{dotSeries("value", corSums)}, Reference: &one, ReferenceLabel: "invariant"},
			}}
		name := safeName(m.Name) + "-input-invariance"
		png, links, err := save(name, dots.Save)
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
			g.Rows = append(g.Rows, pf.Methods[ki].Dir)
			g.Cells = append(g.Cells, row)
		}
		gridPNG, gridLinks, err := save(name+"-maps", g.Save)
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
			reports.Block{Figure: png, Links: links, Caption: "Difference between the maps of the original and the shifted model (Kindermans et al. 2017): 0 and a correlation of 1 for an input-invariant method."},
			reports.Block{Figure: gridPNG, Links: gridLinks, Caption: "The maps of both models on the first images, each normalised on its own."})
	}
	return sec, nil
}

// pctSummary is a summary as percentages: "0.0012% [0.0010%, 0.0014%]".
func pctSummary(s stats.Summary) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3g%% [%.3g%%, %.3g%%]", 100*s.Mean, 100*s.Lo, 100*s.Hi)
}

// fragility compares each method's maps of the original images with those
// of randomly perturbed ones (random sign noise of L∞ size ε, clipped to
// the input range; Ghorbani et al. 2019), by every metric, beside the share
// of images whose prediction is unchanged.
func (rd *runData) fragility(t PlanTest, save figureSaver) (section, error) {
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
		curves := &reports.Curves{Title: fmt.Sprintf("%s: fragility, maps of randomly perturbed images against the original maps (mean, 95%% CI over %d images)", m.Name, n),
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
				s := reports.Series{Name: pf.Methods[ki].Dir, Mean: []float64{1}, Lo: []float64{1}, Hi: []float64{1}}
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
		name := safeName(m.Name) + "-fragility"
		png, links, err := save(name, curves.Save)
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
				line += fmt.Sprintf(" The targeted attack (%d rounds, every prediction kept) brings it to %s.", m.Steps[attack].Attack, lastBy[j][primary])
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

// randomLogit compares each method's maps of the explained class with its
// maps of a random other class (Sixt et al. 2020): a method that explains
// the class gives different maps.
func (rd *runData) randomLogit(t PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	primary := primaryMetric(pf.Metrics)
	for mi, m := range pf.Models {
		si := slices.IndexFunc(m.Steps, func(s PlanStep) bool { return s.Mode == "random-logit" })
		if si < 0 {
			continue
		}
		var methods []int
		var names []string
		for ki := range pf.Methods {
			if rd.maps[mi][0][ki] != nil && rd.maps[mi][si][ki] != nil && pf.Methods[ki].Name != "class-model" {
				methods = append(methods, ki)
				names = append(names, pf.Methods[ki].Dir)
			}
		}
		dots := &reports.Dots{Title: fmt.Sprintf("%s: random logit, maps of the explained class against those of a random other class (mean, 95%% CI over %d images)", m.Name, len(pf.Images)),
			Categories: names, Columns: 3}
		by := make([]map[string]stats.Summary, len(methods))
		for i := range by {
			by[i] = map[string]stats.Summary{}
		}
		for _, metric := range pf.Metrics {
			var sums []stats.Summary
			for i, ki := range methods {
				vals, err := rd.compare(mi, ki, []int{si}, metric)
				if err != nil {
					return sec, err
				}
				s, err := rd.bootstrap(vals)
				if err != nil {
					return sec, err
				}
				sums = append(sums, s)
				by[i][metric] = s
			}
			dots.Panels = append(dots.Panels, reports.DotPanel{Title: metricDefs[metric].title, YLabel: "similarity", Series: []reports.DotSeries{dotSeries("similarity", sums)}})
		}
		name := safeName(m.Name) + "-random-logit"
		png, links, err := save(name, dots.Save)
		if err != nil {
			return sec, err
		}
		var lines []string
		for i, ki := range methods {
			s := by[i][primary]
			word := "inconclusive"
			switch {
			case s.N == 0:
				word = "undetermined"
			case s.Hi < verdictThreshold:
				word = "class-sensitive"
			case s.Lo >= verdictThreshold:
				word = "not class-sensitive"
			}
			line := fmt.Sprintf("Random logit, %s, %s: %s between the maps of the explained class and of a random other class is %s: %s.",
				m.Name, pf.Methods[ki].Dir, metricDefs[primary].title, s, word)
			lines = append(lines, line)
			sec.verdicts = append(sec.verdicts, line)
			for _, metric := range pf.Metrics {
				v := ""
				if metric == primary {
					v = word
				}
				sec.findings = append(sec.findings, newFinding("random-logit", m.Name, pf.Methods[ki].Dir, metric, by[i][metric], nil, v))
			}
		}
		sec.blocks = append(sec.blocks,
			reports.Block{Heading: "Random logit: " + m.Name, Bullets: true, Text: append([]string{fmt.Sprintf(
				"Each image is also explained for a random other class (seeded; Sixt et al. 2020). A method is class-sensitive when the interval of %s between the two maps lies below %.1f.", metricDefs[primary].title, verdictThreshold)}, lines...)},
			reports.Block{Figure: png, Links: links, Caption: "Similarity between the maps of the explained class and of a random other class."})
	}
	return sec, nil
}
