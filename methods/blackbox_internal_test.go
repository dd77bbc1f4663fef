package methods

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/segment"
	"github.com/saliencykit/saliency/tensor"
)

// Bad values of the black-box methods' options are errors that name the
// option.
func TestBlackBoxOptions(t *testing.T) {
	for _, c := range []struct {
		method string
		opts   map[string]any
		option string
	}{
		{"rise", map[string]any{"nb_samples": -1}, "nb_samples"},
		{"rise", map[string]any{"nb_samples": MaxRISESamples + 1}, "nb_samples"},
		{"rise", map[string]any{"grid_size": MaxRISEGrid + 1}, "grid_size"},
		{"rise", map[string]any{"preservation_probability": 0.0}, "preservation_probability"},
		{"rise", map[string]any{"preservation_probability": 1.5}, "preservation_probability"},
		{"rise", map[string]any{"normalize": "pixels"}, "normalize"},
		{"sobol", map[string]any{"nb_design": 24}, "nb_design"},
		{"sobol", map[string]any{"nb_design": MaxSobolDesigns * 2}, "nb_design"},
		{"sobol", map[string]any{"grid_size": MaxGSAGrid + 1}, "grid_size"},
		{"sobol", map[string]any{"grid_size": MaxGSAGrid, "nb_design": MaxSobolDesigns}, "nb_design"},
		{"sobol", map[string]any{"estimator": "sobol"}, "estimator"},
		{"sobol", map[string]any{"sampler": "halton"}, "sampler"},
		{"sobol", map[string]any{"perturbation": "noise"}, "perturbation"},
		{"hsic", map[string]any{"nb_design": 1}, "nb_design"},
		{"hsic", map[string]any{"nb_design": MaxHSICDesigns + 1}, "nb_design"},
		{"hsic", map[string]any{"estimator": "sobolev"}, "estimator"},
		{"hsic", map[string]any{"grid_size": -2}, "grid_size"},
		{"lime", map[string]any{"nb_samples": MaxSuperpixelSamples + 1}, "nb_samples"},
		{"lime", map[string]any{"kernel_width": 0.0}, "kernel_width"},
		{"lime", map[string]any{"distance_mode": "manhattan"}, "distance_mode"},
		{"lime", map[string]any{"sampling": "all"}, "sampling"},
		{"lime", map[string]any{"prob": 0.3}, "prob"},
		{"lime", map[string]any{"sampling": "bernoulli", "prob": 1.0}, "prob"},
		{"lime", map[string]any{"alpha": -1.0}, "alpha"},
		{"lime", map[string]any{"segmentation": "watershed"}, "segmentation"},
		{"lime", map[string]any{"segmentation": "slic", "grid_size": 4}, "grid_size"},
		{"lime", map[string]any{"labels": "x.npy", "segmentation": "grid"}, "segmentation"},
		{"kernel-shap", map[string]any{"nb_samples": -5}, "nb_samples"},
		{"kernel-shap", map[string]any{"grid_size": 300}, "grid_size"},
		{"kernel-shap", map[string]any{"labels": "x.npy", "grid_size": 3}, "grid_size"},
	} {
		_, err := New(c.method, c.opts)
		var oe *OptionError
		if !errors.As(err, &oe) || !slices.Contains(oe.Options, c.option) {
			t.Errorf("%s %v: %v, want an OptionError naming %s", c.method, c.opts, err, c.option)
		}
	}
}

// The grid segmentation has grid² segments, each a rectangle, labelled
// row by row.
func TestGridSegments(t *testing.T) {
	lab, err := segmentImage("grid", 3, nil, 7, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	count := map[int32]int{}
	for y := 0; y < 7; y++ {
		for x := 0; x < 5; x++ {
			l := lab[y*5+x]
			count[l]++
			if want := int32((y*3/7)*3 + x*3/5); l != want {
				t.Fatalf("pixel (%d,%d): label %d, want %d", y, x, l, want)
			}
		}
	}
	if len(count) != 9 {
		t.Errorf("%d segments, want 9", len(count))
	}
	if _, err := segmentImage("grid", 8, nil, 7, 7, 1); err == nil {
		t.Error("a grid finer than the image: no error")
	}
}

// The regression's size is bounded: samples × segments beyond
// MaxSuperpixelValues is an OptionError naming nb_samples, before any draw.
func TestSuperpixelValuesBounded(t *testing.T) {
	_, err := superpixelDraws("lime", nil, 0, 1, MaxSuperpixelSamples, MaxSegments, func() [][]float64 {
		t.Fatal("drew the samples")
		return nil
	})
	var oe *OptionError
	if !errors.As(err, &oe) || !slices.Contains(oe.Options, "nb_samples") {
		t.Errorf("%d samples of %d segments: %v", MaxSuperpixelSamples, MaxSegments, err)
	}
}

// LIME's and KernelSHAP's segmentations read the pixels, not the model's
// input units: a photograph preprocessed as a caffe-style card does (BGR,
// 0…255 less the ImageNet mean) is segmented as the same photograph in
// [0,1] RGB, label for label, by every algorithm; before, quickshift's
// Lab conversion read BGR values of −124…151 as RGB in [0,1].
func TestSuperpixelsReadPixels(t *testing.T) {
	path := filepath.Join("..", "segment", "testdata", "photo_chelsea.png")
	caffe := images.Spec{Height: 224, Width: 224, Channels: 3, BGR: true, Scale: 1, Mean: []float32{103.939, 116.779, 123.68}}
	x, err := images.LoadInput(path, caffe)
	if err != nil {
		t.Fatal(err)
	}
	rgb, err := images.LoadInput(path, caffe.Display())
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{X: &tensor.Tensor{Shape: []int{1, 224, 224, 3}, Data: x}, Black: caffe.PixelValue(0), White: caffe.PixelValue(255), BGR: true}
	for _, method := range []string{"felzenszwalb", "slic", "quickshift"} {
		sg, err := Superpixels{Segmentation: method}.prepare("lime", b, 1, 224, 224, 3)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := sg.labels("lime", 0, x, 224, 224, 3)
		if err != nil {
			t.Fatal(err)
		}
		want, err := segmentImage(method, 0, rgb, 224, 224, 3)
		if err != nil {
			t.Fatal(err)
		}
		ari, err := segment.AdjustedRand(labelsOf(got), labelsOf(want))
		if err != nil {
			t.Fatal(err)
		}
		units, err := segmentImage(method, 0, x, 224, 224, 3)
		if err != nil {
			t.Fatal(err)
		}
		old, _ := segment.AdjustedRand(labelsOf(units), labelsOf(want))
		t.Logf("%s: adjusted Rand %.6f with the pixels' segmentation (the input units': %.3f)", method, ari, old)
		if ari < 0.999 {
			t.Errorf("%s: adjusted Rand %.6f between the segmentation of the caffe input and of its pixels", method, ari)
		}
	}
}

// labelsOf are 224×224 labels.
func labelsOf(l []int32) segment.Labels {
	return segment.Labels{H: 224, W: 224, N: int(slices.Max(l)) + 1, Label: l}
}
