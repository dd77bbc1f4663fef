package experiments

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

func loadFlat(t *testing.T, name string) (*tfgraph.Flat, *savedmodels.Golden) {
	t.Helper()
	dir := filepath.Join("..", "savedmodels", name)
	fl := flatAt(t, dir, nil)
	g, err := savedmodels.ReadGolden(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fl, g
}

// flatAt loads the SavedModel at dir and returns its flat graph, closed
// when the test ends.
func flatAt(t *testing.T, dir string, o *tfgraph.Options) *tfgraph.Flat {
	t.Helper()
	m, err := tfgraph.Load(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

// Cascading randomization of fmnist_vgg and fmnist_resnet: the layers come
// from the logits down; each step feeds the new weights of its layers and
// keeps batch-norm statistics; the draws follow their definitions; the same
// seed gives the same values; and the gradient map changes once the weights
// do (at the top layer already).
func TestRandomizationSteps(t *testing.T) {
	fl, g := loadFlat(t, "fmnist_vgg")
	layers := RandomizableLayers(fl)
	var names []string
	for _, l := range layers {
		names = append(names, l.Name)
	}
	if want := []string{"predictions", "fc1", "conv2_2", "conv2_1", "conv1_2", "conv1_1"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("layers %v, want %v", names, want)
	}
	r := Randomization{Seed: 3}
	steps, err := r.Steps(fl, "cascading")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 6 || len(steps[5].Layers) != 6 || steps[0].Name != "cascading/predictions" {
		t.Fatalf("steps %d, last %v", len(steps), steps[len(steps)-1].Layers)
	}
	// reinit: glorot-uniform kernels within their bound, zero biases.
	k := find(t, steps[0].Values, "predictions", "kernel")
	limit := math.Sqrt(6.0 / (128 + 10))
	var maxAbs float64
	for _, v := range k.Data {
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
	}
	if maxAbs > limit || maxAbs < 0.9*limit {
		t.Errorf("reinit kernel: max |w| %g, glorot bound %g", maxAbs, limit)
	}
	if b := find(t, steps[0].Values, "predictions", "bias"); b.MaxAbs() != 0 {
		t.Error("reinit bias is not zero")
	}
	again, _ := r.Steps(fl, "cascading")
	ind, _ := r.Steps(fl, "independent")
	c21 := find(t, steps[3].Values, "conv2_1", "kernel")
	if !tensor.Equal(find(t, again[3].Values, "conv2_1", "kernel"), c21) ||
		!tensor.Equal(find(t, ind[3].Values, "conv2_1", "kernel"), c21) {
		t.Error("the same seed and layer give other weights")
	}
	other, _ := Randomization{Seed: 4}.Steps(fl, "cascading")
	if tensor.Equal(find(t, other[0].Values, "predictions", "kernel"), k) {
		t.Error("another seed gives the same weights")
	}
	// The gradient map: 1.0 correlation with itself, lower after each step.
	grad, _ := methods.New("gradient", nil)
	ctx := context.Background()
	base, err := grad.Explain(ctx, fl, methods.Batch{X: g.Inputs}, methods.Target{Classes: g.Top})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Step{steps[0], steps[5]} {
		feed, err := fl.PrepareWeights(s.Values)
		if err != nil {
			t.Fatal(err)
		}
		view, err := fl.WithWeights(feed)
		if err != nil {
			t.Fatal(err)
		}
		m, err := grad.Explain(ctx, view, methods.Batch{X: g.Inputs}, methods.Target{Classes: g.Top})
		if err != nil {
			t.Fatal(err)
		}
		r := tensor.Pearson(m.Map.Data, base.Map.Data)
		t.Logf("%s: Pearson of the gradient maps with the original ones %.3f", s.Name, r)
		if r > 0.99 {
			t.Errorf("%s: the gradient map did not change (Pearson %.4f)", s.Name, r)
		}
	}
}

// Gaussian draws match each weight's standard deviation, permutations keep
// its values, "keep" leaves batch-norm scale and shift, and moving
// statistics are never touched (fmnist_resnet).
func TestRandomizationDistributions(t *testing.T) {
	fl, _ := loadFlat(t, "fmnist_resnet")
	top := func(r Randomization) map[string]*tensor.Tensor {
		s, err := r.Steps(fl, "cascading")
		if err != nil {
			t.Fatal(err)
		}
		return s[len(s)-1].Values
	}
	all := top(Randomization{Seed: 1, Distribution: "gaussian"})
	for name, v := range all {
		if weightKind(name) == "statistic" {
			t.Errorf("%s (a statistic) randomized", name)
		}
		old, _ := fl.WeightValue(name)
		so, sn := stdDev(old.Data), stdDev(v.Data)
		if len(v.Data) >= 256 && math.Abs(sn-so) > 0.15*so {
			t.Errorf("%s: std %g, original %g", name, sn, so)
		}
	}
	perm := top(Randomization{Seed: 1, Distribution: "permutation"})
	w := find(t, perm, "block2_conv1", "kernel")
	var old *tensor.Tensor
	for name := range perm {
		if filepath.Dir(name) == "block2_conv1" && weightKind(name) == "kernel" {
			old, _ = fl.WeightValue(name)
		}
	}
	a, b := append([]float32(nil), w.Data...), append([]float32(nil), old.Data...)
	sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	if !reflect.DeepEqual(a, b) || tensor.Equal(w, old) {
		t.Error("a permutation does not keep the values, or keeps their order")
	}
	keep := top(Randomization{Seed: 1, BatchNorm: "keep"})
	for name := range keep {
		if k := weightKind(name); k == "bn-scale" || k == "bn-shift" || k == "statistic" {
			t.Errorf("batchnorm keep: %s randomized", name)
		}
	}
	find(t, all, "block2_bn1", "bn-scale") // batchnorm randomize: the scale is randomized
	if _, err := (Randomization{Distribution: "uniform"}).Steps(fl, "cascading"); err == nil {
		t.Error("an unknown distribution is accepted")
	}
	if _, err := (Randomization{}).Steps(fl, "sideways"); err == nil {
		t.Error("an unknown mode is accepted")
	}
	// Bottom-up starts at the input and ends where cascading ends.
	up, err := (Randomization{Seed: 3}).Steps(fl, "bottom-up")
	if err != nil {
		t.Fatal(err)
	}
	down, _ := (Randomization{Seed: 3}).Steps(fl, "cascading")
	first, last := up[0], up[len(up)-1]
	if first.Name != "bottom-up/"+down[len(down)-1].Layers[len(down)-1] || len(last.Values) != len(down[len(down)-1].Values) {
		t.Errorf("bottom-up steps %s … %s (%d weights), cascading ends with %d weights", first.Name, last.Name, len(last.Values), len(down[len(down)-1].Values))
	}
	for k, v := range last.Values {
		if !tensor.Equal(v, down[len(down)-1].Values[k]) {
			t.Errorf("%s: bottom-up and cascading draw different values", k)
		}
	}
}

// find is the value of layer's weight of the given kind.
func find(t *testing.T, values map[string]*tensor.Tensor, layer, kind string) *tensor.Tensor {
	t.Helper()
	for name, v := range values {
		if filepath.Dir(name) == layer && weightKind(name) == kind {
			return v
		}
	}
	t.Fatalf("no %s of %s among %d values", kind, layer, len(values))
	return nil
}

func stdDev(x []float32) float64 {
	var m, s float64
	for _, v := range x {
		m += float64(v)
	}
	m /= float64(len(x))
	for _, v := range x {
		s += (float64(v) - m) * (float64(v) - m)
	}
	return math.Sqrt(s / float64(len(x)))
}
