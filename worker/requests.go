package worker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// requests reads the parent's requests, one JSON object per line, from a
// pipe the runtime polls; cut makes a read that waits return at once, and
// the start of a line it cut short is kept for the next read.
type requests struct {
	mu    sync.Mutex // one reader at a time
	f     *os.File
	lines *lineReader
}

func newRequests(f *os.File) *requests {
	return &requests{f: f, lines: newLineReader(f)}
}

// next reads one request. It returns io.EOF when the parent has closed the
// pipe, and os.ErrDeadlineExceeded when cut.
func (q *requests) next() (request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	line, err := q.lines.next()
	if err != nil {
		return request{}, err
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return request{}, fmt.Errorf("bad request: %w", err)
	}
	return req, nil
}

// cut makes the read that waits now return, and then calls done; reads
// wait again once done has returned.
func (q *requests) cut(done func()) {
	q.f.SetReadDeadline(time.Now())
	done()
	q.f.SetReadDeadline(time.Time{})
}

// lineReader reads the lines of a pipe whose reads a deadline may cut short
// (the kernel's replies, the worker's requests): the start of a cut line is
// kept and completed by the next read, so no line is ever lost or split.
type lineReader struct {
	br      *bufio.Reader
	partial []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next whole line, its newline included.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.br.ReadBytes('\n')
	if err != nil {
		l.partial = append(l.partial, line...)
		return nil, err
	}
	if len(l.partial) > 0 {
		line = append(l.partial, line...)
		l.partial = nil
	}
	return line, nil
}
