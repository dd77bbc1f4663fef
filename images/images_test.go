package images

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(10 * x), uint8(10 * y), 100, 255})
		}
	}
	return img
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	pngData := encodePNG(t, gradient(20, 20))
	jpgData := encodeJPEG(t, gradient(20, 20))
	files := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated.png", pngData[:len(pngData)/2], "truncated.png: truncated"},
		{"header-only.png", pngData[:20], "header-only.png: truncated PNG file"},
		{"truncated.jpg", jpgData[:len(jpgData)/2], "truncated.jpg: truncated JPEG file"},
		{"notes.txt", []byte("hello, this is text\n"), `notes.txt: not an image (PNG, JPEG, GIF, WebP or TIFF), starts with "hello, t"`},
		{"empty.png", nil, "empty.png: empty file"},
		{"corrupt.png", append(append([]byte{}, pngData[:40]...), bytes.Repeat([]byte{0xAB}, 200)...), "corrupt.png: truncated or corrupt PNG file"},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			p := filepath.Join(dir, f.name)
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadInput(p, Spec{Height: 28, Width: 28, Channels: 1})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "images: ") || !strings.Contains(err.Error(), f.want) {
				t.Errorf("error %q, want it to contain %q", err, f.want)
			}
		})
	}
	_, err := Load(filepath.Join(dir, "missing.png"))
	if err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing file: %v", err)
	}
}

// Variants of TIFF and WebP that the decoders do not read are errors that
// name the variant and say what is read (testdata/unsupported, written by
// scripts/golden_pil.py with PIL). A TIFF with separate colour planes is
// refused before golang.org/x/image/tiff, which ignores PlanarConfiguration
// and would return a wrong image without an error.
func TestUnsupportedVariants(t *testing.T) {
	for file, want := range map[string]string{
		"float32.tif":    "TIFF with floating-point or signed samples is not supported; saliency reads baseline TIFF",
		"cmyk.tif":       "TIFF colour model other than gray, paletted or RGB (CMYK, YCbCr, CIELab, …) is not supported",
		"jpeg.tif":       "JPEG-compressed TIFF (compression value 7) is not supported",
		"gray_alpha.tif": "gray or paletted TIFF with extra samples (alpha) is not supported",
		"planar.tif":     "TIFF with separate colour planes (PlanarConfiguration 2) is not supported",
		"animated.webp":  "animated WebP is not supported; extract a frame",
	} {
		_, err := Load(filepath.Join("testdata", "unsupported", file))
		if err == nil || !strings.Contains(err.Error(), file+": "+want) {
			t.Errorf("%s: %v, want %q", file, err, want)
		}
	}
}

// A TIFF of a hundred bytes whose header names an offset of 2.5 GB is a
// truncated file, found without reading or buffering up to that offset
// (through image.Decode's buffered reader, golang.org/x/image/tiff buffered
// the stream up to it: 8 GiB allocated, found by fuzzing).
func TestTIFFOffsetBomb(t *testing.T) {
	raw := []byte("II*\x00\x00\x00\x00\x9a\x00\x00\x00\x15\x01\x03\x00\x01\x00\x00\x00\x04\x00\x00\x00\x16\x01\x04\x00\x01\x00\x00\x00\x03\x00\x00\x00\x17\x01\x04\x00\x01\x00\x00\x000\x00\x00\x00\x1c\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00R\x01\x03\x00\x01\x00\x01\x00\x01(\x00\x00\x00\x00\x00\x00\b\x00\b\x00\b\x00\b\x03")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Decode(bytes.NewReader(raw), "bomb.tif")
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "bomb.tif: truncated TIFF file") {
		t.Errorf("error %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("decoding allocated %d MiB", n>>20)
	}
}

func TestBadSpecs(t *testing.T) {
	img := gradient(4, 4)
	for _, s := range []Spec{
		{Height: 0, Width: 4, Channels: 1},
		{Height: 4, Width: 4, Channels: 2},
		{Height: 4, Width: 4, Channels: 3, Mean: []float32{1}},
		{Height: 4, Width: 4, Channels: 1, Std: []float32{0}},
	} {
		if _, err := ToInput(img, s); err == nil {
			t.Errorf("spec %+v: no error", s)
		}
	}
}

