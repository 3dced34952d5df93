package px

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/px/pxwire"
	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/mpimagic/report"
)

// Cell is one %px cell.
type Cell struct {
	Count int    // the execution count: positions name cell[Count]
	Code  string // Go statements and declarations
	Ranks []int  // the ranks to run it on, increasing; nil: every rank
	Out   string // --out NAME; "": none
}

// call is a request sent to some ranks, waiting for their done events.
type call struct {
	id      int64
	pending map[int]bool // ranks whose done has not come (under Pool.mu)
	done    chan reply   // room for every rank's
	out     *cellOutput  // nil: the request writes nothing (restore)
}

// reply is a rank's done event, or its loss.
type reply struct {
	rank int
	ev   *pxwire.Event
	lost string // why, when the rank was lost instead
}

// outcome is how a call ended on each of its ranks.
type outcome struct {
	replies     map[int]reply
	stuck       []int // interrupted and still running after the grace period
	interrupted bool
	took        time.Duration
}

// Run runs c on its ranks, streaming their output, labelled "[rank N] ",
// to out and ending with a summary. A rank that fails makes it a
// RankError naming it (the others, and it, keep their state); an
// interrupt (ctx) stops it on every rank, and names the ranks that did
// not stop within Config.Grace.
func (p *Pool) Run(ctx context.Context, c Cell, out cellio.Output) (cellio.Result, error) {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	p.awaitUnstuck(ctx, c.Ranks)
	sel, werr := p.selectRanks(c.Ranks)
	if werr != nil {
		return cellio.Result{}, werr
	}
	p.setNotice(out)
	em := launch.NewEmitter(out)
	defer em.Close()
	p.setLive(em)
	defer p.setLive(nil)
	if werr := p.restore(ctx, sel); werr != nil {
		return cellio.Result{}, werr
	}
	co := newCellOutput(em, p.display)
	oc := p.call(ctx, sel, pxwire.Request{Op: pxwire.OpExecute, Cell: c.Count, Code: c.Code, Out: c.Out != ""}, co)
	results := co.results(sel, oc)
	em.Display(cellio.Display{Data: p.summary(sel, oc, results).Data()})
	if werr := verdict(sel, oc); werr != nil {
		return cellio.Result{}, werr
	}
	if c.Out != "" {
		if werr := p.setOut(ctx, c.Out, sel, oc); werr != nil {
			return cellio.Result{}, werr
		}
	}
	return cellResult(sel, oc), nil
}

// setLive makes em receive the launcher's lines while a cell runs.
func (p *Pool) setLive(em *launch.Emitter) {
	p.mu.Lock()
	p.live = em
	p.mu.Unlock()
	if em != nil {
		if text := p.LauncherText(); text != "" {
			em.Text("stderr", []byte(text))
		}
	}
}

