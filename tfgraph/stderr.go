package tfgraph

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
)

// TensorFlow 2.18 logs some INFO lines through a copy of absl that ignores
// TF_CPP_MIN_LOG_LEVEL (e.g. "MLIR V1 optimization pass is not enabled" at
// the first graph run in a process). While TF_CPP_MIN_LOG_LEVEL asks for
// quiet, calls into TensorFlow that may log run with file descriptor 2 piped
// through a filter that drops INFO lines and passes everything else on.

var (
	stderrMu sync.Mutex
	// absl's prefix: severity letter, MMDD, time, thread id, file:line].
	infoLine = regexp.MustCompile(`^I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ ]+:\d+\] `)
	abslPre  = []byte("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")
)

func wantQuiet() bool {
	v := os.Getenv("TF_CPP_MIN_LOG_LEVEL")
	return v != "" && v != "0"
}

// filterTFLogs runs f with INFO lines of TensorFlow's own logging dropped from
// stderr. If the descriptors cannot be rearranged it just runs f.
func filterTFLogs(f func()) {
	if !wantQuiet() {
		f()
		return
	}
	stderrMu.Lock()
	defer stderrMu.Unlock()
	saved, err := syscall.Dup(2)
	if err != nil {
		f()
		return
	}
	defer syscall.Close(saved)
	r, w, err := os.Pipe()
	if err != nil {
		f()
		return
	}
	if err := syscall.Dup2(int(w.Fd()), 2); err != nil {
		r.Close()
		w.Close()
		f()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Write with syscall: an *os.File here would close the descriptor
		// again in its finalizer, after its number has been reused.
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if infoLine.Match(line) || bytes.Equal(line, abslPre) {
				continue
			}
			syscall.Write(saved, append(line, '\n'))
		}
	}()
	defer func() {
		syscall.Dup2(saved, 2)
		w.Close()
		<-done
		r.Close()
	}()
	f()
}

// firstRunFilter filters TensorFlow's INFO lines on the first call only: the
// lines come from graph setup, and filtering takes a process-wide lock.
type firstRunFilter struct{ ran atomic.Bool }

func (q *firstRunFilter) do(f func()) {
	if q.ran.Load() {
		f()
		return
	}
	filterTFLogs(f)
	q.ran.Store(true)
}
