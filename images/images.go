// Package images decodes image files and turns them into the float32 input a
// model wants: colour conversion, resizing and the model card's preprocessing.
//
// Decoding reads PNG, JPEG and GIF (the standard library), WebP (lossy,
// lossless, with alpha; not animated) and baseline TIFF (golang.org/x/image:
// 1-, 8- and 16-bit unsigned samples, gray, paletted, RGB and RGBA in one
// plane, uncompressed, LZW, Deflate, PackBits or CCITT); other TIFF variants
// are errors that name what is not supported. A GIF or TIFF holding several
// images gives its first.
//
// Alpha is dropped the way PIL's Image.convert("RGB") and convert("L") drop
// it: each pixel keeps the colour it stores, whatever its alpha, with no
// compositing over a background (a fully transparent pixel is its stored
// colour, not black); premultiplied samples (associated-alpha TIFF) are
// un-premultiplied as PIL does, c·255/a. Lossy WebP gets libwebp's colour
// conversion and chroma upsampling (golang.org/x/image/webp hands out its
// limited-range planes as full-range JPEG colour, up to 20 levels off). PNG of
// 8 bits or fewer, GIF, WebP and TIFF give PIL's bytes exactly (pil_test.go
// against testdata/pil, written by scripts/golden_pil.py with PIL). A 16-bit
// sample v becomes v/257 where PIL keeps its high byte v>>8 (and clips 16-bit
// gray at 255): a deliberate difference of less than one level. JPEG goes
// through Go's image/jpeg and is not compared with PIL.
//
// Resizing is bilinear interpolation with half-pixel centres, the filter of
// TensorFlow's tf.image.resize(method="bilinear", antialias=False); an image
// already at the model's size is not resampled. Grayscale conversion uses the
// ITU-R BT.601 luma weights of tf.image.rgb_to_grayscale (0.2989, 0.5870,
// 0.1140); a gray pixel (R = G = B) keeps its value, as in PIL's
// convert("L").
package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG
	"io"
	"math"
	"os"
	"strings"

	"github.com/saliencykit/saliency/tensor"
	"golang.org/x/image/tiff"   // registers TIFF
	_ "golang.org/x/image/webp" // register WebP
)

// Formats names the image formats Decode reads, for messages.
const Formats = "PNG, JPEG, GIF, WebP or TIFF"

// Extensions are the file name extensions of the formats Decode reads, in
// lower case: the files a folder of images is made of.
var Extensions = []string{".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff"}

// Spec is what a model's input wants: x = pixel·Scale + Offset per channel,
// where pixel is in [0, 255].
type Spec struct {
	Height, Width int
	// Channels is 1 (grayscale) or 3 (RGB).
	Channels int
	// BGR reverses the colour channels (Caffe-style models such as VGG16
	// and ResNet50 of keras.applications).
	BGR bool
	// Scale and Offset map a [0,255] pixel to the model's range. A zero Scale
	// means 1/255 (inputs in [0,1]).
	Scale, Offset float32
	// Mean and Std, when set (one value per channel), are applied after Scale
	// and Offset: x = (x - Mean[c]) / Std[c].
	Mean, Std []float32
	// Whole rounds each pixel to a whole number in [0, 255] after the
	// colour conversion and resizing, before Scale and Offset, as an image
	// resized and stored with 8 bits would be: models whose input is uint8
	// take nothing else.
	Whole bool
}

// Validate checks the spec.
func (s Spec) Validate() error {
	if s.Height <= 0 || s.Width <= 0 {
		return fmt.Errorf("images: spec size %dx%d must be positive", s.Height, s.Width)
	}
	if s.Channels != 1 && s.Channels != 3 {
		return fmt.Errorf("images: spec has %d channels; 1 (grayscale) or 3 (RGB) supported", s.Channels)
	}
	if (s.Mean != nil && len(s.Mean) != s.Channels) || (s.Std != nil && len(s.Std) != s.Channels) {
		return fmt.Errorf("images: spec mean/std need %d values", s.Channels)
	}
	for _, v := range s.Std {
		if v == 0 {
			return fmt.Errorf("images: spec std has a zero")
		}
	}
	return nil
}

// PixelValue is the model input of a pixel whose channels are all p (in
// [0, 255]), one value per channel: PixelValue(0) is a black pixel and
// PixelValue(255) a white one.
func (s Spec) PixelValue(p float32) []float32 {
	scale := s.Scale
	if scale == 0 {
		scale = 1.0 / 255
	}
	out := make([]float32, s.Channels)
	for c := range out {
		v := p*scale + s.Offset
		if s.Mean != nil {
			v -= s.Mean[c]
		}
		if s.Std != nil {
			v /= s.Std[c]
		}
		out[c] = v
	}
	return out
}

