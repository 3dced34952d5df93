package launch

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// tailLines is how many of its last output lines a rank keeps for the
// summary and error messages.
const tailLines = 100

// Line is one line a rank wrote, without its newline.
type Line struct {
	Stderr bool
	Text   string
}

// rankState is what the collector knows about one rank.
type rankState struct {
	rank      int
	hello     rankio.Hello
	connected bool        // its wrapper said hello
	conn      net.Conn    // nil once closed
	exited    bool        // its exit frame came
	exit      rankio.Exit // when exited
	exitAt    time.Time   // when the exit frame came
	stdout    rankio.LineBuffer
	stderr    rankio.LineBuffer
	splitter  *display.Splitter
	tail      []Line    // the last tailLines lines
	lines     int       // lines written in all
	digest    hash.Hash // of every line, for folding identical outputs
	value     rankValue // its --out value, as it came
}

// Collector is the magic's end of the rank I/O channel: it accepts one
// connection per rank, turns the output frames into "[rank N] " lines on
// the emitter, and records how each rank ended.
type Collector struct {
	n       int
	token   string
	display string // token of display records in rank output
	ln      net.Listener
	em      *Emitter
	rewrite func(string) string // applied to each line (cell positions); may be nil
	log     *slog.Logger

	mu      sync.Mutex
	ranks   []*rankState
	shown   map[string]bool // display ids shown already
	failed  time.Time       // when the first rank failed (zero: none)
	stopped bool            // the magic is stopping the ranks
	changed chan struct{}   // poked when a rank starts or ends
	conns   sync.WaitGroup
}

// NewToken returns a random hex token, for a channel's hellos and for
// display records.
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewCollector listens for n ranks: on the loopback interface when they
// all run here, on every interface when they may run on other hosts.
func NewCollector(n int, remote bool, em *Emitter, rewrite func(string) string, log *slog.Logger) (*Collector, error) {
	ln, err := Listen(remote)
	if err != nil {
		return nil, fmt.Errorf("listening for rank output: %w", err)
	}
	c := &Collector{
		n: n, token: NewToken(), display: NewToken(), ln: ln, em: em, rewrite: rewrite, log: log,
		ranks: make([]*rankState, n), shown: map[string]bool{}, changed: make(chan struct{}, 1),
	}
	for i := range c.ranks {
		c.ranks[i] = &rankState{rank: i, splitter: display.NewSplitter(c.display), digest: sha256.New()}
	}
	go c.accept()
	return c, nil
}

// Listen listens for ranks on a free port: on the loopback interface when
// they all run here, on every interface when they may run on other hosts.
func Listen(remote bool) (net.Listener, error) {
	addr := "127.0.0.1:0"
	if remote {
		addr = ":0"
	}
	return net.Listen("tcp", addr)
}

// Address is where the ranks' wrappers connect, and the token they must
// say hello with: every non-loopback address of this host when remote, and
// the loopback one last.
func (c *Collector) Address(remote bool) rankio.Address {
	return ListenAddress(c.ln, remote, c.token)
}

// ListenAddress is the rankio.Address of ln (from Listen) with token:
// every non-loopback address of this host when remote, and the loopback
// one last.
func ListenAddress(ln net.Listener, remote bool, token string) rankio.Address {
	port := ln.Addr().(*net.TCPAddr).Port
	addrs := []string{}
	if remote {
		if ifaces, err := net.InterfaceAddrs(); err == nil {
			for _, a := range ifaces {
				if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
					addrs = append(addrs, net.JoinHostPort(ipn.IP.String(), fmt.Sprint(port)))
				}
			}
		}
	}
	addrs = append(addrs, net.JoinHostPort("127.0.0.1", fmt.Sprint(port)))
	return rankio.Address{Addrs: addrs, Token: token, Host: rankio.Hostname()}
}

func (c *Collector) poke() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *Collector) accept() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.conns.Add(1)
		go func() {
			defer c.conns.Done()
			c.serve(conn)
		}()
	}
}

