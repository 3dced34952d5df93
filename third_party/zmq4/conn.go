// Copyright 2018 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package zmq4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var ErrClosedConn = errors.New("zmq4: read/write on closed connection")

// Conn implements the ZeroMQ Message Transport Protocol as defined
// in https://rfc.zeromq.org/spec:23/ZMTP/.
type Conn struct {
	typ    SocketType
	id     SocketIdentity
	rw     net.Conn
	sec    Security
	Server bool
	Meta   Metadata
	Peer   struct {
		Server bool
		Meta   Metadata
	}

	mu     sync.RWMutex
	topics map[string]struct{} // set of subscribed topics

	closed         int32
	onCloseErrorCB func(c *Conn)

	wmu          sync.Mutex    // serialises writes: one message at a time on the wire
	writeTimeout time.Duration // bounds each write without progress; 0: none
	maxMsgSize   int64         // bounds one inbound message; 0: DefaultMaxMessageSize, <0: none
}

func (c *Conn) Close() error {
	return c.rw.Close()
}

func (c *Conn) Read(p []byte) (int, error) {
	if c.Closed() {
		return 0, ErrClosedConn
	}
	n, err := io.ReadFull(c.rw, p)
	c.checkIO(err)
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	if c.Closed() {
		return 0, ErrClosedConn
	}
	c.wmu.Lock()
	n, err := c.rw.Write(p)
	c.wmu.Unlock()
	c.checkIO(err)
	return n, err
}

// Open opens a ZMTP connection over rw with the given security, socket type and identity.
// An optional onCloseErrorCB can be provided to inform the caller when this Conn is closed.
// Open performs a complete ZMTP handshake.
func Open(rw net.Conn, sec Security, sockType SocketType, sockID SocketIdentity, server bool, onCloseErrorCB func(c *Conn)) (*Conn, error) {
	if rw == nil {
		return nil, fmt.Errorf("zmq4: invalid nil read-writer")
	}

	if sec == nil {
		return nil, fmt.Errorf("zmq4: invalid nil security")
	}

	conn := &Conn{
		typ:            sockType,
		id:             sockID,
		rw:             rw,
		sec:            sec,
		Server:         server,
		Meta:           make(Metadata),
		topics:         make(map[string]struct{}),
		onCloseErrorCB: onCloseErrorCB,
	}
	conn.Meta[sysSockType] = string(conn.typ)
	conn.Meta[sysSockID] = conn.id.String()
	conn.Peer.Meta = make(Metadata)

	err := conn.handshake()
	if err != nil {
		return nil, fmt.Errorf("zmq4: could not initialize ZMTP connection: %w", err)
	}

	return conn, nil
}

// handshake runs init, turning a panic in a security mechanism's handshake
// (code that parses the peer's bytes) into an error for this connection.
func (conn *Conn) handshake() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(r)
		}
	}()
	return conn.init(conn.sec)
}

// init performs a ZMTP handshake over an io.ReadWriter
func (conn *Conn) init(sec Security) error {
	var err error

	err = conn.greet(conn.Server)
	if err != nil {
		return fmt.Errorf("zmq4: could not exchange greetings: %w", err)
	}

	err = conn.sec.Handshake(conn, conn.Server)
	if err != nil {
		return fmt.Errorf("zmq4: could not perform security handshake: %w", err)
	}

	peer := SocketType(conn.Peer.Meta[sysSockType])
	if !peer.known() {
		return newUnknownSocketTypeError(peer)
	}
	if !peer.IsCompatible(conn.typ) {
		return fmt.Errorf("zmq4: peer=%q not compatible with %q", peer, conn.typ)
	}

	// FIXME(sbinet): if security mechanism does not define a client/server
	// topology, enforce that p.server == p.peer.server == 0
	// as per:
	//  https://rfc.zeromq.org/spec:23/ZMTP/#topology

	return nil
}

func (conn *Conn) greet(server bool) error {
	var err error
	send := greeting{Version: defaultVersion}
	send.Sig.Header = sigHeader
	send.Sig.Footer = sigFooter
	kind := string(conn.sec.Type())
	if len(kind) > len(send.Mechanism) {
		return errSecMech
	}
	copy(send.Mechanism[:], kind)

	err = send.write(conn.rw)
	if err != nil {
		conn.checkIO(err)
		return fmt.Errorf("zmq4: could not send greeting: %w", err)
	}

	var recv greeting
	err = recv.read(conn.rw)
	if err != nil {
		conn.checkIO(err)
		return fmt.Errorf("zmq4: could not recv greeting: %w", err)
	}

	peerKind, err := recv.mechanism()
	if err != nil {
		return err
	}
	if peerKind != kind {
		return fmt.Errorf("zmq4: peer mechanism %q, want %q: %w", peerKind, kind, errBadSec)
	}

	conn.Peer.Server, err = asBool(recv.Server)
	if err != nil {
		return fmt.Errorf("zmq4: could not get peer server flag: %w", err)
	}

	return nil
}

