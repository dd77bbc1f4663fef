package reports

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"reflect"
	"testing"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// noiseNRGBA is a w×h image of random colours, opaque or not.
func noiseNRGBA(r *rand.Rand, w, h int, opaque bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
		if opaque && i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

// TestSeparableBiLinear: separableBiLinear writes the same bytes as
// draw.BiLinear for the transforms a figure makes (enlarging and shrinking,
// flipped y as gg's canvas has it, fractional offsets, images partly off the
// canvas) and for those it hands on (rotation, a translucent source, masks,
// another destination type).
func TestSeparableBiLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fast := 0
	for i := range 400 {
		sw, sh := 1+r.IntN(90), 1+r.IntN(90)
		src := noiseNRGBA(r, sw, sh, i%10 != 9)
		sr := src.Bounds()
		if i%7 == 3 {
			sr = image.Rect(r.IntN(sw), r.IntN(sh), sw, sh)
		}
		sx := 0.2 + 3*r.Float64()
		sy := 0.2 + 3*r.Float64()
		if i%2 == 0 {
			sy = -sy
		}
		s2d := f64.Aff3{sx, 0, 120 * (r.Float64() - 0.25), 0, sy, 120 * (r.Float64() - 0.25)}
		if sy < 0 {
			s2d[5] += 150
		}
		if i%11 == 5 {
			s2d[1] = 0.3 // shear: handed on
		}
		var opts *draw.Options
		if i%13 == 4 {
			opts = &draw.Options{DstMask: image.Rect(5, 5, 60, 60)}
		}
		base := noiseNRGBA(r, 130, 110, true)
		want := image.NewRGBA(base.Bounds())
		got := image.NewRGBA(base.Bounds())
		copy(want.Pix, base.Pix)
		copy(got.Pix, base.Pix)
		if _, _, ok := separable(got, &s2d, src, sr, draw.Over, opts); ok {
			fast++
		}
		draw.BiLinear.Transform(want, s2d, src, sr, draw.Over, opts)
		separableBiLinear{}.Transform(got, s2d, src, sr, draw.Over, opts)
		if !bytes.Equal(got.Pix, want.Pix) {
			n := 0
			for j := range got.Pix {
				if got.Pix[j] != want.Pix[j] {
					n++
				}
			}
			t.Fatalf("case %d (%d×%d, s2d %v, sr %v): %d of %d bytes differ from draw.BiLinear", i, sw, sh, s2d, sr, n, len(got.Pix))
		}
	}
	if fast < 250 {
		t.Errorf("%d of 400 cases took the separable path, want ≥ 250", fast)
	}
}

// TestSeparableBiLinearInstalled: a PNG figure's canvas draws with
// separableBiLinear, and the golden grid (its maps drawn through Pixels)
// comes out with the same pixels as on a canvas with gg's own draw.BiLinear.
func TestSeparableBiLinearInstalled(t *testing.T) {
	g := goldenGrid()
	w, h, err := g.Size()
	if err != nil {
		t.Fatal(err)
	}
	plain := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(defaultDPI), vgimg.UseBackgroundColor(color.White))
	fast := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(defaultDPI), vgimg.UseBackgroundColor(color.White))
	if !useSeparableBiLinear(fast) {
		t.Fatal("vgimg.Canvas has no gg.Context field ctx: PNG figures draw their maps with the slow draw.BiLinear")
	}
	for _, c := range []*vgimg.Canvas{plain, fast} {
		if err := g.Draw(vgdraw.New(c)); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(plain.Image().(*image.RGBA).Pix, fast.Image().(*image.RGBA).Pix) {
		t.Error("the golden grid's pixels differ between draw.BiLinear and separableBiLinear")
	}
	cv, err := newCanvas("png", vg.Inch, vg.Inch, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := reflect.ValueOf(cv.(pngCanvas).Canvas).Elem().FieldByName("ctx").Elem()
	if interp := ctx.FieldByName("interp"); !interp.IsValid() || interp.IsNil() || interp.Elem().Type() != reflect.TypeFor[separableBiLinear]() {
		t.Error("newCanvas's PNG canvas does not draw with separableBiLinear")
	}
}
