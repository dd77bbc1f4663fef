package main

import (
	"os"
	"testing"

	"github.com/saliencykit/saliency/tfgraph"
)

func tfVersion() string { return tfgraph.Version() }

// TestMain lets a test run the command in a process of its own (to kill it,
// or to run shards side by side): the test binary re-executed with
// SALIENCY_TEST_MAIN=1 is the saliency command.
func TestMain(m *testing.M) {
	if os.Getenv("SALIENCY_TEST_MAIN") == "1" {
		os.Exit(run(os.Stdout, os.Stderr, os.Args[1:]))
	}
	os.Exit(m.Run())
}
