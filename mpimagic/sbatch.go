package mpimagic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/mpimagic/report"
	"github.com/mpigo/mpigo/mpimagic/shell"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// %mpirun --sbatch submits the cell as a SLURM batch job instead of
// launching it here, for a kernel outside an allocation big enough for -n:
//
//  1. The program and the rank wrapper are built as for any cell, in the
//     cache directory (~/.cache/mpigo), which the compute nodes must see.
//  2. A job script is written to a private directory of its own under
//     CACHE/sbatch (not /tmp: the nodes see their own /tmp), with the
//     #SBATCH lines of -n, -p, -t, -N, --account and the variables of the
//     rank I/O channel; it runs the wrapper and the program with srun.
//  3. sbatch --parsable submits it; the words after -- go to sbatch.
//  4. While the job waits and runs, scontrol (squeue where scontrol is
//     missing) is asked for its state every pollEvery, and the progress
//     line shows it: "job 123 pending (Resources)", "job 123 running on
//     n[1-2]". The ranks connect back to the collector in the kernel over
//     TCP, exactly as for a launch here, so their output is live.
//  5. The cell ends when SLURM says the job ended, with the summary and the
//     job's final state (from scontrol while SLURM remembers the job, else
//     from sacct where accounting is enabled). Interrupt, --timeout
//     (counted from the job's start) and shutting the kernel down cancel
//     the job with scancel, and the cell waits until it has left the queue.

const (
	// jobEndWait is how long the cell waits, after every rank ended or the
	// job was cancelled, for SLURM to report the job's end; after it the
	// job is cancelled (if it was not) and the cell ends anyway.
	jobEndWait = 20 * time.Second
	// jobDirMaxAge is the age from which job directories left by a kernel
	// that was killed are removed.
	jobDirMaxAge = 24 * time.Hour
)

// checkSbatch rejects flags that do not go with --sbatch.
func checkSbatch(o Options) error {
	switch {
	case o.Export != "":
		return errors.New("--sbatch and --export do not go together: --sbatch submits the cell now, --export writes it out with a job file to submit later")
	case o.Hosts != "" || o.Hostfile != "":
		return errors.New("--hosts and --hostfile choose the hosts of a launch here; with --sbatch SLURM chooses the nodes: use -N NODES, or name them for sbatch after -- (-- --nodelist=n1,n2)")
	case o.Launcher != "auto" && o.Launcher != "srun":
		return fmt.Errorf("--launcher %s does not go with --sbatch: the batch job starts its ranks with srun", o.Launcher)
	}
	return slurm.CheckEnv(o.Env)
}

// batchSpec is what the job script is made from.
type batchSpec struct {
	opts     Options
	name     string   // the job's name
	cellName string   // cell[N]
	output   string   // the job's output file (with %j)
	env      []string // K=V exported for the ranks: rank I/O, display, --env
	mpi      string   // srun's --mpi plugin ("" for srun's default)
	wrapper  []string // the rank wrapper's command
	program  []string // the program
}

// batchTime is the job's time limit: -t, else --timeout rounded up to the
// minute, else "" (the partition's default).
func batchTime(o Options) string {
	switch {
	case o.Batch.Time != "":
		return o.Batch.Time
	case o.Timeout > 0:
		return slurm.Duration(o.Timeout)
	}
	return ""
}

// batchScript is the job script of --sbatch.
func batchScript(s batchSpec) string {
	o := s.opts
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	for _, line := range slurm.Directives(s.name, o.N, batchTime(o), s.output, o.Batch) {
		b.WriteString(line + "\n")
	}
	fmt.Fprintf(&b, `
# %%mpirun --sbatch of %s, written by mpigo: runs the cell's program (built in
# mpigo's cache) on %s with srun; each rank's output goes back to the notebook
# kernel over TCP (MPIGO_RANKIO, with a token), so this job's own output file
# holds only what SLURM and srun say. Submitted with sbatch --parsable; the
# kernel cancels it (scancel) when the cell is interrupted.

`, s.cellName, report.Plural(o.N, "rank"))
	slurm.WriteExports(&b, s.env)
	argv := []string{"srun"}
	if s.mpi != "" {
		argv = append(argv, "--mpi="+s.mpi)
	}
	argv = append(argv, "-n", strconv.Itoa(o.N), "--kill-on-bad-exit=1")
	argv = append(argv, s.wrapper...)
	argv = append(argv, "--")
	argv = append(argv, s.program...)
	b.WriteString("exec " + shell.Join(argv) + "\n")
	return b.String()
}

