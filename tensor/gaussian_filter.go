package tensor

import (
	"fmt"
	"math"
)

// FilterMode is how GaussianFilter extends an image beyond its border, as
// scipy.ndimage names it.
type FilterMode string

// The border modes of GaussianFilter.
const (
	// FilterConstant takes 0 beyond the border (scipy's mode="constant"
	// with cval 0; PAIR saliency 0.2.1's Blur IG).
	FilterConstant FilterMode = "constant"
	// FilterReflect mirrors the image about its edge, the edge pixel
	// repeated (d c b a | a b c d | d c b a; scipy's default "reflect").
	FilterReflect FilterMode = "reflect"
	// FilterNearest repeats the edge pixel (GaussianBlur's border).
	FilterNearest FilterMode = "nearest"
)

// FilterModes lists the modes GaussianFilter knows.
var FilterModes = []FilterMode{FilterConstant, FilterReflect, FilterNearest}

// GaussianKernelTruncated returns scipy.ndimage's 1-D Gaussian weights for
// sigma and truncate: radius r = int(truncate·σ + 0.5), weights
// exp(−j²/2σ²), j = −r…r, normalised to sum 1.
func GaussianKernelTruncated(sigma, truncate float64) []float64 {
	r := int(truncate*sigma + 0.5)
	k := make([]float64, 2*r+1)
	var s float64
	for j := -r; j <= r; j++ {
		k[j+r] = math.Exp(-0.5 / (sigma * sigma) * float64(j*j))
		s += k[j+r]
	}
	for i := range k {
		k[i] /= s
	}
	return k
}

// GaussianFilter blurs each image of [N,H,W,C] as
// scipy.ndimage.gaussian_filter(image, sigma=[σ, σ, 0], mode, truncate)
// does for an [H,W,C] float32 image: each channel on its own, along H and
// then along W, each pass summed in float64 and stored in float32 (scipy
// keeps the input's type between passes). A sigma ≤ 1e-15 returns a copy,
// as scipy skips such an axis. Modes: FilterConstant, FilterReflect,
// FilterNearest.
func GaussianFilter(t *Tensor, sigma, truncate float64, mode FilterMode) (*Tensor, error) {
	if len(t.Shape) != 4 {
		return nil, fmt.Errorf("tensor: gaussian filter of shape %v, want [N,H,W,C]", t.Shape)
	}
	switch mode {
	case FilterConstant, FilterReflect, FilterNearest:
	default:
		return nil, fmt.Errorf("tensor: unknown filter mode %q; modes: %v", mode, FilterModes)
	}
	out := t.Clone()
	if !(sigma > 1e-15) {
		return out, nil
	}
	k := GaussianKernelTruncated(sigma, truncate)
	n, h, w, c := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	per := h * w * c
	line := make([]float64, max(h, w)+2*(len(k)/2))
	acc := make([]float64, max(h, w))
	for i := 0; i < n; i++ {
		img := out.Data[i*per : (i+1)*per]
		for ch := 0; ch < c; ch++ {
			for x := 0; x < w; x++ { // along H
				filterLine(img, ch+x*c, w*c, h, k, mode, line, acc)
			}
			for y := 0; y < h; y++ { // along W
				filterLine(img, ch+y*w*c, c, w, k, mode, line, acc)
			}
		}
	}
	return out, nil
}

// filterLine correlates the n values img[off], img[off+stride], … with the
// symmetric kernel k in place, as scipy's correlate1d does for a symmetric
// kernel: x_i·k_0 + Σ_j (x_{i−j} + x_{i+j})·k_j in float64, j from the
// radius down to 1. line (at least n + 2·radius long) holds the values
// with the border's on both sides, so that the taps read a slice; acc (at
// least n long) the sums.
func filterLine(img []float32, off, stride, n int, k []float64, mode FilterMode, line, acc []float64) {
	r := len(k) / 2
	p := r // values of the border on each side
	if mode == FilterConstant {
		// Terms with both ends beyond the border add exactly 0: no tap
		// reaches further than n−1 from the pixel it sums for.
		p = min(r, n-1)
	}
	line = line[:n+2*p]
	for i := 0; i < n; i++ {
		line[p+i] = float64(img[off+i*stride])
	}
	for j := 1; j <= p; j++ {
		line[p-j] = border(line[p:p+n], -j, mode)
		line[p+n-1+j] = border(line[p:p+n], n-1+j, mode)
	}
	// Tap by tap, from the radius down, over every pixel the tap reaches:
	// each pixel's terms add in scipy's order, and the pixels' sums are
	// independent chains.
	acc = acc[:n]
	for i := range acc {
		acc[i] = line[p+i] * k[r]
	}
	for j := p; j >= 1; j-- {
		kj := k[r+j]
		lo, hi := line[p-j:p-j+n], line[p+j:p+j+n]
		end, from := n, n
		if mode == FilterConstant && n-j < j {
			// Pixels n−j … j−1 have both ends of tap j beyond the border.
			end, from = n-j, j
		}
		addTap(acc[:end], lo[:end], hi[:end], kj)
		addTap(acc[from:], lo[from:n], hi[from:n], kj)
	}
	for i, v := range acc {
		img[off+i*stride] = float32(v)
	}
}

// addTap adds (lo[i] + hi[i])·k to acc[i] (the three of one length).
func addTap(acc, lo, hi []float64, k float64) {
	lo, hi = lo[:len(acc)], hi[:len(acc)]
	for i := range acc {
		acc[i] += (lo[i] + hi[i]) * k
	}
}

// border is the value at i (outside [0, n)) of the n values v under mode.
func border(v []float64, i int, mode FilterMode) float64 {
	n := len(v)
	switch mode {
	case FilterConstant:
		return 0
	case FilterNearest:
		return v[min(max(i, 0), n-1)]
	}
	// reflect: period 2n, the second half mirrored.
	p := 2 * n
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - 1 - i
	}
	return v[i]
}
