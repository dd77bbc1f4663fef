package reports

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testTable is a table of metrics with every kind of text to escape.
func testTable() *Table {
	return &Table{
		Caption: "Similarity after randomization (mean ± 95% CI)",
		Label:   "tab:sanity_ssim",
		Columns: []string{"method", "SSIM", "Spearman ρ"},
		Rows: [][]string{
			{"gradient", "0.12 ± 0.03", "−0.05"},
			{"gradient×input", "0.30", "0.41"},
			{`a&b %c $d #e _f {g} ~h ^i \j`, "<1|2>", "\"q\", r"},
		},
	}
}

func TestTableCSV(t *testing.T) {
	want := "method,SSIM,Spearman ρ\n" +
		"gradient,0.12 ± 0.03,−0.05\n" +
		"gradient×input,0.30,0.41\n" +
		`a&b %c $d #e _f {g} ~h ^i \j,<1|2>,"""q"", r"` + "\n"
	if got := string(testTable().CSV()); got != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
	}
	// No header, a short row filled, a cell with a newline quoted.
	tb := &Table{Rows: [][]string{{"a", "b"}, {"c\nd"}}}
	if got, want := string(tb.CSV()), "a,b\n\"c\nd\",\n"; got != want {
		t.Errorf("CSV = %q, want %q", got, want)
	}
}

func TestTableLaTeX(t *testing.T) {
	want := `\begin{table}
\centering
\caption{Similarity after randomization (mean $\pm$ 95\% CI)}
\label{tab:sanity_ssim}
\begin{tabular}{lrr}
\toprule
method & SSIM & Spearman $\rho$ \\
\midrule
gradient & 0.12 $\pm$ 0.03 & $-$0.05 \\
gradient$\times$input & 0.30 & 0.41 \\
a\&b \%c \$d \#e \_f \{g\} \textasciitilde{}h \textasciicircum{}i \textbackslash{}j & \textless{}1\textbar{}2\textgreater{} & "q", r \\
\bottomrule
\end{tabular}
\end{table}
`
	if got := string(testTable().LaTeX()); got != want {
		t.Errorf("LaTeX:\n%s\nwant:\n%s", got, want)
	}
	// No caption, label or header; alignment given, then defaulted.
	tb := &Table{Rows: [][]string{{"x", "1", "2"}}, Align: "c", Label: `bad{label}%`}
	want = `\begin{table}
\centering
\label{badlabel}
\begin{tabular}{crr}
\toprule
x & 1 & 2 \\
\bottomrule
\end{tabular}
\end{table}
`
	if got := string(tb.LaTeX()); got != want {
		t.Errorf("LaTeX:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableMarkdown(t *testing.T) {
	tb := testTable()
	tb.Align = "lcr"
	want := `*Similarity after randomization (mean ± 95% CI)*

| method | SSIM | Spearman ρ |
| :--- | :---: | ---: |
| gradient | 0.12 ± 0.03 | −0.05 |
| gradient×input | 0.30 | 0.41 |
| a&b %c $d #e _f {g} ~h ^i \\j | <1\|2> | "q", r |
`
	if got := string(tb.Markdown()); got != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, want)
	}
	tb = &Table{Rows: [][]string{{"a", "b\nc"}}}
	want = "|  |  |\n| :--- | ---: |\n| a | b<br>c |\n"
	if got := string(tb.Markdown()); got != want {
		t.Errorf("Markdown = %q, want %q", got, want)
	}
}

