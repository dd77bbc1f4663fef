package tfgraph

/*
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The filter's forwarding loop runs on a thread of its own, outside the Go
// scheduler: when the Go runtime stops the world to report a fatal error, it
// keeps draining the pipe, so the runtime's writes to descriptor 2 neither
// block nor vanish.

// is_info says whether a line is an INFO line of absl's logging: the
// severity letter I, MMDD, a space, and "] " after the time, thread and
// file:line.
static int is_info(const char *l, size_t n) {
	if (n < 6 || l[0] != 'I') return 0;
	for (int i = 1; i <= 4; i++) if (l[i] < '0' || l[i] > '9') return 0;
	if (l[5] != ' ') return 0;
	return memmem(l, n < 200 ? n : 200, "] ", 2) != NULL;
}

static const char absl_pre[] = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR";

// is_benign says whether a line is one of TensorFlow's ERROR-level lines
// that report no error: oneDNN falling back to Eigen for ops of a data type
// its own CPU check rejects ("oneDNN supports DT_INT32 only on platforms
// with AVX-512", and DT_HALF on AVX-512 CPUs without AVX512-FP16, such as
// AMD's Zen 4 and Zen 5), whatever the type. The line is absl's
// ("E1207 23:29:45.791605 123 util.cc:131] …") or TensorFlow's own
// ("2026-12-07 23:29:45.791605: E tensorflow/core/util/util.cc:131] …").
static int is_benign(const char *l, size_t n) {
	static const char pre[] = "] oneDNN supports DT_";
	static const char post[] = " only on platforms with AVX-512. Falling back to the default Eigen-based implementation if present.";
	if (n < 6 || (l[0] != 'E' && memmem(l, n < 40 ? n : 40, ": E ", 4) == NULL)) return 0;
	const char *p = memmem(l, n, pre, sizeof(pre) - 1);
	if (p == NULL) return 0;
	p += sizeof(pre) - 1;
	const char *end = l + n;
	while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) p++;
	size_t rest = (size_t)(end - p);
	while (rest > 0 && (p[rest - 1] == '\n' || p[rest - 1] == '\r')) rest--;
	return rest == sizeof(post) - 1 && memcmp(p, post, rest) == 0;
}

static void write_all(int fd, const char *b, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR) continue;
			return;
		}
		b += w;
		n -= (size_t)w;
	}
}

typedef struct { int r, fd; } fwd_args;

// forward copies r to fd line by line until EOF, dropping INFO lines; a line
// longer than the buffer is passed on as it comes. It closes r.
static void *forward(void *p) {
	fwd_args a = *(fwd_args *)p;
	free(p);
	size_t cap = 1 << 17, len = 0;
	char *buf = malloc(cap);
	int passing = 0; // inside a long line
	for (;;) {
		if (len == cap) {
			write_all(a.fd, buf, len);
			len = 0;
			passing = 1;
		}
		ssize_t n = read(a.r, buf + len, cap - len);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		len += (size_t)n;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(buf + start, '\n', len - start);
			if (nl == NULL) break;
			const char *l = buf + start;
			size_t ln = (size_t)(nl - l) + 1;
			int drop = !passing && (is_info(l, ln) || is_benign(l, ln) ||
				(ln - 1 == sizeof(absl_pre) - 1 && memcmp(l, absl_pre, ln - 1) == 0));
			if (!drop) write_all(a.fd, l, ln);
			passing = 0;
			start += ln;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
	}
	if (len > 0) write_all(a.fd, buf, len);
	free(buf);
	close(a.r);
	return NULL;
}

static int start_forwarder(int r, int fd, pthread_t *t) {
	fwd_args *a = malloc(sizeof *a);
	if (a == NULL) return -1;
	a->r = r;
	a->fd = fd;
	int err = pthread_create(t, NULL, forward, a);
	if (err != 0) free(a);
	return err;
}

static void join_forwarder(pthread_t t) { pthread_join(t, NULL); }
*/
import "C"