// batchJobDir makes a private directory for one job under
// CACHE/sbatch and removes those old ones left by kernels that died.
func batchJobDir(cache string) (string, error) {
	base := filepath.Join(cache, "sbatch")
	if err := build.EnsurePrivateDir(base); err != nil {
		return "", err
	}
	if old, err := os.ReadDir(base); err == nil {
		for _, e := range old {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > jobDirMaxAge {
				_ = os.RemoveAll(filepath.Join(base, e.Name()))
			}
		}
	}
	dir, err := os.MkdirTemp(base, "job-")
	if err != nil {
		return "", fmt.Errorf("creating a directory for the job script: %w", err)
	}
	return dir, nil
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

// sbatchCell is %mpirun --sbatch: build, submit, follow the job.
func (m *Magic) sbatchCell(ctx context.Context, cell int, o Options, body string, out cellio.Output) (cellio.Result, error) {
	if _, err := o.env.LookPath("sbatch"); err != nil {
		reason := "--sbatch submits the cell as a SLURM batch job, but there is no sbatch command on PATH here. " +
			"Run the kernel on a cluster's login node (or load the SLURM module: module load slurm), " +
			"or use --export DIR to write the cell out with a job file to submit elsewhere"
		return cellio.Result{}, usageError(&UsageError{Reason: reason})
	}
	build := o
	build.Launcher = "srun" // the job's launcher: build for the MPI srun goes with
	return m.runCell(ctx, cell, build, body, out, (*cellRun).runBatch)
}

// batchRun is one submitted job on its way.
type batchRun struct {
	c       *cellRun
	env     []string // of the SLURM commands
	id      string
	dir     string // the job's directory (script, output)
	outFile string // the job's output file
	outOff  int64
	outText strings.Builder
	state   slurm.JobState
	// cancelErr is scancel's failure, if it failed.
	cancelErr error
}

// runBatch writes the job script, submits it and follows the job to its
// end, then shows the summary and judges the run.
func (c *cellRun) runBatch(ctx context.Context) *cellio.Error {
	o, m := c.o, c.m
	bc, err := m.cache()
	if err != nil {
		return report.MagicError(err)
	}
	cache := bc.Dir()
	if nodeLocal(cache) {
		c.em.Text("stderr", []byte("mpigo: warning: the cache directory "+cache+" (the program, the job script) is under a directory "+
			"that compute nodes usually do not share with this host; if the job cannot start, set $XDG_CACHE_HOME to a shared directory (in your home)\n"))
	}
	dir, err := batchJobDir(cache)
	if err != nil {
		c.pr.Set("failed: "+err.Error(), true)
		return report.MagicError(err)
	}
	if !o.Verbose {
		defer os.RemoveAll(dir)
	}
	col, err := launch.NewCollector(o.N, true, c.em, c.rewriteLine, m.log)
	if err != nil {
		c.pr.Set("failed: "+err.Error(), true)
		return report.MPIError(err)
	}
	defer col.Close()
	b := &batchRun{c: c, env: slurm.ClientEnv(c.o.env.Child()), dir: dir}
	spec := batchSpec{
		opts: o, name: "mpigo-" + strings.NewReplacer("[", "", "]", "").Replace(c.cellName), cellName: c.cellName,
		output:  filepath.Join(dir, "slurm-%j.out"),
		env:     col.RankEnv(true, o.Env),
		mpi:     c.l.MPIPlugin, // as srun would be run here (launcher.go)
		wrapper: c.wrapper, program: []string{c.prog.Bin},
	}
	// the words after -- go to sbatch, not srun: no launcher arguments
	if note := c.l.MPINote(launch.Request{}); note != "" {
		c.verbose(note)
	}
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte(batchScript(spec)), 0o700); err != nil {
		c.pr.Set("failed: "+err.Error(), true)
		return report.MagicError(fmt.Errorf("writing the job script: %w", err))
	}
	args := append([]string{"--parsable"}, o.LauncherArgs...)
	args = append(args, script)
	c.verbose("job script: " + script + " (kept after the cell, as --verbose is on)")
	c.verbose("submit: " + shell.Join(append([]string{"sbatch"}, args...)))
	c.pr.Set("submitting the job (sbatch)…", false)
	submitted := time.Now()
	// Not bound to ctx: once sbatch runs, the cell must learn the job id
	// to cancel the job.
	sout, err := slurm.Command(context.Background(), b.env, "sbatch", args...)
	if err == nil {
		b.id, err = slurm.JobID(sout)
	}
	if err != nil {
		c.pr.Set("not submitted: sbatch failed", true)
		return submitError(err, args[:len(args)-1])
	}
	b.outFile = filepath.Join(dir, "slurm-"+b.id+".out")
	c.verbose("job " + b.id + " submitted; output file " + b.outFile)
	oc, ranAt := b.follow(ctx, col, submitted)
	return b.finish(oc, ranAt, submitted)
}

