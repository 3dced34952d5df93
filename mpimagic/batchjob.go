package mpimagic

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// The batch backend of --sbatch: the supervisor of package launch runs the
// job's ranks through it, as it runs a launch here through the launcher's
// process group.

// follow waits for the job to end, showing its state and its ranks'
// output, and cancels it on interrupt or --timeout. It returns how the
// ranks ended and when the job began running (zero: never).
func (b *batchRun) follow(ctx context.Context, col *launch.Collector, submitted time.Time) (*launch.Outcome, time.Time) {
	j := startBatchJob(b, col, submitted)
	defer j.close()
	s := launch.NewSupervisor(j, col, b.c.o.N)
	s.Timeout = b.c.o.Timeout // counted from the job's start, not from its submission
	// SLURM may take a while to end a job: after a stop, and after its
	// ranks ended, the job gets jobEndWait to leave the queue; SLURM ends
	// the ranks with the job.
	s.StopWait, s.DoneWait, s.EndsRanks = jobEndWait, jobEndWait, true
	oc := s.Run(ctx)
	b.readOutput(col)
	oc.LauncherText = b.outText.String()
	if !b.state.Ended() || b.state.State != "COMPLETED" {
		oc.LauncherErr = fmt.Errorf("job %s %s", b.id, b.state.Final())
	}
	if !s.RanAt.IsZero() {
		oc.Took = time.Since(s.RanAt)
	}
	return oc, s.RanAt
}

// batchJob is the backend of --sbatch: the job, as SLURM's answers to the
// poller describe it. The ranks run on nodes out of reach: the job is
// stopped with scancel, and SLURM kills what is left of it.
type batchJob struct {
	*batchRun
	col       *launch.Collector
	p         *slurm.Poller
	answers   chan launch.News // the poller's answers and the progress line's ticks
	quit      chan struct{}
	submitted time.Time
	cancelled bool   // scancel ran
	stopping  bool   // the ranks are being stopped: the progress line says so
	lastErr   string // the last failed poll's error
	pollErr   string // its first line, while no poll succeeded since
	shown     string // the progress line
}

// startBatchJob starts polling job b.id and shows it pending.
func startBatchJob(b *batchRun, col *launch.Collector, submitted time.Time) *batchJob {
	j := &batchJob{batchRun: b, col: col, p: slurm.StartPoller(b.env, b.id, b.haveScontrol()), answers: make(chan launch.News), quit: make(chan struct{}), submitted: submitted}
	go j.forward()
	j.state = slurm.JobState{State: "PENDING"}
	j.show()
	return j
}

// forward passes the poller's answers on, and a tick every slurm.PollEvery: the
// time in the queue on the progress line goes on.
func (j *batchJob) forward() {
	tick := time.NewTicker(slurm.PollEvery)
	defer tick.Stop()
	for {
		var n launch.News
		select {
		case s := <-j.p.States:
			n = launch.News{Apply: func() { j.state, j.pollErr = s, ""; j.show() }, Running: s.Started(), Ended: s.Ended()}
		case err := <-j.p.Errs:
			n = launch.News{Apply: func() { j.pollFailed(err) }}
		case <-tick.C:
			n = launch.News{Apply: j.show}
		case <-j.quit:
			return
		}
		select {
		case j.answers <- n:
		case <-j.quit:
			return
		}
	}
}

// close ends the polls.
func (j *batchJob) close() {
	close(j.quit)
	j.p.Stop()
}

func (j *batchJob) pollFailed(err error) {
	j.lastErr, j.pollErr = err.Error(), firstLine(err.Error())
	j.c.m.log.Debug("mpirun --sbatch: polling the job", "job", j.id, "err", err)
	j.show()
}

// show sets the progress line: the job's state, its time in the queue,
// its ranks; not while the ranks are being stopped.
func (j *batchJob) show() {
	if j.stopping {
		return
	}
	text := "job " + j.id + " " + j.state.Describe()
	if j.state.State == "PENDING" || j.state.State == "" {
		text += ", " + slurm.Waited(time.Since(j.submitted)) + " in the queue"
	}
	if started, ended := j.col.Counts(); started > 0 {
		text += fmt.Sprintf(": %d of %d ranks started, %d finished", started, j.c.o.N, ended)
	}
	if j.pollErr != "" {
		text += " (asking SLURM for its state failed: " + j.pollErr + "; trying again)"
	}
	if text != j.shown {
		j.shown = text
		j.c.pr.Set(text, false)
	}
}

