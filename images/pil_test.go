package images

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// pilCase is one image of testdata/pil/golden.json: what PIL's
// convert("RGB"), convert("L") and the alpha of convert("RGBA") give.
type pilCase struct {
	File          string `json:"file"`
	Mode          string `json:"mode"`
	Width, Height int
	RGB           []int `json:"rgb"`
	L             []int `json:"l"`
	Alpha         []int `json:"alpha"`
}

// How each file is compared with PIL.
const (
	exact    = iota // 8-bit samples: PIL's bytes exactly
	highByte        // 16-bit samples v: ours v/257, PIL's v>>8
	clipped         // 16-bit gray: ours v/257, PIL's convert clips v at 255
)

var pilFiles = map[string]int{
	"garment_rgba8.png": exact, "rgba8.png": exact, "la8.png": exact, "p8_trns.png": exact,
	"p2_trns.png": exact, "g8_trns.png": exact, "g4_trns.png": exact, "rgb8_trns.png": exact,
	"trns.gif": exact, "rgba.tif": exact, "rgba_assoc.tif": exact, "rgba_lossless.webp": exact,
	"rgba16.png": highByte, "la16.png": highByte, "rgb16_trns.png": highByte,
	"rgba_lossy.webp": exact, "rgb_lossy_odd.webp": exact, "boot_lossy.webp": exact,
	"g16.png": clipped,
}

// pilIgnoresTRNS are the files whose tRNS colour PIL does not apply (a
// sub-8-bit gray and a 16-bit RGB image: PIL compares the colour with its
// widened or narrowed samples), so its alpha says opaque where the PNG
// specification and Go's decoder say transparent.
var pilIgnoresTRNS = map[string]bool{"g4_trns.png": true, "rgb16_trns.png": true}

// Transparent pixels are decoded as PIL's convert("RGB") and convert("L")
// decode them: the stored colour, alpha dropped, byte for byte against PIL
// itself (testdata/pil/golden.json, written by scripts/golden_pil.py with PIL
// 13) on PNGs of every colour type and bit depth that carries transparency
// (RGBA, gray + alpha, palettes and gray/RGB with a tRNS chunk), a GIF with
// a coloured transparent entry, TIFF with unassociated and premultiplied
// alpha and WebP (lossless, lossy with alpha, lossy of odd size: libwebp's
// colour conversion and chroma upsampling); 16-bit samples keep their
// precision where PIL keeps the high byte. The fraction of transparent pixels
// is PIL's too.
func TestTransparencyAsPIL(t *testing.T) {
	raw, err := os.ReadFile("testdata/pil/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Source string    `json:"source"`
		Cases  []pilCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) != len(pilFiles) {
		t.Fatalf("golden.json has %d images, the test knows %d", len(g.Cases), len(pilFiles))
	}
	transparentSeen := 0
	for _, c := range g.Cases {
		t.Run(c.File, func(t *testing.T) {
			how, ok := pilFiles[c.File]
			if !ok {
				t.Fatalf("no comparison rule for %s", c.File)
			}
			img, err := Load(filepath.Join("testdata", "pil", c.File))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != c.Width || b.Dy() != c.Height {
				t.Fatalf("%v, PIL %dx%d", b, c.Width, c.Height)
			}
			n := c.Width * c.Height
			rgb, gray := pixels(img, 3), pixels(img, 1)
			if len(c.RGB) != 3*n || len(c.L) != n || len(c.Alpha) != n {
				t.Fatalf("golden sizes %d %d %d for %d pixels", len(c.RGB), len(c.L), len(c.Alpha), n)
			}
			bad := 0
			check := func(what string, i int, ours float32, pil int, transparent bool) {
				if err := compare(how, ours, pil); err != nil && bad < 5 {
					bad++
					t.Errorf("%s pixel %d (x %d, y %d, transparent %v): %v (%s)", what, i, i%c.Width, i/c.Width, transparent, err, g.Source)
				}
			}
			for p := 0; p < n; p++ {
				tr := c.Alpha[p] < 255
				if tr {
					transparentSeen++
				}
				for ch := 0; ch < 3; ch++ {
					check("RGB", 3*p+ch, rgb[3*p+ch], c.RGB[3*p+ch], tr)
				}
				r, gg, b := c.RGB[3*p], c.RGB[3*p+1], c.RGB[3*p+2]
				if r == gg && gg == b || how == clipped {
					check("L", p, gray[p], c.L[p], tr)
					continue
				}
				// A colour: the luma of tf.image.rgb_to_grayscale of
				// PIL's colour, within a level of PIL's own luma
				// (weights 0.299, 0.587, 0.114, rounded).
				if how == exact {
					if want := 0.2989*float32(r) + 0.5870*float32(gg) + 0.1140*float32(b); gray[p] != want {
						t.Errorf("L pixel %d: %v, the luma of PIL's colour is %v", p, gray[p], want)
					}
				}
				if d := math.Abs(float64(gray[p]) - float64(c.L[p])); d > 1.5 {
					t.Errorf("L pixel %d: %v, PIL %d", p, gray[p], c.L[p])
				}
			}
			var pilTransparent int
			for _, a := range c.Alpha {
				if a < 255 {
					pilTransparent++
				}
			}
			got, want := Transparency(img), float64(pilTransparent)/float64(n)
			switch {
			case pilIgnoresTRNS[c.File]:
				if got == 0 {
					t.Errorf("transparency 0: the tRNS colour matches pixels")
				}
			case how == highByte:
				// A 16-bit alpha of 0xff00 or more is opaque to PIL's
				// high byte, not to us.
				if got < want {
					t.Errorf("transparency %v, PIL %v", got, want)
				}
			case got != want:
				t.Errorf("transparency %v, PIL %v", got, want)
			}
		})
	}
	if transparentSeen < 200 {
		t.Errorf("only %d transparent pixels compared", transparentSeen)
	}
}

// compare checks one of our samples (in [0,255]) against PIL's byte.
func compare(how int, ours float32, pil int) error {
	switch how {
	case exact:
		if ours != float32(pil) {
			return fmt.Errorf("%v, PIL %d", ours, pil)
		}
	case highByte, clipped:
		// ours is v/257 for the 16-bit sample v.
		v := math.Round(float64(ours) * 257)
		if math.Abs(float64(ours)*257-v) > 1e-2 {
			return fmt.Errorf("%v is not a 16-bit sample /257", ours)
		}
		want := int(v) >> 8
		if how == clipped {
			want = min(int(v), 255)
		}
		if want != pil {
			return fmt.Errorf("16-bit sample %d (%v): PIL %d, want %d", int(v), ours, pil, want)
		}
	}
	return nil
}
