package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgpdf"
)

// Figures are compared byte for byte between runs, so every format is
// written reproducibly. PNG (vgimg) and SVG (vgsvg) are by nature; a PDF
// written by vgpdf through fpdf is not, for two reasons, both dealt with
// here:
//
//   - fpdf writes the time of writing as the creation and modification
//     dates, and lists fonts and images in the random order of Go maps. The
//     init below fixes the dates (pdfDate) and asks fpdf to sort its
//     catalogs, for every fpdf document of the program: vgpdf gives no access
//     to its document.
//   - Sorted, fpdf still orders images by width only, so images of the same
//     width (the cells of a Grid) keep the order of a map. pdfCanvas
//     therefore rewrites the finished file with the image objects in a
//     fixed order (canonicalPDF): by width, then by the SHA-1 of their data
//     that fpdf uses as their name.
//
// pdfCanvas also mends two faults of vgpdf. It passes strings as UTF-8
// bytes to fonts it embeds in Windows-1252, so "−1" or "…" came out as
// "âˆ’1" or "â€¦": pdfCanvas translates text to Windows-1252 (the minus sign,
// which it lacks, to an en dash) and draws the characters beyond (ρ, τ, …)
// as glyph outlines. And it darkens translucent colours (it takes their
// components premultiplied by alpha): pdfCanvas hands it straight ones.

// pdfDate is the creation and modification date of every PDF written in a
// program that imports reports, in place of the time of writing.
var pdfDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

func init() {
	fpdf.SetDefaultCreationDate(pdfDate)
	fpdf.SetDefaultModificationDate(pdfDate)
	fpdf.SetDefaultCatalogSort(true)
}

// pdfCanvas is a vgpdf canvas that draws all text and translucent colours
// right and writes the same bytes for the same drawing.
type pdfCanvas struct {
	*vgpdf.Canvas
	embed *pdfEmbed // nil: maps drawn by vgpdf (embed.go)
}

// SetColor sets the colour of strokes, fills and text; it implements
// vg.Canvas. vgpdf takes the red, green and blue of a translucent colour
// premultiplied by its alpha, and so darkens it; SetColor hands it a colour
// that reports them straight.
func (c pdfCanvas) SetColor(clr color.Color) {
	if clr != nil {
		if n := color.NRGBAModel.Convert(clr).(color.NRGBA); n.A != 0xff && n.A != 0 {
			clr = straightAlpha(n)
		}
	}
	c.Canvas.SetColor(clr)
}

// straightAlpha is a colour whose RGBA method returns red, green and blue
// not premultiplied by alpha, as vgpdf expects them.
type straightAlpha color.NRGBA

// RGBA returns the components of the colour, red, green and blue not
// premultiplied; it implements color.Color for vgpdf only.
func (s straightAlpha) RGBA() (r, g, b, a uint32) {
	return uint32(s.R) * 0x101, uint32(s.G) * 0x101, uint32(s.B) * 0x101, uint32(s.A) * 0x101
}

// FillString draws str: its runs of Windows-1252 characters as text, the
// characters beyond (ρ, τ, …) as outlines of their glyphs, so that the PDF
// shows what the other formats show; it implements vg.Canvas.
func (c pdfCanvas) FillString(f font.Face, pt vg.Point, str string) {
	start, x := 0, pt.X
	flush := func(end int) {
		if end > start {
			run := str[start:end]
			c.Canvas.FillString(f, vg.Point{X: x, Y: pt.Y}, toCP1252(run))
			x += f.Width(run)
		}
	}
	for i, r := range str {
		if _, ok := cp1252Byte(r); ok {
			continue
		}
		flush(i)
		x += c.fillGlyph(f, vg.Point{X: x, Y: pt.Y}, r)
		start = i + utf8.RuneLen(r)
	}
	flush(len(str))
}

// fillGlyph fills the outline of the glyph of r with its origin at pt and
// returns its advance; a rune the font lacks is drawn as '?'.
func (c pdfCanvas) fillGlyph(f font.Face, pt vg.Point, r rune) vg.Length {
	var buf sfnt.Buffer
	ppem := fixed.Int26_6(math.Round(f.Font.Size.Points() * 64))
	idx, err := f.Face.GlyphIndex(&buf, r)
	if err != nil || idx == 0 {
		c.Canvas.FillString(f, pt, "?")
		return f.Width("?")
	}
	segs, err := f.Face.LoadGlyph(&buf, idx, ppem, nil)
	if err != nil {
		c.Canvas.FillString(f, pt, "?")
		return f.Width("?")
	}
	// sfnt's y axis points down.
	at := func(p fixed.Point26_6) vg.Point {
		return vg.Point{X: pt.X + vg.Length(p.X)/64, Y: pt.Y - vg.Length(p.Y)/64}
	}
	var path vg.Path
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			if len(path) > 0 {
				path.Close()
			}
			path.Move(at(s.Args[0]))
		case sfnt.SegmentOpLineTo:
			path.Line(at(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			path.QuadTo(at(s.Args[0]), at(s.Args[1]))
		case sfnt.SegmentOpCubeTo:
			path.CubeTo(at(s.Args[0]), at(s.Args[1]), at(s.Args[2]))
		}
	}
	if len(path) > 0 {
		path.Close()
		c.Canvas.Fill(path)
	}
	adv, err := f.Face.GlyphAdvance(&buf, idx, ppem, xfont.HintingNone)
	if err != nil {
		return f.Width(string(r))
	}
	return vg.Length(adv) / 64
}

