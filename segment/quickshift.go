package segment

import (
	"math"
)

// QuickshiftOptions are the parameters of Quickshift; the zero value is
// scikit-image's default.
type QuickshiftOptions struct {
	// Ratio weighs colour against space (default 1): colours are multiplied
	// by it before distances are taken.
	Ratio float64 `yaml:"ratio"`
	// KernelSize is the standard deviation of the Gaussian that estimates
	// the density (default 5); the search window reaches ⌈3·KernelSize⌉
	// pixels each way.
	KernelSize float64 `yaml:"kernel_size"`
	// MaxDist cuts the links to a denser neighbour farther than it
	// (default 10).
	MaxDist float64 `yaml:"max_dist"`
	// Sigma is the Gaussian smoothing in pixels before segmentation
	// (default 0, none).
	Sigma float64 `yaml:"sigma"`
	// NoLab clusters RGB images in RGB; by default a 3-channel image is
	// converted to CIE Lab (skimage's convert2lab=True). Grayscale images
	// are used as they are (skimage refuses convert2lab for them).
	NoLab bool `yaml:"no_lab"`
	// Seed is the seed of the tie-breaking noise added to the densities
	// (normal, standard deviation 1e-5), drawn as
	// numpy.random.default_rng(Seed).normal(scale=1e-5, size=(h, w)) is
	// (default 42, skimage's rng=42), so the labels are skimage's.
	Seed *uint64 `yaml:"seed"`
	// Noise, when set, is the tie-breaking noise itself (h·w values,
	// row-major), overriding Seed.
	Noise []float64 `yaml:"-"`
}

// Defaults of QuickshiftOptions (scikit-image's) and bounds.
const (
	DefaultQuickshiftRatio      = 1.0
	DefaultQuickshiftKernelSize = 5.0
	DefaultQuickshiftMaxDist    = 10.0
	// MaxQuickshiftKernelSize bounds KernelSize: the cost grows with
	// (6·KernelSize)² per pixel.
	MaxQuickshiftKernelSize = 50
	// QuickshiftNoiseScale is the standard deviation of the tie-breaking
	// noise, DefaultQuickshiftSeed its default seed.
	QuickshiftNoiseScale  = 0.00001
	DefaultQuickshiftSeed = 42
)

func (o QuickshiftOptions) withDefaults() QuickshiftOptions {
	if o.Ratio == 0 {
		o.Ratio = DefaultQuickshiftRatio
	}
	if o.KernelSize == 0 {
		o.KernelSize = DefaultQuickshiftKernelSize
	}
	if o.MaxDist == 0 {
		o.MaxDist = DefaultQuickshiftMaxDist
	}
	return o
}

// Validate checks the options.
func (o QuickshiftOptions) Validate() error {
	switch {
	case o.Ratio < 0 || !finite(o.Ratio):
		return errorf("quickshift: ratio must be a finite number > 0, got %v", o.Ratio)
	case o.KernelSize != 0 && !(o.KernelSize >= 1 && o.KernelSize <= MaxQuickshiftKernelSize):
		return errorf("quickshift: kernel_size must be in [1, %d], got %v", MaxQuickshiftKernelSize, o.KernelSize)
	case o.MaxDist < 0 || math.IsNaN(o.MaxDist):
		return errorf("quickshift: max_dist must be > 0, got %v", o.MaxDist)
	case !(o.Sigma >= 0 && o.Sigma <= MaxSigma):
		return errorf("quickshift: sigma must be in [0, %d], got %v", MaxSigma, o.Sigma)
	}
	for i, v := range o.Noise {
		if !finite(v) {
			return errorf("quickshift: noise value %d is %v", i, v)
		}
	}
	return nil
}

// Quickshift is quick shift mode seeking (Vedaldi and Soatto 2008) as
// scikit-image 0.25's quickshift computes it: the image (converted to Lab
// unless NoLab or grayscale, smoothed by Sigma, multiplied by Ratio) is a
// point cloud in (colour, y, x); each pixel's density is the sum of
// exp(−d²/2·KernelSize²) over the window of ⌈3·KernelSize⌉ pixels, plus a
// small tie-breaking noise; each pixel links to the nearest pixel of higher
// density in its window unless that is farther than MaxDist; the trees are
// the segments, numbered by their roots' pixel indices.
func Quickshift(img []float32, h, w, c int, o QuickshiftOptions) (Labels, error) {
	if err := o.Validate(); err != nil {
		return Labels{}, err
	}
	if err := checkImage(img, h, w, c, 1, 3); err != nil {
		return Labels{}, err
	}
	if o.Noise != nil && len(o.Noise) != h*w {
		return Labels{}, errorf("quickshift: noise has %d values for %d×%d pixels", len(o.Noise), h, w)
	}
	o = o.withDefaults()
	x := float64s(img)
	if c == 3 && !o.NoLab {
		rgbToLab(x)
	}
	gaussianSpatial(x, h, w, c, o.Sigma)
	for i := range x {
		x[i] *= o.Ratio
	}
	dens := make([]float64, h*w)
	if o.Noise != nil {
		copy(dens, o.Noise)
	} else {
		seed := uint64(DefaultQuickshiftSeed)
		if o.Seed != nil {
			seed = *o.Seed
		}
		copy(dens, numpyNormal(seed, h*w, QuickshiftNoiseScale))
	}
	inv := -0.5 / (o.KernelSize * o.KernelSize)
	kw := int(math.Ceil(3 * o.KernelSize))
	dist2 := func(p, q, dy, dx int) float64 {
		d := 0.0
		for ch := 0; ch < c; ch++ {
			t := x[p*c+ch] - x[q*c+ch]
			d += t * t
		}
		t := float64(dy)
		d += t * t
		t = float64(dx)
		return d + t*t
	}
	for r := 0; r < h; r++ {
		r0, r1 := max(r-kw, 0), min(r+kw+1, h)
		for col := 0; col < w; col++ {
			c0, c1 := max(col-kw, 0), min(col+kw+1, w)
			p := r*w + col
			for rr := r0; rr < r1; rr++ {
				for cc := c0; cc < c1; cc++ {
					dens[p] += math.Exp(dist2(p, rr*w+cc, r-rr, col-cc) * inv)
				}
			}
		}
	}
	parent := make([]int, h*w)
	for r := 0; r < h; r++ {
		r0, r1 := max(r-kw, 0), min(r+kw+1, h)
		for col := 0; col < w; col++ {
			c0, c1 := max(col-kw, 0), min(col+kw+1, w)
			p := r*w + col
			parent[p] = p
			closest := math.MaxFloat64
			for rr := r0; rr < r1; rr++ {
				for cc := c0; cc < c1; cc++ {
					q := rr*w + cc
					if dens[q] > dens[p] {
						if d := dist2(p, q, r-rr, col-cc); d < closest {
							closest = d
							parent[p] = q
						}
					}
				}
			}
			if math.Sqrt(closest) > o.MaxDist {
				parent[p] = p
			}
		}
	}
	// Flatten the forest: every pixel to its root.
	for {
		changed := false
		next := make([]int, len(parent))
		for i, p := range parent {
			next[i] = parent[p]
			changed = changed || next[i] != p
		}
		parent = next
		if !changed {
			break
		}
	}
	return relabel(parent, h, w), nil
}
