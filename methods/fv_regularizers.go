package methods

import "math"

// totalVariation adds to grad (one image [H,W,C]) the gradient of −weight·TV
// and returns TV, the anisotropic total variation of the image,
//
//	TV(x) = Σ |x[y+1,x,c] − x[y,x,c]| + Σ |x[y,x+1,c] − x[y,x,c]|,
//
// summed over the pairs of neighbours inside the image (TensorFlow's
// tf.image.total_variation, which Lucid's total_variation objective uses).
// Where two neighbours are equal the subgradient 0 is taken.
func totalVariation(grad, x []float64, h, w, c int, weight float64) float64 {
	var tv float64
	pair := func(a, b int) {
		d := x[a] - x[b]
		tv += math.Abs(d)
		switch {
		case d > 0:
			grad[a] -= weight
			grad[b] += weight
		case d < 0:
			grad[a] += weight
			grad[b] -= weight
		}
	}
	for y := 0; y < h; y++ {
		for xx := 0; xx < w; xx++ {
			for ch := 0; ch < c; ch++ {
				i := (y*w+xx)*c + ch
				if y+1 < h {
					pair(i+w*c, i)
				}
				if xx+1 < w {
					pair(i+c, i)
				}
			}
		}
	}
	return tv
}

// diversity is the diversity term of Olah et al. (2017) over a batch of n
// images, from their activations A [n, P, C] at a layer (P positions, C
// channels): with the Gram matrices G_i = A_iᵀA_i and Ĝ_i = G_i/‖G_i‖_F,
//
//	D = (1/n) Σ_i Σ_{j≠i} ⟨Ĝ_i, Ĝ_j⟩,
//
// the mean cosine similarity of each image's style to the others' (Lucid's
// diversity objective, which visualisations subtract with a weight). It
// returns D and writes ∂D/∂A into grad:
//
//	∂D/∂Ĝ_i = (2/n) Σ_{j≠i} Ĝ_j =: H_i,
//	∂D/∂G_i = (H_i − ⟨H_i, Ĝ_i⟩ Ĝ_i) / ‖G_i‖,
//	∂D/∂A_i = 2 A_i ∂D/∂G_i   (∂D/∂G_i is symmetric).
//
// An image whose activations are all zero has no style: it adds nothing and
// gets no gradient.
func diversity(grad, a []float32, n, p, c int) float64 {
	grams := make([][]float64, n)
	norms := make([]float64, n)
	sum := make([]float64, c*c)
	for i := 0; i < n; i++ {
		ai := a[i*p*c : (i+1)*p*c]
		g := make([]float64, c*c)
		for q := 0; q < p; q++ {
			row := ai[q*c : (q+1)*c]
			for k, v := range row {
				if v == 0 {
					continue
				}
				for l, u := range row {
					g[k*c+l] += float64(v) * float64(u)
				}
			}
		}
		var s float64
		for _, v := range g {
			s += v * v
		}
		norms[i] = math.Sqrt(s)
		if norms[i] > 0 {
			for k := range g {
				g[k] /= norms[i]
				sum[k] += g[k]
			}
		}
		grams[i] = g
	}
	var d float64
	dg := make([]float64, c*c)
	for i := 0; i < n; i++ {
		gi := grams[i]
		out := grad[i*p*c : (i+1)*p*c]
		clear(out)
		if norms[i] == 0 {
			continue
		}
		var hg float64
		for k := range dg {
			dg[k] = 2 / float64(n) * (sum[k] - gi[k])
			hg += dg[k] * gi[k]
			d += gi[k] * (sum[k] - gi[k]) / float64(n)
		}
		for k := range dg {
			dg[k] = (dg[k] - hg*gi[k]) / norms[i]
		}
		ai := a[i*p*c : (i+1)*p*c]
		for q := 0; q < p; q++ {
			row := ai[q*c : (q+1)*c]
			for l := 0; l < c; l++ {
				var s float64
				for k, v := range row {
					s += float64(v) * dg[k*c+l]
				}
				out[q*c+l] = float32(2 * s)
			}
		}
	}
	return d
}
