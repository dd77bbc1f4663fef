package experiments

import (
	"os"
	"path/filepath"
	"testing"
)

// A run records the paths its experiment names the same way whether the
// experiment file was named relatively or absolutely on the command line:
// relative to the file's folder when they share a folder below the root,
// else absolute. Shards started either way write the same plan.json.
func TestRelToSpelling(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, path, want string }{
		{"testdata", "testdata/../../savedmodels/fmnist_vgg", "../../savedmodels/fmnist_vgg"},
		{"testdata", "/usr/share/datasets/fashion-mnist", "/usr/share/datasets/fashion-mnist"},
		{"testdata", "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz[64]", "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz[64]"},
		{".", "images/a.png", "images/a.png"},
	} {
		for _, spelled := range []struct{ how, dir, path string }{
			{"relative", c.dir, c.path},
			{"absolute", filepath.Join(wd, c.dir), absTo(wd, c.path)},
		} {
			if got := relTo(spelled.dir, spelled.path); got != c.want {
				t.Errorf("relTo(%q, %q) (%s) = %q, want %q", spelled.dir, spelled.path, spelled.how, got, c.want)
			}
		}
	}
}

func absTo(wd, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(wd, p)
}
