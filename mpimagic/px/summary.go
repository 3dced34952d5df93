package px

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/mpimagic/report"
)

// The statuses the summary shows of a %px rank.
const (
	statusOK          = "ok"
	statusInterrupted = "interrupted"
	statusStuck       = "still running"
	statusLost        = "died"
)

// results flushes each rank's partial lines and returns what became of
// it, as the summary folds it.
func (o *cellOutput) results(sel []*rank, oc *outcome) []launch.RankResult {
	stuck := map[int]bool{}
	for _, n := range oc.stuck {
		stuck[n] = true
	}
	out := make([]launch.RankResult, 0, len(sel))
	for _, r := range sel {
		o.flush(r.n)
		o.mu.Lock()
		ro := o.rank(r.n)
		res := launch.RankResult{
			Rank: r.n, Started: true, Host: r.hello.Host, PID: r.hello.PID, Lines: ro.lines,
			Tail: append([]launch.Line(nil), ro.tail...), Digest: hex.EncodeToString(ro.digest.Sum(nil)),
		}
		o.mu.Unlock()
		res.Label, res.Exited, res.Exit.WallNS = status(oc, r.n, stuck[r.n])
		if res.Label != statusOK {
			res.Exit.Code = 1
		}
		out = append(out, res)
	}
	return out
}

// status is how rank n's cell ended, whether that counts as an end, and
// how long it took as far as known.
func status(oc *outcome, n int, stuck bool) (label string, ended bool, wall int64) {
	rp, ok := oc.replies[n]
	switch {
	case stuck || !ok:
		return statusStuck, false, 0
	case rp.lost != "":
		return statusLost, false, 0
	case rp.ev.Error != nil && rp.ev.Error.Name == cellio.Interrupted:
		return statusInterrupted, true, int64(oc.took)
	case rp.ev.Error != nil:
		return string(rp.ev.Error.Name), true, int64(oc.took)
	}
	return statusOK, true, int64(oc.took)
}

// summary is the display that ends a cell.
func (p *Pool) summary(sel []*rank, oc *outcome, results []launch.RankResult) *report.Summary {
	ok := 0
	for _, r := range results {
		if r.Label == statusOK {
			ok++
		}
	}
	ns := make([]int, len(sel))
	for i, r := range sel {
		ns[i] = r.n
	}
	title := fmt.Sprintf("%%px on %s: ", report.RankList(ns))
	if ok == len(sel) {
		title += fmt.Sprintf("ok in %s", report.Seconds(oc.took))
	} else {
		title += fmt.Sprintf("%d of %d ok", ok, len(sel))
	}
	return &report.Summary{Title: title, Groups: report.Fold(results)}
}

// verdict is the error of a call that did not end well on every rank of
// sel, nil when it did: an interrupt first, then ranks that died, then
// ranks whose cell failed.
func verdict(sel []*rank, oc *outcome) *cellio.Error {
	var lost, failed []int
	whyLost := ""
	for _, r := range sel {
		rp, ok := oc.replies[r.n]
		switch {
		case !ok:
		case rp.lost != "":
			lost = append(lost, r.n)
			if whyLost == "" {
				whyLost = rp.lost
			}
		case rp.ev.Error != nil && rp.ev.Error.Name != cellio.Interrupted:
			failed = append(failed, r.n)
		}
	}
	switch {
	case oc.interrupted:
		return interrupted(oc.stuck, lost)
	case len(lost) > 0:
		return report.RankError(fmt.Sprintf("%s died during the cell (%s): %%ranks restart starts the ranks afresh", report.RankList(lost), whyLost), nil)
	case len(failed) > 0:
		return failure(failed, oc)
	}
	return nil
}

// interrupted is the error of an interrupted cell.
func interrupted(stuck, lost []int) *cellio.Error {
	value := "the cell was interrupted; the ranks keep their state"
	var more []string
	if len(stuck) > 0 {
		value = fmt.Sprintf("the cell was interrupted, but %s did not stop (blocked in an MPI call?)", report.RankList(stuck))
		more = append(more, "The other ranks stopped and keep their state. %ranks restart starts every rank afresh; a later %px waits for "+report.RankList(stuck)+" to finish.")
	}
	if len(lost) > 0 {
		more = append(more, report.RankList(lost)+" died meanwhile: %ranks restart starts the ranks afresh.")
	}
	return report.Stopped(launch.StopInterrupt, value, more...)
}

// failure is the RankError of the ranks of failed: it names them, says
// the first one's error and gives each one's traceback.
func failure(failed []int, oc *outcome) *cellio.Error {
	first := oc.replies[failed[0]].ev.Error
	value := fmt.Sprintf("%s failed: %s", report.RankList(failed), first.Error())
	tb := []string{"RankError: " + value}
	for _, n := range failed {
		e := oc.replies[n].ev.Error
		lines := e.Traceback
		if len(lines) == 0 {
			lines = []string{e.Error()}
		}
		for _, l := range lines {
			for _, sub := range strings.Split(l, "\n") {
				tb = append(tb, rankio.Prefix(n)+sub)
			}
		}
	}
	tb = append(tb, "Every rank keeps its state (the failed cell's own changes excepted).")
	return report.RankError(value, tb)
}
