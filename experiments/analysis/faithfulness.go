package analysis

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
)

// readEvalUnit reads the .json file of an evaluation unit into v.
func (rd *runData) readEvalUnit(u runfolder.Unit, v any) error {
	raw, err := os.ReadFile(filepath.Join(rd.dir, rd.pf.UnitPath(u)+".json"))
	if err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("experiments: %s: %w", rd.pf.UnitPath(u), err)
	}
	return nil
}

// faithfulness reports the deletion and insertion curves of each model and
// method beside those of a random pixel order: the mean curves with their
// intervals, the areas, and a verdict.
func (rd *runData) faithfulness(t runfolder.PlanTest, save figureSaver) (section, error) {
	var sec section
	pf := rd.pf
	batches := (len(pf.Images) + pf.Batch - 1) / pf.Batch
	for mi, m := range pf.Models {
		type curves struct {
			del, ins       [][]float64
			delAUC, insAUC []float64
			na             string
		}
		all := make([]curves, len(pf.Methods)+1) // [0] is the random order
		for ki := -1; ki < len(pf.Methods); ki++ {
			cv := &all[ki+1]
			for b := range batches {
				u := runfolder.Unit{Model: mi, Method: ki, Batch: b, Kind: "faithfulness"}
				var r runfolder.FaithfulnessResult
				if err := rd.readEvalUnit(u, &r); err != nil {
					return sec, err
				}
				if r.NotApplicable != "" {
					cv.na = r.NotApplicable
					break
				}
				cv.del, cv.ins = append(cv.del, r.Deletion...), append(cv.ins, r.Insertion...)
				cv.delAUC, cv.insAUC = append(cv.delAUC, r.DeletionAUC...), append(cv.insAUC, r.InsertionAUC...)
			}
		}
		steps := t.Steps
		var xl []string
		for k := 0; k <= steps; k++ {
			xl = append(xl, fmt.Sprintf("%.0f%%", 100*float64(k)/float64(steps)))
		}
		fig := &reports.Curves{Palette: reports.ColorBlind(), Title: fmt.Sprintf("%s: deletion and insertion (Petsiuk et al. 2018), probability of the explained class, mean and 95%% CI over %d images", m.Name, len(pf.Images)),
			XLabels: xl, XTitle: "pixels deleted / inserted, most salient first", Columns: 2}
		delPanel := reports.Panel{Title: "deletion (to black): lower is better", YLabel: "probability", YMin: 0, YMax: 1}
		insPanel := reports.Panel{Title: "insertion (into the blurred image): higher is better", YLabel: "probability", YMin: 0, YMax: 1}
		var cats []string
		var delSums, insSums []stats.Summary
		var idx []int
		for ki := -1; ki < len(pf.Methods); ki++ {
			cv := all[ki+1]
			if cv.na != "" || len(cv.del) == 0 {
				continue
			}
			name := reports.MethodName(pf.MethodDir(ki))
			for pi, src := range [][][]float64{cv.del, cv.ins} {
				s := reports.Series{Name: name}
				for k := 0; k <= steps; k++ {
					col := make([]float64, len(src))
					for i := range src {
						col[i] = src[i][k]
					}
					sum, err := rd.bootstrap(col)
					if err != nil {
						return sec, err
					}
					s.Mean, s.Lo, s.Hi = append(s.Mean, sum.Mean), append(s.Lo, sum.Lo), append(s.Hi, sum.Hi)
				}
				if pi == 0 {
					delPanel.Series = append(delPanel.Series, s)
				} else {
					insPanel.Series = append(insPanel.Series, s)
				}
			}
			d, err := rd.bootstrap(cv.delAUC)
			if err != nil {
				return sec, err
			}
			in, err := rd.bootstrap(cv.insAUC)
			if err != nil {
				return sec, err
			}
			cats, delSums, insSums, idx = append(cats, name), append(delSums, d), append(insSums, in), append(idx, ki)
		}
		fig.Panels = []reports.Panel{delPanel, insPanel}
		name := runfolder.SafeName(m.Name) + "-faithfulness"
		rd.fit(name, fig)
		png, links, err := save(name, fig)
		if err != nil {
			return sec, err
		}
		if len(idx) == 0 || idx[0] != -1 {
			return sec, fmt.Errorf("experiments: faithfulness of %s: no random-order curves", m.Name)
		}
		rdel, rins := delSums[0].Mean, insSums[0].Mean
		dots := &reports.Dots{Palette: reports.ColorBlind(), Title: fmt.Sprintf("%s: areas under the deletion and insertion curves, mean and 95%% CI over %d images", m.Name, len(pf.Images)),
			Categories: cats, Columns: 2, Panels: []reports.DotPanel{
				{Title: "deletion AUC (lower is better)", YLabel: "area", Series: []reports.DotSeries{dotSeries("area", delSums)}, Reference: &rdel, ReferenceLabel: "random order"},
				{Title: "insertion AUC (higher is better)", YLabel: "area", Series: []reports.DotSeries{dotSeries("area", insSums)}, Reference: &rins, ReferenceLabel: "random order"},
			}}
		rd.fit(name+"-auc", dots)
		aucPNG, aucLinks, err := save(name+"-auc", dots)
		if err != nil {
			return sec, err
		}
		var lines []string
		for i, ki := range idx {
			if ki < 0 {
				continue
			}
			d, in := delSums[i], insSums[i]
			better := 0
			if d.N > 0 && d.Hi < rdel {
				better++
			}
			if in.N > 0 && in.Lo > rins {
				better++
			}
			word := map[int]string{0: "no better than a random order", 1: "better than a random order on one curve", 2: "better than a random order"}[better]
			line := fmt.Sprintf("Faithfulness, %s, %s: deletion AUC %s (random order %.2f), insertion AUC %s (random order %.2f): %s.",
				m.Name, pf.Methods[ki].Dir, d, rdel, in, rins, word)
			lines = append(lines, line)
			sec.verdicts = append(sec.verdicts, line)
			rd2, ri2 := rdel, rins
			sec.findings = append(sec.findings,
				newFinding("faithfulness", m.Name, pf.Methods[ki].Dir, "deletion AUC", d, &rd2, word),
				newFinding("faithfulness", m.Name, pf.Methods[ki].Dir, "insertion AUC", in, &ri2, ""))
		}
		for ki, cv := range all[1:] {
			if cv.na != "" {
				lines = append(lines, fmt.Sprintf("%s: %s", pf.Methods[ki].Dir, cv.na))
			}
		}
		sec.blocks = append(sec.blocks,
			reports.Block{Heading: "Faithfulness: " + m.Name, Bullets: true, Text: append([]string{fmt.Sprintf(
				"Pixels are deleted (set to black) or inserted (into the image blurred with σ = %.2g pixels) in the order of the map, most salient first, in %d steps; the curve is the probability of the explained class (softmax; the sigmoid of its logit for a multi-label head), its area the mean over the steps. A random pixel order (one per image, seeded) is the reference.",
				t.BlurSigma(m.Shape[0], m.Shape[1]), steps)}, lines...)},
			reports.Block{Figure: png, Links: links, Caption: "Deletion and insertion curves: means over the images with bootstrap 95% bands."},
			reports.Block{Figure: aucPNG, Links: aucLinks, Caption: "Areas under the curves; dashed: the random order's mean."})
	}
	return sec, nil
}
