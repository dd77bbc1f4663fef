package methods

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/saliencykit/saliency/segment"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"gonum.org/v1/gonum/mat"
)

// Superpixels are the interpretable features of LIME and KernelSHAP: a
// segmentation of each image into M segments, each switched on (the image's
// pixels) or off (the reference value) by a binary vector z ∈ {0,1}^M.
type Superpixels struct {
	// Segmentation is the algorithm: "" (Xplique's default: felzenszwalb on
	// a one-channel image, scikit-image's defaults scale 1, σ 0.8, min_size
	// 20; quickshift with ratio 0.5, kernel_size 2 on three channels),
	// felzenszwalb, slic, quickshift, or grid (grid_size × grid_size
	// rectangles, pixel (y, x) in cell (⌊y·g/H⌋, ⌊x·g/W⌋)).
	Segmentation string `yaml:"segmentation"`
	// Grid is the side of the grid of segmentation grid (default 7; set
	// alone, it selects segmentation grid).
	Grid int `yaml:"grid_size"`
	// LabelsFile is an .npy file of integer labels [H,W] (every image) or
	// [N,H,W] (one per image of the batch), 0 … M−1, used instead of a
	// segmentation.
	LabelsFile string `yaml:"labels"`
	// Labels are the labels as LabelsFile holds them, given in Go.
	Labels *Segments `yaml:"-"`
}

// Segments are integer labels [N,H,W] (N = 1: the same for every image).
type Segments struct {
	N, H, W int
	Label   []int32
}

// Segmentations of LIME and KernelSHAP.
var segmentations = []string{"felzenszwalb", "slic", "quickshift", "grid"}

// MaxSegments bounds the segments of an image (the interpretable model has
// one coefficient per segment), MaxSuperpixelValues the samples × segments
// of its regression (8 bytes each, twice); DefaultSuperpixelGrid is the
// grid's side.
const (
	MaxSegments           = 4096
	MaxSuperpixelValues   = 1 << 24
	DefaultSuperpixelGrid = 7
)

func (s Superpixels) validate(name string) error {
	if s.Segmentation != "" && !slices.Contains(segmentations, s.Segmentation) {
		return optionErr(name, []string{"segmentation"}, "unknown segmentation %q; segmentations: %v", s.Segmentation, segmentations)
	}
	if s.Grid < 0 || s.Grid > 256 {
		return optionErr(name, []string{"grid_size"}, "grid_size must be 1 to 256, got %d", s.Grid)
	}
	if s.Grid != 0 && s.Segmentation != "grid" && s.Segmentation != "" {
		return optionErr(name, []string{"grid_size"}, "grid_size is an option of segmentation grid, not %q", s.Segmentation)
	}
	if s.LabelsFile != "" && (s.Segmentation != "" || s.Grid != 0) {
		return optionErr(name, atFault([]string{"labels", "segmentation", "grid_size"}, true, s.Segmentation != "", s.Grid != 0), "labels and a segmentation are alternatives; give one")
	}
	return nil
}

// segmenter gives the labels of each image: fixed ones, or a segmentation's.
type segmenter struct {
	fixed  *Segments
	method string
	grid   int
	// black and white are the model-input values of a black and a white
	// pixel, bgr the model's channel order: a segmentation reads the image
	// as pixels in [0,1], RGB.
	black, white []float32
	bgr          bool
}

// prepare reads the labels file, or prepares the segmentation of the
// images of b.
func (s Superpixels) prepare(name string, b Batch, n, h, w, c int) (*segmenter, error) {
	sg := &segmenter{method: s.Segmentation, grid: cmp0(s.Grid, DefaultSuperpixelGrid), fixed: s.Labels, black: b.Black, white: b.White, bgr: b.BGR}
	if len(sg.black) != 0 && len(sg.black) != c || len(sg.white) != 0 && len(sg.white) != c {
		return nil, fmt.Errorf("methods: %s: black and white of %d and %d channels for images of %d", name, len(sg.black), len(sg.white), c)
	}
	for k := range sg.black {
		if len(sg.white) != 0 && !(sg.white[k] != sg.black[k]) {
			return nil, fmt.Errorf("methods: %s: channel %d: black and white are both %g", name, k, sg.black[k])
		}
	}
	if sg.method == "" && s.Grid != 0 {
		sg.method = "grid"
	}
	if sg.method == "" {
		sg.method = "felzenszwalb"
		if c == 3 {
			sg.method = "quickshift"
		}
	}
	if s.LabelsFile != "" {
		shape, data, err := savedmodels.ReadNpyIntArray(s.LabelsFile)
		if err != nil {
			return nil, &OptionError{Method: name, Options: []string{"labels"}, Msg: err.Error()}
		}
		seg := &Segments{Label: make([]int32, len(data))}
		switch len(shape) {
		case 2:
			seg.N, seg.H, seg.W = 1, shape[0], shape[1]
		case 3:
			seg.N, seg.H, seg.W = shape[0], shape[1], shape[2]
		default:
			return nil, &OptionError{Method: name, Options: []string{"labels"}, Msg: fmt.Sprintf("labels %s have shape %v, want [H,W] or [N,H,W]", s.LabelsFile, shape)}
		}
		for i, v := range data {
			seg.Label[i] = int32(v)
		}
		sg.fixed = seg
	}
	if f := sg.fixed; f != nil {
		if f.H != h || f.W != w || (f.N != 1 && f.N != n) || len(f.Label) != f.N*f.H*f.W {
			return nil, fmt.Errorf("methods: %s: labels of %d×%d×%d for %d images of %d×%d", name, f.N, f.H, f.W, n, h, w)
		}
		for _, v := range f.Label {
			if v < 0 || v >= MaxSegments {
				return nil, fmt.Errorf("methods: %s: a label %d is outside [0, %d)", name, v, MaxSegments)
			}
		}
	}
	return sg, nil
}

