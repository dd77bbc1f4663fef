package analysis

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
)

// randomization is the report of the model-parameter randomization test
// (Adebayo et al. 2018) and its variants (bottom-up, independent, the smooth
// and efficient MPRT), written with each model: the grids and curves of
// each series, and the verdicts, summary rows and findings after every
// layer of cascading randomization.
type randomization struct {
	rd      *runData
	primary string
	// sims are the similarity table's rows, summary the summary table's,
	// verdicts one line per model and method, findings the findings
	// table's rows and emprt the eMPRT lines, in the order written.
	sims     []similarity
	summary  [][]string
	verdicts []string
	findings []Finding
	emprt    []string
	// steps are the rows of the table of each step's predictions.
	steps []stepRow
}

// stepRow is one randomization step's model against the original: the
// top-1 agreement over the images and the mean |change| of the explained
// class's score.
type stepRow struct {
	Model     string   `json:"model"`
	Mode      string   `json:"mode"`
	Step      int      `json:"step"`
	Layer     string   `json:"layer"`
	Repeats   int      `json:"repeats"`
	Agree     int      `json:"top1_agree"`
	Images    int      `json:"images"`
	MeanDelta *float64 `json:"mean_abs_score_change"`
}

// model writes the blocks of model mi's randomization series; pages are
// its methods split into figures (methodPages).
func (r *randomization) model(ctx context.Context, mi int, pages [][]int, save figureSaver, progress func(string)) ([]reports.Block, error) {
	rd, pf := r.rd, r.rd.pf
	m := pf.Models[mi]
	var blocks []reports.Block
	for _, sr := range modesOf(m) {
		// The randomization grid: methods × (original, each layer).
		progress(m.Name + " " + sr.mode)
		for pi, ks := range pages {
			all, err := rd.randomizationGrid(mi, sr, ks)
			if err != nil {
				return nil, err
			}
			// A grid that fits a page: the input, the original and at most
			// gridLayers layers, evenly spaced (the first and the last
			// kept); a deeper model's every layer goes to an appendix
			// figure (-all).
			g, picked := all, len(sr.layers)
			if len(sr.layers) > gridLayers {
				cols := []int{0, 1}
				for _, l := range reports.PickColumns(sr.layers, gridLayers, nil) {
					cols = append(cols, l+2)
				}
				if g, err = all.SelectColumns(cols...); err != nil {
					return nil, err
				}
				picked = len(cols) - 2
			}
			name := pageName(runfolder.SafeName(m.Name)+"-"+sr.mode+"-grid", pi)
			rd.fit(name, g)
			png, links, err := save(name, g)
			if err != nil {
				return nil, err
			}
			caption := gridCaption(m, sr, pf.Images[0].ID) + pageNote(pages, pi)
			if picked < len(sr.layers) {
				caption += fmt.Sprintf(" %d of the %d layers, evenly spaced; every layer: figures %s-all….", picked, len(sr.layers), name)
			}
			b := reports.Block{Figure: png, Caption: caption, Links: links}
			if pi == 0 {
				b.Heading = fmt.Sprintf("%s: %s randomization", m.Name, sr.mode)
			}
			blocks = append(blocks, b)
			// Every layer, for the appendix: at most appendixLayers per
			// figure, legible at half a page (-all, -all-2, …).
			for lo := 0; picked < len(sr.layers) && lo < len(sr.layers); lo += appendixLayers {
				hi := min(lo+appendixLayers, len(sr.layers))
				cols := []int{0, 1}
				for l := lo; l < hi; l++ {
					cols = append(cols, l+2)
				}
				part, err := all.SelectColumns(cols...)
				if err != nil {
					return nil, err
				}
				pname := name + "-all"
				if lo > 0 {
					pname += fmt.Sprintf("-%d", lo/appendixLayers+1)
				}
				rd.fit(pname, part)
				png, links, err := save(pname, part)
				if err != nil {
					return nil, err
				}
				blocks = append(blocks, reports.Block{Figure: png, Caption: gridCaption(m, sr, pf.Images[0].ID) + pageNote(pages, pi) + fmt.Sprintf(" Layers %d to %d of %d (appendix).", lo+1, hi, len(sr.layers)), Links: links})
			}
		}
		// Each step's predictions (summed over its repeats).
		for li, st := range sr.steps {
			row := stepRow{Model: m.Name, Mode: sr.mode, Step: li + 1, Layer: sr.layers[li], Repeats: len(st)}
			var dzs []float64
			for _, si := range st {
				agree, n, dz, ok := rd.stepPredictions(mi, sr.ref, si)
				if !ok {
					continue
				}
				row.Agree += agree
				row.Images += n
				dzs = append(dzs, dz)
			}
			if row.Images == 0 {
				continue
			}
			if len(dzs) > 0 {
				row.MeanDelta = ptr(mean(dzs))
			}
			r.steps = append(r.steps, row)
		}
		// Similarity to the original maps, per metric and method: each
		// pair's series on its own goroutine (at most rd.workers), each
		// original map made ready once for every step; the rows are then
		// taken in order.
		type pair struct {
			mt, ki int
			s      reports.Series
			sims   []similarity
		}
		var pairs []*pair
		for mt := range pf.Metrics {
			for ki := range pf.Methods {
				if rd.na[mi][ki] == "" {
					pairs = append(pairs, &pair{mt: mt, ki: ki})
				}
			}
		}
		err := parallel(ctx, rd.workers, len(pairs), func(j int) error {
			p := pairs[j]
			metric, meth := pf.Metrics[p.mt], pf.Methods[p.ki]
			s := reports.Series{Name: reports.MethodName(meth.Dir), Mean: []float64{1}, Lo: []float64{1}, Hi: []float64{1}}
			var refs []*metrics.Prepared
			refStep := -1
			for li, steps := range sr.steps {
				if err := ctx.Err(); err != nil {
					return err
				}
				if ref := pf.Models[mi].Steps[steps[0]].Ref; ref != refStep {
					refs, refStep = rd.refs(mi, ref, p.ki, metric), ref
				}
				each, err := rd.compareWith(refs, mi, p.ki, steps, metric)
				if err != nil {
					return err
				}
				sum, seeds, err := rd.summarize(each)
				if err != nil {
					return err
				}
				mean, lo, hi := math.NaN(), math.NaN(), math.NaN()
				if sum.N > 0 {
					mean, lo, hi = sum.Mean, sum.Lo, sum.Hi
				}
				s.Mean, s.Lo, s.Hi = append(s.Mean, mean), append(s.Lo, lo), append(s.Hi, hi)
				p.sims = append(p.sims, similarity{Model: m.Name, Mode: sr.mode, Step: li + 1, Layer: sr.layers[li], Method: meth.Dir,
					Metric: metric, N: sum.N, Dropped: sum.Dropped, Mean: ptr(mean), Lo: ptr(lo), Hi: ptr(hi), Seeds: finiteOrNil(seeds), sum: sum})
			}
			p.s = s
			return nil
		})
		if err != nil {
			return nil, err
		}
		series := make([]map[int]reports.Series, len(pf.Metrics)) // [metric][method]
		for mt := range pf.Metrics {
			series[mt] = map[int]reports.Series{}
		}
		for _, p := range pairs {
			series[p.mt][p.ki] = p.s
			r.sims = append(r.sims, p.sims...)
		}
		for pi, ks := range methodPages(rd.applicable(mi)) {
			curves := &reports.Curves{Palette: reports.ColorBlind(), Title: fmt.Sprintf("%s, %s randomization: similarity to the original map (mean, 95%% CI over %d images)", m.Name, sr.mode, len(pf.Images)),
				XLabels: append([]string{"original"}, sr.layers...), XTitle: xTitle(sr.mode), Columns: 2, Dodge: 0.15,
			}
			for mt, metric := range pf.Metrics {
				panel := reports.Panel{Title: metricDefs[metric].title, YLabel: "similarity"}
				for _, ki := range ks {
					panel.Series = append(panel.Series, series[mt][ki])
				}
				if metric == r.primary {
					// The verdict's threshold, and each method's null floor:
					// the similarity of a map with no model in it.
					panel.Lines = []reports.HLine{{Y: verdictThreshold, Label: fmt.Sprintf("verdict threshold (%.1f)", verdictThreshold)}}
					for _, ki := range ks {
						null, err := rd.nullScores(mi, rd.maps[mi][sr.ref][ki], metric)
						if err != nil {
							return nil, err
						}
						ns, err := rd.bootstrap(null)
						if err != nil {
							return nil, err
						}
						if ns.N > 0 {
							panel.Bands = append(panel.Bands, reports.HBand{Lo: ns.Lo, Hi: ns.Hi, Series: reports.MethodName(pf.Methods[ki].Dir)})
						}
					}
				}
				curves.Panels = append(curves.Panels, panel)
			}
			name := pageName(runfolder.SafeName(m.Name)+"-"+sr.mode+"-curves", pi)
			caption := fmt.Sprintf("Similarity between the maps of %s with the original weights and after %s (x axis)%s; lines are means over the images, bands bootstrap 95%% confidence intervals; in the %s panel, the dashed line is the verdict's threshold and the dotted bands each method's null floor (the similarity of a map with no model in it, |input| × noise, to its original maps).", m.Name, stepPhrase(sr.base), pageNote(methodPages(rd.applicable(mi)), pi), metricDefs[r.primary].title)
			// One figure per metric, each legible at half a page: the
			// primary one (Adebayo et al.'s Fig. 4) first, the others
			// named after their metric (-<metric>).
			prim := slices.Index(pf.Metrics, r.primary)
			order := append([]int{prim}, slices.DeleteFunc(seq(len(pf.Metrics)), func(i int) bool { return i == prim })...)
			for j, mt := range order {
				one := *curves
				one.Panels = []reports.Panel{curves.Panels[mt]}
				one.Columns = 1
				fname := name
				if j > 0 {
					fname = pageName(runfolder.SafeName(m.Name)+"-"+sr.mode+"-curves-"+pf.Metrics[mt], pi)
				}
				rd.fit(fname, &one)
				png, links, err := save(fname, &one)
				if err != nil {
					return nil, err
				}
				c := caption
				if j > 0 {
					c = fmt.Sprintf("As above, by %s.", metricDefs[pf.Metrics[mt]].title)
				}
				blocks = append(blocks, reports.Block{Figure: png, Caption: c, Links: links})
			}
		}
		if sr.base != "cascading" {
			continue
		}
		// Verdicts and the summary: after every layer is randomized.
		last := len(sr.layers)
		for ki, meth := range pf.Methods {
			if rd.na[mi][ki] != "" {
				continue
			}
			label := meth.Dir
			if sr.mode != sr.base {
				label += " (sMPRT)"
			}
			row := []string{m.Name, label}
			var byMetric = map[string]stats.Summary{}
			for _, s := range r.sims {
				if s.Model == m.Name && s.Mode == sr.mode && s.Step == last && s.Method == meth.Dir {
					byMetric[s.Metric] = s.sum
				}
			}
			for _, metric := range pf.Metrics {
				row = append(row, byMetric[metric].String())
			}
			// The null floor and the foreground of the primary measure.
			orig := rd.maps[mi][sr.ref][ki]
			vals, err := rd.compare(mi, ki, sr.steps[last-1], r.primary)
			if err != nil {
				return nil, err
			}
			fl, err := rd.floor(mi, orig, vals, r.primary)
			if err != nil {
				return nil, err
			}
			randomized := rd.maps[mi][sr.steps[last-1][0]][ki]
			fgVals, err := rd.foreground(mi, orig, randomized, r.primary)
			if err != nil {
				return nil, err
			}
			fg, err := rd.bootstrap(fgVals)
			if err != nil {
				return nil, err
			}
			zeros := zeroFraction(orig, randomized)
			row = append(row, fl.Null.String(), fg.String(), fmt.Sprintf("%.0f%%", 100*zeros))
			word, line := verdict(m.Name, label, r.primary, byMetric, pf.Metrics, last, fallsBelow(r.sims, m.Name, meth.Dir, sr.mode, r.primary, sr.layers)+seedCrossing(r.sims, m.Name, meth.Dir, sr.mode, r.primary, last), fl, fg, zeros)
			cell := word
			if v := verdictOf(word); v != word {
				cell = v + ": " + word
			}
			row = append(row, cell)
			r.summary = append(r.summary, row)
			r.verdicts = append(r.verdicts, line)
			for _, metric := range pf.Metrics {
				v := ""
				if metric == r.primary {
					v = word
				}
				f := newFinding(sr.mode+" randomization (all layers)", m.Name, meth.Dir, metric, byMetric[metric], nil, v)
				if metric == r.primary && fl.Null.N > 0 {
					f.Floor = ptr(fl.Null.Mean)
				}
				r.findings = append(r.findings, f)
			}
			// eMPRT: the rise of the maps' complexity from the original
			// to the fully randomized model (Hedström et al. 2024).
			e, err := rd.emprt(mi, ki, sr.steps[last-1])
			if err != nil {
				return nil, err
			}
			ew := "complexity does not rise"
			if e.N > 0 && e.Lo > 1 {
				ew = "complexity rises"
			}
			one := 1.0
			if sr.mode != sr.base {
				continue
			}
			r.findings = append(r.findings, newFinding("eMPRT (cascading, all layers)", m.Name, meth.Dir, "entropy ratio", e, &one, ew))
			r.emprt = append(r.emprt, fmt.Sprintf("eMPRT, %s, %s: the histogram entropy of the maps grows by a factor %s after all %d layers are randomized: %s.", m.Name, meth.Dir, e, last, ew))
		}
	}
	return blocks, nil
}

