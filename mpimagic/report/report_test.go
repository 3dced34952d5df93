package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

func TestRankList(t *testing.T) {
	tests := []struct {
		ranks []int
		want  string
	}{
		{nil, "no rank"},
		{[]int{3}, "rank 3"},
		{[]int{0, 1}, "ranks 0-1"},
		{[]int{5, 0, 2, 1, 7, 8, 9}, "ranks 0-2, 5, 7-9"},
		{func() (r []int) {
			for i := 31; i >= 0; i-- {
				r = append(r, i)
			}
			return
		}(), "ranks 0-31"},
	}
	for _, tt := range tests {
		if got := RankList(tt.ranks); got != tt.want {
			t.Errorf("rankList(%v) = %q, want %q", tt.ranks, got, tt.want)
		}
	}
}

// result makes a rank that exited with code and printed lines.
func result(rank, code int, lines ...string) launch.RankResult {
	r := launch.RankResult{Rank: rank, Started: true, Exited: true, Exit: rankio.Exit{Code: code, WallNS: int64(100+rank) * int64(time.Millisecond)}}
	for _, l := range lines {
		r.Tail = append(r.Tail, launch.Line{Text: l})
	}
	r.Lines = len(lines)
	r.Digest = strings.Join(lines, "\n")
	return r
}

func TestFoldAndSummary(t *testing.T) {
	var rs []launch.RankResult
	for r := 0; r < 32; r++ {
		rs = append(rs, result(r, 0, "same"))
	}
	rs[5] = result(5, 2, "panic: boom")
	rs[5].Tail[0].Stderr = true
	var long []string
	for i := 0; i < 15; i++ {
		long = append(long, fmt.Sprint("line ", i))
	}
	rs[7] = result(7, 0, long...)
	groups := Fold(rs)
	if len(groups) != 3 || RankList(groups[0].ranks) != "ranks 0-4, 6, 8-31" || RankList(groups[1].ranks) != "rank 5" || RankList(groups[2].ranks) != "rank 7" {
		t.Fatalf("groups: %v", func() (s []string) {
			for _, g := range groups {
				s = append(s, RankList(g.ranks))
			}
			return
		}())
	}
	if groups[0].wall() != "0.10–0.13 s" || groups[1].status != "exit 2 (panic)" || groups[1].ok {
		t.Errorf("group 0 wall %q, group 1 %q", groups[0].wall(), groups[1].status)
	}
	s := &Summary{Title: "mpirun -n 32: 31 of 32 ranks exited 0 in 1.00 s", Groups: groups, Launcher: "a <warning>"}
	h := s.html()
	for _, want := range []string{"0-4, 6, 8-31", "exit 2 (panic)", `<span style="color:#b00">panic: boom</span>`, "<details><summary>15 lines", "a &lt;warning&gt;", "line 14"} {
		if !strings.Contains(h, want) {
			t.Errorf("html lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(groups[0].tail[0].Text, "details") || strings.Count(h, "<details>") != 2 {
		t.Errorf("want the long output and the launcher output collapsed, only: %s", h)
	}
	p := s.Plain()
	for _, want := range []string{"ranks 0-4, 6, 8-31", "| same", "… 12 lines before", "| line 14"} {
		if !strings.Contains(p, want) {
			t.Errorf("text lacks %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, "warning") {
		t.Errorf("launcher output in the text without plainLauncher:\n%s", p)
	}
}

// TestWallOfStoppedRanks: a rank stopped before its wrapper could report
// has no wall time; it shows "-", and does not stretch a group's range
// down to 0.
func TestWallOfStoppedRanks(t *testing.T) {
	stopped := func(rank int) launch.RankResult {
		return launch.RankResult{Rank: rank, Started: true, Stopped: true}
	}
	killed := result(2, -1)
	killed.Exit.Signal, killed.Stopped = 15, true
	for _, tt := range []struct {
		name string
		rs   []launch.RankResult
		want []string
	}{
		{"none reported", []launch.RankResult{stopped(0), stopped(1)}, []string{"-"}},
		// one group ("stopped"): the wall time of the rank that reported,
		// not "0.00–0.10 s"
		{"stopped beside reported", []launch.RankResult{stopped(0), stopped(1), killed}, []string{"0.10 s"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, g := range Fold(tt.rs) {
				got = append(got, g.wall())
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("walls %q, want %q", got, tt.want)
			}
		})
	}
}
