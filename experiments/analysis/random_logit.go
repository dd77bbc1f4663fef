package analysis

import (
	"fmt"
	"slices"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
)

// randomLogit compares each method's maps of the explained class with its
// maps of a random other class (Sixt et al. 2020): a method that explains
// the class gives different maps.
func (rd *runData) randomLogit(t runfolder.PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	primary := primaryMetric(pf.Metrics)
	for mi, m := range pf.Models {
		si := slices.IndexFunc(m.Steps, func(s runfolder.PlanStep) bool { return s.Mode == "random-logit" })
		if si < 0 {
			continue
		}
		var methods []int
		var names []string
		for ki := range pf.Methods {
			if rd.maps[mi][0][ki] != nil && rd.maps[mi][si][ki] != nil && pf.Methods[ki].Name != "class-model" {
				methods = append(methods, ki)
				names = append(names, reports.MethodName(pf.Methods[ki].Dir))
			}
		}
		dots := &reports.Dots{Palette: reports.ColorBlind(), Title: fmt.Sprintf("%s: random logit, maps of the explained class against those of a random other class (mean, 95%% CI over %d images)", m.Name, len(pf.Images)),
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
		name := runfolder.SafeName(m.Name) + "-random-logit"
		rd.fit(name, dots)
		png, links, err := save(name, dots)
		if err != nil {
			return sec, err
		}
		var lines []string
		for i, ki := range methods {
			s := by[i][primary]
			// The null floor: a map with no model in it against the maps
			// of the explained class, as in the randomization test.
			orig := rd.maps[mi][0][ki]
			vals, err := rd.compare(mi, ki, []int{si}, primary)
			if err != nil {
				return sec, err
			}
			fl, err := rd.floor(mi, orig, vals, primary)
			if err != nil {
				return sec, err
			}
			word := "inconclusive"
			switch {
			case s.N == 0:
				word = "undetermined"
			case s.Hi < verdictThreshold:
				word = "class-sensitive"
			case fl.Null.N > 0 && fl.Verdict == stats.BelowFloor:
				word = "class-sensitive"
			case fl.Null.N > 0 && fl.Verdict == stats.AtFloor:
				word = "at the null floor"
			case s.Lo >= verdictThreshold && (fl.Null.N == 0 || fl.Verdict == stats.BeatsFloor):
				word = "not class-sensitive"
			}
			line := fmt.Sprintf("Random logit, %s, %s: %s between the maps of the explained class and of a random other class is %s (a map with no model in it: %s): %s.",
				m.Name, pf.Methods[ki].Dir, metricDefs[primary].title, s, fl.Null, word)
			lines = append(lines, line)
			sec.verdicts = append(sec.verdicts, line)
			for _, metric := range pf.Metrics {
				v := ""
				if metric == primary {
					v = word
				}
				f := newFinding("random-logit", m.Name, pf.Methods[ki].Dir, metric, by[i][metric], nil, v)
				if metric == primary && fl.Null.N > 0 {
					f.Floor = ptr(fl.Null.Mean)
				}
				sec.findings = append(sec.findings, f)
			}
		}
		sec.blocks = append(sec.blocks,
			reports.Block{Heading: "Random logit: " + m.Name, Bullets: true, Text: append([]string{fmt.Sprintf(
				"Each image is also explained for a random other class (seeded; Sixt et al. 2020). A method is class-sensitive when the interval of %s between the two maps lies below %.1f, or below the null floor (a map with no model in it, |input| × noise, against the explained class's maps); at or above %.1f it is not, unless the null floor scores as much (at the null floor).", metricDefs[primary].title, verdictThreshold, verdictThreshold)}, lines...)},
			reports.Block{Figure: png, Links: links, Caption: "Similarity between the maps of the explained class and of a random other class."})
	}
	return sec, nil
}
