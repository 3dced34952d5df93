// Copyright 2018 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package zmq4

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// Topics is an interface that wraps the basic Topics method.
type Topics interface {
	// Topics returns the sorted list of topics a socket is subscribed to.
	Topics() []string
}

// NewPub returns a new PUB ZeroMQ socket.
// The returned socket value is initially unbound.
func NewPub(ctx context.Context, opts ...Option) Socket {
	pub := &pubSocket{sck: newSocket(ctx, Pub, opts...)}
	pub.sck.w = newPubMWriter(pub.sck.ctx, newPeerQueues(pub.sck.hwm, pub.sck.hwmBytes))
	pub.sck.r = newPubQReader(pub.sck.ctx, false)
	return pub
}

// pubSocket is a PUB ZeroMQ socket.
type pubSocket struct {
	sck *socket
}

// Close closes the open Socket
func (pub *pubSocket) Close() error {
	return pub.sck.Close()
}

// Send puts the message on the outbound send queue.
// Send blocks until the message can be queued or the send deadline expires.
func (pub *pubSocket) Send(msg Msg) error {
	ctx, cancel := context.WithTimeout(pub.sck.ctx, pub.sck.Timeout())
	defer cancel()
	return pub.sck.w.write(ctx, msg)
}

// SendMulti puts the message on the outbound send queue.
// SendMulti blocks until the message can be queued or the send deadline expires.
// The message will be sent as a multipart message.
func (pub *pubSocket) SendMulti(msg Msg) error {
	msg.multipart = true
	ctx, cancel := context.WithTimeout(pub.sck.ctx, pub.sck.Timeout())
	defer cancel()
	return pub.sck.w.write(ctx, msg)
}

// Recv receives a complete message.
func (*pubSocket) Recv() (Msg, error) {
	msg := Msg{err: fmt.Errorf("zmq4: PUB sockets can't recv messages")}
	return msg, msg.err
}

// Listen connects a local endpoint to the Socket.
func (pub *pubSocket) Listen(ep string) error {
	return pub.sck.Listen(ep)
}

// Dial connects a remote endpoint to the Socket.
func (pub *pubSocket) Dial(ep string) error {
	return pub.sck.Dial(ep)
}

// Type returns the type of this Socket (PUB, SUB, ...)
func (pub *pubSocket) Type() SocketType {
	return pub.sck.Type()
}

// Addr returns the listener's address.
// Addr returns nil if the socket isn't a listener.
func (pub *pubSocket) Addr() net.Addr {
	return pub.sck.Addr()
}

// GetOption is used to retrieve an option for a socket.
func (pub *pubSocket) GetOption(name string) (interface{}, error) {
	return pub.sck.GetOption(name)
}

// SetOption is used to set an option for a socket.
func (pub *pubSocket) SetOption(name string, value interface{}) error {
	err := pub.sck.SetOption(name, value)
	if err != nil {
		return err
	}

	if name != OptionHWM {
		return ErrBadProperty
	}

	hwm, ok := value.(int)
	if !ok {
		return ErrBadProperty
	}

	// The bound of each subscriber's queue, for subscribers that connect
	// from now on.
	pub.sck.w.(*pubMWriter).qs.setHWM(hwm)
	return nil
}

// Topics returns the sorted list of topics a socket is subscribed to.
func (pub *pubSocket) Topics() []string {
	return pub.sck.topics()
}

// pubQReader is a queued-message reader.
type pubQReader struct {
	ctx context.Context

	mu sync.RWMutex
	rs []*Conn
	c  chan Msg

	sem *semaphore // ready when a connection is live.

	// deliver: messages other than (un)subscriptions go to Recv (XPUB);
	// else they are dropped (PUB, whose Recv reads nothing, so that a
	// subscriber sending them never blocks its reader).
	deliver bool
}

func newPubQReader(ctx context.Context, deliver bool) *pubQReader {
	const qrsize = 10
	return &pubQReader{
		ctx:     ctx,
		c:       make(chan Msg, qrsize),
		sem:     newSemaphore(),
		deliver: deliver,
	}
}

func (q *pubQReader) Close() error {
	q.mu.RLock()
	var err error
	for _, r := range q.rs {
		e := r.Close()
		if e != nil && err == nil {
			err = e
		}
	}
	q.rs = nil
	q.mu.RUnlock()
	return err
}

func (q *pubQReader) addConn(r *Conn) {
	q.mu.Lock()
	q.sem.enable()
	q.rs = append(q.rs, r)
	q.mu.Unlock()
	go q.listen(q.ctx, r)
}

func (q *pubQReader) rmConn(r *Conn) {
	q.mu.Lock()
	defer q.mu.Unlock()

	cur := -1
	for i := range q.rs {
		if q.rs[i] == r {
			cur = i
			break
		}
	}
	if cur >= 0 {
		q.rs = append(q.rs[:cur], q.rs[cur+1:]...)
	}
}

func (q *pubQReader) read(ctx context.Context, msg *Msg) error {
	q.sem.lock(ctx)
	select {
	case <-ctx.Done():
	case *msg = <-q.c:
	}
	return msg.err
}

func (q *pubQReader) listen(ctx context.Context, r *Conn) {
	defer q.rmConn(r)
	defer r.abort()
	defer recoverConn()

	for {
		msg := r.readMsg()
		if msg.err != nil {
			return
		}
		switch {
		case q.topic(msg):
			r.subscribe(msg)
		case q.deliver:
			select {
			case <-ctx.Done():
				return
			case q.c <- msg:
			}
		}
	}
}

func (q *pubQReader) topic(msg Msg) bool {
	if len(msg.Frames) != 1 {
		return false
	}
	frame := msg.Frames[0]
	if len(frame) == 0 {
		return false
	}
	topic := frame[0]
	return topic == 0 || topic == 1
}

// pubMWriter publishes each message to the subscribed peers through each
// peer's own bounded queue: a subscriber that does not read loses messages
// (libzmq's SNDHWM semantics for PUB) and never delays the others.
type pubMWriter struct {
	ctx context.Context
	qs  *peerQueues
}

func newPubMWriter(ctx context.Context, qs *peerQueues) *pubMWriter {
	return &pubMWriter{ctx: ctx, qs: qs}
}

func (w *pubMWriter) Close() error {
	w.stopAll()
	return nil
}

func (w *pubMWriter) stopAll() {
	w.qs.stopAll()
}

func (mw *pubMWriter) addConn(w *Conn) {
	mw.qs.add(w)
}

func (mw *pubMWriter) rmConn(w *Conn) {
	mw.qs.remove(w)
	w.Close()
}

func (w *pubMWriter) flush(deadline time.Time) {
	w.qs.drain(deadline)
}

// write queues msg for every peer subscribed to its topic (its first frame)
// without waiting; a full queue drops the message for that peer only.
func (w *pubMWriter) write(ctx context.Context, msg Msg) error {
	if len(msg.Frames) == 0 {
		return fmt.Errorf("zmq4: PUB message without a frame: %w", ErrBadFrame)
	}
	topic := string(msg.Frames[0])
	w.qs.each(func(c *Conn, q *sendQueue) {
		if c.subscribed(topic) {
			q.push(msg)
		}
	})
	return nil
}

var (
	_ rpool  = (*pubQReader)(nil)
	_ wpool  = (*pubMWriter)(nil)
	_ Socket = (*pubSocket)(nil)
	_ Topics = (*pubSocket)(nil)
)
