package methods

import (
	"math"
	"math/rand/v2"
)

// warp is a similarity transform of H×W images (a shift, a scaling and a
// rotation about the image centre), resampled bilinearly with periodic
// boundaries: the image is a tile of the plane, as the Fourier
// parameterization makes it and as jitter's cyclic shift treats it. It is
// linear, out[q] = Σ_k wt[q][k]·in[src[q][k]], so its adjoint, which
// carries the gradient at the transformed image back to the image, is
// exact: in[src[q][k]] += wt[q][k]·out[q].
type warp struct {
	h, w int
	src  [][4]int32
	wt   [][4]float64
}

// newWarp is the transform that moves the content at p to
// q = c + s·R(angle)·(p − c) + (dy, dx), c the centre of the image, angle
// in degrees (counter-clockwise as the image is shown). An integer shift
// alone copies pixels exactly (roll).
func newWarp(h, w int, dy, dx, s, angle float64) *warp {
	t := &warp{h: h, w: w, src: make([][4]int32, h*w), wt: make([][4]float64, h*w)}
	cy, cx := float64(h-1)/2, float64(w-1)/2
	sin, cos := math.Sincos(angle * math.Pi / 180)
	if angle == 0 {
		sin, cos = 0, 1
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// The source p = c + R(−angle)·(q − c − d)/s; rows grow
			// downwards, so a counter-clockwise turn on screen is
			// clockwise in (y, x).
			ry, rx := float64(y)-cy-dy, float64(x)-cx-dx
			py := cy + (cos*ry-sin*rx)/s
			px := cx + (sin*ry+cos*rx)/s
			y0, x0 := math.Floor(py), math.Floor(px)
			fy, fx := py-y0, px-x0
			iy0, ix0 := mod(int(y0), h), mod(int(x0), w)
			iy1, ix1 := mod(int(y0)+1, h), mod(int(x0)+1, w)
			q := y*w + x
			t.src[q] = [4]int32{int32(iy0*w + ix0), int32(iy0*w + ix1), int32(iy1*w + ix0), int32(iy1*w + ix1)}
			t.wt[q] = [4]float64{(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx}
		}
	}
	return t
}

func mod(a, n int) int { return ((a % n) + n) % n }

// apply writes the transformed image [H,W,C] of in into out.
func (t *warp) apply(out, in []float64, c int) {
	for q := range t.src {
		for ch := 0; ch < c; ch++ {
			var s float64
			for k := 0; k < 4; k++ {
				if w := t.wt[q][k]; w != 0 {
					s += w * in[int(t.src[q][k])*c+ch]
				}
			}
			out[q*c+ch] = s
		}
	}
}

// adjoint writes Tᵀ g into out.
func (t *warp) adjoint(out, g []float64, c int) {
	clear(out)
	for q := range t.src {
		for ch := 0; ch < c; ch++ {
			v := g[q*c+ch]
			for k := 0; k < 4; k++ {
				if w := t.wt[q][k]; w != 0 {
					out[int(t.src[q][k])*c+ch] += w * v
				}
			}
		}
	}
}

// transforms are the random transformations of each step (transformation
// robustness, Olah et al. 2017): an integer shift of up to Jitter pixels
// along each axis, a scale factor drawn from [Scale[0], Scale[1]], a
// rotation drawn from [−Rotate, Rotate] degrees.
type transforms struct {
	jitter   int
	scale    []float64
	rotate   float64
	identity bool
}

// draw draws one step's transform for an H×W image from r (nil when the
// step's image is left as it is). The draws are made in a fixed order and
// only for the transformations asked for, so that adding none changes
// nothing.
func (tr transforms) draw(r *rand.Rand, h, w int) *warp {
	if tr.identity {
		return nil
	}
	dy, dx, s, a := 0, 0, 1.0, 0.0
	if tr.jitter > 0 {
		dy, dx = r.IntN(2*tr.jitter+1)-tr.jitter, r.IntN(2*tr.jitter+1)-tr.jitter
	}
	if len(tr.scale) == 2 {
		s = tr.scale[0] + (tr.scale[1]-tr.scale[0])*r.Float64()
	}
	if tr.rotate > 0 {
		a = (2*r.Float64() - 1) * tr.rotate
	}
	if dy == 0 && dx == 0 && s == 1 && a == 0 {
		return nil
	}
	return newWarp(h, w, float64(dy), float64(dx), s, a)
}
