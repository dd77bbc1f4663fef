package methods

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/saliencykit/saliency/segment"
	"github.com/saliencykit/saliency/tensor"
)

// XRAI is the region attribution of Kapishnikov et al. (2019) as PAIR
// saliency 0.2.1 (the authors' code) computes it, with its defaults:
// Integrated Gradients from a dark and a bright baseline, averaged, reduced over the channels by their maximum; the image
// over-segmented by Felzenszwalb's algorithm at several scales (the image
// scaled to ValueRange by its own minimum and maximum and resized to
// SegmentSize×SegmentSize for the segmentation, the segments mapped back,
// each dilated by a disk of DilationRadius); then regions are merged
// greedily: at each step the segment whose pixels not yet chosen have the
// highest mean attribution (the gain density) is added, segments that would
// add fewer than MinPixelDiff pixels are dropped, until the chosen area
// exceeds AreaThreshold of the image. Each pixel's value in the map is the
// gain density of the step that added it (pixels never added share the mean
// attribution over them), so sorting the map ranks the regions. Raw is the
// averaged IG attribution [N,H,W,C]. Algorithm fast ranks the segments once
// by their own density instead of at every step.
//
// The paper says black and white baselines; PAIR (and the default here)
// takes constant images of the image's own minimum and maximum value, the
// same on an image that reaches black and white (Baselines black-white takes
// the model's black and white inputs). PAIR's IG sums 100 points of
// numpy.linspace(0, 1, 100) divided by 100 (Rule linspace, the default here;
// gauss-legendre integrates more accurately). Maps.Info reports, per image,
// "forward-passes" and "backward-passes" (IG's path points of both baselines
// and the forward passes of the images and baselines) and "segments", the
// number of segment masks merged from.
type XRAI struct {
	// Steps is the number of IG path points per baseline (default 100,
	// PAIR's).
	Steps int `yaml:"steps"`
	// Rule is IG's quadrature (default linspace, PAIR's sum; see
	// IntegratedGradients.Rule).
	Rule string `yaml:"rule"`
	// Baselines are IG's two baselines: min-max (default, PAIR's: constant
	// images of the image's smallest and largest value over all channels)
	// or black-white (the model's black and white inputs, the paper's
	// words).
	Baselines string `yaml:"baselines"`
	// Scales are Felzenszwalb's scales (default 50, 100, 150, 250, 500,
	// 1200, PAIR's).
	Scales []float64 `yaml:"scales"`
	// Sigma is Felzenszwalb's smoothing (default 0.8).
	Sigma *float64 `yaml:"sigma"`
	// MinSize is Felzenszwalb's smallest segment in pixels of the
	// segmented image (default 150).
	MinSize int `yaml:"min_size"`
	// SegmentSize is the side of the square image segmented (default 224,
	// PAIR's; the image is resized by cubic splines as scikit-image does,
	// the segments back by nearest neighbour). NoResize segments the image
	// at its own size.
	SegmentSize int  `yaml:"segment_size"`
	NoResize    bool `yaml:"no_resize"`
	// ValueRange is the range the image is scaled to before segmentation
	// (default [-1, 1]).
	ValueRange []float64 `yaml:"value_range"`
	// DilationRadius dilates every segment by a disk of that radius in
	// image pixels (default 5; 0 is the default, NoDilation none).
	DilationRadius int  `yaml:"dilation_radius"`
	NoDilation     bool `yaml:"no_dilation"`
	// AreaThreshold stops the full algorithm once the chosen area exceeds
	// this fraction of the image (default 1: every segment).
	AreaThreshold float64 `yaml:"area_threshold"`
	// MinPixelDiff drops a segment that would add fewer pixels (default
	// 50).
	MinPixelDiff int `yaml:"min_pixel_diff"`
	// Algorithm is full (default) or fast.
	Algorithm string `yaml:"algorithm"`
	// Attribution, when set, is the attribution merged instead of IG's
	// ([N,H,W,C] or [N,H,W]; PAIR's base_attribution).
	Attribution *tensor.Tensor `yaml:"-"`
	// Segments, when set, are each image's segmentations at image size,
	// before dilation, instead of Felzenszwalb's (every label of each one
	// is a segment).
	Segments [][]segment.Labels `yaml:"-"`
	Chunking `yaml:",inline"`
}

