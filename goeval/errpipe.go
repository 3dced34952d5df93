package goeval

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
)

// errPipe is the standard error the interpreter writes to. It is an *os.File
// (a pipe), so that os.Stderr works in cells, and a goroutine copies what it
// receives to the session's real standard error, except the panic frame lines
// yaegi prints while a panic unwinds ("cell[2]:2:5: panic: main.g(...)"),
// which it keeps for the traceback of the cell's error.
//
// The copier reads without blocking and processes what it read under
// copyMu, so sync can take what is left in the pipe itself: when it returns,
// everything written before it was called has been forwarded, without a
// round trip through the copier (which cost a pipe write and two goroutine
// wake-ups per cell).
type errPipe struct {
	r, w *os.File
	rc   syscall.RawConn // r's
	dst  io.Writer

	copyMu    sync.Mutex // held while a chunk is read and processed
	buf       []byte
	pending   []byte // held back: may become a frame line
	lineStart bool
	eof       bool

	mu     sync.Mutex
	cond   *sync.Cond
	frames []string // frame lines since the last sync
	closed bool
}

// goPanicPrefix starts the line the goroutine recovery helper writes.
const goPanicPrefix = "panic in goroutine started at "

// frameLine matches a panic frame line as yaegi prints it.
var frameLine = regexp.MustCompile(`^(\S*:\d+:\d+|-): panic: .*\(\.\.\.\)$`)

func newErrPipe(dst io.Writer) (*errPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("goeval: creating the stderr pipe: %w", err)
	}
	rc, err := r.SyscallConn()
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("goeval: the stderr pipe: %w", err)
	}
	p := &errPipe{r: r, w: w, rc: rc, dst: dst, buf: make([]byte, 32<<10), lineStart: true}
	p.cond = sync.NewCond(&p.mu)
	go p.copy()
	return p, nil
}

// close closes the write end; the copier forwards what is left and stops.
func (p *errPipe) close() error {
	err := p.w.Close()
	p.mu.Lock()
	for !p.closed {
		p.cond.Wait()
	}
	p.mu.Unlock()
	return err
}

// sync forwards everything written to the pipe so far, the partial line
// held back included, and returns the frame lines collected since the
// previous sync.
func (p *errPipe) sync() []string {
	_ = p.rc.Control(func(fd uintptr) { // fails only once the pipe is closed
		p.copyMu.Lock()
		defer p.copyMu.Unlock()
		for p.readLocked(fd) == readGot {
		}
		if !p.eof && len(p.pending) > 0 {
			p.dst.Write(p.pending)
			p.pending, p.lineStart = nil, false
		}
	})
	p.mu.Lock()
	frames := p.frames
	p.frames = nil
	p.mu.Unlock()
	return frames
}

// goPanic reports a panic recovered in a goroutine started by a cell; where
// is "cell[N]:L", the go statement. The frames yaegi printed while the panic
// unwound follow the message.
func (p *errPipe) goPanic(where string, v any) {
	fmt.Fprintf(p.w, "%s%s: %s\n", goPanicPrefix, where, panicText(v))
}

// copy is the copier goroutine.
func (p *errPipe) copy() {
	for {
		res := readAgain
		err := p.rc.Read(func(fd uintptr) bool {
			p.copyMu.Lock()
			defer p.copyMu.Unlock()
			res = p.readLocked(fd)
			return res != readAgain
		})
		if err != nil || res == readEnd {
			break
		}
	}
	p.copyMu.Lock()
	p.eof = true
	if len(p.pending) > 0 {
		p.dst.Write(p.pending)
		p.pending = nil
	}
	p.copyMu.Unlock()
	p.r.Close()
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Outcomes of readLocked.
const (
	readGot   = iota // a chunk was read and processed
	readAgain        // the pipe is empty for now
	readEnd          // end of file, or an error that ends the pipe
)

// readLocked reads one chunk from fd without blocking and processes it;
// copyMu must be held.
func (p *errPipe) readLocked(fd uintptr) int {
	if p.eof {
		return readEnd
	}
	for {
		n, err := syscall.Read(int(fd), p.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return readAgain
		case n > 0:
			p.pending = p.process(append(p.pending, p.buf[:n]...), &p.lineStart)
			return readGot
		default:
			return readEnd
		}
	}
}

// process forwards the text in data, keeps frame lines, and returns the
// bytes it holds back for more input.
func (p *errPipe) process(data []byte, lineStart *bool) []byte {
	var out []byte
	defer func() {
		if len(out) > 0 {
			p.dst.Write(out)
		}
	}()
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := string(data[:i])
		switch {
		case *lineStart && frameLine.MatchString(line):
			p.addFrame(line)
		case *lineStart && strings.HasPrefix(line, goPanicPrefix):
			out = append(out, data[:i+1]...)
			p.mu.Lock()
			for _, f := range p.frames {
				out = append(out, "\t"+f+"\n"...)
			}
			p.frames = nil
			p.mu.Unlock()
		default:
			out = append(out, data[:i+1]...)
		}
		*lineStart = true
		data = data[i+1:]
	}
	// A partial line: hold back what may become a frame line.
	if len(data) > 0 && *lineStart && mayBeFrame(data) {
		return append([]byte(nil), data...)
	}
	if len(data) > 0 {
		out = append(out, data...)
		*lineStart = false
	}
	return nil
}

// mayBeFrame reports whether a partial line may be the start of a frame line.
func mayBeFrame(b []byte) bool {
	s := string(b)
	return strings.HasPrefix(s, "cell[") || strings.HasPrefix("cell[", s)
}

// addFrame records a frame line as "cell[2]:2:5: main.g(...)", skipping a
// repeat of the previous one (recursion).
func (p *errPipe) addFrame(line string) {
	line = strings.Replace(cleanPositions(line), ": panic: ", ": ", 1)
	p.mu.Lock()
	if len(p.frames) == 0 || p.frames[len(p.frames)-1] != line {
		p.frames = append(p.frames, line)
	}
	p.mu.Unlock()
}

// cleanPositions turns the file names the interpreter sees ("cell[3]/_.go")
// back into cell names ("cell[3]").
func cleanPositions(s string) string {
	return strings.ReplaceAll(s, "/"+srcName+":", ":")
}

// panicText formats a panic value like the Go runtime does.
func panicText(v any) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("%T (its Error or String method panicked)", v)
		}
	}()
	if rv, ok := v.(reflect.Value); ok { // yaegi panics with some values wrapped
		if !rv.IsValid() {
			return "<nil>"
		}
		if rv.CanInterface() {
			v = rv.Interface()
		}
	}
	switch x := v.(type) {
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case string:
		return x
	}
	return fmt.Sprint(v)
}