// Display returns the spec of the same image for display: the model's size
// and channels with values in [0, 1] (pixel/255), in RGB order, no mean or
// std.
func (s Spec) Display() Spec {
	return Spec{Height: s.Height, Width: s.Width, Channels: s.Channels}
}

// Limits of Decode. The header is read first, so an image whose pixels would
// not fit is refused before they are allocated (a decompression bomb of a few
// kilobytes can claim gigapixels).
const (
	// MaxPixels is the largest width × height Decode accepts: 2^26, about 67
	// megapixels (8192 × 8192). Saliency models read a few hundred pixels a
	// side; a larger photograph should be scaled down first.
	MaxPixels = 1 << 26
	// MaxSide is the largest width or height Decode accepts.
	MaxSide = 1 << 15
	// MaxFileBytes is the largest file Decode reads.
	MaxFileBytes = 256 << 20
)

// Decode reads an image from r; name is used in errors. A file that is not an
// image of a known format, is truncated, has no pixels or more than MaxPixels
// (or a side above MaxSide) is an error naming it.
func Decode(r io.Reader, name string) (img image.Image, err error) {
	defer func() {
		// The standard decoders are fuzzed upstream; should one still
		// panic on a hostile file, that file is an error, not a crash.
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("images: %s: corrupt file (the decoder failed: %v)", name, p)
		}
	}()
	raw, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("images: %s: %w", name, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("images: %s: empty file", name)
	}
	if len(raw) > MaxFileBytes {
		return nil, fmt.Errorf("images: %s: file larger than %d MiB (images.MaxFileBytes)", name, MaxFileBytes>>20)
	}
	head := raw[:min(len(raw), 16)]
	if err := unsupported(raw); err != "" {
		return nil, fmt.Errorf("images: %s: %s", name, err)
	}
	decodeConfig, decode := image.DecodeConfig, image.Decode
	if formatOf(head) == "TIFF" {
		// golang.org/x/image/tiff reads at the offsets a file names:
		// through image.Decode's buffered reader it buffers the file up to
		// any such offset, gigabytes for a hostile file of 100 bytes; on
		// the bytes themselves it reads only what is there.
		decodeConfig = func(r io.Reader) (image.Config, string, error) {
			c, err := tiff.DecodeConfig(bytes.NewReader(raw))
			return c, "tiff", err
		}
		decode = func(r io.Reader) (image.Image, string, error) {
			m, err := tiff.Decode(bytes.NewReader(raw))
			return m, "tiff", err
		}
	}
	cfg, _, err := decodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, decodeError(name, head, err)
	}
	switch w, h := cfg.Width, cfg.Height; {
	case w <= 0 || h <= 0:
		return nil, fmt.Errorf("images: %s: image has no pixels (%d×%d)", name, w, h)
	case w > MaxSide || h > MaxSide || w*h > MaxPixels:
		return nil, fmt.Errorf("images: %s: %d×%d %s image is above the limit of %d pixels and %d a side (images.MaxPixels, images.MaxSide); scale it down first",
			name, w, h, formatOf(head), MaxPixels, MaxSide)
	}
	img, format, err := decode(bytes.NewReader(raw))
	if err != nil {
		return nil, decodeError(name, head, err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dy() == 0 {
		return nil, fmt.Errorf("images: %s: image has no pixels", name)
	}
	switch p, ok := img.(*image.Paletted); {
	case ok && format == "gif":
		gifTransparentColour(raw, p)
	case format == "webp":
		img = webpRGB(img)
	}
	return img, nil
}

// decodeError names the file and says what is wrong with it; head is its
// first bytes.
func decodeError(name string, head []byte, err error) error {
	var tu tiff.UnsupportedError
	switch {
	case errors.Is(err, image.ErrFormat):
		return fmt.Errorf("images: %s: not an image (%s), starts with %q", name, Formats, printable(head))
	case errors.As(err, &tu):
		return fmt.Errorf("images: %s: %s", name, tiffUnsupported(tu))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("images: %s: truncated %s file", name, formatOf(head))
	}
	return fmt.Errorf("images: %s: truncated or corrupt %s file: %v", name, formatOf(head), err)
}

// Load decodes the image file at path.
func Load(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("images: %s is a folder, not an image file", path)
	}
	return Decode(f, path)
}

// Transparency is the fraction of img's pixels that are not fully opaque
// (0 for an image without alpha). Their alpha is dropped as PIL's
// Image.convert("RGB") drops it: each pixel keeps the colour it stores,
// whatever its alpha, with no compositing over a background (see the package
// comment).
func Transparency(img image.Image) float64 {
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		return 0
	}
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

