package pxrank

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/mpimagic/px/pxwire"
)

// Output is buffered briefly so that a cell printing line by line costs a
// few events, not one per line; a cell's output is always sent before its
// Done (forwarder.end).
const (
	flushDelay = 20 * time.Millisecond
	flushSize  = 64 << 10
)

// stream is one of the rank's standard streams (fd 1 or 2), turned into a
// pipe that the rank itself reads: compiled code (fmt.Print in a package,
// display's records, C's printf) writes to the fd, not through the
// interpreter, and its output must reach the kernel as the cell's.
//
// The reader reads without blocking and passes on what it read under mu,
// so that sync can take what is left in the pipe itself: when sync
// returns, everything written before it was called has been passed on.
type stream struct {
	name string // "stdout" or "stderr", as Event.Stream
	r    *os.File
	rc   syscall.RawConn
	sink func(stream string, p []byte)

	mu  sync.Mutex
	buf []byte
}

// redirect points fd at a new pipe whose other end the returned stream
// reads (call run).
func redirect(fd int, name string, sink func(string, []byte)) (*stream, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pxrank: redirecting %s: %w", name, err)
	}
	defer w.Close() // fd is the write end from now on
	rc, err := r.SyscallConn()
	if err == nil {
		err = dupTo(int(w.Fd()), fd)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("pxrank: redirecting %s: %w", name, err)
	}
	return &stream{name: name, r: r, rc: rc, sink: sink, buf: make([]byte, 32<<10)}, nil
}

// run passes on what the pipe receives until it is closed.
func (s *stream) run() {
	for {
		var n int
		var rerr error
		err := s.rc.Read(func(fd uintptr) bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			n, rerr = syscall.Read(int(fd), s.buf)
			if errors.Is(rerr, syscall.EAGAIN) {
				return false // wait until readable
			}
			if n > 0 {
				s.sink(s.name, s.buf[:n])
			}
			return true
		})
		if err != nil || (rerr != nil && !errors.Is(rerr, syscall.EINTR)) || (rerr == nil && n == 0) {
			return
		}
	}
}

// sync passes on what is in the pipe now.
func (s *stream) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.rc.Control(func(fd uintptr) {
		for {
			n, err := syscall.Read(int(fd), s.buf)
			if n <= 0 || err != nil {
				return
			}
			s.sink(s.name, s.buf[:n])
		}
	})
}

// forwarder turns what the streams carry into Output events of the running
// cell (ID 0 between cells), keeping display records whole: an event never
// ends inside a record, so the kernel finds each record in one piece.
type forwarder struct {
	token string // of display records ($MPIGO_DISPLAY)
	send  func(evs []pxwire.Event)

	mu      sync.Mutex
	id      int64
	split   map[string]*display.Splitter
	pending []pxwire.Event
	size    int
	timer   *time.Timer
}

// newForwarder sends events with send.
func newForwarder(token string, send func([]pxwire.Event)) *forwarder {
	return &forwarder{token: token, send: send, split: map[string]*display.Splitter{
		"stdout": display.NewSplitter(token),
		"stderr": display.NewSplitter(""), // keeps UTF-8 sequences whole
	}}
}

// write is the streams' sink.
func (f *forwarder) write(stream string, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.add(stream, f.split[stream].Split(p))
	switch {
	case f.size >= flushSize:
		f.flush()
	case f.size > 0 && f.timer == nil:
		f.timer = time.AfterFunc(flushDelay, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.flush()
		})
	}
}

// add queues pieces of stream for the current ID, merged into the last
// event when it is of the same stream.
func (f *forwarder) add(stream string, pieces []display.Piece) {
	for _, pc := range pieces {
		text := string(pc.Text)
		if pc.Record != nil {
			text = display.EncodeRecord(f.token, pc.Record.Kind, pc.Record.Payload)
		}
		f.size += len(text)
		if n := len(f.pending); n > 0 && f.pending[n-1].Stream == stream && f.pending[n-1].ID == f.id {
			f.pending[n-1].Text += text
			continue
		}
		f.pending = append(f.pending, pxwire.Event{ID: f.id, Kind: pxwire.EventOutput, Stream: stream, Text: text})
	}
}

// flush sends what is queued; f.mu is held.
func (f *forwarder) flush() {
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if len(f.pending) == 0 {
		return
	}
	evs := f.pending
	f.pending, f.size = nil, 0
	f.send(evs)
}

// begin attributes what follows to cell id, after passing on what came
// before it.
func (f *forwarder) begin(id int64, streams ...*stream) {
	for _, s := range streams {
		s.sync()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flush()
	f.id = id
}

// end sends everything the cell wrote, what the splitters hold back
// included (the cell is over: a partial record is text), and attributes
// what follows to no cell. The caller sends the cell's Done next.
func (f *forwarder) end(streams ...*stream) {
	for _, s := range streams {
		s.sync()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, name := range []string{"stdout", "stderr"} {
		f.add(name, f.split[name].Flush())
	}
	f.flush()
	f.id = 0
}

// dupFile returns a new file for what fd refers to now.
func dupFile(fd int, name string) (*os.File, error) {
	nfd, err := syscall.Dup(fd)
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(nfd)
	return os.NewFile(uintptr(nfd), name), nil
}
