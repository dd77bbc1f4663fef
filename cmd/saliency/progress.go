package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line bar on a terminal:
//
//	explain  gradcam            [########------------]  5/16  12s
//
// It draws nothing when w is not a terminal (a pipe, a file, a test buffer).
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	label   string
	total   int
	done    int
	sub     float64 // fraction of the current item
	item    string
	start   time.Time
	last    time.Time
	printed bool
	base    int // items done before this process started (a resumed run)
	eta     bool
}

func newProgress(w io.Writer, label string, total int) *progress {
	return &progress{w: w, on: isTerminal(w), label: label, total: total, start: time.Now()}
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// set reports done of total items finished and the next item (a
// experiments.RunOptions.Progress function), with the time left estimated
// from the items this process finished.
func (p *progress) set(done, total int, item string) {
	p.mu.Lock()
	if !p.eta {
		p.eta, p.base, p.start = true, done, time.Now()
	}
	p.done, p.total, p.item, p.sub = done, total, item, 0
	p.mu.Unlock()
	p.draw(true)
}

// begin starts the next item.
func (p *progress) begin(item string) {
	p.mu.Lock()
	p.item, p.sub = item, 0
	p.mu.Unlock()
	p.draw(true)
}

// part reports the progress inside the current item (a methods.ProgressFunc).
func (p *progress) part(done, total int) {
	if total <= 0 {
		return
	}
	p.mu.Lock()
	p.sub = float64(done) / float64(total)
	p.mu.Unlock()
	p.draw(false)
}

// end finishes the current item.
func (p *progress) end() {
	p.mu.Lock()
	p.done++
	p.sub = 0
	p.mu.Unlock()
	p.draw(true)
}

// finish clears the bar.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *progress) draw(force bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	const width = 24
	frac := 0.0
	if p.total > 0 {
		frac = (float64(p.done) + p.sub) / float64(p.total)
	}
	n := int(frac * width)
	bar := strings.Repeat("#", n) + strings.Repeat("-", width-n)
	el := time.Since(p.start)
	tail := el.Round(time.Second).String()
	if p.eta {
		tail = "left ?"
		if n := p.done - p.base; n > 0 {
			left := time.Duration(float64(el) / float64(n) * float64(p.total-p.done))
			tail = "left " + left.Round(time.Second).String()
		}
	}
	fmt.Fprintf(p.w, "\r\033[K%s  %-22s [%s] %d/%d  %s", p.label, p.item, bar, p.done, p.total, tail)
	p.printed = true
}
