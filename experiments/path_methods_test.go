package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/methods"
)

// The reference files of the path methods (integrated-gradients' baselines
// and baseline_file, guided-ig's baseline_file, expected-gradients' and
// gradient-shap's baselines) are read relative to the experiment file, like
// DeepSHAP's; a missing one is an error at its option.
func TestPathMethodFiles(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile(filepath.Join("..", "savedmodels", "samples", "fmnist_background_16.npy"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "refs.npy", string(raw))
	head := "name: p\nseed: 3\nmodels:\n  - path: " + zoo("fmnist_vgg") + "\ndata: {source: fashion-mnist, count: 2}\nmethods:\n"
	path := writeFile(t, dir, "p.yaml", head+`  - {name: integrated-gradients, options: {baselines: refs.npy}}
  - {name: integrated-gradients, options: {baseline_file: refs.npy}}
  - {name: guided-ig, options: {baseline_file: refs.npy}}
  - {name: expected-gradients, options: {baselines: refs.npy}}
  - {name: gradient-shap, options: {baselines: refs.npy, stdevs: 0.1}}
`)
	e, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "refs.npy")
	got := []string{
		e.Methods[0].Method.(*methods.IntegratedGradients).Baselines,
		e.Methods[1].Method.(*methods.IntegratedGradients).BaselineFile,
		e.Methods[2].Method.(*methods.GuidedIG).BaselineFile,
		e.Methods[3].Method.(*methods.ExpectedGradients).Baselines,
		e.Methods[4].Method.(*methods.ExpectedGradients).Baselines,
	}
	for i, p := range got {
		if p != want {
			t.Errorf("method %d: file %q, want %q", i, p, want)
		}
	}
	bad := writeFile(t, dir, "bad.yaml", head+"  - {name: expected-gradients, options: {baselines: nope.npy}}\n")
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "option baselines of expected-gradients: nope.npy") {
		t.Errorf("missing reference file: %v", err)
	}
}
