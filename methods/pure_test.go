package methods_test

// The methods on methodstest's pure-Go net, without TensorFlow: make test
// runs these with CGO_ENABLED=0 too. Each map is checked against an oracle
// computed another way (finite differences of the net's float64 forward
// pass, methodstest.Oracle's finite-difference Jacobians under a rule set, a
// formula of the paper on those), or against a property that holds exactly
// on this net.

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/methods/methodstest"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

var _ methods.Model = (*methodstest.Net)(nil)

// pureImages is a batch of six images of the pure-Go net.
func pureImages() *tensor.Tensor { return methodstest.Images(6, 1) }

// pureTargets are the predicted classes and given ones.
var pureTargets = []methods.Target{{}, {Classes: []int{0, 1, 2, 3, 4, 0}}}

func pureExplain(t *testing.T, name string, opts map[string]any, m methods.Model, x *tensor.Tensor, tg methods.Target) *methods.Maps {
	t.Helper()
	mt, err := methods.New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := mt.Explain(context.Background(), m, methods.Batch{X: x}, tg)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// closeTo fails unless got and want agree to rel of want's largest value.
func closeTo(t *testing.T, what string, got, want *tensor.Tensor, rel float64) {
	t.Helper()
	if got == nil || want == nil || !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("%s: shapes %v and %v", what, shapeOf(got), shapeOf(want))
	}
	if d, _ := tensor.MaxAbsDiff(got, want); d > rel*want.MaxAbs() || want.MaxAbs() == 0 {
		t.Errorf("%s: differs by %.3g (largest value %.3g)", what, d, want.MaxAbs())
	}
}

func shapeOf(x *tensor.Tensor) []int {
	if x == nil {
		return nil
	}
	return x.Shape
}

// predicted are the net's classes and logits of x, in float64.
func predicted(t *testing.T, n *methodstest.Net, x *tensor.Tensor) ([]int, [][]float64) {
	logits, err := n.Logits64(x)
	if err != nil {
		t.Fatal(err)
	}
	cls := make([]int, len(logits))
	for i, row := range logits {
		for c, v := range row {
			if v > row[cls[i]] {
				cls[i] = c
			}
		}
	}
	return cls, logits
}

// fdGradient is ∂S_c/∂x of each image by central differences of the net's
// float64 forward pass.
func fdGradient(t *testing.T, n *methodstest.Net, x *tensor.Tensor, classes []int) *tensor.Tensor {
	const h = 1e-5 // on float32 inputs (the step taken is measured)
	out := tensor.New(x.Shape...)
	per := tensor.Size(x.Shape[1:])
	for i := 0; i < x.Shape[0]; i++ {
		img := x.Slice(i, i+1).Clone()
		for p := 0; p < per; p++ {
			v := img.Data[p]
			img.Data[p] = v + h
			hi, _ := n.Logits64(img)
			img.Data[p] = v - h
			lo, _ := n.Logits64(img)
			img.Data[p] = v
			// The step in float32 is not exactly h.
			step := float64(float32(v+h)) - float64(float32(v-h))
			out.Data[i*per+p] = float32((hi[0][classes[i]] - lo[0][classes[i]]) / step)
		}
	}
	return out
}