func TestSamePNGAndGrayscale(t *testing.T) {
	// A gray PNG at the model's size passes through untouched: x = pixel/255.
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	for i := range g.Pix {
		g.Pix[i] = uint8(50 * i)
	}
	img, err := Decode(bytes.NewReader(encodePNG(t, g)), "g.png")
	if err != nil {
		t.Fatal(err)
	}
	x, err := ToInput(img, Spec{Height: 2, Width: 3, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		if want := float32(50*i) / 255; math.Abs(float64(v-want)) > 1e-6 {
			t.Errorf("x[%d] = %v, want %v", i, v, want)
		}
	}
	// RGB to gray uses tf.image.rgb_to_grayscale's weights.
	c := image.NewRGBA(image.Rect(0, 0, 1, 1))
	c.Set(0, 0, color.RGBA{200, 100, 50, 255})
	x, _ = ToInput(c, Spec{Height: 1, Width: 1, Channels: 1, Scale: 1})
	if want := 0.2989*200 + 0.5870*100 + 0.1140*50; math.Abs(float64(x[0])-want) > 1e-3 {
		t.Errorf("gray = %v, want %v", x[0], want)
	}
	// Gray to RGB repeats the channel; mean/std apply per channel.
	x, _ = ToInput(g, Spec{Height: 2, Width: 3, Channels: 3, Scale: 1, Mean: []float32{0, 10, 20}, Std: []float32{1, 2, 4}})
	if x[3] != 50 || x[4] != 20 || x[5] != 7.5 {
		t.Errorf("rgb pixel 1 = %v, want [50 20 7.5]", x[3:6])
	}
}

func TestResizeBilinearHalfPixel(t *testing.T) {
	// 2x upsampling of [0 100] along x with half-pixel centres gives
	// [0 25 75 100] (tf.image.resize bilinear, antialias=False).
	g := image.NewGray(image.Rect(0, 0, 2, 1))
	g.Pix[0], g.Pix[1] = 0, 100
	x, err := ToInput(g, Spec{Height: 1, Width: 4, Channels: 1, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 25, 75, 100}
	for i := range want {
		if math.Abs(float64(x[i]-want[i])) > 1e-4 {
			t.Fatalf("resized %v, want %v", x, want)
		}
	}
	// Downsampling a constant image keeps the constant.
	c := image.NewGray(image.Rect(0, 0, 57, 31))
	for i := range c.Pix {
		c.Pix[i] = 77
	}
	x, _ = ToInput(c, Spec{Height: 28, Width: 28, Channels: 1, Scale: 1})
	for _, v := range x {
		if math.Abs(float64(v)-77) > 1e-3 {
			t.Fatalf("constant image resized to %v", v)
		}
	}
}

func TestSamplesDecode(t *testing.T) {
	paths, _ := filepath.Glob("../savedmodels/samples/*.png")
	if len(paths) < 6 {
		t.Fatalf("found %d sample images, want ≥ 6", len(paths))
	}
	for _, p := range paths {
		img, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		if b.Dx() != 28 && b.Dx() != 64 {
			t.Errorf("%s: %dx%d", p, b.Dx(), b.Dy())
		}
	}
}

func TestPixelValueAndDisplay(t *testing.T) {
	s := Spec{Height: 2, Width: 2, Channels: 3, Scale: 1, Offset: -127.5, Mean: []float32{1, 2, 3}, Std: []float32{2, 2, 2}}
	black, white := s.PixelValue(0), s.PixelValue(255)
	if black[0] != (-127.5-1)/2 || white[2] != (127.5-3)/2 {
		t.Errorf("black %v, white %v", black, white)
	}
	if d := (Spec{Height: 1, Width: 1, Channels: 1}).PixelValue(255); d[0] != 1 {
		t.Errorf("default scale: white is %v", d)
	}
	if d := s.Display(); d.Scale != 0 || d.Mean != nil || d.Channels != 3 {
		t.Errorf("display spec %+v", d)
	}
}

// A BGR spec reverses the colour channels before the mean is subtracted.
func TestBGR(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.NRGBA{R: 10, G: 20, B: 30, A: 255})
	x, err := ToInput(img, Spec{Height: 1, Width: 1, Channels: 3, Scale: 1, BGR: true, Mean: []float32{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if x[0] != 29 || x[1] != 18 || x[2] != 7 {
		t.Errorf("BGR input %v, want [29 18 7]", x)
	}
}
