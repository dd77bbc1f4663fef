package analysis

import (
	"os"
	"path/filepath"
	"testing"
)

// A shard killed (SIGKILL) while it wrote a unit leaves the writer's
// temporary file in units/, which no shard removes (another may be writing
// its own); the report, which holds the folder alone, removes it, so the
// folder holds the files of an uninterrupted run and nothing else.
func TestReportRemovesKilledShardTemps(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join("testdata", "run"), dir)
	orig := filepath.Join(dir, "units", "fmnist_vgg", "000-original")
	entries, err := os.ReadDir(orig)
	if err != nil || len(entries) == 0 {
		t.Fatalf("%s: %v", orig, err)
	}
	sub := filepath.Join(orig, entries[0].Name())
	temps := []string{filepath.Join(sub, ".batch-000.npy.123456.tmp"), filepath.Join(sub, ".batch-000.json.7.tmp")}
	for _, p := range temps {
		if err := os.WriteFile(p, []byte("half a unit"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := WriteReport(dir, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range temps {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there after the report (%v)", p, err)
		}
	}
}
