//go:build cgo

package methods_test

import (
	"os"
	"path/filepath"
	"sync"
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

// transformers have attention layers over a patch grid: attention rollout
// applies, and CAM methods use a token layer.
var transformers = map[string]bool{"fmnist_vit": true}

// gapModels end in global average pooling and a dense layer: CAM applies.
var gapModels = map[string]bool{"fmnist_gap": true, "fmnist_gap_softmax": true, "fmnist_resnet": true, "fmnist_scatter": true}

func zooDir(name string) string {
	root := os.Getenv("SALIENCY_ZOO")
	if root == "" {
		root = filepath.Join("..", "savedmodels")
	}
	return filepath.Join(root, name)
}

type zooEntry struct {
	fl  *tfgraph.Flat
	g   *savedmodels.Golden
	err error
}

var (
	zooMu    sync.Mutex
	zooCache = map[string]*zooEntry{}
)

// loadZoo loads a zoo model's flat graph and golden vectors once per test
// binary (the models stay open until the process exits).
func loadZoo(t testing.TB, name string) (*tfgraph.Flat, *savedmodels.Golden) {
	t.Helper()
	zooMu.Lock()
	defer zooMu.Unlock()
	e, ok := zooCache[name]
	if !ok {
		e = &zooEntry{}
		m, err := tfgraph.Load(zooDir(name), &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
		if err == nil {
			e.fl, err = m.Flat()
		}
		if err == nil {
			e.g, err = savedmodels.ReadGolden(zooDir(name))
		}
		e.err = err
		zooCache[name] = e
	}
	if e.err != nil {
		t.Fatal(e.err)
	}
	return e.fl, e.g
}

// mapRange is max − min of a tensor.
func mapRange(t *tensor.Tensor) float64 {
	lo, hi := t.Range()
	return float64(hi - lo)
}
