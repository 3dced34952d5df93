package mpimagic

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/launch"
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
//     missing) is asked for its state every slurm.PollEvery, and the progress
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
	wrapper  []string // the rank wrapper's command (nil: the ranks of %ranks)
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
	b.WriteString(batchComment(s))
	slurm.WriteExports(&b, s.env)
	argv := []string{"srun"}
	if s.mpi != "" {
		argv = append(argv, "--mpi="+s.mpi)
	}
	argv = append(argv, "-n", strconv.Itoa(o.N), "--kill-on-bad-exit=1")
	if s.wrapper != nil {
		argv = append(argv, s.wrapper...)
		argv = append(argv, "--")
	}
	argv = append(argv, s.program...)
	b.WriteString("exec " + shell.Join(argv) + "\n")
	return b.String()
}

// batchComment says what the job script is for.
func batchComment(s batchSpec) string {
	if s.wrapper == nil {
		return fmt.Sprintf(`
# %%ranks start --sbatch, written by mpigo: runs %s of the rank interpreter
# (built in mpigo's cache) with srun; each rank connects back to the notebook
# kernel over TCP (MPIGO_PX, with a token) and runs the %%px cells it is sent
# until %%ranks stop, which cancels this job (scancel), as the kernel's
# shutdown does. This job's own output file holds only what SLURM and srun say.

`, report.Plural(s.opts.N, "rank"))
	}
	return fmt.Sprintf(`
# %%mpirun --sbatch of %s, written by mpigo: runs the cell's program (built in
# mpigo's cache) on %s with srun; each rank's output goes back to the notebook
# kernel over TCP (MPIGO_RANKIO, with a token), so this job's own output file
# holds only what SLURM and srun say. Submitted with sbatch --parsable; the
# kernel cancels it (scancel) when the cell is interrupted.

`, s.cellName, report.Plural(s.opts.N, "rank"))
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
		mpi:     c.l.MPIPlugin, // as srun would be run here (package launch)
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
