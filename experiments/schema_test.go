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
	if len(e.Tests) != 1 || !reflect.DeepEqual(e.Tests[0].Modes, []string{"cascading"}) || e.Tests[0].Distribution != "gaussian" || e.Tests[0].BatchNorm != "randomize" {
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
