package experiments

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/experiments/analysis"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
)

// A batch larger than the memory budget's chunk does not make one large
// session run: the plan's predictions go through the model in chunks, and
// give the classes of small batches.
func TestLargeBatchRunsInChunks(t *testing.T) {
	plan := func(batch int) (*Plan, int64) {
		dir := t.TempDir()
		y := fmt.Sprintf("name: big\nmodels: [{path: %s}]\ndata: {source: fashion-mnist, count: 300}\nmethods: [gradient]\nbatch: %d\n", zoo("fmnist_vgg"), batch)
		p := newTestPlan(t, writeFile(t, dir, "big.yaml", y))
		return p, p.models[0].fl.Runs()
	}
	small, r10 := plan(10)
	big, r300 := plan(300)
	size := methods.Chunking{}.Size(big.models[0].fl)
	if size >= 300 {
		t.Fatalf("the memory budget holds %d images of fmnist_vgg; the test wants fewer than 300", size)
	}
	chunks := (300 + size - 1) / size
	if r10-r300 != 30-int64(chunks) {
		t.Errorf("session runs: %d with batch 10, %d with batch 300; want %d fewer (30 batches against %d chunks of %d)", r10, r300, 30-chunks, chunks, size)
	}
	if !slices.Equal(small.Models[0].Predicted, big.Models[0].Predicted) {
		t.Error("the predictions of batch 300 differ from those of batch 10")
	}
}

