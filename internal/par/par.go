// Package par runs the independent iterations of a loop on up to
// GOMAXPROCS goroutines.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each calls f(0), …, f(n−1) on up to GOMAXPROCS goroutines, handing out
// the indices in order, and returns when all have returned (in this
// goroutine when there is one index or one processor). f must touch only
// the data of its index.
func Each(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Spans splits [0, n) into up to GOMAXPROCS contiguous spans and calls
// f(lo, hi) for each on its own goroutine (in this goroutine when there is
// one). f must touch only the data of its span; it can keep scratch
// buffers for the whole span.
func Spans(n int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(n*w/workers, n*(w+1)/workers)
		}()
	}
	wg.Wait()
}