// finiteOrNil is the finite values of v, nil for none (JSON has no NaN).
func finiteOrNil(v []float64) []float64 {
	if len(v) == 0 {
		return nil
	}
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// seedCrossing says where each repeat's (seed's) mean similarity first
// falls below the verdict threshold, with the spread over the seeds
// (stats.CrossingSteps); "" without repeats.
func seedCrossing(sims []similarity, model, method, mode, metric string, steps int) string {
	var curves [][]float64
	for _, s := range sims {
		if s.Model != model || s.Method != method || s.Mode != mode || s.Metric != metric {
			continue
		}
		if len(s.Seeds) < 2 || (curves != nil && len(s.Seeds) != len(curves)) {
			return ""
		}
		if curves == nil {
			curves = make([][]float64, len(s.Seeds))
		}
		for r, v := range s.Seeds {
			curves[r] = append(curves[r], v)
		}
	}
	if curves == nil || len(curves[0]) != steps {
		return ""
	}
	c, err := stats.CrossingSteps(curves, verdictThreshold)
	if err != nil {
		return ""
	}
	if c.Never == len(curves) {
		return fmt.Sprintf(" Over the %d re-initialisation seeds, no seed's mean falls below %.1f.", len(curves), verdictThreshold)
	}
	return fmt.Sprintf(" Over the %d re-initialisation seeds, each seed's mean falls below %.1f at %s.", len(curves), verdictThreshold, c)
}

// stepPhrase says what the x axis of a mode's curves randomizes.
func stepPhrase(mode string) string {
	switch mode {
	case "cascading":
		return "cascading randomization up to each layer, from the logits towards the input"
	case "bottom-up":
		return "bottom-up randomization up to each layer, from the input towards the logits"
	}
	return "randomization of each layer alone"
}

// seq is 0, 1, …, n−1.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
