package tensor

import "math"

// GaussianKernel returns the normalised 1-D Gaussian weights exp(−j²/2σ²),
// j = −r…r with r = ceil(3σ).
func GaussianKernel(sigma float64) []float32 {
	k := GaussianKernel64(sigma)
	out := make([]float32, len(k))
	for i, v := range k {
		out[i] = float32(v)
	}
	return out
}

// GaussianKernel64 is GaussianKernel in float64.
func GaussianKernel64(sigma float64) []float64 {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var s float64
	for j := -r; j <= r; j++ {
		k[j+r] = math.Exp(-float64(j*j) / (2 * sigma * sigma))
		s += k[j+r]
	}
	for i := range k {
		k[i] /= s
	}
	return k
}

// GaussianBlur blurs each image of [N,H,W,C] with a separable Gaussian of
// standard deviation sigma pixels (GaussianKernel), along H and then W, each
// channel on its own, with edge pixels replicated beyond the border. A
// sigma ≤ 0 returns a copy.
func GaussianBlur(t *Tensor, sigma float64) *Tensor {
	out := t.Clone()
	if sigma <= 0 || len(t.Shape) != 4 {
		return out
	}
	k := GaussianKernel(sigma)
	n, h, w, c := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	tmp := make([]float32, h*w*c)
	for i := 0; i < n; i++ {
		BlurImage(out.Data[i*h*w*c:(i+1)*h*w*c], h, w, c, k, tmp)
	}
	return out
}

// BlurImage blurs one image img [h,w,c] in place with the 1-D kernel k
// (odd length, centred), along H and then W, each channel on its own, edge
// pixels replicated beyond the border; tmp holds h·w·c values (nil: made
// here). GaussianBlur uses it in float32, feature visualization's pixel
// parameters in float64.
func BlurImage[T float32 | float64](img []T, h, w, c int, k, tmp []T) {
	if tmp == nil {
		tmp = make([]T, h*w*c)
	}
	r := len(k) / 2
	// Along H into tmp.
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				var s T
				for j := -r; j <= r; j++ {
					yy := min(max(y+j, 0), h-1)
					s += k[j+r] * img[(yy*w+x)*c+ch]
				}
				tmp[(y*w+x)*c+ch] = s
			}
		}
	}
	// Along W back into img.
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				var s T
				for j := -r; j <= r; j++ {
					xx := min(max(x+j, 0), w-1)
					s += k[j+r] * tmp[(y*w+xx)*c+ch]
				}
				img[(y*w+x)*c+ch] = s
			}
		}
	}
}
