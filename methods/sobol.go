package methods

import (
	"context"
	"math"
	"slices"

	"github.com/saliencykit/saliency/tensor"
)

// Sobol is Sobol attribution (Fel, Cadène, Chalvidal et al. 2021, "Look at
// the variance! Efficient black-box explanations with Sobol-based
// sensitivity analysis"): the total Sobol' index of each cell of a
// grid_size × grid_size grid, the share of the variance of S_c that the
// cell's mask value explains with all its interactions, estimated from a
// quasi-Monte Carlo design. Two matrices A and B of N points in [0,1]^d
// (d cells) are drawn as one design of 2d dimensions; C_i is A with column
// i taken from B. With f the score of the image perturbed by a design row,
// Jansen's estimator (default) is
//
//	ST_i = Σ_j (f(A_j) − f(C_i,j))² / (2 N Var f(A)),
//
// upsampled bicubically to the image (Xplique's). Jansen's indices are
// non-negative, but the bicubic upsampling undershoots 0 near sharp cells,
// so the map is marked signed. f(B) enters no estimator, so it is not computed:
// N·(d + 1) forward passes per image (Xplique makes N·(d + 2)), reported in
// Info["forward-passes"] with the clean image's one.
type Sobol struct {
	GSA `yaml:",inline"`
	// Designs is N, the points of A and of B (default 32; a power of two
	// for the Sobol' sampler, at most MaxSobolDesigns).
	Designs int `yaml:"nb_design"`
	// Estimator of the total index: jansen (default), homma, janon, glen or
	// saltelli (Xplique's five).
	Estimator string `yaml:"estimator"`
	// AB, when set, is the design [2N, grid_size, grid_size]: A then B, instead
	// of the sampler's (to compare with another tool on the same design).
	AB       *tensor.Tensor `yaml:"-"`
	Chunking `yaml:",inline"`
}

var _ Method = (*Sobol)(nil)

func init() { Register("sobol", func() Method { return &Sobol{} }) }

// Name is "sobol".
func (s *Sobol) Name() string { return "sobol" }

// MaxSobolDesigns bounds nb_design, MaxSobolDesignValues the cells of all
// the masks (N·(d + 1) masks of d cells, float32, held at once);
// DefaultSobolDesigns is Xplique's.
const (
	MaxSobolDesigns      = 1024
	MaxSobolDesignValues = 1 << 25
	DefaultSobolDesigns  = 32
)

var sobolEstimators = []string{"jansen", "homma", "janon", "glen", "saltelli"}

// Validate checks the options.
func (s *Sobol) Validate() error {
	name := s.Name()
	if s.Designs < 0 || s.Designs > MaxSobolDesigns || s.Designs == 1 {
		return optionErr(name, []string{"nb_design"}, "nb_design must be 2 to %d, got %d", MaxSobolDesigns, s.Designs)
	}
	if d := s.designs(); (s.Sampler == "" || s.Sampler == SamplerSobol) && d&(d-1) != 0 {
		return optionErr(name, []string{"nb_design"}, "nb_design must be a power of two for the Sobol' sampler, got %d", d)
	}
	if s.Estimator != "" && !slices.Contains(sobolEstimators, s.Estimator) {
		return optionErr(name, []string{"estimator"}, "unknown estimator %q; estimators: %v", s.Estimator, sobolEstimators)
	}
	if g := s.grid(); 2*g*g > MaxSobolDimension {
		return optionErr(name, []string{"grid_size"}, "grid_size %d needs a design of %d dimensions; the Sobol' table has %d", g, 2*g*g, MaxSobolDimension)
	}
	if g, d := s.grid(), s.designs(); d*(g*g+1)*g*g > MaxSobolDesignValues {
		return optionErr(name, []string{"nb_design", "grid_size"}, "nb_design %d on a %d×%d grid makes %d masks of %d cells, more than %d values", d, g, g, d*(g*g+1), g*g, MaxSobolDesignValues)
	}
	if err := s.GSA.validate(name); err != nil {
		return err
	}
	return s.Chunking.validate(name)
}

