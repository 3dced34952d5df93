package worker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// requests reads the parent's requests, one JSON object per line, from a
// pipe the runtime polls; cut makes a read that waits return at once, and
// the start of a line it cut short is kept for the next read.
type requests struct {
	mu      sync.Mutex // one reader at a time
	f       *os.File
	br      *bufio.Reader
	partial []byte
}

func newRequests(f *os.File) *requests {
	return &requests{f: f, br: bufio.NewReaderSize(f, 64<<10)}
}

// next reads one request. It returns io.EOF when the parent has closed the
// pipe, and os.ErrDeadlineExceeded when cut.
func (q *requests) next() (request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	line, err := q.br.ReadBytes('\n')
	if err != nil {
		q.partial = append(q.partial, line...)
		return request{}, err
	}
	if len(q.partial) > 0 {
		line = append(q.partial, line...)
		q.partial = nil
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
