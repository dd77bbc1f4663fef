package tfgraph_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// copyFile copies one file of a zoo model into dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	good := zooDir("fmnist_vgg")
	tmp := t.TempDir()

	empty := filepath.Join(tmp, "empty")
	os.Mkdir(empty, 0o755)
	file := filepath.Join(tmp, "model.h5")
	os.WriteFile(file, []byte("HDF"), 0o644)
	garbage := filepath.Join(tmp, "garbage")
	os.Mkdir(garbage, 0o755)
	os.WriteFile(filepath.Join(garbage, "saved_model.pb"), []byte("this is not a protocol buffer \xff\xff\xff"), 0o644)
	truncated := filepath.Join(tmp, "truncated")
	raw, _ := os.ReadFile(filepath.Join(good, "saved_model.pb"))
	os.Mkdir(truncated, 0o755)
	os.WriteFile(filepath.Join(truncated, "saved_model.pb"), raw[:len(raw)/2], 0o644)
	novars := filepath.Join(tmp, "novars")
	copyFile(t, filepath.Join(good, "saved_model.pb"), filepath.Join(novars, "saved_model.pb"))
	badvars := filepath.Join(tmp, "badvars")
	copyFile(t, filepath.Join(good, "saved_model.pb"), filepath.Join(badvars, "saved_model.pb"))
	copyFile(t, filepath.Join(good, "variables", "variables.index"), filepath.Join(badvars, "variables", "variables.index"))
	os.WriteFile(filepath.Join(badvars, "variables", "variables.data-00000-of-00001"), []byte("short"), 0o644)

	cases := []struct {
		name string
		dir  string
		opts *tfgraph.Options
		want []string // substrings of the error
	}{
		{"missing folder", filepath.Join(tmp, "nope"), nil, []string{"nope", "no such folder"}},
		{"file not folder", file, nil, []string{"model.h5", "not a folder"}},
		{"empty folder", empty, nil, []string{"empty", "not a SavedModel (no saved_model.pb)"}},
		{"garbage saved_model.pb", garbage, nil, []string{"garbage", "not a SavedModel protocol buffer"}},
		{"truncated saved_model.pb", truncated, nil, []string{"truncated", "saved_model.pb"}},
		{"unknown tag", good, &tfgraph.Options{Tags: []string{"train"}}, []string{"fmnist_vgg", "no MetaGraph has tags [train]", "tag sets: [serve]"}},
		{"unknown signature", good, &tfgraph.Options{Signature: "predict"}, []string{`no signature "predict"`, "serving_default"}},
		{"missing variables", novars, nil, []string{"novars"}},
		{"corrupt variables", badvars, nil, []string{"badvars"}},
		{"negative threads", good, &tfgraph.Options{IntraOpThreads: -1}, []string{"thread"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := tfgraph.Load(c.dir, c.opts)
			if err == nil {
				m.Close()
				t.Fatalf("Load(%s) succeeded, want an error", c.dir)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "tfgraph: ") {
				t.Errorf("error %q lacks the package prefix", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestForwardErrors(t *testing.T) {
	m, g := loadZoo(t, "fmnist_vgg")
	ok := g.Inputs
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"wrong size", func() error {
			_, err := m.Forward(tensor.New(2, 32, 32, 1))
			return err
		}, `input "image" wants shape [-1,28,28,1], got [2,32,32,1]`},
		{"wrong rank", func() error {
			_, err := m.Forward(tensor.New(28, 28, 1))
			return err
		}, "wants shape [-1,28,28,1], got [28,28,1]"},
		{"wrong channels", func() error {
			_, err := m.Forward(tensor.New(1, 28, 28, 3))
			return err
		}, "got [1,28,28,3]"},
		{"data shorter than shape", func() error {
			_, err := m.Forward(&tensor.Tensor{Shape: []int{2, 28, 28, 1}, Data: ok.Data[:100]})
			return err
		}, "needs 1568 values, got 100"},
		{"nil input", func() error {
			_, err := m.Forward(nil)
			return err
		}, "nil tensor"},
		{"unknown input key", func() error {
			_, err := m.Run(map[string]*tensor.Tensor{"image": ok, "mask": ok})
			return err
		}, `no input "mask"`},
		{"unknown output key", func() error {
			_, err := m.Run(map[string]*tensor.Tensor{"image": ok}, "probs")
			return err
		}, `no output "probs"; outputs: output_0`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
	// The session survives bad calls.
	if _, err := m.Forward(ok); err != nil {
		t.Fatalf("forward after errors: %v", err)
	}
	m.Close()
	if _, err := m.Forward(ok); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("forward on a closed model: %v", err)
	}
}
