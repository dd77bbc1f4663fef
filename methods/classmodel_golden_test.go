//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// classModelStartTol is how far the class model's ascent from the golden
// noise start may end from Python's, as a fraction of the golden image's
// range, after the steps golden_methods.py found not chaotic. There, ascents
// with the start and every gradient perturbed by 1e-6 stay within 1e-5 of the
// range, and the toolkit within 6e-7 of goldens written with oneDNN's AMX
// kernels, under its AVX2, AVX-512 and AMX kernels and under Eigen
// (TF_ENABLE_ONEDNN_OPTS=0). With λ for 2λ in the update rule the images move
// by up to 0.28 of the range.
const classModelStartTol = 1e-4

// checkClassModel compares the class model with its goldens where they do not
// depend on the CPU (see savedmodels/golden_methods.py). The 200-step images
// themselves are not compared: the ascent is chaotic (a kink of the network
// hit by one CPU's rounding and not another's sends it elsewhere; from the
// zero image on models with max pooling, from the first step). What is:
//
//   - the update rule, exactly: a few steps with the recorded gradients fed
//     in place of the model's give Python's images to the bit;
//   - the ascent with the model's own gradients, from a seeded noise start,
//     over the steps before it turns chaotic, within classModelStartTol;
//   - the acceptance: every class's 200-step image is classified as that
//     class with p ≥ 0.99, as are Python's.
//
// It reports whether every check ran and passed.
func checkClassModel(t *testing.T, fl methods.Model, dir string, p map[string]any) bool {
	ok := true
	read := func(key string, in map[string]any) *tensor.Tensor {
		t.Helper()
		x, err := savedmodels.ReadNpy(filepath.Join(dir, fmt.Sprint(in[key])))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	sub := func(key string) map[string]any {
		t.Helper()
		m, isMap := p[key].(map[string]any)
		if !isMap {
			t.Fatalf("params.yaml: class-model has no %s section: run savedmodels/golden_methods.py --only class-model", key)
		}
		return m
	}
	classModel := func(steps any, init string) methods.Method {
		t.Helper()
		m, err := methods.New("class-model", map[string]any{"lr": p["lr"], "l2": p["l2"], "steps": steps, "init": init})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	classes := make([]int, 10)
	for i := range classes {
		classes[i] = i
	}
	ctx := context.Background()

	// The update rule on fed gradients: Go's arithmetic and Python's, to the
	// bit, whatever the CPU (no kernel computes anything compared here).
	fed := sub("fed")
	grads, want := read("grads_file", fed), read("images_file", fed)
	nf, hwc := grads.Shape[0], grads.Shape[2:]
	probe := &ascentProbe{Model: fl, fed: grads}
	got, err := classModel(nf, "zeros").Explain(ctx, probe, methods.Batch{X: tensor.New(append([]int{10}, hwc...)...)}, methods.Target{Classes: classes})
	if err != nil {
		t.Fatal(err)
	}
	flat := func(x *tensor.Tensor) *tensor.Tensor { // [S,K,H,W,C] → [S·K,H,W,C]
		return &tensor.Tensor{Shape: append([]int{x.Shape[0] * x.Shape[1]}, x.Shape[2:]...), Data: x.Data}
	}
	wantAt := func(s, k int) *tensor.Tensor { return flat(want).Slice(s*10+k, s*10+k+1) } // I_{s+1}
	exact := true
	for k := range classes {
		seen := probe.images[k]
		if len(seen) != nf {
			t.Errorf("fed gradients, class %d: %d gradient queries in %d steps", k, len(seen), nf)
			exact = false
			continue
		}
		if seen[0].MaxAbs() != 0 {
			t.Errorf("fed gradients, class %d: the first step is not taken at the zero image", k)
			exact = false
		}
		for s := 1; s <= nf; s++ {
			img := got.Raw.Slice(k, k+1) // after the last step
			if s < nf {
				img = seen[s] // the image the step-s gradient was asked at
			}
			if w := wantAt(s-1, k); !tensor.Equal(img, w) {
				d, _ := tensor.MaxAbsDiff(img, w)
				t.Errorf("fed gradients, class %d, step %d: the image differs from Python's update by %.3g (%d values)", k, s, d, differing(img, w))
				exact = false
			}
		}
	}
	if exact {
		t.Logf("update rule: %d steps × 10 classes on fed gradients equal Python's to the bit", nf)
	}
	ok = ok && exact

	// The ascent with the model's own gradients from a start where it is
	// not chaotic, over the steps golden_methods.py measured to be stable.
	st := sub("start")
	start, imgs := read("file", st), read("images_file", st)
	horizon, err := savedmodels.ReadNpyInts(filepath.Join(dir, fmt.Sprint(st["steps_file"])))
	if err != nil {
		t.Fatal(err)
	}
	if len(horizon) != 10 {
		t.Fatalf("%s has %d step counts, want 10", st["steps_file"], len(horizon))
	}
	probe = &ascentProbe{Model: fl}
	steps := slices.Max(horizon)
	if steps == 0 {
		t.Fatal("the golden ascent from noise is chaotic from the first step for every class: nothing to compare")
	}
	got, err = classModel(steps, "input").Explain(ctx, probe, methods.Batch{X: start}, methods.Target{Classes: classes})
	if err != nil {
		t.Fatal(err)
	}
	compared, worst := 0, 0.0
	for k, h := range horizon {
		if h == 0 {
			continue
		}
		img := got.Raw.Slice(k, k+1)
		if h < steps {
			img = probe.images[k][h]
		}
		w := imgs.Slice(k, k+1)
		d, _ := tensor.MaxAbsDiff(img, w)
		d /= mapRange(w)
		worst = max(worst, d)
		compared++
		if d > classModelStartTol {
			t.Errorf("ascent from noise, class %d: after %d steps max |Go − Python| = %.3g of the range (tolerance %g)", k, h, d, classModelStartTol)
			ok = false
		}
	}
	t.Logf("ascent from noise: %d classes after %v steps (not chaotic before), max |Go − Python| = %.2g of the range", compared, horizon, worst)
	if compared < 5 {
		t.Errorf("only %d classes of the golden ascent from noise are stable for a step; want at least 5", compared)
		ok = false
	}

	// The acceptance, from the zero image with every step's own gradient.
	probs := read("probs_file", p)
	got, err = classModel(p["steps"], "zeros").Explain(ctx, fl, methods.Batch{X: tensor.New(append([]int{10}, hwc...)...)}, methods.Target{Classes: classes})
	if err != nil {
		t.Fatal(err)
	}
	for i, pr := range got.Info["probability"] {
		if pr < 0.99 || probs.Data[i] < 0.99 {
			t.Errorf("class %d: the generated image has probability %.4f (Python's %.4f); want ≥ 0.99", i, pr, probs.Data[i])
			ok = false
		}
	}
	t.Logf("%v steps from the zero image: min probability %.6f (Python's %.6f)", p["steps"], slices.Min(got.Info["probability"]), slices.Min(probs.Data))
	return ok
}

// ascentProbe is a methods.Model around a real one that sees the class
// model's gradient queries (one image, a one-hot seed): it records the image
// of each query by class, in order, and answers with fed[s][class] at the
// class's s-th query when fed is set. Every other query goes to the model.
type ascentProbe struct {
	methods.Model
	fed    *tensor.Tensor // [steps, classes, H, W, C], or nil
	images map[int][]*tensor.Tensor
	// fetch lets a gradient query fetch tensors too (feature
	// visualisation fetches its score in the same run).
	fetch bool
}

// Run answers q on x.
func (p *ascentProbe) Run(ctx context.Context, x *tensor.Tensor, q tfgraph.Query) (*tfgraph.Result, error) {
	if len(q.Grads) == 0 {
		return p.Model.Run(ctx, x, q)
	}
	if p.fetch && len(q.Fetch) > 0 {
		return p.runFetching(ctx, x, q)
	}
	logits, _ := p.Model.Logits()
	g := q.Grads[0]
	if len(q.Grads) != 1 || len(q.Fetch) != 0 || g.Seed == nil || x.Shape[0] != 1 || g.Start != logits || g.End != "" || g.Rules != nil {
		return nil, fmt.Errorf("probe: the class model asked for %d gradients of %d images from %q to %q (%v) and %d fetches; want the plain gradient of one image's logit", len(q.Grads), x.Shape[0], g.Start, g.End, g.Rules, len(q.Fetch))
	}
	class := tensor.Argmax(g.Seed.Data)
	ones := 0
	for _, v := range g.Seed.Data {
		if v == 1 {
			ones++
		} else if v != 0 {
			ones = -1
			break
		}
	}
	if ones != 1 {
		return nil, fmt.Errorf("probe: the seed %v is not one-hot", g.Seed.Data)
	}
	if p.images == nil {
		p.images = map[int][]*tensor.Tensor{}
	}
	s := len(p.images[class])
	p.images[class] = append(p.images[class], x.Clone())
	if p.fed == nil {
		return p.Model.Run(ctx, x, q)
	}
	if s >= p.fed.Shape[0] {
		return nil, fmt.Errorf("probe: class %d asked for a gradient at step %d; %d were recorded", class, s, p.fed.Shape[0])
	}
	k := p.fed.Shape[1]
	all := &tensor.Tensor{Shape: append([]int{p.fed.Shape[0] * k}, p.fed.Shape[2:]...), Data: p.fed.Data}
	return &tfgraph.Result{Grads: []*tensor.Tensor{all.Slice(s*k+class, s*k+class+1).Clone()}}, nil
}

// differing counts the values in which a and b differ.
func differing(a, b *tensor.Tensor) int {
	n := 0
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			n++
		}
	}
	return n
}
