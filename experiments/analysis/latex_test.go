package analysis

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/reports"
)

// Every LaTeX table of a report compiles in a two-column paper with no
// overfull box: the committed run's report, or the report (or collection)
// folder SALIENCY_LATEX_REPORT names (make test-latex REPORT=dir), e.g.
// paper.yaml's. The tables are always checked for form
// (reports.CheckTeX), compiled where pdflatex is installed, and
// SALIENCY_LATEX=1 (make test-latex) fails without it (Debian:
// texlive-latex-base, texlive-latex-recommended, texlive-latex-extra).
func TestReportLaTeX(t *testing.T) {
	pdflatex, err := exec.LookPath("pdflatex")
	if err != nil && os.Getenv("SALIENCY_LATEX") == "1" {
		t.Fatalf("SALIENCY_LATEX=1 but no pdflatex: %v", err)
	}
	dir := os.Getenv("SALIENCY_LATEX_REPORT")
	if dir == "" {
		dir = t.TempDir()
		copyDir(t, filepath.Join("testdata", "run"), dir)
		if _, err := WriteReport(dir, ReportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var tables []string
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".tex") && !strings.Contains(p, "/layers/") {
			abs, _ := filepath.Abs(p)
			tables = append(tables, abs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		t.Fatalf("no .tex table under %s", dir)
	}
	sort.Strings(tables)
	// Well formed everywhere; compiled where pdflatex is installed.
	for _, f := range tables {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := reports.CheckTeX(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if pdflatex == "" {
		t.Logf("no pdflatex: %d tables checked for form, not compiled (make test-latex requires it)", len(tables))
		return
	}
	var doc strings.Builder
	doc.WriteString("\\documentclass[twocolumn]{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n\\usepackage{booktabs,graphicx,longtable,supertabular}\n\\begin{document}\n")
	for _, f := range tables {
		fmt.Fprintf(&doc, "\\input{%s}\n\\clearpage\n", strings.TrimSuffix(f, ".tex"))
	}
	doc.WriteString("\\end{document}\n")
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "paper.tex"), []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		cmd := exec.Command(pdflatex, "-interaction=nonstopmode", "-halt-on-error", "paper.tex")
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pdflatex: %v\n%s", err, out[max(0, len(out)-3000):])
		}
	}
	log, err := os.ReadFile(filepath.Join(work, "paper.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"Overfull \\hbox", "Missing character", "Undefined control sequence"} {
		if i := bytes.Index(log, []byte(bad)); i >= 0 {
			t.Errorf("%d tables: paper.log has %q: %s", len(tables), bad, log[i:min(len(log), i+400)])
		}
	}
	t.Logf("%d tables of %s compiled", len(tables), dir)
}
