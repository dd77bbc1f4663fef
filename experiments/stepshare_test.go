package experiments

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// runCounted runs the plan of the experiment at path into a new folder and
// returns its files and the session runs the run made.
func runCounted(t *testing.T, path string) (map[string][]byte, int64) {
	t.Helper()
	p := newTestPlan(t, path)
	out := filepath.Join(t.TempDir(), "run")
	before := p.models[0].fl.Runs()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	return files(t, out), p.models[0].fl.Runs() - before
}

// The units of a randomized step take the step's predictions of their batch
// from the first of them: one logits run per step and batch instead of one
// per method, and the same files.
func TestPredictionsOncePerStep(t *testing.T) {
	path := tinyExperiment(t, "")
	noStepShare = true
	alone, runsAlone := runCounted(t, path)
	noStepShare = false
	shared, runsShared := runCounted(t, path)
	sameFiles(t, "predictions shared by the step's units", alone, shared)
	p := newTestPlan(t, path)
	steps, batches, methods := len(p.Models[0].Steps)-1, 2, len(p.Methods) // 4 images in batches of 3
	if want := int64(steps * batches * (methods - 1)); runsAlone-runsShared != want {
		t.Errorf("session runs: %d with a logits run per unit, %d shared; want %d fewer (%d randomized steps × %d batches × %d methods but one)",
			runsAlone, runsShared, want, steps, batches, methods)
	}
}

// The predictions of randomized steps feed the activations of the layers
// below their randomized ones, kept from an earlier step's run: the same
// files as without the cache, on a network with skip connections, in every
// mode, with repeats and with a budget too small to keep anything.
func TestLowerCacheSameFiles(t *testing.T) {
	dir := t.TempDir()
	y := `name: lower
seed: 3
models:
  - path: ` + zoo("fmnist_resnet") + `
data: {source: fashion-mnist, count: 5}
batch: 3
methods: [gradient, gradcam]
tests:
  - randomization: {modes: [cascading, independent, bottom-up], repeats: 2}
  - fragility: {epsilons: [0.02]}
metrics: [spearman]
`
	path := writeFile(t, dir, "lower.yaml", y)
	noStepShare = true
	want, _ := runCounted(t, path)
	noStepShare = false
	run := func(mb int) *lowerCache {
		t.Helper()
		defer func(old int) { lowerCacheMB = old }(lowerCacheMB)
		lowerCacheMB = mb
		p := newTestPlan(t, path)
		out := filepath.Join(t.TempDir(), "run")
		if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
			t.Fatal(err)
		}
		sameFiles(t, fmt.Sprintf("lower cache of %d MiB", mb), want, files(t, out))
		return p.models[0].lower
	}
	lc := run(lowerCacheMB)
	if lc == nil || lc.fed == 0 {
		t.Fatalf("no predictions run fed the cache's values: %+v", lc)
	}
	t.Logf("%d predictions runs fed, %d full; %d values (%d bytes) left", lc.fed, lc.full, len(lc.vals), lc.bytes)
	if lc := run(0); lc.fed != 0 {
		t.Errorf("a budget of 0 fed %d runs", lc.fed)
	}
}

// The map units of a step with noise (fragility), a shifted input (input
// invariance) or smoothing (smooth MPRT) share their session runs as those
// of a plain step do: fewer runs, the same files, also when a shard
// computes only some of a batch's methods.
func TestStepShareSameFiles(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"noise-smooth": `name: noise
seed: 3
models:
  - path: ` + zoo("fmnist_resnet") + `
data: {source: fashion-mnist, count: 5}
batch: 3
methods: [gradient, gradient-x-input, guided-backprop, gradcam, guided-gradcam, cam]
tests:
  - fragility: {epsilons: [0.02, 0.04]}
  - randomization: {modes: [cascading], smooth: 3}
metrics: [spearman]
`,
		"shift": `name: shift
seed: 3
models:
  - path: ` + zoo("fmnist_vit") + `
data: {source: fashion-mnist, count: 3}
methods: [gradient, gradient-x-input, gradcam]
tests:
  - input-invariance: {shift: -1}
`,
		// cam does not apply to fmnist_vgg (no global-average-pooling
		// head): every noisy copy's map of it is an error.
		"smooth-na": `name: smoothna
seed: 3
models:
  - path: ` + zoo("fmnist_vgg") + `
data: {source: fashion-mnist, count: 4}
batch: 3
methods: [gradient, cam, gradcam]
tests:
  - randomization: {modes: [cascading], smooth: 2}
`,
	}
	for name, y := range cases {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, dir, name+".yaml", y)
			noStepShare = true
			alone, runsAlone := runCounted(t, path)
			noStepShare = false
			shared, runsShared := runCounted(t, path)
			sameFiles(t, "shared", alone, shared)
			if runsShared >= runsAlone {
				t.Errorf("session runs: %d shared, %d alone", runsShared, runsAlone)
			}
			t.Logf("session runs: %d alone, %d shared", runsAlone, runsShared)
			// Shards: each computes some methods of each batch.
			p := newTestPlan(t, path)
			out := filepath.Join(t.TempDir(), "run")
			for k := 1; k <= 2; k++ {
				if _, err := p.Run(context.Background(), RunOptions{Out: out, Shard: Shard{K: k, N: 2}}); err != nil {
					t.Fatal(err)
				}
			}
			sameFiles(t, "shared, 2 shards", alone, files(t, out))
		})
	}
}