func TestTableHTML(t *testing.T) {
	want := `<table id="tab:sanity_ssim">
<caption>Similarity after randomization (mean ± 95% CI)</caption>
<thead>
<tr><th style="text-align: left">method</th><th style="text-align: right">SSIM</th><th style="text-align: right">Spearman ρ</th></tr>
</thead>
<tbody>
<tr><td style="text-align: left">gradient</td><td style="text-align: right">0.12 ± 0.03</td><td style="text-align: right">−0.05</td></tr>
<tr><td style="text-align: left">gradient×input</td><td style="text-align: right">0.30</td><td style="text-align: right">0.41</td></tr>
<tr><td style="text-align: left">a&amp;b %c $d #e _f {g} ~h ^i \j</td><td style="text-align: right">&lt;1|2&gt;</td><td style="text-align: right">&#34;q&#34;, r</td></tr>
</tbody>
</table>
`
	if got := string(testTable().HTML()); got != want {
		t.Errorf("HTML:\n%s\nwant:\n%s", got, want)
	}
	tb := &Table{Rows: [][]string{{"a\nb"}}}
	want = "<table>\n<tbody>\n<tr><td style=\"text-align: left\">a<br>b</td></tr>\n</tbody>\n</table>\n"
	if got := string(tb.HTML()); got != want {
		t.Errorf("HTML = %q, want %q", got, want)
	}
}