// SendCmd sends a ZMTP command over the wire.
func (c *Conn) SendCmd(name string, body []byte) error {
	if c.Closed() {
		return ErrClosedConn
	}
	cmd := Cmd{Name: name, Body: body}
	buf, err := cmd.marshalZMTP()
	if err != nil {
		return err
	}
	return c.writeFrames([][]byte{buf}, true)
}

// SendMsg sends a ZMTP message over the wire.
//
// All frames go out in one write (a writev of headers and bodies), whether
// the message was sent with Send or SendMulti: the wire format is the same,
// and one write per message saves system calls and keeps a message's frames
// in one TCP segment where they fit. A write that fails or misses the
// connection's write deadline leaves a partial message on the wire, so the
// connection is closed.
func (c *Conn) SendMsg(msg Msg) error {
	if c.Closed() {
		return ErrClosedConn
	}
	return c.writeFrames(msg.Frames, false)
}

// RecvMsg receives a ZMTP message from the wire.
func (c *Conn) RecvMsg() (Msg, error) {
	if c.Closed() {
		return Msg{}, ErrClosedConn
	}
	msg := c.read()
	if msg.err != nil {
		return msg, fmt.Errorf("zmq4: could not read recv msg: %w", msg.err)
	}

	if !msg.isCmd() {
		return msg, nil
	}

	var cmd Cmd
	msg.err = cmd.unmarshalZMTP(msg.Frames[0])
	if msg.err != nil {
		return msg, fmt.Errorf("zmq4: could not unmarshal ZMTP recv msg: %w", msg.err)
	}

	switch cmd.Name {
	case CmdPing:
		// send back a PONG immediately.
		msg.err = c.SendCmd(CmdPong, pingContext(cmd.Body))
		if msg.err != nil {
			return msg, msg.err
		}
	}

	switch len(cmd.Body) {
	case 0:
		msg.Frames = nil
	default:
		msg.Frames = msg.Frames[:1]
		msg.Frames[0] = cmd.Body
	}
	return msg, nil
}

// RecvCmd receives a ZMTP command from the wire.
func (c *Conn) RecvCmd() (Cmd, error) {
	var cmd Cmd

	if c.Closed() {
		return cmd, ErrClosedConn
	}

	msg := c.read()
	if msg.err != nil {
		return cmd, fmt.Errorf("zmq4: could not read recv cmd: %w", msg.err)
	}

	if !msg.isCmd() {
		return cmd, ErrBadFrame
	}

	err := cmd.unmarshalZMTP(msg.Frames[0])
	if err != nil {
		return cmd, fmt.Errorf("zmq4: could not unmarshal ZMTP recv cmd: %w", err)
	}

	return cmd, nil
}

// readMsg returns the next application message from the peer. Commands that
// arrive between messages are handled here and never handed to the
// application: a PING is answered with a PONG, anything else is dropped
// (a peer speaking ZMTP 3.0 to us sends no other command after the
// handshake).
func (c *Conn) readMsg() Msg {
	for {
		msg := c.read()
		if msg.err != nil || !msg.isCmd() {
			return msg
		}
		var cmd Cmd
		if err := cmd.unmarshalZMTP(msg.Frames[0]); err != nil {
			return Msg{err: err}
		}
		if cmd.Name == CmdPing {
			if err := c.SendCmd(CmdPong, pingContext(cmd.Body)); err != nil {
				return Msg{err: err}
			}
		}
	}
}

// pingContext returns the context of a PING body (after its 2-byte TTL),
// which the PONG echoes; ZMTP bounds it to 16 bytes.
func pingContext(body []byte) []byte {
	if len(body) <= 2 {
		return nil
	}
	ctx := body[2:]
	if len(ctx) > 16 {
		ctx = ctx[:16]
	}
	return ctx
}

// writeFrames writes frames as one ZMTP message (or, with isCommand, a
// single command frame) in one writev.
func (c *Conn) writeFrames(frames [][]byte, isCommand bool) error {
	bufs, err := c.appendFrames(nil, make([]byte, 0, 9*len(frames)), frames, isCommand)
	if err != nil {
		return err
	}
	return c.write(bufs)
}

