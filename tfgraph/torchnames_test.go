//go:build cgo

package tfgraph_test

import (
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// A model converted from PyTorch by scripts/import_model.py names its layers
// by module path (and the functions a forward() calls by the module and the
// function), and a module that ends in a child's output (a Sequential)
// is an alias of it: each computes torch's values for that module (golden
// .npy from scripts/import/build_testdata.py), and the default CAM layer is
// the outermost module that ends in the last convolution-like layer (block2,
// not its child block2.2).
func TestTorchModuleNames(t *testing.T) {
	dir := filepath.Join("..", "savedmodels", "testdata", "torch_names")
	card, err := savedmodels.ReadCard(dir)
	if err != nil {
		t.Fatal(err)
	}
	fl := flatAt(t, dir, &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1, KerasLayers: kerasLayers(card)})
	// Modules, and the functions SmallCNN.forward calls (x + block1(x), torch.relu, torch.flatten).
	for _, name := range []string{"stem.0", "stem.2", "block1.0", "block1.2", "block2.0", "block2.1", "head", "add", "relu", "flatten"} {
		l, err := fl.Layer(name)
		if err != nil {
			t.Fatal(err)
		}
		if l.Alias != "" || len(l.Ops) == 0 {
			t.Errorf("layer %s: alias %q, ops %v; want a layer of its own", name, l.Alias, l.Ops)
		}
	}
	for name, of := range map[string]string{"stem": "stem.2", "block1": "block1.2", "block2": "block2.2"} {
		l, err := fl.Layer(name)
		if err != nil {
			t.Fatal(err)
		}
		if l.Alias != of {
			t.Errorf("layer %s is an alias of %q, want %q", name, l.Alias, of)
		}
	}
	cam, err := fl.CAMLayer()
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := fl.Layer("block2.2")
	if cam.Name != "block2" || cam.Output != inner.Output {
		t.Errorf("CAM layer %s (%s), want block2, the output of block2.2 (%s)", cam.Name, cam.Output, inner.Output)
	}

	gold := dir + "_golden"
	x, err := savedmodels.ReadNpy(filepath.Join(gold, "input.npy"))
	if err != nil {
		t.Fatal(err)
	}
	logits, _ := fl.Logits() // the output itself: the model ends in no softmax
	names := []string{"block1", "block2"}
	fetches := []string{logits}
	for _, n := range names {
		l, _ := fl.Layer(n)
		fetches = append(fetches, l.Output)
	}
	got, err := fetch(fl, x, fetches...)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range append([]string{"logits"}, names...) {
		want, err := savedmodels.ReadNpy(filepath.Join(gold, n+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := tensor.MaxAbsDiff(got[i], want)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if d > 1e-5*maxAbs(want) {
			t.Errorf("%s differs from torch's by %g (largest |value| %g)", n, d, maxAbs(want))
		}
	}
}
