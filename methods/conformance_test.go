//go:build cgo

package methods_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// cheap are options that keep the conformance table fast; every other method
// runs with its defaults. XRAI segments the image where it is, not resized to
// 224×224 (6 times faster; TestXRAIPeerParity runs PAIR's resize).
var cheap = map[string]map[string]any{
	"smoothgrad":            {"samples": 4},
	"squaregrad":            {"samples": 4},
	"vargrad":               {"samples": 4},
	"integrated-gradients":  {"steps": 8},
	"class-model":           {"steps": 10},
	"feature-visualization": {"steps": 10, "restarts": 2, "restart_steps": 3},
	"occlusion":             {"patch": 7, "stride": 7},
	"xrai":                  {"steps": 8, "scales": []any{100, 500}, "no_resize": true},
	"guided-ig":             {"steps": 8, "baseline": "zeros"},
	"blur-ig":               {"steps": 8},
	"expected-gradients":    {"samples": 4},
	"gradient-shap":         {"samples": 4},
	"rise":                  {"nb_samples": 64},
	"sobol":                 {"grid_size": 4, "nb_design": 8},
	"hsic":                  {"grid_size": 4, "nb_design": 32},
	"lime":                  {"grid_size": 4, "nb_samples": 64},
	"kernel-shap":           {"grid_size": 4, "nb_samples": 64},
}

// strictRules are the methods whose rule sets refuse a transformer's
// products (LayerNormalization, attention) by op and layer with their
// default options.
var strictRules = map[string]bool{"lrp": true, "deeplift": true, "deepshap": true}

// transformerOpts are the options under which a method of strictRules
// explains a transformer: LRP's attnlrp composite. The conformance checks
// run with them there.
var transformerOpts = map[string]map[string]any{"lrp": {"composite": "attnlrp"}}

// batchTol are the methods whose maps may differ alone and in the batch by
// more than 1e-4 of their range. TensorFlow's kernels block the batch, so a
// layer's gradient G differs alone and in a batch in its last bits (1e-6
// relative), and Grad-CAM++'s weight G/(2 + ΣA·G) has a pole that amplifies
// it by 2/|2 + ΣA·G|: on fmnist_vit's token grid, image 5 comes within 0.011
// of it, and its map differs by 7e-5 of the range with oneDNN's AMX kernels
// and 3e-4 with its AVX2 ones. An image mixed with another differs by its
// whole range. XGrad-CAM divides by Σ_ij A^k_ij, which the paper takes on
// non-negative activations; fmnist_vit's token layer is a LayerNorm output,
// and on image 3 one channel sums to 0.0018 of Σ_ij |A^k_ij|, amplifying the
// batch's last bits 560-fold: its map differs by 1.1e-4 of the range.
var batchTol = map[string]float64{"gradcam++": 1e-3, "xgradcam": 1e-3}

// walked are the methods whose path is chosen by the ranks of the gradients
// along it (Guided IG): a last-bit difference between the batch's kernels
// and one image's moves the path at a near tie, and the maps part from
// there, as PAIR's own maps part between CPUs (TestPAIRGuidedIGPath). For
// them the batch and each image alone are each checked against the path
// rule walked with the gradients that batch size gives (checkWalk), and
// their Pearson is logged.
var walked = map[string]bool{"guided-ig": true}

// forwardOnly methods use no backward pass: max-pool switches cannot flip.
var forwardOnly = map[string]bool{"cam": true, "scorecam": true, "ablationcam": true, "eigencam": true, "occlusion": true, "attention-rollout": true,
	"rise": true, "sobol": true, "hsic": true, "lime": true, "kernel-shap": true}

