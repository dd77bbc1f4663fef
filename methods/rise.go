package methods

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/saliencykit/saliency/tensor"
)

// RISE is Randomized Input Sampling for Explanation (Petsiuk, Das & Saenko
// 2018). N random binary grids of h×w cells, each cell kept with probability
// p, are upsampled bilinearly to (h+1)·C × (w+1)·C with C = ⌈H/h⌉ × ⌈W/w⌉
// pixels per cell and cropped to H×W at a random shift in [0, C), giving soft
// masks M_i; the map is the score-weighted mean of the masks,
//
//	S = 1/(N·p) Σ_i S_c(I ⊙ M_i + (1 − M_i)·v) · M_i,
//
// with v the mask value (black). The map is signed (S_c is a logit). The
// masks are drawn once from Seed, the same for every image of a batch; the
// masked images go through the model in chunks, N forward passes per image
// (and one for its clean score), reported in Info["forward-passes"].
//
// Xplique 2.0.2 (Rise) differs in three ways, the first of which an option
// reproduces: it divides by the masks' sum at each pixel, Σ_i M_i, instead
// of N·p (Normalize "masks"); it upsamples to ⌊H·(1 + 1/h)⌋ pixels (the
// same as (h+1)·C when h divides H, as 7 divides 28 and 224) and crops at a
// shift in [0, C] drawn once per batch of 32 masks and image
// (tf.image.random_crop of the batch), where the paper shifts every mask.
type RISE struct {
	// Samples is N, the number of masks (default 4000, as the paper and
	// Xplique).
	Samples int `yaml:"nb_samples"`
	// Grid is h = w, the side of the grid of cells (default 7).
	Grid int `yaml:"grid_size"`
	// Keep is p, the probability that a cell is kept (default 0.5).
	Keep *float64 `yaml:"preservation_probability"`
	// MaskValue is v, the value of the masked pixels in model-input units
	// (default: a black pixel; Xplique's 0 on inputs in [0,1]).
	MaskValue *float64 `yaml:"mask_value"`
	// Normalize is "" (the paper's 1/(N·p)) or "masks" (Xplique's: divide
	// each pixel by Σ_i M_i + 10⁻⁴).
	Normalize string `yaml:"normalize"`
	// Seed selects the grids and shifts.
	Seed uint64 `yaml:"seed"`
	// Grids, when set, are the binary grids [N,h,w] (0 or 1) instead of the
	// seeded ones, and Shifts their crops, [N,2] (row, column) for every
	// image or [images,N,2] per image: to compare with another tool on the
	// same draws. Fed grids are upsampled to Xplique's ⌊H·(1 + 1/h)⌋ ×
	// ⌊W·(1 + 1/h)⌋, and each shift is in [0, that side − H].
	Grids    *tensor.Tensor `yaml:"-"`
	Shifts   *tensor.Tensor `yaml:"-"`
	Chunking `yaml:",inline"`
}

var _ Method = (*RISE)(nil)

func init() { Register("rise", func() Method { return &RISE{} }) }

// Name is "rise".
func (r *RISE) Name() string { return "rise" }

// Bounds of RISE's counts: the masks' grids are held at once, and every
// mask is a forward pass per image.
const (
	MaxRISESamples = 100000
	MaxRISEGrid    = 64
)

// DefaultRISE* are the defaults of Petsiuk et al. and Xplique.
const (
	DefaultRISESamples = 4000
	DefaultRISEGrid    = 7
	DefaultRISEKeep    = 0.5
)

// Validate checks the options.
func (r *RISE) Validate() error {
	name := r.Name()
	if r.Samples < 0 || r.Samples > MaxRISESamples {
		return optionErr(name, []string{"nb_samples"}, "nb_samples must be 1 to %d, got %d", MaxRISESamples, r.Samples)
	}
	if r.Grid < 0 || r.Grid > MaxRISEGrid {
		return optionErr(name, []string{"grid_size"}, "grid_size must be 1 to %d, got %d", MaxRISEGrid, r.Grid)
	}
	if r.Keep != nil && !(*r.Keep > 0 && *r.Keep <= 1) {
		return optionErr(name, []string{"preservation_probability"}, "preservation_probability must be in (0, 1], got %g", *r.Keep)
	}
	if r.MaskValue != nil && (math.IsNaN(*r.MaskValue) || math.IsInf(*r.MaskValue, 0)) {
		return optionErr(name, []string{"mask_value"}, "mask_value must be finite, got %g", *r.MaskValue)
	}
	if r.Normalize != "" && r.Normalize != "masks" {
		return optionErr(name, []string{"normalize"}, "normalize must be \"\" (1/(N·p), the paper's) or \"masks\" (Xplique's), got %q", r.Normalize)
	}
	return r.Chunking.validate(name)
}

func (r *RISE) samples() int { return cmp0(r.Samples, DefaultRISESamples) }
func (r *RISE) grid() int    { return cmp0(r.Grid, DefaultRISEGrid) }
func (r *RISE) keep() float64 {
	if r.Keep == nil {
		return DefaultRISEKeep
	}
	return *r.Keep
}

// cmp0 is v, or def when v is 0.
func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// riseMasks are the grids and shifts of RISE.
type riseMasks struct {
	n, g   int
	grids  []float32 // [n,g,g]
	shifts []int     // [images or 1][n][2]
	per    bool      // shifts per image
	uh, uw int       // the upsampled size
}

