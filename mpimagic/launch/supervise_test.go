package launch

import (
	"context"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// The supervisor's tests run it against a fake backend and a fake
// collector, in both ways ranks run: "local" (a launcher here: it does not
// end the ranks with it, --timeout is ctx's deadline) and "batch" (a SLURM
// job: it ends the ranks with it, --timeout counts from its start, it gets
// doneWait to end after its ranks). Every step waits for an event, within
// supWait; the timings are short so that a case takes milliseconds.

// supWait bounds every wait for an event.
const supWait = 5 * time.Second

// Test timings: long enough apart to tell which came first on a busy machine.
const (
	tFailDelay, tKillGrace = 40 * time.Millisecond, 40 * time.Millisecond
	tStopWait, tDoneWait   = 150 * time.Millisecond, 150 * time.Millisecond
	tConnGrace, tTimeout   = 30 * time.Millisecond, 60 * time.Millisecond
)

// supEvent is something the supervisor did to the fakes.
type supEvent struct {
	what string
	at   time.Time
}

// fakeRanks is a collector: ranks connect, exit and hang up when the test
// says so, and (obey) end as told by a control byte.
type fakeRanks struct {
	events  chan<- supEvent
	changed chan struct{}
	obey    map[byte]bool // control bytes that end the running ranks

	mu             sync.Mutex
	rs             []RankResult
	conn           []bool // connected and not hung up
	started, ended int    // how many ranks connected, exited
	failed         time.Time
	stopped        bool
}

func newFakeRanks(n int, events chan<- supEvent) *fakeRanks {
	f := &fakeRanks{events: events, changed: make(chan struct{}, 1), obey: map[byte]bool{}, rs: make([]RankResult, n), conn: make([]bool, n)}
	for i := range f.rs {
		f.rs[i].Rank = i
	}
	return f
}

func (f *fakeRanks) poke() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

func (f *fakeRanks) connect(r int) {
	f.mu.Lock()
	if !f.rs[r].Started {
		f.started++
	}
	f.rs[r].Started, f.conn[r] = true, true
	f.mu.Unlock()
	f.poke()
}

// exit ends rank r with an exit code or a signal; hangUp closes its
// connection too.
func (f *fakeRanks) exit(r int, e rankio.Exit, hangUp bool) {
	f.mu.Lock()
	f.exitLocked(r, e, hangUp)
	f.mu.Unlock()
	f.poke()
}

func (f *fakeRanks) exitLocked(r int, e rankio.Exit, hangUp bool) {
	x := &f.rs[r]
	if !x.Exited {
		f.ended++
		x.Exited, x.Exit, x.ExitAt = true, e, time.Now()
		if (e.Code != 0 || e.Signal != 0) && f.failed.IsZero() && !f.stopped {
			f.failed = x.ExitAt
		}
	}
	if hangUp {
		f.conn[r] = false
	}
}

func (f *fakeRanks) changes() <-chan struct{} { return f.changed }

func (f *fakeRanks) Counts() (started, ended int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started, f.ended
}

func (f *fakeRanks) firstFailure() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *fakeRanks) stop() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	var running []int
	for i := range f.rs {
		if f.rs[i].Exited {
			continue
		}
		running = append(running, i)
	}
	return running
}

// control records the byte; the running ranks obey it if told to, killed
// by SIGTERM or SIGKILL.
func (f *fakeRanks) control(b byte) {
	what, sig := "ctl terminate", syscall.SIGTERM
	if b == rankio.CtlKill {
		what, sig = "ctl kill", syscall.SIGKILL
	}
	f.events <- supEvent{what, time.Now()}
	if !f.obey[b] {
		return
	}
	f.mu.Lock()
	for i, r := range f.rs {
		if f.conn[i] && !r.Exited {
			f.exitLocked(i, rankio.Exit{Code: -1, Signal: int(sig)}, true)
		}
	}
	f.mu.Unlock()
	f.poke()
}

func (f *fakeRanks) open() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.conn, true)
}

func (f *fakeRanks) Close() {
	f.mu.Lock()
	clear(f.conn)
	f.mu.Unlock()
	f.events <- supEvent{"close", time.Now()}
}

func (f *fakeRanks) results() []RankResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rs)
}

