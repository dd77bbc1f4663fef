package reports

import (
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
