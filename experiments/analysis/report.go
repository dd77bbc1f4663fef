package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/experiments/metrics"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/methods/catalog"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"gonum.org/v1/plot/vg"
)

// Report is what WriteReport wrote.
type Report struct {
	Dir string
	// LockNote, when set, says that the folder could not be locked (a
	// file system without flock) and why (Lock.Note).
	LockNote string
	// Verdicts are the plain-language findings, one per model and method
	// of a randomization test.
	Verdicts []string
	// Files are the files written, relative to Dir.
	Files []string
	// Warnings are the per-image diagnostics of the maps above their
	// thresholds (methods.Check), one line per model, method and
	// diagnostic; the report's Diagnostics section lists them.
	Warnings []string
}

// The report's settings, stated in the manifest and docs/experiments.md.
const (
	// topKFraction is the k of the top-k intersection, a fraction of the
	// pixels.
	topKFraction = metrics.TopKFraction
	// verdictThreshold splits "changes" from "barely changes": the
	// confidence interval of the primary metric after every layer is
	// randomized lies wholly below it or wholly at or above it.
	verdictThreshold = 0.5
	// gridImages is the number of images of the method × image grid.
	gridImages = 10
	// GridMethods is the most methods of one grid or curves figure; more
	// methods make more figures (<name>-2, <name>-3, …), so that the
	// memory and time of a figure do not grow with the methods: one grid
	// of 1600 methods took 1.8 GB.
	GridMethods = 20
	// gridLayers is the most randomized layers of the randomization grid
	// that goes into a page (7 inches wide, text ≥ 7 points); a deeper
	// model's grid of every layer is an appendix figure.
	gridLayers = 5
	// MapsMethods is the most methods of one figure of the maps of the
	// original model (half a page wide, the names whole).
	MapsMethods = 5
	// appendixLayers is the most layers of one appendix grid (every
	// layer of a deep model), legible at half a page.
	appendixLayers = 4
	// bootstrapResamples of every interval.
	bootstrapResamples = 10000
)

// Metrics are the similarity metrics a report computes, in the order an
// experiment without metrics: takes them; metricDefs defines each.
var Metrics = []string{"spearman", "spearman-abs", "ssim", "hog-pearson", "top-k", "pearson"}

// metricDefs are the similarity metrics of the report: a display name and
// the comparison of a randomized model's map b with the original map a,
// metrics.Measures under its one policy for degenerate maps: a pair where
// either map is constant, all zero or not finite has no value (NaN,
// counted as dropped) in every metric alike.
var metricDefs = map[string]struct {
	title string
	f     func(a, b []float32, h, w int) (float64, error)
}{
	"spearman":     {"Spearman (signed)", measure("spearman")},
	"spearman-abs": {"Spearman (absolute)", measure("spearman-abs")},
	"pearson":      {"Pearson", measure("pearson")},
	"ssim":         {"SSIM", measure("ssim")},
	"hog-pearson":  {"HOG Pearson", measure("hog-pearson")},
	"top-k":        {"top-10% intersection", measure("top-k")},
}

// measure is the comparison of metrics.Measures[name] on every pixel.
func measure(name string) func(a, b []float32, h, w int) (float64, error) {
	m := metrics.Measures[name]
	return func(a, b []float32, h, w int) (float64, error) {
		r, err := m.Compare(a, b, h, w, nil)
		return r.Value, err
	}
}

// minMax scales m to [0, 1]; nil for a constant map.
func minMax(m []float32) []float32 {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range m {
		lo, hi = min(lo, v), max(hi, v)
	}
	if !(hi > lo) {
		return nil
	}
	out := make([]float32, len(m))
	for i, v := range m {
		out[i] = (v - lo) / (hi - lo)
	}
	return out
}

// runData is a run's results, read back.
type runData struct {
	dir string
	pf  *runfolder.PlanFile
	// maps[model][step][method] is [N,H,W], nil where the method does not
	// apply.
	maps [][][]*tensor.Tensor
	// per model and method, from the original step
	signed  [][]bool
	na      [][]string
	scores  [][][]float32
	display []*tensor.Tensor
	// stepScores[model][step] are the explained class's scores (logits,
	// or probabilities) of each image at each step, from the first method
	// that gives them; nil where none does.
	stepScores [][][]float32
	// attack[model][method] says how a targeted attack searched
	// (UnitResult.Attack), "" without one.
	attack [][]string
	// fonts are the figures' smallest text in points at half a page
	// (fit).
	fonts map[string]float64
	// null are the null maps of each model (nullMaps), made when needed.
	null []*tensor.Tensor
	// predicted[model][step] are the predictions on perturbed inputs
	// (fragility steps), nil elsewhere.
	predicted [][][]int
	// info[model][method] are the per-image diagnostics of the original
	// model's maps (Maps.Info, one value per image, nil where non-finite).
	info [][]map[string][]*float64
	// workers is the most goroutines of a parallel computation
	// (ReportOptions.Workers).
	workers int
}

