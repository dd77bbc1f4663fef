package tensor

import (
	"math"
	"testing"
)

// Keys' cubic convolution keeps a constant image constant (the weights sum
// to 1 at the borders too), copies an image resized to its own size, and
// reproduces a linear ramp away from the borders (a = −½ reproduces
// polynomials up to degree 2). TensorFlow's own bicubic resize is compared
// through Sobol attribution's parity with Xplique (methods).
func TestResizeBicubic(t *testing.T) {
	const h, w, oh, ow = 5, 6, 17, 23
	src := make([]float32, h*w)
	for i := range src {
		src[i] = 0.75
	}
	dst := make([]float32, oh*ow)
	ResizeBicubic(src, h, w, 1, dst, oh, ow)
	for i, v := range dst {
		if math.Abs(float64(v)-0.75) > 1e-6 {
			t.Fatalf("constant image: pixel %d is %g", i, v)
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			src[y*w+x] = float32(3*x - 2*y)
		}
	}
	same := make([]float32, h*w)
	ResizeBicubic(src, h, w, 1, same, h, w)
	for i := range same {
		if same[i] != src[i] {
			t.Fatalf("resize to the same size: pixel %d is %g, not %g", i, same[i], src[i])
		}
	}
	// 4× upsampling: output (y, x) samples the input at ((y + ½)/4 − ½, …);
	// where all four taps fall inside, a linear ramp is reproduced to the
	// table's 1/1024 of a pixel.
	const f = 4
	up := make([]float32, h*f*w*f)
	ResizeBicubic(src, h, w, 1, up, h*f, w*f)
	for y := 0; y < h*f; y++ {
		sy := (float64(y)+0.5)/f - 0.5
		for x := 0; x < w*f; x++ {
			sx := (float64(x)+0.5)/f - 0.5
			if sy < 1 || sy > h-2 || sx < 1 || sx > w-2 {
				continue
			}
			want := 3*sx - 2*sy
			if got := float64(up[y*w*f+x]); math.Abs(got-want) > 5e-3 {
				t.Errorf("ramp at (%d,%d): %g, want %g", y, x, got, want)
			}
		}
	}
}
