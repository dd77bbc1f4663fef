package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"path/filepath"
	"regexp"
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

	// TeX chooses how LaTeX sets the table: a table float (the zero
	// value), a float across both columns of a two-column paper, shrunk
	// to the text width if wider (TeXWide), or a table split over pages
	// (TeXLongtable, TeXSupertabular) for hundreds or thousands of rows,
	// which no float can hold. The other formats ignore it.
	TeX TeXLayout

	// Class is the CSS class of the HTML table, for example "compact"
	// (see TableStyle); empty for none. The other formats ignore it.
	Class string

	// Classes are CSS classes of the HTML body cells, Classes[row][column]
	// (for example Verdict.Class() for a verdict cell); nil, a short row
	// or "" for none. The other formats ignore them.
	Classes [][]string
}

// TeXLayout is how Table.LaTeX sets a table.
type TeXLayout int

const (
	// TeXFloat is a table float, \begin{table} … \end{table}, one column
	// wide in a two-column paper.
	TeXFloat TeXLayout = iota

	// TeXWide is a table* float, as wide as the text in a two-column
	// paper, the tabular shrunk to the text width if it is wider (never
	// enlarged): \resizebox{\ifdim\width>\textwidth\textwidth\else\width\fi}{!}{…}.
	// It needs \usepackage{graphicx}.
	TeXWide

	// TeXLongtable is a longtable, split over pages, its header repeated
	// on every page under "(continued)" and "continued on the next page"
	// at the foot of all pages but the last. It needs
	// \usepackage{longtable}, and one-column mode (longtable stops with
	// an error in a twocolumn document; switch with \onecolumn, or use
	// TeXSupertabular).
	TeXLongtable

	// TeXSupertabular is a supertabular, split over the columns and pages
	// of a one- or two-column document, its header repeated in every
	// column under "(continued)", centred. It needs
	// \usepackage{supertabular}.
	TeXSupertabular

	// TeXWidePages is a table too long for one float and too wide for a
	// column: table* floats of TeXPageRows rows each, shrunk to the text
	// width if wider, the parts after the first captioned "(continued)",
	// each followed by \clearpage; an appendix table of any size in a
	// two-column paper (graphicx).
	TeXWidePages
)

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

// cells returns row filled to n cells, without negative zeros
// (TrimNegativeZeros): no format writes "-0.00".
func cells(row []string, n int) []string {
	out := make([]string, max(n, len(row)))
	for i, s := range row {
		out[i] = TrimNegativeZeros(s)
	}
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
// or, as TeX asks, a table* float or a table split over pages (see
// TeXLayout). Text is escaped (TeXEscape); the characters that would break
// \label are dropped from the label. A number that rounds to zero has no
// sign (TrimNegativeZeros), in every format.
func (t *Table) LaTeX() []byte {
	switch t.TeX {
	case TeXLongtable:
		return t.longtable()
	case TeXSupertabular:
		return t.supertabular()
	case TeXWidePages:
		return t.widePages()
	}
	var b bytes.Buffer
	n := t.width()
	env := "table"
	if t.TeX == TeXWide {
		env = "table*"
	}
	fmt.Fprintf(&b, "\\begin{%s}\n\\centering\n", env)
	if t.Caption != "" {
		fmt.Fprintf(&b, "\\caption{%s}\n", TeXEscape(t.Caption))
	}
	if label := t.texLabel(); label != "" {
		fmt.Fprintf(&b, "\\label{%s}\n", label)
	}
	if t.TeX == TeXWide {
		b.WriteString("\\resizebox{\\ifdim\\width>\\textwidth\\textwidth\\else\\width\\fi}{!}{%\n")
	}
	fmt.Fprintf(&b, "\\begin{tabular}{%s}\n\\toprule\n", t.align())
	if t.Columns != nil {
		texRow(&b, t.Columns, n)
		b.WriteString("\\midrule\n")
	}
	for _, r := range t.Rows {
		texRow(&b, r, n)
	}
	b.WriteString("\\bottomrule\n\\end{tabular}")
	if t.TeX == TeXWide {
		b.WriteString("}")
	}
	fmt.Fprintf(&b, "\n\\end{%s}\n", env)
	return b.Bytes()
}

// texLabel is the label without the characters that would break \label.
func (t *Table) texLabel() string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("\\{}%#~^&$\n", r) {
			return -1
		}
		return r
	}, t.Label)
}

