package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadGood(t *testing.T) {
	e, err := Load(filepath.Join("testdata", "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "schema-good" || e.Seed != 7 || e.Data.Seed != 7 || e.Data.Count != 4 {
		t.Errorf("name %q seed %d data %+v", e.Name, e.Seed, e.Data)
	}
	if len(e.Models) != 2 || e.Models[0].Name != "vgg" || e.Models[0].Layer != "conv2_2" || e.Models[1].Name != "fmnist_resnet" || e.Models[1].Target != "label" || e.Models[0].Target != "predicted" {
		t.Errorf("models %+v", e.Models)
	}
	if want := filepath.Join("testdata", "../../savedmodels/fmnist_vgg"); e.Models[0].Path != want {
		t.Errorf("model path %q, want %q (resolved against the file's folder)", e.Models[0].Path, want)
	}
	if got := []string{e.Methods[0].Name, e.Methods[1].Name, e.Methods[2].Name}; !reflect.DeepEqual(got, []string{"gradient", "smoothgrad", "gradcam"}) || e.Methods[1].Options["samples"] != 10 {
		t.Errorf("methods %+v", e.Methods)
	}
	if rt, ok := e.Tests[0].(*RandomizationTest); len(e.Tests) != 1 || !ok || !reflect.DeepEqual(rt.Modes, []string{"cascading"}) || rt.Distribution != "gaussian" || rt.BatchNorm != "randomize" {
		t.Errorf("tests %+v", e.Tests)
	}
	if !reflect.DeepEqual(e.Metrics, []string{"spearman-abs", "ssim"}) || !reflect.DeepEqual(e.Outputs.Figures, []string{"png", "pdf"}) {
		t.Errorf("metrics %v outputs %+v", e.Metrics, e.Outputs)
	}
	if e.Output != filepath.Join("testdata", "schema-good.out") {
		t.Errorf("output %q", e.Output)
	}
}

// Every file in testdata/bad fails with the problems its "# want:" lines
// name (line:column: text), and nothing else; nothing is written.
func TestLoadBad(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if len(files) < 15 {
		t.Fatalf("%d bad files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, line := range strings.Split(string(raw), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, f+":"+w)
				}
			}
			before, _ := os.ReadDir(filepath.Dir(f))
			_, err = Load(f)
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error %v, want an *InvalidError", err)
			}
			if len(inv.Problems) != len(wants) {
				t.Errorf("%d problems, want %d:\n%v", len(inv.Problems), len(wants), err)
			}
			for i, w := range wants {
				if i < len(inv.Problems) && !strings.HasPrefix(inv.Problems[i].String(), w) {
					t.Errorf("problem %d:\n got %s\nwant %s…", i, inv.Problems[i], w)
				}
			}
			after, _ := os.ReadDir(filepath.Dir(f))
			if len(after) != len(before) {
				t.Error("Load wrote a file")
			}
		})
	}
}

// units: entries with their defaults; an experiment of models and units
// alone needs no methods, and its entries' data default to the
// experiment's.
func TestLoadUnits(t *testing.T) {
	dir := t.TempDir()
	vgg := zoo("fmnist_vgg")
	path := writeFile(t, dir, "u.yaml", `name: u
seed: 4
models:
  - path: `+vgg+`
  - {name: other, path: `+vgg+`}
data: {source: fashion-mnist, count: 30}
units:
  - model: fmnist_vgg
    layer: conv2_2
  - model: other
    layer: conv1_1
    data: {source: fashion-mnist}
    k: 4
    project: guided-backprop
    channels: 0-3,7
    batch: 16
  - {model: other, layer: fc1, channels: [5, 1], data: {source: fashion-mnist, count: 100, seed: 9}}
  - {model: other, layer: fc1, channels: 6, project: gradient}
`)
	e, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Methods) != 0 || len(e.Units) != 4 {
		t.Fatalf("methods %v, units %+v", e.Methods, e.Units)
	}
	u := e.Units
	if u[0].Model != "fmnist_vgg" || u[0].Layer != "conv2_2" || u[0].Data != nil || u[0].K != 9 || u[0].Project != "deconvnet" || u[0].Channels != nil || u[0].Batch != 64 {
		t.Errorf("defaults: %+v", u[0])
	}
	if d := u[1].Data; d == nil || d.Source != "fashion-mnist" || d.Path != FashionMNISTDir || d.Count != 0 || d.Seed != 4 {
		t.Errorf("own data, every image: %+v", d)
	}
	if u[1].K != 4 || u[1].Project != "guided-backprop" || u[1].Batch != 16 || !reflect.DeepEqual(u[1].Channels, []int{0, 1, 2, 3, 7}) {
		t.Errorf("entry 2: %+v", u[1])
	}
	if !reflect.DeepEqual(u[2].Channels, []int{5, 1}) || u[2].Data.Count != 100 || u[2].Data.Seed != 9 {
		t.Errorf("entry 3: %+v, data %+v", u[2], u[2].Data)
	}
	if !reflect.DeepEqual(u[3].Channels, []int{6}) || u[3].Project != "gradient" {
		t.Errorf("entry 4: %+v", u[3])
	}
	// Without methods: no tests or metrics; with methods, data is needed.
	writeFile(t, dir, "u.yaml", "name: u\nmodels: [{path: "+vgg+"}]\nmethods: [gradient]\nunits: [{model: fmnist_vgg, layer: conv2_2}]\n")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `u.yaml:1:1: the experiment needs the key "data"`) {
		t.Errorf("methods without data: %v", err)
	}
	writeFile(t, dir, "u.yaml", "name: u\nmodels: [{path: "+vgg+"}]\nunits: [{model: fmnist_vgg, layer: conv2_2, data: {source: fashion-mnist}}]\nmetrics: [ssim]\n")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `u.yaml:4:1: key "metrics" in an experiment without methods`) {
		t.Errorf("metrics without methods: %v", err)
	}
	writeFile(t, dir, "u.yaml", "name: u\nmodels: [{path: "+vgg+"}]\n")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `needs the key "data"`) || !strings.Contains(err.Error(), `needs the key "methods"`) {
		t.Errorf("neither methods nor units: %v", err)
	}
}

// TestCommittedExperimentsLoad checks every committed experiment file against
// the schema and its methods' options (the files of paper.yaml, the demo's).
func TestCommittedExperimentsLoad(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 9 {
		t.Fatalf("found %d committed experiments: %v", len(files), files)
	}
	for _, f := range files {
		e, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(e.Include) > 0 {
			if _, _, err := LoadCollection(e, t.TempDir()); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}
