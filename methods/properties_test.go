//go:build cgo

package methods_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

func explain(t *testing.T, model, name string, opts map[string]any, tg methods.Target) *methods.Maps {
	t.Helper()
	fl, g := loadZoo(t, model)
	m, err := methods.New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, tg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Integrated Gradients is complete: Σ attributions = S_c(I) − S_c(I′) up to
// the error of the quadrature, which falls as the steps grow. At 128 steps of
// the default rule (Gauss–Legendre) the error over each batch of golden
// images, |Σ_i (Σ raw_i − ΔS_i)| / Σ_i |ΔS_i|, is within 1% on every zoo model.
// Image by image it is not: on these BatchNorm/ReLU networks the integrand
// ∇S·(I − I′) is piecewise constant along the path with many jumps, and steep
// near a black baseline, so single images reach 2.6% (5.4% with the paper's
// right Riemann sum); 512 steps bring them near 1%.
func TestIntegratedGradientsCompleteness(t *testing.T) {
	run := func(model, base, rule string, steps int) (mean, worst, batch float64) {
		out := explain(t, model, "integrated-gradients", map[string]any{"steps": steps, "baseline": base, "rule": rule}, methods.Target{})
		per := len(out.Raw.Data) / len(out.Classes)
		var errSum, deltaSum float64
		for i, e := range out.Info["completeness-error"] {
			mean += e / float64(len(out.Classes))
			worst = math.Max(worst, e)
			var s float64
			for _, v := range out.Raw.Data[i*per : (i+1)*per] {
				s += float64(v)
			}
			errSum += s - out.Info["score-delta"][i]
			deltaSum += math.Abs(out.Info["score-delta"][i])
		}
		batch = math.Abs(errSum) / deltaSum
		t.Logf("%-22s %-7s %3d steps %-14s completeness error: batch %.4f, per image mean %.4f, max %.4f", model, base, steps, rule, batch, mean, worst)
		return mean, worst, batch
	}
	for _, model := range zooModels {
		for _, base := range []string{"black", "blurred"} {
			if base == "blurred" && model != "fmnist_vgg" && model != "fmnist_resnet" {
				continue
			}
			mean, worst, batch := run(model, base, "", 128)
			if batch > 0.01 || mean > 0.015 || worst > 0.03 {
				t.Errorf("%s, %s baseline, 128 steps: completeness error of the batch %.4f (> 1%%?), per image mean %.4f, max %.4f", model, base, batch, mean, worst)
			}
		}
	}
	// The error falls with the steps; the paper's Riemann sum is worse.
	m32, _, _ := run("fmnist_vgg", "black", "", 32)
	m128, _, _ := run("fmnist_vgg", "black", "", 128)
	if m128 >= m32 {
		t.Errorf("the error did not fall from 32 to 128 steps: %.4f, %.4f", m32, m128)
	}
	run("fmnist_gap", "black", "riemann-right", 128)
	run("fmnist_resnet", "black", "riemann-right", 128)
}

// On a network ending in global average pooling and a dense layer, Grad-CAM is
// CAM up to a positive factor (Selvaraju et al.): ∂S_c/∂A^k_ij = W[k,c]/(h·w).
func TestCAMEqualsGradCAMOnGAP(t *testing.T) {
	for _, model := range []string{"fmnist_gap", "fmnist_gap_softmax", "fmnist_resnet", "fmnist_scatter"} {
		cam := explain(t, model, "cam", map[string]any{"relu": true}, methods.Target{})
		grad := explain(t, model, "gradcam", nil, methods.Target{})
		camSigned := explain(t, model, "cam", nil, methods.Target{})
		gradSigned := explain(t, model, "gradcam", map[string]any{"no_relu": true}, methods.Target{})
		for i := range cam.Classes {
			p := tensor.Pearson(cam.Map.Item(i).Data, grad.Map.Item(i).Data)
			ps := tensor.Pearson(camSigned.Map.Item(i).Data, gradSigned.Map.Item(i).Data)
			if p < 0.999 || ps < 0.999 {
				t.Errorf("%s image %d: Pearson(CAM, Grad-CAM) = %.6f with ReLU, %.6f without", model, i, p, ps)
			}
		}
		// The factor is 1/(h·w) at the layer's resolution.
		hw := float32(cam.LowRes.Shape[1] * cam.LowRes.Shape[2])
		scaled := cam.LowRes.Clone()
		for i := range scaled.Data {
			scaled.Data[i] /= hw
		}
		if d, _ := tensor.MaxAbsDiff(scaled, grad.LowRes); d > 1e-5*grad.LowRes.MaxAbs() {
			t.Errorf("%s: CAM/(h·w) differs from Grad-CAM by %g", model, d)
		}
	}
}

// On a network ending in global average pooling and a dense layer the
// gradient at the layer GAP reads is W[k,c]/(h·w) at every position, so
// HiResCAM's Σ_k G^k ⊙ A^k (Draelos & Carin 2020) and XGrad-CAM's
// activation-weighted mean of G^k (Fu et al. 2020) are Grad-CAM's
// Σ_k mean(G^k) A^k: the same map, with or without the ReLU, up to float
// rounding.
func TestGradCAMVariantsEqualGradCAMOnGAP(t *testing.T) {
	for _, model := range []string{"fmnist_gap", "fmnist_gap_softmax", "fmnist_resnet", "fmnist_scatter"} {
		for _, relu := range []bool{true, false} {
			opts := map[string]any{"no_relu": !relu}
			grad := explain(t, model, "gradcam", opts, methods.Target{})
			for _, name := range []string{"hirescam", "xgradcam"} {
				got := explain(t, model, name, opts, methods.Target{})
				worst := 1.0
				for i := range grad.Classes {
					worst = math.Min(worst, tensor.Pearson(got.LowRes.Item(i).Data, grad.LowRes.Item(i).Data))
				}
				d, _ := tensor.MaxAbsDiff(got.LowRes, grad.LowRes)
				t.Logf("%s %s (ReLU %v): Pearson ≥ %.7f, max difference from Grad-CAM %.2g of the largest value", model, name, relu, worst, d/grad.LowRes.MaxAbs())
				if worst < 0.9999 || d > 1e-5*grad.LowRes.MaxAbs() {
					t.Errorf("%s (ReLU %v): %s differs from Grad-CAM on a GAP head: Pearson %.6f, max diff %.3g of %.3g", model, relu, name, worst, d, grad.LowRes.MaxAbs())
				}
			}
		}
	}
}

// Eigen-CAM (Muhammad & Yeasin 2020) uses neither a gradient nor a score:
// other classes give the same bytes. On the non-negative activations of a
// ReLU layer the first singular vector has entries of one sign (Perron–
// Frobenius), and with the sign that correlates with the mean activation
// the map is non-negative; the centred form of pytorch-grad-cam is another
// map.
func TestEigenCAMIsClassIndependent(t *testing.T) {
	for _, model := range []string{"fmnist_vgg", "fmnist_resnet", "fmnist_gap", "fmnist_vit"} {
		_, g := loadZoo(t, model)
		pred := explain(t, model, "eigencam", nil, methods.Target{})
		other := make([]int, len(g.Top))
		for i, c := range g.Top {
			other[i] = (c + 1 + i) % 10
		}
		got := explain(t, model, "eigencam", nil, methods.Target{Classes: other})
		if !tensor.Equal(got.Map, pred.Map) {
			t.Errorf("%s: another class gives another Eigen-CAM map", model)
		}
		if model == "fmnist_vit" {
			continue // a LayerNorm output: signed activations
		}
		if lo, _ := pred.LowRes.Range(); lo < 0 {
			t.Errorf("%s: Eigen-CAM of a ReLU layer has a negative value %g", model, lo)
		}
		centred := explain(t, model, "eigencam", map[string]any{"center": true}, methods.Target{})
		if d, _ := tensor.MaxAbsDiff(centred.LowRes, pred.LowRes); d < 1e-3*pred.LowRes.MaxAbs() {
			t.Errorf("%s: centring changes the map by only %g", model, d)
		}
	}
}

// Ablation-CAM at the layer that global average pooling reads has a known
// answer: removing channel k lowers the logit by W[k,c]·mean_ij A^k_ij, so
// α_k = W[k,c]·mean(A^k) / S_c. Its passes are reported as progress, one
// per chunk.
func TestAblationCAMOnGAP(t *testing.T) {
	ctx := context.Background()
	for _, model := range []string{"fmnist_gap", "fmnist_resnet"} {
		fl, g := loadZoo(t, model)
		head, err := fl.GAPHead()
		if err != nil {
			t.Fatal(err)
		}
		logits, _ := fl.Logits()
		res, err := fl.Run(ctx, g.Inputs, tfgraph.Query{Fetch: []string{logits, head.Features, head.Kernel}})
		if err != nil {
			t.Fatal(err)
		}
		s, a, w := res.Fetched[0], res.Fetched[1], res.Fetched[2]
		n, hw, k, classes := a.Shape[0], a.Shape[1]*a.Shape[2], a.Shape[3], s.Shape[1]
		want := tensor.New(n, a.Shape[1], a.Shape[2])
		for i, c := range g.Top {
			alpha := make([]float64, k)
			for ch := range alpha {
				var mean float64
				for p := 0; p < hw; p++ {
					mean += float64(a.Data[(i*hw+p)*k+ch]) / float64(hw)
				}
				alpha[ch] = float64(w.Data[ch*classes+c]) * mean / float64(s.Data[i*classes+c])
			}
			for p := 0; p < hw; p++ {
				var v float64
				for ch, al := range alpha {
					v += al * float64(a.Data[(i*hw+p)*k+ch])
				}
				want.Data[i*hw+p] = float32(max(v, 0))
			}
		}
		var done []int
		total := 0
		m, _ := methods.New("ablationcam", map[string]any{"memory_mb": 1})
		got, err := m.Explain(methods.WithProgress(ctx, func(d, n int) { done, total = append(done, d), n }), fl, methods.Batch{X: g.Inputs}, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := tensor.MaxAbsDiff(got.LowRes, want)
		t.Logf("%s: Ablation-CAM within %.2g (relative) of W[k,c]·mean(A^k)/S_c, in %d chunks", model, d/want.MaxAbs(), total)
		if d > 1e-4*want.MaxAbs() {
			t.Errorf("%s: Ablation-CAM differs from its closed form on a GAP head by %g (max %g)", model, d, want.MaxAbs())
		}
		if total < 8 || len(done) != total || done[0] != 0 || done[len(done)-1] != total-1 {
			t.Errorf("%s: progress %v of %d", model, done, total)
		}
	}
}

// FullGrad's terms are the full-gradient decomposition of the score
// (Srinivas & Fleuret 2019): on the zoo's networks, piecewise linear in the
// input and the biases (ReLU, max pooling, batch normalisation in
// inference), Σ I ⊙ ∂S_c/∂I + Σ_biases Σ b ⊙ ∂S_c/∂z is S_c to float
// rounding (Info "decomposition-error"); the transformer (GELU, LayerNorm,
// softmax) is not, and its error is only reported.
func TestFullGradDecomposition(t *testing.T) {
	for _, model := range zooModels {
		out := explain(t, model, "fullgrad", nil, methods.Target{})
		worst := 0.0
		for _, e := range out.Info["decomposition-error"] {
			worst = math.Max(worst, e)
		}
		t.Logf("%s: decomposition error at most %.2g of the logit", model, worst)
		if !transformers[model] && !(worst <= 1e-4) {
			t.Errorf("%s: the full-gradient decomposition misses the logit by %.3g of it", model, worst)
		}
	}
	// Under fed weights FullGrad reads the fed biases: with conv2_2's bias
	// tripled the decomposition still holds.
	fl, g := loadZoo(t, "fmnist_vgg")
	l, err := fl.Layer("conv2_2")
	if err != nil {
		t.Fatal(err)
	}
	fed := 0
	for _, w := range l.Weights {
		if !strings.Contains(w, "bias") {
			continue
		}
		fed++
		v, err := fl.WeightValue(w)
		if err != nil {
			t.Fatal(err)
		}
		for i := range v.Data {
			v.Data[i] *= 3
		}
		feed, err := fl.PrepareWeights(map[string]*tensor.Tensor{w: v})
		if err != nil {
			t.Fatal(err)
		}
		view, err := fl.WithWeights(feed)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := methods.New("fullgrad", nil)
		out, err := m.Explain(context.Background(), view, methods.Batch{X: g.Inputs}, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range out.Info["decomposition-error"] {
			if e > 1e-4 {
				t.Errorf("image %d: with a fed bias the decomposition misses the logit by %.3g of it", i, e)
			}
		}
	}
	if fed != 1 {
		t.Errorf("conv2_2 has %d biases (%v)", fed, l.Weights)
	}
}

// Guided Grad-CAM is Guided Backprop times the upsampled Grad-CAM map.
func TestGuidedGradCAMIsProduct(t *testing.T) {
	for _, model := range []string{"fmnist_vgg", "fmnist_resnet"} {
		gg := explain(t, model, "guided-gradcam", nil, methods.Target{})
		gb := explain(t, model, "guided-backprop", nil, methods.Target{})
		gc := explain(t, model, "gradcam", nil, methods.Target{})
		want := gb.Raw.Clone()
		c := want.Shape[3]
		for i := range want.Data {
			want.Data[i] *= gc.Map.Data[i/c]
		}
		if d, _ := tensor.MaxAbsDiff(gg.Raw, want); d > 1e-6*want.MaxAbs() {
			t.Errorf("%s: guided-gradcam differs from guided-backprop ⊙ gradcam by %g", model, d)
		}
	}
}

// SmoothGrad with zero noise is the wrapped method itself; the same seed gives
// the same bytes and another seed other maps.
func TestSmoothGradNoiseAndSeeds(t *testing.T) {
	for _, inner := range []string{"gradient", "gradient-x-input"} {
		sg := explain(t, "fmnist_vgg", "smoothgrad", map[string]any{"noise": 0.0, "samples": 3, "method": inner}, methods.Target{})
		plain := explain(t, "fmnist_vgg", inner, nil, methods.Target{})
		if d, _ := tensor.MaxAbsDiff(sg.Raw, plain.Raw); d > 1e-6*plain.Raw.MaxAbs() {
			t.Errorf("smoothgrad(%s) with zero noise differs from %s by %g", inner, inner, d)
		}
	}
	a := explain(t, "fmnist_gap", "vargrad", map[string]any{"samples": 5, "seed": 7}, methods.Target{})
	b := explain(t, "fmnist_gap", "vargrad", map[string]any{"samples": 5, "seed": 7}, methods.Target{})
	c := explain(t, "fmnist_gap", "vargrad", map[string]any{"samples": 5, "seed": 8}, methods.Target{})
	if !tensor.Equal(a.Map, b.Map) || !tensor.Equal(a.Raw, b.Raw) {
		t.Error("the same seed gives other bytes")
	}
	if tensor.Equal(a.Map, c.Map) {
		t.Error("another seed gives the same maps")
	}
	u1 := explain(t, "fmnist_gap", "integrated-gradients", map[string]any{"steps": 4, "baseline": "uniform", "seed": 3}, methods.Target{})
	u2 := explain(t, "fmnist_gap", "integrated-gradients", map[string]any{"steps": 4, "baseline": "uniform", "seed": 3}, methods.Target{})
	if !tensor.Equal(u1.Raw, u2.Raw) {
		t.Error("integrated-gradients with a uniform baseline: the same seed gives other bytes")
	}
	j1 := explain(t, "fmnist_vgg", "class-model", map[string]any{"steps": 6, "jitter": 2, "blur": 0.5, "blur_every": 2, "clip": true, "seed": 1}, methods.Target{})
	j2 := explain(t, "fmnist_vgg", "class-model", map[string]any{"steps": 6, "jitter": 2, "blur": 0.5, "blur_every": 2, "clip": true, "seed": 1}, methods.Target{})
	if !tensor.Equal(j1.Raw, j2.Raw) {
		t.Error("class-model with jitter: the same seed gives other bytes")
	}
	if lo, hi := j1.Raw.Range(); lo < 0 || hi > 1 {
		t.Errorf("clipped class-model image in [%g, %g], not [0, 1]", lo, hi)
	}
}

// A tiny memory budget splits every multi-pass method, and the batch of a
// single-pass one, into many session runs and gives the same maps as one
// big chunk.
func TestChunksGiveTheSameMaps(t *testing.T) {
	fl, _ := loadZoo(t, "fmnist_resnet")
	for name, opts := range map[string]map[string]any{
		"integrated-gradients": {"steps": 6},
		"smoothgrad":           {"samples": 3},
		"occlusion":            {"patch": 7, "stride": 7},
		"scorecam":             {},
		"ablationcam":          {},
		"fullgrad":             {},
		"gradcam":              {},
		"gradient":             {},
		"guided-backprop":      {},
		"guided-gradcam":       {},
		"cam":                  {},
		"rise":                 {"nb_samples": 24},
		"sobol":                {"grid_size": 3, "nb_design": 4},
		"hsic":                 {"grid_size": 3, "nb_design": 16},
		"lime":                 {"grid_size": 3, "nb_samples": 16},
		"kernel-shap":          {"grid_size": 3, "nb_samples": 16},
	} {
		big := explain(t, "fmnist_resnet", name, opts, methods.Target{})
		small := map[string]any{"memory_mb": 1}
		for k, v := range opts {
			small[k] = v
		}
		before := fl.Runs()
		tiny := explain(t, "fmnist_resnet", name, small, methods.Target{})
		runs := fl.Runs() - before
		if runs < 8 {
			t.Errorf("%s with memory_mb 1 took only %d session runs", name, runs)
		}
		if d, _ := tensor.MaxAbsDiff(tiny.Map, big.Map); d > 1e-4*mapRange(big.Map) {
			t.Errorf("%s: chunks of one differ from one chunk by %g", name, d)
		}
	}
}

// Grad-CAM and the other single-pass methods cost one session run for a
// batch: scores, activations and gradients come together.
func TestSinglePassMethodsCostOneRun(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_gap")
	for _, name := range []string{"gradient", "gradient-x-input", "guided-backprop", "deconvnet", "cam", "gradcam", "guided-gradcam", "gradcam++", "layercam", "hirescam", "xgradcam", "fullgrad"} {
		m, _ := methods.New(name, nil)
		for _, tg := range []methods.Target{{}, {Classes: []int{1, 2, 3, 4, 5, 6, 7, 8}}} {
			if _, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, tg); err != nil { // builds the graphs
				t.Fatal(err)
			}
			before := fl.Runs()
			if _, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, tg); err != nil {
				t.Fatal(err)
			}
			if n := fl.Runs() - before; n != 1 {
				t.Errorf("%s (classes %v): %d session runs for one batch", name, tg.Classes, n)
			}
		}
	}
}

// The maps of given classes explain those classes: the scores are their
// logits.
func TestGivenClassesAreExplained(t *testing.T) {
	_, g := loadZoo(t, "fmnist_vgg")
	classes := []int{9, 8, 7, 6, 5, 4, 3, 2}
	for _, name := range []string{"gradient", "gradcam", "occlusion", "integrated-gradients"} {
		out := explain(t, "fmnist_vgg", name, map[string]any{}, methods.Target{Classes: classes})
		for i, c := range classes {
			if out.Classes[i] != c || math.Abs(float64(out.Scores[i]-g.Logits.Data[i*10+c])) > 1e-4 {
				t.Errorf("%s image %d: class %d score %g, want class %d logit %g", name, i, out.Classes[i], out.Scores[i], c, g.Logits.Data[i*10+c])
			}
		}
	}
}

// Methods run unchanged on a view of the model with fed weights (the
// randomization tests of Adebayo et al.): the maps change (Ablation-CAM's
// passes feed the ablated layer and the weights together; FullGrad reads its
// biases in the same run), CAM reads the fed
// dense kernel (it still equals Grad-CAM up to h·w), and the original values
// give the original maps back.
func TestMethodsUnderFedWeights(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_gap")
	dense, err := fl.Layer("predictions")
	if err != nil {
		t.Fatal(err)
	}
	var kernel string
	for _, w := range dense.Weights {
		if strings.Contains(w, "kernel") {
			kernel = w
		}
	}
	orig, err := fl.WeightValue(kernel)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := orig.Clone()
	for i := range shuffled.Data { // reverse the kernel: another, fixed dense layer
		shuffled.Data[i] = orig.Data[len(orig.Data)-1-i]
	}
	view := func(v *tensor.Tensor) *tfgraph.Flat {
		feed, err := fl.PrepareWeights(map[string]*tensor.Tensor{kernel: v})
		if err != nil {
			t.Fatal(err)
		}
		fv, err := fl.WithWeights(feed)
		if err != nil {
			t.Fatal(err)
		}
		return fv
	}
	run := func(model methods.Model, name string, tg methods.Target) *methods.Maps {
		m, _ := methods.New(name, nil)
		out, err := m.Explain(context.Background(), model, methods.Batch{X: g.Inputs}, tg)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	classes := methods.Target{Classes: g.Top}
	rnd, same := view(shuffled), view(orig)
	for _, name := range []string{"gradient", "gradcam", "cam", "integrated-gradients", "ablationcam", "fullgrad"} {
		base, changed, restored := run(fl, name, classes), run(rnd, name, classes), run(same, name, classes)
		if d, _ := tensor.MaxAbsDiff(changed.Map, base.Map); d < 1e-3*mapRange(base.Map) {
			t.Errorf("%s: a fed kernel changed the map by only %g", name, d)
		}
		if !tensor.Equal(restored.Map, base.Map) {
			t.Errorf("%s: feeding the original kernel does not give the original map", name)
		}
	}
	cam := run(rnd, "cam", classes)
	gradSigned, _ := methods.New("gradcam", map[string]any{"no_relu": true})
	gs, err := gradSigned.Explain(context.Background(), rnd, methods.Batch{X: g.Inputs}, classes)
	if err != nil {
		t.Fatal(err)
	}
	hw := float32(cam.LowRes.Shape[1] * cam.LowRes.Shape[2])
	for i := range cam.LowRes.Data {
		if d := math.Abs(float64(cam.LowRes.Data[i]/hw - gs.LowRes.Data[i])); d > 1e-5*gs.LowRes.MaxAbs() {
			t.Fatalf("under a fed kernel CAM/(h·w) differs from Grad-CAM by %g: CAM does not read the fed kernel", d)
		}
	}
}
