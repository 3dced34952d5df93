package mpimagic

import (
	"context"
	"errors"
	"time"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// The supervisor runs the ranks of one %mpirun, however they run: through
// a launcher process here (launch.go) or as a SLURM batch job (sbatch.go).
// It alone decides when to stop them (an interrupt, --timeout, a failed
// rank), when a stop turns into a kill, and how long to wait for the
// backend and for the ranks' connections; the backends only carry out
// what it decides, each in its own way.
//
// A run goes through two phases:
//
//  1. follow, until the backend ended (the launcher exited, SLURM says the
//     job ended) or the supervisor gave up waiting for it;
//  2. drain, until every rank's connection has ended or its grace ran out.
//
// Then the collector closes and the outcome is made from what it saw.

// connGrace is how long the ranks' connections get to end after the
// backend ended: a rank's last output may still be on its way.
const connGrace = time.Second

// backendNews is what one of a backend's goroutines learnt: the launcher
// exited, SLURM answered a poll. The supervisor calls apply in its own
// goroutine, so that a backend's state needs no lock.
type backendNews struct {
	apply   func() // takes the news in, e.g. shows it (nil: nothing to do)
	running bool   // the ranks run: the clock of --timeout starts
	ended   bool   // the launcher exited; SLURM says the job ended
}

// backend is how the ranks of a run run. The supervisor calls its methods
// from its own goroutine only, one at a time.
type backend interface {
	// news is where the backend reports (nil: it never does).
	news() <-chan backendNews
	// ranksChanged: a rank started or ended (for the progress line).
	// first: this is the first sign that the ranks run, before the
	// backend said so (a batch job's ranks connect before a poll says
	// that the job runs).
	ranksChanged(first bool)
	// terminate asks the backend to stop the ranks, just after the
	// collector passed CtlTerminate to them.
	terminate(reason stopReason)
	// kill kills what the backend runs, just before the collector passes
	// CtlKill to the ranks; it comes rankio.KillGrace after terminate.
	kill()
	// ranksEnded: every rank ended; the backend should end soon.
	ranksEnded()
	// giveUp: the supervisor stops waiting for the backend to end; it
	// says so (and cleans up what it can).
	giveUp()
	// passOutput passes on what the backend itself wrote since the last
	// call; called after each event while the backend runs.
	passOutput()
	// wrapUp is the backend's last act before the collector closes.
	wrapUp()
	// stoppedBy says whether the backend stopped the ranks itself, and
	// why: stopCancelled, stopTimeout, or ranToEnd when it did not.
	stoppedBy() stopReason
}

// rankSet is what the supervisor uses of the collector.
type rankSet interface {
	changes() <-chan struct{} // poked when a rank starts or ends
	counts() (started, ended int)
	firstFailure() time.Time
	stop() []int
	control(b byte)
	open() bool
	close()
	results() []rankResult
}

// changes is poked when a rank starts or ends.
func (c *collector) changes() <-chan struct{} { return c.changed }

// supervisor runs one run's ranks through a backend; see the top of this
// file. Its timings are fields, set to the real ones by newSupervisor,
// so that tests can shorten them.
type supervisor struct {
	b     backend
	ranks rankSet
	n     int // how many ranks

	// timeout is --timeout where the supervisor counts it: from the
	// moment the ranks run, so that a batch job's time in the queue does
	// not count. A launch here has --timeout as ctx's deadline instead,
	// counted from the launch (its callers set it); 0: none.
	timeout time.Duration
	// endsRanks says that the backend's end is the ranks' end: SLURM ends
	// a job's steps with the job, so after it there is nothing left to
	// stop or kill. A launcher may exit and leave ranks behind: then a
	// stop goes on after its exit, and the ranks left are killed.
	endsRanks bool

	failDelay time.Duration // from the first failed rank to the stop: failStopDelay
	killGrace time.Duration // from terminate to kill: rankio.KillGrace
	stopWait  time.Duration // from a stop to giving up on the backend: stopDeadline
	doneWait  time.Duration // from every rank's end to giving up on it (0: wait)
	connGrace time.Duration // for the connections after the backend ended: connGrace

	// what run learns, in its own goroutine
	ctx      context.Context
	done     <-chan struct{} // ctx.Done() until it fired
	oc       outcome         // reason and running
	stopAt   time.Time       // when the stop began (zero: none)
	ranAt    time.Time       // when the ranks began to run (zero: never)
	allEnded bool            // every rank ended

	clock, failTimer, escalate, giveUp <-chan time.Time
}

// newSupervisor supervises n ranks, seen by ranks, that run through b.
func newSupervisor(b backend, ranks rankSet, n int) *supervisor {
	return &supervisor{
		b: b, ranks: ranks, n: n,
		failDelay: failStopDelay, killGrace: rankio.KillGrace, stopWait: stopDeadline, connGrace: connGrace,
	}
}

// run supervises the ranks until the backend and every rank's connection
// are gone (or their time ran out), then closes the collector and returns
// how the ranks ended: results, reason and running. Cancelling ctx stops
// the ranks; its deadline is --timeout.
func (s *supervisor) run(ctx context.Context) *outcome {
	s.ctx, s.done = ctx, ctx.Done()
	s.follow()
	s.drain()
	s.b.wrapUp()
	s.ranks.close()
	return s.verdict()
}

// follow handles events until the backend ended or the supervisor gave up
// waiting for it.
func (s *supervisor) follow() {
	for {
		select {
		case <-s.done:
			s.done = nil
			s.beginStop(s.cancelReason())
		case n := <-s.b.news():
			if n.apply != nil {
				n.apply()
			}
			if n.running {
				s.startClock()
			}
			if n.ended {
				s.b.passOutput()
				return
			}
		case <-s.ranks.changes():
			s.ranksChanged()
		case <-s.clock:
			s.clock = nil
			s.beginStop(stopTimeout)
		case <-s.failTimer:
			s.beginStop(stopFailure)
		case <-s.escalate:
			s.escalate = nil
			s.killAll()
		case <-s.giveUp:
			s.b.giveUp()
			return
		}
		s.b.passOutput()
	}
}

// cancelReason is why ctx ended: its deadline is --timeout, anything else
// (the cell interrupted, the kernel shutting down) an interrupt.
func (s *supervisor) cancelReason() stopReason {
	if errors.Is(s.ctx.Err(), context.DeadlineExceeded) {
		return stopTimeout
	}
	return stopInterrupt
}

// startClock notes that the ranks run and starts --timeout's clock.
func (s *supervisor) startClock() {
	if !s.ranAt.IsZero() {
		return
	}
	s.ranAt = time.Now()
	if s.timeout > 0 {
		s.clock = time.After(s.timeout)
	}
}

// ranksChanged handles a rank's start or end: a rank that connected says
// that the ranks run; a failed rank gives the others failDelay to be
// stopped by the launcher (or srun) before the supervisor stops them;
// when every rank ended, the backend gets doneWait to end.
func (s *supervisor) ranksChanged() {
	first := s.ranAt.IsZero()
	if first {
		s.startClock()
	}
	s.b.ranksChanged(first)
	if s.failTimer == nil && !s.ranks.firstFailure().IsZero() {
		s.failTimer = time.After(s.failDelay)
	}
	if started, ended := s.ranks.counts(); !s.allEnded && started == s.n && ended == s.n {
		s.allEnded = true
		if s.doneWait > 0 {
			s.giveUp = time.After(s.doneWait)
		}
		s.b.ranksEnded()
	}
}

// beginStop stops the ranks (once): CtlTerminate to every rank's wrapper
// and the backend's own stop; after killGrace they are killed, after
// stopWait the supervisor stops waiting for the backend.
func (s *supervisor) beginStop(reason stopReason) {
	if !s.stopAt.IsZero() {
		return
	}
	s.oc.reason, s.stopAt = reason, time.Now()
	s.oc.running = s.ranks.stop()
	s.ranks.control(rankio.CtlTerminate)
	s.b.terminate(reason)
	s.escalate, s.giveUp = time.After(s.killGrace), time.After(s.stopWait)
}

// killAll kills the ranks: the backend's kill, CtlKill to every wrapper.
func (s *supervisor) killAll() {
	s.b.kill()
	s.ranks.control(rankio.CtlKill)
}

// drain gives the ranks' connections connGrace to end after the backend
// ended. When the backend's end does not end the ranks, the stop goes on
// meanwhile (an interrupt, the escalation to kill), the grace of a stop
// lasts until its deadline, and the ranks still connected after it are
// killed: no rank may outlive the cell.
func (s *supervisor) drain() {
	until := time.Now().Add(s.connGrace)
	switch {
	case s.endsRanks:
		s.done, s.escalate = nil, nil // nothing left to stop or kill
	case !s.stopAt.IsZero():
		until = s.stopAt.Add(s.stopWait)
	}
	grace := time.After(time.Until(until))
	for s.ranks.open() {
		select {
		case <-s.ranks.changes():
			continue
		case <-s.done:
			s.done = nil
			s.beginStop(s.cancelReason())
			continue
		case <-s.escalate:
			s.escalate = nil
			s.killAll()
			continue
		case <-grace:
		}
		break
	}
	if !s.endsRanks && s.ranks.open() {
		s.killAll()
	}
}

// verdict is how the ranks ended, from the closed collector: ranks the
// supervisor or a failure stopped are marked so, and so are those the
// backend stopped itself (SLURM's time limit, a scancel from elsewhere),
// which then gives the reason.
func (s *supervisor) verdict() *outcome {
	oc := s.oc
	oc.results = s.ranks.results()
	markStopped(oc.results, oc.running, s.stopAt, s.ranks.firstFailure())
	if oc.reason != ranToEnd {
		return &oc
	}
	if oc.reason = s.b.stoppedBy(); oc.reason == ranToEnd {
		return &oc
	}
	for i := range oc.results {
		r := &oc.results[i]
		if r.Started && (!r.Exited || r.Exit.Signal != 0 || r.Exit.Code > 128) {
			r.Stopped = true
			oc.running = append(oc.running, r.Rank)
		}
	}
	return &oc
}