// oracle is methodstest.Oracle.
func oracle(t *testing.T, n *methodstest.Net, x *tensor.Tensor, classes []int, end string, rs *tfgraph.RuleSet) *tensor.Tensor {
	t.Helper()
	o, err := n.Oracle(x, classes, end, rs)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// checkClasses checks the classes and scores of maps.
func checkClasses(t *testing.T, what string, got *methods.Maps, classes []int, logits [][]float64) {
	t.Helper()
	if !slices.Equal(got.Classes, classes) {
		t.Fatalf("%s: classes %v, want %v", what, got.Classes, classes)
	}
	for i, c := range classes {
		if math.Abs(float64(got.Scores[i])-logits[i][c]) > 1e-5 {
			t.Errorf("%s: image %d: score %g, logit %g", what, i, got.Scores[i], logits[i][c])
		}
	}
}

// Gradient and gradient × input against finite differences of the logit,
// for the predicted and given classes; their maps reduce the channels (the
// largest magnitude; the sum).
func TestPureGradient(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	pred, logits := predicted(t, n, x)
	for _, tg := range pureTargets {
		classes := tg.Classes
		if classes == nil {
			classes = pred
		}
		want := fdGradient(t, n, x, classes)
		g := pureExplain(t, "gradient", nil, n, x, tg)
		checkClasses(t, "gradient", g, classes, logits)
		closeTo(t, "gradient", g.Raw, want, 1e-4)
		gx := pureExplain(t, "gradient-x-input", nil, n, x, tg)
		checkClasses(t, "gradient-x-input", gx, classes, logits)
		for i := range want.Data {
			want.Data[i] *= x.Data[i]
		}
		closeTo(t, "gradient-x-input", gx.Raw, want, 1e-4)
		for p := range g.Map.Data {
			var mx, sum float32
			for c := 0; c < methodstest.Chans; c++ {
				mx = max(mx, float32(math.Abs(float64(g.Raw.Data[p*methodstest.Chans+c]))))
				sum += gx.Raw.Data[p*methodstest.Chans+c]
			}
			if g.Map.Data[p] != mx || math.Abs(float64(gx.Map.Data[p]-sum)) > 1e-6 {
				t.Fatalf("pixel %d: maps %g and %g; channel reductions %g and %g", p, g.Map.Data[p], gx.Map.Data[p], mx, sum)
			}
		}
	}
}

// Guided Backprop and DeconvNet against the oracle of their rule sets; they
// are not the gradient on this net.
func TestPureGuidedBackpropAndDeconvNet(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	pred, logits := predicted(t, n, x)
	for _, c := range []struct {
		name string
		rs   *tfgraph.RuleSet
	}{{"guided-backprop", tfgraph.Guided}, {"deconvnet", tfgraph.DeconvNet}} {
		for _, tg := range pureTargets {
			classes := tg.Classes
			if classes == nil {
				classes = pred
			}
			got := pureExplain(t, c.name, nil, n, x, tg)
			checkClasses(t, c.name, got, classes, logits)
			closeTo(t, c.name, got.Raw, oracle(t, n, x, classes, "", c.rs), 1e-5)
			if d, _ := tensor.MaxAbsDiff(got.Raw, oracle(t, n, x, classes, "", tfgraph.Plain)); d < 1e-3*got.Raw.MaxAbs() {
				t.Errorf("%s is the gradient", c.name)
			}
		}
	}
}

// layerOf fetches conv2's activations A and computes G = ∂S_c/∂A with the
// oracle.
func layerOf(t *testing.T, n *methodstest.Net, x *tensor.Tensor, classes []int) (a, g *tensor.Tensor) {
	res, err := n.Run(context.Background(), x, tfgraph.Query{Fetch: []string{"conv2/Relu:0"}})
	if err != nil {
		t.Fatal(err)
	}
	return res.Fetched[0], oracle(t, n, x, classes, "conv2/Relu:0", tfgraph.Plain)
}

// camByFormula is M[n,i,j] = f(Σ_k w(n,k,i,j)·A[n,i,j,k]) for the weights of
// a CAM method, with a final ReLU.
func camByFormula(a *tensor.Tensor, w func(n, k, p int) float64) *tensor.Tensor {
	nn, h, wd, k := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
	out := tensor.New(nn, h, wd)
	for i := 0; i < nn; i++ {
		for p := 0; p < h*wd; p++ {
			var s float64
			for c := 0; c < k; c++ {
				s += w(i, c, p) * float64(a.Data[(i*h*wd+p)*k+c])
			}
			out.Data[i*h*wd+p] = float32(max(s, 0))
		}
	}
	return out
}

// Grad-CAM, Grad-CAM++ and LayerCAM by their formulas on A and the oracle's
// G; Guided Grad-CAM is Guided Backprop times the upsampled Grad-CAM.
func TestPureGradCAMFamily(t *testing.T) {
	for _, n := range []*methodstest.Net{methodstest.New(), methodstest.NewGAP()} {
		x := pureImages()
		pred, logits := predicted(t, n, x)
		for _, tg := range pureTargets {
			classes := tg.Classes
			if classes == nil {
				classes = pred
			}
			a, g := layerOf(t, n, x, classes)
			h, w, k := a.Shape[1], a.Shape[2], a.Shape[3]
			at := func(i, c, p int) float64 { return float64(g.Data[(i*h*w+p)*k+c]) }
			// Grad-CAM: α_k = mean_ij G.
			alpha := func(i, c, _ int) float64 {
				var s float64
				for p := 0; p < h*w; p++ {
					s += at(i, c, p)
				}
				return s / float64(h*w)
			}
			// Grad-CAM++: Σ_ij G²/(2G² + Σ_ab A·G³)·ReLU(G).
			plus := func(i, c, _ int) float64 {
				var sumA, s float64
				for p := 0; p < h*w; p++ {
					sumA += float64(a.Data[(i*h*w+p)*k+c])
				}
				for p := 0; p < h*w; p++ {
					g1 := at(i, c, p)
					if den := 2*g1*g1 + sumA*g1*g1*g1; den != 0 {
						s += g1 * g1 / den * max(g1, 0)
					}
				}
				return s
			}
			// LayerCAM: ReLU(G) at each position.
			layer := func(i, c, p int) float64 { return max(at(i, c, p), 0) }
			for _, c := range []struct {
				name string
				w    func(n, k, p int) float64
			}{{"gradcam", alpha}, {"gradcam++", plus}, {"layercam", layer}} {
				got := pureExplain(t, c.name, nil, n, x, tg)
				checkClasses(t, c.name, got, classes, logits)
				if got.Layer != "conv2" {
					t.Errorf("%s: layer %q", c.name, got.Layer)
				}
				closeTo(t, c.name, got.LowRes, camByFormula(a, c.w), 1e-5)
				up, _ := tensor.Resize(got.LowRes, methodstest.Height, methodstest.Width)
				closeTo(t, c.name+" upsampled", got.Map, up, 1e-6)
			}
			gg := pureExplain(t, "guided-gradcam", nil, n, x, tg)
			cam := pureExplain(t, "gradcam", nil, n, x, tg)
			want := oracle(t, n, x, classes, "", tfgraph.Guided)
			for i := range want.Data {
				want.Data[i] *= cam.Map.Data[i/methodstest.Chans]
			}
			closeTo(t, "guided-gradcam", gg.Raw, want, 1e-5)
		}
	}
}

// On a global-average-pooling head, Grad-CAM is CAM with a ReLU up to the
// factor 1/(h·w): ∂S_c/∂A^k_ij = W[k,c]/(h·w) everywhere. CAM does not
// apply to the net without that head.
func TestPureGradCAMIsCAM(t *testing.T) {
	n, x := methodstest.NewGAP(), pureImages()
	for _, tg := range pureTargets {
		gc := pureExplain(t, "gradcam", nil, n, x, tg)
		cam := pureExplain(t, "cam", map[string]any{"relu": true}, n, x, tg)
		scaled := gc.LowRes.Clone()
		for i := range scaled.Data {
			scaled.Data[i] *= 16
		}
		closeTo(t, "16 × gradcam", scaled, cam.LowRes, 1e-5)
		if !slices.Equal(gc.Classes, cam.Classes) {
			t.Errorf("classes %v and %v", gc.Classes, cam.Classes)
		}
	}
	cam, _ := methods.New("cam", nil)
	_, err := cam.Explain(context.Background(), methodstest.New(), methods.Batch{X: x}, methods.Target{})
	var na *methods.NotApplicableError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "global average pooling") {
		t.Errorf("cam on the pooled net: %v", err)
	}
}