// scancel cancels the job (once).
func (j *batchJob) scancel() {
	if j.cancelled {
		return
	}
	j.cancelled = true
	if _, err := slurm.Command(context.Background(), j.env, "scancel", j.id); err != nil {
		j.c.m.log.Warn("mpirun --sbatch: scancel failed", "job", j.id, "err", err)
		j.cancelErr = err
	}
}

func (j *batchJob) News() <-chan launch.News { return j.answers }

// RanksChanged shows the ranks; the first to connect says that the job
// runs, maybe before a poll does.
func (j *batchJob) RanksChanged(first bool) {
	if first {
		j.state = slurm.JobState{State: "RUNNING", Nodes: j.state.Nodes}
	}
	j.show()
}

// Terminate cancels the job, except after a rank failed: srun's
// --kill-on-bad-exit stops the job's other ranks then, and the job ends
// with the failure's exit status. Either way the job should end soon.
func (j *batchJob) Terminate(reason launch.StopReason) {
	j.stopping = true
	if reason != launch.StopFailure {
		j.c.pr.Set("cancelling job "+j.id+" (scancel)…", false)
		j.scancel()
	}
	j.p.Faster()
}

// Kill does nothing beyond the collector's CtlKill: the ranks run on
// nodes out of reach; scancel (after a failure, srun's
// --Kill-on-bad-exit) ends the job, and SLURM kills what is left of it.
func (j *batchJob) Kill() {}

// RanksEnded: the job should end now.
func (j *batchJob) RanksEnded() { j.p.Faster() }

// GiveUp: the job outlived its ranks (or its stop) by jobEndWait: cancel
// it, if that was not done, and say that it may still be in the queue.
func (j *batchJob) GiveUp() {
	j.c.m.log.Warn("mpirun --sbatch: the job did not end", "job", j.id, "state", j.state.State)
	j.scancel()
	j.state.State = strings.TrimSpace(j.state.State + " (still in the queue: check squeue -j " + j.id + ")")
}

// PassOutput passes on what SLURM and srun wrote in the job's output file.
func (j *batchJob) PassOutput() { j.readOutput(j.col) }

// WrapUp shows SLURM's last error when it never said how the job ended.
func (j *batchJob) WrapUp() {
	if j.lastErr != "" && j.state.Gone && j.state.State == "" {
		j.c.verbose("last SLURM error: " + j.lastErr)
	}
}

// StoppedBy: SLURM stopped the job at its time limit, or someone else
// cancelled it (scancel, an administrator): the ranks it caught were
// stopped, not failed.
func (j *batchJob) StoppedBy() launch.StopReason {
	switch j.state.State {
	case "TIMEOUT":
		return launch.StopTimeout
	case "CANCELLED":
		return launch.StopCancelled
	}
	return launch.RanToEnd
}

// readOutput passes on what the job's output file gained (what SLURM and
// srun say), unless a rank failed or the ranks are being stopped.
func (b *batchRun) readOutput(col *launch.Collector) {
	if b.outFile == "" {
		return
	}
	data := tailFile(b.outFile, b.outOff)
	if !b.state.Ended() { // whole lines only while the job runs
		data = data[:bytes.LastIndexByte(data, '\n')+1]
	}
	if len(data) == 0 {
		return
	}
	b.outOff += int64(len(data))
	if b.outText.Len() < launch.MaxLauncherText {
		b.outText.Write(data)
	}
	if !col.Quiet() {
		if !bytes.HasSuffix(data, []byte("\n")) {
			data = append(data, '\n')
		}
		b.c.em.Text("stderr", data)
	}
}

// haveScontrol reports whether scontrol is on the PATH of SLURM's
// commands (squeue answers where it is not).
func (b *batchRun) haveScontrol() bool {
	_, err := environ.New(b.env...).LookPath("scontrol")
	return err == nil
}

// tailFile reads what a file gained since offset (at most
// launch.MaxLauncherText bytes at a time).
func tailFile(path string, offset int64) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(f, launch.MaxLauncherText))
	return b
}
