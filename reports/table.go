package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"path/filepath"
	"strings"
)

// Table is a table of text cells (metrics already formatted), written as
// CSV, LaTeX, Markdown or HTML.
//
// A table has as many columns as its header or its longest row, whichever
// is more; shorter rows, and a shorter header, are filled with empty cells.
// Check reports such a table as an error, for callers that want none.
type Table struct {
	// Caption describes the table; empty for none. It is not part of the
	// CSV.
	Caption string

	// Label names the table for cross-references: \label in LaTeX, the id
	// of the table in HTML; empty for none.
	Label string

	// Columns are the column headers; nil for none.
	Columns []string

	// Rows are the cells, row by row.
	Rows [][]string

	// Align gives the alignment of each column: 'l' (left), 'c' (centre)
	// or 'r' (right). Empty, or missing for a column, means left for the
	// first column and right for the others (a name, then numbers).
	Align string
}

// Check reports a table whose rows and header do not all have the same
// length, or an Align with more letters than columns or another letter
// than l, c and r.
func (t *Table) Check() error {
	n := len(t.Columns)
	if t.Columns == nil && len(t.Rows) > 0 {
		n = len(t.Rows[0])
	}
	for i, row := range t.Rows {
		if len(row) != n {
			return fmt.Errorf("reports: table row %d has %d cells for %d columns", i, len(row), n)
		}
	}
	if len(t.Align) > n {
		return fmt.Errorf("reports: table align %q has %d letters for %d columns", t.Align, len(t.Align), n)
	}
	if i := strings.IndexFunc(t.Align, func(r rune) bool { return r != 'l' && r != 'c' && r != 'r' }); i >= 0 {
		return fmt.Errorf("reports: table align %q has %q; letters: l, c, r", t.Align, t.Align[i:i+1])
	}
	return nil
}

// width is the number of columns.
func (t *Table) width() int {
	n := len(t.Columns)
	for _, row := range t.Rows {
		n = max(n, len(row))
	}
	return n
}

// align returns the alignment of each column.
func (t *Table) align() []byte {
	a := make([]byte, t.width())
	for i := range a {
		a[i] = 'r'
		if i == 0 {
			a[i] = 'l'
		}
		if i < len(t.Align) && strings.IndexByte("lcr", t.Align[i]) >= 0 {
			a[i] = t.Align[i]
		}
	}
	return a
}

// cells returns row filled to n cells.
func cells(row []string, n int) []string {
	if len(row) >= n {
		return row
	}
	out := make([]string, n)
	copy(out, row)
	return out
}

// CSV returns the table as comma-separated values, the header first,
// quoted where RFC 4180 asks (by encoding/csv), lines ending in "\n".
func (t *Table) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	n := t.width()
	if t.Columns != nil {
		w.Write(cells(t.Columns, n))
	}
	for _, row := range t.Rows {
		w.Write(cells(row, n))
	}
	w.Flush() // writes to a bytes.Buffer do not fail
	return b.Bytes()
}

// LaTeX returns the table as a LaTeX table float with booktabs rules, ready
// for \input (with \usepackage{booktabs}):
//
//	\begin{table}
//	\centering
//	\caption{Caption}
//	\label{Label}
//	\begin{tabular}{lrr}
//	\toprule
//	method & SSIM & Spearman \\
//	\midrule
//	gradient & 0.12 & $-$0.05 \\
//	\bottomrule
//	\end{tabular}
//	\end{table}
//
// Text is escaped (TeXEscape); the characters that would break \label are
// dropped from the label.
func (t *Table) LaTeX() []byte {
	var b bytes.Buffer
	n := t.width()
	b.WriteString("\\begin{table}\n\\centering\n")
	if t.Caption != "" {
		fmt.Fprintf(&b, "\\caption{%s}\n", TeXEscape(t.Caption))
	}
	if label := strings.Map(func(r rune) rune {
		if strings.ContainsRune("\\{}%#~^&$\n", r) {
			return -1
		}
		return r
	}, t.Label); label != "" {
		fmt.Fprintf(&b, "\\label{%s}\n", label)
	}
	fmt.Fprintf(&b, "\\begin{tabular}{%s}\n\\toprule\n", t.align())
	row := func(r []string) {
		for i, s := range cells(r, n) {
			if i > 0 {
				b.WriteString(" & ")
			}
			b.WriteString(TeXEscape(s))
		}
		b.WriteString(" \\\\\n")
	}
	if t.Columns != nil {
		row(t.Columns)
		b.WriteString("\\midrule\n")
	}
	for _, r := range t.Rows {
		row(r)
	}
	b.WriteString("\\bottomrule\n\\end{tabular}\n\\end{table}\n")
	return b.Bytes()
}

