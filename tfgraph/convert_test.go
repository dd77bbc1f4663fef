package tfgraph

import (
	"math"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	tf "github.com/wamuir/graft/tensorflow"
)

// Every float16 value converts to float32 and back to itself, and a value
// half-way between two neighbours rounds to the one with an even last bit
// (IEEE 754 round-to-nearest-even, what TensorFlow's Cast does).
func TestHalfConversion(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN
		}
		f := halfToFloat32(uint16(h))
		if got := float32ToHalf(f); got != uint16(h) {
			t.Fatalf("half %#04x → %g → %#04x", h, f, got)
		}
		// The midpoint to the next larger magnitude (finite, same sign).
		if h&0x7fff >= 0x7bff {
			continue
		}
		g := halfToFloat32(uint16(h + 1))
		mid := float32((float64(f) + float64(g)) / 2)
		want := uint16(h)
		if h&1 == 1 {
			want = uint16(h + 1)
		}
		if got := float32ToHalf(mid); got != want {
			t.Fatalf("midpoint %g of %#04x and %#04x → %#04x, want %#04x", mid, h, h+1, got, want)
		}
	}
	for _, c := range []struct {
		f    float32
		want uint16
	}{{65504, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00}, {-1e9, 0xfc00}, {float32(math.Ldexp(1, -25)), 0}, {float32(math.Ldexp(1.5, -25)), 1}, {float32(math.Inf(1)), 0x7c00}} {
		if got := float32ToHalf(c.f); got != c.want {
			t.Errorf("float32ToHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if got := float32ToHalf(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("NaN → %#04x", got)
	}
}

func TestBfloat16Conversion(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want uint16
	}{{1, 0x3f80}, {-2, 0xc000}, {math.Float32frombits(0x3f808000), 0x3f80}, {math.Float32frombits(0x3f818000), 0x3f82}, {math.Float32frombits(0x3f808001), 0x3f81}, {float32(math.Inf(-1)), 0xff80}} {
		if got := float32ToBfloat16(c.f); got != c.want {
			t.Errorf("float32ToBfloat16(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if got := float32ToBfloat16(float32(math.NaN())); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
		t.Errorf("NaN → %#04x", got)
	}
}

// An integer input takes whole numbers in its range only; float16 and
// bfloat16 tensors are made through a bitcast that TensorFlow reads back.
func TestToTFAs(t *testing.T) {
	x := &tensor.Tensor{Shape: []int{1, 3}, Data: []float32{0, 17, 255}}
	u, err := toTFAs(x, tf.Uint8)
	if err != nil {
		t.Fatal(err)
	}
	if v := u.Value().([][]uint8); v[0][2] != 255 || v[0][1] != 17 {
		t.Errorf("uint8 %v", v)
	}
	release(u)
	for _, bad := range []float32{-1, 256, 2.5} {
		if _, err := toTFAs(&tensor.Tensor{Shape: []int{1}, Data: []float32{bad}}, tf.Uint8); err == nil {
			t.Errorf("%g fed as uint8 without an error", bad)
		}
	}
	for _, dt := range []tf.DataType{tf.Half, tf.Bfloat16, tf.Double} {
		y := &tensor.Tensor{Shape: []int{2, 2}, Data: []float32{1, -0.5, 3.25, 1e-3}}
		h, err := toTFAs(y, dt)
		if err != nil {
			t.Fatal(err)
		}
		if h.DataType() != dt {
			t.Errorf("dtype %v, want %v", h.DataType(), dt)
		}
		back, err := fromTFFloat(h)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range back.Data {
			if d := math.Abs(float64(v - y.Data[i])); d > 4e-3*math.Abs(float64(y.Data[i])) {
				t.Errorf("%s: %g came back as %g", tfDTypeName(dt), y.Data[i], v)
			}
		}
		release(h)
	}
}