// WriteTo writes the PDF with its image objects in a fixed order; it
// implements io.WriterTo.
func (c pdfCanvas) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	if _, err := c.Canvas.WriteTo(&buf); err != nil {
		return 0, err
	}
	b, err := canonicalPDF(buf.Bytes())
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// cp1252 maps the characters of Windows-1252 from 0x80 to 0x9f that differ
// from Latin-1; 0xa0 to 0xff are Latin-1.
var cp1252 = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87,
	'ˆ': 0x88, '‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e,
	'‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97,
	'˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b, 'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
	'−': 0x96, // the minus sign, absent from Windows-1252: an en dash
}

// cp1252Byte returns the Windows-1252 byte of r, if it has one.
func cp1252Byte(r rune) (byte, bool) {
	if r < 0x80 || (r >= 0xa0 && r <= 0xff) {
		return byte(r), true
	}
	b, ok := cp1252[r]
	return b, ok
}

// toCP1252 encodes s in Windows-1252; characters it lacks become '?'.
func toCP1252(s string) string {
	ascii := true
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c, ok := cp1252Byte(r)
		if !ok {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b)
}

var (
	pdfWidth    = regexp.MustCompile(`\n/Width (\d+)\n`)
	pdfRef      = regexp.MustCompile(`\b(\d+) 0 R\b`)
	pdfImageRef = regexp.MustCompile(`/I([0-9a-f]+) (\d+) 0 R`)
)