// Counts that would size memory beyond what the model can use are errors
// at the line of their key.
func TestPlanBounds(t *testing.T) {
	vgg := zoo("fmnist_vgg")
	cases := []struct {
		extra string
		o     PlanOptions
		want  string
	}{
		{"tests: [{faithfulness: {steps: 1000}}]\n", PlanOptions{}, "6:9: faithfulness: steps 1000: model fmnist_vgg has 784 pixels (28×28); want at most one step per pixel"},
		{"threads: 100000\n", PlanOptions{}, "6:10: threads 100000: this process may use"},
		{"threads: 1\n", PlanOptions{Threads: 100000}, "threads 100000: this process may use"},
	}
	for i, c := range cases {
		y := "name: x\nmodels: [{path: " + vgg + "}]\ndata: {source: fashion-mnist, count: 2}\nmethods: [gradient]\nbatch: 2\n" + c.extra
		e, err := Load(writeFile(t, t.TempDir(), "x.yaml", y))
		if err != nil {
			t.Errorf("case %d: load: %v", i, err)
			continue
		}
		p, err := NewPlan(context.Background(), e, c.o)
		if err == nil {
			p.Close()
			t.Errorf("case %d: no error, want %q", i, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v\nwant %q", i, err, c.want)
		}
		var inv *InvalidError
		if strings.HasPrefix(c.want, "6:") != errors.As(err, &inv) {
			t.Errorf("case %d: %T; want an *InvalidError exactly when the file's line is known", i, err)
		}
	}
}

// A plan draws no random weights: each step's are drawn when its units run,
// equal to Randomization.Steps', and only one Randomization's draws (one
// model's worth of weights) are held at a time, whatever the repeats and
// modes.
func TestRandomizedWeightsDrawnWhenNeeded(t *testing.T) {
	y := "name: lazy\nseed: 3\nmodels: [{path: " + zoo("fmnist_vgg") + "}]\ndata: {source: fashion-mnist, count: 2}\nmethods: [gradient]\n" +
		"tests: [{randomization: {modes: [cascading, independent], repeats: 3}}]\nmetrics: [spearman-abs]\n"
	q := newTestPlan(t, writeFile(t, t.TempDir(), "lazy.yaml", y))
	om, pm := q.models[0], q.Models[0]
	if om.draws != nil {
		t.Fatal("the plan drew random weights before any unit ran")
	}
	layers := len(RandomizableLayers(om.fl))
	if want := 1 + 3*2*layers; len(pm.Steps) != want {
		t.Fatalf("%d steps, want %d", len(pm.Steps), want)
	}
	eager := map[string]Step{}
	for r := 1; r <= 3; r++ {
		for _, mode := range []string{"cascading", "independent"} {
			steps, err := Randomization{Seed: repeatSeed(q.Seed, r)}.Steps(om.fl, mode)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range steps {
				eager[fmt.Sprintf("%s#%d", s.Name, r)] = s
			}
		}
	}
	for si, st := range pm.Steps[1:] {
		si++
		vals, err := om.stepValues(si)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := eager[fmt.Sprintf("%s#%d", strings.TrimSuffix(st.Name, fmt.Sprintf("#%d", st.Repeat)), st.Repeat)]
		if !ok || len(vals) != len(want.Values) {
			t.Fatalf("step %s: %d weights, want %d (found %v)", st.Name, len(vals), len(want.Values), ok)
		}
		for k, v := range want.Values {
			if !tensor.Equal(vals[k], v) {
				t.Errorf("step %s: weight %s differs from Randomization.Steps'", st.Name, k)
			}
		}
		if om.draws.r.Seed != repeatSeed(q.Seed, st.Repeat) {
			t.Errorf("step %s (repeat %d) holds the draws of seed %d", st.Name, st.Repeat, om.draws.r.Seed)
		}
		drawn := 0
		for _, d := range om.draws.drawn {
			if d != nil {
				drawn++
			}
		}
		if drawn > layers {
			t.Errorf("step %s: %d layers drawn, the model has %d", st.Name, drawn, layers)
		}
	}
}

// A report of more methods than GridMethods draws its grids and curves in
// figures of at most GridMethods methods each, so that no figure grows with
// the methods (one grid of 1600 methods took 1.8 GB).
func TestReportFiguresOfAtMostGridMethods(t *testing.T) {
	n := analysis.GridMethods + 3
	y := "name: many\nmodels: [{path: " + zoo("fmnist_vgg") + "}]\ndata: {source: fashion-mnist, count: 2}\nmethods: [gradient" +
		strings.Repeat(", gradient", n-1) + "]\ntests: [{randomization: {modes: [cascading]}}]\nmetrics: [spearman-abs]\noutputs: {figures: [png], tables: [csv]}\n"
	p := newTestPlan(t, writeFile(t, t.TempDir(), "many.yaml", y))
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	if _, err := analysis.WriteReport(out, analysis.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(out, "index.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The maps of the original model: figures of analysis.MapsMethods.
	maps := (n + analysis.MapsMethods - 1) / analysis.MapsMethods
	if _, err := os.Stat(filepath.Join(out, "figures", fmt.Sprintf("fmnist_vgg-maps-%d.png", maps))); err != nil {
		t.Errorf("no figure %d of the maps: %v", maps, err)
	}
	if _, err := os.Stat(filepath.Join(out, "figures", fmt.Sprintf("fmnist_vgg-maps-%d.png", maps+1))); err == nil {
		t.Errorf("a figure %d of the maps", maps+1)
	}
	for _, fig := range []string{"fmnist_vgg-cascading-grid", "fmnist_vgg-cascading-curves"} {
		first, second := pngSize(t, filepath.Join(out, "figures", fig+".png")), pngSize(t, filepath.Join(out, "figures", fig+"-2.png"))
		if _, err := os.Stat(filepath.Join(out, "figures", fig+"-3.png")); err == nil {
			t.Errorf("%s has a third figure for %d methods", fig, n)
		}
		// The first holds GridMethods methods, the second 3: smaller.
		if second.X*second.Y >= first.X*first.Y {
			t.Errorf("%s: the figure of 3 methods (%v) is not smaller than that of %d (%v)", fig, second, analysis.GridMethods, first)
		}
		if !strings.Contains(string(index), "figures/"+fig+"-2.png") {
			t.Errorf("index.md does not show %s-2.png", fig)
		}
	}
	if want := fmt.Sprintf("(figure 2 of 2: methods %d to %d of %d)", analysis.GridMethods+1, n, n); !strings.Contains(string(index), want) {
		t.Errorf("index.md lacks %q", want)
	}
}

// pngSize is the width and height of a PNG file.
func pngSize(t *testing.T, path string) image.Point {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return image.Pt(c.Width, c.Height)
}
