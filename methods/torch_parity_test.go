//go:build cgo

package methods_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// A model converted from PyTorch (savedmodels/testdata/torch_names, a small
// CNN converted by scripts/import_model.py) explained by the toolkit equals
// the peers on the original torch module (goldens written by
// scripts/import/build_testdata.py in the converter venv): the input
// gradient of the top class equals torch.autograd's, and Grad-CAM at the
// module block2 equals pytorch-grad-cam's GradCAM before its scaling. CI
// checks a converted model against the original network here, without
// torch.
func TestConvertedTorchModelAgainstPeers(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join("..", "savedmodels", "testdata", "torch_names")
	gold := dir + "_golden"
	// As the commands load it: the layers the card lists by module name.
	m, _, err := experiments.LoadModel(dir, tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) *tensor.Tensor {
		t.Helper()
		v, err := savedmodels.ReadNpy(filepath.Join(gold, name))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	x, grad, cam := read("input.npy"), read("grad.npy"), read("gradcam_block2.npy")
	top, err := savedmodels.ReadNpyInts(filepath.Join(gold, "top.npy"))
	if err != nil {
		t.Fatal(err)
	}
	// near checks the largest difference relative to the largest |want|.
	near := func(what string, got, want *tensor.Tensor, tol float64) {
		t.Helper()
		if !tensor.SameShape(got.Shape, want.Shape) {
			t.Fatalf("%s: shape %v, torch's %v", what, got.Shape, want.Shape)
		}
		var d, peak float64
		for i, w := range want.Data {
			d = math.Max(d, math.Abs(float64(got.Data[i]-w)))
			peak = math.Max(peak, math.Abs(float64(w)))
		}
		if peak == 0 || d > tol*peak {
			t.Errorf("%s: largest difference %.3g of the largest value %.3g (allowed %g)", what, d, peak, tol)
		}
		t.Logf("%s: largest difference %.2g of the largest value %.3g", what, d/peak, peak)
	}
	target := methods.Target{Classes: []int{top[0]}}
	g, err := methods.New("gradient", nil)
	if err != nil {
		t.Fatal(err)
	}
	gm, err := g.Explain(ctx, fl, methods.Batch{X: x}, target)
	if err != nil {
		t.Fatal(err)
	}
	near("input gradient against torch.autograd", gm.Raw, grad, 1e-4)

	gc, err := methods.New("gradcam", nil)
	if err != nil {
		t.Fatal(err)
	}
	target.Layer = "block2"
	cm, err := gc.Explain(ctx, fl, methods.Batch{X: x}, target)
	if err != nil {
		t.Fatal(err)
	}
	if cm.LowRes == nil {
		t.Fatal("Grad-CAM gave no map at the layer's resolution")
	}
	near("Grad-CAM at block2 against pytorch-grad-cam", cm.LowRes, cam, 1e-4)
}
