package analysis

import (
	"fmt"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
)

// dataRandomization compares the maps of a model with those of the same
// architecture trained on permuted labels (Adebayo et al. 2018, Sec. 5):
// every metric, image by image, for the classes of the first model.
func (rd *runData) dataRandomization(t runfolder.PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	a, b := pf.ModelIndex(t.Model), pf.ModelIndex(t.Against)
	if a < 0 || b < 0 {
		return sec, fmt.Errorf("experiments: data-randomization: models %s and %s are not in the plan", t.Model, t.Against)
	}
	primary := primaryMetric(pf.Metrics)
	var methods []int
	var names []string
	for ki, m := range pf.Methods {
		if rd.maps[a][0][ki] != nil && rd.maps[b][0][ki] != nil {
			methods = append(methods, ki)
			names = append(names, reports.MethodName(m.Dir))
		}
	}
	dots := &reports.Dots{Palette: reports.ColorBlind(), Title: fmt.Sprintf("Data randomization: maps of %s against %s (trained on permuted labels), mean and 95%% CI over %d images", t.Model, t.Against, len(pf.Images)),
		Categories: names, Columns: 3}
	byMethod := make([]map[string]stats.Summary, len(methods))
	for i := range byMethod {
		byMethod[i] = map[string]stats.Summary{}
	}
	for _, metric := range pf.Metrics {
		var sums []stats.Summary
		for i, ki := range methods {
			vals, err := rd.compare2(rd.maps[a][0][ki], rd.maps[b][0][ki], metric)
			if err != nil {
				return sec, err
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
	name := "data-randomization-" + runfolder.SafeName(t.Model)
	rd.fit(name, dots)
	png, links, err := save(name, dots)
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
		s := byMethod[i][primary]
		orig := rd.maps[a][0][ki]
		vals, err := rd.compare2(orig, rd.maps[b][0][ki], primary)
		if err != nil {
			return sec, err
		}
		fl, err := rd.floor(a, orig, vals, primary)
		if err != nil {
			return sec, err
		}
		var word, what string
		switch {
		case s.N == 0:
			word, what = "undetermined", "is undefined (constant maps)"
		case s.Hi < verdictThreshold:
			word, what = "changes", fmt.Sprintf("is %s: the map depends on what the model learned (passes)", s)
		case fl.Null.N > 0 && fl.Verdict != stats.BeatsFloor:
			word, what = "at the null floor", fmt.Sprintf("is %s, but a map with no model in it (|input| × noise) scores %s against %s's maps (difference %s): the measure cannot tell (at the null floor)", s, fl.Null, t.Model, fl.Diff)
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
			f := newFinding("data-randomization", t.Model+" vs "+t.Against, pf.Methods[ki].Dir, m, byMethod[i][m], nil, v)
			if m == primary && fl.Null.N > 0 {
				f.Floor = ptr(fl.Null.Mean)
			}
			sec.findings = append(sec.findings, f)
		}
	}
	sec.blocks = append(sec.blocks,
		reports.Block{Heading: fmt.Sprintf("Data randomization: %s against %s", t.Model, t.Against), Bullets: true, Text: lines},
		reports.Block{Figure: png, Links: links, Caption: fmt.Sprintf("Similarity between the maps of %s and of %s, the same architecture trained on permuted labels, for the classes %s explains (Adebayo et al. 2018, Sec. 5); points are means over the images, whiskers bootstrap 95%% intervals. A method that passes gives maps unlike the trained model's.", t.Model, t.Against, t.Model)},
		reports.Block{Figure: gridPNG, Links: gridLinks, Caption: "The maps of both models on the first images."})
	return sec, nil
}

// compare2 is the metric between the maps a and b ([N,H,W]), image by image.
func (rd *runData) compare2(a, b *tensor.Tensor, metric string) ([]float64, error) {
	n, h, w := a.Shape[0], a.Shape[1], a.Shape[2]
	vals := make([]float64, n)
	for j := range n {
		v, err := metricDefs[metric].f(a.Item(j).Data, b.Item(j).Data, h, w)
		if err != nil {
			return nil, fmt.Errorf("experiments: %s: %w", metric, err)
		}
		vals[j] = v
	}
	return vals, nil
}
