package devpg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Adopt records the current process as the cluster's owner in
// DataDir+".owner" and reports true when the cluster had no live owner: no
// owner file, an unreadable one, one naming a process that no longer exists
// (its owner crashed), or one naming the current process. The owner is the
// process that should stop the cluster when it shuts down.
//
// Adopt reports false, and leaves the file alone, when another live process
// owns the cluster; the caller must then not stop it. Liveness is checked
// with kill(pid, 0), so a crashed owner whose PID has been reused by an
// unrelated process still counts as alive (the cluster is then left
// running, which is the safe failure).
func (c *Cluster) Adopt() (bool, error) {
	dataDir, err := c.dataDir()
	if err != nil {
		return false, err
	}
	unlock, err := lockDir(context.Background(), dataDir)
	if err != nil {
		return false, err
	}
	defer unlock()

	self := os.Getpid()
	if pid, ok := readOwner(dataDir); ok && pid != self && pidAlive(pid) {
		return false, nil
	}
	if err := writeFileAtomic(dataDir+".owner", []byte(strconv.Itoa(self)+"\n"), 0o644); err != nil {
		return false, fmt.Errorf("devpg: record owner: %w", err)
	}
	return true, nil
}

// Release removes DataDir+".owner" if it names the current process, so that
// a later run adopts the cluster. It does nothing (and returns nil) when the
// file is missing or names another process.
func (c *Cluster) Release() error {
	dataDir, err := c.dataDir()
	if err != nil {
		return err
	}
	unlock, err := lockDir(context.Background(), dataDir)
	if err != nil {
		return err
	}
	defer unlock()

	if pid, ok := readOwner(dataDir); !ok || pid != os.Getpid() {
		return nil
	}
	if err := os.Remove(dataDir + ".owner"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devpg: release owner: %w", err)
	}
	return nil
}

// readOwner returns the PID recorded in the owner file; ok is false when the
// file is missing or does not hold a PID.
func readOwner(dataDir string) (pid int, ok bool) {
	b, err := os.ReadFile(dataDir + ".owner")
	if err != nil {
		return 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// pidAlive reports whether a process with this PID exists and has not
// exited. Errors from kill other than ESRCH (such as EPERM: it exists but
// belongs to another user) count as alive; a zombie (exited, not yet reaped
// by its parent, which happens under an init that does not reap) counts as
// dead.
func pidAlive(pid int) bool {
	if !pidExists(pid) {
		return false
	}
	_, state, ok := procStat(pid)
	return !ok || state != 'Z'
}

// pidExists reports whether kill(pid, 0) finds a process, zombies included.
func pidExists(pid int) bool {
	return pid > 0 && !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// procStat returns the command name and state of pid from /proc/<pid>/stat;
// ok is false where there is no /proc (macOS) or the process is gone.
func procStat(pid int) (comm string, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	// "<pid> (<comm>) <state> ...": comm may itself contain ") ".
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndex(s, ") ")
	if open < 0 || end < open || end+2 >= len(s) {
		return "", 0, false
	}
	return s[open+1 : end], s[end+2], true
}