var _ Method = (*XRAI)(nil)

func init() { Register("xrai", func() Method { return &XRAI{} }) }

// Name is "xrai".
func (x *XRAI) Name() string { return "xrai" }

// Defaults and bounds of XRAI.
const (
	DefaultXRAISteps          = 100
	DefaultXRAIMinSize        = 150
	DefaultXRAISegmentSize    = 224
	DefaultXRAIDilationRadius = 5
	DefaultXRAIMinPixelDiff   = 50
	DefaultXRAISigma          = 0.8
	// MaxXRAIScales bounds Scales, MaxXRAISegmentSize SegmentSize and
	// MaxXRAIDilation DilationRadius.
	MaxXRAIScales      = 32
	MaxXRAISegmentSize = 2048
	MaxXRAIDilation    = 256
)

// DefaultXRAIScales are PAIR's Felzenszwalb scales.
var DefaultXRAIScales = []float64{50, 100, 150, 250, 500, 1200}

var (
	xraiBaselines  = []string{"min-max", "black-white"}
	xraiAlgorithms = []string{"full", "fast"}
)

// Validate checks the options.
func (x *XRAI) Validate() error {
	name := x.Name()
	switch {
	case x.Steps < 0 || x.Steps > MaxSteps:
		return optionErr(name, []string{"steps"}, "steps must be in [1, %d], got %d", MaxSteps, x.Steps)
	case x.Rule != "" && !slices.Contains(igRules, x.Rule):
		return optionErr(name, []string{"rule"}, "unknown rule %q; rules: %v", x.Rule, igRules)
	case x.Baselines != "" && !slices.Contains(xraiBaselines, x.Baselines):
		return optionErr(name, []string{"baselines"}, "unknown baselines %q; baselines: %v", x.Baselines, xraiBaselines)
	case len(x.Scales) > MaxXRAIScales:
		return optionErr(name, []string{"scales"}, "at most %d scales, got %d", MaxXRAIScales, len(x.Scales))
	case x.MinSize < 0 || x.MinSize > segment.MaxPixels:
		return optionErr(name, []string{"min_size"}, "min_size must be in [1, %d], got %d", segment.MaxPixels, x.MinSize)
	case x.SegmentSize < 0 || x.SegmentSize > MaxXRAISegmentSize:
		return optionErr(name, []string{"segment_size"}, "segment_size must be in [1, %d], got %d", MaxXRAISegmentSize, x.SegmentSize)
	case x.NoResize && x.SegmentSize != 0:
		return optionErr(name, []string{"segment_size", "no_resize"}, "segment_size and no_resize exclude each other")
	case x.DilationRadius < 0 || x.DilationRadius > MaxXRAIDilation:
		return optionErr(name, []string{"dilation_radius"}, "dilation_radius must be in [1, %d], got %d", MaxXRAIDilation, x.DilationRadius)
	case x.NoDilation && x.DilationRadius != 0:
		return optionErr(name, []string{"dilation_radius", "no_dilation"}, "dilation_radius and no_dilation exclude each other")
	case !(x.AreaThreshold >= 0 && x.AreaThreshold <= 1):
		return optionErr(name, []string{"area_threshold"}, "area_threshold must be in (0, 1], got %g", x.AreaThreshold)
	case x.MinPixelDiff < 0 || x.MinPixelDiff > segment.MaxPixels:
		return optionErr(name, []string{"min_pixel_diff"}, "min_pixel_diff must be in [1, %d], got %d", segment.MaxPixels, x.MinPixelDiff)
	case x.Algorithm != "" && !slices.Contains(xraiAlgorithms, x.Algorithm):
		return optionErr(name, []string{"algorithm"}, "unknown algorithm %q; algorithms: %v", x.Algorithm, xraiAlgorithms)
	case x.ValueRange != nil && (len(x.ValueRange) != 2 || !(x.ValueRange[0] < x.ValueRange[1]) ||
		math.IsInf(x.ValueRange[0], 0) || math.IsInf(x.ValueRange[1], 0)):
		return optionErr(name, []string{"value_range"}, "value_range must be two finite numbers, low < high, got %v", x.ValueRange)
	}
	for i, s := range x.Scales {
		if !(s > 0) || math.IsInf(s, 0) {
			return optionErr(name, []string{"scales"}, "scale %d must be a finite number > 0, got %g", i, s)
		}
	}
	if x.Sigma != nil && !(*x.Sigma >= 0 && *x.Sigma <= segment.MaxSigma) {
		return optionErr(name, []string{"sigma"}, "sigma must be in [0, %d], got %g", segment.MaxSigma, *x.Sigma)
	}
	return x.Chunking.validate(name)
}

