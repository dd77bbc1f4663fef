package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/methods"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// explain writes an overlay and a map per image and method, the grid and an
// index that says what each file holds; a method that does not apply is
// reported and skipped, the others still run.
func TestExplainWritesMapsGridAndIndex(t *testing.T) {
	out := t.TempDir()
	imgs := []string{zoo + "/samples/fmnist_0000_ankle-boot.png", zoo + "/samples/fmnist_0002_trouser.png"}
	args := append([]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out,
		"-method", "gradient,cam,gradcam,smoothgrad", "-set", "smoothgrad.samples=4"}, imgs...)
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "cam does not apply") || !strings.Contains(stdout, "6 maps of 2 images by 3 methods") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	var idx index
	raw, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Maps) != 6 || len(idx.Skipped) != 1 || idx.Skipped[0].Method != "cam" {
		t.Fatalf("index: %d maps, skipped %v", len(idx.Maps), idx.Skipped)
	}
	for _, e := range idx.Maps {
		for _, f := range []string{e.PNG, e.Map} {
			if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %v", f, err)
			}
		}
		m, err := savedmodels.ReadNpy(filepath.Join(out, e.Map))
		if err != nil || len(m.Shape) != 2 || m.Shape[0] != 28 {
			t.Errorf("%s: %v %v", e.Map, m, err)
		}
		if e.Method == "gradient" && (e.Raw == "" || e.ClassName == "") {
			t.Errorf("gradient entry %+v", e)
		}
		if e.Method == "smoothgrad" && e.Options["samples"] != float64(4) {
			t.Errorf("smoothgrad options %v", e.Options)
		}
		if e.Method == "gradcam" && e.Layer != "conv2_2" {
			t.Errorf("gradcam layer %q", e.Layer)
		}
	}
	if idx.Maps[0].ClassName != "Ankle boot" {
		t.Errorf("first map explains %s", idx.Maps[0].ClassName)
	}
	if _, err := os.Stat(filepath.Join(out, "grid.png")); err != nil {
		t.Error(err)
	}
}

