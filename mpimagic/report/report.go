package report

import (
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mpigo/mpigo/mpimagic/launch"
)

// RankList writes ranks compactly: "rank 3", "ranks 0-31", "ranks 0-2, 5".
func RankList(ranks []int) string {
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

// Group is ranks that ended the same way with the same output.
type Group struct {
	ranks      []int
	status     string
	ok         bool
	minW, maxW time.Duration
	lines      int
	tail       []launch.Line
}

// Fold groups ranks with identical status and output, in rank order.
func Fold(rs []launch.RankResult) []*Group {
	var groups []*Group
	byKey := map[string]*Group{}
	for _, r := range rs {
		st := r.Status()
		key := st + "\x00" + r.Digest + "\x00" + strconv.Itoa(r.Lines)
		g := byKey[key]
		if g == nil {
			g = &Group{status: st, ok: r.OK(), lines: r.Lines, tail: r.Tail}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.ranks = append(g.ranks, r.Rank)
		// A rank stopped before its wrapper could report (or that never
		// started) has no wall time: it counts for none, not for 0 s.
		if w := time.Duration(r.Exit.WallNS); r.Exited && w > 0 {
			if g.maxW == 0 || w < g.minW {
				g.minW = w
			}
			g.maxW = max(g.maxW, w)
		}
	}
	return groups
}

// Seconds formats a duration in seconds, "0.42 s".
func Seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
}

// wall is the group's wall time: one value, or the range of its ranks'
// when they differ; "-" when none of them reported one.
func (g *Group) wall() string {
	if g.maxW == 0 {
		return "-"
	}
	if g.maxW-g.minW < 10*time.Millisecond {
		return Seconds(g.maxW)
	}
	return strings.TrimSuffix(Seconds(g.minW), " s") + "–" + Seconds(g.maxW)
}

// Summary is the end-of-run display.
type Summary struct {
	Title  string // e.g. "mpirun -n 4 (Open MPI 4.1.4): all 4 ranks exited 0 in 0.52 s"
	Groups []*Group
	// Launcher is what the Launcher wrote, if anything: collapsed in the
	// HTML, in the text only with plainLauncher (when no error message
	// already explains it).
	Launcher      string
	PlainLauncher bool
}

// collapseAt is the number of output lines from which the HTML summary
// collapses a group's output.
const collapseAt = 10

// plainLines is how many output lines per group the text summary shows.
const plainLines = 3

// Data returns the summary as a MIME bundle.
func (s *Summary) Data() map[string]any {
	return map[string]any{"text/html": s.html(), "text/plain": s.Plain()}
}

func (s *Summary) Plain() string {
	var b strings.Builder
	b.WriteString(s.Title + "\n")
	for _, g := range s.Groups {
		fmt.Fprintf(&b, "  %-14s %-18s %-12s %s\n", RankList(g.ranks), g.status, g.wall(), Plural(g.lines, "line"))
		shown := g.tail
		if len(shown) > plainLines {
			shown = shown[len(shown)-plainLines:]
			fmt.Fprintf(&b, "      … %s before\n", Plural(g.lines-plainLines, "line"))
		}
		for _, l := range shown {
			b.WriteString("      | " + l.Text + "\n")
		}
	}
	if s.Launcher != "" && s.PlainLauncher {
		b.WriteString("  launcher output:\n")
		for _, l := range strings.Split(strings.TrimRight(s.Launcher, "\n"), "\n") {
			b.WriteString("      " + l + "\n")
		}
	}
	return b.String()
}

func (s *Summary) html() string {
	// Many groups share a budget of lines, so that the summary of 32 ranks
	// with long, different outputs stays a reasonable size.
	per := max(10, summaryLines/max(1, len(s.Groups)))
	var b strings.Builder
	b.WriteString(`<div class="mpigo-mpirun-summary">`)
	fmt.Fprintf(&b, "<p><b>%s</b></p>", html.EscapeString(s.Title))
	b.WriteString(`<table><thead><tr><th style="text-align:left">ranks</th><th style="text-align:left">status</th>` +
		`<th style="text-align:left">wall time</th><th style="text-align:left">output</th></tr></thead><tbody>`)
	for _, g := range s.Groups {
		color := ""
		if !g.ok {
			color = ` style="color:#b00"`
		}
		fmt.Fprintf(&b, `<tr style="vertical-align:top"><td style="text-align:left">%s</td><td style="text-align:left"%s>%s</td><td style="text-align:left">%s</td><td style="text-align:left">%s</td></tr>`,
			html.EscapeString(strings.TrimPrefix(strings.TrimPrefix(RankList(g.ranks), "ranks "), "rank ")),
			color, html.EscapeString(g.status), html.EscapeString(g.wall()), outputHTML(g, per))
	}
	b.WriteString("</tbody></table>")
	if s.Launcher != "" {
		fmt.Fprintf(&b, "<details><summary>launcher output</summary><pre>%s</pre></details>", html.EscapeString(s.Launcher))
	}
	b.WriteString("</div>")
	return b.String()
}

// summaryLines is the number of output lines the HTML summary shows in all,
// when that gives each group at least 10.
const summaryLines = 2000

// outputHTML renders the last (at most) limit lines of a group's output,
// collapsed when long.
func outputHTML(g *Group, limit int) string {
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
		fmt.Fprintf(&pre, "<i>… %s before</i>\n", Plural(g.lines-len(tail), "line"))
	}
	for _, l := range tail {
		if l.Stderr {
			fmt.Fprintf(&pre, `<span style="color:#b00">%s</span>`+"\n", html.EscapeString(l.Text))
		} else {
			pre.WriteString(html.EscapeString(l.Text) + "\n")
		}
	}
	pre.WriteString("</pre>")
	if g.lines < collapseAt {
		return pre.String()
	}
	first := ""
	if len(g.tail) > 0 {
		first = g.tail[len(g.tail)-1].Text
		if len(first) > 60 {
			first = first[:60] + "…"
		}
		first = ": last <code>" + html.EscapeString(first) + "</code>"
	}
	return "<details><summary>" + Plural(g.lines, "line") + first + "</summary>" + pre.String() + "</details>"
}

// Plural is "1 line", "3 lines".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// lastLines returns up to n last lines of a rank's output, stderr marked.
func lastLines(r launch.RankResult, n int) []string {
	tail := r.Tail
	if len(tail) > n {
		tail = tail[len(tail)-n:]
	}
	out := make([]string, 0, len(tail))
	for _, l := range tail {
		out = append(out, "    "+l.Text)
	}
	return out
}