import (
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	tf "github.com/wamuir/graft/tensorflow"
)

// TensorFlow 2.18 logs some INFO lines through a copy of absl that ignores
// TF_CPP_MIN_LOG_LEVEL (e.g. "MLIR V1 optimization pass is not enabled" at
// the first graph run in a process). While TF_CPP_MIN_LOG_LEVEL asks for
// quiet, calls into TensorFlow that may log run with file descriptor 2 piped
// through a filter that drops INFO lines, and the ERROR line by which oneDNN
// says it falls back to Eigen for ops of a data type (int32, float16: no
// error), and passes everything else on.

var stderrMu sync.Mutex

func wantQuiet() bool {
	v := os.Getenv("TF_CPP_MIN_LOG_LEVEL")
	return v != "" && v != "0"
}

// filterTFLogs runs f with INFO lines of TensorFlow's own logging dropped from
// stderr. If the descriptors cannot be rearranged it just runs f.
//
// While f runs, descriptor 2 is a pipe that a C thread drains line by line
// into the real stderr; a line of any length passes (a long one in pieces).
// The thread is outside the Go scheduler, so a Go fatal error raised in that
// window is passed on too, and the runtime's writes cannot block on a full
// pipe. As the process may exit before the thread has passed on the last
// bytes, the runtime's crash report also goes straight to the real stderr
// (debug.SetCrashOutput): a fatal error can appear twice, never not at all.
// A panic in f restores descriptor 2 (deferred) before the runtime prints it.
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
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		f()
		return
	}
	r, w := p[0], p[1]
	var th C.pthread_t
	if C.start_forwarder(C.int(r), C.int(saved), &th) != 0 {
		syscall.Close(r)
		syscall.Close(w)
		f()
		return
	}
	if err := syscall.Dup2(w, 2); err != nil {
		syscall.Close(w) // the thread sees EOF and ends
		C.join_forwarder(th)
		f()
		return
	}
	if d, err := syscall.Dup(saved); err == nil {
		crash := os.NewFile(uintptr(d), "stderr")
		debug.SetCrashOutput(crash, debug.CrashOptions{}) // keeps a duplicate
		crash.Close()
	}
	defer func() {
		syscall.Dup2(saved, 2)
		debug.SetCrashOutput(nil, debug.CrashOptions{})
		syscall.Close(w)
		C.join_forwarder(th) // drains what is left, then ends at EOF
	}()
	f()
}

// firstRunFilter filters TensorFlow's log lines on the first run of each
// set of feeds, fetches and targets only: the lines come from graph setup,
// which the session does when it first meets such a set (it builds an
// executor for it, and graph passes such as oneDNN's layout rewrite log
// then: the DT_HALF fallback line comes at the first gradient run of a
// float16 model, not at its first run), and filtering takes a process-wide
// lock. Past maxQuietKeys sets, new ones run unfiltered.
type firstRunFilter struct {
	mu   sync.Mutex
	seen map[string]bool
}

const maxQuietKeys = 4096

func (q *firstRunFilter) do(key string, f func()) {
	q.mu.Lock()
	first := !q.seen[key] && len(q.seen) < maxQuietKeys
	q.mu.Unlock()
	if !first {
		f()
		return
	}
	filterTFLogs(f)
	q.mu.Lock()
	if q.seen == nil {
		q.seen = map[string]bool{}
	}
	q.seen[key] = true
	q.mu.Unlock()
}

// runKey names a session run's set of feeds, fetches and targets, in any
// order, as the session tells its executors apart.
func runKey(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output, targets []*tf.Operation) string {
	names := make([]string, 0, len(feeds)+len(fetches)+len(targets))
	for o := range feeds {
		names = append(names, "<"+o.Op.Name()+":"+strconv.Itoa(o.Index))
	}
	for _, o := range fetches {
		names = append(names, ">"+o.Op.Name()+":"+strconv.Itoa(o.Index))
	}
	for _, op := range targets {
		names = append(names, "!"+op.Name())
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}
