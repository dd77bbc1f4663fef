//go:build cgo

package methods_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// A binary classifier's one logit z is two classes (tfgraph.Flat.BinaryLogit),
// as Keras' binary labels and the peers (tf-keras-vis' BinaryScore,
// pytorch-grad-cam's BinaryClassifierOutputTarget) have it: class 0 scores
// −z, class 1 scores z. On the edge model binary_sigmoid (Dense(1), then a
// sigmoid), against tf.GradientTape on the Keras model: the gradient of each
// golden class's score, and of its probability (1 − σ(z) for class 0, σ(z)
// for class 1). LRP, DeepLIFT and gradient × input give class 0 the maps of
// class 1 negated. CAM reads the dense kernel's one column: class 0's map is
// class 1's negated, and each is Grad-CAM's times h·w, as on every GAP head.
func TestBinaryClasses(t *testing.T) {
	fl, dir := loadEdge(t, "binary_sigmoid")
	read := func(name string) *tensor.Tensor {
		v, err := savedmodels.ReadNpy(filepath.Join(dir, "golden", name+".npy"))
		if err != nil {
			t.Fatalf("%v (build the edge models: make edge-models)", err)
		}
		return v
	}
	x, grad, gradProb := read("inputs"), read("grad_input"), read("grad_prob")
	top, err := savedmodels.ReadNpyInts(filepath.Join(dir, "golden", "top.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fl.BinaryLogit(); !ok {
		t.Fatal("binary_sigmoid: no binary logit found")
	}
	run := func(name string, opts map[string]any, tg methods.Target) *methods.Maps {
		t.Helper()
		meth, err := methods.New(name, opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := meth.Explain(context.Background(), fl, methods.Batch{X: x}, tg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	for _, c := range []struct {
		what string
		prob bool
		want *tensor.Tensor
	}{{"score", false, grad}, {"probability", true, gradProb}} {
		got := run("gradient", nil, methods.Target{Classes: top, Probability: c.prob})
		if d, _ := tensor.MaxAbsDiff(got.Raw, c.want); d > 1e-5*c.want.MaxAbs() {
			t.Errorf("gradient of the %s of classes %v: max|Δ| %g from tf.GradientTape's (max %g)", c.what, top, d, c.want.MaxAbs())
		}
	}
	n := x.Shape[0]
	same := func(c int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = c
		}
		return out
	}
	// The propagation methods are linear in the signal from the score: the
	// maps of class 0 are those of class 1 negated (LRP's relevance starts
	// at −z and passes the negation whole).
	for _, name := range []string{"lrp", "deeplift", "gradient-x-input"} {
		m0, m1 := run(name, nil, methods.Target{Classes: same(0)}), run(name, nil, methods.Target{Classes: same(1)})
		neg := m1.Raw.Clone()
		for i := range neg.Data {
			neg.Data[i] = -neg.Data[i]
		}
		if d, _ := tensor.MaxAbsDiff(m0.Raw, neg); d > 1e-6*neg.MaxAbs() {
			t.Errorf("%s: the map of class 0 differs from that of class 1 negated by %g (max %g)", name, d, neg.MaxAbs())
		}
	}
	cam0 := run("cam", nil, methods.Target{Classes: same(0)})
	cam1 := run("cam", nil, methods.Target{Classes: same(1)})
	grad1 := run("gradcam", map[string]any{"no_relu": true}, methods.Target{Classes: same(1)})
	hw := float32(cam1.LowRes.Shape[1] * cam1.LowRes.Shape[2])
	neg, scaled := cam1.LowRes.Clone(), cam1.LowRes.Clone()
	for i := range neg.Data {
		neg.Data[i] = -neg.Data[i]
		scaled.Data[i] /= hw
	}
	if d, _ := tensor.MaxAbsDiff(cam0.LowRes, neg); d != 0 {
		t.Errorf("CAM of class 0 differs from CAM of class 1 negated by %g", d)
	}
	if d, _ := tensor.MaxAbsDiff(scaled, grad1.LowRes); d > 1e-5*grad1.LowRes.MaxAbs() {
		t.Errorf("CAM/(h·w) of class 1 differs from Grad-CAM by %g (max %g)", d, grad1.LowRes.MaxAbs())
	}
}

// loadEdge loads an edge model's flat graph (savedmodels/build_edge.py,
// make edge-models), closed when the test ends, and returns its folder.
func loadEdge(t *testing.T, name string) (*tfgraph.Flat, string) {
	t.Helper()
	dir := filepath.Join(zooDir("edge"), name)
	m, err := tfgraph.Load(dir, &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
	if err != nil {
		t.Fatalf("%v (build the edge models: make edge-models)", err)
	}
	t.Cleanup(func() { m.Close() })
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	return fl, dir
}