// canonicalPDF returns the PDF b, as fpdf writes it, with its image objects
// sorted by width, then by name (the SHA-1 of the image), and renumbered in
// that order, with the references to them and the cross-reference table
// updated. A PDF without images, or with its images in that order already,
// is returned unchanged.
func canonicalPDF(b []byte) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("reports: unexpected PDF from fpdf: "+format, args...)
	}

	// The cross-reference table: "xref\n0 n\n", then n entries of 20 bytes.
	sx := bytes.LastIndex(b, []byte("\nstartxref\n"))
	if sx < 0 {
		return nil, bad("no startxref")
	}
	tail := b[sx+len("\nstartxref\n"):]
	nl := bytes.IndexByte(tail, '\n')
	if nl < 0 {
		return nil, bad("no end of file")
	}
	xref, err := strconv.Atoi(string(tail[:nl]))
	if err != nil || xref <= 0 || xref > sx {
		return nil, bad("startxref %q", tail[:nl])
	}
	eof := tail[nl:]
	head, ok := bytes.CutPrefix(b[xref:], []byte("xref\n0 "))
	if !ok {
		return nil, bad("no xref table at %d", xref)
	}
	nl = bytes.IndexByte(head, '\n')
	n, err := strconv.Atoi(string(head[:max(nl, 0)]))
	if err != nil || n < 1 || len(head) < nl+1+20*n {
		return nil, bad("xref table of %q entries", head[:max(nl, 0)])
	}
	entries := head[nl+1 : nl+1+20*n]
	trailer := head[nl+1+20*n : sx-xref-len("xref\n0 ")+1]

	// The objects, in the order of the file.
	type object struct {
		num, off int
		body     []byte // after "num 0 obj\n"
	}
	objs := make([]object, 0, n-1)
	for j := 1; j < n; j++ {
		e := entries[20*j : 20*j+20]
		off, err := strconv.Atoi(string(e[:10]))
		if err != nil || string(e[10:]) != " 00000 n \n" || off <= 0 || off >= xref {
			return nil, bad("xref entry %d: %q", j, e)
		}
		objs = append(objs, object{num: j, off: off})
	}
	slices.SortFunc(objs, func(a, b object) int { return cmp.Compare(a.off, b.off) })
	for k := range objs {
		end := xref
		if k+1 < len(objs) {
			end = objs[k+1].off
		}
		o := &objs[k]
		body, ok := bytes.CutPrefix(b[o.off:end], []byte(strconv.Itoa(o.num)+" 0 obj\n"))
		if !ok {
			return nil, bad("object %d not at %d", o.num, o.off)
		}
		o.body = body
	}

	// The image objects and the objects they refer to (soft masks,
	// palettes), in groups each led by an image no other refers to.
	type image struct {
		width int
		name  string
		refs  []int
	}
	images := map[int]*image{}
	owned := map[int]bool{}
	for _, o := range objs {
		if !bytes.HasPrefix(o.body, []byte("<</Type /XObject\n/Subtype /Image\n")) {
			continue
		}
		dict := o.body[:max(bytes.Index(o.body, []byte("\nstream\n")), 0)]
		m := pdfWidth.FindSubmatch(dict)
		if m == nil {
			return nil, bad("image object %d has no width", o.num)
		}
		img := &image{}
		img.width, _ = strconv.Atoi(string(m[1]))
		for _, r := range pdfRef.FindAllSubmatch(dict, -1) {
			num, _ := strconv.Atoi(string(r[1]))
			img.refs = append(img.refs, num)
			owned[num] = true
		}
		images[o.num] = img
	}
	if len(images) == 0 {
		return b, nil
	}
	var resources []byte
	for _, o := range objs {
		if o.num == 2 {
			resources = o.body
		}
	}
	for _, m := range pdfImageRef.FindAllSubmatch(resources, -1) {
		num, _ := strconv.Atoi(string(m[2]))
		if img := images[num]; img != nil && img.name == "" {
			img.name = string(m[1])
		}
	}

	type group struct {
		lead    *image
		members []object
	}
	var groups []group
	first, last := -1, -1
	for k, o := range objs {
		switch img := images[o.num]; {
		case img != nil && !owned[o.num]:
			if img.name == "" {
				return nil, bad("image object %d is not in the resources", o.num)
			}
			if first >= 0 && last != k-1 {
				return nil, bad("image objects are not contiguous")
			}
			groups = append(groups, group{lead: img, members: []object{o}})
			if first < 0 {
				first = k
			}
			last = k
		case owned[o.num]:
			if len(groups) == 0 || last != k-1 {
				return nil, bad("object %d of an image is out of place", o.num)
			}
			g := &groups[len(groups)-1]
			mine := false
			for _, m := range g.members {
				if img := images[m.num]; img != nil && slices.Contains(img.refs, o.num) {
					mine = true
				}
			}
			if !mine {
				return nil, bad("object %d of an image is out of place", o.num)
			}
			g.members = append(g.members, o)
			last = k
		}
	}
	sorted := slices.Clone(groups)
	slices.SortStableFunc(sorted, func(a, b group) int {
		return cmp.Or(cmp.Compare(a.lead.width, b.lead.width), strings.Compare(a.lead.name, b.lead.name))
	})
	same := true
	for i := range groups {
		same = same && groups[i].lead == sorted[i].lead
	}
	if same {
		return b, nil
	}

	// Renumber the image objects in their new order, taking the numbers
	// they had in the order of the file.
	renum := map[int]int{}
	var section []object
	k := first
	for _, g := range sorted {
		for _, m := range g.members {
			renum[m.num] = objs[k].num
			section = append(section, m)
			k++
		}
	}
	rewrite := func(p []byte) []byte {
		return pdfRef.ReplaceAllFunc(p, func(r []byte) []byte {
			num, _ := strconv.Atoi(string(pdfRef.FindSubmatch(r)[1]))
			if to, ok := renum[num]; ok {
				return []byte(strconv.Itoa(to) + " 0 R")
			}
			return r
		})
	}
	for i, o := range section {
		if images[o.num] != nil {
			s := bytes.Index(o.body, []byte("\nstream\n"))
			o.body = slices.Concat(rewrite(o.body[:s]), o.body[s:])
		}
		o.num = renum[o.num]
		section[i] = o
	}
	objs = slices.Concat(objs[:first], section, objs[last+1:])

	out := bytes.NewBuffer(make([]byte, 0, len(b)))
	out.Write(b[:objs[0].off])
	offsets := make([]int, n)
	for _, o := range objs {
		offsets[o.num] = out.Len()
		fmt.Fprintf(out, "%d 0 obj\n", o.num)
		if o.num == 2 {
			out.Write(rewrite(o.body))
		} else {
			out.Write(o.body)
		}
	}
	start := out.Len()
	fmt.Fprintf(out, "xref\n0 %d\n0000000000 65535 f \n", n)
	for _, off := range offsets[1:] {
		fmt.Fprintf(out, "%010d 00000 n \n", off)
	}
	out.Write(trailer)
	fmt.Fprintf(out, "startxref\n%d", start)
	out.Write(eof)
	return out.Bytes(), nil
}
