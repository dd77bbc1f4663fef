package main

import (
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
