package reports_test

import (
	"fmt"
	"strings"

	"github.com/saliencykit/saliency/reports"
)

// A compact verdict table for an HTML page: each value with its interval
// on one line, the verdict cells coloured by class.
func ExampleFormatInterval() {
	type finding struct {
		method       string
		mean, lo, hi float64
		verdict      reports.Verdict
		word         string
	}
	t := &reports.Table{Columns: []string{"method", "rank correlation", "verdict"}, Class: "compact"}
	for _, f := range []finding{
		{"gradient", 0.0712, -0.004, 0.15, reports.VerdictPass, "changes"},
		{"guided-backprop", 0.86, 0.81, 0.904, reports.VerdictFail, "barely changes"},
		{"smoothgrad", 0.48, 0.39, 0.57, reports.VerdictInconclusive, "inconclusive"},
	} {
		t.Rows = append(t.Rows, []string{reports.MethodName(f.method), reports.FormatInterval(f.mean, f.lo, f.hi, 2), f.word})
		t.Classes = append(t.Classes, []string{"", "", f.verdict.Class()})
	}
	// The no-break spaces shown as '~'.
	fmt.Print(strings.ReplaceAll(string(t.HTML()), "\u00a0", "~"))
	// Output:
	// <table class="compact">
	// <thead>
	// <tr><th style="text-align: left">method</th><th style="text-align: right">rank correlation</th><th style="text-align: right">verdict</th></tr>
	// </thead>
	// <tbody>
	// <tr><td style="text-align: left">Gradient</td><td style="text-align: right">0.07~[0.00,~0.15]</td><td class="verdict-pass" style="text-align: right">changes</td></tr>
	// <tr><td style="text-align: left">Guided Backprop</td><td style="text-align: right">0.86~[0.81,~0.90]</td><td class="verdict-fail" style="text-align: right">barely changes</td></tr>
	// <tr><td style="text-align: left">SmoothGrad</td><td style="text-align: right">0.48~[0.39,~0.57]</td><td class="verdict-inconclusive" style="text-align: right">inconclusive</td></tr>
	// </tbody>
	// </table>
}

// A table of thousands of rows for a two-column paper: a supertabular,
// split over the columns and pages, its header repeated.
func ExampleTable_split() {
	t := &reports.Table{
		Caption: "Per-image scores",
		Label:   "tab:scores",
		Columns: []string{"image", "method", "score"},
		TeX:     reports.TeXSupertabular, // TeXLongtable in a one-column document, TeXWide for a wide table
	}
	for i := range 2000 {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("img_%04d", i), reports.MethodName("gradcam++"), reports.FormatFixed(-0.001*float64(i%3), 2)})
	}
	lines := strings.Split(string(t.LaTeX()), "\n")
	fmt.Println(strings.Join(lines[:16], "\n"))
	// Output:
	// \begin{center}
	// \tablefirsthead{\toprule
	// image & method & score \\
	// \midrule}
	// \tablehead{\multicolumn{3}{l}{\small\itshape (continued)} \\
	// \toprule
	// image & method & score \\
	// \midrule}
	// \tabletail{\midrule}
	// \tablelasttail{\bottomrule}
	// \topcaption{Per-image scores}
	// \label{tab:scores}
	// \begin{supertabular}{lrr}
	// img\_0000 & Grad-CAM++ & 0.00 \\
	// img\_0001 & Grad-CAM++ & 0.00 \\
	// img\_0002 & Grad-CAM++ & 0.00 \\
}
