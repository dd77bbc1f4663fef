package segment

import (
	"math"
	"slices"
)

// SLICOptions are the parameters of SLIC; the zero value is scikit-image's
// default (with start_label 0: see Labels).
type SLICOptions struct {
	// NSegments is the approximate number of segments (default 100): the
	// cluster centres start on a regular grid of about that many points.
	NSegments int `yaml:"n_segments"`
	// Compactness weighs space against colour (default 10): the colour
	// distance is divided by it, the spatial one by the grid step. For
	// grayscale images in [0, 1] values near 0.1 suit (skimage's advice).
	Compactness float64 `yaml:"compactness"`
	// MaxNumIter is the number of k-means iterations (default 10).
	MaxNumIter int `yaml:"max_num_iter"`
	// Sigma is the Gaussian smoothing in pixels before segmentation
	// (default 0, none).
	Sigma float64 `yaml:"sigma"`
	// NoConnectivity keeps the k-means labels as they are; by default
	// (skimage's enforce_connectivity=True) disconnected pieces are
	// relabelled and pieces below MinSizeFactor of the mean segment size
	// join an adjacent segment.
	NoConnectivity bool `yaml:"no_connectivity"`
	// MinSizeFactor is the smallest segment, as a fraction of the mean
	// segment size h·w/centres, kept by the connectivity step (default 0.5).
	MinSizeFactor float64 `yaml:"min_size_factor"`
	// MaxSizeFactor is the largest, ditto (default 3): the connectivity
	// step's search stops at that size, splitting larger segments.
	MaxSizeFactor float64 `yaml:"max_size_factor"`
	// NoLab clusters RGB images in RGB; by default a 3-channel image is
	// converted to CIE Lab (skimage's convert2lab=None) after the image is
	// rescaled to [0, 1] by its own minimum and maximum.
	NoLab bool `yaml:"no_lab"`
}

// Defaults of SLICOptions (scikit-image's) and bounds.
const (
	DefaultSLICSegments      = 100
	DefaultSLICCompactness   = 10.0
	DefaultSLICMaxNumIter    = 10
	DefaultSLICMinSizeFactor = 0.5
	DefaultSLICMaxSizeFactor = 3.0
	// MaxSLICIter bounds MaxNumIter.
	MaxSLICIter = 1000
)

func (o SLICOptions) withDefaults() SLICOptions {
	if o.NSegments == 0 {
		o.NSegments = DefaultSLICSegments
	}
	if o.Compactness == 0 {
		o.Compactness = DefaultSLICCompactness
	}
	if o.MaxNumIter == 0 {
		o.MaxNumIter = DefaultSLICMaxNumIter
	}
	if o.MinSizeFactor == 0 {
		o.MinSizeFactor = DefaultSLICMinSizeFactor
	}
	if o.MaxSizeFactor == 0 {
		o.MaxSizeFactor = DefaultSLICMaxSizeFactor
	}
	return o
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Validate checks the options.
func (o SLICOptions) Validate() error {
	switch {
	case o.NSegments < 0 || o.NSegments > MaxPixels:
		return errorf("slic: n_segments must be in [1, %d], got %d", MaxPixels, o.NSegments)
	case o.Compactness < 0 || !finite(o.Compactness):
		return errorf("slic: compactness must be a finite number > 0, got %v", o.Compactness)
	case o.MaxNumIter < 0 || o.MaxNumIter > MaxSLICIter:
		return errorf("slic: max_num_iter must be in [1, %d], got %d", MaxSLICIter, o.MaxNumIter)
	case !(o.Sigma >= 0 && o.Sigma <= MaxSigma):
		return errorf("slic: sigma must be in [0, %d], got %v", MaxSigma, o.Sigma)
	case o.MinSizeFactor < 0 || !finite(o.MinSizeFactor):
		return errorf("slic: min_size_factor must be a finite number > 0, got %v", o.MinSizeFactor)
	case o.MaxSizeFactor < 0 || !finite(o.MaxSizeFactor) || o.MaxSizeFactor > MaxPixels:
		return errorf("slic: max_size_factor must be in (0, %d], got %v", MaxPixels, o.MaxSizeFactor)
	}
	mn, mx := o.withDefaults().MinSizeFactor, o.withDefaults().MaxSizeFactor
	if !o.NoConnectivity && mn > mx {
		return errorf("slic: min_size_factor %v exceeds max_size_factor %v", mn, mx)
	}
	return nil
}

// regularGrid is skimage.util.regular_grid(shape, n): the start and step of
// a grid of about n points along each axis of shape.
func regularGrid(shape []int, n int) (starts, steps []int) {
	d := len(shape)
	starts, steps = make([]int, d), make([]int, d)
	space := 1.0
	for _, s := range shape {
		space *= float64(s)
	}
	if space <= float64(n) {
		for i := range steps {
			steps[i] = 1
		}
		return starts, steps
	}
	idx := make([]int, d)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return shape[a] - shape[b] })
	sorted := make([]float64, d)
	for i, j := range idx {
		sorted[i] = float64(shape[j])
	}
	st := make([]float64, d)
	for i := range st {
		st[i] = math.Pow(space/float64(n), 1/float64(d))
	}
	anyBelow := func() bool {
		for i := range st {
			if sorted[i] < st[i] {
				return true
			}
		}
		return false
	}
	if anyBelow() {
		for dim := 0; dim < d; dim++ {
			st[dim] = sorted[dim]
			rest := 1.0
			for _, s := range sorted[dim+1:] {
				rest *= s
			}
			for j := dim + 1; j < d; j++ {
				st[j] = math.Pow(rest/float64(n), 1/float64(d-dim-1))
			}
			if !anyBelow() {
				break
			}
		}
	}
	for i, j := range idx {
		starts[j] = int(math.Floor(st[i] / 2))
		steps[j] = int(math.RoundToEven(st[i]))
	}
	return starts, steps
}

