package devpg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock(2) on dataDir+".lock" and returns the
// function that releases it. The lock belongs to the open file, so it
// excludes other goroutines of this process as well as other processes, and
// the kernel drops it if the process dies. The file is close-on-exec, so the
// daemonised server never inherits it.
func lockDir(ctx context.Context, dataDir string) (unlock func(), err error) {
	path := dataDir + ".lock"
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devpg: open lock file: %w", err)
	}
	fd := int(f.Fd())
	release := func() { f.Close() } // closing the file drops the lock

	err = flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return release, nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("devpg: lock %s: %w", path, err)
	}

	// Someone else holds it (typically another test binary starting the
	// cluster): block in a goroutine so that ctx can abandon the wait.
	done := make(chan error, 1)
	go func() { done <- flock(fd, syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("devpg: lock %s: %w", path, err)
		}
		return release, nil
	case <-ctx.Done():
		// The goroutine still waits; release the lock as soon as it gets it.
		go func() {
			<-done
			f.Close()
		}()
		return nil, fmt.Errorf("devpg: waiting for lock %s: %w", path, context.Cause(ctx))
	}
}

// flock is syscall.Flock, retried when a signal interrupts it (the Go
// runtime sends signals to preempt goroutines).
func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
