package reports

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Figures writes figures on a bounded number of goroutines: each figure by
// one goroutine, in all its formats (SaveFigure), while the caller builds
// the next. A figure's bytes do not depend on the goroutines: the same as
// SaveFigure's on the caller's.
//
// At most Workers figures are written at once and at most Workers more wait
// for a goroutine (Save blocks meanwhile), so that the memory of the figures
// in hand stays bounded however many a report makes.
type Figures struct {
	ctx     context.Context
	workers int
	done    func(written, queued int, name string)

	jobs chan figureJob
	wg   sync.WaitGroup

	mu      sync.Mutex
	queued  int
	written int
	err     error // of the first figure queued that failed
	errSeq  int
}

type figureJob struct {
	seq   int
	f     Figure
	paths []string
}

// NewFigures returns a writer of figures on at most workers goroutines
// (GOMAXPROCS for 0; with 1, Save writes on the caller's goroutine). Each
// figure's files are written only while ctx is not done. done, when not
// nil, is called after each figure is written, one call at a time, with
// the figures written and queued so far and the figure's name (its first
// path's base name without extension).
func NewFigures(ctx context.Context, workers int, done func(written, queued int, name string)) *Figures {
	if workers <= 0 {
		workers = max(1, runtime.GOMAXPROCS(0))
	}
	fs := &Figures{ctx: ctx, workers: workers, done: done}
	if workers > 1 {
		jobs := make(chan figureJob, workers)
		fs.jobs = jobs
		for range workers {
			fs.wg.Add(1)
			go func() {
				defer fs.wg.Done()
				for j := range jobs {
					fs.write(j)
				}
			}()
		}
	}
	return fs
}

// Save queues f to be written to the paths, each in the format its
// extension names; it waits while Workers figures wait already. f must not
// change until Wait returns. After a figure failed or ctx is done, figures
// are no longer written. Save and Wait are called from one goroutine.
func (fs *Figures) Save(f Figure, paths ...string) {
	fs.mu.Lock()
	j := figureJob{seq: fs.queued, f: f, paths: paths}
	fs.queued++
	fs.mu.Unlock()
	if fs.jobs == nil {
		fs.write(j)
		return
	}
	fs.jobs <- j
}

// write writes one figure, unless one queued before failed or ctx is done.
func (fs *Figures) write(j figureJob) {
	fs.mu.Lock()
	failed := fs.err != nil && fs.errSeq < j.seq
	fs.mu.Unlock()
	if failed {
		return
	}
	err := saveFigures(fs.ctx, j.f, j.paths)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err != nil {
		if fs.err == nil || j.seq < fs.errSeq {
			fs.err, fs.errSeq = err, j.seq
		}
		return
	}
	fs.written++
	if fs.done != nil && len(j.paths) > 0 {
		name := filepath.Base(j.paths[0])
		fs.done(fs.written, fs.queued, strings.TrimSuffix(name, filepath.Ext(name)))
	}
}

// Wait waits until every figure queued is written and returns the error of
// the first, in the order queued, that failed (ctx's error if it was done
// before a figure was written). The Figures take no more figures after it.
func (fs *Figures) Wait() error {
	if fs.jobs != nil {
		close(fs.jobs)
		fs.jobs = nil
		fs.wg.Wait()
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.err
}