// sendMsgs writes msgs back to back in one writev (a sendQueue's batch).
func (c *Conn) sendMsgs(msgs []Msg) error {
	if c.Closed() {
		return ErrClosedConn
	}
	n := 0
	for _, m := range msgs {
		n += len(m.Frames)
	}
	hdrs := make([]byte, 0, 9*n)
	bufs := make(net.Buffers, 0, 2*n)
	var err error
	for _, m := range msgs {
		if bufs, err = c.appendFrames(bufs, hdrs[len(hdrs):], m.Frames, false); err != nil {
			return err
		}
		hdrs = hdrs[:len(hdrs)+9*len(m.Frames)]
	}
	return c.write(bufs)
}

// appendFrames appends to bufs the headers and bodies of frames as one
// message; the headers are written into hdrs, which must have room for 9
// bytes per frame (so that the slices appended to bufs stay valid).
func (c *Conn) appendFrames(bufs net.Buffers, hdrs []byte, frames [][]byte, isCommand bool) (net.Buffers, error) {
	for i, frame := range frames {
		body := frame
		if c.sec.Type() != NullSecurity {
			var secBuf bytes.Buffer
			if _, err := c.sec.Encrypt(&secBuf, frame); err != nil {
				return nil, err
			}
			body = secBuf.Bytes()
		}
		var fl byte
		if i < len(frames)-1 {
			fl |= hasMoreBitFlag
		}
		if isCommand {
			fl |= isCommandBitFlag
		}
		at := len(hdrs)
		if size := len(body); size > 255 {
			hdrs = append(hdrs, fl|isLongBitFlag)
			hdrs = binary.BigEndian.AppendUint64(hdrs, uint64(size))
		} else {
			hdrs = append(hdrs, fl, byte(size))
		}
		bufs = append(bufs, hdrs[at:len(hdrs):len(hdrs)])
		if len(body) > 0 {
			bufs = append(bufs, body)
		}
	}
	return bufs, nil
}

// write writes bufs under c.wmu, so that a PONG sent by the reader never
// lands inside a message; a failed write closes the connection.
func (c *Conn) write(bufs net.Buffers) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeBuffers(bufs); err != nil {
		c.abort()
		return err
	}
	return nil
}

// writeChunk is how many bytes one write (with one deadline) carries at most:
// the write deadline bounds the time without progress, not the time a large
// message takes on a slow but live link.
const writeChunk = 1 << 20

// writeBuffers writes bufs, in chunks of writeChunk bytes each under a fresh
// write deadline when the connection has a write timeout.
func (c *Conn) writeBuffers(bufs net.Buffers) error {
	for len(bufs) > 0 {
		var chunk net.Buffers
		n := 0
		for len(bufs) > 0 && n < writeChunk {
			b := bufs[0]
			if n+len(b) > writeChunk {
				b = b[:writeChunk-n]
				bufs[0] = bufs[0][len(b):]
			} else {
				bufs = bufs[1:]
			}
			chunk = append(chunk, b)
			n += len(b)
		}
		if c.writeTimeout > 0 {
			if err := c.rw.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
				return err
			}
		}
		if _, err := chunk.WriteTo(c.rw); err != nil {
			return err
		}
	}
	return nil
}

// abort marks the connection closed (which tells its socket to drop it) and
// closes the underlying connection, which unblocks its reader and writer.
func (c *Conn) abort() {
	c.SetClosed()
	_ = c.rw.Close()
}

// maxMessageSize returns the bound on one inbound message in bytes.
func (c *Conn) maxMessageSize() uint64 {
	switch {
	case c.maxMsgSize == 0:
		return DefaultMaxMessageSize
	case c.maxMsgSize < 0:
		return uint64(maxInt)
	}
	return uint64(c.maxMsgSize)
}