// texRow writes a row of n cells, escaped, ended by \\.
func texRow(b *bytes.Buffer, r []string, n int) {
	for i, s := range cells(r, n) {
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteString(TeXEscape(s))
	}
	b.WriteString(" \\\\\n")
}

// texNote writes a row of one cell across the n columns in small italics: the
// "(continued)" of a split table.
func texNote(b *bytes.Buffer, n int, align byte, note string) {
	fmt.Fprintf(b, "\\multicolumn{%d}{%c}{\\small\\itshape %s} \\\\\n", n, align, note)
}

// longtable is LaTeX for TeXLongtable:
//
//	\begin{longtable}{lrr}
//	\caption{Caption}\label{Label} \\
//	\toprule
//	method & SSIM & Spearman \\
//	\midrule
//	\endfirsthead
//	\multicolumn{3}{l}{\small\itshape (continued)} \\
//	\toprule
//	method & SSIM & Spearman \\
//	\midrule
//	\endhead
//	\midrule
//	\multicolumn{3}{r}{\small\itshape continued on the next page} \\
//	\endfoot
//	\bottomrule
//	\endlastfoot
//	gradient & 0.12 & $-$0.05 \\
//	\end{longtable}
func (t *Table) longtable() []byte {
	var b bytes.Buffer
	n := t.width()
	fmt.Fprintf(&b, "\\begin{longtable}{%s}\n", t.align())
	if t.Caption != "" {
		fmt.Fprintf(&b, "\\caption{%s}", TeXEscape(t.Caption))
		if label := t.texLabel(); label != "" {
			fmt.Fprintf(&b, "\\label{%s}", label)
		}
		b.WriteString(" \\\\\n")
	}
	header := func() {
		b.WriteString("\\toprule\n")
		if t.Columns != nil {
			texRow(&b, t.Columns, n)
			b.WriteString("\\midrule\n")
		}
	}
	header()
	b.WriteString("\\endfirsthead\n")
	texNote(&b, n, 'l', "(continued)")
	header()
	b.WriteString("\\endhead\n\\midrule\n")
	texNote(&b, n, 'r', "continued on the next page")
	b.WriteString("\\endfoot\n\\bottomrule\n\\endlastfoot\n")
	for _, r := range t.Rows {
		texRow(&b, r, n)
	}
	b.WriteString("\\end{longtable}\n")
	return b.Bytes()
}

// supertabular is LaTeX for TeXSupertabular:
//
//	\begin{center}
//	\tablefirsthead{\toprule
//	method & SSIM & Spearman \\
//	\midrule}
//	\tablehead{\multicolumn{3}{l}{\small\itshape (continued)} \\
//	\toprule
//	method & SSIM & Spearman \\
//	\midrule}
//	\tabletail{\midrule}
//	\tablelasttail{\bottomrule}
//	\topcaption{Caption}
//	\label{Label}
//	\begin{supertabular}{lrr}
//	gradient & 0.12 & $-$0.05 \\
//	\end{supertabular}
//	\end{center}
//
// Every head and tail is set, so none is left over from a table before.
// A split table has a label only with a caption (the label names the
// caption's number).
func (t *Table) supertabular() []byte {
	var b bytes.Buffer
	n := t.width()
	b.WriteString("\\begin{center}\n")
	header := func() {
		b.WriteString("\\toprule\n")
		if t.Columns != nil {
			texRow(&b, t.Columns, n)
			b.WriteString("\\midrule")
		}
		b.WriteString("}\n")
	}
	b.WriteString("\\tablefirsthead{")
	header()
	b.WriteString("\\tablehead{")
	texNote(&b, n, 'l', "(continued)")
	header()
	b.WriteString("\\tabletail{\\midrule}\n\\tablelasttail{\\bottomrule}\n")
	if t.Caption != "" {
		fmt.Fprintf(&b, "\\topcaption{%s}\n", TeXEscape(t.Caption))
		if label := t.texLabel(); label != "" {
			fmt.Fprintf(&b, "\\label{%s}\n", label)
		}
	}
	fmt.Fprintf(&b, "\\begin{supertabular}{%s}\n", t.align())
	for _, r := range t.Rows {
		texRow(&b, r, n)
	}
	b.WriteString("\\end{supertabular}\n\\end{center}\n")
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
	`Δ`, `$\Delta$`, `∇`, `$\nabla$`, `⊙`, `$\odot$`, `✓`, `yes`, `✗`, `no`,
)

