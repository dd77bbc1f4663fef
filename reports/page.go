package reports

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Page is the index page of a run: a title and blocks of text, figures,
// links and tables, written as Markdown (index.md, read on GitHub or in an
// editor) or as self-contained HTML (index.html, one file to mail or
// archive). Both are the same for the same page: no dates, nothing from
// the machine.
type Page struct {
	// Title is the heading of the page; empty for none.
	Title string

	// Blocks are the sections of the page, in order.
	Blocks []Block
}

// Block is a section of a Page, drawn in this order: the heading, the text,
// the figure and its caption, the table, the links. Every part is
// optional.
type Block struct {
	// Heading is the heading of the section; empty for none.
	Heading string

	// Text holds paragraphs of plain text (not Markdown: characters that
	// would be markup are escaped), or bullet points if Bullets is set.
	Text    []string
	Bullets bool

	// Figure is the path of a PNG, relative to the page's folder, with
	// '/' between folders (for example "figures/grid.png"); empty for
	// none. Caption describes it.
	Figure  string
	Caption string

	// Table is drawn after the figure; nil for none.
	Table *Table

	// Links are drawn on one line after the rest, for example to the SVG
	// and PDF of the figure or the CSV and LaTeX of the table.
	Links []Link
}

// Link is a hyperlink: Href relative to the page's folder, or a URL.
type Link struct {
	Text, Href string
}

// Markdown returns the page as GitHub-flavoured Markdown:
//
//	# Title
//
//	## Heading
//
//	A paragraph.
//
//	- a bullet
//
//	![Caption](figures/grid.png)
//
//	*Caption*
//
//	| method | SSIM |
//	| :--- | ---: |
//	| gradient | 0.12 |
//
//	[SVG](figures/grid.svg) · [PDF](figures/grid.pdf)
func (p *Page) Markdown() []byte {
	var b bytes.Buffer
	para := func(format string, args ...any) {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, format, args...)
	}
	if p.Title != "" {
		para("# %s\n", mdEscape(oneLine(p.Title)))
	}
	for _, bl := range p.Blocks {
		if bl.Heading != "" {
			para("## %s\n", mdEscape(oneLine(bl.Heading)))
		}
		if bl.Bullets && len(bl.Text) > 0 {
			para("")
			for _, t := range bl.Text {
				fmt.Fprintf(&b, "- %s\n", mdEscape(oneLine(t)))
			}
		} else {
			for _, t := range bl.Text {
				para("%s\n", mdEscape(t))
			}
		}
		if bl.Figure != "" {
			para("![%s](%s)\n", mdEscape(oneLine(bl.Caption)), mdURL(bl.Figure))
			if bl.Caption != "" {
				para("*%s*\n", mdEscape(oneLine(bl.Caption)))
			}
		}
		if bl.Table != nil {
			para("%s", bl.Table.Markdown())
		}
		if len(bl.Links) > 0 {
			links := make([]string, len(bl.Links))
			for i, l := range bl.Links {
				links[i] = fmt.Sprintf("[%s](%s)", mdEscape(oneLine(l.Text)), mdURL(l.Href))
			}
			para("%s\n", strings.Join(links, " · "))
		}
	}
	return b.Bytes()
}