// Integrated Gradients: with the midpoint rule it is (x − x′) ⊙ the mean
// of ∇S_c at x′ + α_k (x − x′), α_k = (k + ½)/m, by the oracle; with many
// steps it meets completeness, Σ raw = S_c(x) − S_c(x′), to the error of a
// quadrature of a piecewise-constant integrand (O(1/m) at each ReLU and
// max-pool switch along the path), and reports that error.
func TestPureIntegratedGradients(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	pred, logits := predicted(t, n, x)
	const m = 8
	got := pureExplain(t, "integrated-gradients", map[string]any{"steps": m, "rule": "riemann-middle"}, n, x, methods.Target{})
	checkClasses(t, "integrated-gradients", got, pred, logits)
	want := tensor.New(x.Shape...)
	for k := 0; k < m; k++ {
		at := x.Clone()
		for i := range at.Data {
			at.Data[i] *= (float32(k) + 0.5) / m // black is 0
		}
		g := oracle(t, n, at, pred, "", tfgraph.Plain)
		for i := range want.Data {
			want.Data[i] += x.Data[i] * g.Data[i] / m
		}
	}
	closeTo(t, "integrated-gradients, midpoint rule", got.Raw, want, 1e-5)
	many := pureExplain(t, "integrated-gradients", map[string]any{"steps": 256}, n, x, methods.Target{Classes: pred})
	base, _ := n.Logits64(tensor.New(x.Shape...))
	for i, c := range pred {
		var sum float64
		for _, v := range many.Raw.Item(i).Data {
			sum += float64(v)
		}
		delta := logits[i][c] - base[0][c]
		if e := math.Abs(sum-delta) / math.Abs(delta); e > 5e-3 || math.Abs(many.Info["completeness-error"][i]-e) > 1e-5 {
			t.Errorf("image %d: Σ raw %g, ΔS %g (error %.2g, reported %.2g)", i, sum, delta, e, many.Info["completeness-error"][i])
		}
	}
}

