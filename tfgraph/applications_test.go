//go:build applications

package tfgraph_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestApplications checks every keras.applications architecture built by
// `make zoo-applications` (savedmodels/applications/, random weights):
// flattening, forward equal to the signature, plain gradient equal to
// tf.GradientTape at the input and at two inner layers, every rule set,
// and Keras' layer names, order and parameter counts. With
// SALIENCY_MODELS_MD set it writes the table of docs/models.md there.
// Run it with `make test-applications`.
func TestApplications(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(zooDir("applications"), "*", "card.yaml"))
	if len(dirs) == 0 {
		t.Fatal("no models in savedmodels/applications: run make zoo-applications")
	}
	sort.Strings(dirs)
	var rows []string
	for _, card := range dirs {
		dir := filepath.Dir(card)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			row, err := checkApplication(t, dir)
			if err != nil {
				t.Error(err)
				row = fmt.Sprintf("| %s | — | — | — | — | — | failed: %v |", name, err)
			}
			rows = append(rows, row)
		})
	}
	if path := os.Getenv("SALIENCY_MODELS_MD"); path != "" {
		head := "| model | nodes | load + flat | plain vs GradientTape (input; layers) | rule sets | layers as Keras | notes |\n| --- | --- | --- | --- | --- | --- | --- |\n"
		if err := os.WriteFile(path, []byte(head+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
}