// read reads one message, or one command, from the wire.
//
// Every length comes from the peer and is checked before anything is
// allocated: a command frame may carry maxCommandSize bytes, a message
// maxMessageSize bytes in all, counting frameOverhead per frame so that a
// flood of empty frames is bounded too. Bodies are allocated as their bytes
// arrive, so a peer that declares a large frame and sends little costs little.
func (c *Conn) read() Msg {
	var (
		msg   Msg
		limit = c.maxMessageSize()
		total uint64
	)
	for {
		fl, size, err := c.readHeader()
		if err != nil {
			c.checkIO(err)
			msg.err = err
			return msg
		}
		if fl.isCommand() {
			switch {
			case len(msg.Frames) > 0:
				// ZMTP: a command is never part of a multipart message.
				msg.err = fmt.Errorf("zmq4: command frame inside a message: %w", ErrBadFrame)
				return msg
			case fl.hasMore():
				msg.err = fmt.Errorf("zmq4: command frame with the MORE flag: %w", ErrBadFrame)
				return msg
			case size > maxCommandSize:
				msg.err = newTooLargeError("command", size, maxCommandSize)
				return msg
			case size == 0:
				msg.err = fmt.Errorf("zmq4: empty command frame: %w", ErrBadFrame)
				return msg
			}
		} else {
			if size > limit || frameOverhead+size > limit-total {
				msg.err = newTooLargeError("message", total+frameOverhead+size, limit)
				return msg
			}
			total += frameOverhead + size
		}

		body, err := readBody(c.rw, size)
		if err != nil {
			c.checkIO(err)
			msg.err = err
			return msg
		}

		if c.sec.Type() != NullSecurity { // FIXME(sbinet): also do that for non-encrypted PLAIN?
			buf := new(bytes.Buffer)
			if _, msg.err = c.sec.Decrypt(buf, body); msg.err != nil {
				return msg
			}
			body = buf.Bytes()
		}
		msg.Frames = append(msg.Frames, body)

		if fl.isCommand() {
			msg.Type = CmdMsg
			return msg
		}
		if !fl.hasMore() {
			return msg
		}
	}
}

// readHeader reads a frame header: its flags and the body size it declares.
func (c *Conn) readHeader() (flag, uint64, error) {
	var hdr [9]byte
	if _, err := io.ReadFull(c.rw, hdr[:2]); err != nil {
		return 0, 0, err
	}
	fl := flag(hdr[0])
	if !fl.isLong() {
		return fl, uint64(hdr[1]), nil
	}
	// In a long frame the size is 8 bytes, of which we read the first.
	if _, err := io.ReadFull(c.rw, hdr[2:]); err != nil {
		return 0, 0, err
	}
	size := binary.BigEndian.Uint64(hdr[1:])
	if size > uint64(maxInt) {
		// Cannot be allocated at all on this platform, whatever the limit.
		return 0, 0, newTooLargeError("frame", size, uint64(maxInt))
	}
	return fl, size, nil
}

// readBody reads a frame body of size bytes. Up to allocChunk it allocates
// the body at once; beyond, it grows the buffer as the bytes arrive, so the
// memory a peer costs follows what it sent, not what it declared.
func readBody(r io.Reader, size uint64) ([]byte, error) {
	if size <= allocChunk {
		body := make([]byte, size)
		_, err := io.ReadFull(r, body)
		return body, err
	}
	body := make([]byte, 0, allocChunk)
	for uint64(len(body)) < size {
		if len(body) == cap(body) {
			next := min(uint64(2*cap(body)), size)
			grown := make([]byte, len(body), next)
			copy(grown, body)
			body = grown
		}
		n, err := io.ReadFull(r, body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err != nil {
			return nil, err
		}
	}
	return body, nil
}

func (conn *Conn) subscribe(msg Msg) {
	conn.mu.Lock()
	v := msg.Frames[0]
	k := string(v[1:])
	switch v[0] {
	case 0:
		delete(conn.topics, k)
	case 1:
		conn.topics[k] = struct{}{}
	}
	conn.mu.Unlock()
}

func (conn *Conn) subscribed(topic string) bool {
	conn.mu.RLock()
	defer conn.mu.RUnlock()
	for k := range conn.topics {
		switch {
		case k == "":
			// subscribed to everything
			return true
		case strings.HasPrefix(topic, k):
			return true
		}
	}
	return false
}

func (conn *Conn) SetClosed() {
	if wasClosed := atomic.CompareAndSwapInt32(&conn.closed, 0, 1); wasClosed {
		conn.notifyOnCloseError()
	}
}

func (conn *Conn) Closed() bool {
	return atomic.LoadInt32(&conn.closed) == 1
}

func (conn *Conn) checkIO(err error) {
	if err == nil {
		return
	}

	if err == io.EOF || errors.Is(err, io.EOF) {
		conn.SetClosed()
		return
	}

	var e net.Error
	if errors.As(err, &e); e != nil && !e.Timeout() {
		conn.SetClosed()
	}
}

func (conn *Conn) notifyOnCloseError() {
	if conn.onCloseErrorCB == nil {
		return
	}
	conn.onCloseErrorCB(conn)
}