// serve reads one rank's connection to its end.
func (c *Collector) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, payload, err := rankio.ReadFrame(conn)
	var h rankio.Hello
	if errors.Is(err, io.EOF) {
		// a wrapper dials every address of the kernel at once and closes
		// the connections that answer after the first
		c.log.Debug("mpirun: a connection closed before its hello", "remote", conn.RemoteAddr())
		return
	}
	if err != nil || typ != rankio.FrameHello || json.Unmarshal(payload, &h) != nil || !rankio.ValidToken(h.Token, c.token) {
		c.log.Warn("mpirun: rejected a connection without a valid hello", "remote", conn.RemoteAddr())
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	c.mu.Lock()
	if h.Rank < 0 || h.Rank >= c.n || c.ranks[h.Rank].connected {
		c.mu.Unlock()
		c.log.Warn("mpirun: unexpected rank", "rank", h.Rank, "of", c.n)
		return
	}
	r := c.ranks[h.Rank]
	r.hello, r.connected, r.conn = h, true, conn
	stopped := c.stopped
	c.mu.Unlock()
	c.poke()
	if stopped {
		_, _ = conn.Write([]byte{rankio.CtlKill})
	}
	for {
		typ, payload, err := rankio.ReadFrame(conn)
		if err != nil {
			break
		}
		switch typ {
		case rankio.FrameStdout:
			c.output(r, false, payload)
		case rankio.FrameStderr:
			c.output(r, true, payload)
		case rankio.FrameValue:
			c.mu.Lock()
			r.value.add(payload, r.exited)
			c.mu.Unlock()
		case rankio.FrameExit:
			var info rankio.Exit
			if json.Unmarshal(payload, &info) != nil {
				info = rankio.Exit{Code: -1}
			}
			c.finish(r, &info)
		}
	}
	c.finish(r, nil)
}

// output handles bytes a rank wrote. What it shows is handed to the
// emitter outside the lock: the emitter may make it wait (backpressure),
// and stopping the ranks must not wait for that.
func (c *Collector) output(r *rankState, stderr bool, b []byte) {
	var out []outItem
	c.mu.Lock()
	if stderr {
		c.lines(r, true, b, &out)
	} else {
		for _, p := range r.splitter.Split(b) {
			if p.Record != nil {
				c.record(p.Record, &out)
				continue
			}
			c.lines(r, false, p.Text, &out)
		}
	}
	c.mu.Unlock()
	c.em.push(out)
}

// lines appends to out the whole lines in b (the rest waits for its newline).
func (c *Collector) lines(r *rankState, stderr bool, b []byte, out *[]outItem) {
	lb := &r.stdout
	if stderr {
		lb = &r.stderr
	}
	var text []byte
	lb.Write(b, func(line []byte) { text = c.line(r, stderr, line, text) })
	appendText(out, stderr, text)
}

// line records one line (newline included) and appends it, prefixed, to out.
func (c *Collector) line(r *rankState, stderr bool, line, out []byte) []byte {
	text := string(line[:len(line)-1])
	if c.rewrite != nil {
		text = c.rewrite(text)
	}
	r.lines++
	if stderr {
		r.digest.Write([]byte{2})
	} else {
		r.digest.Write([]byte{1})
	}
	r.digest.Write([]byte(text))
	r.tail = append(r.tail, Line{Stderr: stderr, Text: text})
	if len(r.tail) > tailLines {
		r.tail = append(r.tail[:0], r.tail[len(r.tail)-tailLines:]...)
	}
	out = append(out, rankio.Prefix(r.rank)...)
	out = append(out, text...)
	return append(out, '\n')
}

// appendText appends text for a stream to out.
func appendText(out *[]outItem, stderr bool, text []byte) {
	if len(text) == 0 {
		return
	}
	stream := "stdout"
	if stderr {
		stream = "stderr"
	}
	*out = append(*out, outItem{stream: stream, text: text})
}

// record appends a display record from a rank to out (any rank: a cell
// guards its displays with `if rank == 0` when it wants one). The first
// use of a display id shows it, later ones update it.
func (c *Collector) record(rec *display.Record, out *[]outItem) {
	if rec.Kind != "display" {
		return
	}
	var m display.Message
	if err := json.Unmarshal(rec.Payload, &m); err != nil {
		return
	}
	d := m.InCell(c.shown)
	*out = append(*out, outItem{disp: &d})
}

