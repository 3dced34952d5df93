package mpimagic

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/mpimagic/report"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// What the cell shows when its batch job ended: the final state, the
// summary and the verdict, with SLURM's own stops (its time limit, a
// cancellation outside the notebook) named as such.

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

// batchTitle is report.Title, with SLURM's time limit named as such.
func batchTitle(oc *launch.Outcome, o Options, l *launch.Launcher, s slurm.JobState) string {
	switch {
	case oc.Reason == launch.StopTimeout && s.State == "TIMEOUT":
		return strings.Replace(report.Title(oc, o.request(), l), fmt.Sprintf(": stopped by --timeout %s in ", o.Timeout), ": stopped at the job's time limit in ", 1)
	}
	return report.Title(oc, o.request(), l)
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
