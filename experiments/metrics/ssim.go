package metrics

import (
	"fmt"
	"math"
)

// SSIM options of scikit-image's structural_similarity (its defaults).
const (
	ssimWindow = 7
	ssimK1     = 0.01
	ssimK2     = 0.03
)

// SSIM is the mean structural similarity of two h×w maps (Wang et al.
// 2004) as skimage.metrics.structural_similarity computes it by default:
// local means, variances and covariance over a 7×7 uniform window with the
// sample covariance (normalised by 48), C1 = (0.01·R)², C2 = (0.03·R)² for
// the data range R, averaged over the pixels whose window lies inside the
// image (a 3-pixel border is left out). R must be positive: the range the
// maps are on (1 for maps normalised to [0,1]).
func SSIM(a, b []float32, h, w int, dataRange float64) (float64, error) {
	if err := checkSSIM(a, b, h, w, dataRange); err != nil {
		return 0, err
	}
	var sum float64
	n := 0
	ssimLocal(to64(a), to64(b), h, w, dataRange, func(_ int, s float64) {
		sum += s
		n++
	})
	return sum / float64(n), nil
}

func checkSSIM(a, b []float32, h, w int, dataRange float64) error {
	if len(a) != h*w || len(b) != h*w {
		return fmt.Errorf("metrics: SSIM of maps of %d and %d values as %d×%d", len(a), len(b), h, w)
	}
	if h < ssimWindow || w < ssimWindow {
		return fmt.Errorf("metrics: SSIM needs maps of at least %d×%d, not %d×%d", ssimWindow, ssimWindow, h, w)
	}
	if !(dataRange > 0) || math.IsInf(dataRange, 0) {
		return fmt.Errorf("metrics: SSIM data range %g must be positive", dataRange)
	}
	return nil
}

// ssimLocal calls visit with the row-major index of each pixel whose 7×7
// window lies inside the image and the local SSIM there, in row-major
// order (skimage's full SSIM image, cropped by 3 pixels on each side).
func ssimLocal(x, y []float64, h, w int, dataRange float64, visit func(p int, s float64)) {
	ssimLocalWith(ssimSumsOf(x, h, w), x, y, h, w, dataRange, visit)
}

// ssimSums are the sums of x and of x² over the 7×7 window of each pixel
// whose window lies inside the image, in row-major order: the part of the
// local SSIM that depends on x alone, for a map compared with many.
type ssimSums struct{ sx, sxx []float64 }

func ssimSumsOf(x []float64, h, w int) ssimSums {
	pad := (ssimWindow - 1) / 2
	n := max(0, h-2*pad) * max(0, w-2*pad)
	out := ssimSums{sx: make([]float64, 0, n), sxx: make([]float64, 0, n)}
	for i := pad; i < h-pad; i++ {
		for j := pad; j < w-pad; j++ {
			var sx, sxx float64
			for di := -pad; di <= pad; di++ {
				row := (i + di) * w
				for dj := -pad; dj <= pad; dj++ {
					u := x[row+j+dj]
					sx += u
					sxx += u * u
				}
			}
			out.sx, out.sxx = append(out.sx, sx), append(out.sxx, sxx)
		}
	}
	return out
}

// ssimLocalWith is ssimLocal with the sums of x made (ssimSumsOf).
func ssimLocalWith(xs ssimSums, x, y []float64, h, w int, dataRange float64, visit func(p int, s float64)) {
	c1 := (ssimK1 * dataRange) * (ssimK1 * dataRange)
	c2 := (ssimK2 * dataRange) * (ssimK2 * dataRange)
	np := float64(ssimWindow * ssimWindow)
	cov := np / (np - 1)
	pad := (ssimWindow - 1) / 2
	k := 0
	for i := pad; i < h-pad; i++ {
		for j := pad; j < w-pad; j++ {
			var sy, syy, sxy float64
			for di := -pad; di <= pad; di++ {
				row := (i + di) * w
				for dj := -pad; dj <= pad; dj++ {
					u, v := x[row+j+dj], y[row+j+dj]
					sy += v
					syy += v * v
					sxy += u * v
				}
			}
			sx, sxx := xs.sx[k], xs.sxx[k]
			k++
			ux, uy := sx/np, sy/np
			vx := cov * (sxx/np - ux*ux)
			vy := cov * (syy/np - uy*uy)
			vxy := cov * (sxy/np - ux*uy)
			s := ((2*ux*uy + c1) * (2*vxy + c2)) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
			visit(i*w+j, s)
		}
	}
}
