package analysis

import (
	"fmt"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
)

// road reports MoRF and LeRF curves beside a random order: the mean curves,
// the areas, and a verdict.
func (rd *runData) road(t runfolder.PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	batches := (len(pf.Images) + pf.Batch - 1) / pf.Batch
	var xl []string
	for _, f := range t.Fractions {
		xl = append(xl, fmt.Sprintf("%.0f%%", 100*f))
	}
	for mi, m := range pf.Models {
		morfPanel := reports.Panel{Title: "MoRF: most relevant removed first (lower is better)", YLabel: "probability", YMin: 0, YMax: 1}
		lerfPanel := reports.Panel{Title: "LeRF: least relevant removed first (higher is better)", YLabel: "probability", YMin: 0, YMax: 1}
		type sums struct {
			ki         int
			morf, lerf stats.Summary
		}
		var all []sums
		var na []string
		for ki := -1; ki < len(pf.Methods); ki++ {
			var mo, le [][]float64
			skip := ""
			for b := range batches {
				u := runfolder.Unit{Model: mi, Method: ki, Batch: b, Kind: "road"}
				var r runfolder.ROADResult
				if err := rd.readEvalUnit(u, &r); err != nil {
					return sec, err
				}
				if r.NotApplicable != "" {
					skip = r.NotApplicable
					break
				}
				mo, le = append(mo, r.MoRF...), append(le, r.LeRF...)
			}
			if skip != "" {
				na = append(na, pf.MethodDir(ki)+": "+skip)
				continue
			}
			var s sums
			s.ki = ki
			for pi, src := range [][][]float64{mo, le} {
				ser := reports.Series{Name: reports.MethodName(pf.MethodDir(ki))}
				for k := range t.Fractions {
					col := make([]float64, len(src))
					for i := range src {
						col[i] = src[i][k]
					}
					sm, err := rd.bootstrap(col)
					if err != nil {
						return sec, err
					}
					ser.Mean, ser.Lo, ser.Hi = append(ser.Mean, sm.Mean), append(ser.Lo, sm.Lo), append(ser.Hi, sm.Hi)
				}
				areas := make([]float64, len(src))
				for i := range src {
					areas[i] = mean(src[i])
				}
				a, err := rd.bootstrap(areas)
				if err != nil {
					return sec, err
				}
				if pi == 0 {
					morfPanel.Series = append(morfPanel.Series, ser)
					s.morf = a
				} else {
					lerfPanel.Series = append(lerfPanel.Series, ser)
					s.lerf = a
				}
			}
			all = append(all, s)
		}
		fig := &reports.Curves{Palette: reports.ColorBlind(), Title: fmt.Sprintf("%s: ROAD (Rong et al. 2022), probability of the explained class with pixels removed and imputed, mean and 95%% CI over %d images", m.Name, len(pf.Images)),
			XLabels: xl, XTitle: "pixels removed", Columns: 2, Panels: []reports.Panel{morfPanel, lerfPanel}}
		name := runfolder.SafeName(m.Name) + "-road"
		rd.fit(name, fig)
		png, links, err := save(name, fig)
		if err != nil {
			return sec, err
		}
		if len(all) == 0 || all[0].ki != -1 {
			return sec, fmt.Errorf("experiments: ROAD of %s: no random-order curves", m.Name)
		}
		rm, rl := all[0].morf.Mean, all[0].lerf.Mean
		var lines []string
		for _, s := range all[1:] {
			better := 0
			if s.morf.N > 0 && s.morf.Hi < rm {
				better++
			}
			if s.lerf.N > 0 && s.lerf.Lo > rl {
				better++
			}
			word := map[int]string{0: "no better than a random order", 1: "better than a random order on one curve", 2: "better than a random order"}[better]
			line := fmt.Sprintf("ROAD, %s, %s: mean MoRF probability %s (random order %.2f), LeRF %s (random order %.2f): %s.", m.Name, pf.Methods[s.ki].Dir, s.morf, rm, s.lerf, rl, word)
			lines = append(lines, line)
			sec.verdicts = append(sec.verdicts, line)
			r1, r2 := rm, rl
			sec.findings = append(sec.findings,
				newFinding("ROAD", m.Name, pf.Methods[s.ki].Dir, "MoRF mean", s.morf, &r1, word),
				newFinding("ROAD", m.Name, pf.Methods[s.ki].Dir, "LeRF mean", s.lerf, &r2, ""))
		}
		lines = append(lines, na...)
		sec.blocks = append(sec.blocks,
			reports.Block{Heading: "ROAD: " + m.Name, Bullets: true, Text: append([]string{fmt.Sprintf(
				"Remove And Debias (Rong et al. 2022): the given shares of pixels, most relevant (MoRF) or least relevant (LeRF) first by the map, are removed and filled by noisy linear imputation (each the weighted mean of its neighbours, solved jointly, plus Gaussian noise of %g of the input range), which hides the shape of the removed region from the model. The measure is the mean probability of the explained class over the fractions; a seeded random order is the reference.", t.Noise)}, lines...)},
			reports.Block{Figure: png, Links: links, Caption: "ROAD curves: means over the images with bootstrap 95% bands."})
	}
	return sec, nil
}
