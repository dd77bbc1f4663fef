package methods

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// This file holds the pure-Go randomness of the black-box methods (RISE,
// Sobol, HSIC, LIME, KernelSHAP): quasi-Monte Carlo designs, binary masks,
// the perturbations that apply a low-resolution mask to an image. Nothing
// here calls TensorFlow.

// sobolBits is the precision of the Sobol' points (2^-30, scipy's).
const sobolBits = 30

// MaxSobolDimension is the largest dimension of the Sobol' sequence: the
// direction numbers of Joe & Kuo held in sobol_directions.go.
const MaxSobolDimension = len(sobolDirections) + 1

// SobolSequence returns the first n points [n][dim] of the unscrambled
// Sobol' sequence (Sobol' 1967, direction numbers of Joe & Kuo 2008) after
// its first point (the origin): the points of tf.math.sobol_sample(dim, n)
// and of scipy.stats.qmc.Sobol(dim, scramble=False) without its first. Points
// are built by Gray code, x_{k+1} = x_k XOR v_c with c the lowest zero bit
// of k.
func SobolSequence(dim, n int) ([][]float64, error) {
	if dim < 1 || dim > MaxSobolDimension {
		return nil, fmt.Errorf("methods: a Sobol' sequence of dimension %d, want 1 to %d", dim, MaxSobolDimension)
	}
	if n < 0 || n >= 1<<sobolBits-1 {
		return nil, fmt.Errorf("methods: %d points of a Sobol' sequence, want 0 to %d", n, 1<<sobolBits-2)
	}
	v := make([][sobolBits]uint32, dim)
	for k := 0; k < sobolBits; k++ {
		v[0][k] = 1 << (sobolBits - 1 - k)
	}
	for j := 1; j < dim; j++ {
		d := sobolDirections[j-1]
		s := bits.Len32(d.poly) - 1
		m := make([]uint32, sobolBits)
		copy(m, d.m)
		for k := s; k < sobolBits; k++ {
			// m_k = 2^s m_{k−s} ⊕ m_{k−s} ⊕ Σ_{i=1}^{s−1} 2^i a_i m_{k−i}, a_i the
			// polynomial's coefficient of x^{s−i}.
			x := m[k-s]<<s ^ m[k-s]
			for i := 1; i < s; i++ {
				if d.poly>>(s-i)&1 == 1 {
					x ^= m[k-i] << i
				}
			}
			m[k] = x
		}
		for k := 0; k < sobolBits; k++ {
			v[j][k] = m[k] << (sobolBits - 1 - k)
		}
	}
	out := make([][]float64, n)
	x := make([]uint32, dim)
	const scale = 1.0 / (1 << sobolBits)
	for i := 0; i < n; i++ {
		c := bits.TrailingZeros64(^uint64(i)) // the lowest zero bit of i
		row := make([]float64, dim)
		for j := range x {
			x[j] ^= v[j][c]
			row[j] = float64(x[j]) * scale
		}
		out[i] = row
	}
	return out, nil
}

// latinHypercube returns n points [n][dim] of a Latin hypercube (McKay et
// al. 1979): in every dimension one point in each of the n strata
// [k/n, (k+1)/n), at a uniform position inside it, the strata in random
// order.
func latinHypercube(r *rand.Rand, dim, n int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, dim)
	}
	perm := make([]int, n)
	for j := 0; j < dim; j++ {
		for k := range perm {
			perm[k] = k
		}
		r.Shuffle(n, func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
		for i := 0; i < n; i++ {
			out[i][j] = (float64(perm[i]) + r.Float64()) / float64(n)
		}
	}
	return out
}

// uniformPoints returns n points [n][dim] drawn uniformly (Monte Carlo).
func uniformPoints(r *rand.Rand, dim, n int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, dim)
		for j := range out[i] {
			out[i][j] = r.Float64()
		}
	}
	return out
}

// Samplers of the designs of Sobol and HSIC attribution.
const (
	SamplerSobol  = "sobol"  // the unscrambled Sobol' sequence (tf.math.sobol_sample), Xplique's default
	SamplerLHS    = "lhs"    // a seeded Latin hypercube (the HSIC paper's)
	SamplerRandom = "random" // seeded uniform draws (plain Monte Carlo)
)

var samplers = []string{SamplerSobol, SamplerLHS, SamplerRandom}

// validSampler checks a sampler option ("" is sobol).
func validSampler(method, s string) error {
	if s != "" && !slices.Contains(samplers, s) {
		return optionErr(method, []string{"sampler"}, "unknown sampler %q; samplers: %v", s, samplers)
	}
	return nil
}

