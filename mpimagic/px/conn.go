package px

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/mpigo/mpigo/mpimagic/px/pxwire"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// State is where a rank stands.
type State string

// The states of a rank.
const (
	Idle    State = "idle"    // waiting for a cell
	Running State = "running" // running a cell
	// Stuck: its cell was interrupted and did not stop within the grace
	// period (blocked in an MPI call, most likely); it is idle again if
	// the cell ends later.
	Stuck State = "stuck"
	Lost  State = "lost" // its connection closed: the process died
)

// rank is one rank's connection and what the pool knows of it.
type rank struct {
	n     int
	hello pxwire.Hello
	conn  net.Conn
	wmu   sync.Mutex // serialises requests
	// under Pool.mu:
	state    State
	lost     bool
	lostWhy  string
	reported bool              // its loss was reported to the user
	cells    int               // cells it ran
	decls    map[string]string // the plain cells' declarations it holds: Kind+Name → Src (restore)
}

// RankInfo is what %ranks shows of a rank.
type RankInfo struct {
	Rank  int
	Host  string
	PID   int
	State State
	Cells int
	Why   string // why it was lost
}

// accept serves connections until the listener closes.
func (p *Pool) accept() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.admit() {
			conn.Close()
			continue
		}
		p.conns.Add(1)
		go func() {
			defer p.conns.Done()
			p.serve(conn)
		}()
	}
}

// admit counts a connection before its hello; false: too many are.
func (p *Pool) admit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending >= maxPending || p.closed {
		return false
	}
	p.pending++
	return true
}

// serve reads a connection's hello, within MaxHello bytes and
// helloTimeout, and, when it carries the token and names a rank not
// connected yet, reads the rank's events until the connection closes.
func (p *Pool) serve(conn net.Conn) {
	rd := pxwire.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(p.helloTimeout))
	var h pxwire.Hello
	err := rd.Next(&h, pxwire.MaxHello)
	r := p.register(conn, h, err)
	if r == nil {
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	p.poke()
	for {
		var ev pxwire.Event
		if err := rd.Next(&ev, pxwire.MaxLine); err != nil {
			p.lose(r, err)
			return
		}
		p.event(r, &ev)
	}
}

// register checks a hello (err: reading it failed) and records its rank;
// nil refuses the connection.
func (p *Pool) register(conn net.Conn, h pxwire.Hello, err error) *rank {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending--
	switch {
	case err != nil:
		if !errors.Is(err, io.EOF) { // an EOF is a rank's spare dial (rankio's dialAny)
			p.log.Warn("ranks: refused a connection without a readable hello", "remote", conn.RemoteAddr(), "err", err)
		}
		return nil
	case !rankio.ValidToken(h.Token, p.token):
		p.log.Warn("ranks: refused a connection with a wrong token", "remote", conn.RemoteAddr())
		return nil
	case p.closed || h.Rank < 0 || h.Rank >= len(p.ranks) || h.Size != len(p.ranks) || p.ranks[h.Rank] != nil:
		p.log.Warn("ranks: refused an unexpected rank", "rank", h.Rank, "size", h.Size, "of", len(p.ranks))
		return nil
	}
	r := &rank{n: h.Rank, hello: h, conn: conn, state: Idle}
	p.ranks[h.Rank] = r
	return r
}

// poke tells awaitHellos that a rank connected.
func (p *Pool) poke() {
	select {
	case p.helloed <- struct{}{}:
	default:
	}
}

// connected is the number of ranks that said hello.
func (p *Pool) connected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.ranks {
		if r != nil {
			n++
		}
	}
	return n
}

// lose marks r lost (its connection ended with err) and ends what it was
// waited for.
func (p *Pool) lose(r *rank, err error) {
	why := "its connection closed (the process exited or was killed)"
	if errors.Is(err, pxwire.ErrTooLong) {
		why = "it sent a line over the channel's limit"
	} else if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		why = "its connection failed: " + err.Error()
	}
	p.mu.Lock()
	first := !r.lost
	if first {
		r.lost, r.lostWhy, r.state = true, why, Lost
	}
	var waiting []*call
	for _, c := range p.calls {
		if c.pending[r.n] {
			delete(c.pending, r.n)
			waiting = append(waiting, c)
		}
	}
	notice := p.notice
	if !first || p.closed || len(waiting) > 0 {
		notice = nil // a stop, or a cell waiting for this rank, which reports it
	}
	p.mu.Unlock()
	r.conn.Close()
	for _, c := range waiting {
		c.done <- reply{rank: r.n, lost: why}
	}
	if notice != nil {
		notice.Stream("stderr", fmt.Sprintf("%%ranks: rank %d died at %s: %s; the other ranks cannot go on without it: %%ranks restart starts them afresh\n",
			r.n, time.Now().Format("15:04:05"), why))
	}
}

// event passes a rank's event to the call it belongs to; the end of a
// cell the pool stopped waiting for (a stuck rank's) makes the rank idle.
func (p *Pool) event(r *rank, ev *pxwire.Event) {
	p.mu.Lock()
	c := p.calls[ev.ID]
	if c == nil || !c.pending[r.n] {
		if ev.Kind == pxwire.EventDone && r.state == Stuck {
			r.state = Idle
			close(p.unstuck)
			p.unstuck = make(chan struct{})
		}
		p.mu.Unlock()
		return
	}
	if ev.Kind == pxwire.EventDone {
		delete(c.pending, r.n)
		r.state = Idle
		if c.out != nil { // a cell, not a restore
			r.cells++
		}
	}
	p.mu.Unlock()
	switch ev.Kind {
	case pxwire.EventOutput:
		if c.out != nil {
			c.out.write(r.n, ev.Stream == "stderr", []byte(ev.Text))
		}
	case pxwire.EventDone:
		c.done <- reply{rank: r.n, ev: ev}
	}
}

// send writes a request to r; a rank that does not take it within
// writeTimeout is lost.
func (p *Pool) send(r *rank, req pxwire.Request, timeout time.Duration) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	_ = r.conn.SetWriteDeadline(time.Now().Add(timeout))
	err := pxwire.Encode(r.conn, req)
	if err != nil {
		r.conn.Close() // its reader then reports it lost
	}
	return err
}

// broadcast sends req to every connected rank, in parallel, each within
// a second (Close's stop requests).
func (p *Pool) broadcast(req pxwire.Request) {
	var wg sync.WaitGroup
	for _, r := range p.liveRanks() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.send(r, req, time.Second)
		}()
	}
	wg.Wait()
}

// liveRanks returns the ranks that are connected and not lost.
func (p *Pool) liveRanks() []*rank {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*rank
	for _, r := range p.ranks {
		if r != nil && !r.lost {
			out = append(out, r)
		}
	}
	return out
}

// Ranks describes every rank, for %ranks; it counts as reporting the
// ranks that were lost.
func (p *Pool) Ranks() []RankInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]RankInfo, 0, len(p.ranks))
	for i, r := range p.ranks {
		if r == nil {
			out = append(out, RankInfo{Rank: i, State: Lost, Why: "it never connected"})
			continue
		}
		r.reported = r.reported || r.lost
		out = append(out, RankInfo{Rank: i, Host: r.hello.Host, PID: r.hello.PID, State: r.state, Cells: r.cells, Why: r.lostWhy})
	}
	return out
}
