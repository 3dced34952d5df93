// Copyright 2026 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

//go:build linux

package zmq4

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// seqpacketPair returns two connected Unix SOCK_SEQPACKET sockets: each
// write (or writev) on one is exactly one read on the other, so reads count
// the writes a message took.
func seqpacketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "seqpacket")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns[0], conns[1]
}

// TestOneWritePerMessage: a message goes out in one write whatever its
// number of frames, sent with Send (SendMsg) or SendMulti; it used to take
// two writes per frame.
func TestOneWritePerMessage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames [][]byte
	}{
		{"one frame", [][]byte{[]byte("hello")}},
		{"jupyter reply", [][]byte{[]byte("id"), {}, []byte("<IDS|MSG>"), make([]byte, 64), make([]byte, 300), make([]byte, 200), {}, make([]byte, 1000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := seqpacketPair(t)
			c := &Conn{rw: a, sec: nullSecurity{}}
			for _, multipart := range []bool{false, true} {
				msg := NewMsgFrom(tc.frames...)
				msg.multipart = multipart
				if err := c.SendMsg(msg); err != nil {
					t.Fatal(err)
				}
				want := 0
				for _, f := range tc.frames {
					want += 2 + len(f)
					if len(f) > 255 {
						want += 7
					}
				}
				buf := make([]byte, 1<<16)
				n, err := b.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				if n != want {
					t.Fatalf("multipart=%v: first write carried %d of the message's %d bytes", multipart, n, want)
				}
				r := &Conn{rw: &readerConn{Conn: b, data: buf[:n]}, sec: nullSecurity{}}
				got := r.read()
				if got.err != nil || len(got.Frames) != len(tc.frames) {
					t.Fatalf("read back %d frames, err %v", len(got.Frames), got.err)
				}
			}
		})
	}
}

// readerConn reads data, the bytes of one packet, as a stream.
type readerConn struct {
	net.Conn
	data []byte
}

func (r *readerConn) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}