// draws returns the grids and shifts for images of h×w.
func (r *RISE) draws(images, h, w int) (*riseMasks, error) {
	n, g := r.samples(), r.grid()
	cy, cx := (h+g-1)/g, (w+g-1)/g
	rm := &riseMasks{n: n, g: g, uh: (g + 1) * cy, uw: (g + 1) * cx}
	if r.Grids != nil {
		s := r.Grids.Shape
		if len(s) != 3 || s[1] != s[2] || s[0] < 1 {
			return nil, fmt.Errorf("methods: rise: grids have shape %v, want [N,h,h]", s)
		}
		if (r.Samples != 0 && r.Samples != s[0]) || (r.Grid != 0 && r.Grid != s[1]) {
			return nil, fmt.Errorf("methods: rise: grids of shape %v for nb_samples %d and grid_size %d", s, r.Samples, r.Grid)
		}
		for _, v := range r.Grids.Data {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("methods: rise: a grid value %g is outside [0,1]", v)
			}
		}
		rm.n, rm.g = s[0], s[1]
		rm.grids = r.Grids.Data
		// the upsampled size of the fed grids: Xplique's, ⌊H·(1 + 1/h)⌋
		rm.uh, rm.uw = int(float64(h)*(1+1/float64(rm.g))), int(float64(w)*(1+1/float64(rm.g)))
		if r.Shifts == nil {
			return nil, fmt.Errorf("methods: rise: grids are given without their shifts")
		}
		switch ss := r.Shifts.Shape; {
		case len(ss) == 2 && ss[0] == rm.n && ss[1] == 2:
		case len(ss) == 3 && ss[0] == images && ss[1] == rm.n && ss[2] == 2:
			rm.per = true
		default:
			return nil, fmt.Errorf("methods: rise: shifts have shape %v, want [%d,2] or [%d,%d,2]", ss, rm.n, images, rm.n)
		}
		rm.shifts = make([]int, len(r.Shifts.Data))
		for i, v := range r.Shifts.Data {
			lim := rm.uh - h
			if i%2 == 1 {
				lim = rm.uw - w
			}
			if v != float32(int(v)) || v < 0 || int(v) > lim {
				return nil, fmt.Errorf("methods: rise: shift %g is not an integer in [0, %d]", v, lim)
			}
			rm.shifts[i] = int(v)
		}
		return rm, nil
	}
	if r.Shifts != nil {
		return nil, fmt.Errorf("methods: rise: shifts are given without their grids")
	}
	rnd := rand.New(rand.NewPCG(r.Seed, 0x7269736521212121))
	p := r.keep()
	rm.grids = make([]float32, n*g*g)
	for i := range rm.grids {
		if rnd.Float64() < p {
			rm.grids[i] = 1
		}
	}
	rm.shifts = make([]int, 2*n)
	for i := 0; i < n; i++ {
		rm.shifts[2*i] = rnd.IntN(cy)
		rm.shifts[2*i+1] = rnd.IntN(cx)
	}
	return rm, nil
}

// mask writes mask s of image i [h,w] into dst, with up [uh,uw] as scratch.
func (rm *riseMasks) mask(i, s int, up, dst []float32, h, w int) {
	g := rm.g
	tensor.ResizeHWC(rm.grids[s*g*g:(s+1)*g*g], g, g, 1, up, rm.uh, rm.uw)
	k := s
	if rm.per {
		k = i*rm.n + s
	}
	dy, dx := rm.shifts[2*k], rm.shifts[2*k+1]
	for y := 0; y < h; y++ {
		copy(dst[y*w:(y+1)*w], up[(y+dy)*rm.uw+dx:(y+dy)*rm.uw+dx+w])
	}
}

// Explain computes the maps.
func (r *RISE) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := r.Name()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	p, err := newProbe(ctx, name, m, b, t, r.Chunking)
	if err != nil {
		return nil, err
	}
	x := p.b.X
	n := x.Shape[0]
	h, w, c := imageShape(x)
	rm, err := r.draws(n, h, w)
	if err != nil {
		return nil, err
	}
	fill := p.b.Black
	if r.MaskValue != nil {
		fill = make([]float32, c)
		for k := range fill {
			fill[k] = float32(*r.MaskValue)
		}
	}
	per := h * w * c
	up := make([]float32, rm.uh*rm.uw)
	mk := make([]float32, h*w)
	out := tensor.New(n, h, w)
	// One image at a time: the masks of an image are rebuilt for its
	// weighted sum, not held.
	for i := 0; i < n; i++ {
		img := x.Data[i*per : (i+1)*per]
		scores, err := p.perturbed(ctx, name, m, []int{i}, rm.n, r.Chunking, func(i, s int, dst []float32) {
			rm.mask(i, s, up, mk, h, w)
			for q := range dst {
				v := mk[q/c]
				dst[q] = img[q]*v + (1-v)*fill[q%c]
			}
		})
		if err != nil {
			return nil, err
		}
		num := make([]float64, h*w)
		den := make([]float64, h*w)
		for s, f := range scores[0] {
			rm.mask(i, s, up, mk, h, w)
			for q, v := range mk {
				num[q] += f * float64(v)
				den[q] += float64(v)
			}
		}
		dst := out.Data[i*h*w : (i+1)*h*w]
		for q := range dst {
			if r.Normalize == "masks" {
				dst[q] = float32(num[q] / (den[q] + 1e-4))
			} else {
				dst[q] = float32(num[q] / (float64(rm.n) * r.keep()))
			}
		}
	}
	return &Maps{Method: name, Map: out, Signed: true, Classes: p.classes, Scores: p.scores,
		Info: map[string][]float64{"forward-passes": passes(n, rm.n+1)}}, nil
}
