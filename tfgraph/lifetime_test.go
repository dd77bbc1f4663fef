package tfgraph_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The model, its flat graph and weight views are used from many goroutines
// at once: forward passes, gradients under every rule set (whose backward
// graphs are built by whichever goroutine asks first), layers, fed weights
// and profiled runs. Every result equals the one-goroutine result. Run it
// with -race (make test-race) to check the claims of Model's documentation.
func TestConcurrentUse(t *testing.T) {
	ref, g := loadFlat(t, "fmnist_vgg")
	x := g.Inputs
	classes := g.Top
	rules := []*tfgraph.RuleSet{tfgraph.Plain, tfgraph.Guided, tfgraph.DeconvNet}
	want := map[string]*tensor.Tensor{}
	for _, rs := range rules {
		gr, err := ref.Gradient(x, classes, "", rs)
		if err != nil {
			t.Fatal(err)
		}
		want[rs.Name] = gr
	}
	wantFwd, err := ref.Forward(x)
	if err != nil {
		t.Fatal(err)
	}

	// A fresh model: nothing built yet.
	fl, _ := loadFlat(t, "fmnist_vgg")
	zeros := map[string]*tensor.Tensor{}
	w, err := fl.WeightValue(fl.Weights[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	zeros[fl.Weights[0].Name] = tensor.New(w.Shape...)
	view := viewWith(t, fl, zeros)
	prof := &tfgraph.Profile{}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				rs := rules[(i+j)%len(rules)]
				gr, err := fl.Gradient(x, classes, "", rs)
				if err != nil {
					errs <- err
					return
				}
				if d, _ := tensor.MaxAbsDiff(gr, want[rs.Name]); d > 1e-6 {
					errs <- fmt.Errorf("goroutine %d: %s gradient differs by %g", i, rs.Name, d)
				}
				var out *tensor.Tensor
				switch i % 3 {
				case 0:
					out, err = fl.Forward(x)
				case 1:
					out, err = fl.Profiled(prof).Forward(x)
				default:
					if _, err = view.Forward(x); err == nil {
						out, err = fl.Forward(x)
					}
				}
				if err != nil {
					errs <- err
					return
				}
				if d, _ := tensor.MaxAbsDiff(out, wantFwd); d > 1e-6 {
					errs <- fmt.Errorf("goroutine %d: forward differs by %g", i, d)
				}
				if _, err := fl.Layer("conv2_2"); err != nil {
					errs <- err
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := prof.Runs(); n == 0 {
		t.Error("no profiled run recorded")
	}
}

// A closed model gives ErrClosed from every call, of the model, its flat
// graph, a weight view and a profiled view, never a nil dereference; Close
// is harmless twice and waits for the runs in progress.
func TestClosedModel(t *testing.T) {
	m, g := loadZoo(t, "fmnist_gap")
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	view := viewWith(t, fl, nil)
	// Runs in flight while Close comes: each ends with a result or ErrClosed.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var bad []error
	var mu sync.Mutex
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := fl.Gradient(g.Inputs, g.Top, "", tfgraph.Plain)
				if err != nil && !errors.Is(err, tfgraph.ErrClosed) {
					mu.Lock()
					bad = append(bad, err)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	for _, err := range bad {
		t.Errorf("run during Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	calls := map[string]func() error{
		"Model.Forward": func() error { _, err := m.Forward(g.Inputs); return err },
		"Model.Run":     func() error { _, err := m.Run(map[string]*tensor.Tensor{m.Input().Key: g.Inputs}); return err },
		"Flat.Forward":  func() error { _, err := fl.Forward(g.Inputs); return err },
		"Flat.Run": func() error {
			_, err := fl.Run(context.Background(), g.Inputs, tfgraph.Query{Grads: []tfgraph.Grad{{Rules: tfgraph.Guided}}})
			return err
		},
		"Flat.Gradient":       func() error { _, err := fl.Gradient(g.Inputs, g.Top, "", tfgraph.DeconvNet); return err },
		"Flat.OracleGradient": func() error { _, err := fl.OracleGradient(g.Inputs, g.Top); return err },
		"WithWeights.Forward": func() error { _, err := view.Forward(g.Inputs); return err },
		"Profiled.Forward":    func() error { _, err := fl.Profiled(&tfgraph.Profile{}).Forward(g.Inputs); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, tfgraph.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	// Closed before its flat graph was ever built.
	m2, _ := loadZoo(t, "fmnist_gap")
	m2.Close()
	if _, err := m2.Flat(); !errors.Is(err, tfgraph.ErrClosed) {
		t.Errorf("Flat after Close: %v", err)
	}
}

// vmRSS is the process's resident set size in bytes.
func vmRSS(t *testing.T) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// Memory does not grow over 10 000 calls: 5 000 gradients through the
// backward engine and 5 000 forward passes of the signature, each freeing
// its C tensors. Measured after a warm-up of 1 000 calls: the resident set
// may not grow by more than 16 MiB (a leaked 28×28 input per call would be
// 30 MiB) and the Go heap by more than 2 MiB.
func TestMemoryStable(t *testing.T) {
	m, g := loadZoo(t, "fmnist_vgg")
	fl, err := m.Flat()
	if err != nil {
		t.Fatal(err)
	}
	x := g.Inputs.Slice(0, 1)
	classes := g.Top[:1]
	call := func(i int) {
		var err error
		if i%2 == 0 {
			_, err = fl.Gradient(x, classes, "", tfgraph.Plain)
		} else {
			_, err = m.Forward(x)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	for i := 0; i < 1000; i++ {
		call(i)
	}
	rss0, heap0 := vmRSS(t), heap()
	for i := 0; i < 10000; i++ {
		call(i)
	}
	rss1, heap1 := vmRSS(t), heap()
	t.Logf("10 000 calls: RSS %d → %d MiB (%+d KiB), Go heap %+d KiB", rss0>>20, rss1>>20, (rss1-rss0)>>10, (int64(heap1)-int64(heap0))>>10)
	if rss1-rss0 > 16<<20 {
		t.Errorf("resident set grew by %d MiB over 10 000 calls", (rss1-rss0)>>20)
	}
	if int64(heap1)-int64(heap0) > 2<<20 {
		t.Errorf("Go heap grew by %d KiB over 10 000 calls", (int64(heap1)-int64(heap0))>>10)
	}
}

// The stderr filter passes a line of any length and a Go panic or fatal
// error raised while it holds descriptor 2, and never hangs: each scenario
// runs in a child process (this test binary again) with a deadline.
func TestStderrFilter(t *testing.T) {
	for _, c := range []struct {
		mode   string
		exit   int
		want   []string
		absent string
	}{
		{"long", 0, []string{"kept: before", "kept: after", strings.Repeat("x", 3<<20), "E1128 00:00:00.000000  123 kept.cc:1] a real error",
			"util/kept.cc:131] oneDNN supports DT_HALF only on platforms with AVX-512. Falling back to nothing."}, "dropped.cc"},
		{"keys", 0, []string{"again.cc:1] second run of a"}, "dropped.cc"},
		{"panic", 2, []string{"panic: boom in the filter", "goroutine "}, ""},
		{"fatal", 2, []string{"fatal error: sync: unlock of unlocked mutex"}, ""},
	} {
		t.Run(c.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestStderrFilterChild$")
			cmd.Env = append(os.Environ(), "SALIENCY_FILTER_CHILD="+c.mode, "TF_CPP_MIN_LOG_LEVEL=2", "GOTRACEBACK=all")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("the child hung (stderr so far: %d bytes)", stderr.Len())
			}
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != c.exit {
				t.Errorf("exit %d, want %d", code, c.exit)
			}
			out := stderr.String()
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("stderr (%d bytes) lacks %.60q", len(out), w)
				}
			}
			if c.absent != "" && strings.Contains(out, c.absent) {
				t.Errorf("stderr has a line that should be dropped (an INFO line, oneDNN's fallback for a data type, a first run's line)")
			}
		})
	}
}

// TestStderrFilterChild is the child of TestStderrFilter; it does nothing
// unless SALIENCY_FILTER_CHILD names a scenario.
func TestStderrFilterChild(t *testing.T) {
	mode := os.Getenv("SALIENCY_FILTER_CHILD")
	if mode == "" {
		return
	}
	// Descriptor 2 is a non-blocking pipe inside the filter: a writer of
	// more than the pipe holds waits and retries, as stdio would have to.
	write := func(s string) {
		for b := []byte(s); len(b) > 0; {
			n, err := syscall.Write(2, b)
			if err == syscall.EAGAIN {
				time.Sleep(time.Millisecond)
				continue
			}
			if err != nil {
				panic(err)
			}
			b = b[n:]
		}
	}
	if mode == "keys" {
		// Only the first run of each key is filtered.
		q := &tfgraph.FirstRunFilter{}
		q.Do("a", func() { write("I1128 00:00:00.000000  123 dropped.cc:1] first run of a\n") })
		q.Do("a", func() { write("I1128 00:00:00.000000  123 again.cc:1] second run of a\n") })
		q.Do("b", func() { write("I1128 00:00:00.000000  123 dropped.cc:2] first run of b\n") })
		return
	}
	tfgraph.FilterTFLogs(func() {
		switch mode {
		case "long":
			write("kept: before\n")
			write("I1128 00:00:00.000000  123 dropped.cc:1] an INFO line\n")
			write("E1128 00:00:00.000000  123 dropped.cc:131] oneDNN supports DT_INT32 only on platforms with AVX-512. Falling back to the default Eigen-based implementation if present.\n")
			write("E1128 00:00:00.000000  123 kept.cc:1] a real error\n")
			write("2026-12-07 23:29:45.791605: E tensorflow/core/util/dropped.cc:131] oneDNN supports DT_HALF only on platforms with AVX-512. Falling back to the default Eigen-based implementation if present.\n")
			write("2026-12-07 23:29:45.791605: E tensorflow/core/util/kept.cc:131] oneDNN supports DT_HALF only on platforms with AVX-512. Falling back to nothing.\n")
			write(strings.Repeat("x", 3<<20) + "\n")
			write("kept: after\n")
		case "panic":
			panic("boom in the filter")
		case "fatal":
			block := make(chan struct{})
			for i := 0; i < 3000; i++ { // a goroutine dump far larger than a pipe
				go func() { <-block }()
			}
			time.Sleep(100 * time.Millisecond)
			var mu sync.Mutex
			mu.Unlock()
		}
	})
}
