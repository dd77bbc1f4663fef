package segment

import (
	"math"
	"slices"
)

// FelzenszwalbOptions are the parameters of Felzenszwalb; the zero value is
// scikit-image's default.
type FelzenszwalbOptions struct {
	// Scale is the observation level k of the paper, divided by 255 as
	// skimage does (default 1): higher gives larger segments.
	Scale float64 `yaml:"scale"`
	// Sigma is the standard deviation in pixels of the Gaussian smoothing
	// before segmentation (default 0.8; 0 smooths nothing).
	Sigma *float64 `yaml:"sigma"`
	// MinSize is the smallest segment size in pixels, enforced after the
	// segmentation by merging along the sorted edges (default 20; 1 merges
	// nothing).
	MinSize int `yaml:"min_size"`
}

// Defaults of FelzenszwalbOptions (scikit-image's).
const (
	DefaultFelzenszwalbScale   = 1.0
	DefaultFelzenszwalbSigma   = 0.8
	DefaultFelzenszwalbMinSize = 20
	// MaxSigma bounds the Gaussian smoothing of every segmentation (pixels).
	MaxSigma = 1000
)

func (o FelzenszwalbOptions) withDefaults() FelzenszwalbOptions {
	if o.Scale == 0 {
		o.Scale = DefaultFelzenszwalbScale
	}
	if o.Sigma == nil {
		s := DefaultFelzenszwalbSigma
		o.Sigma = &s
	}
	if o.MinSize == 0 {
		o.MinSize = DefaultFelzenszwalbMinSize
	}
	return o
}

// Validate checks the options.
func (o FelzenszwalbOptions) Validate() error {
	if o.Scale < 0 || math.IsNaN(o.Scale) || math.IsInf(o.Scale, 0) {
		return errorf("felzenszwalb: scale must be a finite number > 0, got %v", o.Scale)
	}
	if o.Sigma != nil && !(*o.Sigma >= 0 && *o.Sigma <= MaxSigma) {
		return errorf("felzenszwalb: sigma must be in [0, %d], got %v", MaxSigma, *o.Sigma)
	}
	if o.MinSize < 0 || o.MinSize > MaxPixels {
		return errorf("felzenszwalb: min_size must be in [1, %d], got %d", MaxPixels, o.MinSize)
	}
	return nil
}

// Felzenszwalb is the graph-based segmentation of Felzenszwalb and
// Huttenlocher (2004) as scikit-image 0.25's felzenszwalb computes it: the
// image is smoothed channel by channel (Gaussian of Sigma, borders
// reflected); the 8-connected grid's edges weigh the Euclidean distance of
// the two pixels' colour vectors (all channels at once, not one segmentation
// per channel as the paper does); edges are visited by increasing weight and
// join two components when the weight is below both components' internal
// difference plus scale/255 over their size (that threshold rounded to
// float32, as skimage's Cython does); then components smaller than MinSize
// join their neighbour along the sorted edges. Labels are numbered by
// each segment's smallest pixel index (row-major).
//
// Edges of equal weight are visited in a stable order (numpy's argsort is
// not stable, so on exact ties the two may merge in a different order).
func Felzenszwalb(img []float32, h, w, c int, o FelzenszwalbOptions) (Labels, error) {
	if err := o.Validate(); err != nil {
		return Labels{}, err
	}
	if err := checkImage(img, h, w, c, 1, 3); err != nil {
		return Labels{}, err
	}
	o = o.withDefaults()
	x := float64s(img)
	gaussianSpatial(x, h, w, c, *o.Sigma)
	scale := o.Scale / 255

	// Edges in skimage's order: right, down, down-right, up-right (a pixel
	// of the lower row and the pixel up and to the right of it).
	type edge struct {
		cost float64
		i    int32 // position in skimage's order: equal costs keep it
		a, b int32
	}
	n := max(4*h*w-3*(h+w)+2, 0)
	edges := make([]edge, 0, n)
	add := func(p, q int) {
		s := 0.0
		for ch := 0; ch < c; ch++ {
			d := x[p*c+ch] - x[q*c+ch]
			s += d * d
		}
		edges = append(edges, edge{math.Sqrt(s), int32(len(edges)), int32(p), int32(q)})
	}
	for y := 0; y < h; y++ {
		for xx := 1; xx < w; xx++ {
			add(y*w+xx, y*w+xx-1)
		}
	}
	for y := 1; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			add(y*w+xx, (y-1)*w+xx)
		}
	}
	for y := 1; y < h; y++ {
		for xx := 1; xx < w; xx++ {
			add(y*w+xx, (y-1)*w+xx-1)
		}
	}
	for y := 0; y < h-1; y++ {
		for xx := 1; xx < w; xx++ {
			add(y*w+xx, (y+1)*w+xx-1)
		}
	}
	slices.SortFunc(edges, func(e, f edge) int {
		switch {
		case e.cost < f.cost:
			return -1
		case e.cost > f.cost:
			return 1
		}
		return int(e.i - f.i)
	})

	f := newForest(h * w)
	size := make([]int, h*w)
	for i := range size {
		size[i] = 1
	}
	cint := make([]float64, h*w)
	for _, e := range edges {
		s0, s1 := f.root(int(e.a)), f.root(int(e.b))
		if s0 == s1 {
			continue
		}
		in0 := float64(float32(cint[s0] + scale/float64(size[s0])))
		in1 := float64(float32(cint[s1] + scale/float64(size[s1])))
		if e.cost < min(in0, in1) {
			f.join(s0, s1)
			r := f.root(s0)
			size[r] = size[s0] + size[s1]
			cint[r] = e.cost
		}
	}
	for _, e := range edges {
		s0, s1 := f.root(int(e.a)), f.root(int(e.b))
		if s0 == s1 {
			continue
		}
		if size[s0] < o.MinSize || size[s1] < o.MinSize {
			f.join(s0, s1)
			r := f.root(s0)
			size[r] = size[s0] + size[s1]
		}
	}
	raw := make([]int, h*w)
	for i := range raw {
		raw[i] = f.root(i)
	}
	return relabel(raw, h, w), nil
}

// forest is skimage's union-find (measure._ccomp): a node points to a
// smaller index; a root points to itself; joining points both paths to the
// smaller root.
type forest []int

func newForest(n int) forest {
	f := make(forest, n)
	for i := range f {
		f[i] = i
	}
	return f
}

// root finds the root of n, halving the path on the way: roots, and so
// every join, are those of skimage's find_root, which does not compress.
func (f forest) root(n int) int {
	for f[n] < n {
		f[n] = f[f[n]]
		n = f[n]
	}
	return n
}

func (f forest) setRoot(n, r int) {
	for f[n] < n {
		j := f[n]
		f[n] = r
		n = j
	}
	f[n] = r
}

func (f forest) join(n, m int) {
	if n == m {
		return
	}
	r, rm := f.root(n), f.root(m)
	if r > rm {
		r = rm
	}
	f.setRoot(n, r)
	f.setRoot(m, r)
}
