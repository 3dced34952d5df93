// Copyright 2026 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package zmq4

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// fuzzConn is a net.Conn that reads the fuzzer's bytes and discards writes.
type fuzzConn struct{ r *bytes.Reader }

func (c fuzzConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c fuzzConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c fuzzConn) Close() error                     { return nil }
func (c fuzzConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c fuzzConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c fuzzConn) SetDeadline(time.Time) error      { return nil }
func (c fuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c fuzzConn) SetWriteDeadline(time.Time) error { return nil }
func newFuzzConn(data []byte) net.Conn              { return fuzzConn{bytes.NewReader(data)} }
func fuzzGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10] = 0xff, 0x7f, 3
	copy(g[12:], "NULL")
	return g
}
func fuzzCmd(name string, body []byte) []byte {
	b := append([]byte{byte(len(name))}, name...)
	b = append(b, body...)
	return append([]byte{4, byte(len(b))}, b...)
}
func fuzzReady(typ string) []byte {
	return fuzzCmd(CmdReady, append([]byte{11}, append([]byte("Socket-Type\x00\x00\x00"), append([]byte{byte(len(typ))}, typ...)...)...))
}
func fuzzLong(flags byte, size uint64) []byte {
	return append([]byte{flags | 2, byte(size >> 56), byte(size >> 48), byte(size >> 40), byte(size >> 32), byte(size >> 24), byte(size >> 16), byte(size >> 8)}, byte(size))
}

const fuzzLimit = 1 << 16

// FuzzReadFrame feeds arbitrary bytes to the frame reader of an established
// connection: it must return (a message or an error) without panicking, and
// never hand back more than the message limit.
func FuzzReadFrame(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 5, 'h', 'e', 'l', 'l', 'o'},
		{1, 0, 0, 3, 'a', 'b', 'c'},
		fuzzCmd(CmdPing, []byte{0, 10, 'c', 't', 'x'}),
		fuzzLong(4, 1<<62),
		fuzzLong(0, 1<<40),
		fuzzLong(0, 1<<63+1),
		{5, 1, 'x'},
		{4, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Conn{rw: newFuzzConn(data), sec: nullSecurity{}, maxMsgSize: fuzzLimit}
		for i := 0; i < 64; i++ {
			msg := c.readMsg()
			if msg.err != nil {
				var tl *TooLargeError
				if errors.As(msg.err, &tl) && tl.Size <= tl.Limit {
					t.Fatalf("TooLargeError within the limit: %v", tl)
				}
				return
			}
			n := 0
			for _, fr := range msg.Frames {
				n += len(fr) + frameOverhead
			}
			if n > fuzzLimit {
				t.Fatalf("message of %d bytes past the limit %d", n, fuzzLimit)
			}
		}
	})
}

// FuzzHandshake feeds arbitrary bytes to a server's greeting and NULL
// handshake: Open must return, with a connection or an error, never panic;
// a connection it returns has a peer of a known, compatible socket type.
func FuzzHandshake(f *testing.F) {
	g := fuzzGreeting()
	for _, seed := range [][]byte{
		append(append([]byte{}, g...), fuzzReady("DEALER")...),
		append(append([]byte{}, g...), fuzzReady("BOGUS")...),
		append(append([]byte{}, g...), fuzzCmd(CmdReady, nil)...),
		append(append([]byte{}, g...), fuzzCmd(CmdReady, []byte{11, 'S', 'o', 'c', 'k'})...),
		append(append([]byte{}, g...), fuzzLong(4, 1<<62)...),
		append(append([]byte{}, g...), fuzzLong(4, 1<<40)...),
		g[:10],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Open(newFuzzConn(data), nullSecurity{}, Router, SocketIdentity("fuzz"), true, nil)
		if err != nil {
			return
		}
		peer := SocketType(c.Peer.Meta[sysSockType])
		if !peer.known() || !peer.IsCompatible(Router) {
			t.Fatalf("handshake accepted peer type %q", peer)
		}
	})
}
