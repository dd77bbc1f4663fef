package images

import "image"

// webpRGB converts the planes of a lossy WebP (VP8: 4:2:0 Y′CbCr of ITU-R
// BT.601 in limited range, Y′ in [16, 235]) to colour as libwebp does, the
// decoder behind PIL and the browsers. golang.org/x/image/webp returns the
// planes as an image.YCbCr, whose colour model is JPEG's full-range one: its
// colours come out with black lifted to 16 and white lowered to 235, up to
// 20 levels off (golang.org/issue/40173). libwebp's default output
// interpolates the chroma ("fancy upsampling") with weights 9, 3, 3, 1 in
// integers; this is its UpsampleRgbaLinePair and VP8YuvToRgb (src/dsp/
// upsampling.c, yuv.h) line by line, so the bytes equal PIL's. img is the
// decoder's *image.YCbCr or, with an alpha plane, *image.NYCbCrA (any other
// image is returned as it is); the result stores straight colour.
func webpRGB(img image.Image) image.Image {
	var m *image.YCbCr
	var alpha *image.NYCbCrA
	switch t := img.(type) {
	case *image.YCbCr:
		m = t
	case *image.NYCbCrA:
		m, alpha = &t.YCbCr, t
	default:
		return img
	}
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return img
	}
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	yRow := func(r int) []byte {
		o := m.YOffset(b.Min.X, b.Min.Y+r)
		return m.Y[o : o+w]
	}
	cw := (w + 1) / 2
	cRows := (h + 1) / 2
	cRow := func(k int) ([]byte, []byte) {
		o := m.COffset(b.Min.X, b.Min.Y+2*k)
		return m.Cb[o : o+cw], m.Cr[o : o+cw]
	}
	dst := func(r int) []byte { return out.Pix[r*out.Stride : r*out.Stride+4*w] }
	// Row 0 mirrors the chroma at the boundary; then rows pair up: rows
	// 2k-1 and 2k interpolate chroma rows k-1 and k; the last row of an
	// even height mirrors the last chroma row.
	u0, v0 := cRow(0)
	upsamplePair(yRow(0), nil, u0, v0, u0, v0, dst(0), nil, w)
	for k := 1; 2*k-1 < h; k++ {
		tu, tv := cRow(k - 1)
		if 2*k < h {
			cu, cv := cRow(min(k, cRows-1))
			upsamplePair(yRow(2*k-1), yRow(2*k), tu, tv, cu, cv, dst(2*k-1), dst(2*k), w)
		} else {
			upsamplePair(yRow(2*k-1), nil, tu, tv, tu, tv, dst(2*k-1), nil, w)
		}
	}
	for r := 0; r < h; r++ {
		d := dst(r)
		for x := 0; x < w; x++ {
			a := byte(0xff)
			if alpha != nil {
				a = alpha.A[alpha.AOffset(b.Min.X+x, b.Min.Y+r)]
			}
			d[4*x+3] = a
		}
	}
	return out
}

// upsamplePair is libwebp's UpsampleRgbaLinePair: the colours of a top and
// (when bottomY is not nil) a bottom row from their luma and the chroma rows
// above (tu, tv) and below (cu, cv) them, u and v each in their own 16-bit
// lane there, here in their own variables.
func upsamplePair(topY, bottomY, tu, tv, cu, cv, topDst, bottomDst []byte, n int) {
	last := (n - 1) >> 1
	tlU, tlV := int(tu[0]), int(tv[0])
	lU, lV := int(cu[0]), int(cv[0])
	yuvToRGB(topY[0], (3*tlU+lU+2)>>2, (3*tlV+lV+2)>>2, topDst[0:])
	if bottomY != nil {
		yuvToRGB(bottomY[0], (3*lU+tlU+2)>>2, (3*lV+tlV+2)>>2, bottomDst[0:])
	}
	for x := 1; x <= last; x++ {
		tU, tV := int(tu[x]), int(tv[x])
		uU, uV := int(cu[x]), int(cv[x])
		avgU, avgV := tlU+tU+lU+uU+8, tlV+tV+lV+uV+8
		d12U, d12V := (avgU+2*(tU+lU))>>3, (avgV+2*(tV+lV))>>3
		d03U, d03V := (avgU+2*(tlU+uU))>>3, (avgV+2*(tlV+uV))>>3
		yuvToRGB(topY[2*x-1], (d12U+tlU)>>1, (d12V+tlV)>>1, topDst[4*(2*x-1):])
		yuvToRGB(topY[2*x], (d03U+tU)>>1, (d03V+tV)>>1, topDst[4*(2*x):])
		if bottomY != nil {
			yuvToRGB(bottomY[2*x-1], (d03U+lU)>>1, (d03V+lV)>>1, bottomDst[4*(2*x-1):])
			yuvToRGB(bottomY[2*x], (d12U+uU)>>1, (d12V+uV)>>1, bottomDst[4*(2*x):])
		}
		tlU, tlV, lU, lV = tU, tV, uU, uV
	}
	if n&1 == 0 {
		yuvToRGB(topY[n-1], (3*tlU+lU+2)>>2, (3*tlV+lV+2)>>2, topDst[4*(n-1):])
		if bottomY != nil {
			yuvToRGB(bottomY[n-1], (3*lU+tlU+2)>>2, (3*lV+tlV+2)>>2, bottomDst[4*(n-1):])
		}
	}
}

// yuvToRGB is libwebp's VP8YuvToRgb: BT.601 limited range in 14-bit fixed
// point, written to the first three bytes of rgb.
func yuvToRGB(y byte, u, v int, rgb []byte) {
	mulHi := func(v, c int) int { return (v * c) >> 8 }
	clip := func(v int) byte {
		const mask = (256 << 6) - 1
		switch {
		case v&^mask == 0:
			return byte(v >> 6)
		case v < 0:
			return 0
		}
		return 255
	}
	yy := int(y)
	rgb[0] = clip(mulHi(yy, 19077) + mulHi(v, 26149) - 14234)
	rgb[1] = clip(mulHi(yy, 19077) - mulHi(u, 6419) - mulHi(v, 13320) + 8708)
	rgb[2] = clip(mulHi(yy, 19077) + mulHi(u, 33050) - 17685)
}
