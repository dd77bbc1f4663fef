//go:build cgo

package methods_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
)

// Guided IG with max_dist 0 keeps to the straight line: each step moves
// every feature by 1/m of the way with the gradient taken where it starts,
// Integrated Gradients with the left Riemann sum (Kapishnikov et al. 2021;
// PAIR's docstring says so). On fmnist_vgg and fmnist_resnet the two maps
// agree within 1e-4 of their range, and Guided IG reports m + 2 forward and
// m backward passes per image.
func TestGuidedIGStraightLineIsIG(t *testing.T) {
	ctx := context.Background()
	for _, model := range []string{"fmnist_vgg", "fmnist_resnet"} {
		fl, g := loadZoo(t, model)
		b := methods.Batch{X: g.Inputs}
		gig, err := methods.New("guided-ig", map[string]any{"steps": 16, "max_dist": 0.0})
		if err != nil {
			t.Fatal(err)
		}
		got, err := gig.Explain(ctx, fl, b, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		ig, err := methods.New("integrated-gradients", map[string]any{"steps": 16, "rule": "riemann-left"})
		if err != nil {
			t.Fatal(err)
		}
		want, err := ig.Explain(ctx, fl, b, methods.Target{Classes: got.Classes})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := tensor.MaxAbsDiff(got.Raw, want.Raw)
		if r := mapRange(want.Raw); d > 1e-4*r {
			t.Errorf("%s: guided-ig max_dist 0 differs from riemann-left IG by %.3g (range %.3g)", model, d, r)
		}
		for i := range got.Classes {
			if f, bw := got.Info["forward-passes"][i], got.Info["backward-passes"][i]; f != 18 || bw != 16 {
				t.Errorf("%s image %d: %g forward and %g backward passes, want 18 and 16", model, i, f, bw)
			}
		}
		if !slices.Equal(got.Info["score-delta"], want.Info["score-delta"]) {
			t.Errorf("%s: score deltas %v, IG's %v", model, got.Info["score-delta"], want.Info["score-delta"])
		}
	}
}

// Blur IG is a Riemann sum of a path integral: its completeness error
// shrinks with the steps (PAIR's default 100 leaves up to 0.23 on
// fmnist_vgg, 1000 steps at most 0.02), and it reports m + 2 forward and m
// backward passes per image.
func TestBlurIGCompleteness(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vgg")
	var worst [2]float64
	for k, steps := range []int{100, 1000} {
		m, err := methods.New("blur-ig", map[string]any{"steps": steps})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range got.Info["completeness-error"] {
			worst[k] = max(worst[k], e)
			if f, b := got.Info["forward-passes"][i], got.Info["backward-passes"][i]; f != float64(steps+2) || b != float64(steps) {
				t.Errorf("%d steps, image %d: %g forward and %g backward passes", steps, i, f, b)
			}
		}
		t.Logf("%d steps: completeness error ≤ %.3g", steps, worst[k])
	}
	if !(worst[1] <= 0.02 && worst[1] < worst[0]/5) {
		t.Errorf("completeness error %.3g at 100 steps, %.3g at 1000", worst[0], worst[1])
	}
}

// Without fed randomness, Expected Gradients' mean over its own draws
// converges to Captum's GradientShap over Captum's own 400 draws
// (captum_gradientshap_400.npy, bench/torch/gradshap_goldens.py): the
// Pearson correlation of the two maps grows with the toolkit's samples,
// 25 to 400. Both are Monte Carlo means (their difference shrinks as
// 1/√n on each side), so the bound is loose: the mean over 8 images at 400
// samples ≥ 0.95 on every model, and above its value at 25.
func TestExpectedGradientsConvergence(t *testing.T) {
	counts := []int{25, 50, 100, 200, 400}
	for _, model := range peerModels {
		fl, g := loadZoo(t, model)
		want, err := savedmodels.ReadNpy(filepath.Join(zooDir(model), "golden", "peers", "captum_gradientshap_400.npy"))
		if err != nil {
			t.Fatal(err)
		}
		var classes []int
		raw, err := os.ReadFile(filepath.Join(zooDir(model), "golden", "peers", "captum_gradshap_manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var man struct{ Classes []int }
		if err := json.Unmarshal(raw, &man); err != nil {
			t.Fatal(err)
		}
		classes = man.Classes
		means := make([]float64, len(counts))
		line := ""
		for k, n := range counts {
			m, err := methods.New("expected-gradients", map[string]any{"baselines": "../savedmodels/samples/fmnist_background_16.npy", "samples": n, "seed": 7})
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{Classes: classes})
			if err != nil {
				t.Fatal(err)
			}
			lo := 1.0
			for i := range classes {
				r := tensor.Pearson(got.Raw.Item(i).Data, want.Item(i).Data)
				means[k] += r / float64(len(classes))
				lo = min(lo, r)
			}
			line += fmt.Sprintf(" %d: %.4f (min %.4f);", n, means[k], lo)
		}
		t.Logf("%s: Pearson with Captum's 400-sample mean, by samples:%s", model, line)
		if last := means[len(means)-1]; !(last >= 0.95 && last > means[0]) {
			t.Errorf("%s: mean Pearson %.4f at 400 samples, %.4f at 25", model, last, means[0])
		}
	}
}

// Integrated Gradients from references in a file: baselines [K,H,W,C] is
// the mean of the K Integrated Gradients from each reference (IG is a sum
// over the path; the mean over references is expected IG), baseline_file
// is one baseline, and both report completeness against the references'
// mean score and their passes. Expected IG over the 16 references of
// fmnist_background_16.npy estimates what Captum's GradientShap over them
// estimates by sampling: its maps correlate with Captum's 400-sample mean
// as well as Expected Gradients' own 400 samples do.
func TestIntegratedGradientsReferences(t *testing.T) {
	ctx := context.Background()
	const refsFile = "../savedmodels/samples/fmnist_background_16.npy"
	refs, err := savedmodels.ReadNpy(refsFile)
	if err != nil {
		t.Fatal(err)
	}
	fl, g := loadZoo(t, "fmnist_resnet")
	b := methods.Batch{X: g.Inputs}
	explain := func(opts map[string]any, base *tensor.Tensor) *methods.Maps {
		t.Helper()
		m, err := methods.New("integrated-gradients", opts)
		if err != nil {
			t.Fatal(err)
		}
		m.(*methods.IntegratedGradients).BaselineImage = base
		got, err := m.Explain(ctx, fl, b, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := explain(map[string]any{"baselines": refsFile, "references": 4, "steps": 16}, nil)
	mean := tensor.New(got.Raw.Shape...)
	var s0 [8]float64
	for k := 0; k < 4; k++ {
		one := explain(map[string]any{"steps": 16}, refs.Item(k))
		for q, v := range one.Raw.Data {
			mean.Data[q] += v / 4
		}
		for i := range s0 {
			s0[i] += (float64(one.Scores[i]) - one.Info["score-delta"][i]) / 4
		}
	}
	d, _ := tensor.MaxAbsDiff(got.Raw, mean)
	if r := mapRange(mean); d > 1e-5*r {
		t.Errorf("IG over 4 references differs from the mean of their IGs by %.3g (range %.3g)", d, r)
	}
	for i := range s0 {
		if want := float64(got.Scores[i]) - s0[i]; abs(got.Info["score-delta"][i]-want) > 1e-4*abs(want) {
			t.Errorf("image %d: score delta %g, want %g", i, got.Info["score-delta"][i], want)
		}
		if f, bw := got.Info["forward-passes"][i], got.Info["backward-passes"][i]; f != 4*16+1+0.5 || bw != 64 {
			t.Errorf("image %d: %g forward and %g backward passes, want 65.5 and 64", i, f, bw)
		}
	}
	// baseline_file: one reference for every image.
	file := filepath.Join(t.TempDir(), "ref.npy")
	if err := reports.WriteNpy(file, refs.Item(2)); err != nil {
		t.Fatal(err)
	}
	a, want := explain(map[string]any{"baseline_file": file, "steps": 16}, nil), explain(map[string]any{"steps": 16}, refs.Item(2))
	if !tensor.Equal(a.Raw, want.Raw) {
		t.Error("baseline_file differs from the same baseline in memory")
	}
	if _, err := methods.New("integrated-gradients", map[string]any{"baselines": refsFile, "baseline_file": file}); err == nil {
		t.Error("baselines and baseline_file together: no error")
	}
	// Expected IG against Captum's GradientShap over the same references.
	captum, err := savedmodels.ReadNpy(filepath.Join(zooDir("fmnist_resnet"), "golden", "peers", "captum_gradientshap_400.npy"))
	if err != nil {
		t.Fatal(err)
	}
	all := explain(map[string]any{"baselines": refsFile, "steps": 32}, nil)
	var r float64
	for i := range all.Classes {
		r += tensor.Pearson(all.Raw.Item(i).Data, captum.Item(i).Data) / float64(len(all.Classes))
	}
	t.Logf("expected IG (16 references × 32 Gauss–Legendre points) vs Captum's 400-sample GradientShap: mean Pearson %.4f; completeness %.3g", r, all.Info["completeness-error"])
	if !(r >= 0.95) {
		t.Errorf("expected IG vs Captum's GradientShap: mean Pearson %.4f", r)
	}
}

func abs(x float64) float64 { return max(x, -x) }

// Expected Gradients' sum approaches S_c(I) − mean S_c(I′) over the drawn
// references as the samples grow (completeness in expectation, Erion et
// al. 2021): on fmnist_vgg the mean relative error over 8 images at 1000
// samples is below a third of that at 10, and it reports n backward
// passes and n + 1 + (drawn references)/N forward passes per image.
func TestExpectedGradientsCompleteness(t *testing.T) {
	fl, g := loadZoo(t, "fmnist_vgg")
	var errs [2]float64
	for k, n := range []int{10, 1000} {
		m, err := methods.New("expected-gradients", map[string]any{"baselines": "../savedmodels/samples/fmnist_background_16.npy", "samples": n, "seed": 3})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Info["completeness-error"]; ok {
			t.Error("a sampled method reports the quadrature's completeness-error")
		}
		for i, e := range got.Info["sampled-completeness-error"] {
			errs[k] += e / 8
			if b := got.Info["backward-passes"][i]; b != float64(n) {
				t.Errorf("%d samples: %g backward passes", n, b)
			}
			if f := got.Info["forward-passes"][i]; f <= float64(n+1) || f > float64(n+3) {
				t.Errorf("%d samples: %g forward passes", n, f)
			}
		}
		t.Logf("%d samples: mean completeness error %.3g", n, errs[k])
	}
	if !(errs[1] < errs[0]/3) {
		t.Errorf("mean completeness error %.3g at 10 samples, %.3g at 1000", errs[0], errs[1])
	}
}

// A tiny memory budget splits the path methods' points (the images of a
// Guided IG step) into many session runs and gives the same maps as one
// big chunk; in one chunk, Guided IG costs one session run per step and
// one for the scores. A point that lies on a kink of the network (a ReLU at
// zero) takes another gradient in a run of one example than in a run of
// 128, whose convolutions round differently: on fmnist_resnet, plain
// Integrated Gradients from the second reference of
// fmnist_background_16.npy (3 steps) differs so on images 1 and 3 by 0.6 %
// and 0.1 % of their range, the others by 1e-7. So at most 2 of the 8
// images may differ beyond 1e-4 of their range, and none below Pearson
// 0.999.
func TestPathMethodsChunks(t *testing.T) {
	const refs = "../savedmodels/samples/fmnist_background_16.npy"
	fl, _ := loadZoo(t, "fmnist_resnet")
	for _, c := range []struct {
		name string
		opts map[string]any
	}{
		{"guided-ig", map[string]any{"steps": 4}},
		{"blur-ig", map[string]any{"steps": 6}},
		{"expected-gradients", map[string]any{"samples": 6, "baselines": refs}},
		{"gradient-shap", map[string]any{"samples": 3, "baselines": refs, "stdevs": 0.05}},
		{"integrated-gradients", map[string]any{"steps": 3, "baselines": refs, "references": 2}},
	} {
		before := fl.Runs()
		big := explain(t, "fmnist_resnet", c.name, c.opts, methods.Target{})
		if runs := fl.Runs() - before; c.name == "guided-ig" && runs != 5 {
			t.Errorf("guided-ig, 4 steps: %d session runs, want 5", runs)
		}
		small := map[string]any{"memory_mb": 1}
		for k, v := range c.opts {
			small[k] = v
		}
		before = fl.Runs()
		tiny := explain(t, "fmnist_resnet", c.name, small, methods.Target{})
		runs := fl.Runs() - before
		if runs < 8 {
			t.Errorf("%s with memory_mb 1 took only %d session runs", c.name, runs)
		}
		var kinks []int
		for i := range big.Classes {
			a, b := tiny.Map.Item(i), big.Map.Item(i)
			if d, _ := tensor.MaxAbsDiff(a, b); d > 1e-4*mapRange(b) {
				kinks = append(kinks, i)
			}
			if r := tensor.Pearson(a.Data, b.Data); !(r >= 0.999) {
				t.Errorf("%s image %d: chunks of one and one chunk, Pearson %.5f", c.name, i, r)
			}
		}
		if len(kinks) > 2 {
			t.Errorf("%s: chunks of one differ from one chunk beyond 1e-4 of the range on images %v", c.name, kinks)
		} else if len(kinks) > 0 {
			t.Logf("%s: images %v differ beyond 1e-4 of the range (a point on a kink)", c.name, kinks)
		}
	}
}
