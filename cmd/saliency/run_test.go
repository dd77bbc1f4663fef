package main

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runExperimentFile writes a small experiment: fmnist_vgg, 6 images in
// batches of 2, four methods (one seeded), cascading randomization.
func runExperimentFile(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	vgg, _ := filepath.Abs(zoo + "/fmnist_vgg")
	y := `name: cli
seed: 5
models:
  - path: ` + vgg + `
data: {source: fashion-mnist, count: 6}
batch: 2
methods:
  - gradient
  - name: smoothgrad
    options: {samples: 8}
  - guided-backprop
  - gradcam
tests:
  - randomization: {modes: [cascading]}
metrics: [spearman-abs, ssim, top-k]
outputs: {figures: [png, svg, pdf], tables: [csv, json, tex]}
`
	path := filepath.Join(dir, "cli.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tree maps every file under dir, but temporary files, to its bytes.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".tmp") {
			return err
		}
		b, err := os.ReadFile(path)
		r, _ := filepath.Rel(dir, path)
		out[r] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, want, got map[string][]byte) {
	t.Helper()
	var missing, differ []string
	for k, v := range want {
		if w, ok := got[k]; !ok {
			missing = append(missing, k)
		} else if !bytes.Equal(v, w) {
			differ = append(differ, k)
		}
	}
	if len(got) != len(want) || len(missing)+len(differ) > 0 {
		t.Errorf("%s: %d files (want %d); missing %v; different %v", what, len(got), len(want), missing, differ)
	}
}

// self is a command running this test binary as saliency.
func self(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SALIENCY_TEST_MAIN=1")
	return cmd
}

// A run killed (SIGKILL) at random points and restarted until it finishes
// gives the same files, byte for byte, as an uninterrupted run; so do three
// shards run side by side as processes and then 'saliency report'.
func TestRunKilledAndSharded(t *testing.T) {
	file := runExperimentFile(t)
	// and the units of a layer: one unit of work more, the last
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("units:\n  - {model: fmnist_vgg, layer: conv2_2, channels: 0-3, k: 4, data: {source: fashion-mnist, count: 500}}\n")
	f.Close()
	whole := filepath.Join(t.TempDir(), "whole")
	t0 := time.Now()
	code, stdout, stderr := runCLI("run", "-out", whole, file)
	took := time.Since(t0)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "85 units computed") || !strings.Contains(stdout, "index.html") {
		t.Errorf("run's output:\n%s", stdout)
	}
	want := tree(t, whole)
	for _, f := range []string{"plan.json", "manifest.json", "index.md", "index.html", "experiment.yaml",
		"figures/fmnist_vgg-maps.pdf", "figures/fmnist_vgg-cascading-grid.svg", "figures/fmnist_vgg-cascading-curves.png",
		"tables/summary.tex", "tables/similarity.csv", "tables/summary.json",
		"layers/fmnist_vgg-conv2_2/rows.pdf", "layers/fmnist_vgg-conv2_2/channel_003.svg", "layers/fmnist_vgg-conv2_2/units.json"} {
		if _, ok := want[f]; !ok {
			t.Errorf("the run folder lacks %s", f)
		}
	}

	// Killed at random points, within the first 60 % of the time the
	// whole run took (in process; the command also loads its libraries),
	// so that a fast machine still kills it.
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill points seeded with %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	killed := filepath.Join(t.TempDir(), "killed")
	kills := 0
	for attempt := 0; ; attempt++ {
		cmd := self("run", "-out", killed, file)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if attempt < 6 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run failed: %v\n%s", err, errb.String())
				}
			case <-time.After(200*time.Millisecond + time.Duration(r.Float64()*0.6*float64(took))):
				cmd.Process.Kill()
				<-done
				kills++
				continue
			}
		} else if err := <-done; err != nil {
			t.Fatalf("run failed: %v\n%s", err, errb.String())
		}
		break
	}
	t.Logf("killed %d times", kills)
	if kills == 0 {
		t.Error("the run was never killed; make the experiment longer")
	}
	sameTree(t, "killed and resumed", want, tree(t, killed))

	// Three shards side by side, then the report.
	sharded := filepath.Join(t.TempDir(), "sharded")
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for k := 1; k <= 3; k++ {
		cmd := self("run", "-shard", []string{"", "1/3", "2/3", "3/3"}[k], "-no-report", "-out", sharded, file)
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &b)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("shard %d/3: %v\n%s", i+1, err, outs[i])
		}
		if !strings.Contains(outs[i].String(), []string{"29 of 85", "28 of 85", "28 of 85"}[i]) {
			t.Errorf("shard %d/3 says:\n%s", i+1, outs[i])
		}
	}
	if code, stdout, stderr := runCLI("report", sharded); code != 0 {
		t.Fatalf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	sameTree(t, "3 shards", want, tree(t, sharded))

	// A report of an unfinished run names the missing units.
	os.Remove(filepath.Join(sharded, "units/fmnist_vgg/002-cascading-fc1/gradcam/batch-001.json"))
	code, _, stderr = runCLI("report", sharded)
	if code != 1 || !strings.Contains(stderr, "1 unit is not finished") || !strings.Contains(stderr, "fmnist_vgg cascading/fc1 gradcam images 2–3") {
		t.Errorf("report of an unfinished run: exit %d\n%s", code, stderr)
	}
}

// A collection runs each included experiment into a subfolder and sums
// their verdicts up in one table; 'saliency report' rebuilds it.
func TestRunCollection(t *testing.T) {
	dir := t.TempDir()
	vgg, _ := filepath.Abs(zoo + "/fmnist_vgg")
	rnd, _ := filepath.Abs(zoo + "/fmnist_vgg_randlabels")
	files := map[string]string{
		"a.yaml": `name: mprt
models: [{path: ` + vgg + `}]
data: {source: fashion-mnist, count: 3}
methods: [gradient, guided-backprop]
tests: [{randomization: {modes: [cascading]}}]
metrics: [spearman-abs]
outputs: {figures: [png], tables: [csv]}
`,
		"b.yaml": `name: labels
models: [{path: ` + vgg + `}, {path: ` + rnd + `}]
data: {source: fashion-mnist, count: 3}
methods: [gradient, guided-backprop]
tests: [{data-randomization: {model: fmnist_vgg, against: fmnist_vgg_randlabels}}]
metrics: [spearman-abs]
outputs: {figures: [png], tables: [csv]}
`,
		"all.yaml": "name: all\ninclude: [a.yaml, b.yaml]\n",
	}
	for name, y := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI("run", "-out", out, filepath.Join(dir, "all.yaml"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"collection.json", "index.html", "summary.csv", "summary.tex", "mprt/index.html", "labels/index.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(out, "summary.csv"))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	// A header and a row per method; columns: the randomization test, eMPRT
	// and data randomization of fmnist_vgg.
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "Gradient,") || !strings.Contains(lines[0], "cascading randomization (all layers): fmnist_vgg") ||
		!strings.Contains(lines[0], "eMPRT") || !strings.Contains(lines[0], "data-randomization: fmnist_vgg vs fmnist_vgg_randlabels") {
		t.Errorf("summary.csv:\n%s", csv)
	}
	before, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if code, _, stderr := runCLI("report", out); code != 0 {
		t.Fatalf("report: %s", stderr)
	}
	after, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if !bytes.Equal(before, after) {
		t.Error("the collection's report differs when rebuilt")
	}
}
