package images

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode: any bytes give an image within the documented limits or an
// error naming the file, never a panic; a decoded image converts to a
// model's input (grayscale and RGB, resized) with finite values. Seeds: the
// zoo's sample PNGs, small PNG, JPEG and GIF files made here, whole and
// truncated, and the transparent PNG, GIF, TIFF and WebP files and the
// unsupported variants of testdata; crashers are kept in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	samples, _ := filepath.Glob(filepath.Join("..", "savedmodels", "samples", "*.png"))
	for _, p := range samples[:min(len(samples), 4)] {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(raw[:len(raw)/2])
	}
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(37 * i)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	f.Add(bytes.Clone(b.Bytes()))
	b.Reset()
	png.Encode(&b, image.NewGray16(image.Rect(0, 0, 2, 7)))
	f.Add(bytes.Clone(b.Bytes()))
	b.Reset()
	jpeg.Encode(&b, img, nil)
	f.Add(bytes.Clone(b.Bytes()))
	f.Add(bytes.Clone(b.Bytes()[:b.Len()-10]))
	b.Reset()
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White, color.Transparent})
	gif.Encode(&b, pal, nil)
	f.Add(bytes.Clone(b.Bytes()))
	more, _ := filepath.Glob(filepath.Join("testdata", "pil", "*[a-z]"))
	bad, _ := filepath.Glob(filepath.Join("testdata", "unsupported", "*"))
	for _, p := range append(more, bad...) {
		if strings.HasSuffix(p, ".json") {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("GIF89a"))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("BM not supported"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		img, err := Decode(bytes.NewReader(raw), "fuzz.img")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.img") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		r := img.Bounds()
		if r.Dx() <= 0 || r.Dy() <= 0 || r.Dx() > MaxSide || r.Dy() > MaxSide || r.Dx()*r.Dy() > MaxPixels {
			t.Fatalf("decoded a %v image", r)
		}
		if r.Dx()*r.Dy() > 1<<20 {
			return // converting a megapixel image is slow and checks nothing new
		}
		for _, spec := range []Spec{{Height: 4, Width: 3, Channels: 1}, {Height: 2, Width: 5, Channels: 3, BGR: true, Mean: []float32{1, 2, 3}, Std: []float32{2, 2, 2}}} {
			x, err := ToInput(img, spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(x) != spec.Height*spec.Width*spec.Channels {
				t.Fatalf("%d values for %+v", len(x), spec)
			}
			for _, v := range x {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite input value %v", v)
				}
			}
		}
		if f := Transparency(img); f < 0 || f > 1 {
			t.Fatalf("transparency %v", f)
		}
	})
}