// tieImages are the images of a model whose plain gradient differs between
// a batch of 8 and one image at a time: max-pool windows that tie in one batch
// and not in the other (see TestMaxPoolTies). Which images these are depends on
// the CPU; on every CPU, TensorFlow's own gradient (TF_AddGradients) must
// differ the same way, and this is checked: the toolkit's gradient equals
// TensorFlow's on the batch and on each such image alone.
func tieImages(t *testing.T, model string) map[int]bool {
	fl, g := loadZoo(t, model)
	grad, _ := methods.New("gradient", nil)
	all, err := grad.Explain(context.Background(), fl, methods.Batch{X: g.Inputs}, methods.Target{})
	if err != nil {
		t.Fatal(err)
	}
	ties := map[int]bool{}
	alone := map[int]*methods.Maps{}
	for i := 0; i < g.Inputs.Shape[0]; i++ {
		one, err := grad.Explain(context.Background(), fl, methods.Batch{X: g.Inputs.Slice(i, i+1)}, methods.Target{})
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := tensor.MaxAbsDiff(one.Raw, all.Raw.Slice(i, i+1)); d > 1e-5*all.Raw.MaxAbs() {
			ties[i] = true
			alone[i] = one
		}
	}
	if len(ties) == 0 {
		return ties
	}
	oracle := func(x *tensor.Tensor, classes []int, got *tensor.Tensor, what string) {
		want, err := fl.OracleGradient(x, classes)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := tensor.MaxAbsDiff(got, want); d > 1e-5*want.MaxAbs() {
			t.Errorf("%s: the gradient differs from TensorFlow's on the same batch by %.3g (max %.3g)", what, d, want.MaxAbs())
		}
	}
	oracle(g.Inputs, all.Classes, all.Raw, "the batch of 8")
	for i, one := range alone {
		oracle(g.Inputs.Slice(i, i+1), one.Classes, one.Raw, fmt.Sprintf("image %d alone", i))
	}
	return ties
}

// compared are the images whose maps TestConformance compares alone and in
// the batch: the first three of this order without tied max-pool windows
// (any three for methods without a backward pass).
func compared(ties map[int]bool, forwardOnly bool) []int {
	var out []int
	for _, i := range []int{0, 3, 5, 1, 2, 4, 6, 7} {
		if len(out) < 3 && (forwardOnly || !ties[i]) {
			out = append(out, i)
		}
	}
	return out
}

