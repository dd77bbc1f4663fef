//go:build cgo

package methods_test

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/tensor"
)

// fashionMNIST is the test split of Fashion-MNIST (Debian's
// dataset-fashion-mnist) as the zoo's input: [10000,28,28,1], pixel/255.
func fashionMNIST(t testing.TB) *tensor.Tensor {
	t.Helper()
	ims, err := experiments.LoadImages(experiments.Data{Source: "fashion-mnist", Path: "/usr/share/datasets/fashion-mnist", Count: 10000})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(ims.Len(), 28, 28, 1)
	for i, p := range ims.Pictures {
		g, ok := p.(*image.Gray)
		if !ok || len(g.Pix) != 28*28 {
			t.Fatalf("image %d is a %T of %v", i, p, p.Bounds())
		}
		for j, v := range g.Pix {
			x.Data[i*784+j] = float32(v) / 255
		}
	}
	return x
}

// channels lists every channel of a layer as a unit (its strongest
// activation).
func channels(t testing.TB, m methods.Model, layer string) []methods.Unit {
	t.Helper()
	l, err := m.Layer(layer)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Shape(l.Output)
	var out []methods.Unit
	for c := 0; c < int(s[len(s)-1]); c++ {
		out = append(out, methods.Unit{Layer: layer, Channel: c})
	}
	return out
}