// SLIC is simple linear iterative clustering (Achanta et al. 2012) as
// scikit-image 0.25's slic computes it on a 2-D image (no mask, no SLIC-zero,
// unit spacing): the image is rescaled to [0, 1] by its minimum and maximum,
// converted to CIE Lab when it has 3 channels (unless NoLab), smoothed by
// Sigma, and divided by Compactness; centres start on skimage's regular grid
// with colour 0; each of MaxNumIter iterations assigns every pixel within
// two grid steps of a centre to the nearest centre in (colour, space / step)
// and moves the centres to their pixels' means; then, unless NoConnectivity,
// connected pieces are relabelled in raster order and those below
// MinSizeFactor of the mean size take the label of an adjacent piece.
// Labels are skimage's with start_label=0. Without the connectivity step a
// centre that lost all its pixels leaves its label unused.
func SLIC(img []float32, h, w, c int, o SLICOptions) (Labels, error) {
	if err := o.Validate(); err != nil {
		return Labels{}, err
	}
	if err := checkImage(img, h, w, c, 1, 3); err != nil {
		return Labels{}, err
	}
	o = o.withDefaults()
	x := float64s(img)
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	for i := range x {
		x[i] -= lo
		if hi != lo {
			x[i] /= hi - lo
		}
	}
	if c == 3 && !o.NoLab {
		rgbToLab(x)
	}
	gaussianSpatial(x, h, w, c, o.Sigma)
	ratio := 1 / o.Compactness
	for i := range x {
		x[i] *= ratio
	}

	// Centres on skimage's grid of the volume (1, h, w).
	starts, steps := regularGrid([]int{1, h, w}, o.NSegments)
	var cy, cx []float64
	for z := starts[0]; z < 1; z += steps[0] {
		for y := starts[1]; y < h; y += steps[1] {
			for xx := starts[2]; xx < w; xx += steps[2] {
				cy, cx = append(cy, float64(y)), append(cx, float64(xx))
			}
		}
	}
	k := len(cy)
	step := float64(float32(max(steps[0], steps[1], steps[2])))
	// _slic_cython recomputes the grid steps for the number of centres.
	_, wsteps := regularGrid([]int{1, h, w}, k)
	stepY, stepX := wsteps[1], wsteps[2]
	col := make([]float64, k*c)
	spatial := 1 / (step * step)
	labels := make([]int, h*w)
	dist := make([]float64, h*w)
	count := make([]int, k)
	for it := 0; it < o.MaxNumIter; it++ {
		change := false
		for i := range dist {
			dist[i] = math.MaxFloat64
		}
		for s := 0; s < k; s++ {
			if math.IsNaN(cy[s]) { // a centre that lost its pixels
				continue
			}
			y0 := int(max(cy[s]-2*float64(stepY), 0))
			y1 := int(min(cy[s]+2*float64(stepY)+1, float64(h)))
			x0 := int(max(cx[s]-2*float64(stepX), 0))
			x1 := int(min(cx[s]+2*float64(stepX)+1, float64(w)))
			dz := 0.0 // (cz − z)² with cz = z = 0
			for y := y0; y < y1; y++ {
				dy := cy[s] - float64(y)
				dy *= dy
				for xx := x0; xx < x1; xx++ {
					dx := cx[s] - float64(xx)
					dx *= dx
					d := (dz + dy + dx) * spatial
					p := y*w + xx
					dc := 0.0
					for ch := 0; ch < c; ch++ {
						t := x[p*c+ch] - col[s*c+ch]
						dc += t * t
					}
					d += dc
					if dist[p] > d {
						labels[p] = s
						dist[p] = d
						change = true
					}
				}
			}
		}
		if !change {
			break
		}
		clear(count)
		clear(col)
		sy, sx := make([]float64, k), make([]float64, k)
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				p := y*w + xx
				s := labels[p]
				count[s]++
				sy[s] += float64(y)
				sx[s] += float64(xx)
				for ch := 0; ch < c; ch++ {
					col[s*c+ch] += x[p*c+ch]
				}
			}
		}
		for s := 0; s < k; s++ {
			n := float64(count[s]) // 0/0 = NaN for an empty centre, as in skimage
			cy[s], cx[s] = sy[s]/n, sx[s]/n
			for ch := 0; ch < c; ch++ {
				col[s*c+ch] /= n
			}
		}
	}
	if o.NoConnectivity {
		l := Labels{H: h, W: w, N: k, Label: make([]int32, h*w)}
		for i, v := range labels {
			l.Label[i] = int32(v)
		}
		return l, nil
	}
	size := float64(h*w) / float64(k)
	return enforceConnectivity(labels, h, w, int(o.MinSizeFactor*size), int(o.MaxSizeFactor*size)), nil
}

