package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// FaithfulnessResult is the .json file of a faithfulness unit: the deletion
// and insertion curves (Petsiuk et al. 2018) of each image of a batch, the
// probability of the explained class as the pixels the map ranks first are
// deleted (set to black) or inserted (into the blurred image), and their
// areas.
type FaithfulnessResult struct {
	Model         string      `json:"model"`
	Method        string      `json:"method"`
	Images        []string    `json:"images"`
	NotApplicable string      `json:"not_applicable,omitempty"`
	Classes       []int       `json:"classes,omitempty"`
	Deletion      [][]float64 `json:"deletion,omitempty"`
	Insertion     [][]float64 `json:"insertion,omitempty"`
	DeletionAUC   []float64   `json:"deletion_auc,omitempty"`
	InsertionAUC  []float64   `json:"insertion_auc,omitempty"`
}

// blurSigma is the σ of insertion's blurred start for h×w images.
func (t PlanTest) blurSigma(h, w int) float64 {
	if t.Blur > 0 {
		return t.Blur
	}
	return max(1, 5*float64(max(h, w))/224)
}

// runFaithfulness scores the original maps of one batch: it reads them from
// the map unit, or computes them when that unit is not written yet (another
// shard's), which gives the same values.
func (p *Plan) runFaithfulness(ctx context.Context, u Unit, out string) (notApplicable bool, err error) {
	t, _ := p.test("faithfulness")
	pm, om := p.Models[u.Model], p.models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	n := hi - lo
	h, w, c := pm.Shape[0], pm.Shape[1], pm.Shape[2]
	r := FaithfulnessResult{Model: pm.Name, Method: p.methodDir(u.Method), Classes: pm.Classes[lo:hi]}
	for i := lo; i < hi; i++ {
		r.Images = append(r.Images, p.PlanFile.Images[i].ID)
	}
	x := om.x.Slice(lo, hi)
	orders, na, err := p.pixelOrders(ctx, u, out)
	if err != nil {
		return false, err
	}
	if na != "" {
		r.NotApplicable, r.Classes = na, nil
		return true, p.writeUnitJSON(u, out, r)
	}
	black := om.spec.PixelValue(0)
	blurred := tensor.GaussianBlur(x, t.blurSigma(h, w))
	for i := range n {
		class := pm.Classes[lo+i]
		score := func(imgs [][]float32) ([]float64, error) {
			b := tensor.New(len(imgs), h, w, c)
			for k, im := range imgs {
				copy(b.Data[k*h*w*c:], im)
			}
			return classProbabilities(ctx, om.fl, b, class)
		}
		img := x.Item(i).Data
		fill := make([]float32, len(img))
		for j := range fill {
			fill[j] = black[j%c]
		}
		del, err := metrics.PerturbationCurve(img, fill, c, orders[i], t.Steps, score)
		if err != nil {
			return false, err
		}
		ins, err := metrics.PerturbationCurve(blurred.Item(i).Data, img, c, orders[i], t.Steps, score)
		if err != nil {
			return false, err
		}
		r.Deletion, r.Insertion = append(r.Deletion, del), append(r.Insertion, ins)
		r.DeletionAUC, r.InsertionAUC = append(r.DeletionAUC, metrics.CurveAUC(del)), append(r.InsertionAUC, metrics.CurveAUC(ins))
	}
	return false, p.writeUnitJSON(u, out, r)
}

// pixelOrders ranks the pixels of each image of an evaluation unit's
// batch: by the original map of the unit's method, or, for method -1, in a
// random order seeded per image. na says why the method does not apply.
func (p *Plan) pixelOrders(ctx context.Context, u Unit, out string) (orders [][]int, na string, err error) {
	pm := p.Models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	orders = make([][]int, hi-lo)
	if u.Method < 0 {
		for i := range orders {
			orders[i] = rand.New(rand.NewPCG(p.Seed, uint64(lo+i))).Perm(pm.Shape[0] * pm.Shape[1])
		}
		return orders, "", nil
	}
	maps, na, err := p.originalMaps(ctx, u, out)
	if err != nil || na != "" {
		return nil, na, err
	}
	for i := range orders {
		orders[i] = metrics.PixelOrder(maps.Item(i).Data)
	}
	return orders, "", nil
}

