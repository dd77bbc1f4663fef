package reports

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"sync"
	"testing"

	vgdraw "gonum.org/v1/plot/vg/draw"
)

// pngEncoder writes what png.Encode writes, for the image types the
// toolkit writes and others, from 8 goroutines at once (pooled buffers
// reused across images of other sizes and kinds); a PNG figure's canvas
// writes what vgimg's does.
func TestPNGEncoderSameBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var imgs []image.Image
	for _, n := range []int{1, 28, 97, 224} {
		opaque := noiseNRGBA(r, n, n, true)
		imgs = append(imgs, opaque, noiseNRGBA(r, n, n, false), Enlarge(opaque, 3))
		rgba := image.NewRGBA(image.Rect(0, 0, n, n/2+1))
		gray := image.NewGray(image.Rect(0, 0, n, n))
		pal := image.NewPaletted(image.Rect(0, 0, n, n), color.Palette{color.Black, color.White, color.RGBA{200, 10, 10, 255}})
		for i := range rgba.Pix {
			rgba.Pix[i] = uint8(r.IntN(256))
		}
		for i := range gray.Pix {
			gray.Pix[i] = uint8(r.IntN(256))
			pal.Pix[i] = uint8(r.IntN(3))
		}
		imgs = append(imgs, rgba, gray, pal)
	}
	want := make([][]byte, len(imgs))
	for i, m := range imgs {
		var b bytes.Buffer
		if err := png.Encode(&b, m); err != nil {
			t.Fatal(err)
		}
		want[i] = b.Bytes()
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(imgs))
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range imgs {
				i := (j + g*5) % len(imgs)
				var b bytes.Buffer
				if err := pngEncoder.Encode(&b, imgs[i]); err != nil || !bytes.Equal(b.Bytes(), want[i]) {
					errs <- imgs[i].Bounds().String()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("image %s: pngEncoder's bytes are not png.Encode's", e)
	}

	g := goldenGrid()
	w, h, err := g.Size()
	if err != nil {
		t.Fatal(err)
	}
	cv, err := newCanvas("png", w, h, defaultDPI, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Draw(vgdraw.New(cv)); err != nil {
		t.Fatal(err)
	}
	var got, plain bytes.Buffer
	if _, err := cv.WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	if _, err := cv.(pngCanvas).PngCanvas.WriteTo(&plain); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), plain.Bytes()) {
		t.Errorf("the PNG figure: %d bytes, vgimg writes %d", got.Len(), plain.Len())
	}
}