// ig is the Integrated Gradients XRAI runs.
func (x *XRAI) ig() *IntegratedGradients {
	return &IntegratedGradients{Steps: cmp.Or(x.Steps, DefaultXRAISteps), Rule: cmp.Or(x.Rule, "linspace"), Chunking: x.Chunking}
}

// Explain computes the maps.
func (x *XRAI) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := x.Name()
	if err := x.Validate(); err != nil {
		return nil, err
	}
	gl, err := setup(name, m, &b, t)
	if err != nil {
		return nil, err
	}
	n := b.X.Shape[0]
	h, w, c := imageShape(b.X)
	if x.Segments != nil && len(x.Segments) != n {
		return nil, optionErr(name, []string{"segments"}, "segments for %d images, batch has %d", len(x.Segments), n)
	}
	out := &Maps{Method: name, Signed: true, Info: map[string][]float64{}}
	var attr *tensor.Tensor // [N,H,W] after the channel maximum
	fwd, bwd := make([]float64, n), make([]float64, n)
	if x.Attribution != nil {
		a := x.Attribution
		switch {
		case tensor.SameShape(a.Shape, b.X.Shape):
			out.Raw = a
		case tensor.SameShape(a.Shape, b.X.Shape[:3]):
			a = &tensor.Tensor{Shape: append(slices.Clone(a.Shape), 1), Data: a.Data}
		default:
			return nil, optionErr(name, []string{"attribution"}, "attribution has shape %v, want %v or %v", a.Shape, b.X.Shape, b.X.Shape[:3])
		}
		if !a.Finite() {
			return nil, optionErr(name, []string{"attribution"}, "attribution has values that are not finite")
		}
		attr = channelMax(a)
		// One forward pass gives the classes and scores.
		rows, err := scoreRows(ctx, m, b.X, gl.score, x.Chunking)
		if err != nil {
			return nil, notApplicable(name, err)
		}
		out.Classes, out.Scores = gl.values(rows, t.Classes)
		for i := range fwd {
			fwd[i] = 1
		}
	} else {
		raw, classes, scores, err := x.integratedGradients(ctx, m, b, t)
		if err != nil {
			return nil, err
		}
		out.Raw, out.Classes, out.Scores = raw, classes, scores
		attr = channelMax(raw)
		alpha, _ := x.ig().alphas()
		for i := range fwd {
			fwd[i] = float64(4 + 2*len(alpha))
			bwd[i] = float64(2 * len(alpha))
		}
	}
	out.Map = tensor.New(n, h, w)
	nseg := make([]float64, n)
	for i := 0; i < n; i++ {
		report(ctx, i, n)
		var segs []segment.Labels
		if x.Segments != nil {
			segs = x.Segments[i]
			for j, s := range segs {
				if err := s.Validate(); err != nil || s.H != h || s.W != w {
					return nil, optionErr(name, []string{"segments"}, "segmentation %d of image %d: %d×%d labels for a %d×%d image (%v)", j, i, s.H, s.W, h, w, err)
				}
			}
		} else {
			var err error
			if segs, err = x.segmentations(b.X.Item(i).Data, h, w, c); err != nil {
				return nil, fmt.Errorf("methods: %s: image %d: %w", name, i, err)
			}
		}
		masks := x.masks(segs, h, w)
		nseg[i] = float64(len(masks))
		a := attr.Data[i*h*w : (i+1)*h*w]
		dst := out.Map.Data[i*h*w : (i+1)*h*w]
		var vals []float64
		if x.Algorithm == "fast" {
			vals = xraiFast(a, masks, cmp.Or(x.MinPixelDiff, DefaultXRAIMinPixelDiff))
		} else {
			vals = xraiFull(a, masks, cmp.Or(x.AreaThreshold, 1), cmp.Or(x.MinPixelDiff, DefaultXRAIMinPixelDiff))
		}
		for p, v := range vals {
			dst[p] = float32(v)
		}
	}
	out.Info["forward-passes"], out.Info["backward-passes"], out.Info["segments"] = fwd, bwd, nseg
	return out, nil
}