// submitHints explain sbatch's refusals, by a piece of its message.
var submitHints = []struct{ says, hint string }{
	{"invalid partition", "`sinfo -s` lists the partitions; -p chooses one"},
	{"more processors requested than permitted", "the partition has fewer CPUs than -n asks for (`sinfo -s` shows its size): use a smaller -n, or another partition with -p"},
	{"node count specification invalid", "-N asks for more nodes than the partition has (`sinfo -s`): use a smaller -N"},
	{"requested node configuration is not available", "no node of the partition fits the request (-n, -N and the options after --): `sinfo -N -l` shows the nodes"},
	{"invalid account", "--account must name one of your SLURM accounts: `sacctmgr show assoc user=$USER` lists them"},
	{"time limit", "-t (or --timeout) is more than the partition allows: `sinfo -s` shows its limit"},
	{"unrecognized option", "the words after -- go to sbatch: check them against `sbatch --help`"},
	{"unable to contact slurm controller", "the SLURM controller is not reachable from here: is this a login node of the cluster, and is $SLURM_CONF right?"},
}

// submitError is the cell's error when sbatch refused the job: its first
// message as the error, everything it said, and a hint where one fits.
func submitError(err error, args []string) *cellio.Error {
	msg := strings.TrimSpace(strings.TrimPrefix(err.Error(), "sbatch: "))
	reason := strings.TrimPrefix(firstLine(msg), "sbatch: ")
	reason = strings.TrimPrefix(reason, "error: ")
	value := "sbatch refused the job: " + reason
	tb := []string{"SubmitError: " + value, "", "sbatch " + shell.Join(args) + " JOBSCRIPT said:"}
	for _, line := range strings.Split(msg, "\n") {
		tb = append(tb, "    "+line)
	}
	low := strings.ToLower(msg)
	for _, h := range submitHints {
		if strings.Contains(low, h.says) {
			tb = append(tb, "", h.hint)
			value += " (" + h.hint + ")"
			break
		}
	}
	return report.SubmitError(value, tb)
}

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

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

// forward passes the poller's answers on, and a tick every pollEvery: the
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
		text += ", " + waited(time.Since(j.submitted)) + " in the queue"
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

// finish shows the final state and the summary, and returns the cell's
// error, if any.
func (b *batchRun) finish(oc *launch.Outcome, ranAt, submitted time.Time) *cellio.Error {
	c, o, l := b.c, b.c.o, b.c.l
	job := "job " + b.id
	final := b.state.Final()
	where := ""
	if b.state.Nodes != "" {
		where = " on " + b.state.Nodes
	}
	queued := ""
	if !ranAt.IsZero() {
		queued = report.Seconds(ranAt.Sub(submitted)) + " in the queue"
	}
	var werr *cellio.Error
	switch oc.Reason {
	case launch.StopInterrupt, launch.StopTimeout, launch.StopCancelled:
		werr = b.stopError(oc, ranAt)
	default:
		werr = report.Judge(oc, o.request(), l)
		if werr != nil {
			werr.Traceback = append(werr.Traceback, "", job+": "+final+where)
			if ex := b.explain(oc); ex != "" {
				werr.Value += ". " + ex
				werr.Traceback = append(werr.Traceback, "", ex)
			}
		}
	}
	what := report.Plural(o.N, "rank") + " with srun"
	if l.Flavour != "" && l.Flavour != build.UnknownMPI {
		what += " (" + l.Flavour + ")"
	}
	if werr == nil {
		c.pr.Set(fmt.Sprintf("done: %s %s%s, %s, %s, %s, ran %s", job, final, where, what, c.note, queued, report.Seconds(oc.Took)), true)
	} else if strings.Contains(werr.Value, job) {
		c.pr.Set(fmt.Sprintf("%s (%s)", werr.Value, c.note), true)
	} else {
		c.pr.Set(fmt.Sprintf("%s (%s %s, %s)", werr.Value, job, final, c.note), true)
	}
	if ranAt.IsZero() && oc.Reason != launch.RanToEnd {
		return werr // cancelled while pending: no rank to sum up
	}
	title := batchTitle(oc, o, l, b.state) + "; " + job + " " + final + where
	if queued != "" {
		title += " after " + queued
	}
	s := &report.Summary{Title: title, Groups: report.Fold(oc.Results), Launcher: strings.TrimRight(oc.LauncherText, "\n"), PlainLauncher: werr == nil}
	c.em.Display(cellio.Display{Data: s.Data()})
	return werr
}