// fakeBackend records what the supervisor asks of it and ends when the
// test says so, or by itself when told something in endOn ("terminate",
// "kill", "ranksEnded"), like a launcher that exits on SIGTERM or a job
// that leaves the queue after scancel.
type fakeBackend struct {
	events  chan<- supEvent
	newsC   chan News
	endOn   map[string]bool
	stopped StopReason // what stoppedBy says
}

func (b *fakeBackend) note(what string) { b.events <- supEvent{what, time.Now()} }

func (b *fakeBackend) react(what string) {
	b.note(what)
	if b.endOn[strings.Fields(what)[0]] {
		b.newsC <- News{Ended: true, Apply: func() { b.note("ended") }}
	}
}

func (b *fakeBackend) News() <-chan News { return b.newsC }
func (b *fakeBackend) RanksChanged(first bool) {
	if first {
		b.note("ranksChanged first")
	}
}
func (b *fakeBackend) Terminate(r StopReason) { b.react("terminate " + r.String()) }
func (b *fakeBackend) Kill()                  { b.react("kill") }
func (b *fakeBackend) RanksEnded()            { b.react("ranksEnded") }
func (b *fakeBackend) GiveUp()                { b.note("giveUp") }
func (b *fakeBackend) PassOutput()            {}
func (b *fakeBackend) WrapUp()                { b.note("wrapUp") }
func (b *fakeBackend) StoppedBy() StopReason  { return b.stopped }

// supRun is one supervisor at work, with its fakes.
type supRun struct {
	t      *testing.T
	ranks  *fakeRanks
	b      *fakeBackend
	s      *Supervisor
	events chan supEvent
	seen   []supEvent
	pos    int // in seen: what expect looked at
	cancel context.CancelFunc
	result chan *Outcome
	oc     *Outcome
}

// supCase is one case: a way ranks run, its ranks, what the fakes do by
// themselves, and a script that plays the run.
type supCase struct {
	name     string
	batch    bool
	n        int
	deadline time.Duration // of ctx: a launch's --timeout (0: none)
	timeout  time.Duration // the supervisor's --timeout (0: none)
	endOn    []string      // what ends the backend by itself
	obey     []byte        // control bytes the ranks obey
	slurm    StopReason    // what the backend says stopped the ranks
	// overrides of the test timings (0: tFailDelay, tConnGrace)
	failDelay, connGrace time.Duration
	script               func(r *supRun)
	reason               StopReason // the outcome's
	running              []int      // the outcome's
	stopped              []int      // ranks marked stopped
}

func startSup(t *testing.T, tc supCase) *supRun {
	events := make(chan supEvent, 1000)
	r := &supRun{t: t, events: events, result: make(chan *Outcome, 1)}
	r.ranks = newFakeRanks(tc.n, events)
	for _, b := range tc.obey {
		r.ranks.obey[b] = true
	}
	r.b = &fakeBackend{events: events, newsC: make(chan News, 16), endOn: map[string]bool{}, stopped: tc.slurm}
	for _, e := range tc.endOn {
		r.b.endOn[e] = true
	}
	s := NewSupervisor(r.b, r.ranks, tc.n)
	s.failDelay, s.killGrace, s.StopWait, s.connGrace = tFailDelay, tKillGrace, tStopWait, tConnGrace
	s.Timeout = tc.timeout
	if tc.failDelay > 0 {
		s.failDelay = tc.failDelay
	}
	if tc.connGrace > 0 {
		s.connGrace = tc.connGrace
	}
	if tc.batch { // as follow sets it
		s.DoneWait, s.EndsRanks = tDoneWait, true
	}
	r.s = s
	ctx, cancel := context.WithCancel(context.Background())
	if tc.deadline > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), tc.deadline)
	}
	r.cancel = cancel
	go func() { r.result <- s.Run(ctx) }()
	return r
}

// expect waits for the events named, in this order (others may come
// between them), and returns when the last came.
func (r *supRun) expect(whats ...string) time.Time {
	r.t.Helper()
	var at time.Time
	for _, what := range whats {
		at = r.await(what)
	}
	return at
}

func (r *supRun) await(what string) time.Time {
	r.t.Helper()
	timeout := time.After(supWait)
	for {
		for ; r.pos < len(r.seen); r.pos++ {
			if e := r.seen[r.pos]; e.what == what {
				r.pos++
				return e.at
			}
		}
		if r.oc != nil { // every event came before the outcome
			r.drainEvents()
			if r.pos == len(r.seen) {
				r.t.Fatalf("the supervisor returned without %q; it did: %s", what, r.log())
			}
			continue
		}
		select {
		case e := <-r.events:
			r.seen = append(r.seen, e)
		case r.oc = <-r.result:
		case <-timeout:
			r.t.Fatalf("no %q within %v; events: %s", what, supWait, r.log())
		}
	}
}

