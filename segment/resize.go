package segment

import "math"

// ResizeCubic resizes an HWC image to oh×ow as scikit-image 0.25's
// transform.resize(image, (oh, ow), order=3, mode='constant',
// preserve_range=True, anti_aliasing=True) does for a float32 image (PAIR's
// XRAI resizes its images so): when shrinking an axis the image is first
// smoothed by a Gaussian of (factor−1)/2 pixels with zero borders; then
// scipy.ndimage.zoom's cubic B-spline (grid_mode, mode grid-constant: the
// image padded by 12 zeros on every axis, the spline coefficients taken with
// mirror boundaries, pixel centres mapped onto pixel centres, samples outside
// the padded image 0); the result is clipped to the input's range and
// rounded to float32. Channels are interpolated at their own positions (the
// spline along the channel axis returns each channel's value).
func ResizeCubic(img []float32, h, w, c, oh, ow int) ([]float32, error) {
	if err := checkImage(img, h, w, c, 1, 3); err != nil {
		return nil, err
	}
	if oh <= 0 || ow <= 0 || oh > MaxPixels/ow {
		return nil, errorf("resize to %d×%d: want between 1 and %d pixels", oh, ow, MaxPixels)
	}
	x := float64s(img)
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	fy, fx := float64(h)/float64(oh), float64(w)/float64(ow)
	if oh < h || ow < w {
		// ndi.gaussian_filter(image, max(0, (factors−1)/2), mode='grid-constant')
		for axis, f := range []float64{fy, fx} {
			s := max(0, (f-1)/2)
			if s > 1e-15 {
				gaussianAxis(x, h, w, c, axis, gaussianKernel(s), true)
				// scipy stores each axis' result in the input's dtype.
				for i, v := range x {
					x[i] = float64(float32(v))
				}
			}
		}
	}
	// The image padded by 12 zeros on every axis (channels too) and turned
	// into spline coefficients axis by axis (spline_filter). Lines of zeros
	// stay zero, so the spatial axes are filtered on the real channels only,
	// and of each channel line only the positions the taps read are kept:
	// padded channels pad−1 … pad+c+1.
	const pad = 12
	dims := [3]int{h + 2*pad, w + 2*pad, c + 2*pad}
	sp := make([]float64, dims[0]*dims[1]*c)
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			for ch := 0; ch < c; ch++ {
				sp[((y+pad)*dims[1]+xx+pad)*c+ch] = x[(y*w+xx)*c+ch]
			}
		}
	}
	line := make([]float64, max(dims[0], dims[1], dims[2]))
	filter := func(base, n, st int) {
		l := line[:n]
		for i := range l {
			l[i] = sp[base+i*st]
		}
		splineFilter3(l)
		for i := range l {
			sp[base+i*st] = l[i]
		}
	}
	for xx := 0; xx < dims[1]; xx++ {
		for ch := 0; ch < c; ch++ {
			filter(xx*c+ch, dims[0], dims[1]*c)
		}
	}
	for y := 0; y < dims[0]; y++ {
		for ch := 0; ch < c; ch++ {
			filter(y*dims[1]*c+ch, dims[1], c)
		}
	}
	cs := c + 3
	coef := make([]float64, dims[0]*dims[1]*cs)
	cl := line[:dims[2]]
	for p := 0; p < dims[0]*dims[1]; p++ {
		clear(cl)
		copy(cl[pad:pad+c], sp[p*c:(p+1)*c])
		splineFilter3(cl)
		copy(coef[p*cs:(p+1)*cs], cl[pad-1:pad+c+2])
	}
	strides := [3]int{dims[1] * cs, cs, 1}
	// zoom_shift: per axis, the first of the 4 taps and their weights.
	type taps struct {
		start int
		w     [4]float64
	}
	axisTaps := func(nIn, nOut int, zoom float64) []taps {
		t := make([]taps, nOut)
		for k := range t {
			cc := (float64(k)+0.5)*zoom - 0.5 + pad
			t[k].start = int(math.Floor(cc)) - 1
			t[k].w = cubicWeights(cc)
		}
		return t
	}
	ty := axisTaps(h, oh, float64(h)/float64(oh))
	tx := axisTaps(w, ow, float64(w)/float64(ow))
	tc := axisTaps(c, c, 1)
	out := make([]float32, oh*ow*c)
	clipLo, clipHi := lo, hi
	// preserve_cval: cval 0 outside the input's range widens the clip range
	// when the output reaches it (skimage's _clip_warp_output).
	vals := make([]float64, len(out))
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			for ch := 0; ch < c; ch++ {
				a, b, d := ty[oy], tx[ox], tc[ch]
				t := 0.0
				for i := 0; i < 4; i++ {
					for j := 0; j < 4; j++ {
						for k := 0; k < 4; k++ {
							yi, xi, ci := a.start+i, b.start+j, d.start+k-(pad-1)
							v := 0.0
							if yi >= 0 && yi < dims[0] && xi >= 0 && xi < dims[1] {
								v = coef[yi*strides[0]+xi*strides[1]+ci]
							}
							t += v * a.w[i] * b.w[j] * d.w[k]
						}
					}
				}
				vals[(oy*ow+ox)*c+ch] = float64(float32(t))
			}
		}
	}
	if !(lo <= 0 && 0 <= hi) {
		omin, omax := vals[0], vals[0]
		for _, v := range vals {
			omin, omax = min(omin, v), max(omax, v)
		}
		if omin <= 0 && 0 <= omax {
			clipLo, clipHi = min(lo, 0), max(hi, 0)
		}
	}
	for i, v := range vals {
		out[i] = float32(min(max(v, clipLo), clipHi))
	}
	return out, nil
}

