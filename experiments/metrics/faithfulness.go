package metrics

import (
	"fmt"
	"math"
	"sort"
)

// PixelOrder ranks the pixels of a map from the most to the least salient
// (the largest value first; signed maps put positive evidence first), ties
// by position, the lower first.
func PixelOrder(m []float32) []int {
	idx := make([]int, len(m))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return m[idx[a]] > m[idx[b]] })
	return idx
}

// Scorer scores a batch of images ([n][H·W·C] values), one score each
// (the probability of the explained class). The images are valid during
// the call only.
type Scorer func(images [][]float32) ([]float64, error)

// PerturbationCurve is the deletion or insertion curve of Petsiuk et al.
// (2018, RISE): for k = 0 … steps, the score of the image in which the first
// round(k/steps · H·W) pixels of order (all their c channels) come from
// `to` and the others from `from`. Deletion goes from the image to a fill
// (from = image, to = fill); insertion from a start image to the image
// (from = start, to = image). The curve has steps+1 points. The images are
// made and scored in groups of at most CurveGroup, so that the memory does
// not grow with steps.
func PerturbationCurve(from, to []float32, c int, order []int, steps int, score Scorer) ([]float64, error) {
	pixels := len(order)
	if len(from) != pixels*c || len(to) != pixels*c {
		return nil, fmt.Errorf("metrics: perturbation of images of %d and %d values with %d pixels of %d channels", len(from), len(to), pixels, c)
	}
	if steps < 1 {
		return nil, fmt.Errorf("metrics: perturbation curve of %d steps", steps)
	}
	group := min(steps+1, CurveGroup)
	images := make([][]float32, group)
	for i := range images {
		images[i] = make([]float32, len(from))
	}
	cur := append([]float32(nil), from...)
	done := 0
	out := make([]float64, 0, steps+1)
	for first := 0; first <= steps; first += group {
		imgs := images[:min(group, steps+1-first)]
		for j, img := range imgs {
			upto := int(math.Round(float64(first+j) * float64(pixels) / float64(steps)))
			for ; done < upto; done++ {
				p := order[done]
				copy(cur[p*c:(p+1)*c], to[p*c:(p+1)*c])
			}
			copy(img, cur)
		}
		s, err := score(imgs)
		if err != nil {
			return nil, err
		}
		if len(s) != len(imgs) {
			return nil, fmt.Errorf("metrics: scorer gave %d scores for %d images", len(s), len(imgs))
		}
		out = append(out, s...)
	}
	return out, nil
}

// CurveGroup is the most images PerturbationCurve gives its Scorer at once.
const CurveGroup = 128

// CurveAUC is the area under a curve sampled at evenly spaced points of
// [0, 1], by the trapezoidal rule.
func CurveAUC(curve []float64) float64 {
	if len(curve) < 2 {
		return math.NaN()
	}
	var s float64
	for i := 1; i < len(curve); i++ {
		s += (curve[i-1] + curve[i]) / 2
	}
	return s / float64(len(curve)-1)
}

// HistogramEntropy is the discrete entropy (in nats) of the histogram of
// |m| scaled to [0, 1] by its maximum, in bins equal bins: the complexity
// measure of the efficient MPRT (Hedström et al. 2024, with Quantus'
// discrete_entropy). A zero map has none (NaN).
func HistogramEntropy(m []float32, bins int) float64 {
	var hi float64
	for _, v := range m {
		hi = max(hi, math.Abs(float64(v)))
	}
	if hi == 0 || bins < 1 {
		return math.NaN()
	}
	counts := make([]int, bins)
	for _, v := range m {
		b := int(math.Abs(float64(v)) / hi * float64(bins))
		counts[min(b, bins-1)]++
	}
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(len(m))
			h -= p * math.Log(p)
		}
	}
	return h
}

// ImputeLinear fills the removed pixels of an h×w×c image by ROAD's noisy
// linear imputation (Rong et al. 2022): each removed pixel takes the
// weighted mean of its 8 neighbours (weight 1/6 for the 4 direct ones,
// 1/12 for the diagonal ones, renormalised at the borders), all removed
// pixels at once — the solution of that linear system, by successive
// over-relaxation to 1e-6 — then Gaussian noise of standard deviation noise
// from normal (nil or noise 0: none). Kept pixels are unchanged. A linear
// ramp is imputed exactly inside the image.
func ImputeLinear(img []float32, h, w, c int, removed []bool, noise float64, normal func() float64) ([]float32, error) {
	if len(img) != h*w*c || len(removed) != h*w {
		return nil, fmt.Errorf("metrics: imputation of %d values and a mask of %d as %d×%d×%d", len(img), len(removed), h, w, c)
	}
	out := make([]float64, len(img))
	var todo []int
	for p := range removed {
		for k := range c {
			out[p*c+k] = float64(img[p*c+k])
		}
		if removed[p] {
			todo = append(todo, p)
		}
	}
	if len(todo) == len(removed) {
		return nil, fmt.Errorf("metrics: imputation with every pixel removed")
	}
	// Start removed pixels at the mean of the kept ones.
	for k := range c {
		var s float64
		var n int
		for p := range removed {
			if !removed[p] {
				s += out[p*c+k]
				n++
			}
		}
		for _, p := range todo {
			out[p*c+k] = s / float64(n)
		}
	}
	type nb struct {
		q int
		w float64
	}
	neigh := make([][]nb, len(todo))
	for i, p := range todo {
		y, x := p/w, p%w
		var sw float64
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				yy, xx := y+dy, x+dx
				if (dy == 0 && dx == 0) || yy < 0 || yy >= h || xx < 0 || xx >= w {
					continue
				}
				wt := 1.0 / 6
				if dy != 0 && dx != 0 {
					wt = 1.0 / 12
				}
				neigh[i] = append(neigh[i], nb{yy*w + xx, wt})
				sw += wt
			}
		}
		for j := range neigh[i] {
			neigh[i][j].w /= sw
		}
	}
	// Successive over-relaxation: Gauss–Seidel steps lengthened by ω,
	// which converges to the same solution in far fewer sweeps over large
	// holes.
	const omega = 1.8
	for iter := 0; iter < 20000; iter++ {
		var change float64
		for i, p := range todo {
			for k := range c {
				var v float64
				for _, n := range neigh[i] {
					v += n.w * out[n.q*c+k]
				}
				d := v - out[p*c+k]
				change = max(change, math.Abs(d))
				out[p*c+k] += omega * d
			}
		}
		if change < 1e-6 {
			break
		}
	}
	res := make([]float32, len(out))
	for i, v := range out {
		res[i] = float32(v)
	}
	if noise > 0 && normal != nil {
		for _, p := range todo {
			for k := range c {
				res[p*c+k] += float32(noise * normal())
			}
		}
	}
	return res, nil
}