// Every registered method on every zoo model: output shapes, finite values,
// the CAM layer read by the layer methods, identical bytes on a second run, a batch equal to its images one by one,
// given classes equal to predicted ones, and a *NotApplicableError only
// where the method does not apply (CAM without a GAP head).
func TestConformance(t *testing.T) {
	ctx := context.Background()
	for _, model := range zooModels {
		t.Run(model, func(t *testing.T) {
			fl, g := loadZoo(t, model)
			n, h, w, c := g.Inputs.Shape[0], g.Inputs.Shape[1], g.Inputs.Shape[2], g.Inputs.Shape[3]
			ties := tieImages(t, model)
			if len(ties) > 0 {
				t.Logf("images %v take other gradients alone than in the batch, as TensorFlow's do on this CPU", keys(ties))
			}
			for _, name := range methods.Names() {
				t.Run(name, func(t *testing.T) {
					m, err := methods.New(name, cheap[name])
					if err != nil {
						t.Fatal(err)
					}
					if m.Name() != name {
						t.Errorf("Name() = %q", m.Name())
					}
					if d, ok := m.(*methods.DeepSHAP); ok {
						d.BaselineImages = g.Inputs.Slice(4, 8) // references of the model's input size
					}
					if e, ok := m.(*methods.ExpectedGradients); ok {
						e.BaselineImages = g.Inputs.Slice(4, 8)
					}
					b := methods.Batch{X: g.Inputs}
					got, err := m.Explain(ctx, fl, b, methods.Target{})
					var na *methods.NotApplicableError
					if name == "cam" && !gapModels[model] {
						if !errors.As(err, &na) || !strings.Contains(err.Error(), "global average pooling") {
							t.Errorf("cam on a model without a GAP head: %v", err)
						}
						return
					}
					if strictRules[name] && transformers[model] {
						if !errors.As(err, &na) || !strings.Contains(err.Error(), "op Mul") || !strings.Contains(err.Error(), "layer final_ln") {
							t.Errorf("%s on a transformer: %v, want a NotApplicableError naming op Mul of layer final_ln", name, err)
						}
						opts, ok := transformerOpts[name]
						if !ok {
							return
						}
						if m, err = methods.New(name, opts); err != nil {
							t.Fatal(err)
						}
						got, err = m.Explain(ctx, fl, b, methods.Target{})
					}
					if name == "attention-rollout" && !transformers[model] {
						if !errors.As(err, &na) || !strings.Contains(err.Error(), "no attention layers") {
							t.Errorf("attention-rollout on a CNN: %v", err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					checkMaps(t, got, name, n, h, w, c)
					if methods.ReadsLayer(name) {
						if l, err := fl.CAMLayer(); err != nil || got.Layer != l.Name {
							t.Errorf("a layer method (methods.LayerMethods) read layer %q, not the CAM layer %q (%v)", got.Layer, l.Name, err)
						}
					}
					again, err := m.Explain(ctx, fl, b, methods.Target{})
					if err != nil {
						t.Fatal(err)
					}
					if !tensor.Equal(got.Map, again.Map) {
						t.Error("a second run gives other bytes")
					}
					// Given classes (the predicted ones) give the same maps.
					if name != "class-model" {
						given, err := m.Explain(ctx, fl, b, methods.Target{Classes: got.Classes})
						if err != nil {
							t.Fatal(err)
						}
						if d, _ := tensor.MaxAbsDiff(given.Map, got.Map); d > 1e-5*math.Max(mapRange(got.Map), 1e-12) {
							t.Errorf("given classes differ from predicted ones by %g", d)
						}
					}
					// A batch equals its images one by one.
					tol := 1e-4
					if bt, ok := batchTol[name]; ok {
						tol = bt
					}
					images := compared(ties, forwardOnly[name])
					if len(images) == 0 {
						t.Fatalf("every image has tied max-pool windows (%v): none to compare alone", keys(ties))
					}
					for _, i := range images {
						one, err := m.Explain(ctx, fl, methods.Batch{X: g.Inputs.Slice(i, i+1)}, methods.Target{})
						if err != nil {
							t.Fatal(err)
						}
						want := got.Map.Slice(i, i+1)
						if walked[name] {
							checkWalk(t, fl, g.Inputs, i, got, one)
						} else if d, _ := tensor.MaxAbsDiff(one.Map, want); d > tol*math.Max(mapRange(want), 1e-12) {
							t.Errorf("image %d alone differs from its batch result by %g (range %g)", i, d, mapRange(want))
						}
						if one.Classes[0] != got.Classes[i] {
							t.Errorf("image %d: class %d alone, %d in the batch", i, one.Classes[0], got.Classes[i])
						}
					}
				})
			}
		})
	}
}

// checkWalk checks Guided IG (conformance options: 8 steps, zero baseline,
// default fraction and max_dist) on image i: its map alone equals the path
// rule walked with the gradient of one image at each point, and its row of
// the batch's map equals the rule walked with the gradient of that point in
// a batch of the same size (the other rows' values do not enter row i's
// arithmetic), both bit for bit; the Pearson of the two is logged.
func checkWalk(t *testing.T, fl *tfgraph.Flat, x *tensor.Tensor, i int, batch, alone *methods.Maps) {
	t.Helper()
	grad, err := methods.New("gradient", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := x.Item(i)
	per := len(in.Data)
	class := batch.Classes[i]
	walk := func(what string, rows *tensor.Tensor, row int, got []float32) {
		classes := slices.Repeat([]int{class}, rows.Shape[0])
		if rows.Shape[0] > 1 {
			classes = batch.Classes
		}
		attr, _, err := methods.GuidedIGWalk(in.Data, make([]float32, per), 8, methods.DefaultGuidedIGFraction, methods.DefaultGuidedIGMaxDist, func(_ int, p []float32) ([]float32, error) {
			copy(rows.Data[row*per:(row+1)*per], p)
			res, err := grad.Explain(context.Background(), fl, methods.Batch{X: rows}, methods.Target{Classes: classes})
			if err != nil {
				return nil, err
			}
			return res.Raw.Data[row*per : (row+1)*per], nil
		})
		if err != nil {
			t.Fatal(err)
		}
		diff := 0
		for q, v := range attr {
			if float32(v) != got[q] {
				diff++
			}
		}
		if diff > 0 {
			t.Errorf("image %d %s: %d of %d features differ from the path rule walked with the gradients of that batch size", i, what, diff, per)
		}
	}
	walk("alone", x.Slice(i, i+1).Clone(), 0, alone.Raw.Data)
	walk("in the batch", x.Clone(), i, batch.Raw.Data[i*per:(i+1)*per])
	t.Logf("image %d: Pearson %.6f alone and in the batch", i, tensor.Pearson(alone.Raw.Data, batch.Raw.Data[i*per:(i+1)*per]))
}

func checkMaps(t *testing.T, got *methods.Maps, name string, n, h, w, c int) {
	t.Helper()
	if got.Method != name {
		t.Errorf("Maps.Method = %q", got.Method)
	}
	if !tensor.SameShape(got.Map.Shape, []int{n, h, w}) {
		t.Fatalf("map shape %v, want [%d %d %d]", got.Map.Shape, n, h, w)
	}
	if !got.Map.Finite() {
		t.Error("map has NaN or Inf")
	}
	if got.Map.MaxAbs() == 0 {
		t.Error("map is all zeros")
	}
	if got.Raw != nil && (!tensor.SameShape(got.Raw.Shape, []int{n, h, w, c}) || !got.Raw.Finite()) {
		t.Errorf("raw shape %v (finite %v)", got.Raw.Shape, got.Raw.Finite())
	}
	if got.LowRes != nil && (len(got.LowRes.Shape) != 3 || got.LowRes.Shape[0] != n || got.Layer == "") {
		t.Errorf("low-res shape %v, layer %q", got.LowRes.Shape, got.Layer)
	}
	if len(got.Classes) != n || len(got.Scores) != n {
		t.Errorf("%d classes and %d scores for %d images", len(got.Classes), len(got.Scores), n)
	}
	for k, v := range got.Info {
		if len(v) != n {
			t.Errorf("info %s has %d values for %d images", k, len(v), n)
		}
	}
	if !got.Signed {
		lo, _ := got.Map.Range()
		if lo < 0 {
			t.Errorf("unsigned map has a negative value %g", lo)
		}
	}
}

// Bad options and bad inputs are errors that name the problem, for every
// method; nothing panics.
func TestBadOptionsAndInputs(t *testing.T) {
	for _, name := range methods.Names() {
		if _, err := methods.New(name, map[string]any{"bogus_option": 1}); err == nil || !strings.Contains(err.Error(), "bogus_option") {
			t.Errorf("%s: unknown option: %v", name, err)
		}
		if name == "class-model" {
			continue // one image per session run, no chunking
		}
		if _, err := methods.New(name, map[string]any{"memory_mb": -1}); err == nil || !strings.Contains(err.Error(), "memory_mb") {
			t.Errorf("%s: negative memory: %v", name, err)
		}
	}
	bad := []struct {
		method string
		opts   map[string]any
		want   string
	}{
		{"nope", nil, `unknown method "nope"; methods: gradient, smoothgrad, squaregrad`},
		{"gradient", map[string]any{"reduce": "median"}, `unknown channel reduction "median"`},
		{"smoothgrad", map[string]any{"samples": -3}, "samples must be ≥ 1"},
		{"smoothgrad", map[string]any{"noise": -0.1}, "noise must be ≥ 0"},
		{"smoothgrad", map[string]any{"method": "gradcam"}, `not "gradcam"`},
		{"vargrad", map[string]any{"method": "gradient", "options": map[string]any{"reduce": 3}}, `vargrad: methods: gradient: tensor: unknown channel reduction "3"`},
		{"smoothgrad", map[string]any{"samples": "many"}, "cannot unmarshal"},
		{"integrated-gradients", map[string]any{"baseline": "grey"}, `unknown baseline "grey"`},
		{"integrated-gradients", map[string]any{"rule": "simpson"}, `unknown rule "simpson"`},
		{"integrated-gradients", map[string]any{"steps": -1}, "steps must be ≥ 1"},
		{"occlusion", map[string]any{"patch": -2}, "patch and stride must be ≥ 1"},
		{"class-model", map[string]any{"init": "noise"}, `init is zeros or input, not "noise"`},
		{"class-model", map[string]any{"lr": -1}, "lr, l2 and blur must be ≥ 0"},
		{"attention-rollout", map[string]any{"heads": "median"}, `heads "median": want mean, max or min`},
		{"attention-rollout", map[string]any{"residual": 1.5}, "residual 1.5 is outside [0,1]"},
		{"attention-rollout", map[string]any{"discard": 1}, "discard 1 is outside [0,1)"},
		{"xrai", map[string]any{"algorithm": "slow"}, `unknown algorithm "slow"`},
		{"xrai", map[string]any{"baselines": "grey"}, `unknown baselines "grey"`},
		{"xrai", map[string]any{"scales": []any{100, -1}}, "scale 1 must be a finite number > 0"},
		{"xrai", map[string]any{"segment_size": 100, "no_resize": true}, "segment_size and no_resize exclude each other"},
		{"xrai", map[string]any{"area_threshold": 1.5}, "area_threshold must be in (0, 1]"},
		{"guided-ig", map[string]any{"fraction": 1.5}, "fraction must be in (0, 1], got 1.5"},
		{"guided-ig", map[string]any{"max_dist": -0.1}, "max_dist must be in [0, 1], got -0.1"},
		{"guided-ig", map[string]any{"steps": 20000}, "steps must be in [1, 10000], got 20000"},
		{"guided-ig", map[string]any{"baseline": "grey"}, `unknown baseline "grey"`},
		{"blur-ig", map[string]any{"max_sigma": 5000}, "max_sigma must be in (0, 1000], got 5000"},
		{"blur-ig", map[string]any{"grad_step": -1}, "grad_step must be in (0, 1000], got -1"},
		{"blur-ig", map[string]any{"border": "wrap"}, `unknown border "wrap"`},
		{"expected-gradients", map[string]any{"samples": -1}, "samples must be in [1, 100000], got -1"},
		{"gradient-shap", map[string]any{"stdevs": -0.5}, "stdevs must be ≥ 0, got -0.5"},
		{"integrated-gradients", map[string]any{"baselines": "a.npy", "baseline_file": "b.npy"}, "baseline_file (one baseline) and baselines (references averaged over) exclude each other"},
		{"integrated-gradients", map[string]any{"references": -2, "baselines": "a.npy"}, "references must be in [1, 10000], got -2"},
		{"integrated-gradients", map[string]any{"baselines": "a.npy", "baseline": "white"}, `baseline "white" and baselines (references averaged over) exclude each other`},
	}
	for _, c := range bad {
		if _, err := methods.New(c.method, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v; want %q", c.method, c.opts, err, c.want)
		}
	}
	fl, g := loadZoo(t, "fmnist_vgg")
	ctx := context.Background()
	for _, name := range methods.Names() {
		m, _ := methods.New(name, cheap[name])
		inputs := []struct {
			b    methods.Batch
			t    methods.Target
			want string
		}{
			{methods.Batch{}, methods.Target{}, "no images"},
			{methods.Batch{X: tensor.New(2, 28, 28)}, methods.Target{}, "want [N,H,W,C]"},
			{methods.Batch{X: g.Inputs}, methods.Target{Classes: []int{1}}, "1 classes for 8 images"},
			{methods.Batch{X: g.Inputs.Slice(0, 1)}, methods.Target{Classes: []int{10}}, "class 10 of image 0 is out of range"},
			{methods.Batch{X: g.Inputs, Black: []float32{0, 0}}, methods.Target{}, "black has 2 values for 1 channels"},
		}
		for _, in := range inputs {
			if name == "cam" && strings.Contains(in.want, "class 10") {
				continue // cam fails first: fmnist_vgg has no GAP head
			}
			if _, err := m.Explain(ctx, fl, in.b, in.t); err == nil || !strings.Contains(err.Error(), in.want) {
				t.Errorf("%s: %v; want %q", name, err, in.want)
			}
		}
	}
	// Reference files: missing, or of the wrong shape, named by option.
	for _, c := range []struct {
		method string
		opts   map[string]any
		want   string
	}{
		{"expected-gradients", nil, "needs baselines: an .npy file of reference images"},
		{"gradient-shap", map[string]any{"baselines": "nope.npy"}, "methods: gradient-shap: baselines: "},
		{"integrated-gradients", map[string]any{"baselines": "../savedmodels/fmnist_vgg/golden/logits.npy"}, "references have shape [8 10], want [K,28,28,1]"},
		{"guided-ig", map[string]any{"baseline_file": "nope.npy"}, "methods: guided-ig: baseline_file: "},
	} {
		m, err := methods.New(c.method, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Explain(ctx, fl, methods.Batch{X: g.Inputs}, methods.Target{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v; want %q", c.method, c.opts, err, c.want)
		}
	}
	for _, name := range []string{"gradcam", "gradcam++", "layercam", "hirescam", "xgradcam", "scorecam", "ablationcam", "eigencam", "guided-gradcam"} {
		m, _ := methods.New(name, nil)
		if _, err := m.Explain(ctx, fl, methods.Batch{X: g.Inputs}, methods.Target{Layer: "fc1"}); err == nil || !strings.Contains(err.Error(), "CAM methods need a 4-D layer") {
			t.Errorf("%s at a dense layer: %v", name, err)
		}
		if _, err := m.Explain(ctx, fl, methods.Batch{X: g.Inputs}, methods.Target{Layer: "conv9"}); err == nil || !strings.Contains(err.Error(), `layer "conv9" not found`) {
			t.Errorf("%s at an unknown layer: %v", name, err)
		}
	}
	gap, gg := loadZoo(t, "fmnist_gap")
	cam, _ := methods.New("cam", nil)
	if _, err := cam.Explain(ctx, gap, methods.Batch{X: gg.Inputs}, methods.Target{Layer: "relu2_2"}); err == nil || !strings.Contains(err.Error(), "global average pooling reads (relu3_2)") {
		t.Errorf("cam at another layer: %v", err)
	}
}

// keys lists the images of a set in order.
func keys(set map[int]bool) []int { return slices.Sorted(maps.Keys(set)) }
