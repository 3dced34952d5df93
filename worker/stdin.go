package worker

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// stdinFeed is what cells read as fd 0. While a cell that may ask for input
// runs, fd 0 is a pipe whose write end input replies go to; otherwise it is
// /dev/null, so reads see end-of-file at once, as they did when each cell
// had a pipe of its own whose write end was closed when the cell ended.
// The pipe is kept from cell to cell (no pipe, dup and close calls per
// cell) and replaced only after a cell that was given input or end-of-file,
// so that nothing a cell left unread reaches the next one.
type stdinFeed struct {
	mu   sync.Mutex
	r    int      // the pipe's read end, -1 when there is no pipe
	w    *os.File // the pipe's write end; nil when closed (end-of-file given)
	null int      // /dev/null, -1 until needed
	// nullIn is set while fd 0 is /dev/null; unset at first, since fd 0
	// is whatever the parent gave.
	nullIn bool

	running bool // a cell that may ask for input runs
	used    bool // the pipe was written to or closed during the cell
	// asked is set while an input_request is outstanding.
	asked bool
}

func newStdinFeed() *stdinFeed { return &stdinFeed{r: -1, null: -1} }

// begin prepares fd 0 for a cell: the pipe when it may ask for input,
// /dev/null (which fd 0 already is between cells) when it may not.
func (f *stdinFeed) begin(allow bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !allow {
		return f.toNull()
	}
	if f.r < 0 {
		// A blocking pipe: cells read fd 0 with plain read(2) calls, which
		// a non-blocking descriptor would fail with EAGAIN.
		p, err := blockingPipe()
		if err != nil {
			return fmt.Errorf("stdin pipe: %w", err)
		}
		f.r, f.w = p[0], os.NewFile(uintptr(p[1]), "stdin-feed")
	}
	if err := dup2(f.r, 0); err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	f.nullIn = false
	f.running, f.used, f.asked = true, false, false
	return nil
}

// end puts /dev/null back on fd 0 after a cell, and drops the pipe if the
// cell was given input or end-of-file. A read of fd 0 that began during the
// cell goes on waiting on the pipe.
func (f *stdinFeed) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running {
		return
	}
	f.running = false
	f.toNull()
	if f.used {
		f.dropPipe()
	}
}

// toNull makes fd 0 /dev/null (must hold f.mu).
func (f *stdinFeed) toNull() error {
	if f.nullIn {
		return nil
	}
	if f.null < 0 {
		fd, err := syscall.Open(os.DevNull, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		f.null = fd
	}
	if err := dup2(f.null, 0); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	f.nullIn = true
	return nil
}

// dropPipe closes both ends of the pipe (must hold f.mu); fd 0 is no
// longer the pipe.
func (f *stdinFeed) dropPipe() {
	if f.w != nil {
		f.w.Close()
		f.w = nil
	}
	if f.r >= 0 {
		syscall.Close(f.r)
		f.r = -1
	}
}

// deliver answers an input_request of the running cell: a line, or
// end-of-file.
func (f *stdinFeed) deliver(value string, eof bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = false
	if !f.running || f.w == nil {
		return
	}
	f.used = true
	if eof {
		f.w.Close()
		f.w = nil
		return
	}
	f.w.WriteString(value + "\n")
}

// claimAsk reports whether the running cell waits for input that nobody
// has asked for yet (blocked says whether it waits at all), and if so
// marks it asked, so that it is asked once.
func (f *stdinFeed) claimAsk(blocked func() bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.running || f.w == nil || f.asked || !blocked() {
		return false
	}
	f.asked = true
	return true
}
