package mpimagic

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/px"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// %ranks start --sbatch: the ranks run as a SLURM batch job, submitted the
// way %mpirun --sbatch submits a cell (the same job script, in a private
// directory under the cache, which the nodes see): the job runs the rank
// interpreter with srun, MPIGO_PX pointing back to the kernel. The pool
// (package px) follows the job through the px.Job below while the ranks
// start, and cancels it when it closes.

// ranksJobName is the SLURM name of the ranks' jobs.
const ranksJobName = "mpigo-ranks"

// ranksSubmitter is px.Spec.Submit for o, whose ranks srun (l) starts.
func (m *Magic) ranksSubmitter(o Options, l *launch.Launcher) func(ctx context.Context, program, env []string) (px.Job, error) {
	return func(ctx context.Context, program, env []string) (px.Job, error) {
		bc, err := m.cache()
		if err != nil {
			return nil, err
		}
		dir, err := batchJobDir(bc.Dir())
		if err != nil {
			return nil, err
		}
		j, err := submitRanks(o, l, dir, program, env)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		return j, nil
	}
}

// submitRanks writes the ranks' job script into dir and submits it.
func submitRanks(o Options, l *launch.Launcher, dir string, program, env []string) (*ranksJob, error) {
	spec := batchSpec{
		opts: o, name: ranksJobName, cellName: "%ranks start",
		output: filepath.Join(dir, "slurm-%j.out"), env: env, mpi: l.MPIPlugin, program: program,
	}
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte(batchScript(spec)), 0o700); err != nil {
		return nil, fmt.Errorf("writing the job script: %w", err)
	}
	args := append([]string{"--parsable"}, o.LauncherArgs...)
	args = append(args, script)
	j := &ranksJob{dir: dir, env: slurm.ClientEnv(o.env.Child()), states: make(chan slurm.JobState), quit: make(chan struct{})}
	// not bound to the cell's context: once sbatch runs, the job id must
	// be learnt, to cancel the job
	out, err := slurm.Command(context.Background(), j.env, "sbatch", args...)
	if err == nil {
		j.id, err = slurm.JobID(out)
	}
	if err != nil {
		return nil, submitError(err, args[:len(args)-1])
	}
	j.outFile = filepath.Join(dir, "slurm-"+j.id+".out")
	j.scontrol = (&batchRun{env: j.env}).haveScontrol()
	j.poller = slurm.StartPoller(j.env, j.id, j.scontrol)
	go j.forward()
	return j, nil
}

// ranksJob is the px.Job of %ranks start --sbatch.
type ranksJob struct {
	id, dir, outFile string
	env              []string // of the SLURM commands
	scontrol         bool
	poller           *slurm.Poller
	states           chan slurm.JobState
	quit             chan struct{}
	unfollow         sync.Once
	cancel           sync.Once
	cancelErr        error
}

// ID is SLURM's job id.
func (j *ranksJob) ID() string { return j.id }

// States passes on the poller's answers.
func (j *ranksJob) States() <-chan slurm.JobState { return j.states }

// forward passes the poller's states on until one that ended, or Unfollow.
func (j *ranksJob) forward() {
	defer close(j.states)
	for {
		select {
		case s := <-j.poller.States:
			select {
			case j.states <- s:
			case <-j.quit:
				return
			}
			if s.Ended() {
				return
			}
		case <-j.poller.Errs: // the next poll tries again
		case <-j.quit:
			return
		}
	}
}

// Unfollow stops the polls.
func (j *ranksJob) Unfollow() {
	j.unfollow.Do(func() {
		close(j.quit)
		j.poller.Stop()
	})
}

// Query asks SLURM for the job's state.
func (j *ranksJob) Query(ctx context.Context) (slurm.JobState, error) {
	return slurm.Query(ctx, j.env, j.id, j.scontrol)
}

// Cancel cancels the job unless it ended, waits up to jobEndWait until
// SLURM says it ended, and removes its directory.
func (j *ranksJob) Cancel() error {
	j.cancel.Do(func() {
		j.Unfollow()
		defer os.RemoveAll(j.dir)
		ctx, stop := context.WithTimeout(context.Background(), jobEndWait)
		defer stop()
		if s, err := j.Query(ctx); err == nil && s.Ended() {
			return
		}
		_, err := slurm.Command(ctx, j.env, "scancel", j.id)
		// scancel fails for a job that is ending by itself meanwhile
		werr := j.awaitEnd(ctx)
		if werr != nil && err != nil {
			werr = fmt.Errorf("%%ranks: scancel %s failed (%v): the job may still be in the queue: check with squeue -j %s", j.id, err, j.id)
		}
		j.cancelErr = werr
	})
	return j.cancelErr
}

// awaitEnd waits until SLURM says the job ended, or ctx is done.
func (j *ranksJob) awaitEnd(ctx context.Context) error {
	for {
		if s, err := j.Query(ctx); err == nil && s.Ended() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%%ranks: job %s was cancelled but did not leave the queue within %s: check with squeue -j %s", j.id, jobEndWait, j.id)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Output is what SLURM and srun wrote in the job's output file.
func (j *ranksJob) Output() string { return string(tailFile(j.outFile, 0)) }
