package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// boundsYAML writes d/<name>.yaml: fmnist_vgg on two folder images with the
// gradient (five lines), then extra, which starts at line 6.
func boundsYAML(t *testing.T, d, name, extra string) string {
	t.Helper()
	model, _ := filepath.Abs(vgg)
	samples, _ := filepath.Abs(zoo + "/samples")
	head := fmt.Sprintf("name: %s\nmodels:\n  - path: %s\ndata: {source: folder, path: %s, count: 2}\nmethods: [gradient]\n", name, model, samples)
	p := filepath.Join(d, name+".yaml")
	if err := os.WriteFile(p, []byte(head+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	if strings.Count(head, "\n") != 5 {
		t.Fatalf("the head has %d lines, want 5", strings.Count(head, "\n"))
	}
	return p
}

// badBoundsCases are the counts a user gives that size the memory or the
// threads of a run: each too large a value is a clear error naming the
// flag or the key's line, before any work.
func badBoundsCases() []badCase {
	return []badCase{
		{name: "bounds/threads-flag", args: explainArgs(vgg, "-threads", "100000"), code: 2,
			want: []string{`invalid value "100000" for flag -threads: more than the`, "CPUs this process may use; want 0 (one per CPU) to"}},
		{name: "bounds/threads-flag-run", args: func(t *testing.T, d string) []string {
			return []string{"run", "-threads", "1000", "-out", filepath.Join(d, "run"), "../../experiments/lecture.yaml"}
		}, code: 2, want: []string{`invalid value "1000" for flag -threads: more than the`}},
		{name: "bounds/threads-yaml", args: func(t *testing.T, d string) []string {
			p := boundsYAML(t, d, "threads", "threads: 100000\n")
			return []string{"run", "-out", filepath.Join(d, "run"), p}
		}, code: 1, want: []string{"threads.yaml:6:10: threads 100000: this process may use", "or override it with -threads"}},
		// -threads overrides the file's threads, so the file's value is not
		// checked then.
		{name: "bounds/threads-yaml-overridden", args: func(t *testing.T, d string) []string {
			p := boundsYAML(t, d, "threads", "threads: 100000\n")
			return []string{"run", "-dry-run", "-threads", "1", "-out", filepath.Join(d, "run"), p}
		}, code: 0, stdout: "units      1 in all"},
		{name: "bounds/faithfulness-steps", args: func(t *testing.T, d string) []string {
			p := boundsYAML(t, d, "steps", "tests:\n  - faithfulness: {steps: 1000000}\n")
			return []string{"run", "-dry-run", "-out", filepath.Join(d, "run"), p}
		}, code: 1, want: []string{"steps.yaml:7:5: faithfulness: steps 1000000: model fmnist_vgg has 784 pixels (28×28); want at most one step per pixel"}},
		{name: "bounds/samples-flag", args: explainArgs(vgg, "-method", "smoothgrad", "-set", "smoothgrad.samples=1000000"), code: 2,
			want: []string{"smoothgrad: samples must be at most 1000 (the noise of every sample is held at once), got 1000000"}},
		{name: "bounds/steps-yaml", args: func(t *testing.T, d string) []string {
			p := boundsYAML(t, d, "ig", "")
			raw, _ := os.ReadFile(p)
			raw = []byte(strings.Replace(string(raw), "methods: [gradient]", "methods: [{name: integrated-gradients, options: {steps: 1000000000}}]", 1))
			os.WriteFile(p, raw, 0o644)
			return []string{"run", "-dry-run", "-out", filepath.Join(d, "run"), p}
		}, code: 1, want: []string{"ig.yaml:5:", "integrated-gradients: steps must be at most 10000, got 1000000000"}},
		// 1000 repeats of the 6 layers of fmnist_vgg, 170 methods: 1 020 170
		// units, refused before they are listed.
		{name: "bounds/units", args: func(t *testing.T, d string) []string {
			p := boundsYAML(t, d, "units", "tests: [{randomization: {modes: [cascading], repeats: 1000}}]\n")
			raw, _ := os.ReadFile(p)
			raw = []byte(strings.Replace(string(raw), "methods: [gradient]", "methods: [gradient"+strings.Repeat(", gradient", 169)+"]", 1))
			os.WriteFile(p, raw, 0o644)
			return []string{"run", "-dry-run", "-out", filepath.Join(d, "run"), p}
		}, code: 1, want: []string{"units: 6001 steps × 170 methods × 1 batches of 10 images make more than 1000000 units of work"}},
	}
}
