//go:build cgo

package methods

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The Fourier parameterization is the documented real Fourier series (a
// direct O(N²) sum) and its adjoint is exact: ⟨Pθ, g⟩ = ⟨θ, Pᵀg⟩, for even
// and odd sizes, one and three channels, with and without decorrelated
// colour.
func TestFourierParam(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		h, w, c int
		decay   float64
		dec     bool
	}{{28, 28, 1, 1, false}, {8, 6, 3, 1, true}, {7, 9, 2, 0.85, false}, {5, 4, 3, 0, false}, {1, 3, 1, 1, false}} {
		p := newFourierParam(tc.h, tc.w, tc.c, tc.decay, tc.dec)
		theta := make([]float64, p.size())
		for i := range theta {
			theta[i] = r.NormFloat64()
		}
		u := make([]float64, tc.h*tc.w*tc.c)
		p.image(u, theta)

		// The series, summed directly.
		want := make([]float64, len(u))
		kw := tc.w/2 + 1
		for ch := 0; ch < tc.c; ch++ {
			for m := 0; m < tc.h; m++ {
				for n := 0; n < tc.w; n++ {
					var s float64
					for ky := 0; ky < tc.h; ky++ {
						for kx := 0; kx < kw; kx++ {
							wk := 2.0
							if kx == 0 || (tc.w%2 == 0 && kx == tc.w/2) {
								wk = 1
							}
							i := ky*kw + kx
							re, im := theta[(ch*tc.h*kw+i)*2], theta[(ch*tc.h*kw+i)*2+1]
							phi := 2 * math.Pi * (float64(ky*m)/float64(tc.h) + float64(kx*n)/float64(tc.w))
							s += wk * p.scale[i] * (re*math.Cos(phi) - im*math.Sin(phi))
						}
					}
					want[(m*tc.w+n)*tc.c+ch] = s
				}
			}
		}
		if tc.dec {
			mixColour(want, decorrelation(), false)
		}
		var worst, size float64
		for i := range u {
			worst = math.Max(worst, math.Abs(u[i]-want[i]))
			size = math.Max(size, math.Abs(want[i]))
		}
		if worst > 1e-12*math.Max(1, size) {
			t.Errorf("%+v: the image differs from the series by %.3g (of %.3g)", tc, worst, size)
		}

		g := make([]float64, len(u))
		for i := range g {
			g[i] = r.NormFloat64()
		}
		back := make([]float64, p.size())
		p.adjoint(back, g)
		var lhs, rhs float64
		for i := range u {
			lhs += u[i] * g[i]
		}
		for i := range theta {
			rhs += theta[i] * back[i]
		}
		if math.Abs(lhs-rhs) > 1e-12*math.Max(1, math.Abs(lhs)) {
			t.Errorf("%+v: ⟨Pθ, g⟩ = %.15g, ⟨θ, Pᵀg⟩ = %.15g", tc, lhs, rhs)
		}
	}
}

// The Fourier blur is the periodic Gaussian blur: a constant image stays,
// the 1/f scale gives low frequencies more weight than high ones, and the
// blur damps a high frequency more than a low one.
func TestFourierScaleAndBlur(t *testing.T) {
	p := newFourierParam(16, 16, 1, 1, false)
	kw := p.kw
	if !(p.scale[1] > p.scale[4] && p.scale[4] > p.scale[8*kw+8]) {
		t.Errorf("scale does not fall with frequency: %v %v %v %v", p.scale[0], p.scale[1], p.scale[4], p.scale[8*kw+8])
	}
	if p.scale[0] != p.scale[1] {
		t.Errorf("the DC coefficient's scale %v is not floored at 1/max(H,W), the first frequency's %v", p.scale[0], p.scale[1])
	}
	theta := make([]float64, p.size())
	for i := range theta {
		theta[i] = 1
	}
	p.blur(theta, 1)
	if theta[0] != 1 || theta[2] >= 1 || theta[2*8] >= theta[2] {
		t.Errorf("blur: DC %v, first frequency %v, eighth %v", theta[0], theta[2], theta[2*8])
	}
}

