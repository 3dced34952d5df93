// Package pxwire is the channel between the kernel and its persistent MPI
// ranks (%ranks, %px): each rank's interpreter connects to the kernel over
// TCP, proves it was started by this kernel with a token, and then runs the
// cells the kernel sends, answering with their output and their outcome on
// the same connection, so that a cell's output always arrives before its
// end.
//
// The wire is one JSON value per line. A rank sends a Hello first; the
// kernel reads at most MaxHello bytes before the token is verified, and
// drops a connection whose Hello is late, too long, or wrong. Then the
// kernel sends Requests and the rank Events; a line is at most MaxLine
// bytes (an --out value included).
package pxwire

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
)

// EnvVar is the environment variable through which the launcher hands each
// rank where the kernel listens: a rankio.Address ("ADDR,ADDR;TOKEN;HOST"),
// whose From picks the addresses a rank's host can reach.
const EnvVar = "MPIGO_PX"

// Limits of the wire.
const (
	MaxHello = 4 << 10  // a Hello line, before the token is checked
	MaxLine  = 64 << 20 // any later line: a 1M-element --out value fits
)

// Hello is a rank's first line.
type Hello struct {
	Token      string `json:"token"`
	Rank, Size int
	Host       string `json:"host"`
	PID        int    `json:"pid"`
}

// Operations of a Request.
const (
	OpExecute   = "execute"   // run Code as cell Cell
	OpInterrupt = "interrupt" // stop the cell ID if it runs
	OpRestore   = "restore"   // replay Decls (declarations of plain cells) into the session
	OpReset     = "reset"     // forget every declaration and variable
	OpStop      = "stop"      // finalize MPI and exit
)

// Request is a line from the kernel to a rank.
type Request struct {
	ID   int64  `json:"id"`
	Op   string `json:"op"`
	Cell int    `json:"cell,omitempty"` // execution count, for positions (cell[N]:L:C)
	Code string `json:"code,omitempty"`
	// Out asks for the value of the cell's final expression (%px --out).
	Out   bool          `json:"out,omitempty"`
	Decls []goeval.Decl `json:"decls,omitempty"`
}

// Kinds of Event.
const (
	EventOutput = "output" // Text written to Stream by cell ID
	EventDone   = "done"   // cell (or restore, reset) ID ended
)

// Event is a line from a rank to the kernel.
type Event struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	// output: the stream ("stdout" or "stderr") and what was written
	// (display records included, as display writes them).
	Stream string `json:"stream,omitempty"`
	Text   string `json:"text,omitempty"`
	// done: the text/plain of the final expression (when it has a value),
	// or the cell's error.
	Result string        `json:"result,omitempty"`
	Error  *cellio.Error `json:"error,omitempty"`
	// done with Out: the final expression's value, gob-encoded with its
	// type as the rank's session writes it, and as JSON for a session that
	// does not know that type; OutErr says why there is none.
	Out     *goeval.CarriedVar `json:"out,omitempty"`
	OutJSON json.RawMessage    `json:"out_json,omitempty"`
	OutErr  string             `json:"out_err,omitempty"`
}

// ErrTooLong is a line beyond its limit.
var ErrTooLong = errors.New("pxwire: line too long")

// Reader reads lines of JSON, each at most a limit long.
type Reader struct {
	r *bufio.Reader
}

// NewReader reads from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// Next decodes the next line into v; a line longer than limit is
// ErrTooLong (the connection is then of no further use).
func (r *Reader) Next(v any, limit int) error {
	var line []byte
	for {
		chunk, err := r.r.ReadSlice('\n')
		if len(line)+len(chunk) > limit {
			return ErrTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		break
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("pxwire: bad line: %w", err)
	}
	return nil
}

// Encode writes v as one line to w (callers serialise their writes).
func Encode(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
