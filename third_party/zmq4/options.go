// Copyright 2018 The go-zeromq Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package zmq4

import (
	"log"
	"time"
)

// Option configures some aspect of a ZeroMQ socket.
// (e.g. SocketIdentity, Security, ...)
type Option func(s *socket)

// WithID configures a ZeroMQ socket identity.
func WithID(id SocketIdentity) Option {
	return func(s *socket) {
		s.id = id
	}
}

// WithSecurity configures a ZeroMQ socket to use the given security mechanism.
// If the security mechanims is nil, the NULL mechanism is used.
func WithSecurity(sec Security) Option {
	return func(s *socket) {
		s.sec = sec
	}
}

// WithDialerRetry configures the time to wait before two failed attempts
// at dialing an endpoint.
func WithDialerRetry(retry time.Duration) Option {
	return func(s *socket) {
		s.retry = retry
	}
}

// WithDialerTimeout sets the maximum amount of time a dial will wait
// for a connect to complete.
func WithDialerTimeout(timeout time.Duration) Option {
	return func(s *socket) {
		s.dialer.Timeout = timeout
	}
}

// WithTimeout sets the timeout value for socket operations
func WithTimeout(timeout time.Duration) Option {
	return func(s *socket) {
		s.timeout = timeout
	}
}

// WithLogger sets a dedicated log.Logger for the socket.
func WithLogger(msg *log.Logger) Option {
	return func(s *socket) {
		s.log = msg
	}
}

// WithDialerMaxRetries configures the maximum number of retries
// when dialing an endpoint (-1 means infinite retries).
func WithDialerMaxRetries(maxRetries int) Option {
	return func(s *socket) {
		s.maxRetries = maxRetries
	}
}

// WithAutomaticReconnect allows to configure a socket to automatically
// reconnect on connection loss.
func WithAutomaticReconnect(automaticReconnect bool) Option {
	return func(s *socket) {
		s.autoReconnect = automaticReconnect
	}
}

// WithMaxMessageSize bounds the size of one inbound message, all frames
// together (each frame counting 64 bytes more, for its bookkeeping): a peer
// that sends or declares a larger one is disconnected. Zero means
// DefaultMaxMessageSize; a negative value removes the bound (lengths that do
// not fit in an int are still refused).
func WithMaxMessageSize(n int64) Option {
	return func(s *socket) {
		s.maxMsgSize = n
	}
}

// WithHandshakeTimeout bounds the ZMTP greeting and security handshake of each
// new connection; a peer that has not completed it in time is disconnected.
// Zero or less means no bound.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(s *socket) {
		s.handshakeTimeout = d
	}
}

// WithWriteTimeout bounds each write to a peer (each 1 MiB of a large
// message): a peer that does not take the bytes in time (it stopped reading)
// is disconnected. Zero or less means no bound.
func WithWriteTimeout(d time.Duration) Option {
	return func(s *socket) {
		s.writeTimeout = d
	}
}

// WithSendHWM sets how many messages PUB, XPUB, ROUTER and REP sockets queue
// for one peer; messages beyond it are dropped. Zero or less means
// DefaultSendHWM.
func WithSendHWM(n int) Option {
	return func(s *socket) {
		s.hwm = n
	}
}

// WithSendHWMBytes sets how many bytes PUB, XPUB, ROUTER and REP sockets
// queue for one peer (a larger message is still queued when the queue is
// empty); messages beyond it are dropped. Zero or less means
// DefaultSendHWMBytes.
func WithSendHWMBytes(n int) Option {
	return func(s *socket) {
		s.hwmBytes = n
	}
}

// WithLinger sets how long Close waits for the messages queued for each peer
// to be written before closing the connections. Zero or less drops them.
func WithLinger(d time.Duration) Option {
	return func(s *socket) {
		s.linger = d
	}
}

/*
// TODO(sbinet)

func WithIOThreads(threads int) Option {
	return nil
}

func WithSendBufferSize(size int) Option {
	return nil
}

func WithRecvBufferSize(size int) Option {
	return nil
}
*/

const (
	OptionSubscribe   = "SUBSCRIBE"
	OptionUnsubscribe = "UNSUBSCRIBE"
	OptionHWM         = "HWM"
)
