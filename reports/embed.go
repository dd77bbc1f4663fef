package reports

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"reflect"
	"sync"
	"unsafe"

	"codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// A figure written as SVG and as PDF embeds each of its maps, enlarged for
// a vector canvas (Pixels), as the same PNG in both: vgsvg and vgpdf each
// encode it with png.Encode, so before, every map was enlarged and encoded
// twice. The two vector canvases of one figure now share a pngCache: the
// first to draw a map encodes it, the second takes the bytes, and each
// writes them as vgsvg.Canvas.DrawImage and vgpdf.Canvas.DrawImage of
// gonum/plot v0.17.0 do, so the files are the same bytes. The canvases'
// document buffers are unexported and reached by reflection; should a
// gonum/plot release move them, the canvases draw as gonum/plot does (the
// same bytes, slower; TestEmbeddedPNGShared then fails).

// pngCache holds the PNG encoding of each map one figure embeds, by the
// map and its enlargement.
type pngCache struct {
	mu  sync.Mutex
	png map[pngKey][]byte
	// hits counts the encodings taken from the cache.
	hits int
}

// pngKey is a map (a comparable image.Image, in practice a pointer) and
// the factor Pixels enlarges it by.
type pngKey struct {
	img image.Image
	k   int
}

func newPNGCache() *pngCache { return &pngCache{png: map[pngKey][]byte{}} }

// encoded is the PNG encoding (png.Encode) of img enlarged k times
// (Enlarge), made on the first call for the pair and kept.
func (pc *pngCache) encoded(img image.Image, k int) ([]byte, error) {
	if !reflect.TypeOf(img).Comparable() {
		return encodePNG(Enlarge(img, k))
	}
	key := pngKey{img, k}
	pc.mu.Lock()
	raw, ok := pc.png[key]
	if ok {
		pc.hits++
	}
	pc.mu.Unlock()
	if ok {
		return raw, nil
	}
	raw, err := encodePNG(Enlarge(img, k))
	if err != nil {
		return nil, err
	}
	pc.mu.Lock()
	pc.png[key] = raw
	pc.mu.Unlock()
	return raw, nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := pngEncoder.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pngEmbedder is a vector canvas that embeds a map enlarged k times from
// its cached PNG encoding, as its DrawImage would embed the enlarged map.
// ok is false when it cannot (its gonum/plot internals not found), and the
// caller then draws the enlarged map with DrawImage.
type pngEmbedder interface {
	embedPNG(rect vg.Rectangle, img image.Image, k int) (ok bool)
}

// svgCanvas is a vgsvg canvas whose maps come from a figure's pngCache.
type svgCanvas struct {
	*vgsvg.Canvas
	cache *pngCache
	buf   *bytes.Buffer // the canvas's document (vgsvg's unexported buf)
}

func newSVGCanvas(w, h vg.Length, cache *pngCache) svgCanvas {
	c := svgCanvas{Canvas: vgsvg.New(w, h), cache: cache}
	if f := field(c.Canvas, "buf", reflect.TypeFor[*bytes.Buffer]()); f.IsValid() && !f.IsNil() {
		c.buf = (*bytes.Buffer)(f.UnsafePointer())
	}
	return c
}

// embedPNG writes the <image> element of vgsvg.Canvas.DrawImage with the
// cached encoding.
func (c svgCanvas) embedPNG(rect vg.Rectangle, img image.Image, k int) bool {
	if c.buf == nil || c.cache == nil {
		return false
	}
	raw, err := c.cache.encoded(img, k)
	if err != nil {
		panic(fmt.Errorf("vgsvg: error encoding image to PNG: %+v", err))
	}
	str := "data:image/jpg;base64," + base64.StdEncoding.EncodeToString(raw)
	rsz := rect.Size()
	width, height := rsz.X.Points(), rsz.Y.Points()
	xmin, ymin := rect.Min.X.Points(), rect.Min.Y.Points()
	fmt.Fprintf(c.buf, `<image x="%v" y="%v" width="%v" height="%v" xlink:href="%s" %s />`+"\n",
		xmin, -ymin-height, width, height, str, `transform="scale(1, -1)"`)
	return true
}

// pdfEmbed is what a pdfCanvas needs of its vgpdf canvas to embed a map as
// vgpdf.Canvas.DrawImage does: the fpdf document and the image counter
// that names the images.
type pdfEmbed struct {
	cache     *pngCache
	doc       *fpdf.Fpdf
	numImages *int
}

func newPDFEmbed(c *vgpdf.Canvas, cache *pngCache) *pdfEmbed {
	doc := field(c, "doc", reflect.TypeFor[*fpdf.Fpdf]())
	n := field(c, "numImages", reflect.TypeFor[int]())
	if cache == nil || !doc.IsValid() || doc.IsNil() || !n.IsValid() {
		return nil
	}
	return &pdfEmbed{cache: cache, doc: (*fpdf.Fpdf)(doc.UnsafePointer()), numImages: (*int)(unsafe.Pointer(n.UnsafeAddr()))}
}

// embedPNG does what vgpdf.Canvas.DrawImage does, with the cached
// encoding.
func (c pdfCanvas) embedPNG(rect vg.Rectangle, img image.Image, k int) bool {
	e := c.embed
	if e == nil {
		return false
	}
	raw, err := e.cache.encoded(img, k)
	if err != nil {
		panic(fmt.Errorf("error encoding image to PNG: %v", err))
	}
	opts := fpdf.ImageOptions{ImageType: "png", ReadDpi: true}
	*e.numImages++
	name := fmt.Sprintf("image_%03d.png", *e.numImages)
	e.doc.RegisterImageOptionsReader(name, opts, bytes.NewReader(raw))
	dpi := c.DPI()
	xp, yp := rect.Min.X.Dots(dpi), rect.Min.Y.Dots(dpi)
	size := rect.Size()
	wp, hp := size.X.Dots(dpi), size.Y.Dots(dpi)
	e.doc.ImageOptions(name, xp, yp, wp, hp, false, opts, 0, "")
	return true
}

// field is the unexported field name of the struct *p when it has type t,
// addressable, or the zero Value.
func field(p any, name string, t reflect.Type) reflect.Value {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() || f.Type() != t {
		return reflect.Value{}
	}
	return f
}