// absent checks that nothing named what happens for d: how long the
// supervisor must hold off.
func (r *supRun) absent(what string, d time.Duration) {
	r.t.Helper()
	end := time.After(d)
	for {
		select {
		case e := <-r.events:
			r.seen = append(r.seen, e)
			if e.what == what {
				r.t.Fatalf("%q came too soon; events: %s", what, r.log())
			}
		case <-end:
			return
		}
	}
}

// end sends the backend's end.
func (r *supRun) end() { r.b.newsC <- News{Ended: true, Apply: func() { r.b.note("ended") }} }

// wait waits for run's outcome.
func (r *supRun) wait() *Outcome {
	r.t.Helper()
	if r.oc == nil {
		select {
		case r.oc = <-r.result:
		case <-time.After(supWait):
			r.t.Fatalf("the supervisor did not return within %v; events: %s", supWait, r.log())
		}
	}
	r.drainEvents()
	return r.oc
}

func (r *supRun) drainEvents() {
	for {
		select {
		case e := <-r.events:
			r.seen = append(r.seen, e)
		default:
			return
		}
	}
}

// did reports whether what happened.
func (r *supRun) did(what string) bool {
	return slices.ContainsFunc(r.seen, func(e supEvent) bool { return e.what == what })
}

func (r *supRun) log() string {
	var b strings.Builder
	for i, e := range r.seen {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.what)
	}
	return "[" + b.String() + "]"
}

// after checks that later came at least d after earlier.
func (r *supRun) after(earlier, later time.Time, d time.Duration, what string) {
	r.t.Helper()
	if got := later.Sub(earlier); got < d {
		r.t.Errorf("%s after %v, want at least %v", what, got, d)
	}
}

var (
	exitOK    = rankio.Exit{}
	exitThree = rankio.Exit{Code: 3}
	exitKill  = rankio.Exit{Code: -1, Signal: int(syscall.SIGKILL)}
)