func TestTableCheck(t *testing.T) {
	if err := testTable().Check(); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		t    Table
		want string
	}{
		{Table{Columns: []string{"a", "b"}, Rows: [][]string{{"1", "2"}, {"3"}}}, "table row 1 has 1 cells for 2 columns"},
		{Table{Rows: [][]string{{"1", "2"}, {"3", "4", "5"}}}, "table row 1 has 3 cells for 2 columns"},
		{Table{Columns: []string{"a"}, Align: "lr"}, `table align "lr" has 2 letters for 1 columns`},
		{Table{Columns: []string{"a", "b"}, Align: "lx"}, `table align "lx" has "x"; letters: l, c, r`},
	} {
		if err := tc.t.Check(); err == nil || err.Error() != "reports: "+tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func TestTableSave(t *testing.T) {
	dir := t.TempDir()
	tb := testTable()
	for ext, want := range map[string][]byte{".csv": tb.CSV(), ".tex": tb.LaTeX(), ".md": tb.Markdown(), ".html": tb.HTML()} {
		path := filepath.Join(dir, "t"+ext)
		if err := tb.Save(path); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != string(want) {
			t.Errorf("%s: %v, %d bytes, want %d", ext, err, len(got), len(want))
		}
	}
	err := tb.Save(filepath.Join(dir, "t.xlsx"))
	if err == nil || !strings.HasSuffix(err.Error(), `unknown table format "xlsx"; formats: csv, tex, md, html`) {
		t.Errorf("save as xlsx: %v", err)
	}
}

// splitTable is a small table in the layouts for papers.
func splitTable(layout TeXLayout) *Table {
	return &Table{Caption: "Findings", Label: "tab:f", Columns: []string{"method", "value"},
		Rows: [][]string{{"gradient", "0.50"}, {"smoothgrad", "−0.00"}}, TeX: layout}
}

func TestTableLaTeXLayouts(t *testing.T) {
	for _, tc := range []struct {
		layout TeXLayout
		want   string
	}{
		{TeXWide, `\begin{table*}
\centering
\caption{Findings}
\label{tab:f}
\resizebox{\ifdim\width>\textwidth\textwidth\else\width\fi}{!}{%
\begin{tabular}{lr}
\toprule
method & value \\
\midrule
gradient & 0.50 \\
smoothgrad & 0.00 \\
\bottomrule
\end{tabular}}
\end{table*}
`},
		{TeXLongtable, `\begin{longtable}{lr}
\caption{Findings}\label{tab:f} \\
\toprule
method & value \\
\midrule
\endfirsthead
\multicolumn{2}{l}{\small\itshape (continued)} \\
\toprule
method & value \\
\midrule
\endhead
\midrule
\multicolumn{2}{r}{\small\itshape continued on the next page} \\
\endfoot
\bottomrule
\endlastfoot
gradient & 0.50 \\
smoothgrad & 0.00 \\
\end{longtable}
`},
		{TeXSupertabular, `\begin{center}
\tablefirsthead{\toprule
method & value \\
\midrule}
\tablehead{\multicolumn{2}{l}{\small\itshape (continued)} \\
\toprule
method & value \\
\midrule}
\tabletail{\midrule}
\tablelasttail{\bottomrule}
\topcaption{Findings}
\label{tab:f}
\begin{supertabular}{lr}
gradient & 0.50 \\
smoothgrad & 0.00 \\
\end{supertabular}
\end{center}
`},
	} {
		if got := string(splitTable(tc.layout).LaTeX()); got != tc.want {
			t.Errorf("layout %d:\n%s\nwant:\n%s", tc.layout, got, tc.want)
		}
	}
	// Without caption or header: no caption, no label, rules only.
	tb := &Table{Label: "tab:x", Rows: [][]string{{"a", "1"}}, TeX: TeXSupertabular}
	want := `\begin{center}
\tablefirsthead{\toprule
}
\tablehead{\multicolumn{2}{l}{\small\itshape (continued)} \\
\toprule
}
\tabletail{\midrule}
\tablelasttail{\bottomrule}
\begin{supertabular}{lr}
a & 1 \\
\end{supertabular}
\end{center}
`
	if got := string(tb.LaTeX()); got != want {
		t.Errorf("supertabular without caption:\n%s\nwant:\n%s", got, want)
	}
	tb.TeX = TeXLongtable
	if got := string(tb.LaTeX()); strings.Contains(got, `\label`) || strings.Contains(got, `\caption`) || !strings.HasPrefix(got, "\\begin{longtable}{lr}\n\\toprule\n\\endfirsthead\n") {
		t.Errorf("longtable without caption:\n%s", got)
	}
}

// No format prints a negative zero; CSV keeps the other digits.
func TestTableNoNegativeZero(t *testing.T) {
	tb := &Table{Columns: []string{"m", "v", "ci", "raw"}, Rows: [][]string{
		{"gradient", "-0.00", "−0.00 [−0.02, 0.01]", "-0.000123"},
		{"block-0", "-0", "0.12 [-0.0, 0.3]", "-0"},
	}}
	for name, out := range map[string]string{"csv": string(tb.CSV()), "tex": string(tb.LaTeX()), "md": string(tb.Markdown()), "html": string(tb.HTML())} {
		for _, bad := range []string{"-0.00 ", "-0.00,", "−0.00 ", "$-$0.00", "-0,", "-0 ", "-0\n", "-0<", "-0.0,", "-0.00<", "-0.00|"} {
			if strings.Contains(strings.ReplaceAll(out, "block-0", ""), bad) {
				t.Errorf("%s has %q:\n%s", name, bad, out)
			}
		}
		for _, keep := range []string{"block-0", "0.000123"} {
			if !strings.Contains(out, keep) {
				t.Errorf("%s lacks %q:\n%s", name, keep, out)
			}
		}
	}
	if got, want := string(tb.CSV()), "m,v,ci,raw\ngradient,0.00,\"0.00 [−0.02, 0.01]\",-0.000123\nblock-0,0,\"0.12 [0.0, 0.3]\",0\n"; got != want {
		t.Errorf("CSV = %q, want %q", got, want)
	}
	// The table itself is left as it was.
	if tb.Rows[0][1] != "-0.00" {
		t.Errorf("cell changed to %q", tb.Rows[0][1])
	}
}

func TestTableHTMLClasses(t *testing.T) {
	tb := &Table{Columns: []string{"method", "value", "verdict"}, Class: "compact",
		Rows: [][]string{
			{"Gradient", FormatInterval(0.12, 0.05, 0.2, 2), "changes"},
			{"Guided Backprop", FormatInterval(0.91, 0.88, 0.94, 2), "barely changes"},
			{"Occlusion", "n/a", ""},
		},
		Classes: [][]string{{"", "", VerdictPass.Class()}, {"", "", VerdictFail.Class()}}}
	want := "<table class=\"compact\">\n<thead>\n" +
		"<tr><th style=\"text-align: left\">method</th><th style=\"text-align: right\">value</th><th style=\"text-align: right\">verdict</th></tr>\n" +
		"</thead>\n<tbody>\n" +
		"<tr><td style=\"text-align: left\">Gradient</td><td style=\"text-align: right\">0.12\u00a0[0.05,\u00a00.20]</td><td class=\"verdict-pass\" style=\"text-align: right\">changes</td></tr>\n" +
		"<tr><td style=\"text-align: left\">Guided Backprop</td><td style=\"text-align: right\">0.91\u00a0[0.88,\u00a00.94]</td><td class=\"verdict-fail\" style=\"text-align: right\">barely changes</td></tr>\n" +
		"<tr><td style=\"text-align: left\">Occlusion</td><td style=\"text-align: right\">n/a</td><td style=\"text-align: right\"></td></tr>\n" +
		"</tbody>\n</table>\n"
	if got := string(tb.HTML()); got != want {
		t.Errorf("HTML:\n%s\nwant:\n%s", got, want)
	}
	for v, class := range map[Verdict]string{VerdictNone: "", VerdictPass: "verdict-pass", VerdictFail: "verdict-fail",
		VerdictInconclusive: "verdict-inconclusive", VerdictUndetermined: "verdict-undetermined", Verdict(99): ""} {
		if v.Class() != class {
			t.Errorf("Verdict(%d).Class() = %q, want %q", v, v.Class(), class)
		}
		if class != "" && !strings.Contains(TableStyle, "td."+class+" {") {
			t.Errorf("TableStyle has no rule for %s", class)
		}
	}
	// A page includes TableStyle only when a table has classes.
	p := &Page{Blocks: []Block{{Table: &Table{Rows: [][]string{{"a"}}}}}}
	h, err := p.HTML(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(h), "verdict-pass") {
		t.Error("a page without classes has the verdict style")
	}
	p.Blocks = append(p.Blocks, Block{Table: tb})
	if h, err = p.HTML(t.TempDir()); err != nil || !strings.Contains(string(h), TableStyle+"</style>") {
		t.Errorf("a page with a compact table lacks TableStyle (%v)", err)
	}
}

// TeXWidePages sets a long table as table* floats of TeXPageRows rows, the
// label on the first, "(continued)" on the others, each page cleared.
func TestTeXWidePages(t *testing.T) {
	tb := &Table{Caption: "Every step", Label: "tab:steps", Columns: []string{"step", "value"}, TeX: TeXWidePages}
	for i := range 2*TeXPageRows + 1 {
		tb.Rows = append(tb.Rows, []string{fmt.Sprint(i), "−0.00"})
	}
	tex := string(tb.LaTeX())
	for what, want := range map[string]int{`\begin{table*}`: 3, `\clearpage`: 3, `\label{tab:steps}`: 1, `\caption{(continued)}`: 2, `\resizebox`: 3, "0.00": 2*TeXPageRows + 1} {
		if got := strings.Count(tex, what); got != want {
			t.Errorf("%q %d times, want %d", what, got, want)
		}
	}
	if strings.Contains(tex, "-0.00") || strings.Contains(tex, "$-$0.00") {
		t.Error("a negative zero")
	}
}

// CheckTeX refuses what would stop pdflatex: unclosed or crossed
// environments, unbalanced braces, characters outside ASCII.
func TestCheckTeX(t *testing.T) {
	for _, bad := range []string{
		"\\begin{table}\n\\begin{tabular}{ll}\n\\end{table}\n",
		"\\begin{center}\n",
		"\\caption{x\n",
		"a } b\n",
		"gradient × input\n",
	} {
		if err := CheckTeX([]byte(bad)); err == nil {
			t.Errorf("%q passes", bad)
		}
	}
	good := &Table{Caption: "Δ {x} 50% ×", Columns: []string{"a", "b"}, Rows: [][]string{{`\{`, "−0.5"}}, TeX: TeXWide}
	if err := CheckTeX(good.LaTeX()); err != nil {
		t.Errorf("%v\n%s", err, good.LaTeX())
	}
}
