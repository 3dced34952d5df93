package worker

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

func blockingPipe() ([2]int, error) {
	var p [2]int
	err := syscall.Pipe2(p[:], syscall.O_CLOEXEC)
	return p, err
}

func dup2(oldfd, newfd int) error { return syscall.Dup3(oldfd, newfd, 0) }

// watchInterval is how often a cell's threads are checked for a read of
// stdin, and how long a cell runs before the first check.
const watchInterval = 20 * time.Millisecond

// watch calls ask whenever a thread of this process blocks reading fd 0 while
// the pipe behind it is empty, that is when the cell waits for input nobody
// has asked for yet. A pipe cannot tell its writer that a reader waits, but
// Linux shows each thread's blocking system call in /proc. Watching starts
// only once the cell has run for watchInterval (when the first check was
// due anyway), so most cells cost one timer and no goroutine. ask may wait
// for the answer; the returned function, which stops watching, ends that
// wait with cut.
func (f *stdinFeed) watch(ask func(), cut func(wait func())) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	t := time.AfterFunc(watchInterval, func() {
		defer close(stopped)
		f.poll(done, ask)
	})
	return func() {
		close(done)
		if !t.Stop() { // the watch has begun: let it see done and return
			cut(func() { <-stopped })
		}
	}
}

// poll checks now and every watchInterval until done is closed.
func (f *stdinFeed) poll(done <-chan struct{}, ask func()) {
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	blocked := func() bool { return readingStdin() && pending(0) == 0 }
	for {
		if f.claimAsk(blocked) {
			ask()
		}
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// readingStdin reports whether some thread of this process is blocked in
// read(0, ...).
func readingStdin() bool {
	tasks, _ := filepath.Glob("/proc/self/task/*/syscall")
	want := []byte(strconv.Itoa(syscall.SYS_READ) + " 0x0 ")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err == nil && bytes.HasPrefix(b, want) {
			return true
		}
	}
	return false
}

// pending returns how many bytes wait unread in the pipe behind fd.
func pending(fd int) int {
	var n int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	if errno != 0 {
		return 0
	}
	return int(n)
}
