package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond every 5 ms until it holds or the time is up.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exitCode is the exit status of a finished command (-1: killed by a signal).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -2
	}
	return 0
}

// proc is a saliency command running in a process of its own.
type proc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: self(args...), done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.wait(t, time.Minute)
	})
	return p
}

// wait waits for the process to end and returns its exit status.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return exitCode(err)
	case <-time.After(limit):
		t.Fatalf("%v still runs after %s:\n%s", p.cmd.Args, limit, p.out.String())
		return 0
	}
}

// holds waits until the process holds the lock file name of dir (its pid is
// in it) and the run's plan is written.
func (p *proc) holds(t *testing.T, dir, name string) string {
	t.Helper()
	pid := fmt.Sprintf("pid %d on ", p.cmd.Process.Pid)
	waitFor(t, fmt.Sprintf("%s in %s", pid, name), time.Minute, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		_, err := os.Stat(filepath.Join(dir, "plan.json"))
		return bytes.Contains(b, []byte(pid)) && err == nil
	})
	return pid
}

// A second process on the folder of a live run is refused with the pid of
// the one at work: the same shard, a run without shards, a report; the
// shards of one run work side by side, and the last to end writes the
// report. The processes at work are stopped (SIGSTOP) while the others try,
// so that they are live whatever the machine's speed. SIGTERM stops a run.
func TestSecondProcessRefused(t *testing.T) {
	file := runExperimentFile(t)
	out := filepath.Join(t.TempDir(), "run")
	one := startProc(t, "run", "-shard", "1/2", "-out", out, file)
	pid1 := one.holds(t, out, ".lock-1-of-2")
	one.cmd.Process.Signal(syscall.SIGSTOP)
	two := startProc(t, "run", "-shard", "2/2", "-out", out, file)
	pid2 := two.holds(t, out, ".lock-2-of-2")
	two.cmd.Process.Signal(syscall.SIGSTOP)
	for _, c := range []struct {
		args    []string
		holders []string
		want    string
	}{
		{[]string{"run", "-shard", "1/2", "-out", out, file}, []string{pid1}, "refused to run shard 1/2: two processes of one shard would compute the same units"},
		{[]string{"run", "-out", out, file}, []string{pid1, pid2}, "refused to run: wait for it to end, or stop it"},
		{[]string{"report", out}, []string{pid1, pid2}, "refused to report: a report needs the run to have ended"},
	} {
		code, _, stderr := runCLI(c.args...)
		ok := code == 1 && strings.Contains(stderr, c.want) && strings.Contains(stderr, "is in use")
		for _, h := range c.holders {
			ok = ok && strings.Contains(stderr, h)
		}
		if !ok {
			t.Errorf("saliency %s beside shards 1/2 (%s) and 2/2 (%s): exit %d\n%s", strings.Join(c.args, " "), pid1, pid2, code, stderr)
		}
	}
	for _, p := range []*proc{one, two} {
		p.cmd.Process.Signal(syscall.SIGCONT)
	}
	for i, p := range []*proc{one, two} {
		if code := p.wait(t, 5*time.Minute); code != 0 || !strings.Contains(p.out.String(), "42 of 84") {
			t.Errorf("shard %d/2: exit %d\n%s", i+1, code, p.out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "index.html")); err != nil {
		t.Errorf("neither shard wrote the report:\n%s\n%s", one.out.String(), two.out.String())
	}
	if left, _ := filepath.Glob(filepath.Join(out, ".*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}

	// SIGTERM stops a run between two units; the run resumes.
	again := filepath.Join(t.TempDir(), "again")
	three := startProc(t, "run", "-out", again, file)
	three.holds(t, again, ".lock")
	three.cmd.Process.Signal(syscall.SIGTERM)
	if code := three.wait(t, time.Minute); code != 1 || !strings.Contains(three.out.String(), "interrupted after") {
		t.Errorf("run after SIGTERM: exit %d\n%s", code, three.out.String())
	}
	if left, _ := filepath.Glob(filepath.Join(again, ".*")); len(left) != 0 {
		t.Errorf("left behind after SIGTERM: %v", left)
	}
}

// SIGINT during the report stops it between two files, before it is done:
// the folder holds whole files only, and 'saliency report' then writes the
// bytes of an uninterrupted run.
func TestReportInterrupted(t *testing.T) {
	file := runExperimentFile(t)
	whole := filepath.Join(t.TempDir(), "whole")
	if code, stdout, stderr := runCLI("run", "-out", whole, file); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	want := tree(t, whole)

	out := filepath.Join(t.TempDir(), "run")
	cmd := self("run", "-out", out, file)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "units computed") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
		done <- cmd.Wait()
	}()
	// The report has begun when its first figure is there.
	figure := filepath.Join(out, "figures", "fmnist_vgg-maps.png")
	waitFor(t, "the report's first figure", 60*time.Second, func() bool { _, err := os.Stat(figure); return err == nil })
	sent := time.Now()
	cmd.Process.Signal(os.Interrupt)
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the report went on for a minute after SIGINT\n%s", errb.String())
	}
	t.Logf("the report stopped %s after SIGINT", time.Since(sent).Round(time.Millisecond))
	if exitCode(err) != 1 || !strings.Contains(errb.String(), "interrupted while writing the report; 'saliency report "+out+"' writes it") {
		t.Errorf("after SIGINT: %v\n%s", err, errb.String())
	}
	got := tree(t, out)
	if _, ok := got["index.html"]; ok {
		t.Error("the report was finished: SIGINT came too late to test anything")
	}
	for p := range files(out) {
		if strings.HasPrefix(filepath.Base(p), ".") {
			t.Errorf("left behind: %s", p)
		}
	}
	for p, b := range got {
		if w, ok := want[p]; !ok || !bytes.Equal(w, b) {
			t.Errorf("%s is not a whole file of the report", p)
		}
	}
	if code, stdout, stderr := runCLI("report", out); code != 0 {
		t.Fatalf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	sameTree(t, "interrupted report, then 'saliency report'", want, tree(t, out))
}