// integratedGradients is IG's attribution averaged over the two baselines,
// [N,H,W,C], with the classes and scores: one IG run over the images twice.
func (x *XRAI) integratedGradients(ctx context.Context, m Model, b Batch, t Target) (*tensor.Tensor, []int, []float32, error) {
	n := b.X.Shape[0]
	_, _, c := imageShape(b.X)
	per := tensor.Size(b.X.Shape[1:])
	both, err := tensor.Concat(b.X, b.X)
	if err != nil {
		return nil, nil, nil, err
	}
	base := tensor.New(both.Shape...)
	black, white := b.Black, b.White
	if black == nil {
		black = make([]float32, c)
	}
	if white == nil {
		white = make([]float32, c)
		for i := range white {
			white[i] = 1
		}
	}
	for i := 0; i < n; i++ {
		img := b.X.Data[i*per : (i+1)*per]
		lo, hi := img[0], img[0]
		for _, v := range img {
			lo, hi = min(lo, v), max(hi, v)
		}
		b0, b1 := base.Data[i*per:(i+1)*per], base.Data[(n+i)*per:(n+i+1)*per]
		for q := range b0 {
			if x.Baselines != "black-white" {
				b0[q], b1[q] = lo, hi
			} else {
				b0[q], b1[q] = black[q%c], white[q%c]
			}
		}
	}
	t2 := t
	if t.Classes != nil {
		t2.Classes = append(slices.Clone(t.Classes), t.Classes...)
	}
	ig := x.ig()
	ig.BaselineImage = base
	res, err := ig.Explain(ctx, m, Batch{X: both, Black: b.Black, White: b.White, BGR: b.BGR}, t2)
	if err != nil {
		return nil, nil, nil, err
	}
	raw := tensor.New(b.X.Shape...)
	for q := range raw.Data {
		raw.Data[q] = (res.Raw.Data[q] + res.Raw.Data[n*per+q]) / 2
	}
	var classes []int
	if res.Classes != nil {
		classes = res.Classes[:n]
	}
	return raw, classes, res.Scores[:n], nil
}

// channelMax is the maximum over the channels of [N,H,W,C] (PAIR's
// _attr_aggregation_max).
func channelMax(a *tensor.Tensor) *tensor.Tensor {
	n, h, w, c := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	out := tensor.New(n, h, w)
	for p := range out.Data {
		v := a.Data[p*c]
		for k := 1; k < c; k++ {
			v = max(v, a.Data[p*c+k])
		}
		out.Data[p] = v
	}
	return out
}

// Segmentations are the segmentations XRAI merges its regions from, for
// one image [H,W,C] in model units, before the dilation: PAIR's
// _get_segments_felzenszwalb, the image scaled to ValueRange by its minimum
// and maximum (in float32, as numpy computes on a float32 image; a constant
// image becomes the range's low end, where PAIR divides by zero), resized to
// SegmentSize, segmented at each scale, and the segments resized back.
func (x *XRAI) Segmentations(img []float32, h, w, c int) ([]segment.Labels, error) {
	if err := x.Validate(); err != nil {
		return nil, err
	}
	return x.segmentations(img, h, w, c)
}