// readRun reads a run folder's plan and the results and maps of its units,
// those of a model on up to workers goroutines.
func readRun(ctx context.Context, dir string, workers int) (*runData, error) {
	pf, err := runfolder.ReadPlan(dir)
	if err != nil {
		return nil, err
	}
	if missing, _ := runfolder.Missing(dir); len(missing) > 0 {
		return nil, &runfolder.MissingError{Dir: dir, Units: missing}
	}
	rd := &runData{dir: dir, pf: pf}
	n := len(pf.Images)
	for mi, m := range pf.Models {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(pf.Images) == 0 {
			// Only the layers' units: no maps.
			rd.display = append(rd.display, nil)
			rd.maps = append(rd.maps, nil)
			rd.signed, rd.na, rd.scores = append(rd.signed, nil), append(rd.na, nil), append(rd.scores, nil)
			rd.predicted, rd.info = append(rd.predicted, nil), append(rd.info, nil)
			rd.stepScores = append(rd.stepScores, nil)
			rd.attack = append(rd.attack, nil)
			continue
		}
		disp, err := savedmodels.ReadNpy(filepath.Join(dir, "inputs", runfolder.SafeName(m.Name)+".npy"))
		if err != nil {
			return nil, err
		}
		rd.display = append(rd.display, disp)
		steps := make([][]*tensor.Tensor, len(m.Steps))
		pred := make([][]int, len(m.Steps))
		stepScores := make([][]float32, len(m.Steps))
		attack := make([]string, len(pf.Methods))
		stepMethod := make([]int, len(m.Steps))
		signed := make([]bool, len(pf.Methods))
		na := make([]string, len(pf.Methods))
		scores := make([][]float32, len(pf.Methods))
		info := make([]map[string][]*float64, len(pf.Methods))
		for si := range m.Steps {
			steps[si] = make([]*tensor.Tensor, len(pf.Methods))
		}
		var units []runfolder.Unit
		for _, u := range pf.Units() {
			if u.Model == mi && u.Kind == "" {
				units = append(units, u)
			}
		}
		// The units' files are read on goroutines and taken in order.
		type unitFiles struct {
			r runfolder.UnitResult
			t *tensor.Tensor // nil for a method that does not apply
		}
		load := func(k int) (unitFiles, error) {
			base := filepath.Join(dir, pf.UnitPath(units[k]))
			b, err := os.ReadFile(base + ".json")
			if err != nil {
				return unitFiles{}, fmt.Errorf("experiments: %w", err)
			}
			var f unitFiles
			if err := json.Unmarshal(b, &f.r); err != nil {
				return unitFiles{}, fmt.Errorf("experiments: %s.json: %w", base, err)
			}
			if f.r.NotApplicable == "" {
				if f.t, err = savedmodels.ReadNpy(base + ".npy"); err != nil {
					return unitFiles{}, err
				}
			}
			return f, nil
		}
		err = inOrder(ctx, workers, len(units), load, func(k int, f unitFiles) error {
			u, r, t := units[k], f.r, f.t
			base := filepath.Join(dir, pf.UnitPath(u))
			if r.Attack != "" {
				attack[u.Method] = r.Attack
			}
			if len(r.Scores) > 0 && (stepScores[u.Step] == nil || stepMethod[u.Step] == u.Method) {
				if stepScores[u.Step] == nil {
					stepScores[u.Step], stepMethod[u.Step] = make([]float32, n), u.Method
				}
				lo, _ := pf.BatchRange(u.Batch)
				copy(stepScores[u.Step][lo:], r.Scores)
			}
			if len(r.Predicted) > 0 {
				if pred[u.Step] == nil {
					pred[u.Step] = make([]int, n)
				}
				lo, _ := pf.BatchRange(u.Batch)
				copy(pred[u.Step][lo:], r.Predicted)
			}
			if r.NotApplicable != "" {
				na[u.Method] = r.NotApplicable
				return nil
			}
			lo, hi := pf.BatchRange(u.Batch)
			if len(t.Shape) != 3 || t.Shape[0] != hi-lo {
				return fmt.Errorf("experiments: %s.npy holds %v, want [%d,H,W]", base, t.Shape, hi-lo)
			}
			all := steps[u.Step][u.Method]
			if all == nil {
				all = tensor.New(n, t.Shape[1], t.Shape[2])
				steps[u.Step][u.Method] = all
			}
			copy(all.Data[lo*t.Shape[1]*t.Shape[2]:], t.Data)
			if u.Step == 0 {
				signed[u.Method] = r.Signed
				scores[u.Method] = append(scores[u.Method], r.Scores...)
				collectInfo(&info[u.Method], r.Info, lo, n)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		rd.maps = append(rd.maps, steps)
		rd.signed = append(rd.signed, signed)
		rd.na = append(rd.na, na)
		rd.scores = append(rd.scores, scores)
		rd.predicted = append(rd.predicted, pred)
		rd.stepScores = append(rd.stepScores, stepScores)
		rd.attack = append(rd.attack, attack)
		rd.info = append(rd.info, info)
	}
	return rd, nil
}

// series is one mode of a model's randomization: the layers in order and,
// for each, the steps of each repeat.
type series struct {
	// mode names the series: cascading, bottom-up or independent, with
	// "-smooth" for the smooth MPRT; base is the mode without it.
	mode, base string
	// ref is the step the maps are compared with.
	ref    int
	layers []string
	steps  [][]int // [layer][repeat] step index
}

func modesOf(m runfolder.PlanModel) []series {
	var out []series
	for si, s := range m.Steps {
		if s.Mode != "cascading" && s.Mode != "independent" && s.Mode != "bottom-up" {
			continue
		}
		mode := s.Mode
		if s.Smooth > 0 {
			mode += "-smooth"
		}
		k := slices.IndexFunc(out, func(x series) bool { return x.mode == mode })
		if k < 0 {
			out = append(out, series{mode: mode, base: s.Mode, ref: s.Ref})
			k = len(out) - 1
		}
		sr := &out[k]
		layer := s.Layers[len(s.Layers)-1]
		if s.Mode == "independent" {
			layer = s.Layers[0]
		}
		j := slices.Index(sr.layers, layer)
		if j < 0 {
			sr.layers = append(sr.layers, layer)
			sr.steps = append(sr.steps, nil)
			j = len(sr.layers) - 1
		}
		sr.steps[j] = append(sr.steps[j], si)
	}
	return out
}

// similarity is one row of the similarity table.
type similarity struct {
	Model   string   `json:"model"`
	Mode    string   `json:"mode"`
	Step    int      `json:"step"`
	Layer   string   `json:"layer"`
	Method  string   `json:"method"`
	Metric  string   `json:"metric"`
	N       int      `json:"n"`
	Dropped int      `json:"dropped"`
	Mean    *float64 `json:"mean"`
	Lo      *float64 `json:"ci_low"`
	Hi      *float64 `json:"ci_high"`
	// Seeds are the means over the images of each repeat (each its own
	// seed), when the test has several.
	Seeds []float64 `json:"seed_means,omitempty"`
	sum   stats.Summary
}

// compare computes a metric between the original maps and those of the
// given steps (repeats), image by image: the mean over repeats.
func (rd *runData) compare(mi, ki int, steps []int, metric string) ([]float64, error) {
	each, err := rd.compareEach(mi, ki, steps, metric)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(each[0]))
	for i := range out {
		var sum float64
		for _, row := range each {
			sum += row[i]
		}
		out[i] = sum / float64(len(each))
	}
	return out, nil
}

// compareEach is compare for each step (repeat) apart: [repeat][image].
func (rd *runData) compareEach(mi, ki int, steps []int, metric string) ([][]float64, error) {
	return rd.compareWith(rd.refs(mi, rd.pf.Models[mi].Steps[steps[0]].Ref, ki, metric), mi, ki, steps, metric)
}

// refs are model mi's maps of method ki at step ref, each made ready
// (metrics.Prepare) for the metric's comparisons with the maps of other
// steps: one per image.
func (rd *runData) refs(mi, ref, ki int, metric string) []*metrics.Prepared {
	orig := rd.maps[mi][ref][ki]
	n, h, w := orig.Shape[0], orig.Shape[1], orig.Shape[2]
	out := make([]*metrics.Prepared, n)
	for i := range out {
		out[i] = metrics.Prepare(metrics.Measures[metric], orig.Item(i).Data, h, w)
	}
	return out
}

// compareWith is compareEach against refs, the original maps made ready
// (refs): [repeat][image].
func (rd *runData) compareWith(refs []*metrics.Prepared, mi, ki int, steps []int, metric string) ([][]float64, error) {
	out := make([][]float64, len(steps))
	for r, si := range steps {
		maps := rd.maps[mi][si][ki]
		out[r] = make([]float64, len(refs))
		for i, p := range refs {
			v, err := p.Compare(maps.Item(i).Data)
			if err != nil {
				return nil, fmt.Errorf("experiments: %s: %w", metric, err)
			}
			out[r][i] = v.Value
		}
	}
	return out, nil
}

// summarize is the mean of a similarity over the images with its
// interval: a bootstrap over the images for one repeat, over the repeats'
// seeds and the images (stats.Hierarchical, crossed) for several, so that
// the interval covers the re-initialisation draws too; seeds are then
// each repeat's mean over the images.
func (rd *runData) summarize(each [][]float64) (sum stats.Summary, seeds []float64, err error) {
	opt := stats.Options{Resamples: bootstrapResamples, Seed: rd.pf.Seed}
	if len(each) == 1 {
		sum, err = stats.Bootstrap(each[0], opt)
		return sum, nil, err
	}
	h, err := stats.Hierarchical(each, stats.HierarchicalOptions{Options: opt})
	if err != nil {
		return sum, nil, err
	}
	return h.Summary, h.SeedMeans, nil
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// testSections write the report's section of each test but the
// randomization test (whose curves and grids go with each model).
var testSections = map[string]struct {
	label string
	write func(*runData, runfolder.PlanTest, figureSaver) (section, error)
}{
	"data-randomization": {"data randomization", (*runData).dataRandomization},
	"localization":       {"localization", (*runData).localization},
	"input-invariance":   {"input invariance", (*runData).inputInvariance},
	"faithfulness":       {"faithfulness", (*runData).faithfulness},
	"fragility":          {"fragility", (*runData).fragility},
	"random-logit":       {"random logit", (*runData).randomLogit},
	"road":               {"ROAD", (*runData).road},
}

// ReportOptions tune WriteReport.
type ReportOptions struct {
	// Progress, when set, is called before each part of the report (the
	// maps of a model, a randomization mode of a model, the tables and
	// pages) with the parts done and their total.
	Progress func(done, total int, part string)

	// Figures, when set, is called after each figure is written (in all
	// its formats) with the figures written and queued so far and the
	// figure's name; one call at a time, maybe from another goroutine.
	Figures func(written, queued int, name string)

	// Workers is the most goroutines that compute the similarities, and
	// the most that draw and write figures (each figure on one, all its
	// formats); 0 means GOMAXPROCS, 1 does everything in order on the
	// caller's goroutine. The report's bytes are the same for any number.
	Workers int
}

// WriteReport reads a complete run folder and writes its report: figures,
// tables, verdicts, index.md, index.html and manifest.json. The same units
// give the same bytes, whichever processes computed them. A run with
// unfinished units is a *MissingError listing them. It is
// WriteReportContext without a way to stop it.
func WriteReport(dir string, o ReportOptions) (*Report, error) {
	return WriteReportContext(context.Background(), dir, o)
}

// WriteReportContext is WriteReport, stopped between two files when ctx is
// done (with ctx's error). Every file is written atomically, so a stopped
// report leaves whole files only, and writing the report again gives the
// bytes of an uninterrupted one. The report holds the folder's lock
// exclusively (LockReport): a folder where a run is live is a *LockedError
// naming its processes. Temporary files of a report killed while writing
// are removed.
func WriteReportContext(ctx context.Context, dir string, o ReportOptions) (*Report, error) {
	if _, err := runfolder.ReadPlan(dir); err != nil {
		return nil, err
	}
	lk, err := runfolder.LockReport(dir)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	for _, sub := range []string{".", "figures", "tables"} {
		runfolder.RemoveTempFiles(filepath.Join(dir, sub))
	}
	// And those of a shard killed while it wrote a unit (SIGKILL: a
	// scheduler's kill after its grace time), which no shard removes, as
	// another may be writing its own: no run is live while the report holds
	// the folder (unless the file system has no flock).
	if lk.Note == "" {
		runfolder.RemoveTempTree(filepath.Join(dir, "units"))
		runfolder.RemoveTempTree(filepath.Join(dir, "layers"))
	}
	rd, err := readRun(ctx, dir, workersOf(o))
	if err != nil {
		return nil, err
	}
	rd.workers = workersOf(o)
	pf := rd.pf
	parts, done := 1, 0
	for _, m := range pf.Models {
		if len(pf.Methods) > 0 {
			parts += 1 + len(modesOf(m))
		}
	}
	if len(pf.Layers) > 0 {
		parts++
	}
	for _, t := range pf.Tests {
		if _, ok := testSections[t.Kind]; ok {
			parts++
		}
	}
	progress := func(part string) {
		if o.Progress != nil {
			o.Progress(done, parts, part)
		}
		done++
	}
	rep := &Report{Dir: dir, LockNote: lk.Note}
	for _, sub := range []string{"figures", "tables"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("experiments: %w", err)
		}
	}
	formats := pf.Figures
	if !slices.Contains(formats, "png") {
		formats = append([]string{"png"}, formats...)
	}
	// The figures are drawn and written on goroutines (at most
	// rd.workers) while the report goes on; index.html reads them once
	// all are written.
	figs := reports.NewFigures(ctx, rd.workers, o.Figures)
	defer figs.Wait()
	saveFig := func(name string, fig reports.Figure) (string, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		var paths []string
		for _, f := range formats {
			p := filepath.Join("figures", name+"."+f)
			paths = append(paths, filepath.Join(dir, p))
			rep.Files = append(rep.Files, p)
		}
		figs.Save(fig, paths...)
		return filepath.Join("figures", name+".png"), nil
	}
	figLinks := func(name string) []reports.Link {
		var out []reports.Link
		for _, f := range formats {
			if f != "png" {
				out = append(out, reports.Link{Text: strings.ToUpper(f), Href: "figures/" + name + "." + f})
			}
		}
		return out
	}
	page := &reports.Page{Title: "Experiment " + pf.Name}
	what := fmt.Sprintf("%d images (%s, seed %d), %d models, %d methods", len(pf.Images), pf.Data.Source, pf.Data.Seed, len(pf.Models), len(pf.Methods))
	if len(pf.Methods) == 0 {
		what = fmt.Sprintf("%d models", len(pf.Models))
	}
	if len(pf.Layers) > 0 {
		what += ", the channels of " + plural(len(pf.Layers), "layer", "layers")
	}
	intro := []string{
		fmt.Sprintf("%s; seed %d; %d units.", what, pf.Seed, len(pf.Units())),
		fmt.Sprintf("saliency %s, TensorFlow %s, %s. The experiment file is experiment.yaml (SHA-256 %s…); manifest.json states every setting.",
			pf.Versions["saliency"], pf.Versions["tensorflow"], pf.Versions["go"], pf.FileSHA256[:12]),
	}
	page.Blocks = append(page.Blocks, reports.Block{Text: intro,
		Links: []reports.Link{{Text: "manifest.json", Href: "manifest.json"}, {Text: "experiment.yaml", Href: "experiment.yaml"}}})
	var warned []string
	for _, m := range pf.Models {
		for _, w := range m.Warnings {
			warned = append(warned, fmt.Sprintf("Model %s: %s.", m.Name, strings.TrimSuffix(w, ".")))
		}
	}
	if len(warned) > 0 {
		page.Blocks = append(page.Blocks, reports.Block{Heading: "Warnings about the models", Text: warned, Bullets: true})
	}
	diag := rd.diagnostics()
	rep.Warnings = diag.warnings
	page.Blocks = append(page.Blocks, diag.blocks...)
	// Maps that do not depend on the image: named, never a pass.
	var degenerate []string
	for mi, m := range pf.Models {
		for ki, meth := range pf.Methods {
			if len(pf.Images) == 0 || rd.na[mi][ki] != "" || catalog.Generative(meth.Name) {
				continue
			}
			ok, why, err := rd.independent(mi, ki)
			if err != nil {
				return nil, err
			}
			if ok {
				degenerate = append(degenerate, fmt.Sprintf("%s, %s: %s.", m.Name, meth.Dir, why))
			}
			// Maps of the original model without two distinct finite
			// values: no measure scores them (metrics.Degenerate).
			if maps := rd.maps[mi][0][ki]; maps != nil {
				kinds := map[metrics.Kind]int{}
				for i := range maps.Shape[0] {
					if k := metrics.Degenerate(maps.Item(i).Data); k != metrics.OK {
						kinds[k]++
					}
				}
				var parts []string
				for _, k := range []metrics.Kind{metrics.Constant, metrics.AllZero, metrics.NonFinite} {
					if kinds[k] > 0 {
						parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
					}
				}
				if len(parts) > 0 {
					degenerate = append(degenerate, fmt.Sprintf("%s, %s: %s of the %d maps of the original model (no measure scores them; the tests count them as dropped).", m.Name, meth.Dir, strings.Join(parts, ", "), maps.Shape[0]))
				}
			}
		}
	}
	if len(degenerate) > 0 {
		rep.Warnings = append(rep.Warnings, degenerate...)
		page.Blocks = append(page.Blocks, reports.Block{Heading: "Degenerate maps", Bullets: true, Text: append([]string{
			"Maps that say nothing about the image: input-independent ones, the same map (up to scale: Pearson ≥ 0.9999) for different images of one predicted class, which say what the class is, not where it is in the image (a test that perturbs the image cannot move them: its verdict reads degenerate, never passes); and constant, all-zero or non-finite maps, which no measure scores."}, degenerate...)})
	}
	for _, m := range pf.Methods {
		if m.Name != "smoothgrad" {
			continue
		}
		if mag, _ := m.Options["magnitude"].(bool); mag {
			page.Blocks = append(page.Blocks, reports.Block{Text: []string{fmt.Sprintf("%s averages |attribution| over the noisy copies (magnitude: true), not the raw attributions as Smilkov et al. (2017) do: signs that flip between copies do not cancel.", displayMethod(m.Dir))}})
			continue
		}
		page.Blocks = append(page.Blocks, reports.Block{Text: []string{fmt.Sprintf("%s averages the raw attributions over the noisy copies and reduces the mean over the channels afterwards (|·| of the mean for one channel), as Smilkov et al. (2017) define it; the option magnitude: true averages |attribution| instead, a map that keeps more of its structure under randomization.", displayMethod(m.Dir))}})
	}

	var verdictBlock reports.Block
	verdictBlock.Heading = "Verdicts"
	verdictBlock.Bullets = true
	summary := &reports.Table{Label: "tab:" + runfolder.SafeName(pf.Name) + "-summary", Align: "ll" + strings.Repeat("r", len(pf.Metrics)+3) + "l"}
	primary := primaryMetric(pf.Metrics)
	var modelBlocks, testBlocks []reports.Block
	var findings []Finding
	saver := func(name string, fig reports.Figure) (string, []reports.Link, error) {
		png, err := saveFig(name, fig)
		return png, figLinks(name), err
	}
	rz := &randomization{rd: rd, primary: primary}

	for mi, m := range pf.Models {
		if len(pf.Methods) == 0 {
			break // only the layers' units
		}
		// The method × image grid of the original model.
		progress(m.Name + " maps")
		pages := methodPages(rd.mapped(mi))
		// The maps grid in figures of MapsMethods methods, legible at half
		// a page with the methods' names whole.
		mapPages := methodPagesOf(rd.mapped(mi), MapsMethods)
		for pi, ks := range mapPages {
			g, err := rd.mapsGrid(mi, ks)
			if err != nil {
				return nil, err
			}
			name := pageName(runfolder.SafeName(m.Name)+"-maps", pi)
			rd.fit(name, g)
			png, err := saveFig(name, g)
			if err != nil {
				return nil, err
			}
			caption := fmt.Sprintf("Saliency maps of %s (original weights)%s, over the input; each map clipped at its 99.5th percentile of |map|.", m.Name, pageNote(mapPages, pi))
			if slices.ContainsFunc(ks, func(ki int) bool { return pf.Methods[ki].Name == "class-model" }) {
				caption += " The class-model column is not a map of the input: it is the image (in grey, scaled to its range) found by gradient ascent that the explained class's logit likes best (Simonyan et al. 2013)."
			}
			if slices.ContainsFunc(ks, func(ki int) bool { return pf.Methods[ki].Name == "feature-visualization" }) {
				caption += " The feature-visualization column is not a map of the input: it is the image (in grey, scaled to its range) found by gradient ascent that the explained target likes best (Olah et al. 2017)."
			}
			b := reports.Block{Figure: png, Caption: caption, Links: figLinks(name)}
			if pi == 0 {
				b.Heading = "Model " + m.Name
				b.Text = []string{fmt.Sprintf("%s (SHA-256 %s…), signature %s, CAM layer %s, target: %s.", m.Path, m.SHA256[:12], m.Signature, m.Layer, m.Target)}
			}
			modelBlocks = append(modelBlocks, b)
		}
		var na []string
		for ki, r := range rd.na[mi] {
			if r != "" {
				na = append(na, pf.Methods[ki].Dir+": "+r)
			}
		}
		if len(na) > 0 {
			modelBlocks = append(modelBlocks, reports.Block{Text: append([]string{"Methods that do not apply to this model:"}, na...), Bullets: true})
		}
		blocks, err := rz.model(ctx, mi, pages, saver, progress)
		if err != nil {
			return nil, err
		}
		modelBlocks = append(modelBlocks, blocks...)
	}
	sims := rz.sims
	summary.Rows = rz.summary
	rep.Verdicts = append(rep.Verdicts, rz.verdicts...)
	verdictBlock.Text = rz.verdicts
	findings = append(findings, rz.findings...)
	emprtLines := rz.emprt
	// Tables.
	progress("tables and pages")
	var tableLinks []reports.Link
	writeTable := func(name string, t *reports.Table, rows any) error {
		// The papers' names of the methods in every table format (the
		// JSON rows keep the folder names).
		if c := slices.Index(t.Columns, "method"); c >= 0 {
			for _, r := range t.Rows {
				r[c] = displayMethod(r[c])
			}
		}
		// LaTeX that a two-column paper takes: wide tables across both
		// columns, shrunk to the text width; long ones split over pages.
		switch {
		case len(t.Rows) > reports.TeXPageRows:
			t.TeX = reports.TeXWidePages
		case len(t.Columns) > 3:
			t.TeX = reports.TeXWide
		}
		for _, f := range pf.Tables {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := filepath.Join("tables", name+"."+f)
			var err error
			switch f {
			case "csv":
				err = reports.WriteFile(filepath.Join(dir, p), t.CSV())
			case "tex":
				err = reports.WriteFile(filepath.Join(dir, p), t.LaTeX())
			case "json":
				err = reports.WriteJSON(filepath.Join(dir, p), rows)
			}
			if err != nil {
				return err
			}
			rep.Files = append(rep.Files, p)
			tableLinks = append(tableLinks, reports.Link{Text: name + "." + f, Href: "tables/" + name + "." + f})
		}
		return nil
	}
	if len(summary.Rows) > 0 {
		summary.Columns = []string{"model", "method"}
		for _, metric := range pf.Metrics {
			summary.Columns = append(summary.Columns, metricDefs[metric].title)
		}
		summary.Columns = append(summary.Columns, "null floor", "foreground", "zero pixels", "verdict")
		summary.Caption = fmt.Sprintf("Similarity of each method's maps to the original ones after cascading randomization of every layer with weights: mean over %d images with a bootstrap 95%% confidence interval. The verdict reads %[2]s: its interval below %.1[3]f: the map changes (passes); at or above, it barely changes (fails) only when it beats the null floor by %.2[4]f: the %[2]s of a map with no model in it (|input| × half-normal noise) against the original maps, else it is at the null floor. Foreground: %[2]s on the pixels where the image is not black; zero pixels: the share of pixels that are 0 in both maps.",
			len(pf.Images), metricDefs[primary].title, verdictThreshold, floorMargin)
		type sumRow struct {
			Model   string                    `json:"model"`
			Method  string                    `json:"method"`
			Metrics map[string]map[string]any `json:"metrics"`
			Verdict string                    `json:"verdict"`
		}
		var rows []sumRow
		for _, r := range summary.Rows {
			sr := sumRow{Model: r[0], Method: r[1], Metrics: map[string]map[string]any{}, Verdict: r[len(r)-1]}
			for _, s := range sims {
				method, mode := r[1], "cascading"
				if m, ok := strings.CutSuffix(method, " (sMPRT)"); ok {
					method, mode = m, "cascading-smooth"
				}
				if s.Model == r[0] && s.Method == method && s.Mode == mode && s.Step == lastStep(sims, s.Model, mode) {
					sr.Metrics[s.Metric] = map[string]any{"mean": s.Mean, "ci_low": s.Lo, "ci_high": s.Hi, "n": s.N, "dropped": s.Dropped}
				}
			}
			rows = append(rows, sr)
		}
		if err := writeTable("summary", summary, rows); err != nil {
			return nil, err
		}
		full := &reports.Table{Caption: "Similarity to the original maps at every randomization step (mean and bootstrap 95% confidence interval over the images).",
			Label: "tab:" + runfolder.SafeName(pf.Name) + "-similarity", Columns: []string{"model", "mode", "step", "layer", "method", "metric", "n", "mean", "95% CI"}, Align: "llrlllrrr"}
		for _, s := range sims {
			ci := ""
			if s.sum.N > 0 {
				ci = fmt.Sprintf("[%.3f, %.3f]", s.sum.Lo, s.sum.Hi)
			}
			mean := "n/a"
			if s.sum.N > 0 {
				mean = fmt.Sprintf("%.3f", s.sum.Mean)
			}
			full.Rows = append(full.Rows, []string{s.Model, s.Mode, strconv.Itoa(s.Step), s.Layer, s.Method, s.Metric, strconv.Itoa(s.N), mean, ci})
		}
		if err := writeTable("similarity", full, sims); err != nil {
			return nil, err
		}
		if len(rz.steps) > 0 {
			st := &reports.Table{Caption: "The models of each randomization step against the original model: the share of images whose predicted class stays the original model's (top-1 agreement; over every repeat) and the mean |change| of the explained class's score (logit, or probability).",
				Label: "tab:" + runfolder.SafeName(pf.Name) + "-randomization-predictions", Columns: []string{"model", "mode", "step", "layer", "top-1 agreement", "mean |Δ score|"}, Align: "llrlrr"}
			for _, r := range rz.steps {
				dz := "n/a"
				if r.MeanDelta != nil {
					dz = reports.FormatFixed(*r.MeanDelta, 2)
				}
				st.Rows = append(st.Rows, []string{r.Model, r.Mode, strconv.Itoa(r.Step), r.Layer, fmt.Sprintf("%d/%d", r.Agree, r.Images), dz})
			}
			if err := writeTable("randomization-predictions", st, rz.steps); err != nil {
				return nil, err
			}
		}
	}
	// The other tests.
	for _, t := range pf.Tests {
		ts, ok := testSections[t.Kind]
		if !ok {
			continue // randomization: the model sections above
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		progress(ts.label)
		sec, err := ts.write(rd, t, saver)
		if err != nil {
			return nil, err
		}
		rep.Verdicts = append(rep.Verdicts, sec.verdicts...)
		testBlocks = append(testBlocks, sec.blocks...)
		findings = append(findings, sec.findings...)
	}
	if len(findings) > 0 {
		ft := &reports.Table{Caption: "Every test's findings: mean over the images with a bootstrap 95% confidence interval; the reference, the value of a map that has the property tested or of a random map, where the measure has one; the null floor, the value of a map with no model in it (|input| × noise), where the measure has one; and the verdict on each test's primary measure (docs/experiments.md, Verdicts) with the test's reading.",
			Label: "tab:" + runfolder.SafeName(pf.Name) + "-findings", Columns: []string{"test", "model", "method", "measure", "value", "reference", "null floor", "verdict"}, Align: "llllrrrl"}
		for _, f := range findings {
			ref, floor := "", ""
			if f.Reference != nil {
				ref = fmt.Sprintf("%.2f", *f.Reference)
			}
			if f.Floor != nil {
				floor = fmt.Sprintf("%.2f", *f.Floor)
			}
			v := f.Verdict
			if f.Reading != "" && f.Reading != f.Verdict {
				v += ": " + f.Reading
			}
			ft.Rows = append(ft.Rows, []string{f.Test, f.Model, f.Method, f.Measure, f.sum.String(), ref, floor, v})
		}
		if err := writeTable("findings", ft, findings); err != nil {
			return nil, err
		}
		if !slices.Contains(pf.Tables, "json") {
			// A collection's summary reads it.
			if err := reports.WriteJSON(filepath.Join(dir, "tables", "findings.json"), findings); err != nil {
				return nil, err
			}
			rep.Files = append(rep.Files, filepath.Join("tables", "findings.json"))
		}
	}
	if diag.table != nil {
		if err := writeTable("diagnostics", diag.table, diag.rows); err != nil {
			return nil, err
		}
		if !slices.Contains(pf.Tables, "json") {
			if err := reports.WriteJSON(filepath.Join(dir, "tables", "diagnostics.json"), diag.rows); err != nil {
				return nil, err
			}
			rep.Files = append(rep.Files, filepath.Join("tables", "diagnostics.json"))
		}
	}
	if len(pf.Images) > 0 {
		pred, predRows := rd.predictionTable()
		if err := writeTable("predictions", pred, predRows); err != nil {
			return nil, err
		}
	}
	var layerBlocks []reports.Block
	if len(pf.Layers) > 0 {
		progress("layers")
		var err error
		if layerBlocks, err = rd.layersSection(); err != nil {
			return nil, err
		}
	}
	if vt := verdictTable("tab:"+runfolder.SafeName(pf.Name)+"-verdicts", findings); len(vt.Rows) > 0 {
		// The verdicts first, in one compact table, right after the
		// introduction; the prose verdicts last.
		page.Blocks = slices.Insert(page.Blocks, 1, reports.Block{Heading: "Verdicts", Table: vt})
		verdictBlock.Heading = "Verdicts in words"
	}
	if len(emprtLines) > 0 {
		rep.Verdicts = append(rep.Verdicts, emprtLines...)
	}
	// The figures, then the summary tables, then the verdicts in words.
	page.Blocks = append(page.Blocks, modelBlocks...)
	page.Blocks = append(page.Blocks, testBlocks...)
	page.Blocks = append(page.Blocks, layerBlocks...)
	if len(summary.Rows) > 0 {
		page.Blocks = append(page.Blocks, reports.Block{Heading: "Summary", Table: summary})
	}
	if len(emprtLines) > 0 {
		page.Blocks = append(page.Blocks, reports.Block{Heading: "Efficient MPRT", Bullets: true, Text: append([]string{
			"The efficient MPRT of Hedström et al. (2024) asks whether a method's maps become more complex, not merely different, when the model's weights are randomized: the ratio of the discrete entropy of the histogram of |map| (100 bins, scaled to the map's maximum) after cascading randomization of every layer to that of the original map, per image; mean and bootstrap 95% interval. Above 1: the maps lose their structure."},
			emprtLines...)})
	}
	if len(verdictBlock.Text) > 0 {
		// The randomization test's verdicts in words (the other tests'
		// are in their sections).
		page.Blocks = append(page.Blocks, verdictBlock)
	}
	if len(tableLinks) > 0 {
		page.Blocks = append(page.Blocks, reports.Block{Heading: "Tables", Links: tableLinks,
			Text: []string{fmt.Sprintf("Metrics: %s. SSIM and HOG compare maps scaled to [0, 1] by their minimum and maximum; top-k takes k = %.0f%% of the pixels by |map|. Intervals: percentile bootstrap, %d resamples, seed %d.",
				strings.Join(pf.Metrics, ", "), topKFraction*100, bootstrapResamples, pf.Seed)}})
	}
	if small := rd.smallFonts(); small != "" {
		rep.Warnings = append(rep.Warnings, "figures with text below 7 pt at half a page (4.25 in): "+small)
	}
	// manifest.json, index.md, index.html.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := reports.WriteJSON(filepath.Join(dir, "manifest.json"), rd.manifest(primary)); err != nil {
		return nil, err
	}
	if err := reports.WriteFile(filepath.Join(dir, "index.md"), page.Markdown()); err != nil {
		return nil, err
	}
	if err := figs.Wait(); err != nil {
		return nil, err
	}
	html, err := page.HTML(dir)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := reports.WriteFile(filepath.Join(dir, "index.html"), html); err != nil {
		return nil, err
	}
	rep.Files = append(rep.Files, "manifest.json", "index.md", "index.html")
	if o.Progress != nil {
		o.Progress(parts, parts, "")
	}
	return rep, nil
}

// fallsBelow says at which step of cascading randomization the primary
// metric's interval first lies below the verdict threshold, the measure of
// how far down the network a method keeps its map (Adebayo et al. 2018,
// Fig. 4).
func fallsBelow(sims []similarity, model, method, mode, metric string, layers []string) string {
	for _, s := range sims {
		if s.Model == model && s.Method == method && s.Mode == mode && s.Metric == metric && s.sum.N > 0 && s.sum.Hi < verdictThreshold {
			if s.Step == 1 {
				return fmt.Sprintf("It falls below %.1f as soon as the top layer (%s) is randomized.", verdictThreshold, s.Layer)
			}
			return fmt.Sprintf("It first falls below %.1f when %d of %d layers are randomized (down to %s): %s.",
				verdictThreshold, s.Step, len(layers), s.Layer, s.sum)
		}
	}
	return fmt.Sprintf("It never falls below %.1f.", verdictThreshold)
}

func lastStep(sims []similarity, model, mode string) int {
	n := 0
	for _, s := range sims {
		if s.Model == model && s.Mode == mode {
			n = max(n, s.Step)
		}
	}
	return n
}

func xTitle(mode string) string {
	switch mode {
	case "cascading":
		return "randomized from the logits down to this layer"
	case "bottom-up":
		return "randomized from the input up to this layer"
	}
	return "the only layer randomized"
}

func gridCaption(m runfolder.PlanModel, sr series, image string) string {
	const under = " Left: the input, the class explained and its score; under each column, how many images of the run keep the original model's top-1 class and the mean |change| of the explained class's score (Δz): the proof that the randomization changed the model."
	switch sr.mode {
	case "cascading":
		return fmt.Sprintf("Cascading randomization (Adebayo et al. 2018, Fig. 2) of %s on image %s: each column randomizes one more layer, from the logits towards the input; each map is normalised on its own.", m.Name, image) + under
	case "bottom-up":
		return fmt.Sprintf("Bottom-up randomization of %s on image %s: each column randomizes one more layer, from the input towards the logits; each map is normalised on its own.", m.Name, image) + under
	}
	return fmt.Sprintf("Independent randomization of %s on image %s: each column randomizes only the layer named; each map is normalised on its own.", m.Name, image) + under
}

// primaryMetric is the metric verdicts read: the rank correlation of
// absolute maps when the experiment has it (Adebayo et al.'s headline
// measure), else SSIM, else the first.
func primaryMetric(ms []string) string {
	for _, p := range []string{"spearman-abs", "ssim"} {
		if slices.Contains(ms, p) {
			return p
		}
	}
	if len(ms) > 0 {
		return ms[0]
	}
	return ""
}

// verdict is one line per method: the primary metric after every layer is
// randomized, the others beside it, and what it says.
func verdict(model, method, primary string, by map[string]stats.Summary, all []string, layers int, fall string, fl stats.Floor, fg stats.Summary, zeros float64) (word, line string) {
	s := by[primary]
	var others []string
	for _, m := range all {
		if m != primary {
			others = append(others, fmt.Sprintf("%s %s", metricDefs[m].title, by[m]))
		}
	}
	title := metricDefs[primary].title
	atFloor := fl.Null.N > 0 && fl.Verdict == stats.AtFloor
	undecided := fl.Null.N > 0 && fl.Verdict == stats.FloorUndecided
	switch {
	case s.N == 0:
		word = "undetermined"
		line = fmt.Sprintf("%s, %s: %s is undefined after all %d layers are randomized (constant maps)", model, method, title, layers)
	case s.Hi < verdictThreshold:
		word = "changes"
		line = fmt.Sprintf("%s, %s: %s to the original map falls to %s after all %d layers are randomized: the map depends on the weights (passes)",
			model, method, title, s, layers)
	case fl.Null.N > 0 && fl.Verdict == stats.BelowFloor:
		word = "changes"
		line = fmt.Sprintf("%s, %s: %s to the original map is %s after all %d layers are randomized, below the null floor %s (difference %s): the map is less like the original than a map with no model in it, so it depends on the weights (passes)",
			model, method, title, s, layers, fl.Null, fl.Diff)
	case atFloor:
		word = "at the null floor"
		line = fmt.Sprintf("%s, %s: %s to the original map is %s after all %d layers are randomized, but a map with no model in it (|input| × noise) scores %s against the original maps (difference %s): the measure cannot tell this method's change (at the null floor); %.0f%% of the pixels are 0 in both maps, and on the image's foreground alone %s is %s",
			model, method, title, s, layers, fl.Null, fl.Diff, 100*zeros, title, fg)
	case s.Lo >= verdictThreshold && undecided:
		word = "inconclusive"
		line = fmt.Sprintf("%s, %s: %s to the original map stays %s after all %d layers are randomized, but not clearly above the null floor %s (difference %s, margin %.2f): inconclusive",
			model, method, title, s, layers, fl.Null, fl.Diff, floorMargin)
	case s.Lo >= verdictThreshold:
		word = "barely changes"
		line = fmt.Sprintf("%s, %s: %s to the original map stays %s after all %d layers are randomized, above the null floor %s: the map barely depends on the weights (fails)",
			model, method, title, s, layers, fl.Null)
	default:
		word = "inconclusive"
		line = fmt.Sprintf("%s, %s: %s to the original map is %s after all %d layers are randomized: the interval straddles %.1f (inconclusive)",
			model, method, title, s, layers, verdictThreshold)
	}
	line += ". " + fall
	if len(others) > 0 {
		line += " After all layers: " + strings.Join(others, ", ") + "."
	}
	return word, line
}

// mapped lists the methods with maps of model mi (those that apply).
func (rd *runData) mapped(mi int) []int {
	var out []int
	for ki := range rd.pf.Methods {
		if rd.maps[mi][0][ki] != nil {
			out = append(out, ki)
		}
	}
	return out
}

// applicable lists the methods that apply to model mi.
func (rd *runData) applicable(mi int) []int {
	var out []int
	for ki := range rd.pf.Methods {
		if rd.na[mi][ki] == "" {
			out = append(out, ki)
		}
	}
	return out
}

// methodPages splits methods into the pages of figures, at most
// GridMethods each; no methods is one empty page.
func methodPages(ks []int) [][]int { return methodPagesOf(ks, GridMethods) }

// methodPagesOf splits the methods ks into figures of at most per methods.
func methodPagesOf(ks []int, per int) [][]int {
	if len(ks) == 0 {
		return [][]int{nil}
	}
	var out [][]int
	for lo := 0; lo < len(ks); lo += per {
		out = append(out, ks[lo:min(lo+per, len(ks))])
	}
	return out
}

// pageName names page i of a figure: name, then name-2, name-3, ….
func pageName(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, i+1)
}

// pageNote tells, in a caption, which methods page i shows ("" for a
// figure of one page).
func pageNote(pages [][]int, i int) string {
	if len(pages) < 2 {
		return ""
	}
	first, n := 0, 0
	for j, p := range pages {
		if j < i {
			first += len(p)
		}
		n += len(p)
	}
	return fmt.Sprintf(" (figure %d of %d: methods %d to %d of %d)", i+1, len(pages), first+1, first+len(pages[i]), n)
}

// mapsGrid is the method × image figure of a model's original maps, for
// the methods cols.
func (rd *runData) mapsGrid(mi int, cols []int) (*reports.Grid, error) {
	pf := rd.pf
	m := pf.Models[mi]
	g := &reports.Grid{Title: fmt.Sprintf("%s: saliency maps (original weights)", m.Name), Columns: []string{"input"}}
	for _, ki := range cols {
		g.Columns = append(g.Columns, reports.MethodName(pf.Methods[ki].Dir))
	}
	rows := min(len(pf.Images), gridImages)
	// The pictures on up to rd.workers goroutines, each in its cell: the
	// input, then each method's map over it.
	g.Cells = make([][]reports.Cell, rows)
	for i := range rows {
		g.Cells[i] = make([]reports.Cell, 1+len(cols))
	}
	err := parallel(context.Background(), rd.workers, rows*(1+len(cols)), func(j int) error {
		i, c := j/(1+len(cols)), j%(1+len(cols))
		if c == 0 {
			base, err := reports.Image(rd.display[mi].Item(i))
			g.Cells[i][0] = reports.Cell{Image: base}
			return err
		}
		ki := cols[c-1]
		if !catalog.Generative(pf.Methods[ki].Name) {
			var err error
			g.Cells[i][c], err = rd.mapCell(mi, 0, ki, i, true)
			return err
		}
		// The image the class's logit likes best, not a map of the input:
		// shown in grey, scaled to its own range, as visualize does.
		gen := minMax(rd.maps[mi][0][ki].Item(i).Data)
		if gen == nil {
			gen = make([]float32, m.Shape[0]*m.Shape[1])
		}
		img, err := reports.Image(&tensor.Tensor{Shape: []int{m.Shape[0], m.Shape[1], 1}, Data: gen})
		g.Cells[i][c] = reports.Cell{Image: img}
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range rows {
		for _, ki := range cols {
			if !catalog.Generative(pf.Methods[ki].Name) {
				markBar(g, rd.signed[mi][ki])
			}
		}
		g.Rows = append(g.Rows, pf.Images[i].ID+"\n"+m.Explained(i))
	}
	return g, nil
}

// randomizationGrid shows the first image's maps: rows the methods ks,
// columns the original then each step of the first repeat.
func (rd *runData) randomizationGrid(mi int, sr series, ks []int) (*reports.Grid, error) {
	pf := rd.pf
	m := pf.Models[mi]
	g := &reports.Grid{Title: fmt.Sprintf("%s, %s randomization, image %s", m.Name, sr.mode, pf.Images[0].ID),
		Columns: append([]string{"input", "original"}, sr.layers...)}
	steps := []int{sr.ref}
	for _, s := range sr.steps {
		steps = append(steps, s[0])
	}
	// Under each column, the proof that the model changed: its top-1
	// agreement with the original model and the change of the explained
	// class's score, over every image.
	g.ColumnNotes = append(g.ColumnNotes, "")
	for _, si := range steps {
		g.ColumnNotes = append(g.ColumnNotes, rd.stepNote(mi, sr.ref, si))
	}
	input, err := reports.Image(rd.display[mi].Item(0))
	if err != nil {
		return nil, err
	}
	// The maps' pictures on up to rd.workers goroutines, each in its cell.
	g.Cells = make([][]reports.Cell, len(ks))
	for r := range ks {
		g.Cells[r] = make([]reports.Cell, 1+len(steps))
	}
	err = parallel(context.Background(), rd.workers, len(ks)*len(steps), func(j int) error {
		r, c := j/len(steps), j%len(steps)
		var err error
		g.Cells[r][1+c], err = rd.mapCell(mi, steps[c], ks[r], 0, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	for r, ki := range ks {
		// The input once, in the first row, with the class explained and
		// its score (Adebayo et al. 2018, Fig. 2).
		if r == 0 {
			g.Cells[r][0] = reports.Cell{Image: input, Caption: rd.inputCaption(mi, sr.ref, 0)}
		}
		markBar(g, rd.signed[mi][ki])
		g.Rows = append(g.Rows, reports.MethodName(pf.Methods[ki].Dir))
	}
	return g, nil
}

// inputCaption names what model mi explains on image i and its score at
// step si: "Sneaker · logit 7.31".
func (rd *runData) inputCaption(mi, si, i int) string {
	m := rd.pf.Models[mi]
	c := m.Explained(i)
	if sc := rd.stepScores[mi][si]; sc != nil {
		what := "logit"
		if m.Probability {
			what = "p"
		}
		if m.Unit != nil {
			what = "value"
		}
		c += fmt.Sprintf("\n%s %s", what, reports.FormatFixed(float64(sc[i]), 2))
	}
	return c
}

// stepNote is the line under a randomization grid's column: the top-1
// agreement of step si's model with the reference step's over the images,
// and the mean |change| of the explained class's score.
func (rd *runData) stepNote(mi, ref, si int) string {
	agree, n, dz, ok := rd.stepPredictions(mi, ref, si)
	if !ok {
		return ""
	}
	if si == ref {
		return fmt.Sprintf("top-1 of %d", n)
	}
	note := fmt.Sprintf("%d/%d", agree, n)
	if !math.IsNaN(dz) {
		note += fmt.Sprintf("\nΔz %s", reports.FormatFixed(dz, 1))
	}
	return note
}

// stepPredictions compares step si of model mi with step ref: how many of
// the n images keep their predicted class (the original model's
// predictions for step 0), and the mean |difference| of the explained
// class's score (NaN without scores). ok is false when the step has no
// predictions (a run before they were recorded).
func (rd *runData) stepPredictions(mi, ref, si int) (agree, n int, dz float64, ok bool) {
	m := rd.pf.Models[mi]
	pred := rd.predicted[mi][si]
	if si == ref || ref == 0 && si == 0 {
		pred = m.Predicted
	}
	if pred == nil {
		return 0, 0, 0, false
	}
	base := m.Predicted
	if ref != 0 && rd.predicted[mi][ref] != nil {
		base = rd.predicted[mi][ref]
	}
	n = len(pred)
	for i := range n {
		if pred[i] == base[i] {
			agree++
		}
	}
	dz = math.NaN()
	if a, b := rd.stepScores[mi][ref], rd.stepScores[mi][si]; a != nil && b != nil {
		var sum float64
		for i := range a {
			sum += math.Abs(float64(b[i]) - float64(a[i]))
		}
		dz = sum / float64(len(a))
	}
	return agree, n, dz, true
}

// predictionTable lists each image's label, prediction and the class
// explained, per model.
func (rd *runData) predictionTable() (*reports.Table, []map[string]any) {
	pf := rd.pf
	t := &reports.Table{Caption: "The images, their labels, each model's prediction and what it explains (a class, or the unit of a unit target).",
		Label: "tab:" + runfolder.SafeName(pf.Name) + "-predictions", Columns: []string{"image", "label", "model", "predicted", "explained"}, Align: "lllll"}
	var rows []map[string]any
	for _, m := range pf.Models {
		for i, im := range pf.Images {
			label := ""
			if im.Label >= 0 {
				label = m.ClassNames[min(im.Label, len(m.ClassNames)-1)]
			}
			t.Rows = append(t.Rows, []string{im.ID, label, m.Name, m.ClassNames[m.Predicted[i]], m.Explained(i)})
			row := map[string]any{"image": im.ID, "source": im.Source, "label": im.Label, "model": m.Name,
				"predicted": m.Predicted[i], "explained": m.Classes[i]}
			if m.Unit != nil {
				row["explained"] = m.Unit.String()
			}
			rows = append(rows, row)
		}
	}
	return t, rows
}

// manifest states everything a reader needs to reproduce the run.
func (rd *runData) manifest(primary string) map[string]any {
	pf := rd.pf
	var models []map[string]any
	for _, m := range pf.Models {
		models = append(models, map[string]any{"name": m.Name, "path": m.Path, "sha256": m.SHA256, "signature": m.Signature,
			"layer": m.Layer, "target": m.Target, "steps": len(m.Steps)})
	}
	metricsDoc := map[string]string{}
	for _, m := range pf.Metrics {
		metricsDoc[m] = metricDefs[m].title
	}
	m := map[string]any{
		"experiment": map[string]any{"name": pf.Name, "file": pf.File, "sha256": pf.FileSHA256},
		"seed":       pf.Seed,
		"versions":   pf.Versions,
		"threads":    pf.Threads,
		"data":       pf.Data,
		"images":     pf.Images,
		"models":     models,
		"methods":    pf.Methods,
		"tests":      pf.Tests,
		"metrics": map[string]any{"names": metricsDoc,
			"normalisation": "SSIM and HOG Pearson compare maps scaled to [0,1] by their minimum and maximum",
			"degenerate":    "a pair where either map is constant, all zero or not finite has no value in any metric (counted as dropped)",
			"null_floor":    fmt.Sprintf("the metric between the original maps and |input| × half-normal noise (seeded); a similarity at or above the threshold fails only when it beats the floor by %.2f (paired bootstrap of the difference)", floorMargin),
			"top_k":         fmt.Sprintf("k = ceil(%.2f × pixels), by |map|", topKFraction)},
		"statistics": map[string]any{"summary": "mean over images (each image: the mean over repeats)",
			"interval": "percentile bootstrap over the images; with repeats, hierarchical over the seeds and the images (crossed)", "level": 0.95, "resamples": bootstrapResamples, "seed": pf.Seed},
		"verdict": map[string]any{"metric": primary, "threshold": verdictThreshold, "null_floor_margin": floorMargin,
			"vocabulary": []string{Passes, Fails, Inconclusive, AtNullFloor, Undetermined, Degenerate},
			"rule":       "after cascading randomization of every layer: 95% interval below the threshold, or below the null floor → changes (passes); at the null floor → at the null floor; at or above the threshold and beating the floor → barely changes (fails); else inconclusive"},
		"figure_text_pt": map[string]any{"width_in": float64(halfPage / vg.Inch), "smallest_pt": rd.fonts},
		"batch":          pf.Batch,
		"units":          len(pf.Units()),
	}
	if len(pf.Layers) > 0 {
		m["layers"] = pf.Layers
	}
	return m
}

// emprt is the ratio of the histogram entropy of the maps of a randomized
// step to that of the original maps, image by image (the mean over
// repeats), summarised.
func (rd *runData) emprt(mi, ki int, steps []int) (stats.Summary, error) {
	orig := rd.maps[mi][0][ki]
	n := orig.Shape[0]
	vals := make([]float64, n)
	for i := range n {
		h0 := metrics.HistogramEntropy(orig.Item(i).Data, 100)
		var s float64
		for _, si := range steps {
			s += metrics.HistogramEntropy(rd.maps[mi][si][ki].Item(i).Data, 100)
		}
		vals[i] = s / float64(len(steps)) / h0
	}
	return rd.bootstrap(vals)
}

// mapCell pictures map j of model mi, step si and method ki, normalised on
// its own (clipped at the 99.5th percentile of |map|): over the displayed
// input, or alone.
func (rd *runData) mapCell(mi, si, ki, j int, over bool) (reports.Cell, error) {
	mp := rd.maps[mi][si][ki]
	signed := rd.signed[mi][ki]
	norm := tensor.Normalize(mp.Item(j).Data, signed, 99.5)
	var img image.Image
	var err error
	if over {
		img, err = reports.Overlay(rd.display[mi].Item(j), norm, signed, 0.85)
	} else {
		img, err = reports.Heatmap(norm, mp.Shape[1], mp.Shape[2], signed)
	}
	return reports.Cell{Image: img}, err
}

// markBar asks for the colour bar of a method's maps.
func markBar(g *reports.Grid, signed bool) {
	if signed {
		g.Diverging = true
	} else {
		g.Sequential = true
	}
}

// displayMethod is a method's label as the papers name it, keeping a
// suffix such as " (sMPRT)".
func displayMethod(label string) string {
	name, suffix, ok := strings.Cut(label, " (")
	if ok {
		return reports.MethodName(name) + " (" + suffix
	}
	return reports.MethodName(label)
}
