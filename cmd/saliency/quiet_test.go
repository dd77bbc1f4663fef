package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// At the default log level (TF_CPP_MIN_LOG_LEVEL unset) a command prints
// nothing but its own output: no oneDNN, CUDA or absl line from TensorFlow's
// load-time constructors (quiet.go re-executes before they run) and none
// from its runs. With -v, TensorFlow's own lines are there.
func TestNothingButOwnOutput(t *testing.T) {
	out := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_CPP_MIN_LOG_LEVEL=") {
			env = append(env, kv)
		}
	}
	env = append(env, "SALIENCY_TEST_MAIN=1")
	run := func(args ...string) (string, string) {
		t.Helper()
		cmd := self(args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("saliency %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	for _, args := range [][]string{
		{"version"},
		{"predict", vgg, sample},
		{"inspect", vgg},
		{"explain", "-model", vgg, "-method", "gradient,guided-backprop,gradcam,occlusion,integrated-gradients", "-out", filepath.Join(out, "maps"), sample},
	} {
		stdout, stderr := run(args...)
		if stderr != "" {
			t.Errorf("saliency %s wrote to stderr at the default log level:\n%s", strings.Join(args, " "), stderr)
		}
		if stdout == "" {
			t.Errorf("saliency %s printed nothing", strings.Join(args, " "))
		}
	}
	// A float16 model: oneDNN's ERROR line "supports DT_HALF only on platforms
	// with AVX-512" (on AVX-512 CPUs without AVX512-FP16, AMD's Zen 4 and 5)
	// reports a fallback to Eigen, no error; it comes at the first run of
	// the gradient graph, in TensorFlow's own log format. Beside it only the
	// note that the model has no card.yaml.
	stdout, stderr := run("explain", "-model", edge("mixed_f16"), "-method", "gradient,gradcam", "-out", filepath.Join(out, "f16"), sample)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l != "" && !strings.HasPrefix(l, "saliency explain: note: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 || !strings.Contains(stdout, "2 maps of 1 images") {
		t.Errorf("explain on a float16 model: stdout %q, stderr beyond the card note:\n%s", stdout, strings.Join(lines, "\n"))
	}
	if stdout, _ := run("predict", vgg, sample); !strings.Contains(stdout, "1. Ankle boot") {
		t.Errorf("predict's output:\n%s", stdout)
	}
	// The SavedModel reader's INFO lines come whether oneDNN is on or not.
	if _, stderr := run("predict", "-v", vgg, sample); !strings.Contains(stderr, "Reading SavedModel from") {
		t.Errorf("-v kept TensorFlow's lines off stderr:\n%s", stderr)
	}
}
