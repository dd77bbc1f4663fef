package reports

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLaTeXCompiles sets the tables of every TeXLayout in a two-column
// article with pdflatex: a table float, a table* with every character
// TeXEscape escapes, a table* of seven columns (the findings of a run)
// shrunk to the text width, a supertabular of 600 rows over the columns
// and pages, and after \onecolumn a longtable of 1500 rows. Every table is
// checked for form (CheckTeX); where pdflatex is installed they are
// compiled, and SALIENCY_LATEX=1 (make test-latex) fails without it
// (Debian: texlive-latex-base, texlive-latex-recommended for booktabs,
// texlive-latex-extra for supertabular). SALIENCY_LATEX_OUT names a folder
// to keep the document and its PDF in.
func TestLaTeXCompiles(t *testing.T) {
	pdflatex, err := exec.LookPath("pdflatex")
	if err != nil && os.Getenv("SALIENCY_LATEX") == "1" {
		t.Fatalf("SALIENCY_LATEX=1 but no pdflatex: %v (Debian: apt-get install texlive-latex-base texlive-latex-recommended texlive-latex-extra)", err)
	}
	dir := os.Getenv("SALIENCY_LATEX_OUT")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	methods := []string{"gradient", "gradient-x-input", "smoothgrad", "squaregrad", "vargrad", "integrated-gradients",
		"guided-backprop", "gradcam", "gradcam++", "scorecam", "occlusion", "my_label"}
	// A value per method and measure, some rounding to a negative zero.
	value := func(i, j int) float64 { return math.Sin(float64(7*i+3*j)) * math.Pow(10, -float64((i+j)%4)) }

	// One column: the paper names and compact intervals.
	small := &Table{Caption: "Rank correlation after randomization", Label: "tab:small", Columns: []string{"method", "Spearman ρ"}}
	for i, m := range methods[:6] {
		v := value(i, 0)
		small.Rows = append(small.Rows, []string{MethodName(m), FormatInterval(v, v-0.04, v+0.03, 2)})
	}
	small.Rows = append(small.Rows, []string{MethodName("squaregrad"), FormatInterval(-0.001, -0.03, 0.02, 2)})
	// Every character to escape, as wide as needed.
	escapes := testTable()
	escapes.TeX = TeXWide

	// Two columns wide: the findings across tests, as experiments write
	// them, with colour-free verdicts.
	wide := &Table{Caption: "Every test's findings: mean over the images with a bootstrap 95% interval", Label: "tab:wide", TeX: TeXWide,
		Columns: []string{"test", "model", "method", "measure", "value", "random map", "verdict"}, Align: "llllrrl"}
	for i, m := range methods {
		for j, test := range []string{"randomization", "localization", "faithfulness"} {
			v := value(i, j)
			wide.Rows = append(wide.Rows, []string{test, "fmnist_vgg", MethodName(m), "rank correlation (absolute)",
				FormatInterval(v, v-0.05, v+0.05, 2), FormatFixed(value(j, i)/100, 2), []string{"changes", "barely changes", "inconclusive"}[(i+j)%3]})
		}
	}
	split := &Table{Caption: "Per-image scores", Label: "tab:split", TeX: TeXSupertabular,
		Columns: []string{"image", "method", "score"}, Align: "llr"}
	for i := range 600 {
		split.Rows = append(split.Rows, []string{fmt.Sprintf("img_%03d", i/len(methods)), MethodName(methods[i%len(methods)]), fmt.Sprintf("%.2f", value(i, 1))})
	}
	long := &Table{Caption: "Per-image, per-layer scores", Label: "tab:long", TeX: TeXLongtable,
		Columns: []string{"image", "layer", "method", "SSIM", "Spearman ρ"}, Align: "lll"}
	for i := range 1500 {
		long.Rows = append(long.Rows, []string{fmt.Sprintf("img_%03d", i/60), fmt.Sprintf("block%d_conv", i%5), MethodName(methods[i%len(methods)]),
			fmt.Sprintf("%.2f", value(i, 2)), fmt.Sprintf("%.3f", value(i, 3))})
	}

	tables := map[string]*Table{"small": small, "escapes": escapes, "wide": wide, "split": split, "long": long}
	for name, tb := range tables {
		if err := tb.Save(filepath.Join(dir, name+".tex")); err != nil {
			t.Fatal(err)
		}
	}
	// Well formed everywhere; compiled where pdflatex is installed.
	for name, tb := range tables {
		if err := CheckTeX(tb.LaTeX()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if pdflatex == "" {
		t.Log("no pdflatex: the tables were checked for form, not compiled (make test-latex requires it)")
		return
	}
	doc := `\documentclass[twocolumn]{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs,graphicx,longtable,supertabular}
\begin{document}
Tables \ref{tab:small}, \ref{tab:sanity_ssim}, \ref{tab:wide}, \ref{tab:split} and \ref{tab:long}.
\input{small}
\input{escapes}
\input{wide}
\input{split}
\onecolumn
\input{long}
\end{document}
`
	if err := os.WriteFile(filepath.Join(dir, "paper.tex"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	// Twice: the references, and longtable's column widths.
	for range 2 {
		cmd := exec.Command(pdflatex, "-interaction=nonstopmode", "-halt-on-error", "paper.tex")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pdflatex: %v\n%s", err, tail(out, 40))
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "paper.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"Overfull \\hbox", "LaTeX Warning: Reference", "Rerun", "Missing character", "Undefined control sequence"} {
		if bytes.Contains(log, []byte(bad)) {
			t.Errorf("paper.log has %q:\n%s", bad, around(log, bad))
		}
	}
	m := regexp.MustCompile(`Output written on paper.pdf \((\d+) pages?`).FindSubmatch(log)
	if m == nil {
		t.Fatalf("paper.log does not say how many pages:\n%s", tail(log, 20))
	}
	var pages int
	fmt.Sscan(string(m[1]), &pages)
	// 600 rows in two columns of about 55 rows, 1500 in pages of about 45.
	if pages < 35 {
		t.Errorf("paper.pdf has %d pages; the long tables were not split", pages)
	}
	t.Logf("paper.pdf: %d pages, in %s", pages, dir)
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(string(b), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// around returns the lines of b around the first s.
func around(b []byte, s string) string {
	i := bytes.Index(b, []byte(s))
	return string(b[max(0, i-200):min(len(b), i+300)])
}