// labels returns the labels of image img (index i of the batch) and M.
func (sg *segmenter) labels(name string, i int, img []float32, h, w, c int) ([]int32, int, error) {
	var lab []int32
	switch {
	case sg.fixed != nil:
		k := 0
		if sg.fixed.N > 1 {
			k = i
		}
		lab = sg.fixed.Label[k*h*w : (k+1)*h*w]
	default:
		var err error
		if lab, err = segmentImage(sg.method, sg.grid, sg.pixels(img, c), h, w, c); err != nil {
			return nil, 0, fmt.Errorf("methods: %s: %w", name, err)
		}
	}
	m := int(slices.Max(lab)) + 1
	if m > MaxSegments {
		return nil, 0, fmt.Errorf("methods: %s: %d segments, at most %d", name, m, MaxSegments)
	}
	return lab, m, nil
}

// pixels returns image img [h,w,c] in model-input values as the pixels
// they stand for, in [0,1] and RGB order: (x − black)/(white − black) per
// channel. For inputs in [0,1] (black 0, white 1; or nil) that is img
// itself, which Xplique segments.
func (sg *segmenter) pixels(img []float32, c int) []float32 {
	if len(sg.black) == 0 && len(sg.white) == 0 && !sg.bgr {
		return img
	}
	out := make([]float32, len(img))
	for i, v := range img {
		k := i % c
		var lo, hi float32 = 0, 1
		if len(sg.black) != 0 {
			lo = sg.black[k]
		}
		if len(sg.white) != 0 {
			hi = sg.white[k]
		}
		if lo != 0 || hi != 1 {
			v = (v - lo) / (hi - lo)
		}
		if sg.bgr && c == 3 {
			k = 2 - k
		}
		out[i-i%c+k] = v
	}
	return out
}

// segmentImage segments one image [h,w,c] (pixels in [0,1], RGB) with the
// named algorithm into labels 0 … M−1.
func segmentImage(method string, grid int, img []float32, h, w, c int) ([]int32, error) {
	switch method {
	case "grid":
		if grid > min(h, w) {
			return nil, fmt.Errorf("grid_size %d is larger than the image (%d×%d)", grid, h, w)
		}
		lab := make([]int32, h*w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				lab[y*w+x] = int32((y*grid/h)*grid + x*grid/w)
			}
		}
		return lab, nil
	}
	// felzenszwalb, slic and quickshift come from package segment, with
	// scikit-image's parameters as Xplique calls them (Xplique segments the
	// model's input, the pixels for inputs in [0,1]): felzenszwalb(scale=1, sigma=0.8, min_size=20),
	// quickshift(ratio=0.5, kernel_size=2; max_dist=10, sigma=0,
	// convert2lab=True), slic with its defaults.
	var (
		l   segment.Labels
		err error
	)
	switch method {
	case "felzenszwalb":
		l, err = segment.Felzenszwalb(img, h, w, c, segment.FelzenszwalbOptions{})
	case "slic":
		l, err = segment.SLIC(img, h, w, c, segment.SLICOptions{})
	case "quickshift":
		l, err = segment.Quickshift(img, h, w, c, segment.QuickshiftOptions{Ratio: 0.5, KernelSize: 2})
	default:
		return nil, fmt.Errorf("unknown segmentation %q", method)
	}
	if err != nil {
		return nil, fmt.Errorf("segmentation %s: %w", method, err)
	}
	return l.Label, nil
}

// Sampling of LIME's interpretable vectors.
const (
	SampleCount     = "uniform-count" // the paper's: k ~ U{1…M} active segments, then a random subset of k
	SampleBernoulli = "bernoulli"     // Xplique's: every segment on with probability prob
)

