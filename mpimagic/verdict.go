package mpimagic

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/mpigo/mpigo/mpimagic/build"

	"github.com/mpigo/mpigo/cellio"
)

// maxRanksDetailed bounds the ranks an error message describes one by one.
const maxRanksDetailed = 4

// judge turns an outcome into the cell's error, or nil when every rank
// exited 0 (and the launcher too).
func judge(oc *outcome, o Request, l *launcher) *cellio.Error {
	if oc.reason == stopInterrupt || oc.reason == stopTimeout {
		name, head := cellio.Interrupted, "the cell was interrupted"
		if oc.reason == stopTimeout {
			name, head = cellio.Timeout, fmt.Sprintf("--timeout %s expired", o.Timeout)
		}
		value := head + ": " + stillRunning(oc) + "; every rank and the launcher were stopped"
		return &cellio.Error{Name: name, Value: value, Traceback: append([]string{string(name) + ": " + value}, where(oc)...)}
	}
	if fails := failures(oc.results); len(fails) > 0 {
		return rankError(oc, fails, l, o)
	}
	var notStarted []int
	for _, r := range oc.results {
		if !r.Started {
			notStarted = append(notStarted, r.Rank)
		}
	}
	if len(notStarted) == 0 && oc.launcherErr == nil {
		var lost []int
		for _, r := range oc.results {
			if !r.Exited {
				lost = append(lost, r.Rank)
			}
		}
		if len(lost) == 0 {
			return nil
		}
		value := fmt.Sprintf("%s ended without an exit status (killed with the launcher?)", rankList(lost))
		return failedRanks(value, nil)
	}
	status := "exit status 0"
	var ee *exec.ExitError
	if errors.As(oc.launcherErr, &ee) {
		status = ee.ProcessState.String()
	} else if oc.launcherErr != nil {
		status = oc.launcherErr.Error()
	}
	var value string
	switch {
	case len(notStarted) == o.N:
		value = fmt.Sprintf("%s could not start the ranks (%s)", l.name(), status)
	case len(notStarted) > 0:
		value = fmt.Sprintf("%s ended (%s) before %s started", l.name(), status, rankList(notStarted))
	default:
		value = fmt.Sprintf("every rank exited 0, but %s failed (%s)", l.name(), status)
	}
	tb := []string{"LaunchError: " + value}
	if ex := explainLauncher(oc.launcherText, o, l, physicalCores()); ex != "" {
		value += ". " + ex
		tb = append(tb, ex)
	}
	if text := strings.TrimSpace(oc.launcherText); text != "" {
		tb = append(tb, "", l.name()+" said:")
		for _, line := range tailOf(strings.Split(text, "\n"), 30) {
			tb = append(tb, "    "+line)
		}
	}
	return launchError(value, tb)
}

// rankError describes the ranks that failed, with their last lines.
func rankError(oc *outcome, fails []rankResult, l *launcher, o Request) *cellio.Error {
	var ranks []int
	statuses := map[string]bool{}
	for _, r := range fails {
		ranks = append(ranks, r.Rank)
		statuses[r.status()] = true
	}
	value := rankList(ranks) + " failed"
	if len(statuses) == 1 {
		value += ": " + fails[0].status()
	}
	var stopped []int
	for _, r := range oc.results {
		if r.Stopped {
			stopped = append(stopped, r.Rank)
		}
	}
	if len(stopped) > 0 {
		value += "; " + rankList(stopped) + " stopped"
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
			tb = append(tb, "", fmt.Sprintf("rank %d%s: %s, no output", r.Rank, where, r.status()))
			continue
		}
		tb = append(tb, "", fmt.Sprintf("rank %d%s: %s; its last lines:", r.Rank, where, r.status()))
		tb = append(tb, lastLines(r, 12)...)
	}
	if ex := explainLauncher(oc.launcherText, o, l, 0); ex != "" && strings.Contains(ex, "MPI_Abort") {
		tb = append(tb, "", ex)
	}
	return failedRanks(value, tb)
}

// stillRunning says which ranks the stop caught running.
func stillRunning(oc *outcome) string {
	var running, waiting []int
	started := map[int]bool{}
	for _, r := range oc.results {
		started[r.Rank] = r.Started
	}
	for _, r := range oc.running {
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
		parts = append(parts, rankList(running)+" was still running")
	default:
		parts = append(parts, rankList(running)+" were still running")
	}
	if len(waiting) > 0 {
		parts = append(parts, rankList(waiting)+" had not started yet")
	}
	if len(parts) == 0 {
		return "no rank was running any more"
	}
	return strings.Join(parts, ", ")
}

// where tells, for the ranks caught running, their host, pid and last line.
func where(oc *outcome) []string {
	byRank := map[int]rankResult{}
	for _, r := range oc.results {
		byRank[r.Rank] = r
	}
	var out []string
	n := 0
	for _, rank := range oc.running {
		r := byRank[rank]
		if !r.Started {
			continue
		}
		if n == 8 {
			out = append(out, fmt.Sprintf("  … and %d more", len(oc.running)-n))
			break
		}
		n++
		last := "no output yet"
		if len(r.Tail) > 0 {
			last = "last output: " + r.Tail[len(r.Tail)-1].text
		}
		out = append(out, fmt.Sprintf("  rank %d on %s (pid %d): %s", r.Rank, r.Host, r.PID, last))
	}
	return out
}

// summaryTitle is the first line of the summary.
func summaryTitle(oc *outcome, o Request, l *launcher) string {
	head := fmt.Sprintf("%s -n %d", l.name(), o.N)
	if l.flavour != "" && l.flavour != build.UnknownMPI {
		head += ", " + l.flavour
	}
	ok := 0
	for _, r := range oc.results {
		if r.ok() {
			ok++
		}
	}
	var what string
	switch {
	case oc.reason == stopInterrupt:
		what = "interrupted"
	case oc.reason == stopTimeout:
		what = fmt.Sprintf("stopped by --timeout %s", o.Timeout)
	case ok == o.N && o.N == 1:
		what = "the rank exited 0"
	case ok == o.N:
		what = fmt.Sprintf("all %d ranks exited 0", o.N)
	default:
		what = fmt.Sprintf("%d of %d ranks exited 0", ok, o.N)
	}
	return fmt.Sprintf("%s: %s in %s", head, what, seconds(oc.took))
}

// tailOf returns the last n elements of s.
func tailOf(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
