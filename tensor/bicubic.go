package tensor

import "math"

// bicubicTable is the number of steps of the cubic kernel's table per pixel,
// as TensorFlow's (kTableSize).
const bicubicTable = 1024

// ResizeBicubic resamples one [h,w,c] image src into dst [oh,ow,c] with
// Keys' cubic convolution (a = −½) and half-pixel centres:
// tf.image.resize(method="bicubic", antialias=False). As TensorFlow does, the
// fractional offset is rounded to 1/1024 of a pixel (its table of kernel
// weights) and taps outside the image get weight 0, the others renormalised
// to sum to 1.
func ResizeBicubic(src []float32, h, w, c int, dst []float32, oh, ow int) {
	ys := cubicTaps(h, oh)
	xs := cubicTaps(w, ow)
	for y := 0; y < oh; y++ {
		ty := ys[y]
		for x := 0; x < ow; x++ {
			tx := xs[x]
			for k := 0; k < c; k++ {
				var v float32
				for i := 0; i < 4; i++ {
					var row float32
					for j := 0; j < 4; j++ {
						row += tx.w[j] * src[(ty.i[i]*w+tx.i[j])*c+k]
					}
					v += ty.w[i] * row
				}
				dst[(y*ow+x)*c+k] = v
			}
		}
	}
}

// cubicTap is the four source indices of an output position and their
// weights.
type cubicTap struct {
	i [4]int
	w [4]float32
}

// cubicTaps are the taps of each of the out positions along a side of n.
func cubicTaps(n, out int) []cubicTap {
	const a = -0.5
	coeff := func(x float32) float32 { // |x| ≤ 1
		return ((a+2)*x-(a+3))*x*x + 1
	}
	coeff2 := func(x float32) float32 { // 1 ≤ |x| ≤ 2
		return ((a*x-5*a)*x+8*a)*x - 4*a
	}
	scale := float32(n) / float32(out)
	taps := make([]cubicTap, out)
	for o := range taps {
		f := (float32(o)+0.5)*scale - 0.5
		in := int(math.Floor(float64(f)))
		off := int(math.RoundToEven(float64((f - float32(in)) * bicubicTable)))
		d := float32(off) / bicubicTable
		e := float32(bicubicTable-off) / bicubicTable
		ws := [4]float32{coeff2(d + 1), coeff(d), coeff(e), coeff2(e + 1)}
		var t cubicTap
		var sum float32
		for j := 0; j < 4; j++ {
			p := in - 1 + j
			t.i[j] = min(max(p, 0), n-1)
			if t.i[j] == p {
				t.w[j] = ws[j]
			}
			sum += t.w[j]
		}
		if math.Abs(float64(sum)) >= 1000*math.SmallestNonzeroFloat32 {
			for j := range t.w {
				t.w[j] /= sum
			}
		}
		taps[o] = t
	}
	return taps
}
