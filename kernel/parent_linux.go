//go:build linux && !mips && !mipsle && !mips64 && !mips64le

package kernel

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// sysPidfdOpen is pidfd_open(2) (Linux 5.3), numbered alike on every
// architecture this file builds for (MIPS offsets its numbers).
const sysPidfdOpen = 434

// pollIn is POLLIN of poll(2).
const pollIn = 0x1

// waitExit waits for process pid, the kernel's parent, to exit, as an event:
// a pidfd becomes readable when its process exits, and Go's poller waits on it
// without holding a thread. It returns true when pid exited, false when ctx is
// done, and an error when no pidfd can be had (Linux before 5.3, a seccomp
// filter), for the caller to poll instead.
//
// Why not the alternatives: prctl(PR_SET_PDEATHSIG) fires when the *thread*
// that forked the kernel exits, not its process (a front end that starts
// kernels from a worker thread would kill them early), and it needs a signal
// handler racing with Go's; polling getppid costs a wake-up a second and up to
// a second of delay. The pidfd is sound against PID reuse: it is opened on
// pid, then getppid is checked again; while pid is still our parent it has
// not exited, so the pidfd names our parent and not a newer process that got
// the same PID.
func waitExit(ctx context.Context, pid int, getppid func() int) (bool, error) {
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	if errno == syscall.ESRCH {
		return true, nil // gone before we could look
	}
	if errno != 0 {
		return false, fmt.Errorf("pidfd_open: %w", errno)
	}
	if getppid() != pid {
		syscall.Close(int(fd))
		return true, nil
	}
	// Non-blocking, os.NewFile registers the pidfd with Go's poller.
	if err := syscall.SetNonblock(int(fd), true); err != nil {
		syscall.Close(int(fd))
		return false, fmt.Errorf("pidfd: %w", err)
	}
	f := os.NewFile(fd, "pidfd")
	defer f.Close()
	// Closing the file wakes the wait below with an error.
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return false, fmt.Errorf("pidfd: %w", err)
	}
	// Read calls the function, and while it returns false waits until the
	// poller reports the pidfd readable. The function checks readiness
	// itself, so an exit that happened before the wait began is not missed.
	err = rc.Read(func(fd uintptr) bool { return readable(int(fd)) })
	switch {
	case ctx.Err() != nil:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("waiting on the pidfd: %w", err)
	}
	return true, nil
}

// pollFd is struct pollfd of poll(2).
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// readable reports whether fd is readable now, without waiting.
func readable(fd int) bool {
	p := pollFd{fd: int32(fd), events: pollIn}
	var zero syscall.Timespec
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		return errno == 0 && n == 1 && p.revents&pollIn != 0
	}
}
