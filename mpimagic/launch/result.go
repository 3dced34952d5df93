package launch

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// RankResult is what became of one rank.
type RankResult struct {
	Rank    int
	Started bool // its wrapper connected
	Exited  bool // its exit status is known
	Exit    rankio.Exit
	ExitAt  time.Time
	Host    string
	PID     int // of the program
	Lines   int
	Tail    []Line
	Digest  string
	// Label, when set, is the status shown instead of the exit's: the
	// ranks of a %px cell do not exit.
	Label string
	// Value is the value its program sent back (%mpirun --out), decoded;
	// nil when it sent none.
	Value *rankio.Value
	// Stopped: it ended because the magic or the launcher stopped it (after
	// an interrupt, a timeout or another rank's failure), not by itself.
	Stopped bool
}

// OK reports whether the rank exited 0.
func (r RankResult) OK() bool {
	return r.Exited && r.Exit.Code == 0 && r.Exit.Signal == 0 && r.Exit.Err == ""
}

// panicked reports whether the rank's output holds a Go panic or fatal error.
func (r RankResult) panicked() bool {
	for _, l := range r.Tail {
		if l.Stderr && (strings.HasPrefix(l.Text, "panic: ") || strings.HasPrefix(l.Text, "fatal error: ")) {
			return true
		}
	}
	return false
}

// Status describes how the rank ended, e.g. "exit 0", "exit 2 (panic)",
// "killed by SIGSEGV", "stopped", "not started".
func (r RankResult) Status() string {
	switch {
	case r.Label != "":
		return r.Label
	case !r.Started:
		return "not started"
	case !r.Exited && r.Stopped:
		return "stopped"
	case !r.Exited:
		return "lost (no exit status)"
	case r.Exit.Err != "":
		return "could not start: " + r.Exit.Err
	case r.Stopped:
		return "stopped"
	case r.Exit.Signal != 0:
		return "killed by " + signalName(r.Exit.Signal)
	case r.Exit.Code != 0 && r.panicked():
		return fmt.Sprintf("exit %d (panic)", r.Exit.Code)
	}
	return fmt.Sprintf("exit %d", r.Exit.Code)
}

// signalName is e.g. "SIGSEGV (segmentation fault)".
func signalName(n int) string {
	names := map[int]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
		9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM"}
	desc := syscall.Signal(n).String()
	if name, ok := names[n]; ok {
		return name + " (" + desc + ")"
	}
	return "signal " + strconv.Itoa(n) + " (" + desc + ")"
}

// markStopped sets Stopped on the ranks that did not end by themselves:
// those still running when the magic began stopping them (stopAt), and
// those killed by SIGTERM, SIGKILL or SIGINT after the first failure.
func markStopped(rs []RankResult, running []int, stopAt, failedAt time.Time) {
	wasRunning := map[int]bool{}
	for _, r := range running {
		wasRunning[r] = true
	}
	for i := range rs {
		r := &rs[i]
		if !stopAt.IsZero() && wasRunning[r.Rank] && (!r.Exited || !r.ExitAt.Before(stopAt)) {
			r.Stopped = true
			continue
		}
		killed := r.Exit.Signal == int(syscall.SIGTERM) || r.Exit.Signal == int(syscall.SIGKILL) || r.Exit.Signal == int(syscall.SIGINT) ||
			r.Exit.Code == 128+int(syscall.SIGTERM) || r.Exit.Code == 128+int(syscall.SIGKILL)
		if !failedAt.IsZero() && r.Exited && killed && r.ExitAt.After(failedAt) {
			r.Stopped = true
		}
		if !failedAt.IsZero() && !r.Exited && r.Started {
			r.Stopped = true
		}
	}
}

// Failures returns the ranks that failed by themselves.
func Failures(rs []RankResult) []RankResult {
	var out []RankResult
	for _, r := range rs {
		if r.Started && r.Exited && !r.OK() && !r.Stopped {
			out = append(out, r)
		}
	}
	return out
}
