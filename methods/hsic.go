package methods

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/saliencykit/saliency/tensor"
)

// HSIC is HSIC attribution (Novello, Fel & Vigouroux 2022, "Making sense of
// dependence: efficient black-box explanations using dependence measure"):
// the Hilbert–Schmidt independence criterion between each cell's mask value
// X_i and the score Y = S_c over N masks of a design,
//
//	HSIC_i = 1/N Σ_jk K̃_i[j,k] L̃[j,k],   K̃ = H K H, L̃ = H L H, H = I − 1/N,
//
// with K_i[j,k] = 1 + k(X_ij, X_ik) and L the RBF kernel of the scores,
// exp(−(Y_j − Y_k)²/(2σ²)), σ the median of the scores (Xplique's choice).
// The binary estimator (default) rounds the design to {0,1} and takes
// k(x, x′) = ½ − (x − x′)², the rbf estimator k(x, x′) = exp(−(x − x′)²/(2·½²))
// on the design as drawn. The indices are upsampled bicubically. N forward
// passes per image (and one for the clean score), in Info["forward-passes"].
//
// The paper samples the design by Latin hypercube (sampler lhs); Xplique
// 2.0.2 and this default take the Sobol' sequence.
type HSIC struct {
	GSA `yaml:",inline"`
	// Designs is N (default 500, Xplique's).
	Designs int `yaml:"nb_design"`
	// Estimator is the input kernel: binary (default) or rbf.
	Estimator string `yaml:"estimator"`
	// Design, when set, is the design [N, grid_size, grid_size] as the
	// estimator sees it (binary for the binary estimator), instead of the
	// sampler's.
	Design   *tensor.Tensor `yaml:"-"`
	Chunking `yaml:",inline"`
}

var _ Method = (*HSIC)(nil)

func init() { Register("hsic", func() Method { return &HSIC{} }) }

// Name is "hsic".
func (s *HSIC) Name() string { return "hsic" }

// MaxHSICDesigns bounds nb_design (the estimator holds N×N kernels);
// DefaultHSICDesigns is Xplique's.
const (
	MaxHSICDesigns     = 2048
	DefaultHSICDesigns = 500
)

var hsicEstimators = []string{"binary", "rbf"}

// Validate checks the options.
func (s *HSIC) Validate() error {
	name := s.Name()
	if s.Designs < 0 || s.Designs > MaxHSICDesigns || s.Designs == 1 {
		return optionErr(name, []string{"nb_design"}, "nb_design must be 2 to %d, got %d", MaxHSICDesigns, s.Designs)
	}
	if s.Estimator != "" && !slices.Contains(hsicEstimators, s.Estimator) {
		return optionErr(name, []string{"estimator"}, "unknown estimator %q; estimators: %v", s.Estimator, hsicEstimators)
	}
	if err := s.GSA.validate(name); err != nil {
		return err
	}
	return s.Chunking.validate(name)
}

func (s *HSIC) designs() int { return cmp0(s.Designs, DefaultHSICDesigns) }

// design returns the N rows of cell values.
func (s *HSIC) design() ([][]float32, error) {
	nd, gd := s.designs(), s.grid()
	binary := s.Estimator == "" || s.Estimator == "binary"
	if s.Design != nil {
		rows, err := fedDesign(s.Name(), s.Design, nd, gd)
		if err != nil {
			return nil, err
		}
		if binary {
			for _, r := range rows {
				for _, v := range r {
					if v != 0 && v != 1 {
						return nil, fmt.Errorf("methods: hsic: the binary estimator's design has a value %g", v)
					}
				}
			}
		}
		return rows, nil
	}
	pts, err := designPoints(s.Sampler, s.Seed, gd*gd, nd)
	if err != nil {
		return nil, err
	}
	rows := make([][]float32, nd)
	for j, p := range pts {
		rows[j] = make([]float32, len(p))
		for i, v := range p {
			if binary {
				v = math.RoundToEven(v) // tf.round
			}
			rows[j][i] = float32(v)
		}
	}
	return rows, nil
}

// hsicIndices estimates HSIC_i of each design column with the scores y.
// Since L̃ is doubly centred, Σ_jk (H K H)_jk L̃_jk = Σ_jk K_jk L̃_jk.
func hsicIndices(binary bool, rows [][]float32, y []float64) ([]float64, error) {
	n := len(y)
	sorted := slices.Clone(y)
	slices.Sort(sorted)
	width := float64(tensor.Percentile(toF32(sorted), 50))
	if width == 0 || math.IsNaN(width) {
		return nil, fmt.Errorf("methods: hsic: the median score is %g; the scores' RBF kernel has no width", width)
	}
	l := make([]float64, n*n)
	for j := 0; j < n; j++ {
		for k := 0; k < n; k++ {
			d := y[j] - y[k]
			l[j*n+k] = math.Exp(-d * d / (2 * width * width))
		}
	}
	// double centring
	row := make([]float64, n)
	var tot float64
	for j := 0; j < n; j++ {
		for k := 0; k < n; k++ {
			row[j] += l[j*n+k]
		}
		tot += row[j]
		row[j] /= float64(n)
	}
	tot /= float64(n * n)
	for j := 0; j < n; j++ {
		for k := 0; k < n; k++ {
			l[j*n+k] += tot - row[j] - row[k]
		}
	}
	d := len(rows[0])
	out := make([]float64, d)
	for i := 0; i < d; i++ {
		var s float64
		for j := 0; j < n; j++ {
			xj := float64(rows[j][i])
			for k := 0; k < n; k++ {
				dx := xj - float64(rows[k][i])
				var kv float64
				if binary {
					kv = 1.5 - dx*dx
				} else {
					kv = 1 + math.Exp(-dx*dx/(2*0.25))
				}
				s += kv * l[j*n+k]
			}
		}
		out[i] = s / float64(n)
	}
	return out, nil
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// Explain computes the maps.
func (s *HSIC) Explain(ctx context.Context, m Model, b Batch, t Target) (*Maps, error) {
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
	binary := s.Estimator == "" || s.Estimator == "binary"
	idx := make([][]float64, len(f))
	for i, fi := range f {
		if idx[i], err = hsicIndices(binary, rows, fi); err != nil {
			return nil, fmt.Errorf("%w (image %d)", err, i)
		}
	}
	h, w, _ := imageShape(p.b.X)
	return &Maps{Method: name, Map: cellMaps(idx, gd, h, w), Signed: true, Classes: p.classes, Scores: p.scores,
		Info: map[string][]float64{"forward-passes": passes(len(f), len(rows)+1)}}, nil
}