// texReplacer escapes LaTeX's special characters and writes a few Unicode
// characters common in metrics as math, so that a document needs no
// Unicode support for them.
var texReplacer = strings.NewReplacer(
	`\`, `\textbackslash{}`, `&`, `\&`, `%`, `\%`, `$`, `\$`, `#`, `\#`, `_`, `\_`,
	`{`, `\{`, `}`, `\}`, `~`, `\textasciitilde{}`, `^`, `\textasciicircum{}`,
	`<`, `\textless{}`, `>`, `\textgreater{}`, `|`, `\textbar{}`, "\n", ` `,
	`−`, `$-$`, `±`, `$\pm$`, `×`, `$\times$`, `·`, `$\cdot$`, `…`, `\ldots{}`,
	`≤`, `$\leq$`, `≥`, `$\geq$`, `≈`, `$\approx$`, `→`, `$\rightarrow$`,
	`–`, `--`, `—`, `---`, `°`, `$^\circ$`,
	`α`, `$\alpha$`, `β`, `$\beta$`, `γ`, `$\gamma$`, `δ`, `$\delta$`, `ε`, `$\varepsilon$`,
	`λ`, `$\lambda$`, `μ`, `$\mu$`, `π`, `$\pi$`, `ρ`, `$\rho$`, `σ`, `$\sigma$`, `τ`, `$\tau$`,
	`²`, `\textsuperscript{2}`, `³`, `\textsuperscript{3}`, "\u00a0", `~`,
)

// TeXEscape returns s as LaTeX text: the special characters & % $ # _ { }
// ~ ^ \ < > | escaped, a newline as a space, a no-break space as ~, and the
// minus sign, ±, ×, ·, …, ≤, ≥, ≈, →, dashes, °, ² and ³ and a few Greek
// letters (α β γ δ ε λ μ π ρ σ τ) written as math or ASCII: "−0.5 ± 0.1"
// becomes "$-$0.5 $\pm$ 0.1".
func TeXEscape(s string) string { return texReplacer.Replace(s) }

// Markdown returns the table as a GitHub pipe table, after its caption in
// italics if any:
//
//	*Caption*
//
//	| method | SSIM |
//	| :--- | ---: |
//	| gradient | 0.12 |
//
// A pipe in a cell is escaped as "\|", a newline written as "<br>". A table
// without header gets an empty one, which GitHub requires.
func (t *Table) Markdown() []byte {
	var b bytes.Buffer
	if t.Caption != "" {
		fmt.Fprintf(&b, "*%s*\n\n", mdEscape(t.Caption))
	}
	n := t.width()
	row := func(r []string) {
		b.WriteString("|")
		for _, s := range cells(r, n) {
			s = strings.ReplaceAll(s, `\`, `\\`)
			s = strings.ReplaceAll(s, "|", `\|`)
			s = strings.ReplaceAll(s, "\n", "<br>")
			b.WriteString(" " + s + " |")
		}
		b.WriteString("\n")
	}
	row(t.Columns)
	b.WriteString("|")
	for _, a := range t.align() {
		b.WriteString(map[byte]string{'l': " :--- |", 'c': " :---: |", 'r': " ---: |"}[a])
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	return b.Bytes()
}

// HTML returns the table as an HTML table: the caption, the header in
// thead, the rows in tbody, each cell aligned by a style attribute, the
// label as the table's id. Text is escaped; a newline becomes <br>.
func (t *Table) HTML() []byte {
	var b bytes.Buffer
	n := t.width()
	al := t.align()
	if t.Label != "" {
		fmt.Fprintf(&b, "<table id=\"%s\">\n", html.EscapeString(t.Label))
	} else {
		b.WriteString("<table>\n")
	}
	if t.Caption != "" {
		fmt.Fprintf(&b, "<caption>%s</caption>\n", htmlText(t.Caption))
	}
	row := func(r []string, tag string) {
		b.WriteString("<tr>")
		for i, s := range cells(r, n) {
			style := map[byte]string{'l': "left", 'c': "center", 'r': "right"}[al[i]]
			fmt.Fprintf(&b, "<%s style=\"text-align: %s\">%s</%s>", tag, style, htmlText(s), tag)
		}
		b.WriteString("</tr>\n")
	}
	if t.Columns != nil {
		b.WriteString("<thead>\n")
		row(t.Columns, "th")
		b.WriteString("</thead>\n")
	}
	b.WriteString("<tbody>\n")
	for _, r := range t.Rows {
		row(r, "td")
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.Bytes()
}

// htmlText escapes s for HTML text, a newline as <br>.
func htmlText(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
}

// Save writes the table to path in the format its extension names: .csv,
// .tex (LaTeX), .md (Markdown) or .html. The file is written atomically
// (a temporary file in the same folder, renamed over path).
func (t *Table) Save(path string) error {
	var b []byte
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		b = t.CSV()
	case ".tex":
		b = t.LaTeX()
	case ".md":
		b = t.Markdown()
	case ".html":
		b = t.HTML()
	default:
		return fmt.Errorf("reports: save %s: unknown table format %q; formats: csv, tex, md, html", path, strings.TrimPrefix(ext, "."))
	}
	return WriteFile(path, b)
}
