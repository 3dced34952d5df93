package worker

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"github.com/mpigo/mpigo/display"
)

// stream reads one output pipe of the child (its stdout or the cell's
// stderr) and forwards it: text to the cell's Output, display records as
// displays.
//
// Reading a chunk and forwarding it happen under one lock, with
// non-blocking reads. So once the child has answered a request, drain can
// take whatever of the cell's output is still in the pipe, knowing that
// nothing read before is still on its way: the end of a cell's output
// costs the parent no wake-up of its own (the child used to write a sync
// marker on each stream, and the parent waited for both).
type stream struct {
	name string
	e    *Engine
	rc   syscall.RawConn // of the pipe's read end, which await closes

	mu  sync.Mutex // held while a chunk is read and forwarded
	sp  *display.Splitter
	buf []byte
	eof bool
}

func newStream(e *Engine, name string, f *os.File) (*stream, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &stream{name: name, e: e, rc: rc, sp: display.NewSplitter(e.token), buf: make([]byte, 64<<10)}, nil
}

// pump forwards the stream until end of file (the child and everything it
// started have closed it) or until the pipe is closed.
func (s *stream) pump(done func()) {
	defer done()
	for {
		more := false
		err := s.rc.Read(func(fd uintptr) bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			got, again := s.readLocked(fd)
			more = got
			return !again
		})
		if err != nil || !more {
			s.mu.Lock()
			s.eof = true
			s.forward(s.sp.Flush())
			s.mu.Unlock()
			return
		}
	}
}

// readLocked reads one chunk and forwards it. got is false at end of file
// or on an error; again is true when the pipe is empty for now.
func (s *stream) readLocked(fd uintptr) (got, again bool) {
	if s.eof {
		return false, false
	}
	for {
		n, err := syscall.Read(int(fd), s.buf)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return false, true
		case n > 0:
			s.forward(s.sp.Split(s.buf[:n]))
			return true, false
		default: // end of file, or an error that ends the stream
			return false, false
		}
	}
}

// drain forwards what the pipe holds now, and the text the splitter held
// back at its end: the child has finished a request, so every byte the
// request wrote is either forwarded already or still in the pipe.
func (s *stream) drain() {
	_ = s.rc.Control(func(fd uintptr) { // fails only once the pipe is closed
		s.mu.Lock()
		defer s.mu.Unlock()
		for {
			if got, _ := s.readLocked(fd); !got {
				break
			}
		}
		if !s.eof {
			s.forward(s.sp.Flush())
		}
	})
}

// forward hands the pieces to the engine, in order.
func (s *stream) forward(pieces []display.Piece) {
	for _, pc := range pieces {
		switch {
		case pc.Record == nil:
			s.e.emit(s.name, string(pc.Text))
		case pc.Record.Kind == "display":
			s.e.display(pc.Record.Payload)
		}
	}
}