// supCases play runs of both kinds through the supervisor.
var supCases = []supCase{
	{name: "local runs to the end", n: 2, script: func(r *supRun) {
		r.ranks.connect(0)
		r.ranks.connect(1)
		r.expect("ranksChanged first")
		r.ranks.exit(0, exitOK, true)
		r.ranks.exit(1, exitOK, true)
		r.end()
		r.expect("wrapUp", "close")
	}, reason: RanToEnd},
	{name: "batch runs to the end", batch: true, n: 2, script: func(r *supRun) {
		r.b.newsC <- News{Running: true} // a poll says it runs
		r.ranks.connect(0)
		r.ranks.connect(1)
		r.ranks.exit(0, exitOK, true)
		r.ranks.exit(1, exitOK, true)
		r.expect("ranksEnded")
		r.end()
		r.expect("wrapUp", "close")
	}, reason: RanToEnd},
	{name: "local interrupt: terminate, kill after the grace", n: 2, endOn: []string{"kill"}, obey: []byte{rankio.CtlKill}, script: func(r *supRun) {
		r.ranks.connect(0)
		r.ranks.connect(1)
		r.ranks.exit(1, exitOK, true)
		r.expect("ranksChanged first")
		r.cancel()
		term := r.expect("ctl terminate", "terminate interrupt")
		kill := r.expect("kill")
		r.after(term, kill, tKillGrace, "kill")
		r.expect("ctl kill", "ended")
	}, reason: StopInterrupt, running: []int{0}, stopped: []int{0}},
	{name: "batch interrupt while pending: cancelled, nothing to kill", batch: true, n: 2, endOn: []string{"terminate"}, script: func(r *supRun) {
		r.b.newsC <- News{} // a poll says it waits
		r.cancel()
		r.expect("ctl terminate", "terminate interrupt", "ended", "close")
	}, reason: StopInterrupt, running: []int{0, 1}, stopped: []int{0, 1}},
	{name: "local --timeout: ctx's deadline, from the start", n: 1, deadline: tTimeout, endOn: []string{"terminate"}, obey: []byte{rankio.CtlTerminate}, script: func(r *supRun) {
		r.ranks.connect(0)
		r.expect("terminate timeout", "ended", "close")
	}, reason: StopTimeout, running: []int{0}, stopped: []int{0}},
	{name: "batch --timeout: from the job's start, not while pending", batch: true, n: 1, timeout: tTimeout, endOn: []string{"terminate"}, script: func(r *supRun) {
		r.b.newsC <- News{} // pending
		r.absent("terminate timeout", 3*tTimeout)
		r.b.newsC <- News{Running: true, Apply: func() { r.b.note("running") }}
		running := r.expect("running")
		stop := r.expect("terminate timeout")
		r.after(running, stop, tTimeout, "--timeout's stop")
		r.expect("ended", "close")
	}, reason: StopTimeout, running: []int{0}, stopped: []int{0}},
	{name: "batch --timeout: from the first rank's connection", batch: true, n: 1, timeout: tTimeout, endOn: []string{"terminate"}, script: func(r *supRun) {
		r.b.newsC <- News{} // pending
		r.absent("terminate timeout", 2*tTimeout)
		r.ranks.connect(0)
		first := r.expect("ranksChanged first")
		stop := r.expect("terminate timeout")
		r.after(first, stop, tTimeout, "--timeout's stop")
		r.expect("ended", "close") // rank 0 still connected: SLURM ended it
	}, reason: StopTimeout, running: []int{0}, stopped: []int{0}},
	{name: "local failure: the others stopped after the fail delay", n: 3, endOn: []string{"terminate"}, obey: []byte{rankio.CtlTerminate}, script: func(r *supRun) {
		for i := range 3 {
			r.ranks.connect(i)
		}
		r.expect("ranksChanged first")
		r.ranks.exit(2, exitThree, true)
		failed := r.ranks.firstFailure()
		stop := r.expect("ctl terminate", "terminate failure")
		r.after(failed, stop, tFailDelay, "the failure's stop")
		r.expect("ended", "close")
	}, reason: StopFailure, running: []int{0, 1}, stopped: []int{0, 1}},
	{name: "batch failure: stopped after the fail delay, the job ends with srun", batch: true, n: 2, endOn: []string{"ranksEnded"}, obey: []byte{rankio.CtlTerminate}, script: func(r *supRun) {
		r.ranks.connect(0)
		r.ranks.connect(1)
		r.ranks.exit(1, exitThree, true)
		failed := r.ranks.firstFailure()
		stop := r.expect("ctl terminate", "terminate failure")
		r.after(failed, stop, tFailDelay, "the failure's stop")
		r.expect("ranksEnded", "ended", "close")
	}, reason: StopFailure, running: []int{0}, stopped: []int{0}},
	{name: "local launcher never ends: gives up after the stop's deadline, kills the ranks left", n: 1, script: func(r *supRun) {
		r.ranks.connect(0)
		r.expect("ranksChanged first")
		r.cancel()
		stop := r.expect("terminate interrupt")
		r.expect("kill")
		giveUp := r.expect("giveUp")
		r.after(stop, giveUp, tStopWait, "giving up")
		r.expect("kill", "wrapUp", "close") // the rank still connected
	}, reason: StopInterrupt, running: []int{0}, stopped: []int{0}},
	{name: "batch job lingers after its ranks: gives up after doneWait", batch: true, n: 2, script: func(r *supRun) {
		r.ranks.connect(0)
		r.ranks.connect(1)
		r.ranks.exit(0, exitOK, true)
		r.ranks.exit(1, exitOK, true)
		done := r.expect("ranksEnded")
		giveUp := r.expect("giveUp")
		r.after(done, giveUp, tDoneWait, "giving up")
		r.expect("wrapUp", "close")
	}, reason: RanToEnd},
	{name: "batch job does not leave the queue after scancel: gives up", batch: true, n: 1, script: func(r *supRun) {
		r.ranks.connect(0)
		r.cancel()
		stop := r.expect("terminate interrupt")
		r.expect("kill", "ctl kill")
		giveUp := r.expect("giveUp")
		r.after(stop, giveUp, tStopWait, "giving up")
		r.expect("wrapUp", "close")
	}, reason: StopInterrupt, running: []int{0}, stopped: []int{0}},
	{name: "batch cancelled by SLURM: stopCancelled", batch: true, n: 3, slurm: StopCancelled, failDelay: supWait, script: func(r *supRun) {
		for i := range 3 {
			r.ranks.connect(i)
		}
		r.ranks.exit(1, exitOK, true)
		r.ranks.exit(2, rankio.Exit{Code: -1, Signal: int(syscall.SIGTERM)}, true)
		r.end() // rank 0 still runs
		r.expect("ended", "wrapUp", "close")
	}, reason: StopCancelled, running: []int{0, 2}, stopped: []int{0, 2}},
	{name: "batch stopped at its time limit: stopTimeout", batch: true, n: 2, slurm: StopTimeout, failDelay: supWait, script: func(r *supRun) {
		r.ranks.connect(0)
		r.ranks.connect(1)
		r.ranks.exit(1, exitKill, false)
		r.end()
		r.expect("ended", "wrapUp", "close")
	}, reason: StopTimeout, running: []int{0, 1}, stopped: []int{0, 1}},
	{name: "batch failed by itself: no stop of SLURM's", batch: true, n: 2, failDelay: supWait, script: func(r *supRun) {
		r.ranks.connect(0)
		r.ranks.connect(1)
		r.ranks.exit(0, exitOK, true)
		r.ranks.exit(1, exitThree, true)
		r.end()
		r.expect("ended", "wrapUp", "close")
	}, reason: RanToEnd},
	{name: "local leftovers: ranks connected after the launcher exited are killed", n: 1, script: func(r *supRun) {
		r.ranks.connect(0)
		r.expect("ranksChanged first")
		r.end()
		r.expect("kill", "ctl kill", "wrapUp", "close")
	}, reason: RanToEnd},
	{name: "batch leftovers: the job's end ended them, no kill", batch: true, n: 1, script: func(r *supRun) {
		r.ranks.connect(0)
		r.expect("ranksChanged first")
		r.end()
		r.expect("wrapUp", "close")
	}, reason: RanToEnd},
	{name: "local interrupt after the launcher exited: the ranks left are stopped", n: 1, obey: []byte{rankio.CtlTerminate}, connGrace: supWait, script: func(r *supRun) {
		r.ranks.connect(0)
		r.expect("ranksChanged first")
		r.end()
		r.expect("ended")
		r.cancel()
		r.expect("ctl terminate", "terminate interrupt", "wrapUp", "close")
	}, reason: StopInterrupt, running: []int{0}, stopped: []int{0}},
}