// superpixelDraws returns ns binary vectors of length m: fed ([n or 1, ns,
// ≥ m] for a batch of n, image i) or from draw.
func superpixelDraws(name string, fed *tensor.Tensor, i, n, ns, m int, draw func() [][]float64) ([][]float64, error) {
	if ns*m > MaxSuperpixelValues {
		return nil, &OptionError{Method: name, Options: []string{"nb_samples"}, Msg: fmt.Sprintf("nb_samples %d × %d segments of image %d exceed %d values of the regression; take fewer samples or segments", ns, m, i, MaxSuperpixelValues)}
	}
	if fed == nil {
		return draw(), nil
	}
	s := fed.Shape
	if len(s) != 3 || (s[0] != 1 && s[0] != n) || s[1] != ns || s[2] < m {
		return nil, fmt.Errorf("methods: %s: the fed interpretable samples have shape %v, want [%d or 1,%d,≥%d] (nb_samples %d)", name, s, n, ns, m, ns)
	}
	k := i
	if s[0] == 1 {
		k = 0
	}
	out := make([][]float64, ns)
	for j := range out {
		row := fed.Data[(k*ns+j)*s[2] : (k*ns+j)*s[2]+m]
		out[j] = make([]float64, m)
		for q, v := range row {
			if v != 0 && v != 1 {
				return nil, fmt.Errorf("methods: %s: a fed interpretable sample has a value %g, want 0 or 1", name, v)
			}
			out[j][q] = float64(v)
		}
	}
	return out, nil
}

// newStream is the random stream of one image's draws: the same for every
// image of a batch (so that a batch gives its images' maps one by one).
func newStream(seed, salt uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, salt)) }

// subset sets k random entries of a zero vector of length m to 1.
func subset(r *rand.Rand, m, k int) []float64 {
	z := make([]float64, m)
	for _, j := range r.Perm(m)[:k] {
		z[j] = 1
	}
	return z
}

// fillSuperpixels writes image img with the segments of z switched off
// (their pixels set to ref) into dst.
func fillSuperpixels(img []float32, lab []int32, z []float64, ref []float32, c int, dst []float32) {
	for q, v := range img {
		if z[lab[q/c]] != 0 {
			dst[q] = v
		} else {
			dst[q] = ref[q%c]
		}
	}
}

// ridge solves the weighted ridge regression with an intercept,
// min Σ_s w_s (y_s − b − z_s·β)² + α‖β‖² (scikit-learn's Ridge with
// sample_weight), by the normal equations on the weighted-centred data; α = 0
// gives the least-squares solution of least norm (LinearRegression's).
func ridge(z [][]float64, y, wt []float64, alpha float64) ([]float64, error) {
	ns, m := len(z), len(z[0])
	var sw float64
	for _, v := range wt {
		sw += v
	}
	zm := make([]float64, m)
	var ym float64
	for s := 0; s < ns; s++ {
		for j := 0; j < m; j++ {
			zm[j] += wt[s] * z[s][j] / sw
		}
		ym += wt[s] * y[s] / sw
	}
	a := mat.NewDense(ns, m, nil)
	b := mat.NewVecDense(ns, nil)
	for s := 0; s < ns; s++ {
		r := math.Sqrt(wt[s])
		for j := 0; j < m; j++ {
			a.Set(s, j, r*(z[s][j]-zm[j]))
		}
		b.SetVec(s, r*(y[s]-ym))
	}
	return solveLS(a, b, alpha)
}

// solveLS solves min ‖a β − b‖² + α‖β‖² by the SVD of a: β = V diag(σ/(σ² + α)) Uᵀ b,
// singular values below max(rows, cols)·ε·σ_max dropped when α = 0 (the
// least-norm solution, as scipy's lstsq).
func solveLS(a *mat.Dense, b *mat.VecDense, alpha float64) ([]float64, error) {
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		return nil, fmt.Errorf("methods: the interpretable model's least squares did not converge")
	}
	sv := svd.Values(nil)
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	r, c := a.Dims()
	cut := 0.0
	if len(sv) > 0 && alpha == 0 {
		cut = float64(max(r, c)) * 2.220446049250313e-16 * sv[0]
	}
	var utb mat.VecDense
	utb.MulVec(u.T(), b)
	beta := make([]float64, c)
	for k, s := range sv {
		if s <= cut || s == 0 {
			continue
		}
		f := s / (s*s + alpha) * utb.AtVec(k)
		for j := 0; j < c; j++ {
			beta[j] += v.At(j, k) * f
		}
	}
	return beta, nil
}

// broadcast writes coefficient coef[label] to every pixel of dst.
func broadcast(coef []float64, lab []int32, dst []float32) {
	for q, l := range lab {
		dst[q] = float32(coef[l])
	}
}

// refValue is the reference of switched-off segments: v for every channel,
// or (Xplique's default) black on one channel and mid-grey on three.
func refValue(v *float64, b Batch, c int) []float32 {
	ref := make([]float32, c)
	for k := range ref {
		switch {
		case v != nil:
			ref[k] = float32(*v)
		case c == 3:
			ref[k] = (b.Black[k] + b.White[k]) / 2
		default:
			ref[k] = b.Black[k]
		}
	}
	return ref
}
