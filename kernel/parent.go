package kernel

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// ErrParentExited is what Run returns when the process named by
// Config.ParentPID (the front end that started the kernel) has exited: the
// kernel then shuts down as for a shutdown_request, so that no kernel, worker
// or MPI rank outlives a closed terminal or a killed Jupyter server.
var ErrParentExited = errors.New("kernel: the front end that started the kernel exited")

// parentPollInterval is how often the parent is checked where the kernel
// cannot wait for its exit as an event (no pidfd): ipykernel polls once a
// second too.
const parentPollInterval = time.Second

// WatchedParent returns the process a kernel should watch, given the value of
// $JPY_PARENT_PID (which jupyter_client sets to its own PID in the
// environment of every kernel it starts) and the kernel's parent PID, or 0
// when it should watch none.
//
// As in ipykernel, only a kernel started by jupyter_client watches: without
// JPY_PARENT_PID (a kernel started by hand, or by a launcher that manages its
// lifetime itself) nothing is watched. The kernel watches its actual parent,
// which is the front end itself, or a launcher in between (a wrapper script,
// ssh, srun) whose exit means as much; ipykernel does the same in effect by
// noticing the re-parenting. A kernel already orphaned when it starts
// (parent PID 1) has nothing to watch.
func WatchedParent(jpyParentPID string, ppid int) int {
	n, err := strconv.Atoi(strings.TrimSpace(jpyParentPID))
	if err != nil || n <= 1 || ppid <= 1 {
		return 0
	}
	return ppid
}

// watchParent returns a channel that is closed once process pid, the
// kernel's parent, has exited. getppid returns the kernel's parent PID
// (os.Getppid; tests fake it). For pid <= 0 nothing is watched and the
// channel is never closed. Watching stops when ctx is done.
func watchParent(ctx context.Context, pid int, getppid func() int, log *slog.Logger) <-chan struct{} {
	gone := make(chan struct{})
	if pid <= 0 {
		return gone
	}
	go func() {
		if waitParent(ctx, pid, getppid, log) {
			close(gone)
		}
	}()
	return gone
}

// waitParent blocks until the parent pid has exited (true) or ctx is done
// (false). It waits for the exit as an event where the system offers one
// (waitExit), else it polls getppid.
func waitParent(ctx context.Context, pid int, getppid func() int, log *slog.Logger) bool {
	if getppid() != pid {
		return true // re-parented already: the parent is gone
	}
	exited, err := waitExit(ctx, pid, getppid)
	if err == nil {
		return exited
	}
	log.Debug("cannot wait for the parent's exit; polling instead", "pid", pid, "err", err)
	return pollParent(ctx, pid, getppid, parentPollInterval)
}

// pollParent checks every interval whether the kernel's parent is still pid.
// When a parent exits, its children are re-parented (to init or to the
// nearest subreaper, such as systemd --user), so getppid changes: unlike a
// check for PID 1 alone, this also works under a subreaper. It returns true
// once the parent has changed, false when ctx is done.
func pollParent(ctx context.Context, pid int, getppid func() int, interval time.Duration) bool {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if getppid() != pid {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
