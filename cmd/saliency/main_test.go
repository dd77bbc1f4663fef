package main

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const zoo = "../../savedmodels"

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(&out, &errb, args)
	return code, out.String(), errb.String()
}

func TestExitStatusAndErrors(t *testing.T) {
	tmp := t.TempDir()
	text := filepath.Join(tmp, "notes.png")
	os.WriteFile(text, []byte("not a png at all"), 0o644)
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, ""},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"inspect"}, 2, "want one SavedModel folder"},
		{[]string{"inspect", "-bogus", zoo + "/fmnist_vgg"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"inspect", filepath.Join(tmp, "nope")}, 1, "no such folder"},
		{[]string{"inspect", "-signature", "nope", zoo + "/fmnist_vgg"}, 1, `no signature "nope"; signatures: serve, serving_default`},
		{[]string{"predict", zoo + "/fmnist_vgg"}, 2, "at least one image"},
		{[]string{"predict", "-k", "0", zoo + "/fmnist_vgg", "x.png"}, 2, "-k must be at least 1"},
		{[]string{"predict", zoo + "/fmnist_vgg", text}, 1, "notes.png: not an image"},
		{[]string{"version", "extra"}, 2, "takes no arguments"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != c.code || !strings.Contains(stderr, c.stderr) {
			t.Errorf("saliency %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, stderr, c.code, c.stderr)
		}
	}
}

func TestPredictKeepsGoodImages(t *testing.T) {
	good := zoo + "/samples/fmnist_0000_ankle-boot.png"
	code, stdout, stderr := runCLI("predict", "-k", "1", zoo+"/fmnist_vgg", good, "missing.png", good)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if strings.Count(stdout, "Ankle boot") != 2 {
		t.Errorf("stdout lacks the two good images:\n%s", stdout)
	}
	if !strings.Contains(stderr, "missing.png") || !strings.Contains(stderr, "1 of 3 images could not be read") {
		t.Errorf("stderr: %s", stderr)
	}
}

// The samples are classified as labels.csv says.
func TestPredictSamples(t *testing.T) {
	f, err := os.Open(zoo + "/samples/labels.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for _, r := range rows[1:] {
		file, class, model := r[0], r[2], r[3]
		code, stdout, stderr := runCLI("predict", "-k", "1", filepath.Join(zoo, model), filepath.Join(zoo, "samples", file))
		if code != 0 {
			t.Fatalf("predict %s: exit %d: %s", file, code, stderr)
		}
		if strings.Contains(stdout, "1. "+class+" ") {
			right++
		} else {
			t.Logf("%s (%s) predicted as:\n%s", file, class, stdout)
		}
	}
	if right < len(rows)-2 {
		t.Errorf("%d of %d samples classified right", right, len(rows)-1)
	}
}

// convLine is inspect's line on the convolution gradients.
var convLine = regexp.MustCompile(`conv grad .*`)

func TestGoldenOutput(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"inspect_fmnist_vgg", []string{"inspect", zoo + "/fmnist_vgg"}},
		{"inspect_fmnist_gap_softmax", []string{"inspect", zoo + "/fmnist_gap_softmax"}},
		{"predict_samples", []string{"predict", "-k", "2", zoo + "/fmnist_vgg",
			zoo + "/samples/fmnist_0000_ankle-boot.png", zoo + "/samples/fmnist_0002_trouser.png"}},
		{"predict_softmax", []string{"predict", "-k", "2", zoo + "/fmnist_gap_softmax", zoo + "/samples/fmnist_0013_dress.png"}},
		{"help", []string{"help"}},
		{"help_predict", []string{"help", "predict"}},
		{"help_explain", []string{"help", "explain"}},
		{"help_methods", []string{"help", "methods"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stdout, stderr := runCLI(c.args...)
			got := strings.ReplaceAll(stdout+stderr, "running "+tfVersion(), "running TFVERSION")
			// The way convolutions are differentiated depends on the CPU
			// (-conv-backward auto).
			got = convLine.ReplaceAllString(got, "conv grad CHOICE")
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update after checking it):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}
