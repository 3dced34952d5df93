// Copyright 2026 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package zmq4_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"math/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Raw ZMTP 3.0 bytes, as a hostile or broken peer would send them.

func rawGreeting(mechanism string) []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xff, 0x7f, 3, 0
	copy(g[12:32], mechanism)
	return g
}

// rawFrame is one frame; flags are ZMTP's (1 more, 4 command); size, when
// not negative, is the declared length whatever body holds.
func rawFrame(flags byte, body []byte, size int64) []byte {
	n := uint64(len(body))
	if size >= 0 {
		n = uint64(size)
	}
	var b []byte
	if n > 255 || size >= 0 {
		b = append([]byte{flags | 2}, binary.BigEndian.AppendUint64(nil, n)...)
	} else {
		b = []byte{flags, byte(n)}
	}
	return append(b, body...)
}

func rawCmd(name string, body []byte) []byte {
	return rawFrame(4, append(append([]byte{byte(len(name))}, name...), body...), -1)
}

func rawProps(kv ...string) []byte {
	var b []byte
	for i := 0; i+1 < len(kv); i += 2 {
		b = append(b, byte(len(kv[i])))
		b = append(b, kv[i]...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(kv[i+1])))
		b = append(b, kv[i+1]...)
	}
	return b
}

func rawReady(sockType string) []byte {
	return rawCmd("READY", rawProps("Socket-Type", sockType))
}

var quiet = zmq4.WithLogger(log.New(io.Discard, "", 0))

// listen returns a listening socket of type typ on a free TCP port.
func listen(t *testing.T, typ zmq4.SocketType, opts ...zmq4.Option) (zmq4.Socket, string) {
	t.Helper()
	ctx := context.Background()
	opts = append([]zmq4.Option{quiet}, opts...)
	var s zmq4.Socket
	switch typ {
	case zmq4.Router:
		s = zmq4.NewRouter(ctx, opts...)
	case zmq4.Rep:
		s = zmq4.NewRep(ctx, opts...)
	case zmq4.Pub:
		s = zmq4.NewPub(ctx, opts...)
	case zmq4.XPub:
		s = zmq4.NewXPub(ctx, opts...)
	case zmq4.Dealer:
		s = zmq4.NewDealer(ctx, opts...)
	default:
		t.Fatalf("no listener for %s", typ)
	}
	if err := s.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s.Addr().String()
}

// dialRaw opens a TCP connection to addr that the test closes at cleanup.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// handshakeRaw greets addr as a NULL peer of type typ and reads the server's
// greeting and READY; it returns the connection, ready for messages.
func handshakeRaw(t *testing.T, addr, typ string) net.Conn {
	t.Helper()
	c := dialRaw(t, addr)
	if _, err := c.Write(append(rawGreeting("NULL"), rawReady(typ)...)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64+2)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading the server's greeting: %v", err)
	}
	body := make([]byte, buf[65])
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatalf("reading the server's READY: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	return c
}

// waitClosed fails unless the server closes c (EOF or reset, after any data
// it sent) within 5 s.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server did not close the connection within 5s")
	}
}

// recvWithin receives one message from s, failing after d.
func recvWithin(t *testing.T, s zmq4.Socket, d time.Duration) zmq4.Msg {
	t.Helper()
	type result struct {
		m   zmq4.Msg
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := s.Recv()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("recv: %v", r.err)
		}
		return r.m
	case <-time.After(d):
		t.Fatalf("no message within %v", d)
	}
	return zmq4.Msg{}
}

