package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// withFigures copies the committed run into a new folder whose plan asks
// for figures in every format.
func withFigures(t *testing.T, formats ...string) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, filepath.Join("testdata", "run"), dir)
	path := filepath.Join(dir, "plan.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var plan map[string]any
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	plan["figures"] = formats
	if b, err = json.Marshal(plan); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// reportFiles are the files of a report folder by path, the units and
// inputs left out.
func reportFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "units"+string(filepath.Separator)) || strings.HasPrefix(rel, "inputs"+string(filepath.Separator)) {
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The report of the committed run, every test kind of it, in PNG, SVG and
// PDF, is the same bytes whether written in order on one goroutine or with
// its similarities and figures on four; the figures are counted by
// ReportOptions.Figures, one call each (make test-race runs this under the
// race detector).
func TestReportSameBytesInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	serial, par := withFigures(t, "png", "svg", "pdf"), withFigures(t, "png", "svg", "pdf")
	r1, err := WriteReport(serial, ReportOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	var calls, last atomic.Int64
	r4, err := WriteReport(par, ReportOptions{Workers: 4, Figures: func(written, queued int, name string) {
		calls.Add(1)
		last.Store(int64(written))
		if written > queued || name == "" {
			t.Errorf("figure progress %d of %d queued, name %q", written, queued, name)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r1.Files, r4.Files) || !slices.Equal(r1.Verdicts, r4.Verdicts) || !slices.Equal(r1.Warnings, r4.Warnings) {
		t.Error("the reports list other files, verdicts or warnings")
	}
	a, b := reportFiles(t, serial), reportFiles(t, par)
	figs := 0
	for name, want := range a {
		if strings.HasSuffix(name, ".pdf") {
			figs++
		}
		if !bytes.Equal(b[name], want) {
			t.Errorf("%s differs between 1 and 4 workers", name)
		}
	}
	if len(a) != len(b) || figs < 10 {
		t.Errorf("%d and %d files, %d figures", len(a), len(b), figs)
	}
	if int(calls.Load()) != figs || int(last.Load()) != figs {
		t.Errorf("Figures called %d times, last count %d, for %d figures", calls.Load(), last.Load(), figs)
	}
}

// A report cancelled while its figures are written on goroutines stops
// with the context's error, and every file it left is whole: written again,
// the report has the bytes of one written at once.
func TestReportCancelledInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	want := withFigures(t, "png")
	if _, err := WriteReport(want, ReportOptions{Workers: 1}); err != nil {
		t.Fatal(err)
	}
	dir := withFigures(t, "png")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := WriteReportContext(ctx, dir, ReportOptions{Workers: 3, Figures: func(written, _ int, _ string) {
		if written == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if _, err := WriteReport(dir, ReportOptions{Workers: 3}); err != nil {
		t.Fatal(err)
	}
	a, b := reportFiles(t, want), reportFiles(t, dir)
	for name, w := range a {
		if !bytes.Equal(b[name], w) {
			t.Errorf("%s differs after a cancelled report", name)
		}
	}
	if len(a) != len(b) {
		t.Errorf("%d and %d files", len(a), len(b))
	}
}

// inOrder uses every value in order, with at most 2·workers loaded and
// not yet used, and returns the first error in that order; parallel
// returns the error of the lowest index and runs at most workers at once.
func TestParallelBounded(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	for _, workers := range []int{1, 2, 3} {
		var ahead, most atomic.Int64
		var used []int
		err := inOrder(context.Background(), workers, 50, func(i int) (int, error) {
			n := ahead.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			return i * i, nil
		}, func(i, v int) error {
			ahead.Add(-1)
			if v != i*i {
				t.Errorf("value %d for %d", v, i)
			}
			used = append(used, i)
			return nil
		})
		if err != nil || len(used) != 50 || !slices.IsSorted(used) {
			t.Errorf("workers %d: error %v, used %d in order %v", workers, err, len(used), slices.IsSorted(used))
		}
		if m := most.Load(); m > int64(2*workers+1) {
			t.Errorf("workers %d: %d values loaded ahead", workers, m)
		}
		fail := func(i int) error {
			if i == 7 || i == 30 {
				return errors.New("failed at " + string(rune('0'+i%10)))
			}
			return nil
		}
		err = inOrder(context.Background(), workers, 50, func(i int) (int, error) { return i, fail(i) }, func(int, int) error { return nil })
		if err == nil || err.Error() != "failed at 7" {
			t.Errorf("workers %d: inOrder error %v, want the 7th's", workers, err)
		}
		var running, peak atomic.Int64
		err = parallel(context.Background(), workers, 50, func(i int) error {
			n := running.Add(1)
			defer running.Add(-1)
			for m := peak.Load(); n > m && !peak.CompareAndSwap(m, n); m = peak.Load() {
			}
			return fail(i)
		})
		if err == nil || err.Error() != "failed at 7" {
			t.Errorf("workers %d: parallel error %v, want the 7th's", workers, err)
		}
		if peak.Load() > int64(workers) {
			t.Errorf("workers %d: %d at once", workers, peak.Load())
		}
	}
}

// A unit that cannot be read fails the report with the same error whether
// the units are read on one goroutine or on four (the first in the units'
// order), and the goroutines end.
func TestReportUnreadableUnitInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var msgs []string
	for _, workers := range []int{1, 4} {
		dir := withFigures(t, "png")
		for _, u := range []string{"006-cascading-conv1_1/gradient", "000-original/gradcam"} {
			if err := os.WriteFile(filepath.Join(dir, "units", "fmnist_vgg", filepath.FromSlash(u), "batch-000.npy"), []byte("not a npy"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := WriteReport(dir, ReportOptions{Workers: workers})
		if err == nil {
			t.Fatalf("workers %d: no error", workers)
		}
		msgs = append(msgs, strings.ReplaceAll(err.Error(), dir, "DIR"))
	}
	if msgs[0] != msgs[1] {
		t.Errorf("errors differ: %q (1 worker), %q (4)", msgs[0], msgs[1])
	}
}