func (x *XRAI) segmentations(img []float32, h, w, c int) ([]segment.Labels, error) {
	r0, r1 := float32(-1), float32(1)
	if x.ValueRange != nil {
		r0, r1 = float32(x.ValueRange[0]), float32(x.ValueRange[1])
	}
	lo, hi := img[0], img[0]
	for _, v := range img {
		lo, hi = min(lo, v), max(hi, v)
	}
	norm := make([]float32, len(img))
	for i, v := range img {
		if hi > lo {
			norm[i] = (v-lo)/(hi-lo)*(r1-r0) + r0
		} else {
			norm[i] = r0
		}
	}
	sh, sw := h, w
	if !x.NoResize {
		s := cmp.Or(x.SegmentSize, DefaultXRAISegmentSize)
		var err error
		if norm, err = segment.ResizeCubic(norm, h, w, c, s, s); err != nil {
			return nil, err
		}
		sh, sw = s, s
	}
	sigma := DefaultXRAISigma
	if x.Sigma != nil {
		sigma = *x.Sigma
	}
	scales := x.Scales
	if scales == nil {
		scales = DefaultXRAIScales
	}
	// The scales are independent: they run on up to GOMAXPROCS goroutines,
	// each writing its own slot (the labels do not depend on the order).
	out := make([]segment.Labels, len(scales))
	errs := make([]error, len(scales))
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for k, s := range scales {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			l, err := segment.Felzenszwalb(norm, sh, sw, c, segment.FelzenszwalbOptions{Scale: s, Sigma: &sigma, MinSize: cmp.Or(x.MinSize, DefaultXRAIMinSize)})
			if err == nil && !x.NoResize {
				l, err = segment.ResizeNearest(l, h, w)
			}
			out[k], errs[k] = l, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bitmask is a set of pixels.
type bitmask []uint64

func newBitmask(n int) bitmask { return make(bitmask, (n+63)/64) }

func (m bitmask) set(p int)      { m[p/64] |= 1 << (p % 64) }
func (m bitmask) has(p int) bool { return m[p/64]&(1<<(p%64)) != 0 }

// diffCount is |m \ cur|.
func (m bitmask) diffCount(cur bitmask) int {
	n := 0
	for i, v := range m {
		n += bits.OnesCount64(v &^ cur[i])
	}
	return n
}

// masks unpacks each segmentation into one mask per label from its
// smallest to its largest label present (PAIR's _unpack_segs_to_masks) and
// dilates each by the disk (skimage.morphology.dilation with disk(r): a
// pixel joins when a mask pixel lies within distance r).
func (x *XRAI) masks(segs []segment.Labels, h, w int) []bitmask {
	r := cmp.Or(x.DilationRadius, DefaultXRAIDilationRadius)
	if x.NoDilation {
		r = 0
	}
	var out []bitmask
	for _, s := range segs {
		lo, hi := int32(math.MaxInt32), int32(-1)
		for _, v := range s.Label {
			lo, hi = min(lo, v), max(hi, v)
		}
		for l := lo; l <= hi; l++ {
			m := newBitmask(h * w)
			for p, v := range s.Label {
				if v == l {
					m.set(p)
				}
			}
			if r > 0 {
				m = dilate(m, h, w, r)
			}
			out = append(out, m)
		}
	}
	return out
}

// dilate is the binary dilation of m by the disk x² + y² ≤ r² (pixels
// outside the image add nothing).
func dilate(m bitmask, h, w, r int) bitmask {
	out := newBitmask(h * w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if !m.has(y*w + x) {
				continue
			}
			for dy := -r; dy <= r; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					continue
				}
				for dx := -r; dx <= r; dx++ {
					xx := x + dx
					if xx >= 0 && xx < w && dx*dx+dy*dy <= r*r {
						out.set(yy*w + xx)
					}
				}
			}
		}
	}
	return out
}