// awaitUnstuck gives the ranks of want (nil: all) that still end an
// interrupted cell up to Config.Grace more to end it: on a busy machine a
// rank can take longer than the grace the interrupt had to notice it, and
// a cell sent right after the interrupt should not be refused for that.
func (p *Pool) awaitUnstuck(ctx context.Context, want []int) {
	deadline := time.NewTimer(p.cfg.Grace)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		stuck := false
		for i, r := range p.ranks {
			if r != nil && r.state == Stuck && (want == nil || slices.Contains(want, i)) {
				stuck = true
			}
		}
		changed := p.unstuck
		p.mu.Unlock()
		if !stuck {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// selectRanks checks that the pool can run a cell on want (nil: every
// rank): no rank lost (the MPI job is broken then), none of want stuck.
func (p *Pool) selectRanks(want []int) ([]*rank, *cellio.Error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, report.UsageError("the ranks were stopped: start them with %ranks start -n N", "")
	}
	var lost, stuck []int
	whyLost := ""
	for i, r := range p.ranks {
		if r == nil || r.lost {
			lost = append(lost, i)
			if r != nil && whyLost == "" {
				whyLost = r.lostWhy
			}
			if r != nil {
				r.reported = true
			}
		}
	}
	if len(lost) > 0 {
		return nil, report.RankError(fmt.Sprintf("%s died (%s): the MPI job cannot go on; %%ranks restart starts the ranks afresh", report.RankList(lost), whyLost), nil)
	}
	if want == nil {
		for i := range p.ranks {
			want = append(want, i)
		}
	}
	sel := make([]*rank, 0, len(want))
	for _, i := range want {
		if i < 0 || i >= len(p.ranks) {
			return nil, report.UsageError(fmt.Sprintf("--ranks: there is no rank %d (ranks 0-%d run)", i, len(p.ranks)-1), "")
		}
		if p.ranks[i].state == Stuck {
			stuck = append(stuck, i)
		}
		sel = append(sel, p.ranks[i])
	}
	if len(stuck) > 0 {
		return nil, report.RankError(report.RankList(stuck)+" still run an interrupted cell (blocked in an MPI call?): wait for it, or %ranks restart", nil)
	}
	return sel, nil
}

// restore replays into the ranks of sel the plain cells' declarations
// each lacks: only the new and the changed ones, because replaying a type
// a rank has already would make its interpreter start anew (yaegi cannot
// redefine a type in place) and lose the rank's variables.
func (p *Pool) restore(ctx context.Context, sel []*rank) *cellio.Error {
	if p.cfg.Decls == nil {
		return nil
	}
	decls := p.cfg.Decls()
	groups := map[string][]*rank{} // ranks lacking the same declarations
	missing := map[string][]goeval.Decl{}
	p.mu.Lock()
	for _, r := range sel {
		lack := lacking(r.decls, decls)
		if len(lack) == 0 {
			continue
		}
		k := declsKey(lack)
		groups[k], missing[k] = append(groups[k], r), lack
	}
	p.mu.Unlock()
	for k, ranks := range groups {
		oc := p.call(ctx, ranks, pxwire.Request{Op: pxwire.OpRestore, Decls: missing[k]}, nil)
		if werr := verdict(ranks, oc); werr != nil {
			return werr
		}
		p.mu.Lock()
		for _, r := range ranks {
			if r.decls == nil {
				r.decls = map[string]string{}
			}
			for _, d := range missing[k] {
				r.decls[declID(d)] = d.Src
			}
		}
		p.mu.Unlock()
	}
	return nil
}

// lacking returns the declarations of decls that have is without, or
// holds with another source, in their order.
func lacking(have map[string]string, decls []goeval.Decl) []goeval.Decl {
	var out []goeval.Decl
	for _, d := range decls {
		if src, ok := have[declID(d)]; !ok || src != d.Src {
			out = append(out, d)
		}
	}
	return out
}

// declID identifies a declaration: its kind and name ("func T.M").
func declID(d goeval.Decl) string { return d.Kind + " " + d.Name }

// declsKey identifies a list of declarations.
func declsKey(decls []goeval.Decl) string {
	b, _ := json.Marshal(decls)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// call sends req to the ranks of sel and waits for each one's done (or
// loss). Cancelling ctx interrupts it; the ranks that do not end within
// Config.Grace are left stuck.
func (p *Pool) call(ctx context.Context, sel []*rank, req pxwire.Request, out *cellOutput) *outcome {
	c := p.newCall(sel, out)
	defer p.endCall(c)
	req.ID = c.id
	start := time.Now()
	oc := &outcome{replies: map[int]reply{}}
	for _, r := range sel {
		if err := p.send(r, req, writeTimeout); err != nil {
			p.log.Warn("ranks: a request was not taken", "rank", r.n, "err", err)
		}
	}
	var grace <-chan time.Time
	done := ctx.Done()
	for len(oc.replies) < len(sel) {
		select {
		case rp := <-c.done:
			oc.replies[rp.rank] = rp
		case <-done:
			done, oc.interrupted = nil, true
			p.interrupt(c)
			grace = time.After(p.cfg.Grace)
		case <-grace:
			oc.stuck = p.markStuck(c)
			oc.took = time.Since(start)
			return oc
		}
	}
	oc.took = time.Since(start)
	return oc
}

// newCall registers a call to the ranks of sel.
func (p *Pool) newCall(sel []*rank, out *cellOutput) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextID++
	c := &call{id: p.nextID, pending: map[int]bool{}, done: make(chan reply, len(sel)), out: out}
	for _, r := range sel {
		c.pending[r.n] = true
		r.state = Running
	}
	p.calls[c.id] = c
	return c
}

// endCall forgets c: its late events are dropped.
func (p *Pool) endCall(c *call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.calls, c.id)
}

// interrupt asks the ranks still running c to stop it.
func (p *Pool) interrupt(c *call) {
	p.mu.Lock()
	var rs []*rank
	for n := range c.pending {
		rs = append(rs, p.ranks[n])
	}
	p.mu.Unlock()
	for _, r := range rs {
		go func() { _ = p.send(r, pxwire.Request{ID: c.id, Op: pxwire.OpInterrupt}, time.Second) }()
	}
}

// markStuck marks the ranks still running c stuck and returns them.
func (p *Pool) markStuck(c *call) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var stuck []int
	for n := range c.pending {
		if r := p.ranks[n]; !r.lost {
			r.state = Stuck
		}
		stuck = append(stuck, n)
	}
	sort.Ints(stuck)
	return stuck
}

// setOut hands the ranks' --out values to Config.SetOut, indexed by rank:
// a rank that did not run the cell (--ranks) holds the zero value (JSON
// null), of the type the others' values have.
func (p *Pool) setOut(ctx context.Context, name string, sel []*rank, oc *outcome) *cellio.Error {
	vals := make([]goeval.CarriedVar, p.N())
	jsons := make([]json.RawMessage, p.N())
	typ := ""
	for _, r := range sel {
		ev := oc.replies[r.n].ev
		if ev.OutErr != "" || (ev.Out == nil && ev.OutJSON == nil) {
			why := ev.OutErr
			if why == "" {
				why = "the cell does not end with an expression"
			}
			return report.UsageError(fmt.Sprintf("--out %s: rank %d has no value: %s", name, r.n, why), "")
		}
		if ev.Out != nil {
			vals[r.n] = *ev.Out
			typ = ev.Out.Type
		}
		jsons[r.n] = ev.OutJSON
	}
	for i := range vals {
		vals[i].Name = name
		if jsons[i] == nil {
			vals[i].Type, jsons[i] = typ, json.RawMessage("null")
		}
	}
	if p.cfg.SetOut == nil {
		return report.MagicError(fmt.Errorf("--out %s: this kernel cannot take the ranks' values", name))
	}
	if err := p.cfg.SetOut(ctx, name, vals, jsons); err != nil {
		return report.MagicError(fmt.Errorf("--out %s: %w", name, err))
	}
	return nil
}

