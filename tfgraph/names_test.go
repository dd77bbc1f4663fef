package tfgraph_test

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// kerasLayer is one entry of a layers.yaml written from Keras itself
// (savedmodels/build_testdata.py).
type kerasLayer struct {
	Name   string `yaml:"name"`
	Class  string `yaml:"class"`
	Params int64  `yaml:"params"`
}

// Layer names, order and parameter counts equal Keras' model.summary(), also
// where TensorFlow's unique scopes garble them (conv and conv_1, add and
// add_1) and inside a nested Sequential ("block/inner_conv"). Layers without
// ops at inference (a linear Activation, Dropout) leave no trace in the graph.
func TestLayerNamesMatchKeras(t *testing.T) {
	dir := filepath.Join("..", "savedmodels", "testdata", "layer_names")
	raw, err := os.ReadFile(filepath.Join(dir, "layers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Layers []kerasLayer `yaml:"layers"`
	}
	if err := yaml.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	fl := flatAt(t, dir, nil)
	got := fl.Layers()
	noOps := map[string]bool{"InputLayer": true, "Dropout": true}
	i := 0
	for _, w := range want.Layers {
		if noOps[w.Class] || w.Name == "linear_act" {
			continue
		}
		if i >= len(got) {
			t.Fatalf("layer %s missing; got %d layers", w.Name, len(got))
		}
		if got[i].Name != w.Name || fl.Params(got[i]) != w.Params {
			t.Errorf("layer %d: %s with %d params, Keras %s with %d", i, got[i].Name, fl.Params(got[i]), w.Name, w.Params)
		}
		if _, err := fl.Layer(w.Name); err != nil {
			t.Error(err)
		}
		i++
	}
	if i != len(got) {
		t.Errorf("%d layers, Keras has %d with ops", len(got), i)
	}
}