// ToInput converts img to a [H,W,C] float32 array following spec.
func ToInput(img image.Image, spec Spec) ([]float32, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	src := pixels(img, spec.Channels)
	b := img.Bounds()
	px := src
	if b.Dy() != spec.Height || b.Dx() != spec.Width {
		px = make([]float32, spec.Height*spec.Width*spec.Channels)
		tensor.ResizeHWC(src, b.Dy(), b.Dx(), spec.Channels, px, spec.Height, spec.Width)
	}
	if spec.Whole {
		for i, v := range px {
			px[i] = float32(math.Round(float64(min(max(v, 0), 255))))
		}
	}
	scale := spec.Scale
	if scale == 0 {
		scale = 1.0 / 255
	}
	if spec.BGR && spec.Channels == 3 {
		for i := 0; i+2 < len(px); i += 3 {
			px[i], px[i+2] = px[i+2], px[i]
		}
	}
	for i := range px {
		c := i % spec.Channels
		v := px[i]*scale + spec.Offset
		if spec.Mean != nil {
			v -= spec.Mean[c]
		}
		if spec.Std != nil {
			v /= spec.Std[c]
		}
		px[i] = v
	}
	return px, nil
}

// LoadInput is Load followed by ToInput.
func LoadInput(path string, spec Spec) ([]float32, error) {
	img, err := Load(path)
	if err != nil {
		return nil, err
	}
	x, err := ToInput(img, spec)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return x, nil
}

// pixels returns the image as [H,W,channels] float32 values in [0,255]. Alpha
// is dropped: each pixel keeps the colour it stores (straight), as PIL's
// convert does.
func pixels(img image.Image, channels int) []float32 {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]float32, h*w*channels)
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl := straight(img.At(x, y))
			if channels == 1 {
				if r == g && g == bl {
					out[i] = r // a gray pixel keeps its value exactly
				} else {
					out[i] = 0.2989*r + 0.5870*g + 0.1140*bl
				}
				i++
			} else {
				out[i], out[i+1], out[i+2] = r, g, bl
				i += 3
			}
		}
	}
	return out
}

