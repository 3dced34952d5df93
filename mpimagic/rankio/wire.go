package rankio

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// The rank I/O channel: each rank's wrapper (`mpigo rankio`) connects to the
// magic over TCP and sends frames: a Hello that carries the token, then the
// program's output as it comes, then its exit status. The magic answers
// with single control bytes. One connection per rank keeps every byte of a
// rank attributed to it, whatever the launcher does with its own output.

// Frame types, wrapper to magic.
const (
	FrameHello  = 'H' // JSON Hello
	FrameStdout = 'O' // bytes the program wrote to stdout
	FrameStderr = 'E' // bytes the program wrote to stderr
	FrameExit   = 'X' // JSON Exit, the last frame
	// FrameValue carries a piece of the program's --out value (a JSON
	// Value); the pieces of a rank, in order, make it up, and all come
	// before its Exit. Only a wrapper started with ValueFlag sends them.
	FrameValue = 'V'
)

// Control bytes, magic to wrapper.
const (
	CtlTerminate = 'T' // SIGTERM the program (SIGKILL if it is still there after a grace period)
	CtlKill      = 'K' // SIGKILL the program now
)

// MaxFrame bounds a frame's payload.
const MaxFrame = 1 << 20

// MaxValue bounds the JSON Value a rank's program sends back (%mpirun
// --out): the program sends an error in its place when its value is
// larger, and the magic refuses more from a program that does not.
const MaxValue = 64 << 20

// ValueFlag, before the "--" of the wrapper's arguments, asks the wrapper
// for the value channel: a pipe the program writes its Value to, named by
// ValueEnvVar, whose bytes go to the magic as FrameValue frames.
const ValueFlag = "--value"

// ValueEnvVar is the environment variable through which the wrapper tells
// the program the file descriptor of the value channel (see ValueFlag).
const ValueEnvVar = "MPIGO_RANKIO_VALUE"

// Value is the value of an %mpirun --out cell's final expression as a
// rank's program sends it back (package rankout encodes it): gob-encoded
// with its type as a plain cell writes it, and as JSON, for a notebook
// session that does not know the type. Type and Gob are empty when gob
// cannot carry the value (Gob alone for a nil pointer, map or slice, which
// the session reads as the zero value), JSON when encoding/json cannot;
// Err says why there is neither.
type Value struct {
	Type string          `json:"type,omitempty"`
	Gob  []byte          `json:"gob,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
	Err  string          `json:"error,omitempty"`
}

// EnvVar is the environment variable through which the launcher hands
// each rank's wrapper the magic's Address.
const EnvVar = "MPIGO_RANKIO"

// Address is where the ranks' wrappers reach the magic, as $MPIGO_RANKIO
// holds it: "ADDR,ADDR;TOKEN;HOST".
type Address struct {
	Addrs []string // host:port, in the order to try them
	Token string   // what a connection's Hello must carry
	Host  string   // the magic's host: only there do loopback addresses reach it
}

// String returns a's value of $MPIGO_RANKIO.
func (a Address) String() string {
	return strings.Join(a.Addrs, ",") + ";" + a.Token + ";" + a.Host
}

// ParseAddress reads a value of $MPIGO_RANKIO (without a host, the
// addresses are taken as local).
func ParseAddress(s string) Address {
	parts := strings.SplitN(s, ";", 3)
	var a Address
	if parts[0] != "" {
		a.Addrs = strings.Split(parts[0], ",")
	}
	if len(parts) >= 2 {
		a.Token = parts[1]
	}
	if len(parts) >= 3 {
		a.Host = parts[2]
	}
	return a
}

// From returns the addresses to try from host: the well-formed ones,
// without the loopback ones unless host is the magic's (elsewhere a
// loopback address reaches another process).
func (a Address) From(host string) []string {
	local := a.Host == "" || a.Host == host
	var out []string
	for _, addr := range a.Addrs {
		h, _, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() && !local {
			continue
		}
		out = append(out, addr)
	}
	return out
}

// Hello is the first frame of a rank's connection.
type Hello struct {
	Token    string `json:"token"`
	Rank     int    `json:"rank"`
	Host     string `json:"host"`
	PID      int    `json:"pid"`       // of the wrapper
	PGID     int    `json:"pgid"`      // the wrapper's process group
	ChildPID int    `json:"child_pid"` // of the program (0 if it did not start)
}

// Exit is how a rank's program ended.
type Exit struct {
	Code   int    `json:"code"`             // exit status; -1 when killed by a signal
	Signal int    `json:"signal,omitempty"` // the signal that killed it (Linux numbering)
	WallNS int64  `json:"wall_ns"`          // from start to exit
	Err    string `json:"error,omitempty"`  // the program could not be started
}

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, typ byte, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", len(payload), MaxFrame)
	}
	var hdr [5]byte
	hdr[0] = typ
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(append(hdr[:], payload...)); err != nil {
		return err
	}
	return nil
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (typ byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxFrame {
		return 0, nil, errors.New("oversized frame")
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}