// designPoints draws n points of dimension dim in [0,1)^dim with the named
// sampler, seeded by seed (the Sobol' sequence needs none).
func designPoints(sampler string, seed uint64, dim, n int) ([][]float64, error) {
	r := rand.New(rand.NewPCG(seed, 0x6773612d64657369))
	switch sampler {
	case "", SamplerSobol:
		return SobolSequence(dim, n)
	case SamplerLHS:
		return latinHypercube(r, dim, n), nil
	case SamplerRandom:
		return uniformPoints(r, dim, n), nil
	}
	return nil, fmt.Errorf("methods: unknown sampler %q", sampler)
}

// Perturbations of Sobol and HSIC attribution: how a mask M ∈ [0,1]^{H×W}
// (the grid's values, upsampled by nearest neighbour) changes an image x.
const (
	PerturbInpainting = "inpainting" // x ⊙ M + (1 − M) ⊙ black
	PerturbBlurring   = "blurring"   // x ⊙ M + (1 − M) ⊙ box-blur(x)
	PerturbAmplitude  = "amplitude"  // x ⊙ (M − ½) · σ, σ = 1 (Xplique's code)
)

var perturbations = []string{PerturbInpainting, PerturbBlurring, PerturbAmplitude}

func validPerturbation(method, p string) error {
	if p != "" && !slices.Contains(perturbations, p) {
		return optionErr(method, []string{"perturbation"}, "unknown perturbation %q; perturbations: %v", p, perturbations)
	}
	return nil
}

// blurBox is the side of the box filter of the blurring perturbation
// (Xplique's sigma = 10 of cv2.blur).
const blurBox = 10

// boxBlur is cv2.blur(img, (k, k)) of an [h,w,c] image: the mean over a k×k
// window anchored at its centre (k/2 for an even k: the window spans
// [x − k/2, x + k − 1 − k/2]), the border reflected without repeating the
// edge (BORDER_REFLECT_101).
func boxBlur(img []float32, h, w, c, k int) []float32 {
	reflect := func(i, n int) int {
		if n == 1 {
			return 0
		}
		for i < 0 || i >= n {
			if i < 0 {
				i = -i
			}
			if i >= n {
				i = 2*n - 2 - i
			}
		}
		return i
	}
	a := k / 2
	tmp := make([]float64, h*w*c)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				var s float64
				for d := -a; d < k-a; d++ {
					s += float64(img[(y*w+reflect(x+d, w))*c+ch])
				}
				tmp[(y*w+x)*c+ch] = s
			}
		}
	}
	out := make([]float32, h*w*c)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for ch := 0; ch < c; ch++ {
				var s float64
				for d := -a; d < k-a; d++ {
					s += tmp[(reflect(y+d, h)*w+x)*c+ch]
				}
				out[(y*w+x)*c+ch] = float32(s / float64(k*k))
			}
		}
	}
	return out
}

// perturber applies a perturbation to one image.
type perturber struct {
	kind string
	img  []float32 // x [h,w,c]
	base []float32 // the baseline x0 of inpainting and blurring [h,w,c]
	c    int
}

// newPerturber prepares perturbation kind for image img [h,w,c]; black is the
// model value of a black pixel per channel.
func newPerturber(kind string, img []float32, h, w, c int, black []float32) perturber {
	p := perturber{kind: kind, img: img, c: c}
	switch kind {
	case PerturbBlurring:
		p.base = boxBlur(img, h, w, c, blurBox)
	case PerturbAmplitude:
	default:
		p.base = make([]float32, len(img))
		for i := range p.base {
			p.base[i] = black[i%c]
		}
	}
	return p
}

// apply writes the image under mask m [h,w] (one value per pixel) to dst.
func (p perturber) apply(m, dst []float32) {
	c := p.c
	if p.kind == PerturbAmplitude {
		for i, x := range p.img {
			dst[i] = x * (m[i/c] - 0.5)
		}
		return
	}
	for i, x := range p.img {
		v := m[i/c]
		dst[i] = x*v + (1-v)*p.base[i]
	}
}

// nearestUp writes the grid g [gh,gw] upsampled to [h,w] by nearest
// neighbour into dst: tf.image.resize(method="nearest") with half-pixel
// centres, source index min(floor((y + ½)·gh/h), gh − 1) in float32 as
// TensorFlow computes it (at 8 → 28, 3.5·(8/28) rounds to exactly 1).
func nearestUp(g []float32, gh, gw int, dst []float32, h, w int) {
	sy, sx := float32(gh)/float32(h), float32(gw)/float32(w)
	for y := 0; y < h; y++ {
		iy := min(int(math.Floor(float64((float32(y)+0.5)*sy))), gh-1)
		for x := 0; x < w; x++ {
			ix := min(int(math.Floor(float64((float32(x)+0.5)*sx))), gw-1)
			dst[y*w+x] = g[iy*gw+ix]
		}
	}
}