// batchTitle is summaryTitle, with SLURM's stops named as such.
func batchTitle(oc *launch.Outcome, o Options, l *launch.Launcher, s slurm.JobState) string {
	shown := *oc
	switch {
	case oc.Reason == launch.StopCancelled:
		shown.Reason = launch.StopInterrupt
		return strings.Replace(report.Title(&shown, o.request(), l), ": interrupted in ", ": cancelled in ", 1)
	case oc.Reason == launch.StopTimeout && s.State == "TIMEOUT":
		return strings.Replace(report.Title(oc, o.request(), l), fmt.Sprintf(": stopped by --timeout %s in ", o.Timeout), ": stopped at the job's time limit in ", 1)
	}
	return report.Title(oc, o.request(), l)
}

// waited says how long a job has been waiting, to the second in its first
// minute, then to the minute: "0 s", "42 s", "3 min", "2 h 05 min".
func waited(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
}

// stopError is the cell's error when the job was cancelled: by an
// interrupt, by --timeout, by SLURM's time limit, or by someone else.
func (b *batchRun) stopError(oc *launch.Outcome, ranAt time.Time) *cellio.Error {
	o := b.c.o
	job := "job " + b.id
	value := "the cell was interrupted: " + job + " was cancelled (scancel)"
	switch {
	case oc.Reason == launch.StopTimeout && b.state.State == "TIMEOUT":
		limit := "-t " + batchTime(o)
		if o.Batch.Time == "" {
			limit = batchTime(o) + ", from --timeout"
		}
		value = job + " reached its time limit (" + limit + ") and SLURM stopped it"
	case oc.Reason == launch.StopTimeout:
		value = fmt.Sprintf("--timeout %s expired: %s was cancelled (scancel)", o.Timeout, job)
	case oc.Reason == launch.StopCancelled:
		value = job + " was cancelled outside this notebook (scancel, or by an administrator)"
	}
	if ranAt.IsZero() {
		value += " while it was still waiting in the queue; no rank had started"
	} else {
		value += "; " + report.StillRunning(oc)
	}
	if b.cancelErr != nil {
		value = strings.Replace(value, " was cancelled (scancel)", " could not be cancelled", 1)
		value += fmt.Sprintf(". scancel failed (%v): the job may still be in the queue; check with squeue -j %s and cancel it with scancel %s", b.cancelErr, b.id, b.id)
	}
	state := b.state.Final()
	if b.state.Nodes != "" {
		state += " on " + b.state.Nodes
	}
	return report.Stopped(oc.Reason, value, append(report.Where(oc), "", job+": "+state)...)
}

// explain says what the job's output tells about ranks that never
// reported to the kernel ("" when it tells nothing).
func (b *batchRun) explain(oc *launch.Outcome) string {
	started := 0
	for _, r := range oc.Results {
		if r.Started {
			started++
		}
	}
	if started == len(oc.Results) {
		return ""
	}
	text := oc.LauncherText
	switch {
	case strings.Contains(text, "cannot reach the notebook kernel"):
		return "The ranks could not connect back to this kernel over TCP (the addresses in $" + rankio.EnvVar +
			"): the compute nodes must reach the host the kernel runs on; a firewall between them stops the output of --sbatch jobs"
	case strings.TrimSpace(text) == "":
		if _, err := os.Stat(b.outFile); err != nil {
			return "The job left no output file (" + b.outFile + "): the compute nodes may not see mpigo's cache directory " +
				filepath.Dir(filepath.Dir(b.dir)) + ", where the program and the job's files are. It must be on a file system " +
				"they share with this host (your home directory); $XDG_CACHE_HOME moves it"
		}
	}
	return ""
}

// nodeLocal reports whether dir is under a directory that compute nodes
// usually have to themselves.
func nodeLocal(dir string) bool {
	for _, p := range []string{"/tmp", "/var/tmp", "/dev/shm", "/run/user"} {
		if dir == p || strings.HasPrefix(dir, p+"/") {
			return true
		}
	}
	return false
}
