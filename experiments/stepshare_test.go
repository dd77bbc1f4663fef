package experiments

import (
	"context"
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