func (s *Sobol) designs() int { return cmp0(s.Designs, DefaultSobolDesigns) }

// design returns the rows A_1…A_N, C_1,1…C_1,N, …, C_d,N.
func (s *Sobol) design() ([][]float32, error) {
	nd, gd := s.designs(), s.grid()
	d := gd * gd
	var a, b [][]float32
	if s.AB != nil {
		ab, err := fedDesign(s.Name(), s.AB, 2*nd, gd)
		if err != nil {
			return nil, err
		}
		a, b = ab[:nd], ab[nd:]
	} else {
		pts, err := designPoints(s.Sampler, s.Seed, 2*d, nd)
		if err != nil {
			return nil, err
		}
		for _, p := range pts {
			ra, rb := make([]float32, d), make([]float32, d)
			for j := 0; j < d; j++ {
				ra[j], rb[j] = float32(p[j]), float32(p[d+j])
			}
			a, b = append(a, ra), append(b, rb)
		}
	}
	rows := slices.Clone(a)
	for i := 0; i < d; i++ {
		for j := 0; j < nd; j++ {
			r := slices.Clone(a[j])
			r[i] = b[j][i]
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// totalIndices estimates ST_i from f(A) = a [N] and f(C_i) = c[i] [N].
func totalIndices(est string, a []float64, c [][]float64) []float64 {
	const eps = 1e-12
	n := float64(len(a))
	mean := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		return s / n
	}
	variance := func(v []float64, mu float64) float64 {
		var s float64
		for _, x := range v {
			s += (x - mu) * (x - mu)
		}
		return s / math.Max(n-1, 1)
	}
	muA := mean(a)
	varA := math.Max(variance(a, muA), eps)
	out := make([]float64, len(c))
	for i, ci := range c {
		var eac, sq, c2 float64
		for j, x := range ci {
			eac += a[j] * x
			sq += (a[j] - x) * (a[j] - x)
			c2 += x * x
		}
		eac /= n
		switch est {
		case "homma":
			out[i] = (varA - eac + muA*muA) / varA
		case "janon":
			var a2 float64
			for _, x := range a {
				a2 += x * x
			}
			mu := 0.5 * (muA + mean(ci))
			v := math.Max((a2+c2)/(2*math.Max(n-1, 1))-mu*mu, eps)
			out[i] = 1 - (eac-mu*mu)/v
		case "glen":
			muC := mean(ci)
			var cov float64
			for j, x := range ci {
				cov += (a[j] - muA) * (x - muC)
			}
			cov /= math.Max(n-1, 1)
			varC := math.Max(variance(ci, muC), eps)
			out[i] = 1 - cov/math.Sqrt(varA*varC)
		case "saltelli":
			out[i] = 1 - (eac-muA*muA)/varA
		default: // jansen
			out[i] = sq / (2 * n * varA)
		}
	}
	return out
}

// Explain computes the maps.
func (s *Sobol) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
	name := s.Name()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.design()
	if err != nil {
		return nil, err
	}
	p, err := newProbe(ctx, name, m, b, t, s.Chunking)
	if err != nil {
		return nil, err
	}
	gd := s.grid()
	f, err := s.GSA.run(ctx, name, m, p, rows, gd, s.Chunking)
	if err != nil {
		return nil, err
	}
	nd, d := s.designs(), gd*gd
	idx := make([][]float64, len(f))
	for i, fi := range f {
		c := make([][]float64, d)
		for k := range c {
			c[k] = fi[nd*(k+1) : nd*(k+2)]
		}
		idx[i] = totalIndices(s.Estimator, fi[:nd], c)
	}
	h, w, _ := imageShape(p.b.X)
	mp := cellMaps(idx, gd, h, w)
	return &Maps{Method: name, Map: mp, Signed: true, Classes: p.classes, Scores: p.scores,
		Info: map[string][]float64{"forward-passes": passes(len(f), len(rows)+1)}}, nil
}
