package tfgraph_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// zooModels are the committed models every test runs on.
var zooModels = []string{
	"fmnist_gap", "fmnist_gap_softmax", "fmnist_vgg", "fmnist_resnet",
	"fmnist_vgg_randlabels", "fmnist_scatter", "fmnist_vit",
}

// zooDir is the committed zoo; SALIENCY_ZOO points the tests at another build.
func zooDir(name string) string {
	root := os.Getenv("SALIENCY_ZOO")
	if root == "" {
		root = filepath.Join("..", "savedmodels")
	}
	return filepath.Join(root, name)
}

func loadZoo(t testing.TB, name string) (*tfgraph.Model, *savedmodels.Golden) {
	t.Helper()
	m, err := tfgraph.Load(zooDir(name), &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	g, err := savedmodels.ReadGolden(zooDir(name))
	if err != nil {
		t.Fatal(err)
	}
	return m, g
}

// loadFlat loads a zoo model's flat graph and its golden vectors.
func loadFlat(t testing.TB, name string) (*tfgraph.Flat, *savedmodels.Golden) {
	t.Helper()
	m, g := loadZoo(t, name)
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	return fl, g
}

// loadFlatWith loads a zoo model's flat graph under the options, closed
// when the test ends.
func loadFlatWith(t testing.TB, name string, o tfgraph.Options) *tfgraph.Flat {
	t.Helper()
	return flatAt(t, zooDir(name), &o)
}

// flatAt loads the flat graph of the SavedModel in dir under the options
// (nil: the defaults), closed when the test ends.
func flatAt(t testing.TB, dir string, o *tfgraph.Options) *tfgraph.Flat {
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

// fetch runs x through fl and returns the named flat tensors.
func fetch(fl *tfgraph.Flat, x *tensor.Tensor, names ...string) ([]*tensor.Tensor, error) {
	res, err := fl.Run(context.Background(), x, tfgraph.Query{Fetch: names})
	if err != nil {
		return nil, err
	}
	return res.Fetched, nil
}

func TestForwardMatchesGolden(t *testing.T) {
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			m, g := loadZoo(t, name)
			got, err := m.Forward(g.Inputs)
			if err != nil {
				t.Fatal(err)
			}
			d, err := tensor.MaxAbsDiff(got, g.Outputs)
			if err != nil {
				t.Fatal(err)
			}
			if d > 1e-4 {
				t.Errorf("signature output differs from golden by %g (> 1e-4)", d)
			}
			card, err := savedmodels.ReadCard(zooDir(name))
			if err != nil {
				t.Fatal(err)
			}
			if card.Output.Kind == "logits" {
				if d, _ := tensor.MaxAbsDiff(got, g.Logits); d > 1e-4 {
					t.Errorf("logits differ from golden by %g (> 1e-4)", d)
				}
			}
			t.Logf("max |Go - golden| = %.3g", d)
			// One image at a time gives the same answer as the batch.
			for i := 0; i < 2; i++ {
				x := g.Inputs.Item(i)
				x.Shape = append([]int{1}, x.Shape...)
				one, err := m.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				want := got.Item(i)
				want.Shape = append([]int{1}, want.Shape...)
				if d, _ := tensor.MaxAbsDiff(one, want); d > 1e-5 {
					t.Errorf("image %d alone differs from its batch result by %g", i, d)
				}
			}
		})
	}
}

func TestSignatureDescribesZooModels(t *testing.T) {
	for _, name := range zooModels {
		m, _ := loadZoo(t, name)
		card, err := savedmodels.ReadCard(zooDir(name))
		if err != nil {
			t.Fatal(err)
		}
		in := m.Input()
		if in.Key != card.Input.SignatureKey || in.DType != "float32" || len(in.Shape) != 4 {
			t.Errorf("%s: input %v, card says key %q", name, in, card.Input.SignatureKey)
		}
		for i := 1; i < 4; i++ {
			if in.Shape[i] != int64(card.Input.Shape[i]) {
				t.Errorf("%s: input shape %v, card %v", name, in.Shape, card.Input.Shape)
			}
		}
		if out := m.Output(); out.Key != card.Output.SignatureKey || out.Shape[1] != int64(len(card.Classes)) {
			t.Errorf("%s: output %v, card key %q, %d classes", name, out, card.Output.SignatureKey, len(card.Classes))
		}
		if len(m.Signatures) < 2 {
			t.Errorf("%s: want serve and serving_default signatures, got %d", name, len(m.Signatures))
		}
	}
}

// TestAccuracyOnRealImages classifies real test images from Go and compares the
// accuracy with the one measured in Python at export (card.yaml).
func TestAccuracyOnRealImages(t *testing.T) {
	fmnist, err := savedmodels.ReadTestSet(filepath.Join(zooDir("samples"), "fmnist_test_1000.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range zooModels {
		t.Run(name, func(t *testing.T) {
			m, _ := loadZoo(t, name)
			card, err := savedmodels.ReadCard(zooDir(name))
			if err != nil {
				t.Fatal(err)
			}
			ts := fmnist
			if name == "fmnist_scatter" {
				if ts, err = savedmodels.ReadTestSet(filepath.Join(zooDir(name), "test_set.npz")); err != nil {
					t.Fatal(err)
				}
			}
			acc, err := accuracy(m, ts, 250)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("accuracy from Go on %d images: %.4f (card: %.4f on the full test set)", len(ts.Labels), acc, card.Accuracy["test"])
			if d := acc - card.Accuracy["test"]; d < -0.03 || d > 0.03 {
				t.Errorf("accuracy %.4f is more than 0.03 from the card's %.4f", acc, card.Accuracy["test"])
			}
		})
	}
}

func accuracy(m *tfgraph.Model, ts *savedmodels.TestSet, batch int) (float64, error) {
	n := len(ts.Labels)
	per := ts.Images.Len() / n
	right := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		shape := append([]int{hi - lo}, ts.Images.Shape[1:]...)
		out, err := m.Forward(&tensor.Tensor{Shape: shape, Data: ts.Images.Data[lo*per : hi*per]})
		if err != nil {
			return 0, err
		}
		for i := lo; i < hi; i++ {
			if argmax(out.Item(i-lo).Data) == ts.Labels[i] {
				right++
			}
		}
	}
	return float64(right) / float64(n), nil
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

// viewWith is fl with the weights vals replaced (PrepareWeights then
// WithWeights), failing the test on an error.
func viewWith(t testing.TB, fl *tfgraph.Flat, vals map[string]*tensor.Tensor) *tfgraph.Flat {
	t.Helper()
	feed, err := fl.PrepareWeights(vals)
	if err != nil {
		t.Fatal(err)
	}
	view, err := fl.WithWeights(feed)
	if err != nil {
		t.Fatal(err)
	}
	return view
}
