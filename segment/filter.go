package segment

import (
	"math"

	"github.com/saliencykit/saliency/tensor"
)

// gaussianKernel is scipy.ndimage's Gaussian of standard deviation sigma
// truncated at 4 σ: radius ⌊4σ + 0.5⌋, weights exp((−0.5/σ²)·x²) divided by
// their (numpy pairwise) sum.
func gaussianKernel(sigma float64) []float64 {
	r := int(4*sigma + 0.5)
	k := make([]float64, 2*r+1)
	c := -0.5 / (sigma * sigma)
	for i := range k {
		x := float64(i - r)
		k[i] = math.Exp(c * (x * x))
	}
	s := tensor.PairwiseSum(k)
	for i := range k {
		k[i] /= s
	}
	return k
}

// reflect maps index i into 0..n-1 as scipy.ndimage's mode "reflect"
// (d c b a | a b c d | d c b a), period 2n.
func reflect(i, n int) int {
	p := 2 * n
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - 1 - i
	}
	return i
}

// gaussianSpatial smooths the HWC image x in place with a Gaussian of sigma
// pixels along y and then x, channels apart, borders reflected: skimage's
// gaussian(image, sigma=[σ, σ, 0], mode='reflect'), that is
// scipy.ndimage.gaussian_filter (axes below 1e-15 are skipped as scipy does).
func gaussianSpatial(x []float64, h, w, c int, sigma float64) {
	if sigma <= 1e-15 {
		return
	}
	k := gaussianKernel(sigma)
	gaussianAxis(x, h, w, c, 0, k, false)
	gaussianAxis(x, h, w, c, 1, k, false)
}

// gaussianAxis correlates the HWC image x in place with the symmetric kernel
// k along axis 0 (y) or 1 (x), borders reflected or (zero) zero, as
// scipy.ndimage.correlate1d sums.
func gaussianAxis(x []float64, h, w, c, axis int, k []float64, zero bool) {
	r := len(k) / 2
	line := make([]float64, max(h, w)+2*r)
	out := make([]float64, max(h, w))
	run := func(base, n, step int) {
		for i := -r; i < n+r; i++ {
			switch {
			case i >= 0 && i < n:
				line[i+r] = x[base+i*step]
			case zero:
				line[i+r] = 0
			default:
				line[i+r] = x[base+reflect(i, n)*step]
			}
		}
		for i := 0; i < n; i++ {
			// scipy's NI_Correlate1D for a symmetric kernel: the centre,
			// then the pairs from the outermost in.
			s := line[i+r] * k[r]
			for j := r; j >= 1; j-- {
				s += (line[i+r-j] + line[i+r+j]) * k[r-j]
			}
			out[i] = s
		}
		for i := 0; i < n; i++ {
			x[base+i*step] = out[i]
		}
	}
	if axis == 0 {
		for xx := 0; xx < w; xx++ {
			for ch := 0; ch < c; ch++ {
				run(xx*c+ch, h, w*c)
			}
		}
		return
	}
	for y := 0; y < h; y++ {
		for ch := 0; ch < c; ch++ {
			run(y*w*c+ch, w, c)
		}
	}
}

// rgbToLab converts an HWC RGB image in place to CIE L*a*b* as skimage's
// rgb2lab (sRGB companding, its xyz_from_rgb matrix, illuminant D65 and the
// 2° observer, the 0.008856 knee).
func rgbToLab(x []float64) {
	m := [3][3]float64{
		{0.412453, 0.357580, 0.180423},
		{0.212671, 0.715160, 0.072169},
		{0.019334, 0.119193, 0.950227},
	}
	white := [3]float64{0.95047, 1.0, 1.08883}
	for p := 0; p+2 < len(x); p += 3 {
		var rgb, xyz [3]float64
		for i := range 3 {
			v := x[p+i]
			if v > 0.04045 {
				v = math.Pow((v+0.055)/1.055, 2.4)
			} else {
				v /= 12.92
			}
			rgb[i] = v
		}
		for i := range 3 {
			xyz[i] = (rgb[0]*m[i][0] + rgb[1]*m[i][1] + rgb[2]*m[i][2]) / white[i]
			if xyz[i] > 0.008856 {
				xyz[i] = math.Cbrt(xyz[i])
			} else {
				xyz[i] = 7.787*xyz[i] + 16.0/116.0
			}
		}
		x[p] = 116*xyz[1] - 16
		x[p+1] = 500 * (xyz[0] - xyz[1])
		x[p+2] = 200 * (xyz[1] - xyz[2])
	}
}