// A warp's adjoint is exact, an integer shift is roll, and the identity
// copies.
func TestWarp(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h, w, c := 9, 12, 2
	x := make([]float64, h*w*c)
	y := make([]float64, h*w*c)
	for i := range x {
		x[i], y[i] = r.NormFloat64(), r.NormFloat64()
	}
	for _, tc := range []struct{ dy, dx, s, a float64 }{{0, 0, 1, 0}, {2, -3, 1, 0}, {0.5, 1.25, 1.1, 0}, {0, 0, 0.9, 17}, {-1, 4, 1.3, -40}} {
		tr := newWarp(h, w, tc.dy, tc.dx, tc.s, tc.a)
		tx := make([]float64, len(x))
		ty := make([]float64, len(x))
		tr.apply(tx, x, c)
		tr.adjoint(ty, y, c)
		var lhs, rhs float64
		for i := range x {
			lhs += tx[i] * y[i]
			rhs += x[i] * ty[i]
		}
		if math.Abs(lhs-rhs) > 1e-12*math.Max(1, math.Abs(lhs)) {
			t.Errorf("%+v: ⟨Tx, y⟩ = %.15g, ⟨x, Tᵀy⟩ = %.15g", tc, lhs, rhs)
		}
		if tc.s == 1 && tc.a == 0 && tc.dy == math.Trunc(tc.dy) && tc.dx == math.Trunc(tc.dx) {
			src := &tensor.Tensor{Shape: []int{1, h, w, c}, Data: make([]float32, len(x))}
			for i, v := range x {
				src.Data[i] = float32(v)
			}
			dst := tensor.New(1, h, w, c)
			roll(dst, src, int(tc.dy), int(tc.dx))
			for i, v := range tx {
				if float32(v) != dst.Data[i] {
					t.Fatalf("%+v: the shift is not roll at %d: %v, %v", tc, i, v, dst.Data[i])
				}
			}
		}
	}
}

// smoothModel is a pure-Go methods.Model with smooth known gradients: a
// layer "feat" A = tanh(W·x[p] + V·x[p+(0,1)] + b) [N,H,W,K] (the right
// neighbour wraps) and logits z_l = 1/P Σ_p Σ_k U[l,k]·A[p,k].
type smoothModel struct {
	h, w, c, k, l int
	wt, v         []float64 // [k][c]
	b             []float64 // [k]
	u             []float64 // [l][k]
}

func newSmoothModel(h, w, c, k, l int) *smoothModel {
	r := rand.New(rand.NewPCG(5, 6))
	m := &smoothModel{h: h, w: w, c: c, k: k, l: l,
		wt: make([]float64, k*c), v: make([]float64, k*c), b: make([]float64, k), u: make([]float64, l*k)}
	for _, s := range [][]float64{m.wt, m.v, m.b, m.u} {
		for i := range s {
			s[i] = r.NormFloat64()
		}
	}
	return m
}

func (m *smoothModel) forward(x []float32) (pre, act []float64, z []float64) {
	n := len(x) / (m.h * m.w * m.c)
	P := m.h * m.w
	pre = make([]float64, n*P*m.k)
	act = make([]float64, len(pre))
	z = make([]float64, n*m.l)
	for i := 0; i < n; i++ {
		for y := 0; y < m.h; y++ {
			for xx := 0; xx < m.w; xx++ {
				p := y*m.w + xx
				q := y*m.w + (xx+1)%m.w
				for k := 0; k < m.k; k++ {
					s := m.b[k]
					for c := 0; c < m.c; c++ {
						s += m.wt[k*m.c+c]*float64(x[(i*P+p)*m.c+c]) + m.v[k*m.c+c]*float64(x[(i*P+q)*m.c+c])
					}
					j := (i*P+p)*m.k + k
					pre[j], act[j] = s, math.Tanh(s)
					for l := 0; l < m.l; l++ {
						z[i*m.l+l] += m.u[l*m.k+k] * act[j] / float64(P)
					}
				}
			}
		}
	}
	return pre, act, z
}