// Integrated Gradients' completeness error above 5 % is a warning on stderr
// and an entry of index.json's diagnostics, naming the image; within it,
// there is neither.
func TestExplainDiagnostics(t *testing.T) {
	img := zoo + "/samples/fmnist_0000_ankle-boot.png"
	for _, c := range []struct {
		steps string
		warn  bool
	}{{"2", true}, {"50", false}} {
		out := t.TempDir()
		code, _, stderr := runCLI("explain", "-model", zoo+"/fmnist_vgg", "-out", out, "-method", "integrated-gradients,gradient",
			"-set", "integrated-gradients.steps="+c.steps, img)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var idx index
		raw, err := os.ReadFile(filepath.Join(out, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(stderr, "warning: integrated-gradients: completeness-error above 5%"); got != c.warn {
			t.Errorf("steps %s: warning %v, want %v:\n%s", c.steps, got, c.warn, stderr)
		}
		if !c.warn {
			if len(idx.Diagnostics) != 0 || len(idx.Warnings) != 0 {
				t.Errorf("steps %s: diagnostics %+v, warnings %q", c.steps, idx.Diagnostics, idx.Warnings)
			}
			continue
		}
		if len(idx.Diagnostics) != 1 || len(idx.Warnings) != 1 {
			t.Fatalf("steps %s: diagnostics %+v, warnings %q", c.steps, idx.Diagnostics, idx.Warnings)
		}
		d := idx.Diagnostics[0]
		if d.Method != "integrated-gradients" || d.Diagnostic != "completeness-error" || d.Threshold != 0.05 || len(d.Images) != 1 ||
			d.Images[0].Image != img || d.Images[0].Value == nil || len(d.Causes) < 3 {
			t.Errorf("diagnostic %+v", d)
		}
		// The value is the map's own, in its index entry too.
		for _, e := range idx.Maps {
			if e.Method == "integrated-gradients" && e.Info["completeness-error"] != *d.Images[0].Value {
				t.Errorf("index entry %v, diagnostic %v", e.Info["completeness-error"], *d.Images[0].Value)
			}
		}
	}
}

func TestExplainAndVisualizeErrors(t *testing.T) {
	out := t.TempDir()
	img := zoo + "/samples/fmnist_0000_ankle-boot.png"
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"explain", "-out", out, img}, 2, "-model and -out are required"},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out}, 2, "want at least one image"},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out, "-method", "gradient,nope", img}, 2, `unknown method "nope"`},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out, "-method", "gradient", "-set", "gradcam.x=1", img}, 2, "method gradcam is not among -method gradient"},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out, "-method", "occlusion", "-set", "occlusion.patchy=3", img}, 2, `unknown option "patchy"; options: patch, stride, fill, memory_mb`},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out, "-set", "nodot", img}, 2, "want method.option=value"},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out, "-figure", "gif", img}, 2, "-figure is png, svg or pdf"},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out, "-method", "gradcam", "-layer", "conv9", img}, 1, `layer "conv9" not found`},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out, "-method", "gradient", "-class", "12", img}, 1, "class 12 of image 0 is out of range"},
		{[]string{"explain", "-model", zoo + "/fmnist_vgg", "-out", out, "-method", "gradient", "missing.png"}, 1, "none of the 1 images could be read"},
		{[]string{"explain", "-model", zoo + "/nope", "-out", out, "-method", "gradient", img}, 1, "no such folder"},
		{[]string{"visualize", "-model", zoo + "/fmnist_vgg"}, 2, "-model and -out are required"},
		{[]string{"visualize", "-model", zoo + "/fmnist_vgg", "-out", out, "-class", "10"}, 2, "-class is a class index in [0,10) or all"},
		{[]string{"visualize", "-model", zoo + "/fmnist_vgg", "-out", out, "-set", "steps=-1"}, 2, "steps, jitter and blur_every must be ≥ 0"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.stderr) {
			t.Errorf("saliency %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.stderr)
		}
	}
	// One bad image among good ones: the good ones are explained, exit 1.
	code, stdout, stderr := runCLI("explain", "-model", zoo+"/fmnist_vgg", "-out", out, "-method", "gradient", img, "missing.png")
	if code != 1 || !strings.Contains(stdout, "1 maps of 1 images") || !strings.Contains(stderr, "1 of 2 images could not be read") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// visualize writes one image per class, the grid and the index; each image is
