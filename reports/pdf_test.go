package reports

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"
)

// testPDF is a PDF written by fpdf with images of the same width, drawn in
// order: opaque ones, one with an alpha channel (an image and its soft
// mask) and a paletted one (an image and its palette).
func testPDF(t *testing.T) []byte {
	t.Helper()
	doc := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: 400, Ht: 100}})
	doc.AddPage()
	opts := fpdf.ImageOptions{ImageType: "png"}
	for i := range 6 {
		var img image.Image
		switch i {
		case 4:
			m := image.NewNRGBA(image.Rect(0, 0, 8, 8))
			for p := range m.Pix {
				m.Pix[p] = uint8(30 * p)
			}
			img = m
		case 5:
			m := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White, color.Gray{Y: 128}})
			for p := range m.Pix {
				m.Pix[p] = uint8(p % 3)
			}
			img = m
		default:
			m := image.NewNRGBA(image.Rect(0, 0, 8, 8))
			for p := range m.Pix {
				m.Pix[p] = 0xff
			}
			m.SetNRGBA(i, i, color.NRGBA{uint8(40 * i), 0, 0, 0xff})
			img = m
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("image_%d", i)
		doc.RegisterImageOptionsReader(name, opts, &buf)
		doc.ImageOptions(name, float64(10+60*i), 10, 50, 50, false, opts, 0, "")
	}
	var out bytes.Buffer
	if err := doc.Output(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// checkXref reports an entry of the cross-reference table of b that does
// not point at its object.
func checkXref(t *testing.T, b []byte) {
	t.Helper()
	sx := bytes.LastIndex(b, []byte("\nstartxref\n"))
	xref, err := strconv.Atoi(strings.Fields(string(b[sx+len("\nstartxref\n"):]))[0])
	if err != nil || !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		t.Fatalf("no xref table at startxref: %v", err)
	}
	lines := strings.Split(string(b[xref:]), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	for j := 1; j < n; j++ {
		off, _ := strconv.Atoi(lines[2+j][:10])
		if !bytes.HasPrefix(b[off:], fmt.Appendf(nil, "%d 0 obj\n", j)) {
			t.Errorf("xref entry %d points at %q", j, b[off:min(off+12, len(b))])
		}
	}
}

// fpdf lists images of the same width in the random order of a map;
// canonicalPDF gives one order, and a valid file.
func TestCanonicalPDF(t *testing.T) {
	first, err := canonicalPDF(testPDF(t))
	if err != nil {
		t.Fatal(err)
	}
	checkXref(t, first)
	orders := map[string]bool{}
	for range 8 {
		raw := testPDF(t)
		orders[string(raw)] = true
		b, err := canonicalPDF(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, first) {
			t.Fatal("two canonical PDFs differ")
		}
	}
	if len(orders) == 1 {
		t.Log("fpdf wrote the same bytes 9 times; the test proves little")
	}
	// Each image is referenced by its name, and the soft mask by its
	// image.
	refs := regexp.MustCompile(`/I[0-9a-f]+ (\d+) 0 R`).FindAllSubmatch(first, -1)
	if len(refs) != 6 {
		t.Fatalf("%d images in the resources, want 6", len(refs))
	}
	for _, r := range refs {
		obj := fmt.Appendf(nil, "\n%s 0 obj\n<</Type /XObject\n/Subtype /Image\n", r[1])
		if !bytes.Contains(first, obj) {
			t.Errorf("resource %s 0 R is not an image", r[1])
		}
	}
	if m := regexp.MustCompile(`/SMask (\d+) 0 R`).FindSubmatch(first); m == nil ||
		!bytes.Contains(first, fmt.Appendf(nil, "\n%s 0 obj\n<</Type /XObject\n/Subtype /Image\n/Width 8\n/Height 8\n/ColorSpace /DeviceGray", m[1])) {
		t.Error("the soft mask is not where its image says")
	}

	// No images: the same bytes.
	doc := fpdf.New("P", "pt", "A4", "")
	doc.AddPage()
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		t.Fatal(err)
	}
	if b, err := canonicalPDF(buf.Bytes()); err != nil || !bytes.Equal(b, buf.Bytes()) {
		t.Errorf("a PDF without images changed (%v)", err)
	}
	if _, err := canonicalPDF([]byte("%PDF-1.3\n")); err == nil {
		t.Error("no error for a PDF without xref")
	}
}

// pdfTexts returns the strings shown (Tj) in the content streams of b.
func pdfTexts(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	tj := regexp.MustCompile(`\(((?:[^()\\]|\\.)*)\) ?Tj`)
	for _, m := range regexp.MustCompile(`(?s)stream\n(.*?)\nendstream`).FindAllSubmatch(b, -1) {
		r, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue
		}
		content, err := io.ReadAll(r)
		if err != nil {
			continue
		}
		for _, s := range tj.FindAllSubmatch(content, -1) {
			out = append(out, string(s[1]))
		}
	}
	return out
}

// Text in a PDF is in Windows-1252, the dates are fixed.
func TestPDFText(t *testing.T) {
	for in, want := range map[string]string{
		"gradient":       "gradient",
		"−0.5":           "\x960.5",
		"a…":             "a\x85",
		"gradient×input": "gradient\xd7input",
		"ρ = 0.5 ± 0.1":  "? = 0.5 \xb1 0.1",
		"€™":             "\x80\x99",
	} {
		if got := toCP1252(in); got != want {
			t.Errorf("toCP1252(%q) = %q, want %q", in, got, want)
		}
	}

	c := goldenCurves()
	wt, err := c.WriterTo("pdf")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	texts := pdfTexts(t, b)
	for _, want := range []string{"Cascading randomization", "\x960.50", "gradient\xd7input", "Spearman "} {
		found := false
		for _, s := range texts {
			found = found || s == want
		}
		if !found {
			t.Errorf("PDF shows no %q; it shows %q", want, texts)
		}
	}
	for _, s := range texts {
		if strings.Contains(s, "?") || strings.Contains(s, "−") || strings.Contains(s, "×") {
			t.Errorf("PDF shows %q", s)
		}
	}
	if !bytes.Contains(b, []byte("/CreationDate (D:20260101000000)")) || !bytes.Contains(b, []byte("/ModDate (D:20260101000000)")) {
		t.Error("PDF dates are not fixed")
	}
	checkXref(t, b)
}