// The acceptance of feature visualisation (issue 18): with its defaults,
// the image of at least 90% of the channels of two layers of fmnist_vgg
// reaches the channel's top activation over the 10,000 Fashion-MNIST test
// images (its largest value, the strongest activation anywhere in any
// image). Measured with seeds 0 to 5: every channel of conv1_2 (at 1.04 to
// 1.44× its top), and of conv2_2 all 32 (1.03 to 2.26×) but for one
// channel at 0.99× with seed 5; one start without restarts, or random
// transformations, leave one to three channels of each layer below.
func TestFeatureVisualizationReachesTop(t *testing.T) {
	ctx := context.Background()
	fl, _ := loadZoo(t, "fmnist_vgg")
	x := fashionMNIST(t)
	layers := []string{"conv1_2", "conv2_2"}
	var units []methods.Unit
	for _, l := range layers {
		units = append(units, channels(t, fl, l)...)
	}
	t0 := time.Now()
	vals, err := methods.UnitValues(ctx, fl, x, units, methods.Chunking{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("top activations of %d channels over %d images in %v", len(units), x.Shape[0], time.Since(t0).Round(time.Millisecond))
	fv, err := methods.New("feature-visualization", nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	reached := map[string]int{}
	ratios := map[string][]string{}
	for i, u := range units {
		top := slices.Max(vals[i])
		res, err := fv.Explain(ctx, fl, methods.Batch{X: tensor.New(1, 28, 28, 1)}, methods.Target{Unit: &u})
		if err != nil {
			t.Fatal(err)
		}
		if top <= 0 {
			t.Errorf("%s: top activation %v: a dead channel", u, top)
			continue
		}
		r := res.Scores[0] / top
		if r >= 1 {
			reached[u.Layer]++
		}
		ratios[u.Layer] = append(ratios[u.Layer], fmt.Sprintf("%.2f", r))
	}
	t.Logf("%d visualisations in %v", len(units), time.Since(t0).Round(time.Millisecond))
	for _, l := range layers {
		n := len(ratios[l])
		frac := float64(reached[l]) / float64(n)
		t.Logf("%s: %d of %d channels (%.0f%%) reach their top; value/top: %s", l, reached[l], n, 100*frac, strings.Join(ratios[l], " "))
		if frac < 0.9 {
			t.Errorf("%s: %d of %d channels reach their top activation over Fashion-MNIST's test set; want at least 90%%", l, reached[l], n)
		}
	}
}

// UnitValues gives the units' values as the methods explain them: the
// scores of the gradient method for the same unit.
func TestUnitValues(t *testing.T) {
	ctx := context.Background()
	fl, g := loadZoo(t, "fmnist_vgg")
	units := []methods.Unit{{Layer: "conv1_2", Channel: 3}, {Layer: "conv2_2", Channel: 7, Reduce: "mean"}, {Layer: "conv2_2", Channel: 1, Reduce: "at", At: []int{5, 6}}, {Layer: "fc1", Channel: 9}}
	vals, err := methods.UnitValues(ctx, fl, g.Inputs, units, methods.Chunking{MemoryMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	grad, _ := methods.New("gradient", nil)
	for i, u := range units {
		res, err := grad.Explain(ctx, fl, methods.Batch{X: g.Inputs}, methods.Target{Unit: &u})
		if err != nil {
			t.Fatal(err)
		}
		// UnitValues runs in chunks of one image here, the gradient in one
		// batch: oneDNN may round a batch of 1 and of 8 differently (AVX2
		// kernels do), so the values agree to float rounding.
		for j, v := range vals[i] {
			if w := res.Scores[j]; math.Abs(float64(v-w)) > 1e-5*math.Max(1, math.Abs(float64(w))) {
				t.Errorf("%s image %d: UnitValues %v, gradient's score %v", u, j, v, w)
			}
		}
	}
	if _, err := methods.UnitValues(ctx, fl, g.Inputs, []methods.Unit{{Layer: "conv2_2", Channel: 32}}, methods.Chunking{}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("channel 32 of conv2_2: error %v", err)
	}
}

// Class targets: every zoo model's visualisation of a class is classified
// as that class with probability ≥ 0.99, with the defaults (pixel) and with
// the Fourier parameterization. Measured with the defaults and all ten
// classes: ≥ 0.9999 for both on every zoo model. Here two classes per model
// (T-shirt and sneaker, fmnist_vgg's slowest), one start each, to keep the
// test short.
func TestFeatureVisualizationClasses(t *testing.T) {
	ctx := context.Background()
	for _, model := range zooModels {
		fl, g := loadZoo(t, model)
		s := g.Inputs.Shape
		params := []string{"pixel"}
		if model == "fmnist_vgg" || model == "fmnist_resnet" {
			params = append(params, "fourier")
		}
		for _, p := range params {
			fv, err := methods.New("feature-visualization", map[string]any{"param": p, "restarts": 1})
			if err != nil {
				t.Fatal(err)
			}
			res, err := fv.Explain(ctx, fl, methods.Batch{X: tensor.New(2, s[1], s[2], s[3])}, methods.Target{Classes: []int{0, 7}})
			if err != nil {
				t.Fatal(err)
			}
			for i, pr := range res.Info["probability"] {
				if pr < 0.99 || math.IsNaN(pr) {
					t.Errorf("%s %s: class %d has probability %.4f on its visualisation; want ≥ 0.99", model, p, res.Classes[i], pr)
				}
			}
			lo, hi := res.Raw.Range()
			if lo < 0 || hi > 1 {
				t.Errorf("%s %s: the images span [%v, %v], outside the input range [0, 1]", model, p, lo, hi)
			}
			t.Logf("%s %s: probabilities %.6f", model, p, res.Info["probability"])
		}
	}
}

// The same options, seed and batch give the same bytes, for every
// ingredient (Fourier, transformations, blur, L2, TV, diversity; pixel
// with restarts); another seed gives other images; with diversity the
// images of a batch differ; without it a batch gives its images one by one
// to the bit.
func TestFeatureVisualizationSameBytes(t *testing.T) {
	ctx := context.Background()
	fl, _ := loadZoo(t, "fmnist_vgg")
	run := func(n int, opts map[string]any, tg methods.Target) *methods.Maps {
		t.Helper()
		fv, err := methods.New("feature-visualization", opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fv.Explain(ctx, fl, methods.Batch{X: tensor.New(n, 28, 28, 1)}, tg)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	unit := methods.Target{Unit: &methods.Unit{Layer: "conv2_2", Channel: 5}}
	all := map[string]any{"param": "fourier", "steps": 24, "jitter": 2, "scale": []float64{0.9, 1.1}, "rotate": 10,
		"blur": 0.5, "l2": 0.01, "tv": 0.001, "diversity": 1, "seed": 3, "memory_mb": 1}
	a, b := run(3, all, unit), run(3, all, unit)
	if !tensor.Equal(a.Raw, b.Raw) || !slices.Equal(a.Scores, b.Scores) {
		t.Errorf("fourier, transformations, diversity: two runs differ")
	}
	if d, _ := tensor.MaxAbsDiff(a.Raw.Item(0), a.Raw.Item(1)); d == 0 {
		t.Errorf("diversity: the images of a batch are equal")
	}
	all["seed"] = 4
	if c := run(3, all, unit); tensor.Equal(a.Raw, c.Raw) {
		t.Errorf("seeds 3 and 4 give the same images")
	}
	// A unit's mean at the diversity term's layer: one backward pass for
	// both seeds.
	mean := methods.Target{Unit: &methods.Unit{Layer: "conv2_2", Channel: 5, Reduce: "mean"}}
	if a, b := run(2, all, mean), run(2, all, mean); !tensor.Equal(a.Raw, b.Raw) {
		t.Errorf("the mean of conv2_2:5 with diversity: two runs differ")
	}
	px := map[string]any{"steps": 24, "restarts": 3, "restart_steps": 6, "jitter": 1, "seed": 3}
	classes := []int{3, 7}
	batch := run(2, px, methods.Target{Classes: classes})
	for i, c := range classes {
		one := run(1, px, methods.Target{Classes: []int{c}})
		if !tensor.Equal(one.Raw, batch.Raw.Slice(i, i+1)) || one.Scores[0] != batch.Scores[i] {
			t.Errorf("pixel with restarts: class %d alone differs from the batch", c)
		}
	}
}
