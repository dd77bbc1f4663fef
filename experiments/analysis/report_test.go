package analysis

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the report of testdata/run")

// copyDir copies the folder src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The report of a committed run folder (testdata/run: testdata/mini.yaml,
// fmnist_vgg and its random-label twin, three images, every test kind
// without masks) is written without TensorFlow (this package does not link
// it: make test runs it with CGO_ENABLED=0) and its text files are the
// committed ones: index.md, manifest.json and every table. The figures are
// checked to exist; their pixels are the reports package's tests'.
func TestReportOfCommittedRun(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join("testdata", "run"), dir)
	rep, err := WriteReport(dir, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Verdicts) == 0 {
		t.Error("no verdicts")
	}
	golden := filepath.Join("testdata", "golden")
	var texts []string
	for _, f := range rep.Files {
		switch filepath.Ext(f) {
		case ".md", ".json", ".csv", ".tex":
			texts = append(texts, f)
		case ".png":
			if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
				t.Errorf("figure %s: %v", f, err)
			}
		}
	}
	// Every figure is legible at half a page: text of at least 7 points.
	var man struct {
		Fonts struct {
			Smallest map[string]float64 `json:"smallest_pt"`
		} `json:"figure_text_pt"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err != nil || json.Unmarshal(b, &man) != nil || len(man.Fonts.Smallest) == 0 {
		t.Fatalf("manifest.json: no figure_text_pt (%v)", err)
	}
	for name, pt := range man.Fonts.Smallest {
		if pt < 7 {
			t.Errorf("figure %s: smallest text %.1f pt at 4.25 in", name, pt)
		}
	}
	if len(texts) < 5 {
		t.Fatalf("the report wrote %d text files: %v", len(texts), rep.Files)
	}
	for _, f := range texts {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(golden, f)
		if *update {
			if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(want, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w, err := os.ReadFile(want)
		if err != nil {
			t.Fatalf("%v (go test ./experiments/analysis -update writes it)", err)
		}
		if !bytes.Equal(got, w) {
			t.Errorf("%s differs from %s (go test ./experiments/analysis -update rewrites it after a deliberate change)", f, want)
		}
	}
}

// Every metric an experiment may name has a definition, and only those.
func TestMetricsDefined(t *testing.T) {
	if len(Metrics) != len(metricDefs) {
		t.Errorf("%d metrics, %d definitions", len(Metrics), len(metricDefs))
	}
	for _, m := range Metrics {
		if _, ok := metricDefs[m]; !ok {
			t.Errorf("metric %s has no definition", m)
		}
	}
}

// Every finding of the committed run's report reads a word of the verdict
// vocabulary, or none.
func TestVerdictVocabulary(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "tables", "findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []Finding
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	words := []string{"", Passes, Fails, Inconclusive, AtNullFloor, Undetermined, Degenerate}
	for _, f := range fs {
		if !slices.Contains(words, f.Verdict) {
			t.Errorf("%s %s %s: verdict %q is not in the vocabulary", f.Test, f.Model, f.Method, f.Verdict)
		}
	}
	for r, v := range readings {
		if !slices.Contains(words, v) {
			t.Errorf("reading %q maps to %q, not a word of the vocabulary", r, v)
		}
	}
}
