package par

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestEachAndSpansCoverOnce: every index is visited exactly once, with one
// processor and with several, for empty, single and larger loops; spans
// are contiguous, ordered and cover [0, n).
func TestEachAndSpansCoverOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 4} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 3, 17, 1000} {
			seen := make([]atomic.Int32, n)
			Each(n, func(i int) { seen[i].Add(1) })
			for i := range seen {
				if c := seen[i].Load(); c != 1 {
					t.Fatalf("procs %d, n %d: Each visited %d %d times", procs, n, i, c)
				}
			}
			spans := make([]atomic.Int32, n)
			Spans(n, func(lo, hi int) {
				if lo >= hi || lo < 0 || hi > n {
					t.Errorf("procs %d, n %d: span [%d, %d)", procs, n, lo, hi)
				}
				for i := lo; i < hi; i++ {
					spans[i].Add(1)
				}
			})
			for i := range spans {
				if c := spans[i].Load(); c != 1 {
					t.Fatalf("procs %d, n %d: Spans covered %d %d times", procs, n, i, c)
				}
			}
		}
	}
}
