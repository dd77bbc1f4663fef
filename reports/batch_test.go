package reports

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// batchFigures are figures of every kind, at natural and paper widths.
func batchFigures() map[string]Figure {
	wide := paperGrid()
	wide.Width = PaperTextWidth
	narrow := paperCurves()
	narrow.Width = PaperColumnWidth
	return map[string]Figure{
		"grid": goldenGrid(), "paper-grid": wide,
		"curves": goldenCurves(), "paper-curves": narrow,
		"dots": goldenDots(),
	}
}

// readAll returns the files of dir by name.
func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// A figure laid out once for PNG, SVG and PDF (SaveFigure), or written by
// Figures on goroutines, has the bytes of Save, which lays it out anew for
// each file.
func TestFiguresSameBytes(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	formats := []string{"png", "svg", "pdf"}
	one, once, batch := t.TempDir(), t.TempDir(), t.TempDir()
	fs := NewFigures(context.Background(), 3, nil)
	for name, f := range batchFigures() {
		var ones, onces, batches []string
		for _, ext := range formats {
			ones = append(ones, filepath.Join(one, name+"."+ext))
			onces = append(onces, filepath.Join(once, name+"."+ext))
			batches = append(batches, filepath.Join(batch, name+"."+ext))
		}
		for _, p := range ones {
			if err := f.(interface{ Save(string) error }).Save(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := SaveFigure(f, onces...); err != nil {
			t.Fatal(err)
		}
		fs.Save(f, batches...)
	}
	if err := fs.Wait(); err != nil {
		t.Fatal(err)
	}
	want := readAll(t, one)
	if len(want) != 5*len(formats) {
		t.Fatalf("%d files, want %d", len(want), 5*len(formats))
	}
	for _, dir := range []string{once, batch} {
		got := readAll(t, dir)
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Errorf("%s: %s differs from Save's", filepath.Base(dir), name)
			}
		}
	}
}

// slowFigure is a figure whose drawing takes a while and counts the
// drawings at work and the figures in hand.
type slowFigure struct {
	*Grid
	running, most *atomic.Int64
	held          *atomic.Int64
	fail          bool
}

func (f slowFigure) renderer() (figure, int) {
	r, dpi := f.Grid.renderer()
	return slowRenderer{r, f}, dpi
}

type slowRenderer struct {
	figure
	f slowFigure
}

func (r slowRenderer) Draw(c draw.Canvas) error {
	n := r.f.running.Add(1)
	defer r.f.running.Add(-1)
	for m := r.f.most.Load(); n > m && !r.f.most.CompareAndSwap(m, n); m = r.f.most.Load() {
	}
	time.Sleep(5 * time.Millisecond)
	if r.f.fail {
		return errors.New("reports: failed on purpose")
	}
	return r.figure.Draw(c)
}

// Figures draws at most Workers figures at once, holds at most 2×Workers
// not yet written (Save waits), calls done once per figure in order of
// count, and reports the first figure queued that failed.
func TestFiguresBounded(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	for _, workers := range []int{1, 2, 3} {
		var running, most, held, written atomic.Int64
		var heldMost int64
		dir := t.TempDir()
		var calls []int
		var mu sync.Mutex
		fs := NewFigures(context.Background(), workers, func(w, q int, name string) {
			mu.Lock()
			calls = append(calls, w)
			mu.Unlock()
			held.Add(-1)
			written.Add(1)
		})
		g := testGrid(1, 1)
		g.CellSize = vg.Inch / 2
		const n = 20
		for i := range n {
			held.Add(1)
			heldMost = max(heldMost, held.Load())
			fs.Save(slowFigure{Grid: g, running: &running, most: &most, held: &held}, filepath.Join(dir, "f"+string(rune('a'+i))+".png"))
		}
		if err := fs.Wait(); err != nil {
			t.Fatal(err)
		}
		if got := most.Load(); got > int64(workers) || (workers > 1 && got < 2) {
			t.Errorf("workers %d: %d figures drawn at once", workers, got)
		}
		if heldMost > int64(2*workers+1) {
			t.Errorf("workers %d: %d figures in hand at once, want at most %d", workers, heldMost, 2*workers+1)
		}
		if written.Load() != n || len(readAll(t, dir)) != n {
			t.Errorf("workers %d: %d figures written, %d files, want %d", workers, written.Load(), len(readAll(t, dir)), n)
		}
		for i, w := range calls {
			if w != i+1 {
				t.Fatalf("workers %d: done's counts %v, want 1, 2, …", workers, calls)
			}
		}
	}
}

// The error of a batch is that of the first figure queued that failed,
// whichever goroutine failed first; a done context stops the writing.
func TestFiguresErrors(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var running, most, held atomic.Int64
	g := testGrid(1, 1)
	g.CellSize = vg.Inch / 2
	dir := t.TempDir()
	fs := NewFigures(context.Background(), 3, nil)
	fs.Save(g, filepath.Join(dir, "a.png"))
	fs.Save(g, filepath.Join(dir, "b.bmp"))
	fs.Save(slowFigure{Grid: g, running: &running, most: &most, held: &held, fail: true}, filepath.Join(dir, "c.png"))
	err := fs.Wait()
	if err == nil || !strings.Contains(err.Error(), "b.bmp") {
		t.Errorf("error %v, want b.bmp's", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fs = NewFigures(ctx, 2, nil)
	fs.Save(g, filepath.Join(dir, "d.png"))
	if err := fs.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "d.png")); err == nil {
		t.Error("cancelled: d.png written")
	}
}
