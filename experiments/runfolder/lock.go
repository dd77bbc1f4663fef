package runfolder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// A run folder is locked with advisory locks (flock(2)) on files in it, so
// that two processes never do the same work in one folder without a word:
//
//   - .lock: every process computing a shard of n > 1 holds it shared; a
//     run without shards (1/1) and a report hold it exclusively.
//   - .lock-k-of-n: the process computing shard k/n holds it exclusively.
//
// So the shards of a run proceed side by side, a second process of the same
// shard is refused, a run without shards is refused while any process works
// in the folder (and shards while it does), and a report is refused while a
// run is live. A process records "pid N on host: what, since time" in the
// files it holds exclusively, which the message of a refused process quotes.
// The kernel releases the locks of a process that dies, even by SIGKILL, so a
// stale file never blocks; a process removes the files it holds when it
// unlocks. A file system without flock (Lustre mounted without -o flock, NFS
// without a lock manager) runs unlocked, with a note.
const (
	lockFile       = ".lock"
	lockShardFiles = ".lock-*-of-*"
)

// Lock is the lock of one process on a run folder (LockRun, LockReport).
type Lock struct {
	dir   string
	run   *os.File // .lock
	ex    bool     // run is held exclusively
	shard *os.File // .lock-k-of-n, for a shard of n > 1
	// Note, when set, says why the folder could not be locked (a file
	// system without flock): the process works without a lock.
	Note string
}

// LockedError says that a run folder is in use by other processes.
type LockedError struct {
	Dir string
	// Want is what the refused process was to do ("run shard 2/3", "run",
	// "report").
	Want string
	// Holders describe the processes that hold the folder, each "pid N on
	// host: what, since time"; empty when they could not be read.
	Holders []string
}

func (e *LockedError) Error() string {
	who := "another process"
	if len(e.Holders) > 0 {
		who = strings.Join(e.Holders, "; ")
	}
	why := "wait for it to end, or stop it"
	switch {
	case e.Want == "report":
		why = "a report needs the run to have ended: wait for it, or stop it"
	case strings.HasPrefix(e.Want, "run shard"):
		why = "two processes of one shard would compute the same units; wait for it to end, or stop it"
	}
	return fmt.Sprintf("experiments: %s is in use (%s); refused to %s: %s", e.Dir, who, e.Want, why)
}

// LockRun locks dir for a process computing shard s of its run (the zero
// Shard or All: the whole run). A folder in use is a *LockedError naming the
// holders.
func LockRun(dir string, s Shard) (*Lock, error) {
	if s.N <= 1 {
		return lock(dir, true, "run", nil)
	}
	return lock(dir, false, "run shard "+s.String(), &s)
}

// LockReport locks dir for writing its report: no run may be live in it. A
// folder in use is a *LockedError naming the holders.
func LockReport(dir string) (*Lock, error) {
	return lock(dir, true, "report", nil)
}

func lock(dir string, ex bool, what string, s *Shard) (*Lock, error) {
	l := &Lock{dir: dir, ex: ex}
	how := syscall.LOCK_SH
	if ex {
		how = syscall.LOCK_EX
	}
	f, err := flockPath(filepath.Join(dir, lockFile), how)
	switch {
	case errors.Is(err, errBusy):
		return nil, &LockedError{Dir: dir, Want: what, Holders: holders(dir)}
	case unsupported(err):
		l.Note = fmt.Sprintf("%s: the file system does not support flock (%v): working without a lock, so nothing stops a second process in this folder", dir, err)
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("experiments: lock %s: %w", dir, err)
	}
	l.run = f
	if ex {
		writeHolder(f, what)
	} else {
		// No exclusive holder is live: the record of one that died goes.
		f.Truncate(0)
	}
	if s == nil {
		return l, nil
	}
	p := filepath.Join(dir, fmt.Sprintf(".lock-%d-of-%d", s.K, s.N))
	if l.shard, err = flockPath(p, syscall.LOCK_EX); err != nil {
		l.release()
		if errors.Is(err, errBusy) {
			var hs []string
			if h := readHolder(p); h != "" {
				hs = []string{h}
			}
			return nil, &LockedError{Dir: dir, Want: what, Holders: hs}
		}
		return nil, fmt.Errorf("experiments: lock %s: %w", dir, err)
	}
	writeHolder(l.shard, what)
	return l, nil
}

// Unlock releases the lock and removes the lock files no one else holds.
func (l *Lock) Unlock() error {
	if l == nil {
		return nil
	}
	if l.shard != nil {
		os.Remove(l.shard.Name())
		l.shard.Close()
		l.shard = nil
	}
	l.release()
	return nil
}

// release lets .lock go, removing it when no other process holds it.
func (l *Lock) release() {
	if l.run == nil {
		return
	}
	// Another shard may hold it too: remove it only when this process can
	// have it alone. (A failed conversion drops the lock, which is closed
	// next anyway.)
	if l.ex || syscall.Flock(int(l.run.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		os.Remove(l.run.Name())
	}
	l.run.Close()
	l.run = nil
}

var errBusy = errors.New("held by another process")

// flockPath opens (creating it) and locks path without waiting. A lock
// held only for a moment (a process unlocking, another probing) is retried
// for about 100 ms; a file removed by its last holder between the open and
// the lock is opened again.
func flockPath(path string, how int) (*os.File, error) {
	for busy := 0; ; {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		err = flockNB(f, how)
		if err == nil {
			st, err1 := f.Stat()
			now, err2 := os.Stat(path)
			if err1 == nil && err2 == nil && os.SameFile(st, now) {
				return f, nil
			}
			f.Close() // removed or replaced meanwhile
			continue
		}
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, err
		}
		if busy++; busy > 5 {
			return nil, errBusy
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func flockNB(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

// unsupported says whether err means the file system has no flock.
func unsupported(err error) bool {
	return errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EINVAL)
}

// writeHolder records this process in a lock file it holds exclusively.
func writeHolder(f *os.File, what string) {
	host, _ := os.Hostname()
	rec := fmt.Sprintf("pid %d on %s: %s, since %s\n", os.Getpid(), host, what, time.Now().UTC().Format("2006-01-02 15:04:05 UTC"))
	f.Truncate(0)
	f.WriteAt([]byte(rec), 0)
}

// readHolder is the record of a lock file, or "".
func readHolder(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// holders describes the processes holding dir's .lock: its exclusive
// holder's record, else the live shards', found by probing their files.
func holders(dir string) []string {
	if h := readHolder(filepath.Join(dir, lockFile)); h != "" {
		return []string{h}
	}
	paths, _ := filepath.Glob(filepath.Join(dir, lockShardFiles))
	var out []string
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if err := flockNB(f, syscall.LOCK_SH); errors.Is(err, syscall.EWOULDBLOCK) {
			if h := readHolder(p); h != "" {
				out = append(out, h)
			}
		}
		f.Close() // releases the probe's lock
	}
	return out
}
