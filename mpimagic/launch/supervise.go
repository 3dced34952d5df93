package launch

import (
	"context"
	"errors"
	"time"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// The supervisor runs the ranks of one %mpirun, however they run: through
// a launcher process here (launch.go) or as a SLURM batch job (the batch
// backend of package mpimagic).
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

// failStopDelay is how long the launcher gets to stop the other ranks
// after one failed before the supervisor stops them itself.
const failStopDelay = 1500 * time.Millisecond

// stopDeadline bounds a stop: after it the launcher and every rank have
// been SIGKILLed and the supervisor stops waiting.
const stopDeadline = 1800 * time.Millisecond

// connGrace is how long the ranks' connections get to end after the
// backend ended: a rank's last output may still be on its way.
const connGrace = time.Second

// News is what one of a backend's goroutines learnt: the launcher
// exited, SLURM answered a poll. The supervisor calls apply in its own
// goroutine, so that a backend's state needs no lock.
type News struct {
	Apply   func() // takes the news in, e.g. shows it (nil: nothing to do)
	Running bool   // the ranks run: the clock of --timeout starts
	Ended   bool   // the launcher exited; SLURM says the job ended
}

// Backend is how the ranks of a run run. The supervisor calls its methods
// from its own goroutine only, one at a time.
type Backend interface {
	// News is where the backend reports (nil: it never does).
	News() <-chan News
	// RanksChanged: a rank started or ended (for the progress line).
	// first: this is the first sign that the ranks run, before the
	// backend said so (a batch job's ranks connect before a poll says
	// that the job runs).
	RanksChanged(first bool)
	// Terminate asks the backend to stop the ranks, just after the
	// collector passed CtlTerminate to them.
	Terminate(reason StopReason)
	// Kill kills what the backend runs, just before the collector passes
	// CtlKill to the ranks; it comes rankio.KillGrace after terminate.
	Kill()
	// RanksEnded: every rank ended; the backend should end soon.
	RanksEnded()
	// GiveUp: the supervisor stops waiting for the backend to end; it
	// says so (and cleans up what it can).
	GiveUp()
	// PassOutput passes on what the backend itself wrote since the last
	// call; called after each event while the backend runs.
	PassOutput()
	// WrapUp is the backend's last act before the collector closes.
	WrapUp()
	// StoppedBy says whether the backend stopped the ranks itself, and
	// why: stopCancelled, stopTimeout, or ranToEnd when it did not.
	StoppedBy() StopReason
}

// rankSet is what the supervisor uses of the collector.
type rankSet interface {
	changes() <-chan struct{} // poked when a rank starts or ends
	Counts() (started, ended int)
	firstFailure() time.Time
	stop() []int
	control(b byte)
	open() bool
	Close()
	results() []RankResult
}

// changes is poked when a rank starts or ends.
func (c *Collector) changes() <-chan struct{} { return c.changed }

// Supervisor runs one run's ranks through a backend; see the top of this
// file. Its timings are fields, set to the real ones by newSupervisor,
// so that tests can shorten them.
type Supervisor struct {
	b     Backend
	ranks rankSet
	n     int // how many ranks

	// Timeout is --Timeout where the supervisor counts it: from the
	// moment the ranks run, so that a batch job's time in the queue does
	// not count. A launch here has --Timeout as ctx's deadline instead,
	// counted from the launch (its callers set it); 0: none.
	Timeout time.Duration
	// EndsRanks says that the backend's end is the ranks' end: SLURM ends
	// a job's steps with the job, so after it there is nothing left to
	// stop or kill. A launcher may exit and leave ranks behind: then a
	// stop goes on after its exit, and the ranks left are killed.
	EndsRanks bool

	failDelay time.Duration // from the first failed rank to the stop: failStopDelay
	killGrace time.Duration // from terminate to kill: rankio.KillGrace
	StopWait  time.Duration // from a stop to giving up on the backend: stopDeadline
	DoneWait  time.Duration // from every rank's end to giving up on it (0: wait)
	connGrace time.Duration // for the connections after the backend ended: connGrace

	// what run learns, in its own goroutine
	ctx      context.Context
	done     <-chan struct{} // ctx.Done() until it fired
	oc       Outcome         // reason and running
	stopAt   time.Time       // when the stop began (zero: none)
	RanAt    time.Time       // when the ranks began to run (zero: never)
	allEnded bool            // every rank ended

	clock, failTimer, escalate, giveUp <-chan time.Time
}

// NewSupervisor supervises n ranks, seen by ranks, that run through b.
func NewSupervisor(b Backend, ranks rankSet, n int) *Supervisor {
	return &Supervisor{
		b: b, ranks: ranks, n: n,
		failDelay: failStopDelay, killGrace: rankio.KillGrace, StopWait: stopDeadline, connGrace: connGrace,
	}
}

// Run supervises the ranks until the backend and every rank's connection
// are gone (or their time ran out), then closes the collector and returns
// how the ranks ended: results, reason and running. Cancelling ctx stops
// the ranks; its deadline is --timeout.
func (s *Supervisor) Run(ctx context.Context) *Outcome {
	s.ctx, s.done = ctx, ctx.Done()
	s.follow()
	s.drain()
	s.b.WrapUp()
	s.ranks.Close()
	return s.verdict()
}

// follow handles events until the backend ended or the supervisor gave up
// waiting for it.
func (s *Supervisor) follow() {
	for {
		select {
		case <-s.done:
			s.done = nil
			s.beginStop(s.cancelReason())
		case n := <-s.b.News():
			if n.Apply != nil {
				n.Apply()
			}
			if n.Running {
				s.startClock()
			}
			if n.Ended {
				s.b.PassOutput()
				return
			}
		case <-s.ranks.changes():
			s.ranksChanged()
		case <-s.clock:
			s.clock = nil
			s.beginStop(StopTimeout)
		case <-s.failTimer:
			s.beginStop(StopFailure)
		case <-s.escalate:
			s.escalate = nil
			s.killAll()
		case <-s.giveUp:
			s.b.GiveUp()
			return
		}
		s.b.PassOutput()
	}
}

// cancelReason is why ctx ended: its deadline is --timeout, anything else
// (the cell interrupted, the kernel shutting down) an interrupt.
func (s *Supervisor) cancelReason() StopReason {
	if errors.Is(s.ctx.Err(), context.DeadlineExceeded) {
		return StopTimeout
	}
	return StopInterrupt
}

// startClock notes that the ranks run and starts --timeout's clock.
func (s *Supervisor) startClock() {
	if !s.RanAt.IsZero() {
		return
	}
	s.RanAt = time.Now()
	if s.Timeout > 0 {
		s.clock = time.After(s.Timeout)
	}
}

// ranksChanged handles a rank's start or end: a rank that connected says
// that the ranks run; a failed rank gives the others failDelay to be
// stopped by the launcher (or srun) before the supervisor stops them;
// when every rank ended, the backend gets doneWait to end.
func (s *Supervisor) ranksChanged() {
	first := s.RanAt.IsZero()
	if first {
		s.startClock()
	}
	s.b.RanksChanged(first)
	if s.failTimer == nil && !s.ranks.firstFailure().IsZero() {
		s.failTimer = time.After(s.failDelay)
	}
	if started, ended := s.ranks.Counts(); !s.allEnded && started == s.n && ended == s.n {
		s.allEnded = true
		if s.DoneWait > 0 {
			s.giveUp = time.After(s.DoneWait)
		}
		s.b.RanksEnded()
	}
}

// beginStop stops the ranks (once): CtlTerminate to every rank's wrapper
// and the backend's own stop; after killGrace they are killed, after
// stopWait the supervisor stops waiting for the backend.
func (s *Supervisor) beginStop(reason StopReason) {
	if !s.stopAt.IsZero() {
		return
	}
	s.oc.Reason, s.stopAt = reason, time.Now()
	s.oc.Running = s.ranks.stop()
	s.ranks.control(rankio.CtlTerminate)
	s.b.Terminate(reason)
	s.escalate, s.giveUp = time.After(s.killGrace), time.After(s.StopWait)
}

// killAll kills the ranks: the backend's kill, CtlKill to every wrapper.
func (s *Supervisor) killAll() {
	s.b.Kill()
	s.ranks.control(rankio.CtlKill)
}

// drain gives the ranks' connections connGrace to end after the backend
// ended. When the backend's end does not end the ranks, the stop goes on
// meanwhile (an interrupt, the escalation to kill), the grace of a stop
// lasts until its deadline, and the ranks still connected after it are
// killed: no rank may outlive the cell.
func (s *Supervisor) drain() {
	until := time.Now().Add(s.connGrace)
	switch {
	case s.EndsRanks:
		s.done, s.escalate = nil, nil // nothing left to stop or kill
	case !s.stopAt.IsZero():
		until = s.stopAt.Add(s.StopWait)
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
	if !s.EndsRanks && s.ranks.open() {
		s.killAll()
	}
}

// verdict is how the ranks ended, from the closed collector: ranks the
// supervisor or a failure stopped are marked so, and so are those the
// backend stopped itself (SLURM's time limit, a scancel from elsewhere),
// which then gives the reason.
func (s *Supervisor) verdict() *Outcome {
	oc := s.oc
	oc.Results = s.ranks.results()
	markStopped(oc.Results, oc.Running, s.stopAt, s.ranks.firstFailure())
	if oc.Reason != RanToEnd {
		return &oc
	}
	if oc.Reason = s.b.StoppedBy(); oc.Reason == RanToEnd {
		return &oc
	}
	for i := range oc.Results {
		r := &oc.Results[i]
		if r.Started && (!r.Exited || r.Exit.Signal != 0 || r.Exit.Code > 128) {
			r.Stopped = true
			oc.Running = append(oc.Running, r.Rank)
		}
	}
	return &oc
}
