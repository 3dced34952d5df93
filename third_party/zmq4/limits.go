// Copyright 2026 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package zmq4

import (
	"errors"
	"fmt"
	"time"
)

// Bounds on what a peer may make a socket hold or wait for. Every length and
// name on the wire comes from the peer; these keep a malformed or hostile one
// from exhausting memory, panicking the process, or holding resources forever.
const (
	// DefaultMaxMessageSize bounds one inbound message (all its frames,
	// counting frameOverhead per frame) unless WithMaxMessageSize says
	// otherwise. Generous for request/reply traffic; libzmq's
	// ZMQ_MAXMSGSIZE plays the same role (unbounded there by default).
	DefaultMaxMessageSize = 64 << 20

	// DefaultHandshakeTimeout bounds the greeting and security handshake
	// of a new connection: a peer that connects and sends nothing is cut off.
	DefaultHandshakeTimeout = 10 * time.Second

	// DefaultWriteTimeout bounds each write to a peer (per writeChunk bytes):
	// a peer that stops reading is cut off after it, instead of blocking its
	// socket's sender for ever.
	DefaultWriteTimeout = 10 * time.Second

	// DefaultSendHWM is the number of messages queued for one peer, as
	// libzmq's default ZMQ_SNDHWM; beyond it PUB, XPUB, ROUTER and REP drop.
	DefaultSendHWM = 1000

	// DefaultSendHWMBytes bounds the bytes queued for one peer (a message
	// larger than that still goes out when the queue is empty), so that
	// DefaultSendHWM large messages do not pile up behind a slow peer.
	DefaultSendHWMBytes = 64 << 20

	// DefaultLinger is how long Close waits for queued messages to be written.
	DefaultLinger = time.Second

	// maxCommandSize bounds one ZMTP command (READY, HELLO, PING, ...):
	// their bodies are a few metadata properties or less.
	maxCommandSize = 64 << 10

	// frameOverhead is what each inbound frame counts against the message
	// limit on top of its bytes: a frame costs a slice header and an
	// allocation even when empty.
	frameOverhead = 64

	// allocChunk is the largest body allocated before its bytes arrive.
	allocChunk = 1 << 20
)

// ErrQueueFull is returned by Send on ROUTER and REP sockets when the
// destination peer's send queue is full (it does not read): the message is
// dropped, as libzmq's ROUTER does at its high-water mark.
var ErrQueueFull = errors.New("zmq4: peer send queue full, message dropped")

// TooLargeError reports a frame, command or message from a peer that is
// larger than the limit in force; the connection it came on is closed.
type TooLargeError struct {
	What  string // "frame", "command" or "message"
	Size  uint64 // size declared (for a message: so far)
	Limit uint64
}

func newTooLargeError(what string, size, limit uint64) error {
	return &TooLargeError{What: what, Size: size, Limit: limit}
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("zmq4: %s of %d bytes exceeds the limit of %d", e.What, e.Size, e.Limit)
}

// UnknownSocketTypeError reports a peer whose READY command names a socket
// type ZMTP does not define.
type UnknownSocketTypeError struct {
	Type SocketType
}

func newUnknownSocketTypeError(typ SocketType) error {
	return &UnknownSocketTypeError{Type: typ}
}

func (e *UnknownSocketTypeError) Error() string {
	return fmt.Sprintf("zmq4: unknown peer socket type %q", string(e.Type))
}

// PanicError reports a panic recovered while handling one connection (its
// handshake, reader or writer); the connection is closed, the socket lives on.
type PanicError struct {
	Value any
}

func newPanicError(v any) error {
	return &PanicError{Value: v}
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("zmq4: panic handling a connection: %v", e.Value)
}