// cubicWeights are scipy's cubic B-spline interpolation weights at x for the
// taps ⌊x⌋−1 … ⌊x⌋+2 (get_spline_interpolation_weights, order 3).
func cubicWeights(x float64) [4]float64 {
	x -= math.Floor(x)
	y, z := x, 1-x
	var w [4]float64
	w[1] = (y*y*(y-2)*3 + 4) / 6
	w[2] = (z*z*(z-2)*3 + 4) / 6
	w[0] = z * z * z / 6
	w[3] = 1 - w[0] - w[1] - w[2]
	return w
}

// splineFilter3 turns samples into cubic B-spline coefficients in place,
// mirror boundaries (scipy's apply_filter with the pole √3−2).
func splineFilter3(c []float64) {
	n := len(c)
	if n == 1 {
		return
	}
	const z = -0.267949192431122706472553658494127633
	gain := (1 - z) * (1 - 1/z)
	for i := range c {
		c[i] *= gain
	}
	// causal init (mirror)
	zi := z
	zn1 := math.Pow(z, float64(n-1))
	c[0] = c[0] + zn1*c[n-1]
	for i := 1; i < n-1; i++ {
		c[0] += zi * (c[i] + zn1*c[n-1-i])
		zi *= z
	}
	c[0] /= 1 - zn1*zn1
	for i := 1; i < n; i++ {
		c[i] += z * c[i-1]
	}
	c[n-1] = (z*c[n-2] + c[n-1]) * z / (z*z - 1)
	for i := n - 2; i >= 0; i-- {
		c[i] = z * (c[i+1] - c[i])
	}
}

// ResizeNearest resizes labels to oh×ow as skimage.transform.resize(labels,
// (oh, ow), order=0, mode='constant', preserve_range=True,
// anti_aliasing=False) does (PAIR's XRAI maps its segments back to the
// image so): scipy's zoom with grid_mode samples output pixel k at
// (k+½)·in/out − ½ and order 0 takes the pixel ⌊· + ½⌋. Labels lost on the
// way stay counted in N (as skimage's label range does).
func ResizeNearest(l Labels, oh, ow int) (Labels, error) {
	if err := l.Validate(); err != nil {
		return Labels{}, err
	}
	if oh <= 0 || ow <= 0 || oh > MaxPixels/ow {
		return Labels{}, errorf("resize to %d×%d: want between 1 and %d pixels", oh, ow, MaxPixels)
	}
	idx := func(k, nIn, nOut int) int {
		cc := (float64(k)+0.5)*(float64(nIn)/float64(nOut)) - 0.5
		return int(math.Floor(cc + 0.5))
	}
	out := Labels{H: oh, W: ow, N: l.N, Label: make([]int32, oh*ow)}
	for y := 0; y < oh; y++ {
		yi := idx(y, l.H, oh)
		for x := 0; x < ow; x++ {
			xi := idx(x, l.W, ow)
			if yi < 0 || yi >= l.H || xi < 0 || xi >= l.W {
				out.Label[y*ow+x] = 0 // cval
				continue
			}
			out.Label[y*ow+x] = l.Label[yi*l.W+xi]
		}
	}
	return out, nil
}
