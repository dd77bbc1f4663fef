package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
)

// visualize -target runs feature visualisation of many channels at once:
// one image and one .npy per channel, a grid, units.csv and index.json with
// each channel's value against its top activation over a data set.
func TestVisualizeTargets(t *testing.T) {
	out := t.TempDir()
	test := zoo + "/samples/fmnist_test_1000.npz"
	code, stdout, stderr := runCLI("visualize", "-model", zoo+"/fmnist_vgg", "-out", out, "-target", "conv2_2:0-2,5",
		"-compare", test, "-compare-count", "300", "-set", "steps=40")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr (no terminal: no progress bar): %q", stderr)
	}
	for _, want := range []string{"conv2_2:5", "conv2_2_5.png", "× ", "conv2_2: ", " of 4 units", "over 300 images of " + test} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, c := range []string{"0", "1", "2", "5"} {
		x, err := savedmodels.ReadNpy(filepath.Join(out, "conv2_2_"+c+".npy"))
		if err != nil || !tensor.SameShape(x.Shape, []int{1, 28, 28, 1}) {
			t.Errorf("conv2_2_%s.npy: %v %v", c, x, err)
		}
		if _, err := os.Stat(filepath.Join(out, "conv2_2_"+c+".png")); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "grid.png")); err != nil {
		t.Error(err)
	}
	f, err := os.Open(filepath.Join(out, "units.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 5 || strings.Join(rows[0], ",") != "target,image,seed,value,probability,top,top_image,ratio,png" {
		t.Fatalf("units.csv: %v %v", rows, err)
	}
	if rows[4][0] != "conv2_2:5" || rows[4][5] == "" || !strings.HasPrefix(rows[4][6], "fmnist_test_1000.npz[") || rows[4][7] == "" {
		t.Errorf("units.csv row of conv2_2:5: %v", rows[4])
	}
	var idx struct {
		Method   string `json:"method"`
		Compared int    `json:"compared_images"`
		Reached  map[string]struct {
			Reached, Units int
			Share          float64
		} `json:"reached"`
		Images []struct {
			Target string   `json:"target"`
			Value  float32  `json:"value"`
			Top    *float32 `json:"top"`
			Ratio  *float64 `json:"ratio"`
		} `json:"images"`
	}
	raw, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	r := idx.Reached["conv2_2"]
	if idx.Method != "feature-visualization" || idx.Compared != 300 || len(idx.Images) != 4 || r.Units != 4 {
		t.Fatalf("index.json: %s", raw)
	}
	reached := 0
	for _, e := range idx.Images {
		if e.Top == nil || e.Ratio == nil || *e.Top <= 0 || *e.Ratio != float64(e.Value)/float64(*e.Top) {
			t.Errorf("%s: value %v, top %v, ratio %v", e.Target, e.Value, e.Top, e.Ratio)
			continue
		}
		if e.Value >= *e.Top {
			reached++
		}
	}
	if r.Reached != reached {
		t.Errorf("index.json: %d units reached, the images say %d", r.Reached, reached)
	}
}

// A class through -target, and -count: several images of one target from
// successive seeds, each its own file and tile.
func TestVisualizeTargetCount(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI("visualize", "-model", zoo+"/fmnist_gap", "-out", out, "-target", "class:3", "-count", "2",
		"-param", "fourier", "-set", "steps=30", "-set", "seed=7")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Dress") || !strings.Contains(stdout, "p = ") || !strings.Contains(stdout, "class_3_dress_1.png") {
		t.Errorf("stdout: %s", stdout)
	}
	x, err := savedmodels.ReadNpy(filepath.Join(out, "class_3_dress.npy"))
	if err != nil || !tensor.SameShape(x.Shape, []int{2, 28, 28, 1}) {
		t.Fatalf("class_3_dress.npy: %v %v", x, err)
	}
	if tensor.Equal(x.Item(0), x.Item(1)) {
		t.Error("seeds 7 and 8 gave the same image")
	}
	raw, _ := os.ReadFile(filepath.Join(out, "units.csv"))
	if !strings.Contains(string(raw), "class:3,0,7,") || !strings.Contains(string(raw), "class:3,1,8,") {
		t.Errorf("units.csv:\n%s", raw)
	}
}

// Bad uses of visualize -target are usage errors (exit 2) or failures
// (exit 1) that name the problem.
func TestVisualizeTargetErrors(t *testing.T) {
	out := t.TempDir()
	vgg := zoo + "/fmnist_vgg"
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-class", "3", "-target", "conv2_2:1"}, 2, "-class and -target: give one"},
		{[]string{"-target", "conv2_2:0-40"}, 2, "conv2_2 has 32 channels (0 to 31)"},
		{[]string{"-target", "conv2_2:4-2"}, 2, `"4-2" is not a channel, a range A-B or *`},
		{[]string{"-target", "conv9:*"}, 2, `layer "conv9" not found`},
		{[]string{"-target", "conv2_2:40"}, 1, "channel 40 is out of range"},
		{[]string{"-target", "conv2_2"}, 1, `no ':'`},
		{[]string{"-compare", "fashion-mnist"}, 2, "-compare compares units' values with a data set's: it needs -target"},
		{[]string{"-target", "conv2_2:1", "-compare", "mnist"}, 2, `-compare "mnist": want fashion-mnist`},
		{[]string{"-target", "class:1", "-compare", "fashion-mnist"}, 2, "-compare compares units' values"},
		{[]string{"-target", "conv2_2:1", "-count", "0"}, 2, "-count must be from 1 to 64"},
		{[]string{"-target", "fc1:*", "-count", "64", "-set", "diversity=1"}, 2, "asks for 8192 images; at most 4096"},
		{[]string{"-method", "gradient"}, 2, `-method "gradient": visualize runs class-model or feature-visualization`},
		{[]string{"-param", "fourier"}, 2, `class-model: unknown option "param"`},
		{[]string{"-target", "conv2_2:1", "-set", "range=clip", "-param", "fourier"}, 2, "range clip is a projection of the pixels"},
		{[]string{"-target", "conv2_2:1", "-set", "restarts=2", "-set", "diversity=1"}, 2, "restarts and diversity"},
	} {
		args := append([]string{"visualize", "-model", vgg, "-out", out}, c.args...)
		code, _, stderr := runCLI(args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// A unit that no image of the data set activates has no ratio: it is
// counted apart from the units that -compare measures.
func TestVisualizeDeadUnits(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI("visualize", "-model", zoo+"/fmnist_vgg", "-out", out, "-target", "fc1:0-2",
		"-compare", zoo+"/samples/fmnist_test_1000.npz", "-set", "steps=20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "fc1:2            value") || !strings.Contains(stdout, "never active on the data set") ||
		!strings.Contains(stdout, "more are never active there") {
		t.Errorf("stdout:\n%s", stdout)
	}
	var idx struct {
		Reached map[string]struct{ Reached, Units, Dead int } `json:"reached"`
	}
	raw, _ := os.ReadFile(filepath.Join(out, "index.json"))
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if r := idx.Reached["fc1"]; r.Dead < 1 || r.Units+r.Dead != 3 {
		t.Errorf("index.json reached: %+v", r)
	}
}
