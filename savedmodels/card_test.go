package savedmodels

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var zoo = []string{"fmnist_gap", "fmnist_gap_softmax", "fmnist_vgg", "fmnist_resnet", "fmnist_vgg_randlabels", "fmnist_scatter"}

func TestZooCards(t *testing.T) {
	floors := map[string]float64{"fmnist_gap": 0.90, "fmnist_gap_softmax": 0.90, "fmnist_vgg": 0.91, "fmnist_resnet": 0.91, "fmnist_scatter": 0.85}
	for _, name := range zoo {
		c, err := ReadCard(name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != name || len(c.Classes) != 10 || len(c.Layers) < 5 {
			t.Errorf("%s: card name %q, %d classes, %d layers", name, c.Name, len(c.Classes), len(c.Layers))
		}
		if f, ok := floors[name]; ok && c.Accuracy["test"] < f {
			t.Errorf("%s: test accuracy %.4f below the floor %.2f", name, c.Accuracy["test"], f)
		}
		if name == "fmnist_vgg_randlabels" && (c.Accuracy["train"] < 0.90 || c.Accuracy["test"] > 0.15) {
			t.Errorf("%s: train %.4f (want ≥ 0.90), test %.4f (want ≤ 0.15)", name, c.Accuracy["train"], c.Accuracy["test"])
		}
		g, err := ReadGolden(name)
		if err != nil {
			t.Fatal(err)
		}
		if g.Inputs.Shape[0] != 8 || len(g.Labels) != 8 || len(g.Layers) != 2 {
			t.Errorf("%s: golden has %v inputs, %d labels, %d layers", name, g.Inputs.Shape, len(g.Labels), len(g.Layers))
		}
		for _, l := range c.Golden.InnerLayers {
			if _, ok := g.Layers[l]; !ok {
				t.Errorf("%s: no golden output for inner layer %s", name, l)
			}
		}
		for _, s := range []string{"saved_model.pb", "variables/variables.index"} {
			if _, err := os.Stat(filepath.Join(name, s)); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestCardErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, CardFile), []byte(body), 0o644)
		return d
	}
	good, _ := os.ReadFile(filepath.Join("fmnist_vgg", CardFile))
	cases := []struct {
		dir  string
		want string
	}{
		{filepath.Join(dir, "none"), "no card.yaml"},
		{write("unknown-key", strings.Replace(string(good), "seed:", "sed: 1\nseed:", 1)), "field sed not found"},
		{write("wrong-type", strings.Replace(string(good), "name: fmnist_vgg", "name: [a, b]", 1)), "line 1"},
		{write("bad-kind", strings.Replace(string(good), "kind: logits", "kind: scores", 1)), `output.kind "scores"`},
		{write("not-yaml", "{{{"), "card.yaml"},
		// What yaml.v3 passes in silence (a truncated shape, a dropped
		// document) or names badly (a tab).
		{write("fractional-shape", strings.Replace(string(good), "  - 28\n  - 28\n  - 1", "  - 28.5\n  - 28\n  - 1", 1)), "card.yaml: line " + lineOf(string(good), "  - 28") + ": input.shape[1] must be an integer, not 28.5"},
		{write("fractional-seed", strings.Replace(string(good), "seed: ", "seed: 0.5 #", 1)), "seed must be an integer, not 0.5"},
		{write("second-document", string(good)+"---\nname: other\n"), "card.yaml: line " + lineOf(string(good)+"---", "---") + ": a second YAML document starts here (---): a card holds one document"},
		{write("unnamed-no-reason", strings.Replace(string(good), "\nseed:", "\nunnamed_layers:\n- name: features.3\nseed:", 1)), "unnamed_layers[0]: want a name and a reason"},
		{write("unnamed-is-layer", strings.Replace(string(good), "\nseed:", "\nunnamed_layers:\n- name: conv1_1\n  reason: folded\nseed:", 1)), `unnamed_layers[0]: "conv1_1" is also in layers`},
		{write("tab", strings.Replace(string(good), "\n  kind: logits", "\n\tkind: logits", 1)), "card.yaml: line " + lineOf(string(good), "  kind: logits") + ": a tab in the indentation (column 1): YAML indents with spaces only"},
	}
	for _, c := range cases {
		_, err := ReadCard(c.dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", filepath.Base(c.dir), err, c.want)
		}
	}
	if _, err := ReadCard(filepath.Join(dir, "none")); !errors.Is(err, ErrNoCard) {
		t.Errorf("missing card: %v is not ErrNoCard", err)
	}
}

// lineOf is the 1-based line of the first line of text that starts with prefix.
func lineOf(text, prefix string) string {
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strconv.Itoa(i + 1)
		}
	}
	return "?"
}

func TestReadNpyErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.npy")
	os.WriteFile(bad, []byte("not numpy"), 0o644)
	if _, err := ReadNpy(bad); err == nil || !strings.Contains(err.Error(), "not a .npy file") {
		t.Errorf("garbage: %v", err)
	}
	if _, err := ReadNpy(filepath.Join("fmnist_vgg", "golden", "labels.npy")); err == nil || !strings.Contains(err.Error(), "want float32") {
		t.Errorf("int file read as float: %v", err)
	}
	if _, err := ReadGolden(dir); err == nil || !strings.Contains(err.Error(), "inputs.npy") {
		t.Errorf("empty golden folder: %v", err)
	}
}
