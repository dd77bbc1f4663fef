package reports

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testPage is a small report page: text, bullets, a figure with links and
// a table.
func testPage() *Page {
	return &Page{
		Title: "Sanity checks: cnn_mnist",
		Blocks: []Block{
			{Text: []string{"Model cnn_mnist, 8 images, seed 1.", "Maps are *normalised* <per image>."}},
			{
				Heading: "Cascading randomization",
				Figure:  "figures/cascade.png",
				Caption: "Rank correlation with the original map",
				Links:   []Link{{"SVG", "figures/cascade.svg"}, {"PDF", "figures/cascade.pdf"}},
			},
			{
				Heading: "Summary",
				Text:    []string{"gradient fails", "guided-backprop passes"},
				Bullets: true,
				Table:   &Table{Columns: []string{"method", "SSIM"}, Rows: [][]string{{"gradient", "0.12"}}},
				Links:   []Link{{"CSV", "summary.csv"}, {"LaTeX", "summary (final).tex"}},
			},
		},
	}
}

func TestPageMarkdown(t *testing.T) {
	want := `# Sanity checks: cnn_mnist

Model cnn_mnist, 8 images, seed 1.

Maps are \*normalised\* \<per image>.

## Cascading randomization

![Rank correlation with the original map](figures/cascade.png)

*Rank correlation with the original map*

[SVG](figures/cascade.svg) · [PDF](figures/cascade.pdf)

## Summary

- gradient fails
- guided-backprop passes

| method | SSIM |
| :--- | ---: |
| gradient | 0.12 |

[CSV](summary.csv) · [LaTeX](summary%20%28final%29.tex)
`
	if got := string(testPage().Markdown()); got != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, want)
	}
	if got := string((&Page{}).Markdown()); got != "" {
		t.Errorf("empty page: %q", got)
	}
}

func TestMdEscape(t *testing.T) {
	for in, want := range map[string]string{
		"block1_conv1":        "block1_conv1",
		"_x_ and a_b":         `\_x\_ and a_b`,
		"# not a heading":     `\# not a heading`,
		"- not a bullet":      `\- not a bullet`,
		"1. not a list":       `1\. not a list`,
		"12) nor this":        `12\) nor this`,
		"2.5 is a number":     "2.5 is a number",
		"a\n> b":              "a\n\\> b",
		"-0.5 and #3":         "-0.5 and #3",
		"===":                 `\===`,
		"[x](y) `c` a|b \\ *": `\[x\](y) \` + "`c\\`" + ` a\|b \\ \*`,
	} {
		if got := mdEscape(in); got != want {
			t.Errorf("mdEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// writeTestPNG writes a 2×2 PNG to dir/name and returns its bytes.
func writeTestPNG(t *testing.T, dir, name string) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPageHTML(t *testing.T) {
	dir := t.TempDir()
	data := writeTestPNG(t, dir, "figures/cascade.png")
	p := testPage()
	got, err := p.HTML(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{
		"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
		"<title>Sanity checks: cnn_mnist</title>\n<style>\n",
		"figure img { max-width: 100%; height: auto; }",
		"<h1>Sanity checks: cnn_mnist</h1>\n",
		"<p>Maps are *normalised* &lt;per image&gt;.</p>\n",
		"<h2>Cascading randomization</h2>\n",
		"<figure>\n<a href=\"figures/cascade.png\"><img src=\"data:image/png;base64," + base64.StdEncoding.EncodeToString(data) +
			"\" alt=\"Rank correlation with the original map\"></a>\n<figcaption>Rank correlation with the original map</figcaption>\n</figure>\n",
		"<p class=\"links\"><a href=\"figures/cascade.svg\">SVG</a> · <a href=\"figures/cascade.pdf\">PDF</a></p>\n",
		"<ul>\n<li>gradient fails</li>\n<li>guided-backprop passes</li>\n</ul>\n",
		"<td style=\"text-align: left\">gradient</td>",
		"<a href=\"summary (final).tex\">LaTeX</a>",
		"</body>\n</html>\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	again, err := p.HTML(dir)
	if err != nil || !bytes.Equal(again, got) {
		t.Errorf("two renderings differ (%v)", err)
	}

	// A missing figure, and a figure that is not a PNG.
	p.Blocks[1].Figure = "figures/missing.png"
	if _, err := p.HTML(dir); err == nil || !strings.Contains(err.Error(), "reports: page block 1: figure figures/missing.png: ") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "figures", "missing.png")) {
		t.Errorf("missing figure: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "notes.png"), []byte("not a png"), 0o644)
	p.Blocks[1].Figure = "notes.png"
	if _, err := p.HTML(dir); err == nil || err.Error() != "reports: page block 1: figure notes.png is not a PNG" {
		t.Errorf("not a PNG: %v", err)
	}
}

func TestPageSave(t *testing.T) {
	dir := t.TempDir()
	writeTestPNG(t, dir, "figures/cascade.png")
	p := testPage()
	if err := p.Save(dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "index.md"))
	if err != nil || !bytes.Equal(md, p.Markdown()) {
		t.Errorf("index.md: %v", err)
	}
	h, _ := p.HTML(dir)
	if got, err := os.ReadFile(filepath.Join(dir, "index.html")); err != nil || !bytes.Equal(got, h) {
		t.Errorf("index.html: %v", err)
	}
	// A missing figure: nothing written.
	empty := t.TempDir()
	if err := p.Save(empty); err == nil {
		t.Error("no error for a missing figure")
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("%d files written", len(entries))
	}
}
