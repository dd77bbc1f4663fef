// Package images decodes image files and turns them into the float32 input a
// model wants: colour conversion, resizing and the model card's preprocessing.
//
// Decoding uses the standard library (PNG, JPEG, GIF). Resizing is bilinear
// interpolation with half-pixel centres, the filter of TensorFlow's
// tf.image.resize(method="bilinear", antialias=False); an image already at the
// model's size is not resampled. Grayscale conversion uses the ITU-R BT.601
// luma weights of tf.image.rgb_to_grayscale (0.2989, 0.5870, 0.1140).
package images

import (
	"bytes"
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

	"github.com/saliencykit/saliency/tensor"
)

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
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	if err == nil {
		switch w, h := cfg.Width, cfg.Height; {
		case w <= 0 || h <= 0:
			return nil, fmt.Errorf("images: %s: image has no pixels (%d×%d)", name, w, h)
		case w > MaxSide || h > MaxSide || w*h > MaxPixels:
			return nil, fmt.Errorf("images: %s: %d×%d %s image is above the limit of %d pixels and %d a side (images.MaxPixels, images.MaxSide); scale it down first",
				name, w, h, formatOf(head), MaxPixels, MaxSide)
		}
	}
	img, _, err = image.Decode(bytes.NewReader(raw))
	switch {
	case errors.Is(err, image.ErrFormat):
		return nil, fmt.Errorf("images: %s: not an image (PNG, JPEG or GIF), starts with %q", name, printable(head))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return nil, fmt.Errorf("images: %s: truncated %s file", name, formatOf(head))
	case err != nil:
		return nil, fmt.Errorf("images: %s: truncated or corrupt %s file: %v", name, formatOf(head), err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dy() == 0 {
		return nil, fmt.Errorf("images: %s: image has no pixels", name)
	}
	return img, nil
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
// (0 for an image without alpha). Saliency drops alpha the way PIL's
// Image.convert("RGB") does: each pixel keeps the colour it stores,
// un-premultiplied, whatever its alpha, with no compositing over a background.
// A fully transparent pixel therefore reads as its stored colour, often black.
// (Go's GIF decoder stores a transparent palette entry as black; PIL keeps
// the entry's colour.)
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
// is dropped (colours are taken un-premultiplied, as PIL's convert does).
func pixels(img image.Image, channels int) []float32 {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]float32, h*w*channels)
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			var r, g, bl float32
			gray := true
			switch c := img.At(x, y).(type) {
			case color.Gray:
				r, g, bl = float32(c.Y), float32(c.Y), float32(c.Y)
			case color.Gray16:
				v := float32(c.Y) / 257
				r, g, bl = v, v, v
			default:
				n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
				r, g, bl = float32(n.R)/257, float32(n.G)/257, float32(n.B)/257
				gray = false
			}
			if channels == 1 {
				if gray {
					out[i] = r // a gray image keeps its values exactly
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

func formatOf(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG")):
		return "PNG"
	case bytes.HasPrefix(head, []byte("\xff\xd8")):
		return "JPEG"
	case bytes.HasPrefix(head, []byte("GIF8")):
		return "GIF"
	}
	return "image"
}

func printable(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	return string(b)
}
