package metrics

import (
	"fmt"
	"math"
)

// HOGOptions are the parameters of HOG; zero values take scikit-image's
// defaults (9 orientations, 8×8-pixel cells, 3×3-cell blocks).
type HOGOptions struct {
	Orientations int
	Cell         int // pixels per cell, in both directions
	Block        int // cells per block, in both directions
}

func (o HOGOptions) withDefaults() HOGOptions {
	if o.Orientations == 0 {
		o.Orientations = 9
	}
	if o.Cell == 0 {
		o.Cell = 8
	}
	if o.Block == 0 {
		o.Block = 3
	}
	return o
}

// HOG is the histogram of oriented gradients of an h×w map as
// skimage.feature.hog computes it with L2-Hys block normalisation and no
// square-root transform: central differences (zero on the border rows and
// columns), orientations in [0°,180°) binned without interpolation, each
// cell's magnitudes summed in float32 as scikit-image's Cython does, and the
// blocks of cells, normalised, concatenated in row-major order.
func HOG(m []float32, h, w int, o HOGOptions) ([]float64, error) {
	o = o.withDefaults()
	if len(m) != h*w {
		return nil, fmt.Errorf("metrics: HOG of a map of %d values as %d×%d", len(m), h, w)
	}
	if err := checkHOG(h, w, o); err != nil {
		return nil, err
	}
	nr, nc := h/o.Cell, w/o.Cell
	br, bc := nr-o.Block+1, nc-o.Block+1
	x := to64(m)
	mag := make([]float64, h*w)
	ori := make([]float64, h*w)
	deg := 180 / math.Pi // as numpy computes 180 / np.pi (not a Go constant)
	// The gradient of the pixels the cells cover (rows and columns below
	// nr·Cell and nc·Cell); the histograms read no other.
	for i := 0; i < nr*o.Cell; i++ {
		for j := 0; j < nc*o.Cell; j++ {
			var gr, gc float64
			if i > 0 && i < h-1 {
				gr = x[(i+1)*w+j] - x[(i-1)*w+j]
			}
			if j > 0 && j < w-1 {
				gc = x[i*w+j+1] - x[i*w+j-1]
			}
			mag[i*w+j] = math.Hypot(gc, gr)
			a := math.Atan2(gr, gc) * deg
			if a >= 180 || a <= -180 { // else math.Mod(a, 180) is a
				a = math.Mod(a, 180)
			}
			if a < 0 {
				a += 180
			}
			ori[i*w+j] = a
		}
	}
	hist := make([]float64, nr*nc*o.Orientations) // [cell row, cell column, orientation]
	// Orientation b takes the angles in [end[b], start[b]) (a NaN angle,
	// which compares false, every orientation). Each orientation sums its
	// pixels of a cell in float32, row by row: one pass over the cell's
	// pixels adds each to its orientations' sums in that order.
	start, end := make([]float64, o.Orientations), make([]float64, o.Orientations)
	for b := range o.Orientations {
		start[b] = float64(float32(180.0 / float64(o.Orientations) * float64(b+1)))
		end[b] = float64(float32(180.0 / float64(o.Orientations) * float64(b)))
	}
	total := make([]float32, o.Orientations)
	half := o.Cell / 2
	for ci := 0; ci < nr; ci++ {
		y := half + ci*o.Cell
		for cj := 0; cj < nc; cj++ {
			xc := half + cj*o.Cell
			clear(total)
			for dr := -o.Cell / 2; dr < o.Cell/2; dr++ {
				for dc := -o.Cell / 2; dc < o.Cell/2; dc++ {
					r, c := y+dr, xc+dc
					if r < 0 || r >= h || c < 0 || c >= w {
						continue
					}
					a := ori[r*w+c]
					if a != a {
						for b := range total {
							total[b] += float32(mag[r*w+c])
						}
						continue
					}
					if b := orientationBin(a, start, end); b >= 0 {
						total[b] += float32(mag[r*w+c])
					}
				}
			}
			for b, t := range total {
				hist[(ci*nc+cj)*o.Orientations+b] = float64(t)
			}
		}
	}
	const eps = 1e-5
	out := make([]float64, 0, br*bc*o.Block*o.Block*o.Orientations)
	block := make([]float64, o.Block*o.Block*o.Orientations)
	for r := 0; r < br; r++ {
		for c := 0; c < bc; c++ {
			k := 0
			for i := 0; i < o.Block; i++ {
				for j := 0; j < o.Block; j++ {
					cell := hist[((r+i)*nc+c+j)*o.Orientations:]
					k += copy(block[k:], cell[:o.Orientations])
				}
			}
			// L2-Hys: L2-normalise, clip at 0.2, L2-normalise again.
			norm := func() {
				var s float64
				for _, v := range block {
					s += v * v
				}
				d := math.Sqrt(s + eps*eps)
				for i := range block {
					block[i] /= d
				}
			}
			norm()
			for i, v := range block {
				block[i] = math.Min(v, 0.2)
			}
			norm()
			out = append(out, block...)
		}
	}
	return out, nil
}

// orientationBin is the orientation b whose range [end[b], start[b]) holds
// the angle a, not NaN, or −1 for none (a = 180, from a tiny negative angle
// plus 180). The ranges tile [0°, 180°): end[b+1] is start[b], computed
// alike. The first guess, from a alone, is moved to the range that holds a.
func orientationBin(a float64, start, end []float64) int {
	n := len(start)
	b := min(max(int(a*float64(n)/180), 0), n-1)
	for b > 0 && a < end[b] {
		b--
	}
	for b < n-1 && a >= start[b] {
		b++
	}
	if a < end[b] || a >= start[b] {
		return -1
	}
	return b
}

// checkHOG checks the options (with their defaults) against an h×w map.
func checkHOG(h, w int, o HOGOptions) error {
	if o.Orientations < 1 || o.Cell < 1 || o.Block < 1 {
		return fmt.Errorf("metrics: HOG options %+v must be positive", o)
	}
	if h/o.Cell-o.Block+1 <= 0 || w/o.Cell-o.Block+1 <= 0 {
		return fmt.Errorf("metrics: HOG needs a map of at least %d×%d for %d-pixel cells in blocks of %d, not %d×%d",
			o.Block*o.Cell, o.Block*o.Cell, o.Cell, o.Block, h, w)
	}
	return nil
}

// HOGPearson is the Pearson correlation of the HOG features of two h×w
// maps (Adebayo et al. 2018's structural comparison of saliency maps).
func HOGPearson(a, b []float32, h, w int, o HOGOptions) (float64, error) {
	fa, err := HOG(a, h, w, o)
	if err != nil {
		return 0, err
	}
	fb, err := HOG(b, h, w, o)
	if err != nil {
		return 0, err
	}
	return pearson64(fa, fb), nil
}