func (m *smoothModel) Run(ctx context.Context, x *tensor.Tensor, q tfgraph.Query) (*tfgraph.Result, error) {
	n := x.Shape[0]
	P := m.h * m.w
	_, act, z := m.forward(x.Data)
	tensorOf := func(v []float64, shape ...int) *tensor.Tensor {
		t := tensor.New(shape...)
		for i, f := range v {
			t.Data[i] = float32(f)
		}
		return t
	}
	res := &tfgraph.Result{}
	for _, f := range q.Fetch {
		switch f {
		case "feat":
			res.Fetched = append(res.Fetched, tensorOf(act, n, m.h, m.w, m.k))
		case "logits":
			res.Fetched = append(res.Fetched, tensorOf(z, n, m.l))
		default:
			return nil, fmt.Errorf("smoothModel: no tensor %q", f)
		}
	}
	for _, g := range q.Grads {
		if g.End != "" || g.Rules != nil {
			return nil, fmt.Errorf("smoothModel: only the plain gradient at the input")
		}
		dA := make([]float64, len(act))
		switch g.Start {
		case "feat":
			switch {
			case g.Pick != nil:
				for i := 0; i < n; i++ {
					best := -1
					for j := 0; j < P*m.k; j++ {
						if g.Pick.Data[j%len(g.Pick.Data)] != 0 && (best < 0 || act[i*P*m.k+j] > act[i*P*m.k+best]) {
							best = j
						}
					}
					dA[i*P*m.k+best] = 1
				}
			case g.Seed != nil:
				for j := range dA {
					dA[j] = float64(g.Seed.Data[j])
				}
			}
		case "logits", "":
			for i := 0; i < n; i++ {
				for p := 0; p < P; p++ {
					for k := 0; k < m.k; k++ {
						for l := 0; l < m.l; l++ {
							dA[(i*P+p)*m.k+k] += float64(g.Seed.Data[i*m.l+l]) * m.u[l*m.k+k] / float64(P)
						}
					}
				}
			}
		default:
			return nil, fmt.Errorf("smoothModel: no tensor %q", g.Start)
		}
		dx := make([]float64, x.Len())
		for i := 0; i < n; i++ {
			for y := 0; y < m.h; y++ {
				for xx := 0; xx < m.w; xx++ {
					p := y*m.w + xx
					q := y*m.w + (xx+1)%m.w
					for k := 0; k < m.k; k++ {
						j := (i*P+p)*m.k + k
						d := dA[j] * (1 - act[j]*act[j])
						for c := 0; c < m.c; c++ {
							dx[(i*P+p)*m.c+c] += d * m.wt[k*m.c+c]
							dx[(i*P+q)*m.c+c] += d * m.v[k*m.c+c]
						}
					}
				}
			}
		}
		res.Grads = append(res.Grads, tensorOf(dx, x.Shape...))
	}
	return res, nil
}

func (m *smoothModel) Logits() (string, bool) { return "logits", true }
func (m *smoothModel) Head() string           { return "" }
func (m *smoothModel) Output() string         { return "logits" }
func (m *smoothModel) HeadOutput() string     { return "logits" }
func (m *smoothModel) Layer(name string) (tfgraph.Layer, error) {
	if name != "feat" {
		return tfgraph.Layer{}, fmt.Errorf("smoothModel: no layer %q", name)
	}
	return tfgraph.Layer{Name: "feat", Output: "feat"}, nil
}
func (m *smoothModel) CAMLayer() (tfgraph.Layer, error) { return m.Layer("feat") }
func (m *smoothModel) TokenGrid(tfgraph.Layer, string) (tfgraph.Grid, error) {
	return tfgraph.Grid{}, fmt.Errorf("smoothModel: no tokens")
}
func (m *smoothModel) Attentions() []tfgraph.Attention { return nil }
func (m *smoothModel) GAPHead() (tfgraph.GAPHead, error) {
	return tfgraph.GAPHead{}, fmt.Errorf("smoothModel: no GAP head")
}
func (m *smoothModel) Shape(t string) []int64 {
	switch t {
	case "feat":
		return []int64{-1, int64(m.h), int64(m.w), int64(m.k)}
	case "logits":
		return []int64{-1, int64(m.l)}
	}
	return nil
}
func (m *smoothModel) BytesPerImage() int64 { return 1024 }

