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

// inOrder calls load(0), …, load(n−1) on at most workers goroutines and
// use(i, load(i)'s value) for each i in order on the caller's goroutine,
// with at most 2·workers values loaded ahead of use, so that their memory
// stays bounded. The first error, of load or use in the order of i, stops
// it and is returned; loads already started finish.
func inOrder[T any](ctx context.Context, workers, n int, load func(i int) (T, error), use func(i int, v T) error) error {
	if workers <= 1 || n <= 1 {
		for i := range n {
			v, err := load(i)
			if err != nil {
				return err
			}
			if err := use(i, v); err != nil {
				return err
			}
		}
		return nil
	}
	type result struct {
		v   T
		err error
	}
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel, which stops the hand-out
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make([]chan result, n)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	ahead := make(chan struct{}, 2*workers) // a token per value loaded and not yet used
	jobs := make(chan int)
	wg.Add(1)
	go func() { // hands out the indices in order, each with a token
		defer wg.Done()
		defer close(jobs)
		for i := range n {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				v, err := load(i)
				slots[i] <- result{v, err}
			}
		}()
	}
	for i := range n {
		var r result
		select {
		case r = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		if err := use(i, r.v); err != nil {
			return err
		}
		slots[i] = nil
		<-ahead
	}
	return nil
}