// TeXEscape returns s as LaTeX text: the special characters & % $ # _ { }
// ~ ^ \ < > | escaped, a newline as a space, a no-break space as ~, and the
// minus sign, ±, ×, ·, …, ≤, ≥, ≈, →, dashes, °, ² and ³, a few Greek
// letters (α β γ δ ε λ μ π ρ σ τ Δ), ∇ and ⊙ written as math or ASCII: "−0.5 ± 0.1"
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
// label as the table's id, Class as its class and Classes as the classes
// of the body cells. Text is escaped; a newline becomes <br>. The style
// of the classes is TableStyle, which Page.HTML includes when a table of
// the page has classes.
func (t *Table) HTML() []byte {
	var b bytes.Buffer
	n := t.width()
	al := t.align()
	b.WriteString("<table")
	if t.Label != "" {
		fmt.Fprintf(&b, " id=\"%s\"", html.EscapeString(t.Label))
	}
	if t.Class != "" {
		fmt.Fprintf(&b, " class=\"%s\"", html.EscapeString(t.Class))
	}
	b.WriteString(">\n")
	if t.Caption != "" {
		fmt.Fprintf(&b, "<caption>%s</caption>\n", htmlText(t.Caption))
	}
	row := func(r []string, tag string, classes []string) {
		b.WriteString("<tr>")
		for i, s := range cells(r, n) {
			style := map[byte]string{'l': "left", 'c': "center", 'r': "right"}[al[i]]
			class := ""
			if i < len(classes) && classes[i] != "" {
				class = fmt.Sprintf(" class=\"%s\"", html.EscapeString(classes[i]))
			}
			fmt.Fprintf(&b, "<%s%s style=\"text-align: %s\">%s</%s>", tag, class, style, htmlText(s), tag)
		}
		b.WriteString("</tr>\n")
	}
	if t.Columns != nil {
		b.WriteString("<thead>\n")
		row(t.Columns, "th", nil)
		b.WriteString("</thead>\n")
	}
	b.WriteString("<tbody>\n")
	for i, r := range t.Rows {
		var classes []string
		if i < len(t.Classes) {
			classes = t.Classes[i]
		}
		row(r, "td", classes)
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.Bytes()
}

// styled reports whether the HTML of the table uses TableStyle's classes.
func (t *Table) styled() bool {
	if t.Class != "" {
		return true
	}
	for _, r := range t.Classes {
		for _, c := range r {
			if c != "" {
				return true
			}
		}
	}
	return false
}

// Verdict is what a table cell concludes, coloured in HTML by its CSS
// class (Class, styled by TableStyle): a compact verdict table shows at a
// glance which methods pass.
type Verdict int

const (
	// VerdictNone is no verdict: the cell is not coloured.
	VerdictNone Verdict = iota
	// VerdictPass is a method that passes the test: blue, marked ✓.
	VerdictPass
	// VerdictFail is a method that fails: orange, marked ✗.
	VerdictFail
	// VerdictInconclusive is an interval that straddles the threshold:
	// grey, in italics, marked ?.
	VerdictInconclusive
	// VerdictUndetermined is a measure without value (constant maps, no
	// finite value): grey text, marked –.
	VerdictUndetermined
)

// Class returns the CSS class of a verdict cell: "verdict-pass",
// "verdict-fail", "verdict-inconclusive", "verdict-undetermined", or ""
// for VerdictNone (and unknown values).
func (v Verdict) Class() string {
	switch v {
	case VerdictPass:
		return "verdict-pass"
	case VerdictFail:
		return "verdict-fail"
	case VerdictInconclusive:
		return "verdict-inconclusive"
	case VerdictUndetermined:
		return "verdict-undetermined"
	}
	return ""
}

// TableStyle is the style sheet of the classes Table.HTML writes:
// "compact" tables (small type and padding, cells that do not wrap) and
// the verdict cells (Verdict.Class). The colours, light blue for a pass
// and light orange for a failure, are told apart with every common colour
// vision deficiency, and a mark before the text (✓ ✗ ? –) repeats the
// verdict without colour. Page.HTML includes it after its own style sheet
// when a table of the page has a class; a table written on its own is an
// HTML fragment, to be put in a page that includes it.
const TableStyle = `table.compact { font-size: 0.85em; }
table.compact th, table.compact td { padding: 0.15em 0.5em; }
table.compact td { white-space: nowrap; }
td.verdict-pass { background: #dbe9f6; color: #08306b; }
td.verdict-fail { background: #fdd9b5; color: #7f2704; }
td.verdict-inconclusive { background: #eeeeee; color: #333; font-style: italic; }
td.verdict-undetermined { color: #777; }
td.verdict-pass::before { content: "\2713\00a0"; }
td.verdict-fail::before { content: "\2717\00a0"; }
td.verdict-inconclusive::before { content: "?\00a0"; }
td.verdict-undetermined::before { content: "\2013\00a0"; }
`

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

// TeXPageRows is the number of rows of each float of TeXWidePages.
const TeXPageRows = 40

// widePages is LaTeX for TeXWidePages: a TeXWide table per TeXPageRows
// rows, each followed by \clearpage, the label on the first.
func (t *Table) widePages() []byte {
	var b bytes.Buffer
	parts := max(1, (len(t.Rows)+TeXPageRows-1)/TeXPageRows)
	for p := range parts {
		part := *t
		part.TeX = TeXWide
		part.Rows = t.Rows[p*TeXPageRows : min(len(t.Rows), (p+1)*TeXPageRows)]
		if p > 0 {
			part.Label = ""
			part.Caption = "(continued)"
			if t.Caption == "" {
				part.Caption = ""
			}
		}
		b.Write(part.LaTeX())
		b.WriteString("\\clearpage\n")
	}
	return b.Bytes()
}

// CheckTeX checks that b, LaTeX that Table.LaTeX wrote, is well formed
// without a LaTeX installation: every \begin{env} closed by its \end{env}
// in order, braces balanced (escaped \{ and \} aside), and no character
// outside ASCII (TeXEscape writes the ones tables hold as commands; any
// other would stop pdflatex without a Unicode setup). The tests compile
// the tables with pdflatex too where it is installed.
func CheckTeX(b []byte) error {
	var envs []string
	depth := 0
	for line, text := range strings.Split(string(b), "\n") {
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c >= 0x80:
				return fmt.Errorf("line %d: a character outside ASCII: %q", line+1, text)
			case c == '\\' && i+1 < len(text) && (text[i+1] == '{' || text[i+1] == '}' || text[i+1] == '\\'):
				i++
			case c == '{':
				depth++
			case c == '}':
				depth--
				if depth < 0 {
					return fmt.Errorf("line %d: a } without its {: %q", line+1, text)
				}
			}
		}
		for _, m := range texEnv.FindAllStringSubmatch(text, -1) {
			if m[1] == "begin" {
				envs = append(envs, m[2])
				continue
			}
			if len(envs) == 0 || envs[len(envs)-1] != m[2] {
				return fmt.Errorf("line %d: \\end{%s} closes %v", line+1, m[2], envs)
			}
			envs = envs[:len(envs)-1]
		}
	}
	if depth != 0 {
		return fmt.Errorf("%d unclosed {", depth)
	}
	if len(envs) > 0 {
		return fmt.Errorf("unclosed environments %v", envs)
	}
	return nil
}

var texEnv = regexp.MustCompile(`\\(begin|end)\{([a-z*]+)\}`)
