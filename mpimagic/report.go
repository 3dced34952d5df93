package mpimagic

import (
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// rankResult is what became of one rank.
type rankResult struct {
	Rank    int
	Started bool // its wrapper connected
	Exited  bool // its exit status is known
	Exit    rankio.Exit
	ExitAt  time.Time
	Host    string
	PID     int // of the program
	Lines   int
	Tail    []outLine
	Digest  string
	// Stopped: it ended because the magic or the launcher stopped it (after
	// an interrupt, a timeout or another rank's failure), not by itself.
	Stopped bool
}

// ok reports whether the rank exited 0.
func (r rankResult) ok() bool {
	return r.Exited && r.Exit.Code == 0 && r.Exit.Signal == 0 && r.Exit.Err == ""
}

// panicked reports whether the rank's output holds a Go panic or fatal error.
func (r rankResult) panicked() bool {
	for _, l := range r.Tail {
		if l.stderr && (strings.HasPrefix(l.text, "panic: ") || strings.HasPrefix(l.text, "fatal error: ")) {
			return true
		}
	}
	return false
}

// status describes how the rank ended, e.g. "exit 0", "exit 2 (panic)",
// "killed by SIGSEGV", "stopped", "not started".
func (r rankResult) status() string {
	switch {
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
func markStopped(rs []rankResult, running []int, stopAt, failedAt time.Time) {
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

// failures returns the ranks that failed by themselves.
func failures(rs []rankResult) []rankResult {
	var out []rankResult
	for _, r := range rs {
		if r.Started && r.Exited && !r.ok() && !r.Stopped {
			out = append(out, r)
		}
	}
	return out
}

// rankList writes ranks compactly: "rank 3", "ranks 0-31", "ranks 0-2, 5".
func rankList(ranks []int) string {
	if len(ranks) == 0 {
		return "no rank"
	}
	rs := append([]int(nil), ranks...)
	sort.Ints(rs)
	var parts []string
	for i := 0; i < len(rs); {
		j := i
		for j+1 < len(rs) && rs[j+1] == rs[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", rs[i], rs[j]))
		} else {
			parts = append(parts, strconv.Itoa(rs[i]))
		}
		i = j + 1
	}
	if len(rs) == 1 {
		return "rank " + parts[0]
	}
	return "ranks " + strings.Join(parts, ", ")
}

// group is ranks that ended the same way with the same output.
type group struct {
	ranks      []int
	status     string
	ok         bool
	minW, maxW time.Duration
	lines      int
	tail       []outLine
}

// fold groups ranks with identical status and output, in rank order.
func fold(rs []rankResult) []*group {
	var groups []*group
	byKey := map[string]*group{}
	for _, r := range rs {
		st := r.status()
		key := st + "\x00" + r.Digest + "\x00" + strconv.Itoa(r.Lines)
		g := byKey[key]
		w := time.Duration(r.Exit.WallNS)
		if g == nil {
			g = &group{status: st, ok: r.ok(), lines: r.Lines, tail: r.Tail, minW: w, maxW: w}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.ranks = append(g.ranks, r.Rank)
		g.minW, g.maxW = min(g.minW, w), max(g.maxW, w)
	}
	return groups
}

// seconds formats a duration in seconds, "0.42 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

func (g *group) wall() string {
	if g.maxW == 0 {
		return "-"
	}
	if g.maxW-g.minW < 10*time.Millisecond {
		return seconds(g.maxW)
	}
	return strings.TrimSuffix(seconds(g.minW), " s") + "–" + seconds(g.maxW)
}

// summary is the end-of-run display.
type summary struct {
	title  string // e.g. "mpirun -n 4 (Open MPI 4.1.4): all 4 ranks exited 0 in 0.52 s"
	groups []*group
	// launcher is what the launcher wrote, if anything: collapsed in the
	// HTML, in the text only with plainLauncher (when no error message
	// already explains it).
	launcher      string
	plainLauncher bool
}

// collapseAt is the number of output lines from which the HTML summary
// collapses a group's output.
const collapseAt = 10

// plainLines is how many output lines per group the text summary shows.
const plainLines = 3

// data returns the summary as a MIME bundle.
func (s *summary) data() map[string]any {
	return map[string]any{"text/html": s.html(), "text/plain": s.plain()}
}

func (s *summary) plain() string {
	var b strings.Builder
	b.WriteString(s.title + "\n")
	for _, g := range s.groups {
		fmt.Fprintf(&b, "  %-14s %-18s %-12s %s\n", rankList(g.ranks), g.status, g.wall(), plural(g.lines, "line"))
		shown := g.tail
		if len(shown) > plainLines {
			shown = shown[len(shown)-plainLines:]
			fmt.Fprintf(&b, "      … %s before\n", plural(g.lines-plainLines, "line"))
		}
		for _, l := range shown {
			b.WriteString("      | " + l.text + "\n")
		}
	}
	if s.launcher != "" && s.plainLauncher {
		b.WriteString("  launcher output:\n")
		for _, l := range strings.Split(strings.TrimRight(s.launcher, "\n"), "\n") {
			b.WriteString("      " + l + "\n")
		}
	}
	return b.String()
}

func (s *summary) html() string {
	// Many groups share a budget of lines, so that the summary of 32 ranks
	// with long, different outputs stays a reasonable size.
	per := max(10, summaryLines/max(1, len(s.groups)))
	var b strings.Builder
	b.WriteString(`<div class="mpigo-mpirun-summary">`)
	fmt.Fprintf(&b, "<p><b>%s</b></p>", html.EscapeString(s.title))
	b.WriteString(`<table><thead><tr><th style="text-align:left">ranks</th><th style="text-align:left">status</th>` +
		`<th style="text-align:left">wall time</th><th style="text-align:left">output</th></tr></thead><tbody>`)
	for _, g := range s.groups {
		color := ""
		if !g.ok {
			color = ` style="color:#b00"`
		}
		fmt.Fprintf(&b, `<tr style="vertical-align:top"><td style="text-align:left">%s</td><td style="text-align:left"%s>%s</td><td style="text-align:left">%s</td><td style="text-align:left">%s</td></tr>`,
			html.EscapeString(strings.TrimPrefix(strings.TrimPrefix(rankList(g.ranks), "ranks "), "rank ")),
			color, html.EscapeString(g.status), html.EscapeString(g.wall()), outputHTML(g, per))
	}
	b.WriteString("</tbody></table>")
	if s.launcher != "" {
		fmt.Fprintf(&b, "<details><summary>launcher output</summary><pre>%s</pre></details>", html.EscapeString(s.launcher))
	}
	b.WriteString("</div>")
	return b.String()
}

// summaryLines is the number of output lines the HTML summary shows in all,
// when that gives each group at least 10.
const summaryLines = 2000

// outputHTML renders the last (at most) limit lines of a group's output,
// collapsed when long.
func outputHTML(g *group, limit int) string {
	if g.lines == 0 {
		return "<i>no output</i>"
	}
	tail := g.tail
	if len(tail) > limit {
		tail = tail[len(tail)-limit:]
	}
	var pre strings.Builder
	pre.WriteString(`<pre style="margin:0">`)
	if g.lines > len(tail) {
		fmt.Fprintf(&pre, "<i>… %s before</i>\n", plural(g.lines-len(tail), "line"))
	}
	for _, l := range tail {
		if l.stderr {
			fmt.Fprintf(&pre, `<span style="color:#b00">%s</span>`+"\n", html.EscapeString(l.text))
		} else {
			pre.WriteString(html.EscapeString(l.text) + "\n")
		}
	}
	pre.WriteString("</pre>")
	if g.lines < collapseAt {
		return pre.String()
	}
	first := ""
	if len(g.tail) > 0 {
		first = g.tail[len(g.tail)-1].text
		if len(first) > 60 {
			first = first[:60] + "…"
		}
		first = ": last <code>" + html.EscapeString(first) + "</code>"
	}
	return "<details><summary>" + plural(g.lines, "line") + first + "</summary>" + pre.String() + "</details>"
}

// plural is "1 line", "3 lines".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// lastLines returns up to n last lines of a rank's output, stderr marked.
func lastLines(r rankResult, n int) []string {
	tail := r.Tail
	if len(tail) > n {
		tail = tail[len(tail)-n:]
	}
	out := make([]string, 0, len(tail))
	for _, l := range tail {
		out = append(out, "    "+l.text)
	}
	return out
}