// SmoothGrad is the mean gradient over the noisy copies x + σ·ε_s, σ =
// noise·(max x − min x), for the classes of the clean images; the same seed
// gives the same bytes.
func TestPureSmoothGrad(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	pred, _ := predicted(t, n, x)
	const samples, noise = 3, 0.2
	eps := methodstest.Images(samples, 9)
	for i := range eps.Data {
		eps.Data[i] = 2*eps.Data[i] - 1
	}
	sg := &methods.SmoothGrad{Samples: samples, Noise: ptr(noise), NoiseImages: eps}
	got, err := sg.Explain(context.Background(), n, methods.Batch{X: x}, methods.Target{})
	if err != nil {
		t.Fatal(err)
	}
	per := tensor.Size(x.Shape[1:])
	want := tensor.New(x.Shape...)
	for i := 0; i < x.Shape[0]; i++ {
		img := x.Item(i)
		lo, hi := img.Range()
		sigma := float32(noise) * (hi - lo)
		noisy := tensor.New(samples, methodstest.Height, methodstest.Width, methodstest.Chans)
		for s := 0; s < samples; s++ {
			for p := 0; p < per; p++ {
				noisy.Data[s*per+p] = img.Data[p] + sigma*eps.Data[s*per+p]
			}
		}
		g := oracle(t, n, noisy, []int{pred[i], pred[i], pred[i]}, "", tfgraph.Plain)
		for s := 0; s < samples; s++ {
			for p := 0; p < per; p++ {
				want.Data[i*per+p] += g.Data[s*per+p] / samples
			}
		}
	}
	closeTo(t, "smoothgrad", got.Raw, want, 1e-5)
	seeded := func(seed uint64) *methods.Maps {
		return pureExplain(t, "smoothgrad", map[string]any{"samples": 4, "seed": seed}, n, x, methods.Target{})
	}
	a, b, c := seeded(1), seeded(1), seeded(2)
	if !tensor.Equal(a.Raw, b.Raw) {
		t.Error("the same seed gave other maps")
	}
	if tensor.Equal(a.Raw, c.Raw) {
		t.Error("another seed gave the same maps")
	}
}