// classProbabilities are the probabilities of class for each image of batch
// b, with the original weights: the softmax of the logits, or their sigmoid
// for a multi-label head.
func classProbabilities(ctx context.Context, fl *tfgraph.Flat, b *tensor.Tensor, class int) ([]float64, error) {
	z, err := logitRows(ctx, fl, b, methods.Chunking{}.Size(fl))
	if err != nil {
		return nil, err
	}
	k := z.Shape[1]
	out := make([]float64, b.Shape[0])
	for j := range out {
		out[j] = tensor.ClassProbability(z.Data[j*k:(j+1)*k], class, fl.Head())
	}
	return out, nil
}

// readEvalUnit reads the .json file of an evaluation unit into v.
func (rd *runData) readEvalUnit(u Unit, v any) error {
	raw, err := os.ReadFile(filepath.Join(rd.dir, rd.pf.UnitPath(u)+".json"))
	if err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("experiments: %s: %w", rd.pf.UnitPath(u), err)
	}
	return nil
}

// originalMaps are the maps of u's method and batch with the original
// weights: read from their unit when it is finished, else computed.
func (p *Plan) originalMaps(ctx context.Context, u Unit, out string) (*tensor.Tensor, string, error) {
	mu := Unit{Model: u.Model, Step: 0, Method: u.Method, Batch: u.Batch}
	base := filepath.Join(out, p.UnitPath(mu))
	if b, err := os.ReadFile(base + ".json"); err == nil {
		var r UnitResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, "", fmt.Errorf("%s.json: %w", base, err)
		}
		if r.NotApplicable != "" {
			return nil, r.NotApplicable, nil
		}
		t, err := savedmodels.ReadNpy(base + ".npy")
		return t, "", err
	}
	pm, om := p.Models[u.Model], p.models[u.Model]
	lo, hi := p.BatchRange(u.Batch)
	batch := methods.Batch{X: om.x.Slice(lo, hi), Black: om.spec.PixelValue(0), White: om.spec.PixelValue(255)}
	res, err := p.methods[u.Method].Explain(ctx, om.fl, batch, methods.Target{Classes: pm.Classes[lo:hi], Layer: p.Exp.Models[u.Model].Layer})
	var na *methods.NotApplicableError
	if errors.As(err, &na) {
		return nil, strings.TrimPrefix(err.Error(), "methods: "), nil
	}
	if err != nil {
		return nil, "", err
	}
	return res.Map, "", nil
}

func (p *Plan) writeUnitJSON(u Unit, out string, v any) error {
	base := filepath.Join(out, p.UnitPath(u))
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return err
	}
	return reports.WriteJSON(base+".json", v)
}

// faithfulness reports the deletion and insertion curves of each model and
// method beside those of a random pixel order: the mean curves with their
// intervals, the areas, and a verdict.
func (rd *runData) faithfulness(t PlanTest, save figureSaver) (section, error) {
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
				u := Unit{Model: mi, Method: ki, Batch: b, Kind: "faithfulness"}
				var r FaithfulnessResult
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
		fig := &reports.Curves{Title: fmt.Sprintf("%s: deletion and insertion (Petsiuk et al. 2018), probability of the explained class, mean and 95%% CI over %d images", m.Name, len(pf.Images)),
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
			name := pf.methodDir(ki)
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
		name := safeName(m.Name) + "-faithfulness"
		png, links, err := save(name, fig.Save)
		if err != nil {
			return sec, err
		}
		if len(idx) == 0 || idx[0] != -1 {
			return sec, fmt.Errorf("experiments: faithfulness of %s: no random-order curves", m.Name)
		}
		rdel, rins := delSums[0].Mean, insSums[0].Mean
		dots := &reports.Dots{Title: fmt.Sprintf("%s: areas under the deletion and insertion curves, mean and 95%% CI over %d images", m.Name, len(pf.Images)),
			Categories: cats, Columns: 2, Panels: []reports.DotPanel{
				{Title: "deletion AUC (lower is better)", YLabel: "area", Series: []reports.DotSeries{dotSeries("area", delSums)}, Reference: &rdel, ReferenceLabel: "random order"},
				{Title: "insertion AUC (higher is better)", YLabel: "area", Series: []reports.DotSeries{dotSeries("area", insSums)}, Reference: &rins, ReferenceLabel: "random order"},
			}}
		aucPNG, aucLinks, err := save(name+"-auc", dots.Save)
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
				t.blurSigma(m.Shape[0], m.Shape[1]), steps)}, lines...)},
			reports.Block{Figure: png, Links: links, Caption: "Deletion and insertion curves: means over the images with bootstrap 95% bands."},
			reports.Block{Figure: aucPNG, Links: aucLinks, Caption: "Areas under the curves; dashed: the random order's mean."})
	}
	return sec, nil
}
