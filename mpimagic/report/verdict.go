package report

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/launch"
)

// maxRanksDetailed bounds the ranks an error message describes one by one.
const maxRanksDetailed = 4

// Judge turns an outcome into the cell's error, or nil when every rank
// exited 0 (and the launcher too).
func Judge(oc *launch.Outcome, o launch.Request, l *launch.Launcher) *cellio.Error {
	if oc.Reason == launch.StopInterrupt || oc.Reason == launch.StopTimeout {
		head := "the cell was interrupted"
		if oc.Reason == launch.StopTimeout {
			head = fmt.Sprintf("--timeout %s expired", o.Timeout)
		}
		value := head + ": " + StillRunning(oc) + "; every rank and the launcher were stopped"
		return Stopped(oc.Reason, value, Where(oc)...)
	}
	if fails := launch.Failures(oc.Results); len(fails) > 0 {
		return rankError(oc, fails, l, o)
	}
	var notStarted []int
	for _, r := range oc.Results {
		if !r.Started {
			notStarted = append(notStarted, r.Rank)
		}
	}
	if len(notStarted) == 0 && oc.LauncherErr == nil {
		var lost []int
		for _, r := range oc.Results {
			if !r.Exited {
				lost = append(lost, r.Rank)
			}
		}
		if len(lost) == 0 {
			return nil
		}
		value := fmt.Sprintf("%s ended without an exit status (killed with the launcher?)", RankList(lost))
		return RankError(value, nil)
	}
	status := "exit status 0"
	var ee *exec.ExitError
	if errors.As(oc.LauncherErr, &ee) {
		status = ee.ProcessState.String()
	} else if oc.LauncherErr != nil {
		status = oc.LauncherErr.Error()
	}
	var value string
	switch {
	case len(notStarted) == o.N:
		value = fmt.Sprintf("%s could not start the ranks (%s)", l.Name(), status)
	case len(notStarted) > 0:
		value = fmt.Sprintf("%s ended (%s) before %s started", l.Name(), status, RankList(notStarted))
	default:
		value = fmt.Sprintf("every rank exited 0, but %s failed (%s)", l.Name(), status)
	}
	tb := []string{"LaunchError: " + value}
	if ex := launch.ExplainLauncher(oc.LauncherText, o, l, launch.Cores()); ex != "" {
		value += ". " + ex
		tb = append(tb, ex)
	}
	if text := strings.TrimSpace(oc.LauncherText); text != "" {
		tb = append(tb, "", l.Name()+" said:")
		for _, line := range tailOf(strings.Split(text, "\n"), 30) {
			tb = append(tb, "    "+line)
		}
	}
	return LaunchError(value, tb)
}

// rankError describes the ranks that failed, with their last lines.
func rankError(oc *launch.Outcome, fails []launch.RankResult, l *launch.Launcher, o launch.Request) *cellio.Error {
	var ranks []int
	statuses := map[string]bool{}
	for _, r := range fails {
		ranks = append(ranks, r.Rank)
		statuses[r.Status()] = true
	}
	value := RankList(ranks) + " failed"
	if len(statuses) == 1 {
		value += ": " + fails[0].Status()
	}
	var stopped []int
	for _, r := range oc.Results {
		if r.Stopped {
			stopped = append(stopped, r.Rank)
		}
	}
	if len(stopped) > 0 {
		value += "; " + RankList(stopped) + " stopped"
	}
	tb := []string{"RankError: " + value}
	for i, r := range fails {
		if i == maxRanksDetailed {
			tb = append(tb, "", fmt.Sprintf("(and %d more failed ranks)", len(fails)-i))
			break
		}
		where := ""
		if r.Host != "" {
			where = " on " + r.Host
		}
		if len(r.Tail) == 0 {
			tb = append(tb, "", fmt.Sprintf("rank %d%s: %s, no output", r.Rank, where, r.Status()))
			continue
		}
		tb = append(tb, "", fmt.Sprintf("rank %d%s: %s; its last lines:", r.Rank, where, r.Status()))
		tb = append(tb, lastLines(r, 12)...)
	}
	if ex := launch.ExplainLauncher(oc.LauncherText, o, l, 0); ex != "" && strings.Contains(ex, "MPI_Abort") {
		tb = append(tb, "", ex)
	}
	return RankError(value, tb)
}

// StillRunning says which ranks the stop caught running.
func StillRunning(oc *launch.Outcome) string {
	var running, waiting []int
	started := map[int]bool{}
	for _, r := range oc.Results {
		started[r.Rank] = r.Started
	}
	for _, r := range oc.Running {
		if started[r] {
			running = append(running, r)
		} else {
			waiting = append(waiting, r)
		}
	}
	var parts []string
	switch len(running) {
	case 0:
	case 1:
		parts = append(parts, RankList(running)+" was still running")
	default:
		parts = append(parts, RankList(running)+" were still running")
	}
	if len(waiting) > 0 {
		parts = append(parts, RankList(waiting)+" had not started yet")
	}
	if len(parts) == 0 {
		return "no rank was running any more"
	}
	return strings.Join(parts, ", ")
}

// Where tells, for the ranks caught running, their host, pid and last line.
func Where(oc *launch.Outcome) []string {
	byRank := map[int]launch.RankResult{}
	for _, r := range oc.Results {
		byRank[r.Rank] = r
	}
	var out []string
	n := 0
	for _, rank := range oc.Running {
		r := byRank[rank]
		if !r.Started {
			continue
		}
		if n == 8 {
			out = append(out, fmt.Sprintf("  … and %d more", len(oc.Running)-n))
			break
		}
		n++
		last := "no output yet"
		if len(r.Tail) > 0 {
			last = "last output: " + r.Tail[len(r.Tail)-1].Text
		}
		out = append(out, fmt.Sprintf("  rank %d on %s (pid %d): %s", r.Rank, r.Host, r.PID, last))
	}
	return out
}

// Title is the first line of the summary.
func Title(oc *launch.Outcome, o launch.Request, l *launch.Launcher) string {
	head := fmt.Sprintf("%s -n %d", l.Name(), o.N)
	if l.Flavour != "" && l.Flavour != build.UnknownMPI {
		head += ", " + l.Flavour
	}
	ok := 0
	for _, r := range oc.Results {
		if r.OK() {
			ok++
		}
	}
	var what string
	switch {
	case oc.Reason == launch.StopInterrupt:
		what = "interrupted"
	case oc.Reason == launch.StopCancelled: // a batch job, by scancel or SLURM
		what = "cancelled"
	case oc.Reason == launch.StopTimeout:
		what = fmt.Sprintf("stopped by --timeout %s", o.Timeout)
	case ok == o.N && o.N == 1:
		what = "the rank exited 0"
	case ok == o.N:
		what = fmt.Sprintf("all %d ranks exited 0", o.N)
	default:
		what = fmt.Sprintf("%d of %d ranks exited 0", ok, o.N)
	}
	return fmt.Sprintf("%s: %s in %s", head, what, Seconds(oc.Took))
}

// tailOf returns the last n elements of s.
func tailOf(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