// density is the mean of attr over the pixels of m not in cur (all of m
// when cur is nil), as numpy's float32 mean sums (pairwise), or −∞ when
// there are none (PAIR's _gain_density). buf is scratch.
func density(attr []float32, m, cur bitmask, buf []float32) (float64, []float32) {
	buf = buf[:0]
	for i, v := range m {
		if cur != nil {
			v &^= cur[i]
		}
		for v != 0 {
			b := bits.TrailingZeros64(v)
			buf = append(buf, attr[i*64+b])
			v &= v - 1
		}
	}
	if len(buf) == 0 {
		return math.Inf(-1), buf
	}
	return float64(tensor.PairwiseSum(buf) / float32(len(buf))), buf
}

// xraiFull is PAIR's XRAI._xrai: the greedy merge by gain density.
func xraiFull(attr []float32, masks []bitmask, areaTh float64, minDiff int) []float64 {
	np := len(attr)
	out := make([]float64, np)
	for p := range out {
		out[p] = math.Inf(-1)
	}
	cur := newBitmask(np)
	remaining := make([]int, len(masks))
	for i := range remaining {
		remaining[i] = i
	}
	var buf []float32
	area := 0.0
	for area <= areaTh {
		best, bestKey := math.Inf(-1), -1
		kept := remaining[:0]
		for _, k := range remaining {
			if masks[k].diffCount(cur) < minDiff {
				continue
			}
			kept = append(kept, k)
			var g float64
			g, buf = density(attr, masks[k], cur, buf)
			if g > best {
				best, bestKey = g, k
			}
		}
		remaining = kept
		if len(remaining) == 0 || bestKey < 0 {
			break
		}
		m := masks[bestKey]
		for i, v := range m {
			v &^= cur[i]
			for v != 0 {
				b := bits.TrailingZeros64(v)
				out[i*64+b] = best
				v &= v - 1
			}
			cur[i] |= m[i]
		}
		set := 0
		for _, v := range cur {
			set += bits.OnesCount64(v)
		}
		area = float64(set) / float64(np)
		remaining = slices.DeleteFunc(remaining, func(k int) bool { return k == bestKey })
	}
	fillUncomputed(attr, out)
	return out
}

// xraiFast is PAIR's XRAI._xrai_fast: segments ranked once by their own
// gain density (a stable sort), each adding its new pixels at their
// density unless fewer than minDiff.
func xraiFast(attr []float32, masks []bitmask, minDiff int) []float64 {
	np := len(attr)
	out := make([]float64, np)
	for p := range out {
		out[p] = math.Inf(-1)
	}
	var buf []float32
	gains := make([]float64, len(masks))
	order := make([]int, len(masks))
	for k := range masks {
		gains[k], buf = density(attr, masks[k], nil, buf)
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case gains[a] > gains[b]:
			return -1
		case gains[a] < gains[b]:
			return 1
		}
		return 0
	})
	cur := newBitmask(np)
	for _, k := range order {
		m := masks[k]
		if m.diffCount(cur) < minDiff {
			continue
		}
		var g float64
		g, buf = density(attr, m, cur, buf)
		for i, v := range m {
			v &^= cur[i]
			for v != 0 {
				b := bits.TrailingZeros64(v)
				out[i*64+b] = g
				v &= v - 1
			}
		}
		for i := range cur {
			cur[i] |= m[i]
		}
	}
	fillUncomputed(attr, out)
	return out
}

// fillUncomputed gives the pixels no segment added (still −∞) the mean
// attribution over them.
func fillUncomputed(attr []float32, out []float64) {
	rest := newBitmask(len(out))
	any := false
	for p, v := range out {
		if math.IsInf(v, -1) {
			rest.set(p)
			any = true
		}
	}
	if !any {
		return
	}
	g, _ := density(attr, rest, nil, nil)
	for p, v := range out {
		if math.IsInf(v, -1) {
			out[p] = g
		}
	}
}
