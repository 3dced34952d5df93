package px

import (
	"context"
	"fmt"
	"time"

	"github.com/mpigo/mpigo/mpimagic/report"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// Ranks in a batch job (%ranks start --sbatch): instead of a launcher
// here, Spec.Submit hands the ranks' command to SLURM, and the pool
// follows the job's state on the progress line until every rank said
// hello. Then it stops asking SLURM (a notebook may keep its ranks for
// hours): a job that ends meanwhile (its time limit, a scancel outside the
// notebook) closes the ranks' connections, and the next %px or %ranks asks
// SLURM how it ended (JobEnded). Close cancels the job.

// jobEndWait bounds the wait for SLURM to report the end of a job that was
// cancelled, or whose ranks are all gone.
const jobEndWait = 20 * time.Second

// Job is the batch job the ranks run in, as Spec.Submit returns it.
type Job interface {
	// ID is SLURM's job id.
	ID() string
	// States passes on the job's state as SLURM reports it, until
	// Unfollow or until a state that Ended, after which it is closed.
	States() <-chan slurm.JobState
	// Unfollow stops asking SLURM for the state (States then closes).
	Unfollow()
	// Query asks SLURM for the job's state now.
	Query(ctx context.Context) (slurm.JobState, error)
	// Cancel cancels the job (scancel) unless it ended, and waits, within
	// a bound, until SLURM says it ended; it removes the job's files.
	Cancel() error
	// Output is what SLURM and srun wrote in the job's output file.
	Output() string
}

// JobID is the id of the job the ranks run in, "" when a launcher here
// started them.
func (p *Pool) JobID() string {
	if p.spec.Submit == nil || p.job == nil {
		return ""
	}
	return p.job.ID()
}

// followJob records the job's states for the progress line, and closes
// exited when SLURM says the job ended.
func (p *Pool) followJob() {
	for s := range p.job.States() {
		p.mu.Lock()
		p.jobState = s
		if s.Ended() {
			p.exitErr = fmt.Errorf("job %s %s", p.job.ID(), s.Final())
		}
		p.mu.Unlock()
		p.poke()
		if s.Ended() {
			close(p.exited)
			return
		}
	}
}

// startText is the progress line while the ranks start, n of them
// connected; what names them ("4 ranks with srun").
func (p *Pool) startText(what string, n int) string {
	if p.job == nil {
		return fmt.Sprintf("starting %s: %d of %d connected", what, n, p.N())
	}
	p.mu.Lock()
	s := p.jobState
	p.mu.Unlock()
	if n > 0 && !s.Started() { // a hello says that it runs before a poll does
		s = slurm.JobState{State: "RUNNING", Nodes: s.Nodes}
	}
	text := "job " + p.job.ID() + " " + s.Describe()
	if !s.Started() {
		return text + ", " + slurm.Waited(time.Since(p.started)) + " in the queue"
	}
	return fmt.Sprintf("%s: %d of %d connected", text, n, p.N())
}

// running reports whether the ranks may be starting, n of them
// connected: the launcher runs, or the job left the queue (a rank said
// hello, or SLURM said so).
func (p *Pool) running(n int) bool {
	if p.job == nil || n > 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jobState.Started()
}

// startedText is the progress line once every rank connected.
func (p *Pool) startedText(what string) string {
	took := "in " + report.Seconds(time.Since(p.started))
	if p.job == nil {
		return what + " started " + took
	}
	p.mu.Lock()
	nodes := p.jobState.Nodes
	p.mu.Unlock()
	if nodes != "" {
		nodes = " on " + nodes
	}
	return fmt.Sprintf("%s started in job %s%s %s (%s cancels the job)", what, p.job.ID(), nodes, took, "%ranks stop")
}

// endJob ends the job after the stop requests: the ranks get stopWait to
// finalize and close their connections, then the job is cancelled.
func (p *Pool) endJob() error {
	gone := make(chan struct{})
	go func() {
		p.conns.Wait()
		close(gone)
	}()
	select {
	case <-gone:
	case <-time.After(stopWait):
		p.closeConns()
	}
	return p.job.Cancel()
}

// JobEnded reports whether the job the ranks ran in has ended (at its time
// limit, cancelled outside the notebook), and its last state. It asks SLURM
// only once a rank was lost: live ranks mean a live job.
func (p *Pool) JobEnded(ctx context.Context) (slurm.JobState, bool) {
	if p.job == nil {
		return slurm.JobState{}, false
	}
	live, lost := p.liveAndLost()
	if lost == 0 {
		return slurm.JobState{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, jobEndWait)
	defer cancel()
	for {
		s, err := p.job.Query(ctx)
		// with no rank left, a job on its way out (COMPLETING) gets the
		// time to say how it ended
		if (err == nil && s.Ended()) || (live > 0 && err == nil) || ctx.Err() != nil {
			return s, err == nil && s.Ended()
		}
		select {
		case <-ctx.Done():
		case <-time.After(slurmRetry):
		}
	}
}

// slurmRetry is the pause between two questions to SLURM about a job on
// its way out.
const slurmRetry = 200 * time.Millisecond

// liveAndLost counts the ranks still connected and those lost.
func (p *Pool) liveAndLost() (live, lost int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.ranks {
		switch {
		case r == nil || r.lost:
			lost++
		default:
			live++
		}
	}
	return live, lost
}