// checkObjectiveGradient compares the gradient the ascent takes, ∂J/∂θ of
// the whole objective (the target through a fixed transformation, L2, TV,
// diversity, through the range and the parameterization), with central
// differences of J on the coordinates where it is largest and on random
// ones.
func checkObjectiveGradient(t *testing.T, what string, m Model, b Batch, tg Target, fv *FeatureVisualization, warps []*warp, h, tol float64) {
	t.Helper()
	if err := fv.Validate(); err != nil {
		t.Fatal(err)
	}
	x := b.X
	gl, err := setup("fd", m, &b, tg)
	if err != nil {
		t.Fatal(err)
	}
	st := fv.settings()
	a, err := newAscent("fd", m, gl, b, st, 2)
	if err != nil {
		t.Fatal(err)
	}
	n := x.Shape[0]
	tracks := make([]*track, n)
	grad := make([][]float64, n)
	for i := range tracks {
		tracks[i] = a.newTrack(x, i, 0)
		grad[i] = make([]float64, len(tracks[i].theta))
	}
	if st.rng == "clip" { // keep away from the bounds, where J has kinks
		for _, tr := range tracks {
			for p := range tr.theta {
				tr.theta[p] *= 0.4
			}
		}
	}
	ctx := context.Background()
	ob, err := a.evaluate(ctx, tracks, tg.Classes, warps, grad)
	if err != nil {
		t.Fatal(err)
	}
	if st.diversity > 0 && ob.div == 0 {
		t.Fatalf("%s: the diversity term is 0", what)
	}
	scratch := make([][]float64, n)
	for i := range scratch {
		scratch[i] = make([]float64, len(grad[i]))
	}
	J := func() float64 {
		o, err := a.evaluate(ctx, tracks, tg.Classes, warps, scratch)
		if err != nil {
			t.Fatal(err)
		}
		return o.total
	}
	r := rand.New(rand.NewPCG(7, 8))
	var largest float64
	for _, g := range grad {
		for _, v := range g {
			largest = math.Max(largest, math.Abs(v))
		}
	}
	if largest == 0 {
		t.Fatalf("%s: the gradient is 0", what)
	}
	checked, worst := 0, 0.0
	for i, tr := range tracks {
		best := 0
		for p, v := range grad[i] {
			if math.Abs(v) > math.Abs(grad[i][best]) {
				best = p
			}
		}
		for _, p := range []int{best, r.IntN(len(tr.theta)), r.IntN(len(tr.theta)), r.IntN(len(tr.theta))} {
			old := tr.theta[p]
			tr.theta[p] = old + h
			jp := J()
			tr.theta[p] = old - h
			jm := J()
			tr.theta[p] = old
			fd := (jp - jm) / (2 * h)
			d := math.Abs(fd - grad[i][p])
			worst = math.Max(worst, d/largest)
			if d > tol*largest {
				t.Errorf("%s: image %d, θ[%d]: ∂J/∂θ = %.6g, central difference %.6g (|Δ| %.3g, tolerance %.3g)", what, i, p, grad[i][p], fd, d, tol*largest)
			}
			checked++
		}
	}
	t.Logf("%s: J = %.6g, D = %.4g, %d coordinates, largest |∂J/∂θ| %.3g, worst |Δ| %.2g of it", what, ob.total, ob.div, checked, largest, worst)
}

// The ascent follows the gradient of its whole objective, on a smooth
// pure-Go model where central differences are accurate: every
// parameterization and range, every regularizer, a class, a channel's
// strongest activation, its mean and the diversity of a batch of three.
func TestObjectiveGradient(t *testing.T) {
	m := newSmoothModel(8, 10, 3, 4, 3)
	x := tensor.New(3, 8, 10, 3)
	for i := range x.Data {
		x.Data[i] = float32(i%7) / 7
	}
	one := x.Slice(0, 1)
	wp := newWarp(8, 10, 1, -2, 1.15, 23)
	f := func(v float64) *float64 { return &v }
	yes := true
	cases := []struct {
		what         string
		x            *tensor.Tensor
		tg           Target
		fv           FeatureVisualization
		warps        []*warp
		black, white []float32
	}{
		{"pixel clip, class, l2, tv, warp", one, Target{Classes: []int{1}}, FeatureVisualization{L2: f(60), TV: 0.05}, []*warp{wp}, nil, nil},
		{"pixel sigmoid decorrelated, channel max, tv", one, Target{Unit: &Unit{Layer: "feat", Channel: 2}}, FeatureVisualization{Range: "sigmoid", Decorrelate: &yes, TV: 0.1}, []*warp{nil}, nil, nil},
		{"pixel clip, input range [-1, 3] ... [0.5, 1], l2, tv", one, Target{Classes: []int{2}}, FeatureVisualization{L2: f(40), TV: 0.03}, []*warp{wp}, []float32{-1, 0, 0.5}, []float32{3, 1, 1}},
		{"pixel sigmoid decorrelated, input range, tv", one, Target{Classes: []int{1}}, FeatureVisualization{Range: "sigmoid", Decorrelate: &yes, TV: 0.2}, []*warp{wp}, []float32{-2, -2, -2}, []float32{2, 2, 2}},
		{"pixel none, input start, l2", one, Target{Classes: []int{2}}, FeatureVisualization{Range: "none", Init: "input", L2: f(200)}, []*warp{wp}, nil, nil},
		{"fourier sigmoid decorrelated, channel mean, l2, warp", one, Target{Unit: &Unit{Layer: "feat", Channel: 1, Reduce: "mean"}}, FeatureVisualization{Param: "fourier", L2: f(30), TV: 0.02}, []*warp{wp}, nil, nil},
		{"fourier none decay 0.5, class", one, Target{Classes: []int{0}}, FeatureVisualization{Param: "fourier", Range: "none", Decay: f(0.5)}, []*warp{wp}, nil, nil},
		{"pixel clip, diversity over 3", x, Target{Unit: &Unit{Layer: "feat", Channel: 3, Reduce: "mean"}}, FeatureVisualization{Diversity: 5, InitSD: f(0.5)}, []*warp{wp, nil, newWarp(8, 10, 0, 3, 1, 0)}, nil, nil},
		{"pixel sigmoid, channel max, diversity over 2 (one backward pass)", x.Slice(0, 2), Target{Unit: &Unit{Layer: "feat", Channel: 1}}, FeatureVisualization{Range: "sigmoid", Diversity: 2, InitSD: f(0.5)}, []*warp{nil, wp}, nil, nil},
		{"fourier sigmoid, diversity over 2, class", x.Slice(0, 2), Target{Classes: []int{0, 2}}, FeatureVisualization{Param: "fourier", Diversity: 3, DiversityLayer: "feat"}, []*warp{nil, wp}, nil, nil},
	}
	for _, tc := range cases {
		checkObjectiveGradient(t, tc.what, m, Batch{X: tc.x, Black: tc.black, White: tc.white}, tc.tg, &tc.fv, tc.warps, 1e-3, 1e-3)
	}
}

