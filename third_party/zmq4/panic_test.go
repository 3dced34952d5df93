// Copyright 2026 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package zmq4_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// panicky is a security mechanism that panics on demand: in its server-side
// handshake, or when decrypting a frame that reads "boom". It stands for any
// bug in code that handles a peer's bytes.
type panicky struct {
	handshakePanics *atomic.Int32 // server handshakes left to panic in; nil: none
}

func (panicky) Type() zmq4.SecurityType { return "XPANIC" }

func (p panicky) Handshake(conn *zmq4.Conn, server bool) error {
	if server && p.handshakePanics != nil && p.handshakePanics.Add(-1) >= 0 {
		panic("handshake bug")
	}
	return null.Security().Handshake(conn, server)
}

func (panicky) Encrypt(w io.Writer, data []byte) (int, error) { return w.Write(data) }

func (panicky) Decrypt(w io.Writer, data []byte) (int, error) {
	if string(data) == "boom" {
		panic("decrypt bug")
	}
	return w.Write(data)
}

// TestPanicsAreContained: a panic while handling one connection (its
// handshake, or its reader) closes that connection only; the process lives
// and the socket serves the next peer.
func TestPanicsAreContained(t *testing.T) {
	once := func() *atomic.Int32 { n := new(atomic.Int32); n.Store(1); return n }
	for _, tc := range []struct {
		name   string
		server panicky
		first  string // what the first peer sends
	}{
		{"in the handshake", panicky{handshakePanics: once()}, "hello"},
		{"in the reader", panicky{}, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			router, addr := listen(t, zmq4.Router, zmq4.WithSecurity(tc.server))
			ctx := context.Background()
			bad := zmq4.NewDealer(ctx, quiet, zmq4.WithSecurity(panicky{}), zmq4.WithDialerMaxRetries(0))
			defer bad.Close()
			if err := bad.Dial("tcp://" + addr); err == nil {
				if tc.server.handshakePanics != nil {
					t.Fatal("the handshake succeeded although the server's panicked")
				}
				if err := bad.Send(zmq4.NewMsgString(tc.first)); err != nil {
					t.Fatal(err)
				}
				// The server closes the connection: the peer's Recv fails.
				errc := make(chan error, 1)
				go func() { _, err := bad.Recv(); errc <- err }()
				select {
				case err := <-errc:
					if err == nil {
						t.Fatal("got a message, want the connection closed")
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the connection that made the server panic is still open after 5s")
				}
			}
			good := zmq4.NewDealer(ctx, quiet, zmq4.WithSecurity(panicky{}))
			defer good.Close()
			if err := good.Dial("tcp://" + addr); err != nil {
				t.Fatal(err)
			}
			if err := good.Send(zmq4.NewMsgString("ok")); err != nil {
				t.Fatal(err)
			}
			if m := recvWithin(t, router, 5*time.Second); string(m.Frames[1]) != "ok" {
				t.Fatalf("got %q, want ok", m.Frames)
			}
		})
	}
}
