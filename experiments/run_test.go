package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/experiments/analysis"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
)

// zoo is the absolute path of a model of the committed zoo.
func zoo(name string) string {
	p, _ := filepath.Abs(filepath.Join("..", "savedmodels", name))
	return p
}

// writeFile writes text to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tinyExperiment writes an experiment on fmnist_vgg into a temporary folder:
// 4 Fashion-MNIST images in batches of 3, gradient, gradcam and cam (which
// does not apply: fmnist_vgg has no global-average-pooling head), cascading
// randomization.
func tinyExperiment(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	vgg := zoo("fmnist_vgg")
	y := `name: tiny
seed: 3
models:
  - path: ` + vgg + `
data: {source: fashion-mnist, count: 4}
batch: 3
methods: [gradient, gradcam, cam]
tests:
  - randomization: {modes: [cascading]}
metrics: [spearman-abs, ssim]
` + extra
	return writeFile(t, dir, "tiny.yaml", y)
}

func newTestPlan(t *testing.T, path string) *Plan {
	t.Helper()
	e, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(context.Background(), e, PlanOptions{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// files maps the path of every file under dir (but temporary ones) to its
// bytes.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".tmp") {
			return err
		}
		b, err := os.ReadFile(path)
		r, _ := filepath.Rel(dir, path)
		out[r] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFiles(t *testing.T, what string, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d files, want %d", what, len(b), len(a))
	}
	for k, v := range a {
		if w, ok := b[k]; !ok {
			t.Errorf("%s: %s missing", what, k)
		} else if !bytes.Equal(v, w) {
			t.Errorf("%s: %s differs", what, k)
		}
	}
}

func TestRunResumeAndShards(t *testing.T) {
	p := newTestPlan(t, tinyExperiment(t, ""))
	// 7 steps (original and 6 layers with weights) × 3 methods × 2 batches.
	if got := len(p.Models[0].Steps); got != 7 {
		t.Fatalf("%d steps, want 7: %+v", got, p.Models[0].Steps)
	}
	if got := len(p.Units()); got != 42 {
		t.Fatalf("%d units, want 42", got)
	}
	ctx := context.Background()
	one := t.TempDir()
	st, err := p.Run(ctx, RunOptions{Out: one})
	if err != nil {
		t.Fatal(err)
	}
	if st.Computed != 42 || st.Found != 0 || st.NotApplicable != 14 {
		t.Errorf("first run: %+v, want 42 computed, 14 not applicable (cam)", st)
	}
	want := files(t, one)

	// The original gradient maps are those of the method itself.
	meth, _ := methods.New("gradient", nil)
	om := p.models[0]
	res, err := meth.Explain(ctx, om.fl, methods.Batch{X: om.x.Slice(0, 3)}, methods.Target{Classes: p.Models[0].Classes[:3]})
	if err != nil {
		t.Fatal(err)
	}
	got, err := savedmodels.ReadNpy(filepath.Join(one, p.UnitPath(Unit{Model: 0, Step: 0, Method: 0, Batch: 0})+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(got, res.Map) {
		t.Error("the unit's gradient maps differ from the method's")
	}
	// A randomized step changes them.
	rnd, _ := savedmodels.ReadNpy(filepath.Join(one, p.UnitPath(Unit{Model: 0, Step: 6, Method: 0, Batch: 0})+".npy"))
	if d, _ := tensor.MaxAbsDiff(rnd, got); d == 0 {
		t.Error("the maps after randomizing every layer equal the original ones")
	}

	// A second run finds everything.
	st, err = p.Run(ctx, RunOptions{Out: one})
	if err != nil || st.Computed != 0 || st.Found != 42 {
		t.Errorf("second run: %+v, %v; want all 42 found", st, err)
	}
	// Removed units are recomputed, to the same bytes.
	for _, u := range []Unit{{Model: 0, Step: 3, Method: 1, Batch: 1}, {Model: 0, Step: 0, Method: 0, Batch: 0}} {
		os.Remove(filepath.Join(one, p.UnitPath(u)+".json"))
	}
	os.Remove(filepath.Join(one, p.UnitPath(Unit{Model: 0, Step: 3, Method: 1, Batch: 1})+".npy"))
	if st, err = p.Run(ctx, RunOptions{Out: one}); err != nil || st.Computed != 2 {
		t.Errorf("resumed run: %+v, %v; want 2 computed", st, err)
	}
	sameFiles(t, "resumed", want, files(t, one))

	// Three shards, in reverse order, give the same files.
	three := t.TempDir()
	owned := 0
	for k := 3; k >= 1; k-- {
		st, err := p.Run(ctx, RunOptions{Out: three, Shard: Shard{K: k, N: 3}})
		if err != nil {
			t.Fatal(err)
		}
		owned += st.Owned
	}
	if owned != 42 {
		t.Errorf("shards own %d units, want 42", owned)
	}
	sameFiles(t, "3 shards", want, files(t, three))
}

func TestRunRefusesAnotherPlan(t *testing.T) {
	out := t.TempDir()
	p := newTestPlan(t, tinyExperiment(t, ""))
	if _, err := p.Run(context.Background(), RunOptions{Out: out, Shard: Shard{K: 1, N: 40}}); err != nil {
		t.Fatal(err)
	}
	q := newTestPlan(t, tinyExperiment(t, "threads: 1\n"))
	_, err := q.Run(context.Background(), RunOptions{Out: out})
	if err == nil || !strings.Contains(err.Error(), "holds the run of another experiment") {
		t.Errorf("run into another plan's folder: %v", err)
	}
}

// Layers and classes are checked when the models are loaded, at the line
// and column of the key.
func TestPlanProblems(t *testing.T) {
	dir := t.TempDir()
	vgg := zoo("fmnist_vgg")
	samples := zoo("samples")
	cases := []struct{ yaml, want string }{
		{`name: x
models:
  - path: ` + vgg + `
    layer: conv2_3
data: {source: fashion-mnist, count: 2}
methods: [gradcam]
`, `4:12: model fmnist_vgg: layer "conv2_3" not found`},
		{`name: x
models:
  - path: ` + vgg + `
    target: 10
data: {source: fashion-mnist, count: 2}
methods: [gradient]
`, `4:13: model fmnist_vgg: target 10: the model has 10 classes (0 to 9)`},
		{`name: x
models:
  - path: ` + vgg + `
    target: label
data: {source: folder, path: ` + t.TempDir() + `, count: 1}
methods: [gradient]
`, `holds no images (PNG, JPEG, GIF, WebP or TIFF: .png .jpg .jpeg .gif .webp .tif .tiff)`},
		{`name: x
models:
  - path: ` + vgg + `
data: {source: folder, path: ` + samples + `, count: 50}
methods: [gradient]
`, `count 50, but`},
	}
	for i, c := range cases {
		path := filepath.Join(dir, "p.yaml")
		os.WriteFile(path, []byte(c.yaml), 0o644)
		e, err := Load(path)
		if err != nil {
			t.Errorf("case %d: load: %v", i, err)
			continue
		}
		p, err := NewPlan(context.Background(), e, PlanOptions{})
		if err == nil {
			p.Close()
			t.Errorf("case %d: no error, want %q", i, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v\nwant %q", i, err, c.want)
		}
		var inv *InvalidError
		if strings.Contains(c.want, "model ") && !errors.As(err, &inv) {
			t.Errorf("case %d: %T, want *InvalidError", i, err)
		}
	}
}

func TestReport(t *testing.T) {
	p := newTestPlan(t, tinyExperiment(t, "outputs: {figures: [svg], tables: [csv, tex]}\n"))
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out, Shard: Shard{K: 1, N: 2}}); err != nil {
		t.Fatal(err)
	}
	// Half the units: the report lists the others.
	_, err := analysis.WriteReport(out, analysis.ReportOptions{})
	var me *runfolder.MissingError
	if !errors.As(err, &me) || len(me.Units) != 21 {
		t.Fatalf("report of half a run: %v", err)
	}
	if _, err := p.Run(context.Background(), RunOptions{Out: out, Shard: Shard{K: 2, N: 2}}); err != nil {
		t.Fatal(err)
	}
	rep, err := analysis.WriteReport(out, analysis.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// gradient and gradcam (cam does not apply): one verdict each, with the
	// primary metric, its interval and the others, then one eMPRT line each.
	if len(rep.Verdicts) != 4 || !strings.HasPrefix(rep.Verdicts[2], "eMPRT, fmnist_vgg, gradient: the histogram entropy of the maps grows by a factor ") {
		t.Fatalf("verdicts: %q", rep.Verdicts)
	}
	for i, m := range []string{"gradient", "gradcam"} {
		v := rep.Verdicts[i]
		if !strings.HasPrefix(v, "fmnist_vgg, "+m+": Spearman (absolute) to the original map ") || !strings.Contains(v, "after all 6 layers are randomized") ||
			!strings.Contains(v, "After all layers: SSIM ") {
			t.Errorf("verdict %q", v)
		}
	}
	got := files(t, out)
	for _, f := range []string{"figures/fmnist_vgg-maps.png", "figures/fmnist_vgg-maps.svg", "figures/fmnist_vgg-cascading-grid.svg",
		"figures/fmnist_vgg-cascading-curves.png", "tables/summary.csv", "tables/summary.tex", "tables/similarity.csv", "tables/predictions.tex",
		"index.md", "index.html", "manifest.json"} {
		if _, ok := got[f]; !ok {
			t.Errorf("report lacks %s", f)
		}
	}
	if _, ok := got["figures/fmnist_vgg-maps.pdf"]; ok {
		t.Error("report wrote a PDF the experiment did not ask for")
	}
	md := string(got["index.md"])
	for _, want := range []string{"## Verdicts", "cam: cam does not apply: tfgraph: ", "figures/fmnist_vgg-cascading-curves.png", "[SVG](figures/fmnist_vgg-cascading-grid.svg)"} {
		if !strings.Contains(md, want) {
			t.Errorf("index.md lacks %q", want)
		}
	}
	// 2 methods × 6 steps × 2 metrics, and a header.
	if n := bytes.Count(got["tables/similarity.csv"], []byte("\n")); n != 25 {
		t.Errorf("similarity.csv has %d lines, want 25", n)
	}
	// The same run gives the same report.
	if _, err := analysis.WriteReport(out, analysis.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "second report", got, files(t, out))
}

// Localization and data randomization: findings for every method and
// measure, the random map's scores beside them, and a plan-time error when
// the images have no masks.
func TestLocalizationAndDataRandomization(t *testing.T) {
	dir := t.TempDir()
	y := `name: tests
models:
  - path: ` + zoo("fmnist_scatter") + `
data: {source: scatter, path: ` + zoo("fmnist_scatter/test_set.npz") + `, count: 6}
batch: 4
methods: [gradient, gradcam]
tests:
  - localization:
metrics: [ssim]
outputs: {figures: [png], tables: [json]}
`
	path := writeFile(t, dir, "loc.yaml", y)
	p := newTestPlan(t, path)
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	rep, err := analysis.WriteReport(out, analysis.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Verdicts) != 2 || !strings.Contains(rep.Verdicts[1], "Localization, fmnist_scatter, gradcam: energy pointing game ") {
		t.Errorf("verdicts %q", rep.Verdicts)
	}
	var fs []analysis.Finding
	b, _ := os.ReadFile(filepath.Join(out, "tables", "findings.json"))
	if err := json.Unmarshal(b, &fs); err != nil || len(fs) != 6 {
		t.Fatalf("findings.json: %d findings, %v\n%s", len(fs), err, b)
	}
	for _, f := range fs {
		if f.Reference == nil || f.Mean == nil || *f.Mean < 0 || *f.Mean > 1 {
			t.Errorf("finding %+v", f)
		}
		// The default tolerance on 64×64 maps is 15·64/224 ≈ 4.3 pixels.
		if f.Measure == "mask-auc" && *f.Reference != 0.5 {
			t.Errorf("random map's AUC %g, want 0.5", *f.Reference)
		}
	}
	// Fashion-MNIST has no masks: an error at the test's line.
	y2 := strings.Replace(strings.Replace(y, "source: scatter", "source: fashion-mnist", 1), "path: "+zoo("fmnist_scatter/test_set.npz")+", ", "", 1)
	os.WriteFile(path, []byte(y2), 0o644)
	e, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = NewPlan(context.Background(), e, PlanOptions{}); err == nil || !strings.Contains(err.Error(), "loc.yaml:8:5: localization needs an object mask for every image") {
		t.Errorf("localization without masks: %v", err)
	}

	// Data randomization: fmnist_vgg_randlabels explains fmnist_vgg's classes.
	y3 := `name: dr
models:
  - path: ` + zoo("fmnist_vgg") + `
  - path: ` + zoo("fmnist_vgg_randlabels") + `
data: {source: fashion-mnist, count: 5}
methods: [gradient, guided-backprop]
tests:
  - data-randomization: {model: fmnist_vgg, against: fmnist_vgg_randlabels}
metrics: [spearman-abs, ssim]
outputs: {figures: [png], tables: [csv]}
`
	os.WriteFile(path, []byte(y3), 0o644)
	q := newTestPlan(t, path)
	if !slices.Equal(q.Models[1].Classes, q.Models[0].Classes) || slices.Equal(q.Models[1].Predicted, q.Models[0].Predicted) {
		t.Errorf("classes %v and %v, predictions %v and %v", q.Models[0].Classes, q.Models[1].Classes, q.Models[0].Predicted, q.Models[1].Predicted)
	}
	out = t.TempDir()
	if _, err := q.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	if rep, err = analysis.WriteReport(out, analysis.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(rep.Verdicts) != 2 || !strings.HasPrefix(rep.Verdicts[0], "Data randomization, gradient: Spearman (absolute) between the maps of fmnist_vgg and of fmnist_vgg_randlabels ") {
		t.Errorf("verdicts %q", rep.Verdicts)
	}
	got := files(t, out)
	for _, f := range []string{"figures/data-randomization-fmnist_vgg.png", "figures/data-randomization-fmnist_vgg-maps.png", "tables/findings.csv"} {
		if _, ok := got[f]; !ok {
			t.Errorf("report lacks %s", f)
		}
	}
}

// Input invariance on the vision transformer: the gradient is invariant,
// Gradient × Input is not; fmnist_vgg cannot take the test (SAME padding),
// which the plan says at the test's line.
func TestInputInvariance(t *testing.T) {
	dir := t.TempDir()
	y := `name: inv
models:
  - path: ` + zoo("fmnist_vit") + `
data: {source: fashion-mnist, count: 3}
methods: [gradient, gradient-x-input]
tests:
  - input-invariance: {shift: -1}
outputs: {figures: [png], tables: [csv]}
`
	path := writeFile(t, dir, "inv.yaml", y)
	p := newTestPlan(t, path)
	step := p.Models[0].Steps[1]
	if step.Mode != "input-shift" || step.Shift[0] != -1 || step.Layers[0] != "patch_embed" || step.LogitError > 1e-4 {
		t.Errorf("shift step %+v", step)
	}
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	rep, err := analysis.WriteReport(out, analysis.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Verdicts) != 2 || !strings.HasSuffix(rep.Verdicts[0], ": invariant.") || !strings.HasSuffix(rep.Verdicts[1], ": not invariant.") {
		t.Errorf("verdicts %q", rep.Verdicts)
	}
	os.WriteFile(path, []byte(strings.Replace(y, "fmnist_vit", "fmnist_vgg", 1)), 0o644)
	e, _ := Load(path)
	if _, err := NewPlan(context.Background(), e, PlanOptions{}); err == nil || !strings.Contains(err.Error(), "inv.yaml:7:5: input-invariance: model fmnist_vgg: ") || !strings.Contains(err.Error(), "pads SAME") {
		t.Errorf("input invariance on fmnist_vgg: %v", err)
	}
}

// Faithfulness: evaluation units after the maps, curves of steps+1 points
// that start at the image's probability, a random order beside the methods,
// and the same bytes whether the maps were read or recomputed.
func TestFaithfulness(t *testing.T) {
	dir := t.TempDir()
	vgg := zoo("fmnist_vgg")
	y := `name: faith
models:
  - path: ` + vgg + `
data: {source: fashion-mnist, count: 4}
batch: 2
methods: [gradient, cam]
tests:
  - faithfulness: {steps: 4}
outputs: {figures: [png], tables: [csv]}
`
	path := writeFile(t, dir, "f.yaml", y)
	q := newTestPlan(t, path)
	units := q.Units()
	// 2 methods × 2 batches of maps, then 3 (random, gradient, cam) × 2 evaluations.
	if len(units) != 10 || units[4].Kind != "faithfulness" || units[4].Method != -1 {
		t.Fatalf("units %+v", units)
	}
	// Shard 2/2 first: its evaluation units recompute maps shard 1 has not written.
	a, b := t.TempDir(), t.TempDir()
	for _, s := range []Shard{{K: 2, N: 2}, {K: 1, N: 2}} {
		if _, err := q.Run(context.Background(), RunOptions{Out: a, Shard: s}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Run(context.Background(), RunOptions{Out: b}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "faithfulness in two shards", files(t, b), files(t, a))
	var r runfolder.FaithfulnessResult
	raw, _ := os.ReadFile(filepath.Join(b, q.UnitPath(units[6])+".json"))
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Deletion) != 2 || len(r.Deletion[0]) != 5 {
		t.Fatalf("unit %s: %v %+v", q.UnitPath(units[6]), err, r)
	}
	// (The same image, scored in another batch: equal up to float rounding.)
	if math.Abs(r.Deletion[0][0]-r.Insertion[0][4]) > 1e-6 || r.Deletion[0][0] <= r.Deletion[0][4] {
		t.Errorf("deletion %v, insertion %v: want deletion to start where insertion ends, and to fall", r.Deletion[0], r.Insertion[0])
	}
	rep, err := analysis.WriteReport(b, analysis.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Verdicts) != 1 || !strings.HasPrefix(rep.Verdicts[0], "Faithfulness, fmnist_vgg, gradient: deletion AUC ") {
		t.Errorf("verdicts %q", rep.Verdicts)
	}
}

// Fragility: perturbation steps record the predictions on the perturbed
// images; the perturbation is a seeded random sign of size ε, clipped.
func TestFragility(t *testing.T) {
	x := tensor.New(2, 3, 3, 1)
	for i := range x.Data {
		x.Data[i] = float32(i) / float32(len(x.Data)-1)
	}
	black, white := []float32{0}, []float32{1}
	a, b := perturb(x, 4, 0.1, black, white, 7), perturb(x, 4, 0.1, black, white, 7)
	if !tensor.Equal(a, b) {
		t.Error("the same seed gives two perturbations")
	}
	moved := 0
	for i, v := range a.Data {
		d := math.Abs(float64(v - x.Data[i]))
		if v < 0 || v > 1 || d > 0.1+1e-7 {
			t.Errorf("value %d: %g from %g", i, v, x.Data[i])
		}
		if d > 0.099 {
			moved++
		}
	}
	if moved < len(a.Data)-2 { // only the clipped ends may move less
		t.Errorf("%d of %d values moved by ε", moved, len(a.Data))
	}
	// The noise of an image depends on its position in the data, not in the batch.
	if c := perturb(x.Slice(1, 2), 5, 0.1, black, white, 7); !tensor.Equal(c, a.Slice(1, 2)) {
		t.Error("image 5 gets other noise alone than in a batch")
	}

	dir := t.TempDir()
	vgg := zoo("fmnist_vgg")
	y := `name: frag
models:
  - path: ` + vgg + `
data: {source: fashion-mnist, count: 4}
methods: [gradient]
tests:
  - fragility: {epsilons: [0.01, 0.5], attack: 4}
metrics: [top-k]
outputs: {figures: [png], tables: [csv]}
`
	path := writeFile(t, dir, "f.yaml", y)
	p := newTestPlan(t, path)
	if len(p.Models[0].Steps) != 4 || p.Models[0].Steps[2].Epsilon != 0.5 || p.Models[0].Steps[3].Mode != "attack" {
		t.Fatalf("steps %+v", p.Models[0].Steps)
	}
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	var r UnitResult
	raw, _ := os.ReadFile(filepath.Join(out, p.UnitPath(Unit{Step: 2})+".json"))
	if err := json.Unmarshal(raw, &r); err != nil || len(r.Predicted) != 4 {
		t.Fatalf("unit of ε = 0.5: %v %+v", err, r)
	}
	// The attack keeps every prediction and moves the map.
	raw, _ = os.ReadFile(filepath.Join(out, p.UnitPath(Unit{Step: 3})+".json"))
	var au UnitResult
	if err := json.Unmarshal(raw, &au); err != nil || len(au.Predicted) == 0 || !slices.Equal(au.Predicted, p.Models[0].Predicted[:len(au.Predicted)]) {
		t.Errorf("attack unit: %v, predicted %v, want %v", err, au.Predicted, p.Models[0].Predicted)
	}
	am, _ := savedmodels.ReadNpy(filepath.Join(out, p.UnitPath(Unit{Step: 3})+".npy"))
	om, _ := savedmodels.ReadNpy(filepath.Join(out, p.UnitPath(Unit{Step: 0})+".npy"))
	if d, _ := tensor.MaxAbsDiff(am, om); d == 0 {
		t.Error("the attack left every map as it was")
	}
	rep, err := analysis.WriteReport(out, analysis.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Ghorbani et al.'s question: the attack against random noise of the same size.
	if len(rep.Verdicts) != 1 || !strings.HasPrefix(rep.Verdicts[0], "Fragility, fmnist_vgg, gradient: at ε = 0.5 the targeted attack (4 steps, ") ||
		!strings.Contains(rep.Verdicts[0], "under random sign noise of the same size: the map is ") {
		t.Errorf("verdicts %q", rep.Verdicts)
	}
}

// The smooth MPRT: a smoothed original step that the smoothed randomized
// steps are compared with, and its own verdicts beside the plain MPRT's.
func TestSmoothMPRT(t *testing.T) {
	path := tinyExperiment(t, "")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(raw), "metrics:", "  - randomization: {modes: [cascading], smooth: 3}\nmetrics:", 1)), 0o644)
	p := newTestPlan(t, path)
	steps := p.Models[0].Steps
	// original, 6 cascading, the smoothed original, 6 smoothed cascading
	if len(steps) != 14 || steps[7].Mode != "smooth-original" || steps[8].Ref != 7 || steps[8].Smooth != 3 || steps[1].Ref != 0 {
		t.Fatalf("steps %+v", steps)
	}
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	// The smoothed map is the mean over 3 noisy copies: not the plain map.
	plain, _ := savedmodels.ReadNpy(filepath.Join(out, p.UnitPath(Unit{Step: 0})+".npy"))
	smooth, _ := savedmodels.ReadNpy(filepath.Join(out, p.UnitPath(Unit{Step: 7})+".npy"))
	if d, _ := tensor.MaxAbsDiff(plain, smooth); d == 0 {
		t.Error("the smoothed original equals the plain one")
	}
	rep, err := analysis.WriteReport(out, analysis.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range rep.Verdicts {
		if strings.HasPrefix(v, "fmnist_vgg, gradient (sMPRT): Spearman (absolute) to the original map ") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("verdicts %q", rep.Verdicts)
	}
}

// The random-logit test explains each image for another class, drawn with
// the seed, and compares the maps.
func TestRandomLogit(t *testing.T) {
	path := tinyExperiment(t, "")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(raw), "  - randomization: {modes: [cascading]}\n", "  - random-logit:\n", 1)), 0o644)
	p := newTestPlan(t, path)
	steps := p.Models[0].Steps
	if len(steps) != 2 || steps[1].Mode != "random-logit" {
		t.Fatalf("steps %+v", steps)
	}
	for i, c := range steps[1].Classes {
		if c == p.Models[0].Classes[i] || c < 0 || c > 9 {
			t.Errorf("image %d: random class %d, explained %d", i, c, p.Models[0].Classes[i])
		}
	}
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	var r UnitResult
	b, _ := os.ReadFile(filepath.Join(out, p.UnitPath(Unit{Step: 1})+".json"))
	json.Unmarshal(b, &r)
	if !slices.Equal(r.Classes, steps[1].Classes[:3]) {
		t.Errorf("unit explained %v, want %v", r.Classes, steps[1].Classes[:3])
	}
	rep, err := analysis.WriteReport(out, analysis.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Verdicts) != 2 || !strings.HasPrefix(rep.Verdicts[0], "Random logit, fmnist_vgg, gradient: Spearman (absolute) between the maps of the explained class and of a random other class is ") {
		t.Errorf("verdicts %q", rep.Verdicts)
	}
}

// ROAD: evaluation units with MoRF and LeRF curves at each fraction, a
// random order beside the methods, and the report's verdicts.
func TestROAD(t *testing.T) {
	dir := t.TempDir()
	vgg := zoo("fmnist_vgg")
	y := `name: road
models:
  - path: ` + vgg + `
data: {source: fashion-mnist, count: 3}
methods: [gradient]
tests:
  - road: {fractions: [0.2, 0.5, 0.9], noise: 0.01}
outputs: {figures: [png], tables: [csv]}
`
	path := writeFile(t, dir, "r.yaml", y)
	p := newTestPlan(t, path)
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	var r runfolder.ROADResult
	raw, _ := os.ReadFile(filepath.Join(out, p.UnitPath(Unit{Method: 0, Kind: "road"})+".json"))
	if err := json.Unmarshal(raw, &r); err != nil || len(r.MoRF) != 3 || len(r.MoRF[0]) != 3 || len(r.LeRF[2]) != 3 {
		t.Fatalf("ROAD unit: %v %+v", err, r)
	}
	rep, err := analysis.WriteReport(out, analysis.ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Verdicts) != 1 || !strings.HasPrefix(rep.Verdicts[0], "ROAD, fmnist_vgg, gradient: mean MoRF probability ") {
		t.Errorf("verdicts %q", rep.Verdicts)
	}
}

// A model's target may be a unit: its maps are the method's maps of the unit
// (the original step) and the report is written; tests whose measure is a
// class refuse it, and a unit that does not fit its layer is a problem at
// the target's line.
func TestUnitTargetExperiment(t *testing.T) {
	dir := t.TempDir()
	vgg := zoo("fmnist_vgg")
	path := writeFile(t, dir, "unit.yaml", `name: unit
seed: 3
models:
  - path: `+vgg+`
    target: conv2_2:5/mean
data: {source: fashion-mnist, count: 3}
methods: [gradient, guided-backprop]
tests:
  - randomization: {modes: [cascading]}
metrics: [spearman-abs]
`)
	p := newTestPlan(t, path)
	if p.Models[0].Unit == nil || p.Models[0].Unit.String() != "conv2_2:5/mean" {
		t.Fatalf("plan unit %v", p.Models[0].Unit)
	}
	ctx := context.Background()
	out := t.TempDir()
	if _, err := p.Run(ctx, RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	meth, _ := methods.New("gradient", nil)
	om := p.models[0]
	res, err := meth.Explain(ctx, om.fl, methods.Batch{X: om.x.Slice(0, 3)}, methods.Target{Unit: &methods.Unit{Layer: "conv2_2", Channel: 5, Reduce: "mean"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := savedmodels.ReadNpy(filepath.Join(out, p.UnitPath(Unit{Model: 0, Step: 0, Method: 0, Batch: 0})+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(got, res.Map) {
		t.Error("the unit target's gradient maps differ from the method's")
	}
	if _, err := analysis.WriteReport(out, analysis.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "index.md"))
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(out, "tables", "predictions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "target: conv2_2:5/mean") || !strings.Contains(string(csv), ",conv2_2:5/mean\n") {
		t.Errorf("the report does not say that the unit conv2_2:5/mean is explained:\n%s", csv)
	}

	for i, c := range []struct{ target, extra, want string }{
		{"conv9:5", "", `4:13: model fmnist_vgg: target conv9:5: tfgraph: ` + vgg + `: layer "conv9" not found`},
		{"conv2_2:40", "", `4:13: model fmnist_vgg: target conv2_2:40: channel 40 is out of range`},
		{"conv2_2:4", "  - faithfulness: {steps: 4}\n", `faithfulness: model fmnist_vgg explains the unit conv2_2:4; this test needs a class target`},
	} {
		y := "name: x\nmodels:\n  - path: " + vgg + "\n    target: " + c.target + "\ndata: {source: fashion-mnist, count: 2}\nmethods: [gradient]\ntests:\n  - randomization: {modes: [cascading]}\n" + c.extra
		path := writeFile(t, dir, "p.yaml", y)
		e, err := Load(path)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		p, err := NewPlan(ctx, e, PlanOptions{})
		if err == nil {
			p.Close()
			t.Errorf("case %d: no error", i)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v\nwant %q", i, err, c.want)
		}
	}
	bad := writeFile(t, dir, "b.yaml", "name: x\nmodels:\n  - path: "+vgg+"\n    target: conv2_2:5/median\ndata: {source: fashion-mnist, count: 2}\nmethods: [gradient]\n")
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "4:13") || !strings.Contains(err.Error(), "want /max or /mean") {
		t.Errorf("bad target syntax: %v", err)
	}
}

// A run writes the same bytes whether its experiment file was named by a
// relative or an absolute path, the "does not apply" text of a unit
// included: it names the model by the plan's path (relative to the
// experiment file), not by the path this process loaded it from.
func TestRunSameBytesRelativeAndAbsolute(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	model, err := filepath.Rel(dir, zoo("fmnist_vgg"))
	if err != nil {
		t.Fatal(err)
	}
	abs := writeFile(t, dir, "na.yaml", `name: na
seed: 3
models:
  - path: `+model+`
data: {source: fashion-mnist, count: 2}
batch: 2
methods: [gradient, cam]
`)
	rel, err := filepath.Rel(wd, abs)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]map[string][]byte{}
	for _, named := range []string{rel, abs} {
		p := newTestPlan(t, named)
		out := t.TempDir()
		st, err := p.Run(context.Background(), RunOptions{Out: out})
		if err != nil {
			t.Fatal(err)
		}
		if st.NotApplicable == 0 {
			t.Fatalf("%s: no unit did not apply (cam on fmnist_vgg): %+v", named, st)
		}
		runs[named] = files(t, out)
	}
	sameFiles(t, "named absolutely", runs[rel], runs[abs])
	for name, b := range runs[abs] {
		if bytes.Contains(b, []byte(wd)) || bytes.Contains(b, []byte(dir)) {
			t.Errorf("%s names a folder of this machine", name)
		}
	}
}