// straight is the colour c stores, without its alpha, in [0,255]. Colour
// types that store straight (non-premultiplied) colour keep it whatever
// their alpha: Go's color.RGBA() would premultiply it, turning a fully
// transparent pixel black. Premultiplied 8-bit colour is un-premultiplied as
// PIL unpacks "RGBa", min(255, c·255/a) in integers.
func straight(c color.Color) (r, g, b float32) {
	switch c := c.(type) {
	case color.Gray:
		v := float32(c.Y)
		return v, v, v
	case color.Gray16:
		v := float32(c.Y) / 257
		return v, v, v
	case color.NRGBA:
		return float32(c.R), float32(c.G), float32(c.B)
	case color.NRGBA64:
		return float32(c.R) / 257, float32(c.G) / 257, float32(c.B) / 257
	case color.NYCbCrA:
		c.A = 0xff
		r, g, b, _ := c.YCbCr.RGBA()
		return float32(r) / 257, float32(g) / 257, float32(b) / 257
	case color.RGBA:
		switch c.A {
		case 0:
			return 0, 0, 0
		case 0xff:
			return float32(c.R), float32(c.G), float32(c.B)
		}
		un := func(v uint8) float32 { return float32(min(255, int(v)*255/int(c.A))) }
		return un(c.R), un(c.G), un(c.B)
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return float32(n.R) / 257, float32(n.G) / 257, float32(n.B) / 257
}

// gifTransparentColour gives back the colour of a GIF's transparent palette
// entry, which Go's decoder replaces by transparent black and PIL keeps:
// raw is the file, p its first image as decoded.
func gifTransparentColour(raw []byte, p *image.Paletted) {
	table, ti, ok := gifFirstTable(raw)
	if !ok || ti >= len(table)/3 || ti >= len(p.Palette) {
		return
	}
	if _, _, _, a := p.Palette[ti].RGBA(); a != 0 {
		return
	}
	pal := append(color.Palette(nil), p.Palette...)
	pal[ti] = color.NRGBA{table[3*ti], table[3*ti+1], table[3*ti+2], 0}
	p.Palette = pal
}

// gifFirstTable walks a GIF's blocks to its first image and returns that
// image's colour table (its local table, else the global one, as RGB
// triples) and the transparent index its graphic control extension sets.
func gifFirstTable(raw []byte) (table []byte, transparent int, ok bool) {
	if len(raw) < 13 || !bytes.HasPrefix(raw, []byte("GIF8")) {
		return nil, 0, false
	}
	var global []byte
	pos := 13
	if f := raw[10]; f&0x80 != 0 {
		n := 3 << (f&7 + 1)
		if pos+n > len(raw) {
			return nil, 0, false
		}
		global, pos = raw[pos:pos+n], pos+n
	}
	transparent = -1
	for pos < len(raw) {
		switch raw[pos] {
		case 0x21: // extension: label, sub-blocks
			if pos+2 > len(raw) {
				return nil, 0, false
			}
			label := raw[pos+1]
			pos += 2
			if label == 0xf9 && pos+5 < len(raw) && raw[pos] == 4 {
				transparent = -1
				if raw[pos+1]&1 != 0 {
					transparent = int(raw[pos+4])
				}
			}
			for pos < len(raw) && raw[pos] != 0 {
				pos += 1 + int(raw[pos])
			}
			pos++
		case 0x2c: // image descriptor
			if pos+10 > len(raw) || transparent < 0 {
				return nil, 0, false
			}
			table = global
			if f := raw[pos+9]; f&0x80 != 0 {
				n := 3 << (f&7 + 1)
				if pos+10+n > len(raw) {
					return nil, 0, false
				}
				table = raw[pos+10 : pos+10+n]
			}
			return table, transparent, table != nil
		default: // the trailer, or not a block
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// unsupported says why raw is a variant of a known format that Decode does
// not read ("" when it is not): an animated WebP, or a TIFF whose samples lie
// in separate planes (golang.org/x/image/tiff would read them as interleaved,
// a wrong image without an error).
func unsupported(raw []byte) string {
	if len(raw) >= 21 && string(raw[:4]) == "RIFF" && string(raw[8:16]) == "WEBPVP8X" && raw[20]&0x02 != 0 {
		return "animated WebP is not supported; extract a frame (e.g. as PNG) first"
	}
	if planar, ok := tiffTag(raw, 284); ok && planar == 2 {
		return "TIFF with separate colour planes (PlanarConfiguration 2) is not supported; " + tiffSupported
	}
	return ""
}

// tiffTag reads the first value of a SHORT or LONG tag of a TIFF's first
// image, or says it has none.
func tiffTag(raw []byte, tag uint16) (uint32, bool) {
	if len(raw) < 8 {
		return 0, false
	}
	var bo binary.ByteOrder
	switch string(raw[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0, false
	}
	off := uint64(bo.Uint32(raw[4:8]))
	if off+2 > uint64(len(raw)) {
		return 0, false
	}
	n := uint64(bo.Uint16(raw[off:]))
	for i := uint64(0); i < n; i++ {
		e := off + 2 + 12*i
		if e+12 > uint64(len(raw)) {
			return 0, false
		}
		if bo.Uint16(raw[e:]) != tag {
			continue
		}
		switch bo.Uint16(raw[e+2:]) {
		case 3: // SHORT
			return uint32(bo.Uint16(raw[e+8:])), true
		case 4: // LONG
			return bo.Uint32(raw[e+8:]), true
		}
		return 0, false
	}
	return 0, false
}

// tiffSupported is what Decode reads of TIFF.
const tiffSupported = "saliency reads baseline TIFF: 1-, 8- or 16-bit unsigned samples, gray, paletted, RGB or RGBA, in one plane, uncompressed, LZW, Deflate, PackBits or CCITT; convert other variants to PNG"

// tiffUnsupported says which TIFF variant golang.org/x/image/tiff refused.
func tiffUnsupported(e tiff.UnsupportedError) string {
	what := string(e)
	switch s := string(e); {
	case s == "compression value 6" || s == "compression value 7":
		what = "JPEG-compressed TIFF (" + s + ")"
	case strings.HasPrefix(s, "compression value"):
		what = "TIFF compression " + strings.TrimPrefix(s, "compression value ")
	case strings.HasPrefix(s, "BitsPerSample of "):
		what = "TIFF with " + strings.TrimPrefix(s, "BitsPerSample of ") + "-bit samples"
	case s == "sample format":
		what = "TIFF with floating-point or signed samples"
	case s == "color model":
		what = "TIFF colour model other than gray, paletted or RGB (CMYK, YCbCr, CIELab, …)"
	case s == "extra samples":
		what = "gray or paletted TIFF with extra samples (alpha)"
	default:
		what = "TIFF feature: " + s
	}
	return what + " is not supported; " + tiffSupported
}

func formatOf(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG")):
		return "PNG"
	case bytes.HasPrefix(head, []byte("\xff\xd8")):
		return "JPEG"
	case bytes.HasPrefix(head, []byte("GIF8")):
		return "GIF"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "WebP"
	case bytes.HasPrefix(head, []byte("II*\x00")) || bytes.HasPrefix(head, []byte("MM\x00*")):
		return "TIFF"
	}
	return "image"
}

func printable(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	return string(b)
}
