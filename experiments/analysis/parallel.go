package analysis

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// workersOf is the goroutines a report uses for its computations and for
// its figures each: ReportOptions.Workers, or GOMAXPROCS for 0.
func workersOf(o ReportOptions) int {
	if o.Workers > 0 {
		return o.Workers
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// parallel calls f(0), …, f(n−1) on at most workers goroutines (one: in
// order, on this one), handing out the indices in order, and returns the
// error of the lowest index that failed: every lower index has started by
// then, and no higher one starts after it. f(i) must write only its own
// results, so that they do not depend on the goroutines.
func parallel(ctx context.Context, workers, n int, f func(i int) error) error {
	if workers <= 1 || n <= 1 {
		for i := range n {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if errs[i] = f(i); errs[i] != nil {
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