// mdEscape escapes the characters of plain text that Markdown would take
// for markup: backslashes, '*', backquotes, brackets, '<', '|', an '_' at
// the edge of a word, and at the start of a line what would begin a
// heading, a quote or a list ("# ", ">", "- ", "+ ", "1. ", "1) ") or make
// a rule or a heading of the line before ("---", "===").
func mdEscape(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		rest := strings.TrimLeft(line, " ")
		var b strings.Builder
		b.WriteString(line[:len(line)-len(rest)])
		// spaceAt reports whether rest[i] is a space or the end of the line.
		spaceAt := func(i int) bool { return i >= len(rest) || rest[i] == ' ' }
		d := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		switch {
		case rest == "":
		case rest[0] == '>',
			strings.IndexByte("#-+", rest[0]) >= 0 && spaceAt(1),
			strings.Trim(rest, "= ") == "", // a setext underline
			strings.Trim(rest, "- ") == "": // or a rule
			b.WriteByte('\\')
		case d > 0 && d < len(rest) && (rest[d] == '.' || rest[d] == ')') && spaceAt(d+1):
			b.WriteString(rest[:d])
			b.WriteByte('\\')
			rest = rest[d:]
		}
		for j, r := range rest {
			switch {
			case strings.ContainsRune("\\`*[]<|", r):
				b.WriteByte('\\')
			case r == '_':
				prev, _ := utf8.DecodeLastRuneInString(rest[:j])
				next, _ := utf8.DecodeRuneInString(rest[j+1:])
				if !isWord(prev) || !isWord(next) {
					b.WriteByte('\\')
				}
			}
			b.WriteRune(r)
		}
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// mdURL escapes the characters of a path or URL that would end a Markdown
// link or be taken for its title.
func mdURL(s string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E").Replace(s)
}

// pageStyle is the style sheet of an HTML page: a readable column of text,
// figures no wider than the page, tables with thin rules.
const pageStyle = `body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; color: #222; line-height: 1.5; max-width: 62em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.5em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
p, ul { max-width: 45em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #555; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; padding-bottom: 0.3em; color: #555; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #e4e4e4; }
thead th { border-top: 1px solid #222; border-bottom: 1px solid #222; font-weight: 600; }
tbody tr:last-child td { border-bottom: 1px solid #222; }
.links { font-size: 0.9em; }
.table { overflow-x: auto; max-width: 100%; }
`

// HTML returns the page as one self-contained HTML file: the figures,
// read from dir (the page's folder), are embedded as data: URLs, and a
// short style sheet is inline (with TableStyle when a table has classes);
// links stay relative. It reports an error
// naming a figure that cannot be read or is not a PNG.
func (p *Page) HTML(dir string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	style := pageStyle
	for _, bl := range p.Blocks {
		if bl.Table != nil && bl.Table.styled() {
			style += TableStyle
			break
		}
	}
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", html.EscapeString(oneLine(p.Title)), style)
	if p.Title != "" {
		fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(oneLine(p.Title)))
	}
	for i, bl := range p.Blocks {
		b.WriteString("<section>\n")
		if bl.Heading != "" {
			fmt.Fprintf(&b, "<h2>%s</h2>\n", html.EscapeString(oneLine(bl.Heading)))
		}
		if bl.Bullets && len(bl.Text) > 0 {
			b.WriteString("<ul>\n")
			for _, t := range bl.Text {
				fmt.Fprintf(&b, "<li>%s</li>\n", htmlText(t))
			}
			b.WriteString("</ul>\n")
		} else {
			for _, t := range bl.Text {
				fmt.Fprintf(&b, "<p>%s</p>\n", htmlText(t))
			}
		}
		if bl.Figure != "" {
			path := filepath.FromSlash(bl.Figure)
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("reports: page block %d: figure %s: %w", i, bl.Figure, err)
			}
			if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
				return nil, fmt.Errorf("reports: page block %d: figure %s is not a PNG", i, bl.Figure)
			}
			alt := html.EscapeString(oneLine(bl.Caption))
			fmt.Fprintf(&b, "<figure>\n<a href=\"%s\"><img src=\"data:image/png;base64,%s\" alt=\"%s\"></a>\n",
				html.EscapeString(bl.Figure), base64.StdEncoding.EncodeToString(data), alt)
			if bl.Caption != "" {
				fmt.Fprintf(&b, "<figcaption>%s</figcaption>\n", htmlText(bl.Caption))
			}
			b.WriteString("</figure>\n")
		}
		if bl.Table != nil {
			// Wide tables scroll inside the column instead of leaving it.
			b.WriteString("<div class=\"table\">\n")
			b.Write(bl.Table.HTML())
			b.WriteString("</div>\n")
		}
		if len(bl.Links) > 0 {
			b.WriteString("<p class=\"links\">")
			for j, l := range bl.Links {
				if j > 0 {
					b.WriteString(" · ")
				}
				fmt.Fprintf(&b, "<a href=\"%s\">%s</a>", html.EscapeString(l.Href), html.EscapeString(oneLine(l.Text)))
			}
			b.WriteString("</p>\n")
		}
		b.WriteString("</section>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes(), nil
}

// Save writes the page into dir as index.md and index.html (with the
// figures, read from dir, embedded), each atomically; nothing is written if
// a figure cannot be read.
func (p *Page) Save(dir string) error {
	h, err := p.HTML(dir)
	if err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, "index.md"), p.Markdown()); err != nil {
		return err
	}
	return WriteFile(filepath.Join(dir, "index.html"), h)
}