// classified as its class.
func TestVisualize(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI("visualize", "-model", zoo+"/fmnist_gap", "-out", out, "-class", "3", "-set", "steps=50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "3 Dress") || !strings.Contains(stdout, "class_3_dress.png") {
		t.Errorf("stdout: %s", stdout)
	}
	for _, f := range []string{"class_3_dress.png", "grid.png", "class-model.npy", "index.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	imgs, err := savedmodels.ReadNpy(filepath.Join(out, "class-model.npy"))
	if err != nil || len(imgs.Shape) != 4 || imgs.Shape[0] != 1 {
		t.Errorf("class-model.npy: %v %v", imgs, err)
	}
	// -from starts from an image: with a vanishing step the result is that image.
	from := zoo + "/samples/fmnist_0013_dress.png"
	code, _, stderr = runCLI("visualize", "-model", zoo+"/fmnist_gap", "-out", out, "-class", "3", "-from", from, "-set", "steps=1", "-set", "lr=1e-12")
	if code != 0 {
		t.Fatalf("-from: exit %d: %s", code, stderr)
	}
	got, _ := savedmodels.ReadNpy(filepath.Join(out, "class-model.npy"))
	want, _ := images.LoadInput(from, images.Spec{Height: 28, Width: 28, Channels: 1})
	if d, _ := tensor.MaxAbsDiff(got, &tensor.Tensor{Shape: got.Shape, Data: want}); d > 1e-6 {
		t.Errorf("-from with lr 1e-12 moved the image by %g", d)
	}
}

// -target explains a unit: the unit methods by default, index.json names
// the target and each map's unit and value (no class), and the gradient's
// raw map is the unit's gradient the library computes.
func TestExplainUnitTarget(t *testing.T) {
	out := t.TempDir()
	img := zoo + "/samples/fmnist_0000_ankle-boot.png"
	code, stdout, stderr := runCLI("explain", "-model", zoo+"/fmnist_vgg", "-out", out, "-target", "conv2_2:5/mean",
		"-set", "smoothgrad.samples=2", "-set", "squaregrad.samples=2", "-set", "vargrad.samples=2", "-set", "integrated-gradients.steps=64", img)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := len(methods.UnitMethods()); !strings.Contains(stdout, fmt.Sprintf("%d maps of 1 images by %d methods", n, n)) || stderr != "" {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	var idx index
	raw, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Target != "conv2_2:5/mean" || !strings.Contains(idx.Scores, "conv2_2") {
		t.Errorf("index target %q, scores %q", idx.Target, idx.Scores)
	}
	if slices.Contains(idx.Methods, "cam") || slices.Contains(idx.Methods, "class-model") {
		t.Errorf("methods %v", idx.Methods)
	}
	for _, e := range idx.Maps {
		if e.Unit != "conv2_2:5/mean" || e.Class != nil || e.ClassName != "" {
			t.Errorf("%s: unit %q class %v %q", e.Method, e.Unit, e.Class, e.ClassName)
		}
		if e.Method != "gradient" {
			continue
		}
		got, err := savedmodels.ReadNpy(filepath.Join(out, e.Raw))
		if err != nil {
			t.Fatal(err)
		}
		fl, x := cliFlat(t, img)
		want, err := mustMethod(t, "gradient").Explain(context.Background(), fl, methods.Batch{X: x},
			methods.Target{Unit: &methods.Unit{Layer: "conv2_2", Channel: 5, Reduce: "mean"}})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range want.Raw.Data {
			if got.Data[i] != v {
				t.Fatalf("raw gradient at %d: %v, library %v", i, got.Data[i], v)
			}
		}
		if e.Score != want.Scores[0] {
			t.Errorf("value %v, library %v", e.Score, want.Scores[0])
		}
	}
}

// cliFlat opens a zoo model as the CLI does and reads one image into its
// input batch.
func cliFlat(t *testing.T, img string) (*tfgraph.Flat, *tensor.Tensor) {
	t.Helper()
	op, err := experiments.Open(zoo+"/fmnist_vgg", tfgraph.Options{}, experiments.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Model.Close() })
	ims, failed := readImages(io.Discard, "test", []string{img}, op.Spec)
	if failed > 0 {
		t.Fatalf("%s not read", img)
	}
	return op.Flat, &tensor.Tensor{Shape: []int{1, op.Spec.Height, op.Spec.Width, op.Spec.Channels}, Data: ims[0].x}
}

func mustMethod(t *testing.T, name string) methods.Method {
	t.Helper()
	m, err := methods.New(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// DeepSHAP needs reference images: explain's default set leaves it out
// unless -set gives them, and -method deepshap without them fails naming
// the option.
func TestExplainDeepSHAPNeedsReferences(t *testing.T) {
	img := zoo + "/samples/fmnist_0000_ankle-boot.png"
	code, _, stderr := runCLI("explain", "-model", zoo+"/fmnist_vgg", "-out", t.TempDir(), "-method", "deepshap", img)
	if code == 0 || !strings.Contains(stderr, "deepshap") || !strings.Contains(stderr, "baselines") {
		t.Errorf("-method deepshap without baselines: exit %d, stderr %q", code, stderr)
	}
	if setsOption(setFlag{"deepshap.baselines=x.npy"}, "deepshap", "baselines") != true || setsOption(setFlag{"lrp.rule=zero"}, "deepshap", "baselines") {
		t.Error("setsOption")
	}
	out := t.TempDir()
	code, stdout, stderr := runCLI("explain", "-model", zoo+"/fmnist_resnet", "-out", out, "-method", "lrp,deepshap",
		"-set", "deepshap.baselines="+zoo+"/samples/fmnist_background_16.npy", "-set", "deepshap.samples=4", img)
	if code != 0 || !strings.Contains(stdout, "2 maps of 1 images by 2 methods") {
		t.Fatalf("exit %d: stdout %q, stderr %q", code, stdout, stderr)
	}
}