// The diversity term is what its formula says: 0 for one image, −... for
// identical images (every pair's cosine is 1: D = n−1), and its gradient
// is the one of the formula, by central differences on the activations.
func TestDiversity(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	n, p, c := 3, 5, 4
	a := make([]float32, n*p*c)
	for i := range a {
		a[i] = float32(math.Abs(r.NormFloat64()))
	}
	grad := make([]float32, len(a))
	same := make([]float32, len(a))
	for i := range same {
		same[i] = a[i%(p*c)] * 2
	}
	if d := diversity(grad, same, n, p, c); math.Abs(d-float64(n-1)) > 1e-6 {
		t.Errorf("identical images: D = %v, want %d", d, n-1)
	}
	if d := diversity(grad[:p*c], a[:p*c], 1, p, c); d != 0 {
		t.Errorf("one image: D = %v", d)
	}
	diversity(grad, a, n, p, c)
	scratch := make([]float32, len(a))
	for _, j := range []int{0, 7, 19, 33, 59} {
		old := a[j]
		h := float32(1e-2)
		a[j] = old + h
		dp := diversity(scratch, a, n, p, c)
		a[j] = old - h
		dm := diversity(scratch, a, n, p, c)
		a[j] = old
		fd := (dp - dm) / (2 * float64(h))
		if math.Abs(fd-float64(grad[j])) > 1e-3*math.Max(1, math.Abs(fd)) {
			t.Errorf("∂D/∂A[%d] = %v, central difference %v", j, grad[j], fd)
		}
	}
}

// The same check on fmnist_vgg, whose gradient TensorFlow computes in
// float32 through ReLUs and max pooling: a class logit and a channel's
// strongest activation, pixel and Fourier, through a transformation, with
// a tolerance of 2% of the largest derivative for float32 rounding and the
// kinks a step may cross.
func TestObjectiveGradientVGG(t *testing.T) {
	mod, err := tfgraph.Load("../savedmodels/fmnist_vgg", &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	fl, err := mod.Flat()
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(1, 28, 28, 1)
	wp := newWarp(28, 28, 2, -1, 1.1, 12)
	l2 := 5.0
	for _, tc := range []struct {
		what string
		tg   Target
		fv   FeatureVisualization
	}{
		{"pixel clip, class 3, l2, tv", Target{Classes: []int{3}}, FeatureVisualization{L2: &l2, TV: 0.01}},
		{"fourier sigmoid, conv2_2:5 max", Target{Unit: &Unit{Layer: "conv2_2", Channel: 5}}, FeatureVisualization{Param: "fourier", TV: 0.01}},
	} {
		checkObjectiveGradient(t, tc.what, fl, Batch{X: x}, tc.tg, &tc.fv, []*warp{wp}, 3e-4, 2e-2)
	}
}
