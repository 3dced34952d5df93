// Copyright 2026 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package zmq4

import (
	"sync"
	"time"
)

// sendQueue is one peer's outbound queue and the goroutine that writes it.
// Sockets that serve many peers (PUB, XPUB, ROUTER, REP) queue a message for
// each destination and return at once: a peer that does not read fills its
// own queue (and is dropped from, or cut off after the write deadline), never
// delaying the others. The queue is bounded in messages and in bytes.
type sendQueue struct {
	conn     *Conn
	maxMsgs  int
	maxBytes int

	mu       sync.Mutex
	msgs     []Msg
	bytes    int
	draining bool // no more pushes; the writer exits once the queue is empty
	stopped  bool // the writer exits now

	wake chan struct{} // capacity 1: something to do
	done chan struct{} // closed when the writer has exited
}

// newSendQueue starts the writer of c; hwm and hwmBytes bound the queue
// (non-positive: the defaults).
func newSendQueue(c *Conn, hwm, hwmBytes int) *sendQueue {
	if hwm <= 0 {
		hwm = DefaultSendHWM
	}
	if hwmBytes <= 0 {
		hwmBytes = DefaultSendHWMBytes
	}
	q := &sendQueue{
		conn:     c,
		maxMsgs:  hwm,
		maxBytes: hwmBytes,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	go q.run()
	return q
}

// push queues msg without blocking; it reports false, dropping msg, when the
// queue is full or closing. A message larger than the byte bound is still
// queued when the queue is empty, so that any message can be sent.
func (q *sendQueue) push(msg Msg) bool {
	size := msg.size()
	q.mu.Lock()
	if q.draining || q.stopped || len(q.msgs) >= q.maxMsgs ||
		(len(q.msgs) > 0 && q.bytes+size > q.maxBytes) {
		q.mu.Unlock()
		return false
	}
	q.msgs = append(q.msgs, msg)
	q.bytes += size
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *sendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// maxBatch bounds how many queued messages one write carries.
const maxBatch = 64

// run writes queued messages until stopped, or until the queue is drained
// after drain, or until a write fails (the peer is gone or missed the write
// deadline: the connection is then closed).
func (q *sendQueue) run() {
	defer close(q.done)
	defer func() {
		if r := recover(); r != nil {
			q.conn.abort()
		}
	}()
	var batch []Msg
	for {
		q.mu.Lock()
		for len(q.msgs) == 0 && !q.draining && !q.stopped {
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		if q.stopped || len(q.msgs) == 0 {
			q.mu.Unlock()
			return
		}
		// Take what is queued (up to maxBatch) to write it in one go.
		n := min(len(q.msgs), maxBatch)
		batch = append(batch[:0], q.msgs[:n]...)
		clear(q.msgs[:n])
		q.msgs = q.msgs[n:]
		for _, m := range batch {
			q.bytes -= m.size()
		}
		q.mu.Unlock()

		if err := q.conn.sendMsgs(batch); err != nil {
			return
		}
		clear(batch)
	}
}

// drain stops pushes and waits until the queued messages are written or
// until deadline, then stops the writer; Close calls it for each peer.
func (q *sendQueue) drain(deadline time.Time) {
	q.mu.Lock()
	q.draining = true
	q.mu.Unlock()
	q.signal()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-q.done:
	case <-t.C:
		q.stop()
	}
}

// stop makes the writer exit without writing what is queued. A write in
// progress ends when the connection is closed.
func (q *sendQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.msgs = nil
	q.bytes = 0
	q.mu.Unlock()
	q.signal()
}

// peerQueues holds the send queues of a socket's peers.
type peerQueues struct {
	hwm, hwmBytes int

	mu sync.RWMutex
	qs map[*Conn]*sendQueue
}

func newPeerQueues(hwm, hwmBytes int) *peerQueues {
	return &peerQueues{hwm: hwm, hwmBytes: hwmBytes, qs: make(map[*Conn]*sendQueue)}
}

func (p *peerQueues) add(c *Conn) {
	p.mu.Lock()
	if _, dup := p.qs[c]; !dup {
		p.qs[c] = newSendQueue(c, p.hwm, p.hwmBytes)
	}
	p.mu.Unlock()
}

func (p *peerQueues) remove(c *Conn) {
	p.mu.Lock()
	q := p.qs[c]
	delete(p.qs, c)
	p.mu.Unlock()
	if q != nil {
		q.stop()
	}
}

func (p *peerQueues) get(c *Conn) *sendQueue {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.qs[c]
}

// setHWM sets the message bound of queues created from now on.
func (p *peerQueues) setHWM(hwm int) {
	p.mu.Lock()
	p.hwm = hwm
	p.mu.Unlock()
}

// each calls f for every peer's queue; f must not block.
func (p *peerQueues) each(f func(c *Conn, q *sendQueue)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for c, q := range p.qs {
		f(c, q)
	}
}

// drain drains every queue, all by deadline (see sendQueue.drain).
func (p *peerQueues) drain(deadline time.Time) {
	p.mu.RLock()
	qs := make([]*sendQueue, 0, len(p.qs))
	for _, q := range p.qs {
		qs = append(qs, q)
	}
	p.mu.RUnlock()
	var wg sync.WaitGroup
	for _, q := range qs {
		q := q
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.drain(deadline)
		}()
	}
	wg.Wait()
}

// stopAll stops every writer without waiting; used once the socket closes.
func (p *peerQueues) stopAll() {
	p.mu.Lock()
	qs := p.qs
	p.qs = make(map[*Conn]*sendQueue)
	p.mu.Unlock()
	for _, q := range qs {
		q.stop()
	}
}

// flusher is a wpool with per-peer queues: Close drains them first, and
// stops them all once no connection can be added any more.
type flusher interface {
	flush(deadline time.Time)
	stopAll()
}

// recoverConn, deferred by a connection's reader before the deferred close,
// turns a panic while handling the peer's bytes into closing that connection
// only (the deferred close still runs), instead of ending the process.
func recoverConn() {
	_ = recover()
}