func TestSupervisor(t *testing.T) {
	for _, tc := range supCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := startSup(t, tc)
			defer r.cancel()
			tc.script(r)
			oc := r.wait()
			if oc.Reason != tc.reason {
				t.Errorf("reason %s, want %s; events: %s", oc.Reason.String(), tc.reason.String(), r.log())
			}
			if !slices.Equal(oc.Running, tc.running) {
				t.Errorf("running %v, want %v", oc.Running, tc.running)
			}
			var stopped []int
			for _, x := range oc.Results {
				if x.Stopped {
					stopped = append(stopped, x.Rank)
				}
			}
			if !slices.Equal(stopped, tc.stopped) {
				t.Errorf("stopped ranks %v, want %v", stopped, tc.stopped)
			}
			checkSupOrder(t, tc, r)
		})
	}
}

// checkSupOrder checks what must never happen: a kill before a terminate,
// a second terminate, anything after the collector closed, a batch
// backend's kill of ranks after its end.
func checkSupOrder(t *testing.T, tc supCase, r *supRun) {
	t.Helper()
	terms, closed := 0, false
	for _, e := range r.seen {
		switch {
		case closed:
			t.Errorf("%q after the collector closed: %s", e.what, r.log())
		case e.what == "close":
			closed = true
		case strings.HasPrefix(e.what, "terminate "):
			terms++
		case e.what == "kill" && terms == 0 && tc.reason != RanToEnd:
			t.Errorf("kill before terminate: %s", r.log())
		}
	}
	if terms > 1 {
		t.Errorf("%d terminates: %s", terms, r.log())
	}
	if !closed {
		t.Errorf("the collector was not closed: %s", r.log())
	}
	if tc.reason == RanToEnd && (terms > 0 || r.did("ctl terminate")) {
		t.Errorf("a run that ended by itself was stopped: %s", r.log())
	}
	if tc.batch && tc.reason == RanToEnd && r.did("kill") {
		t.Errorf("a batch job's ranks were killed after it ended: %s", r.log())
	}
}