// enforceConnectivity is skimage's _enforce_label_connectivity_cython on a
// 2-D image with start_label 0: a breadth-first search from each unvisited
// pixel in raster order (4-neighbours, stopped at maxSize pixels) gives a
// new label to each piece of at least minSize pixels; a smaller piece takes
// the label of the last adjacent labelled piece its search met (or keeps the
// new label, to be reused, when it met none).
func enforceConnectivity(seg []int, h, w, minSize, maxSize int) Labels {
	out := make([]int32, h*w)
	for i := range out {
		out[i] = -1
	}
	maxSize = max(maxSize, 1)
	coords := make([]int, maxSize)
	dx := [4]int{1, -1, 0, 0}
	dy := [4]int{0, 0, 1, -1}
	next := int32(0)
	for p0 := range seg {
		if out[p0] >= 0 {
			continue
		}
		adjacent := next
		label := seg[p0]
		out[p0] = next
		size, visited := 1, 0
		coords[0] = p0
		for visited < size && size < maxSize {
			py, px := coords[visited]/w, coords[visited]%w
			for i := 0; i < 4; i++ {
				yy, xx := py+dy[i], px+dx[i]
				if xx < 0 || xx >= w || yy < 0 || yy >= h {
					continue
				}
				q := yy*w + xx
				if seg[q] == label && out[q] == -1 {
					out[q] = next
					coords[size] = q
					size++
					if size >= maxSize {
						break
					}
				} else if out[q] > -1 && out[q] != next {
					adjacent = out[q]
				}
			}
			visited++
		}
		if size < minSize {
			for i := 0; i < size; i++ {
				out[coords[i]] = adjacent
			}
		} else {
			next++
		}
	}
	n := int32(0)
	for _, v := range out {
		n = max(n, v+1)
	}
	return Labels{H: h, W: w, N: int(n), Label: out}
}
