package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/units"
)

// units writes the Zeiler & Fergus figure of each channel, Springenberg's
// rows, the projections and patches and units.json; a second run over a
// finished scan.json takes it as it is; -project none writes the scan only.
func TestUnits(t *testing.T) {
	out := t.TempDir()
	args := []string{"units", "-model", zoo + "/fmnist_vgg", "-layer", "conv2_1", "-channels", "0-2,5", "-k", "4", "-count", "200", "-out", out}
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stderr != "" || !strings.Contains(stdout, "4 channels of conv2_1 over 200 images (receptive field 10×10 /2), top 4 each") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	var idx units.Index
	raw, err := os.ReadFile(filepath.Join(out, "units.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Channels) != 4 || idx.Channels[3].Channel != 5 || len(idx.Channels[3].Top) != 4 || idx.Images != 200 {
		t.Fatalf("units.json: %+v", idx)
	}
	for _, ch := range idx.Channels {
		for j, a := range ch.Top {
			if j > 0 && a.Value > ch.Top[j-1].Value {
				t.Errorf("channel %d: values not in decreasing order", ch.Channel)
			}
			if a.Box.Empty() || a.Box.Y1-a.Box.Y0 > idx.Patch[0] || a.Box.X1-a.Box.X0 > idx.Patch[1] {
				t.Errorf("channel %d: box %+v for patches %v", ch.Channel, a.Box, idx.Patch)
			}
		}
		if st, err := os.Stat(filepath.Join(out, ch.Figure)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", ch.Figure, err)
		}
	}
	p, err := savedmodels.ReadNpy(filepath.Join(out, "projections.npy"))
	if err != nil || len(p.Shape) != 5 || p.Shape[0] != 4 || p.Shape[1] != 4 || p.Shape[2] != idx.Patch[0] {
		t.Fatalf("projections.npy %v: %v", p.Shape, err)
	}
	first, _ := os.ReadFile(filepath.Join(out, "units.json"))
	if code, _, stderr := runCLI(args...); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	again, _ := os.ReadFile(filepath.Join(out, "units.json"))
	if string(first) != string(again) {
		t.Error("a second run over the finished scan wrote another units.json")
	}
	other := append(append([]string{}, args...), "-seed", "5")
	if code, _, stderr := runCLI(other...); code != 1 || !strings.Contains(stderr, "seed 0") || !strings.Contains(stderr, "seed 5") || !strings.Contains(stderr, "delete it") {
		t.Errorf("a scan of another draw over a finished one: exit %d: %s", code, stderr)
	}
	only := t.TempDir()
	if code, _, stderr := runCLI("units", "-model", zoo+"/fmnist_vgg", "-layer", "fc1", "-project", "none", "-count", "50", "-out", only); code != 0 {
		t.Fatalf("-project none: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(only, "projections.npy")); err == nil {
		t.Error("-project none wrote projections")
	}
}

// An experiment's units: entry writes, into layers/<model>-<layer>/, the
// files saliency units writes for the same options: the same bytes, but
// for units.json's names of the model, the data and the version.
func TestUnitsInAnExperiment(t *testing.T) {
	vgg, _ := filepath.Abs(zoo + "/fmnist_vgg")
	cli := t.TempDir()
	if code, _, stderr := runCLI("units", "-model", vgg, "-layer", "conv2_1", "-channels", "0-2,5", "-k", "4", "-count", "200", "-seed", "5",
		"-project", "guided-backprop", "-out", cli); code != 0 {
		t.Fatalf("units: exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "u.yaml")
	os.WriteFile(file, []byte(`name: u
models: [{path: `+vgg+`}]
units:
  - model: fmnist_vgg
    layer: conv2_1
    channels: 0-2,5
    k: 4
    project: guided-backprop
    data: {source: fashion-mnist, count: 200, seed: 5}
outputs: {figures: [png]}
`), 0o644)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI("run", "-dry-run", "-out", out, file)
	if code != 0 || !strings.Contains(stdout, "units      fmnist_vgg conv2_1: 4 channels (receptive field 10×10 /2), top 4 of 200 images (seed 5) of fashion-mnist") ||
		strings.Contains(stdout, "Calibrating") {
		t.Errorf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("run", "-out", out, file)
	if code != 0 || !strings.Contains(stdout, "1 units computed") {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	want, got := tree(t, cli), tree(t, filepath.Join(out, "layers", "fmnist_vgg-conv2_1"))
	var a, b units.Index
	if json.Unmarshal(want["units.json"], &a) != nil || json.Unmarshal(got["units.json"], &b) != nil {
		t.Fatal("units.json")
	}
	if b.Model != "fmnist_vgg" && !strings.HasSuffix(b.Model, "savedmodels/fmnist_vgg") || b.Data != "fashion-mnist (200 drawn with seed 5)" {
		t.Errorf("the experiment's units.json names %q and %q", b.Model, b.Data)
	}
	a.Model, a.Data, a.Saliency = b.Model, b.Data, b.Saliency
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("units.json differs:\n%s\n%s", ja, jb)
	}
	delete(want, "units.json")
	delete(got, "units.json")
	// scan.json names its data set (a scan resumes only over the same
	// data), as each says it; the rest is the same
	var sa, sb units.Scan
	if json.Unmarshal(want["scan.json"], &sa) != nil || json.Unmarshal(got["scan.json"], &sb) != nil {
		t.Fatal("scan.json")
	}
	if sa.Data != "fashion-mnist, count 200, seed 5" || sb.Data != b.Data {
		t.Errorf("scan.json names %q and %q", sa.Data, sb.Data)
	}
	sa.Data = sb.Data
	ja, _ = json.Marshal(sa)
	jb, _ = json.Marshal(sb)
	if !bytes.Equal(ja, jb) {
		t.Errorf("scan.json differs:\n%s\n%s", ja, jb)
	}
	delete(want, "scan.json")
	delete(got, "scan.json")
	sameTree(t, "the experiment's folder beside saliency units'", want, got)
	// 4 channels' figures, rows.png and the two .npy files
	if len(got) != 7 {
		t.Errorf("%d files beside units.json and scan.json, want 7", len(got))
	}
	html, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if !bytes.Contains(html, []byte("What the layers look for")) {
		t.Error("the report has no section of the layers")
	}
}
