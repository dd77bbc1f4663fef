package experiments

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/experiments/analysis"
)

// The report's Diagnostics section: Integrated Gradients with 2 steps
// misses completeness on every image of fmnist_vgg (17–50 %), so the report
// warns, names the images and the likely causes (index.md, index.html,
// tables/diagnostics.*, Report.Warnings); with the default 50 steps every
// image is within 5 % and the section says so.
func TestReportDiagnostics(t *testing.T) {
	samples, _ := filepath.Abs(filepath.Join("..", "savedmodels", "samples"))
	run := func(methodsYAML string) (*analysis.Report, string) {
		t.Helper()
		dir := t.TempDir()
		y := `name: diag
models:
  - path: ` + zoo("fmnist_vgg") + `
data: {source: folder, path: ` + samples + `, count: 3}
methods:
` + methodsYAML + `outputs: {figures: [png], tables: [csv]}
`
		p := newTestPlan(t, writeFile(t, dir, "diag.yaml", y))
		out := filepath.Join(dir, "out")
		if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
			t.Fatal(err)
		}
		rep, err := analysis.WriteReport(out, analysis.ReportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rep, out
	}
	rep, out := run("  - {name: integrated-gradients, label: ig2, options: {steps: 2}}\n  - gradient\n")
	if len(rep.Warnings) != 1 {
		t.Fatalf("warnings %q, want one (ig2)", rep.Warnings)
	}
	w := rep.Warnings[0]
	if !strings.HasPrefix(w, "fmnist_vgg, ig2: completeness-error above 5% on 3 of 3 images (") || !strings.Contains(w, "likely causes: too few steps") {
		t.Errorf("warning %q", w)
	}
	raw, err := os.ReadFile(filepath.Join(out, "tables", "diagnostics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []analysis.DiagnosticRow
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("diagnostics.json has %d rows, want 3", len(rows))
	}
	for _, r := range rows {
		if r.Model != "fmnist_vgg" || r.Method != "ig2" || r.Diagnostic != "completeness-error" || !(r.Value > 0.05) || r.Threshold != 0.05 || len(r.Causes) < 3 {
			t.Errorf("row %+v", r)
		}
		if !strings.Contains(w, r.Image+" ") {
			t.Errorf("the warning does not name %s: %s", r.Image, w)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "index.md"))
	html, _ := os.ReadFile(filepath.Join(out, "index.html"))
	for _, want := range []string{"## Diagnostics", "Warning: these maps are likely wrong", "fmnist_vgg, ig2: completeness-error above 5% on 3 of 3 images", "tables/diagnostics.csv"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("index.md lacks %q", want)
		}
	}
	if !strings.Contains(string(html), "Diagnostics") || !strings.Contains(string(html), "completeness-error above 5% on 3 of 3 images") {
		t.Error("index.html lacks the diagnostics")
	}
	if _, err := os.Stat(filepath.Join(out, "tables", "diagnostics.csv")); err != nil {
		t.Error(err)
	}

	rep, out = run("  - integrated-gradients\n")
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings at 50 steps: %q", rep.Warnings)
	}
	md, _ = os.ReadFile(filepath.Join(out, "index.md"))
	if !strings.Contains(string(md), "## Diagnostics") || !strings.Contains(string(md), "Every image is within the thresholds (completeness-error of integrated-gradients on fmnist_vgg)") {
		t.Errorf("index.md of a clean run:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(out, "tables", "diagnostics.csv")); err == nil {
		t.Error("a clean run wrote diagnostics.csv")
	}
}