func ptr[T any](v T) *T { return &v }

// Occlusion with four windows that tile the image: each pixel gets the drop
// of the logit when its quadrant is black.
func TestPureOcclusion(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	pred, logits := predicted(t, n, x)
	got := pureExplain(t, "occlusion", map[string]any{"patch": 4, "stride": 4}, n, x, methods.Target{})
	checkClasses(t, "occlusion", got, pred, logits)
	want := tensor.New(x.Shape[0], methodstest.Height, methodstest.Width)
	for i, c := range pred {
		for q := 0; q < 4; q++ {
			y0, x0 := 4*(q/2), 4*(q%2)
			img := x.Slice(i, i+1).Clone()
			for y := y0; y < y0+4; y++ {
				for xx := x0; xx < x0+4; xx++ {
					for ch := 0; ch < methodstest.Chans; ch++ {
						img.Data[(y*methodstest.Width+xx)*methodstest.Chans+ch] = 0
					}
				}
			}
			occ, _ := n.Logits64(img)
			for y := y0; y < y0+4; y++ {
				for xx := x0; xx < x0+4; xx++ {
					want.Data[(i*methodstest.Height+y)*methodstest.Width+xx] = float32(logits[i][c] - occ[0][c])
				}
			}
		}
	}
	closeTo(t, "occlusion", got.Map, want, 1e-5)
}

// sensitivity is a method written outside the package: Σ_c (∂S/∂I_c)², from
// a Pass, taking part in Shares.
type sensitivity struct{ rules *tfgraph.RuleSet }

func (sensitivity) Name() string { return "sensitivity" }

func (s sensitivity) Pass() methods.Pass { return methods.Pass{Rules: []*tfgraph.RuleSet{s.rules}} }

func (s sensitivity) Explain(ctx context.Context, m methods.Model, b methods.Batch, t methods.Target) (*methods.Maps, error) {
	p, err := s.Pass().Run(ctx, s.Name(), m, b, t)
	if err != nil {
		return nil, err
	}
	g := p.Input[0]
	out := &methods.Maps{Method: s.Name(), Map: tensor.New(g.Shape[:3]...), Raw: g, Classes: p.Classes, Scores: p.Scores}
	for i, v := range g.Data {
		out.Map.Data[i/g.Shape[3]] += v * v
	}
	return out, nil
}