// checkServes fails unless server (of type typ, at addr) still exchanges a
// message with a well-behaved peer.
func checkServes(t *testing.T, server zmq4.Socket, typ zmq4.SocketType, addr string) {
	t.Helper()
	ctx := context.Background()
	ep := "tcp://" + addr
	switch typ {
	case zmq4.Router:
		d := zmq4.NewDealer(ctx, quiet)
		defer d.Close()
		if err := d.Dial(ep); err != nil {
			t.Fatal(err)
		}
		if err := d.Send(zmq4.NewMsgString("ping")); err != nil {
			t.Fatal(err)
		}
		m := recvWithin(t, server, 5*time.Second)
		if err := server.Send(zmq4.NewMsgFrom(m.Frames[0], []byte("pong"))); err != nil {
			t.Fatal(err)
		}
		if got := recvWithin(t, d, 5*time.Second); string(got.Frames[0]) != "pong" {
			t.Fatalf("got %q, want pong", got.Frames)
		}
	case zmq4.Rep:
		r := zmq4.NewReq(ctx, quiet)
		defer r.Close()
		if err := r.Dial(ep); err != nil {
			t.Fatal(err)
		}
		if err := r.Send(zmq4.NewMsgString("ping")); err != nil {
			t.Fatal(err)
		}
		m := recvWithin(t, server, 5*time.Second)
		if err := server.Send(m); err != nil {
			t.Fatal(err)
		}
		if got := recvWithin(t, r, 5*time.Second); string(got.Frames[0]) != "ping" {
			t.Fatalf("got %q, want ping", got.Frames)
		}
	case zmq4.Pub:
		s := zmq4.NewSub(ctx, quiet)
		defer s.Close()
		if err := s.Dial(ep); err != nil {
			t.Fatal(err)
		}
		if err := s.SetOption(zmq4.OptionSubscribe, ""); err != nil {
			t.Fatal(err)
		}
		got := make(chan struct{})
		go func() {
			if _, err := s.Recv(); err == nil {
				close(got)
			}
		}()
		// The subscription reaches the publisher some time after Dial.
		deadline := time.After(5 * time.Second)
		for {
			server.Send(zmq4.NewMsgString("news"))
			select {
			case <-got:
				return
			case <-deadline:
				t.Fatal("the subscriber got nothing within 5s")
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// hostileInputs are what a peer sends after connecting; each must get its
// connection closed, and nothing else.
func hostileInputs() []struct {
	name string
	data []byte
} {
	greet := rawGreeting("NULL")
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	inputs := []struct {
		name string
		data []byte
	}{
		{"command of 2^62 bytes", cat(greet, rawFrame(4, nil, 1<<62))},
		{"command of 2^40 bytes", cat(greet, rawFrame(4, nil, 1<<40))},
		{"command of 2^63+1 bytes", cat(greet, rawFrame(4, nil, -1)[:0], []byte{6, 0x80, 0, 0, 0, 0, 0, 0, 1})},
		{"command of 65 KiB", cat(greet, rawFrame(4, make([]byte, 65<<10), -1))},
		{"READY with Socket-Type BOGUS", cat(greet, rawReady("BOGUS"))},
		{"READY without Socket-Type", cat(greet, rawCmd("READY", rawProps("Identity", "x")))},
		{"READY with a property longer than the command", cat(greet, rawCmd("READY", []byte{11, 'S', 'o', 'c', 'k'}))},
		{"READY with a value longer than the command", cat(greet, rawCmd("READY", []byte{1, 'a', 0xff, 0xff, 0xff, 0xff}))},
		{"command frame with MORE", cat(greet, rawFrame(5, []byte("\x05READY"), -1))},
		{"empty command frame", cat(greet, []byte{4, 0})},
		{"bad signature", cat([]byte{0xfe}, greet[1:])},
		{"ZMTP 2.0", cat(greet[:10], []byte{1, 0}, greet[12:])},
		{"mechanism not padded", cat(greet[:12], []byte("NULL\x00X"), greet[18:])},
		{"unknown mechanism", rawGreeting("BOGUS")},
		{"CURVE", rawGreeting("CURVE")},
		{"message of 2^40 bytes after READY", cat(greet, rawReady("DEALER"), rawReady("SUB"), rawFrame(0, nil, 1<<40))},
	}
	rng := rand.New(rand.NewSource(11))
	for i := 0; i < 100; i++ {
		junk := make([]byte, 1+rng.Intn(200))
		rng.Read(junk)
		inputs = append(inputs, struct {
			name string
			data []byte
		}{"greeting + random bytes", cat(greet, junk)})
	}
	return inputs
}

// TestHostileInputs sends malformed and oversized greetings, commands and
// frames to each kind of listening socket the Jupyter protocol uses: each
// connection must be closed (or left waiting, for random bytes that happen to
// be a valid prefix) while the process lives and the socket serves others.
func TestHostileInputs(t *testing.T) {
	for _, typ := range []zmq4.SocketType{zmq4.Router, zmq4.Rep, zmq4.Pub, zmq4.Dealer} {
		t.Run(string(typ), func(t *testing.T) {
			server, addr := listen(t, typ, zmq4.WithHandshakeTimeout(time.Second))
			for _, in := range hostileInputs() {
				c := dialRaw(t, addr)
				if _, err := c.Write(in.data); err != nil {
					t.Fatalf("%s: %v", in.name, err)
				}
				if !strings.HasPrefix(in.name, "greeting + random") {
					waitClosed(t, c)
				}
				c.Close()
			}
			checkServes(t, server, typ, addr)
		})
	}
}

// TestHandshakeTimeout: a peer that connects and sends nothing is cut off
// after the handshake timeout, and does not keep others from connecting
// meanwhile.
func TestHandshakeTimeout(t *testing.T) {
	server, addr := listen(t, zmq4.Router, zmq4.WithHandshakeTimeout(300*time.Millisecond))
	idle := dialRaw(t, addr)
	checkServes(t, server, zmq4.Router, addr) // while idle is still in its handshake
	start := time.Now()
	waitClosed(t, idle)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("idle peer cut off after %v", d)
	}
}

// TestMaxMessageSize: a message over the limit closes its connection (the
// socket serves others); one under it is delivered.
func TestMaxMessageSize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames [][]byte
		ok     bool
	}{
		{"under the limit", [][]byte{make([]byte, 500)}, true},
		{"one frame over", [][]byte{make([]byte, 2000)}, false},
		{"frames over in all", [][]byte{make([]byte, 600), make([]byte, 600)}, false},
		{"many empty frames", make([][]byte, 100), false}, // 64 bytes each
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, addr := listen(t, zmq4.Router, zmq4.WithMaxMessageSize(1024))
			c := handshakeRaw(t, addr, "DEALER")
			var msg []byte
			for i, f := range tc.frames {
				more := byte(1)
				if i == len(tc.frames)-1 {
					more = 0
				}
				msg = append(msg, rawFrame(more, f, -1)...)
			}
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			if tc.ok {
				m := recvWithin(t, server, 5*time.Second)
				if len(m.Frames) != 1+len(tc.frames) {
					t.Fatalf("got %d frames", len(m.Frames))
				}
				return
			}
			waitClosed(t, c)
			checkServes(t, server, zmq4.Router, addr)
		})
	}
}