// cellResult is the cell's value: each rank's final expression, labelled
// when several ranks ran it.
func cellResult(sel []*rank, oc *outcome) cellio.Result {
	var lines []string
	for _, r := range sel {
		if ev := oc.replies[r.n].ev; ev != nil && ev.Result != "" {
			if len(sel) == 1 {
				return cellio.Result{Data: map[string]any{"text/plain": ev.Result}}
			}
			lines = append(lines, rankio.Prefix(r.n)+ev.Result)
		}
	}
	if len(lines) == 0 {
		return cellio.Result{}
	}
	return cellio.Result{Data: map[string]any{"text/plain": strings.Join(lines, "\n")}}
}

// cellOutput turns the ranks' output of a cell into "[rank N] " lines on
// the emitter, and keeps what the summary shows of each rank.
type cellOutput struct {
	em    *launch.Emitter
	token string // of display records
	mu    sync.Mutex
	ranks map[int]*rankOutput
	shown map[string]bool // display ids shown already
}

// rankOutput is one rank's output of a cell.
type rankOutput struct {
	stdout, stderr rankio.LineBuffer
	splitter       *display.Splitter
	tail           []launch.Line
	lines          int
	digest         hash.Hash
}

// tailLines is how many of its last lines a rank keeps for the summary.
const tailLines = 100

func newCellOutput(em *launch.Emitter, token string) *cellOutput {
	return &cellOutput{em: em, token: token, ranks: map[int]*rankOutput{}, shown: map[string]bool{}}
}

// rank returns rank n's output (o.mu held).
func (o *cellOutput) rank(n int) *rankOutput {
	ro := o.ranks[n]
	if ro == nil {
		ro = &rankOutput{splitter: display.NewSplitter(o.token), digest: sha256.New()}
		o.ranks[n] = ro
	}
	return ro
}

// write takes text rank n wrote: its whole lines go out prefixed, display
// records as displays; a partial line waits for its end (or flush).
func (o *cellOutput) write(n int, stderr bool, b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ro := o.rank(n)
	if stderr {
		o.lines(n, ro, true, b)
		return
	}
	for _, piece := range ro.splitter.Split(b) {
		if piece.Record != nil {
			o.record(piece.Record)
			continue
		}
		o.lines(n, ro, false, piece.Text)
	}
}

// lines emits the whole lines of b.
func (o *cellOutput) lines(n int, ro *rankOutput, stderr bool, b []byte) {
	lb, stream := &ro.stdout, "stdout"
	if stderr {
		lb, stream = &ro.stderr, "stderr"
	}
	var text []byte
	lb.Write(b, func(line []byte) { text = o.line(n, ro, stderr, line, text) })
	if len(text) > 0 {
		o.em.Text(stream, text)
	}
}

// line records one line (newline included) and appends it, prefixed, to out.
func (o *cellOutput) line(n int, ro *rankOutput, stderr bool, line, out []byte) []byte {
	text := string(line[:len(line)-1])
	ro.lines++
	kind := byte(1)
	if stderr {
		kind = 2
	}
	ro.digest.Write([]byte{kind})
	ro.digest.Write([]byte(text))
	ro.tail = append(ro.tail, launch.Line{Stderr: stderr, Text: text})
	if len(ro.tail) > tailLines {
		ro.tail = append(ro.tail[:0], ro.tail[len(ro.tail)-tailLines:]...)
	}
	out = append(out, rankio.Prefix(n)...)
	out = append(out, text...)
	return append(out, '\n')
}

// record shows a display record (the first use of a display id shows it,
// later ones update it).
func (o *cellOutput) record(rec *display.Record) {
	if rec.Kind != "display" {
		return
	}
	var m display.Message
	if json.Unmarshal(rec.Payload, &m) == nil {
		o.em.Display(m.InCell(o.shown))
	}
}

// flush passes on a rank's partial last lines.
func (o *cellOutput) flush(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ro := o.rank(n)
	for _, piece := range ro.splitter.Flush() {
		o.lines(n, ro, false, piece.Text)
	}
	for _, s := range []struct {
		lb     *rankio.LineBuffer
		stderr bool
		stream string
	}{{&ro.stdout, false, "stdout"}, {&ro.stderr, true, "stderr"}} {
		var text []byte
		s.lb.Flush(func(line []byte) { text = o.line(n, ro, s.stderr, line, text) })
		if len(text) > 0 {
			o.em.Text(s.stream, text)
		}
	}
}