// Share: one run does the work of the single-pass methods, a method written
// outside the package included; under its context they run the net no more
// and give the bytes of separate calls (the net computes each image alone);
// a Pass that asks for more than was shared, or another batch, runs.
func TestPureShare(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	names := []string{"gradient", "gradient-x-input", "guided-backprop", "deconvnet", "gradcam", "gradcam++", "layercam", "guided-gradcam", "smoothgrad"}
	var ms []methods.Method
	for _, name := range names {
		m, err := methods.New(name, map[string]any{"memory_mb": 1})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	ms = append(ms, sensitivity{rules: tfgraph.Plain})
	names = append(names, "sensitivity")
	b := methods.Batch{X: x}
	for _, tg := range []methods.Target{{}, {Classes: []int{1, 2, 3, 4, 0, 1}, Layer: "relu1"}} {
		ctx := context.Background()
		before := n.Runs()
		sctx := methods.Share(ctx, n, b, tg, ms)
		if runs := n.Runs() - before; runs != 1 {
			t.Errorf("target %+v: Share made %d runs, want 1", tg, runs)
		}
		for i, m := range ms {
			want, err := m.Explain(ctx, n, b, tg)
			if err != nil {
				t.Fatal(err)
			}
			before := n.Runs()
			got, err := m.Explain(sctx, n, b, tg)
			if err != nil {
				t.Fatal(err)
			}
			if runs := n.Runs() - before; (runs == 0) == (names[i] == "smoothgrad") {
				t.Errorf("%s: %d runs under Share", names[i], runs)
			}
			for _, pair := range [][2]*tensor.Tensor{{want.Map, got.Map}, {want.Raw, got.Raw}, {want.LowRes, got.LowRes}} {
				if (pair[0] == nil) != (pair[1] == nil) || pair[0] != nil && !tensor.Equal(pair[0], pair[1]) {
					t.Errorf("%s: shared maps differ", names[i])
				}
			}
			if !slices.Equal(want.Classes, got.Classes) || !slices.Equal(want.Scores, got.Scores) {
				t.Errorf("%s: classes %v %v, shared %v %v", names[i], want.Classes, want.Scores, got.Classes, got.Scores)
			}
		}
		// Gradient and the outside method share the plain signal; a Pass
		// of a rule set that was not shared, another batch and another
		// target run the net.
		before = n.Runs()
		plain := methods.Share(ctx, n, b, tg, []methods.Method{ms[0], ms[len(ms)-1]})
		if _, err := ms[len(ms)-1].Explain(plain, n, b, tg); err != nil {
			t.Fatal(err)
		}
		if runs := n.Runs() - before; runs != 1 {
			t.Errorf("a Share of gradient and sensitivity: %d runs, want 1", runs)
		}
		if _, err := ms[2].Explain(plain, n, b, tg); err != nil {
			t.Fatal(err)
		}
		if _, err := ms[0].Explain(sctx, n, methods.Batch{X: x.Clone()}, tg); err != nil {
			t.Fatal(err)
		}
		if _, err := ms[0].Explain(sctx, n, b, methods.Target{Classes: []int{0, 0, 0, 0, 0, 0}}); err != nil {
			t.Fatal(err)
		}
		if runs := n.Runs() - before; runs != 4 {
			t.Errorf("unshared work: %d runs, want 1 + 3", runs)
		}
	}
	// An outside method's Pass under a rule set the net lacks says so.
	_, err := sensitivity{rules: &tfgraph.RuleSet{Name: "lrp-z"}}.Explain(context.Background(), n, b, methods.Target{})
	if err == nil || !strings.Contains(err.Error(), `rule set "lrp-z"`) {
		t.Errorf("an unknown rule set: %v", err)
	}
}

// Chunks under a memory budget: one run per chunk, the bytes of one run.
func TestPureChunks(t *testing.T) {
	x := pureImages()
	whole, small := methodstest.New(), methodstest.New()
	small.PerImage = 400 << 10 // two images in 1 MiB
	for _, name := range []string{"gradient", "guided-gradcam", "gradcam++", "occlusion", "integrated-gradients"} {
		opts := map[string]any{"memory_mb": 1}
		if name == "integrated-gradients" {
			opts["steps"] = 3
		}
		want := pureExplain(t, name, opts, whole, x, methods.Target{})
		before := small.Runs()
		got := pureExplain(t, name, opts, small, x, methods.Target{})
		if !tensor.Equal(want.Map, got.Map) {
			t.Errorf("%s: chunked maps differ", name)
		}
		if runs := small.Runs() - before; name == "gradient" && runs != 3 {
			t.Errorf("gradient: %d runs for 6 images in chunks of 2, want 3", runs)
		}
	}
}

// A Goal gives a method its seeds (the one-hot of given classes, or none:
// the predicted class in the run) and the scores of its Start tensor.
func TestPureGoal(t *testing.T) {
	n, x := methodstest.New(), pureImages()
	pred, logits := predicted(t, n, x)
	for _, tg := range pureTargets {
		g, err := methods.Resolve("mine", n, methods.Batch{X: x}, tg)
		if err != nil {
			t.Fatal(err)
		}
		gr := g.Grad("", nil, 2, 5)
		if tg.Classes == nil && gr.Seed != nil || tg.Classes != nil && !tensor.SameShape(gr.Seed.Shape, []int{3, methodstest.Classes}) || gr.Start != "dense/BiasAdd:0" {
			t.Fatalf("grad %+v", gr)
		}
		res, err := n.Run(context.Background(), x.Slice(2, 5), tfgraph.Query{Fetch: []string{g.Start()}, Grads: []tfgraph.Grad{gr}})
		if err != nil {
			t.Fatal(err)
		}
		classes, scores := g.Values(res.Fetched[0], 2, 5)
		want := tg.Classes
		if want == nil {
			want = pred
		}
		for i, c := range classes {
			if c != want[2+i] || math.Abs(float64(scores[i])-logits[2+i][c]) > 1e-5 {
				t.Errorf("image %d: class %d score %g", 2+i, c, scores[i])
			}
		}
		closeTo(t, "the goal's signal", res.Grads[0], oracle(t, n, x.Slice(2, 5), want[2:5], "", tfgraph.Plain), 1e-5)
	}
	if _, err := methods.Resolve("mine", n, methods.Batch{X: x}, methods.Target{Classes: []int{7}}); err == nil || !strings.HasPrefix(err.Error(), "methods: mine: 1 classes for 6 images") {
		t.Errorf("Resolve with one class: %v", err)
	}
}

// Blur IG's constant border is black (Batch.Black): an image that is black
// everywhere stays itself under every blur, so its map is 0 and so is its
// score difference, for black 0 (PAIR's zeros) as for a black of another
// value (a caffe-style model's −mean); an image of another value blurs
// towards black at the border. With Black nil or 0 the bytes are PAIR's
// zeros border, unchanged.
func TestPureBlurIGBlackBorder(t *testing.T) {
	n := methodstest.New()
	x := pureImages()
	c := x.Shape[3]
	opts := map[string]any{"steps": 8, "max_sigma": 4}
	run := func(x *tensor.Tensor, black []float32) *methods.Maps {
		t.Helper()
		m, err := methods.New("blur-ig", opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Explain(context.Background(), n, methods.Batch{X: x, Black: black}, methods.Target{Classes: []int{0, 1, 2, 3, 4, 0}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if a, b := run(x, nil), run(x, make([]float32, c)); !tensor.Equal(a.Raw, b.Raw) {
		t.Error("Black 0 gives other bytes than Black nil")
	}
	for _, v := range []float32{0, -0.4, 0.7} {
		black := slices.Repeat([]float32{v}, c)
		flat := tensor.New(x.Shape...)
		for i := range flat.Data {
			flat.Data[i] = v
		}
		got := run(flat, black)
		if got.Raw.MaxAbs() != 0 || slices.ContainsFunc(got.Info["score-delta"], func(d float64) bool { return d != 0 }) {
			t.Errorf("black %g: a black image has map max %g, score deltas %v; want 0", v, got.Raw.MaxAbs(), got.Info["score-delta"])
		}
	}
	// Not black: the blur pulls the border towards black, so the map is not 0.
	flat := tensor.New(x.Shape...)
	for i := range flat.Data {
		flat.Data[i] = 0.5
	}
	if got := run(flat, slices.Repeat([]float32{-0.4}, c)); got.Raw.MaxAbs() == 0 {
		t.Error("a grey image with black −0.4: map 0")
	}
}

// headNet is the pure-Go net under another final activation.
type headNet struct {
	*methodstest.Net
	head string
}

func (h headNet) Head() string { return h.head }

// TestProbabilityTargetHeads: a probability target is explained where the
// model's output is a probability (a softmax or sigmoid head) and refused by
// name where it is not: logits, or a log_softmax's log-probabilities, whose
// gradient is not the probability's.
func TestProbabilityTargetHeads(t *testing.T) {
	x := pureImages()
	for _, c := range []struct{ head, refusal string }{
		{"softmax", ""},
		{"sigmoid", ""},
		{"", "no softmax or sigmoid head"},
		{"log_softmax", "ends in a log_softmax; its output"},
	} {
		mt, err := methods.New("gradient", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = mt.Explain(context.Background(), headNet{methodstest.New(), c.head}, methods.Batch{X: x},
			methods.Target{Probability: true})
		switch {
		case c.refusal == "" && err != nil:
			t.Errorf("head %q: %v", c.head, err)
		case c.refusal != "" && (err == nil || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("head %q: error %v, want one saying %q", c.head, err, c.refusal)
		}
	}
}
