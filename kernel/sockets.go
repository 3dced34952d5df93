package kernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
)

// sendTimeout bounds one zmq4 Send; a ROUTER send waits for the socket's first
// peer, and a message for a front end that never connects must not wedge the
// socket's sender goroutine for zmq4's default five minutes.
const sendTimeout = 10 * time.Second

// smallMessageSize bounds one inbound message on iopub and the heartbeat;
// shell, control and stdin keep zmq4's default (64 MiB), as requests can
// carry large comm buffers.
const smallMessageSize = 64 << 10

// link is one ZeroMQ socket. zmq4 sockets are not safe for concurrent Send,
// so a single goroutine owns the sends, fed by a channel.
type link struct {
	name string
	sock zmq4.Socket
	log  *slog.Logger

	mu     sync.RWMutex
	closed bool
	out    chan zmq4.Msg
	done   chan struct{}
}

func newLink(name string, sock zmq4.Socket, log *slog.Logger) *link {
	l := &link{
		name: name,
		sock: sock,
		log:  log,
		out:  make(chan zmq4.Msg, 1024),
		done: make(chan struct{}),
	}
	go l.sendLoop()
	return l
}

// send queues frames for sending; it is a no-op once the link is closed.
func (l *link) send(frames [][]byte) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.log.Debug("dropping message on closed socket", "socket", l.name)
		return
	}
	l.out <- zmq4.NewMsgFrom(frames...)
}

func (l *link) sendLoop() {
	defer close(l.done)
	for m := range l.out {
		// SendMulti queues the message for its peer(s) as one multipart
		// message (one writev; see third_party/zmq4/PATCHES.md).
		if err := l.sock.SendMulti(m); err != nil {
			// A ROUTER also tries peers that went away but are not yet
			// reaped (a reconnected client has the same identity): the
			// live peer still got the message.
			l.log.Debug("send failed", "socket", l.name, "err", err)
		}
	}
}

// close stops accepting messages, waits (up to a bound) until the queued ones
// are handed to zmq4, then closes the socket, which first writes what is
// still queued for each peer (within zmq4's linger time, 1 s).
func (l *link) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	close(l.out)
	l.mu.Unlock()
	select {
	case <-l.done:
	case <-time.After(2 * time.Second):
		l.log.Warn("socket did not flush in time", "socket", l.name)
	}
	if err := l.sock.Close(); err != nil {
		l.log.Debug("closing socket", "socket", l.name, "err", err)
	}
}

// sockets holds the five kernel sockets.
type sockets struct {
	shell, control, stdin, iopub *link
	hb                           zmq4.Socket
}

// bindSockets creates and binds the sockets the connection file names. On
// failure it closes them all.
func bindSockets(ci ConnectionInfo, log *slog.Logger) (*sockets, error) {
	ctx := context.Background() // sockets are closed explicitly, after flushing
	opts := []zmq4.Option{
		zmq4.WithLogger(slog.NewLogLogger(log.Handler(), slog.LevelDebug)),
		zmq4.WithTimeout(sendTimeout),
	}
	shell := zmq4.NewRouter(ctx, opts...)
	control := zmq4.NewRouter(ctx, opts...)
	stdin := zmq4.NewRouter(ctx, opts...)
	// What iopub (subscriptions) and the heartbeat (pings) receive is tiny:
	// a small bound keeps a peer from making them hold large messages.
	small := append(opts[:len(opts):len(opts)], zmq4.WithMaxMessageSize(smallMessageSize))
	iopub := zmq4.NewPub(ctx, small...)
	hb := zmq4.NewRep(ctx, small...)
	all := []struct {
		name string
		sock zmq4.Socket
		port int
	}{
		{"shell", shell, ci.ShellPort},
		{"control", control, ci.ControlPort},
		{"stdin", stdin, ci.StdinPort},
		{"iopub", iopub, ci.IOPubPort},
		{"heartbeat", hb, ci.HBPort},
	}
	for _, b := range all {
		ep := ci.endpoint(b.port)
		if err := b.sock.Listen(ep); err != nil {
			for _, s := range all {
				s.sock.Close()
			}
			return nil, fmt.Errorf("binding %s socket to %s: %w", b.name, ep, err)
		}
		log.Debug("bound", "socket", b.name, "endpoint", ep)
	}
	return &sockets{
		shell:   newLink("shell", shell, log),
		control: newLink("control", control, log),
		stdin:   newLink("stdin", stdin, log),
		iopub:   newLink("iopub", iopub, log),
		hb:      hb,
	}, nil
}

// heartbeat echoes every ping until the socket is closed.
func heartbeat(hb zmq4.Socket, log *slog.Logger) {
	for {
		m, err := hb.Recv()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return
			}
			// A malformed request (zmq4's REP rejects envelopes without a
			// delimiter); keep serving the others.
			log.Debug("heartbeat recv", "err", err)
			continue
		}
		if err := hb.Send(m); err != nil {
			log.Debug("heartbeat send", "err", err)
		}
	}
}

// close flushes and closes every socket.
func (s *sockets) close() {
	var wg sync.WaitGroup
	for _, l := range []*link{s.shell, s.control, s.stdin, s.iopub} {
		wg.Add(1)
		go func() { defer wg.Done(); l.close() }()
	}
	wg.Wait()
	s.hb.Close()
}
