package goeval

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// errPipe is the standard error the interpreter writes to. It is an *os.File
// (a pipe), so that os.Stderr works in cells, and a goroutine copies what it
// receives to the session's real standard error, except the panic frame lines
// yaegi prints while a panic unwinds ("cell[2]:2:5: panic: main.g(...)"),
// which it keeps for the traceback of the cell's error.
//
// sync writes a unique token through the pipe and waits until the copier has
// seen it, so everything written before has been forwarded.
type errPipe struct {
	r, w *os.File
	dst  io.Writer

	mu     sync.Mutex
	cond   *sync.Cond
	issued uint64   // last sync token written
	seen   uint64   // last sync token read
	frames []string // frame lines since the last sync
	closed bool
}

// syncMark starts a sync token; the token is syncMark, a number and a NUL.
const syncMark = "\x00mpigo-sync:"

// goPanicPrefix starts the line the goroutine recovery helper writes.
const goPanicPrefix = "panic in goroutine started at "

// frameLine matches a panic frame line as yaegi prints it.
var frameLine = regexp.MustCompile(`^(\S*:\d+:\d+|-): panic: .*\(\.\.\.\)$`)

func newErrPipe(dst io.Writer) (*errPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("goeval: creating the stderr pipe: %w", err)
	}
	p := &errPipe{r: r, w: w, dst: dst}
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

// sync waits until everything written to the pipe so far has been forwarded
// and returns the frame lines collected since the previous sync.
func (p *errPipe) sync() []string {
	p.mu.Lock()
	p.issued++
	n := p.issued
	p.mu.Unlock()
	if _, err := p.w.WriteString(syncMark + strconv.FormatUint(n, 10) + "\x00"); err == nil {
		p.mu.Lock()
		for p.seen < n && !p.closed {
			p.cond.Wait()
		}
		p.mu.Unlock()
	}
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
	buf := make([]byte, 32<<10)
	var pending []byte
	lineStart := true
	for {
		n, err := p.r.Read(buf)
		if n > 0 {
			pending = p.process(append(pending, buf[:n]...), &lineStart)
		}
		if err != nil {
			if len(pending) > 0 {
				p.dst.Write(pending)
			}
			p.r.Close()
			p.mu.Lock()
			p.closed = true
			p.cond.Broadcast()
			p.mu.Unlock()
			return
		}
	}
}

// process forwards the text in data, handles frame lines and sync tokens,
// and returns the bytes it holds back for more input.
func (p *errPipe) process(data []byte, lineStart *bool) []byte {
	var out []byte
	flush := func() {
		if len(out) > 0 {
			p.dst.Write(out)
			out = out[:0]
		}
	}
	defer flush()
	for len(data) > 0 {
		text := data
		nul := bytes.IndexByte(data, 0)
		if nul >= 0 {
			text = data[:nul]
		}
		// Complete lines.
		for {
			i := bytes.IndexByte(text, '\n')
			if i < 0 {
				break
			}
			line := string(text[:i])
			switch {
			case *lineStart && frameLine.MatchString(line):
				p.addFrame(line)
			case *lineStart && strings.HasPrefix(line, goPanicPrefix):
				out = append(out, text[:i+1]...)
				p.mu.Lock()
				for _, f := range p.frames {
					out = append(out, "\t"+f+"\n"...)
				}
				p.frames = nil
				p.mu.Unlock()
			default:
				out = append(out, text[:i+1]...)
			}
			*lineStart = true
			text = text[i+1:]
			data = data[i+1:]
			if nul >= 0 {
				nul -= i + 1
			}
		}
		if nul < 0 {
			// A partial line: hold back what may become a frame line.
			if len(text) > 0 && *lineStart && mayBeFrame(text) {
				return append([]byte(nil), text...)
			}
			if len(text) > 0 {
				out = append(out, text...)
				*lineStart = false
			}
			return nil
		}
		// Text before a NUL: forward it, then look at the NUL.
		if len(text) > 0 {
			out = append(out, text...)
			*lineStart = false
		}
		data = data[nul:]
		rest := string(data)
		if strings.HasPrefix(rest, syncMark) {
			end := strings.IndexByte(rest[1:], 0)
			if end < 0 {
				return append([]byte(nil), data...) // wait for the end of the token
			}
			end++
			n, err := strconv.ParseUint(rest[len(syncMark):end], 10, 64)
			if err == nil {
				flush()
				p.mu.Lock()
				if n > p.seen {
					p.seen = n
				}
				p.cond.Broadcast()
				p.mu.Unlock()
				data = data[end+1:]
				continue
			}
		} else if strings.HasPrefix(syncMark, rest) {
			return append([]byte(nil), data...) // may be the start of a token
		}
		out = append(out, 0) // a NUL the cell wrote
		*lineStart = false
		data = data[1:]
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
