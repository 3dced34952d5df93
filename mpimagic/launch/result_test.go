package launch

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// result makes a rank that exited with code and printed lines.
func result(rank, code int, lines ...string) RankResult {
	r := RankResult{Rank: rank, Started: true, Exited: true, Exit: rankio.Exit{Code: code, WallNS: int64(100+rank) * int64(time.Millisecond)}}
	for _, l := range lines {
		r.Tail = append(r.Tail, Line{Text: l})
	}
	r.Lines = len(lines)
	r.Digest = strings.Join(lines, "\n")
	return r
}

func TestStatusAndStopped(t *testing.T) {
	start := time.Now()
	failed := result(1, 2, "panic: x")
	failed.Tail[0].Stderr = true
	failed.ExitAt = start
	killed := result(0, -1)
	killed.Exit.Signal = int(syscall.SIGTERM)
	killed.ExitAt = start.Add(time.Second)
	segv := result(2, -1)
	segv.Exit.Signal = int(syscall.SIGSEGV)
	segv.ExitAt = start.Add(time.Millisecond)
	never := RankResult{Rank: 3}
	rs := []RankResult{killed, failed, segv, never}
	markStopped(rs, nil, time.Time{}, start)
	want := []string{"stopped", "exit 2 (panic)", "killed by SIGSEGV (segmentation fault)", "not started"}
	for i, r := range rs {
		if r.Status() != want[i] {
			t.Errorf("rank %d status %q, want %q", r.Rank, r.Status(), want[i])
		}
	}
	if f := Failures(rs); len(f) != 2 || f[0].Rank != 1 || f[1].Rank != 2 {
		t.Errorf("failures = %v", f)
	}
	// an interrupt: whatever was running when the stop began was stopped
	running := RankResult{Rank: 0, Started: true}
	rs = []RankResult{running, result(1, 0)}
	markStopped(rs, []int{0}, start, time.Time{})
	if rs[0].Status() != "stopped" || !rs[1].OK() || len(Failures(rs)) != 0 {
		t.Errorf("after an interrupt: %q %q", rs[0].Status(), rs[1].Status())
	}
}