// bigMsg is a message large enough that a few hundred fill any socket buffer.
func bigMsg(frames ...[]byte) zmq4.Msg {
	return zmq4.NewMsgFrom(append(frames, make([]byte, 64<<10))...)
}

// TestSlowPeer: a peer that never reads neither blocks sends to the others
// nor holds the socket: PUB drops its messages, ROUTER and REP cut it off
// after the write timeout.
func TestSlowPeer(t *testing.T) {
	const n = 300 // 300 x 64 KiB: more than loopback buffers hold
	opts := []zmq4.Option{zmq4.WithWriteTimeout(500 * time.Millisecond), zmq4.WithSendHWM(20)}
	ctx := context.Background()

	t.Run("PUB", func(t *testing.T) {
		pub, addr := listen(t, zmq4.Pub, opts...)
		slow := handshakeRaw(t, addr, "SUB")
		if _, err := slow.Write(rawFrame(0, []byte{1}, -1)); err != nil { // subscribe to all
			t.Fatal(err)
		}
		sub := zmq4.NewSub(ctx, quiet)
		defer sub.Close()
		if err := sub.Dial("tcp://" + addr); err != nil {
			t.Fatal(err)
		}
		sub.SetOption(zmq4.OptionSubscribe, "")
		checkServes(t, pub, zmq4.Pub, addr) // both subscriptions are in
		for i := 0; i < n; i++ {
			// In lock step: the good subscriber gets every message.
			if err := pub.Send(bigMsg([]byte("t"))); err != nil {
				t.Fatal(err)
			}
			for {
				m := recvWithin(t, sub, 5*time.Second)
				if string(m.Frames[0]) == "t" {
					break
				}
			}
		}
	})

	t.Run("ROUTER", func(t *testing.T) {
		router, addr := listen(t, zmq4.Router, opts...)
		slow := handshakeRaw(t, addr, "DEALER")
		if _, err := slow.Write(rawFrame(0, []byte("hi"), -1)); err != nil {
			t.Fatal(err)
		}
		slowID := recvWithin(t, router, 5*time.Second).Frames[0]
		d := zmq4.NewDealer(ctx, quiet)
		defer d.Close()
		if err := d.Dial("tcp://" + addr); err != nil {
			t.Fatal(err)
		}
		d.Send(zmq4.NewMsgString("hi"))
		goodID := recvWithin(t, router, 5*time.Second).Frames[0]
		dropped := 0
		for i := 0; i < n; i++ {
			if err := router.Send(bigMsg(slowID)); errors.Is(err, zmq4.ErrQueueFull) {
				dropped++
			} else if err != nil {
				t.Fatal(err)
			}
			if err := router.Send(bigMsg(goodID)); err != nil {
				t.Fatal(err)
			}
			recvWithin(t, d, 5*time.Second)
		}
		if dropped == 0 {
			t.Errorf("no message to the slow peer dropped")
		}
		// Its writer is stuck, so its queue stays full until the write
		// timeout cuts it off: then the ROUTER knows the identity no more.
		deadline := time.Now().Add(5 * time.Second)
		for errors.Is(router.Send(bigMsg(slowID)), zmq4.ErrQueueFull) {
			if time.Now().After(deadline) {
				t.Fatal("the slow peer was not cut off within 5s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		waitClosed(t, slow)
	})

	t.Run("REP", func(t *testing.T) {
		rep, addr := listen(t, zmq4.Rep, opts...)
		slow := handshakeRaw(t, addr, "REQ")
		req := zmq4.NewReq(ctx, quiet)
		defer req.Close()
		if err := req.Dial("tcp://" + addr); err != nil {
			t.Fatal(err)
		}
		// The slow peer's requests: an envelope delimiter and a big body.
		flood := append(rawFrame(1, nil, -1), rawFrame(0, make([]byte, 64<<10), -1)...)
		done := make(chan struct{})
		defer close(done)
		floodErr := make(chan error, 1)
		go func() { // serve everyone, as a heartbeat does
			for {
				m, err := rep.Recv()
				if err != nil {
					return
				}
				rep.Send(m)
			}
		}()
		go func() { // until cut off (or 10 s)
			slow.SetWriteDeadline(time.Now().Add(10 * time.Second))
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := slow.Write(flood); err != nil {
					floodErr <- err
					return
				}
			}
		}()
		for i := 0; i < 50; i++ {
			if err := req.Send(zmq4.NewMsgString("ping")); err != nil {
				t.Fatal(err)
			}
			if m := recvWithin(t, req, 5*time.Second); string(m.Frames[0]) != "ping" {
				t.Fatalf("got %q", m.Frames)
			}
		}
		select {
		case err := <-floodErr:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the flooding peer was not cut off within 10s")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the flooding peer was not cut off within 15s")
		}
	})
}