// finish records a rank's exit (info nil: its connection ended). A partial
// last line is passed on.
func (c *Collector) finish(r *rankState, info *rankio.Exit) {
	var out []outItem
	c.mu.Lock()
	if !r.exited {
		for _, p := range r.splitter.Flush() {
			c.lines(r, false, p.Text, &out)
		}
		var text []byte
		r.stdout.Flush(func(line []byte) { text = c.line(r, false, line, text) })
		appendText(&out, false, text)
		text = nil
		r.stderr.Flush(func(line []byte) { text = c.line(r, true, line, text) })
		appendText(&out, true, text)
	}
	if info != nil && !r.exited {
		r.exited, r.exit, r.exitAt = true, *info, time.Now()
		if (info.Code != 0 || info.Signal != 0) && c.failed.IsZero() && !c.stopped {
			c.failed = r.exitAt
		}
	}
	if info == nil {
		r.conn = nil
	}
	c.mu.Unlock()
	c.em.push(out)
	c.poke()
}

// Counts returns how many ranks started and ended.
func (c *Collector) Counts() (started, ended int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.ranks {
		if r.connected {
			started++
		}
		if r.exited {
			ended++
		}
	}
	return started, ended
}

// firstFailure returns when the first rank failed (zero if none has).
func (c *Collector) firstFailure() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// Quiet reports whether launcher messages should stay out of the live
// output: a rank failed (the launcher's report of it is redundant) or the
// magic is stopping the ranks.
func (c *Collector) Quiet() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped || !c.failed.IsZero()
}

// open reports whether some rank's connection is still open.
func (c *Collector) open() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.ranks {
		if r.conn != nil {
			return true
		}
	}
	return false
}

// stop marks the ranks as being stopped and returns the ranks still
// running.
func (c *Collector) stop() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	var running []int
	for _, r := range c.ranks {
		if !r.exited {
			running = append(running, r.rank)
		}
	}
	return running
}

// control sends a control byte to every rank whose program still runs.
func (c *Collector) control(b byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.ranks {
		if r.conn != nil && !r.exited {
			_ = r.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = r.conn.Write([]byte{b})
		}
	}
}

// killLocal SIGKILLs the wrappers (and their programs) of the ranks on
// this host that are still connected, without the launcher's help. An
// open connection means the wrapper is alive, so its pid is still its own.
func (c *Collector) killLocal() {
	host := rankio.Hostname()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.ranks {
		h := r.hello
		if r.conn == nil || h.Host != host || h.PID <= 1 {
			continue
		}
		if h.PGID == h.PID {
			_ = syscall.Kill(-h.PGID, syscall.SIGKILL)
		} else {
			_ = syscall.Kill(h.PID, syscall.SIGKILL)
		}
		if h.ChildPID > 1 && !r.exited {
			_ = syscall.Kill(h.ChildPID, syscall.SIGKILL)
		}
	}
}

// Close stops listening, closes the connections left and waits for their
// readers.
func (c *Collector) Close() {
	c.ln.Close()
	c.mu.Lock()
	for _, r := range c.ranks {
		if r.conn != nil {
			r.conn.Close()
		}
	}
	c.mu.Unlock()
	c.conns.Wait()
}

// results returns what became of each rank.
func (c *Collector) results() []RankResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]RankResult, len(c.ranks))
	for i, r := range c.ranks {
		out[i] = RankResult{
			Rank: r.rank, Started: r.connected, Exited: r.exited, Exit: r.exit, ExitAt: r.exitAt,
			Host: r.hello.Host, PID: r.hello.ChildPID, Lines: r.lines,
			Tail: append([]Line(nil), r.tail...), Digest: hex.EncodeToString(r.digest.Sum(nil)),
			Value: r.value.decode(),
		}
	}
	return out
}

// RankEnv is the environment every rank gets: where to send its output
// (remote: an address other hosts reach), the display token, then extra
// (the cell's --env).
func (c *Collector) RankEnv(remote bool, extra []string) []string {
	return append([]string{rankio.EnvVar + "=" + c.Address(remote).String(), display.EnvToken + "=" + c.display}, extra...)
}
