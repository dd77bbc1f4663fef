package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: any experiment text gives an experiment or an *InvalidError
// whose every problem names the file and a line (0 only for a file-level
// problem), never a panic. The text is validated as if it were
// testdata/fuzz.yaml, so its relative paths reach the zoo's models. Seeds:
// testdata/good.yaml, every file of testdata/bad and the committed
// experiments; crashers are kept in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pat := range []string{"testdata/*.yaml", "testdata/bad/*.yaml", "*.yaml"} {
		m, _ := filepath.Glob(pat)
		seeds = append(seeds, m...)
	}
	for _, p := range seeds {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		// The committed experiments sit one folder up from testdata.
		if !strings.HasPrefix(p, "testdata") {
			raw = []byte(strings.ReplaceAll(string(raw), "../savedmodels", "../../savedmodels"))
		}
		f.Add(raw)
	}
	path := filepath.Join("testdata", "fuzz.yaml")
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := parse(raw, path)
		if err == nil {
			if e.File != path || (len(e.Models) == 0 && len(e.Include) == 0) {
				t.Fatalf("accepted experiment: file %q, %d models, %d includes", e.File, len(e.Models), len(e.Include))
			}
			return
		}
		var inv *InvalidError
		if !errors.As(err, &inv) {
			t.Fatalf("error is not an *InvalidError: %v", err)
		}
		if len(inv.Problems) == 0 {
			t.Fatal("an *InvalidError without problems")
		}
		for _, p := range inv.Problems {
			if p.File != path || p.Line < 0 || p.Msg == "" {
				t.Fatalf("problem without file, line or message: %+v", p)
			}
		}
	})
}
