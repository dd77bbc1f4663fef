package runfolder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The locks of a run folder, within one process (flock locks of two open
// files conflict as those of two processes do; TestSecondProcessRefused in
// cmd/saliency runs real processes): shards side by side, the same shard
// twice refused naming the holder, a run without shards and a report
// refused while shards work, stale lock files ignored, lock files removed.
func TestLocks(t *testing.T) {
	dir := t.TempDir()
	pid := fmt.Sprintf("pid %d on ", os.Getpid())
	refused := func(what string, err error, holders ...string) {
		t.Helper()
		var le *LockedError
		if !errors.As(err, &le) {
			t.Fatalf("%s: %v, want a *LockedError", what, err)
		}
		if len(le.Holders) != len(holders) {
			t.Errorf("%s: holders %q, want %d", what, le.Holders, len(holders))
		}
		for _, h := range holders {
			if !strings.Contains(err.Error(), pid) || !strings.Contains(err.Error(), h) {
				t.Errorf("%s: %v\nwant the holder %q%s", what, err, pid, h)
			}
		}
	}
	a, err := LockRun(dir, Shard{K: 1, N: 3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := LockRun(dir, Shard{K: 2, N: 3})
	if err != nil {
		t.Fatalf("a second shard: %v", err)
	}
	_, err = LockRun(dir, Shard{K: 1, N: 3})
	refused("shard 1/3 again", err, "run shard 1/3, since ")
	_, err = LockRun(dir, All)
	refused("a run without shards", err, "run shard 1/3", "run shard 2/3")
	_, err = LockReport(dir)
	refused("a report", err, "run shard 1/3", "run shard 2/3")
	if !strings.Contains(err.Error(), "a report needs the run to have ended") {
		t.Errorf("report refused: %v", err)
	}
	a.Unlock()
	_, err = LockReport(dir)
	refused("a report while shard 2/3 works", err, "run shard 2/3")
	b.Unlock()
	if left, _ := filepath.Glob(filepath.Join(dir, ".lock*")); len(left) != 0 {
		t.Errorf("lock files left: %v", left)
	}

	// A report, then a run: refused while the report holds the folder.
	r, err := LockReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockRun(dir, Shard{K: 3, N: 3})
	refused("a shard during a report", err, ": report, since ")
	r.Unlock()

	// Files left by processes that died (SIGKILL leaves them) block nothing.
	os.WriteFile(filepath.Join(dir, ".lock"), []byte("pid 999999 on elsewhere: run, since 2026-01-01 00:00:00 UTC\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".lock-3-of-3"), []byte("pid 999999 on elsewhere: run shard 3/3, since 2026-01-01 00:00:00 UTC\n"), 0o644)
	c, err := LockRun(dir, Shard{K: 3, N: 3})
	if err != nil {
		t.Fatalf("stale lock files: %v", err)
	}
	_, err = LockRun(dir, Shard{K: 3, N: 3})
	refused("shard 3/3 again", err, "run shard 3/3")
	if strings.Contains(err.Error(), "999999") {
		t.Errorf("the message names a dead process: %v", err)
	}
	c.Unlock()
	if left, _ := filepath.Glob(filepath.Join(dir, ".lock*")); len(left) != 0 {
		t.Errorf("lock files left: %v", left)
	}
}
