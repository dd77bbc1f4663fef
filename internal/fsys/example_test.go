package fsys_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/saliencykit/saliency/internal/fsys"
)

// Output files start as temporary files made through fsys.CreateTemp, which
// tests replace to simulate a full disk.
func ExampleCreateTemp() {
	dir, err := os.MkdirTemp("", "fsys")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	f, err := fsys.CreateTemp(dir, ".map.npy.*.tmp")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(f, "data")
	f.Close()
	ok, _ := filepath.Match(filepath.Join(dir, ".map.npy.*.tmp"), f.Name())
	fmt.Println(ok)
	// Output:
	// true
}
