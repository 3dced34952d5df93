package mpimagic

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/px"
	"github.com/mpigo/mpigo/mpimagic/report"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// RanksUsage is the text of %ranks --help.
const RanksUsage = `%ranks start -n N [--hosts H:N,... | --hostfile F] [--launcher L] [--env K=V ...] [-- LAUNCHER ARGS]
%ranks start -n N --sbatch [-p P] [-t TIME] [-N NODES] [--account A] [-- SBATCH ARGS]
%ranks             show the ranks: rank, host, pid, state, cells run
%ranks stop        stop every rank
%ranks restart     stop the ranks and start them again with the same flags

Starts N ranks once, each a Go interpreter with package mpi, MPI
initialised once; %px cells then run on them and every rank keeps its
variables from cell to cell. The ranks start as %mpirun starts its ranks
(srun inside a SLURM allocation, --overlap inside a job step; mpirun
otherwise) and stop with the kernel, whatever ends it.

With --sbatch the ranks run as a SLURM batch job (as %mpirun --sbatch
submits a cell): its queue state shows until every rank connected back;
%ranks shows the job, and %ranks stop, restart and the kernel's shutdown
cancel it. A job that ends by itself (its time limit, a scancel outside the
notebook) is reported by the next %px or %ranks.
`

// PxUsage is the text of %px --help.
const PxUsage = `%px [--ranks 0,2-3] [--out NAME]     (or %%px)
<Go statements and declarations>

Runs the cell on every rank started with %ranks start (or on the ranks of
--ranks), each in its own interpreter session whose variables last from
cell to cell. The declarations of earlier plain cells are replayed into the
ranks. Output is shown live as "[rank N] line", with a summary at the end;
a failing rank makes the cell a RankError naming it, and every rank keeps
its state. Interrupting the cell stops it on every rank; a rank that does
not stop (blocked in an MPI call) is named: %ranks restart is the way out.

  --ranks LIST   run on these ranks only: 0,2-3
  --out NAME     put each rank's value of the cell's final expression into
                 the notebook as NAME, a slice indexed by rank (with
                 --ranks, the ranks not run hold the zero value)
  --help         this help
`

// ranksState is the Magic's persistent ranks: the running pool, if any,
// and the flags it was started with, for restart.
type ranksState struct {
	pool *px.Pool
	args []string
	pkgs []string // the packages beyond the builtin ones compiled into the ranks
}

// Ranks runs a %ranks line: args are the words after %ranks.
func (m *Magic) Ranks(ctx context.Context, args []string, out cellio.Output) error {
	ctx, end, err := m.track(ctx)
	if err != nil {
		return report.MagicError(err)
	}
	defer end()
	sub, rest := "", args
	if len(args) > 0 {
		sub, rest = args[0], args[1:]
	}
	switch sub {
	case "":
		return m.showRanks(ctx, out)
	case "--help", "-h", "help":
		out.Stream("stdout", RanksUsage)
		return nil
	case "start":
		return m.startRanks(ctx, rest, out)
	case "stop", "restart":
		if len(rest) > 0 {
			return report.UsageError(fmt.Sprintf("%%ranks %s takes no arguments", sub), RanksUsage)
		}
		if sub == "stop" {
			return m.stopRanks(out)
		}
		return m.restartRanks(ctx, out)
	}
	return report.UsageError(fmt.Sprintf("%%ranks: unknown command %q: want start, stop or restart", sub), RanksUsage)
}

// pool returns the running pool, nil if none.
func (m *Magic) pool() *px.Pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ranks.pool
}

// startRanks is %ranks start.
func (m *Magic) startRanks(ctx context.Context, args []string, out cellio.Output) error {
	o, err := Parse(args, ModeMagic, m.environ())
	var ue *UsageError
	if errors.As(err, &ue) {
		ue.Usage = RanksUsage
	}
	switch {
	case err != nil:
		return usageError(err)
	case o.Help:
		out.Stream("stdout", RanksUsage)
		return nil
	case o.Export != "" || o.Timeout > 0 || o.Out != "":
		return report.UsageError("%ranks start takes the launch flags of %mpirun only (not --export, --timeout or --out: --out goes on %px cells)", RanksUsage)
	case m.pool() != nil:
		return report.UsageError("the ranks run already: %ranks stop or %ranks restart first", RanksUsage)
	}
	p, pkgs, werr := m.launchRanks(ctx, o, out)
	if werr != nil {
		return werr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed { // Close came meanwhile
		_ = p.Close()
		return report.MagicError(errors.New("%ranks: the kernel is shutting down"))
	}
	m.ranks = ranksState{pool: p, args: args, pkgs: pkgs}
	return nil
}

// launchRanks finds the launcher and the toolchain for o, checks -n
// against the allocation, and starts the pool.
func (m *Magic) launchRanks(ctx context.Context, o Options, out cellio.Output) (*px.Pool, []string, error) {
	m.stopWarm()
	if o.Sbatch {
		if _, err := o.env.LookPath("sbatch"); err != nil {
			return nil, nil, report.UsageError("--sbatch runs the ranks as a SLURM batch job, but there is no sbatch command on PATH here: "+
				"run the kernel on a cluster's login node (or load the SLURM module: module load slurm)", RanksUsage)
		}
		o.Launcher = "srun" // the job's launcher: build for the MPI srun goes with
	}
	l, tc, err := m.setup(ctx, o)
	if err != nil {
		return nil, nil, report.MPIError(err)
	}
	req := o.request()
	spec := px.Spec{Req: req, Launcher: l}
	if o.Sbatch { // a new job, not this allocation
		spec.Submit = m.ranksSubmitter(o, l)
	} else if err := launch.CheckAllocation(req, l, o.env.Get, launch.Cores()); err != nil {
		return nil, nil, report.UsageError(err.Error(), "")
	}
	if m.cfg.BuildRank == nil {
		return nil, nil, report.MagicError(errors.New("%ranks: this mpigo cannot build the rank interpreter"))
	}
	var pkgs []string
	cfg := px.Config{
		Build: func(ctx context.Context, progress func(string)) (cmd []string, err error) {
			cmd, pkgs, err = m.cfg.BuildRank(ctx, tc, o.env, progress)
			return cmd, err
		},
		Decls: m.cfg.Decls, SetOut: m.cfg.SetOut, Logger: m.log, Verbose: o.Verbose,
	}
	p, err := px.Start(ctx, cfg, spec, out)
	if err != nil {
		return nil, nil, err
	}
	return p, pkgs, nil
}

// missingOnRanks is the error of a %px cell that imports a package the
// ranks were started without: the rank interpreter cannot grow, so the way
// is to bring the package into the notebook and start the ranks anew.
func (m *Magic) missingOnRanks(count int, body string) error {
	m.mu.Lock()
	have := map[string]bool{}
	for _, p := range m.ranks.pkgs {
		have[p] = true
	}
	m.mu.Unlock()
	for _, imp := range goeval.CellImports(body) {
		if goeval.Builtin(imp.Path) || have[imp.Path] {
			continue
		}
		return report.ImportError(fmt.Sprintf("cell[%d]:%d:%d: the ranks were started without package %s compiled in: "+
			"import it in a plain cell first (the notebook's interpreter brings it in), then %%ranks restart: the ranks start anew with it, without their state",
			count, imp.Line, imp.Col, imp.Path), nil)
	}
	return nil
}

// stopRanks is %ranks stop.
func (m *Magic) stopRanks(out cellio.Output) error {
	m.mu.Lock()
	p := m.ranks.pool
	m.ranks.pool = nil
	m.mu.Unlock()
	if p == nil {
		out.Stream("stdout", "no ranks run\n")
		return nil
	}
	if err := p.Close(); err != nil {
		return report.MagicError(err)
	}
	text := report.Plural(p.N(), "rank") + " stopped"
	if id := p.JobID(); id != "" {
		text += "; job " + id + " cancelled"
	}
	out.Stream("stdout", text+"\n")
	return nil
}

// restartRanks is %ranks restart: stop, then start with the same flags.
func (m *Magic) restartRanks(ctx context.Context, out cellio.Output) error {
	m.mu.Lock()
	args := m.ranks.args
	m.mu.Unlock()
	if args == nil {
		return report.UsageError("no ranks were started: %ranks start -n N", RanksUsage)
	}
	if err := m.stopRanks(out); err != nil {
		return err
	}
	return m.startRanks(ctx, args, out)
}

// showRanks is %ranks alone: a table of the ranks, and what the launcher
// wrote since the last cell.
func (m *Magic) showRanks(ctx context.Context, out cellio.Output) error {
	p := m.pool()
	if p == nil {
		out.Stream("stdout", "no ranks run: %ranks start -n N starts them\n")
		return nil
	}
	if err := m.checkJob(ctx, p); err != nil {
		return err
	}
	var b strings.Builder
	if id := p.JobID(); id != "" {
		fmt.Fprintf(&b, "SLURM job %s (%%ranks stop cancels it)\n", id)
	}
	fmt.Fprintf(&b, "%-6s %-20s %-8s %-14s %s\n", "rank", "host", "pid", "state", "cells")
	var lost []int
	for _, r := range p.Ranks() {
		fmt.Fprintf(&b, "%-6d %-20s %-8d %-14s %d\n", r.Rank, r.Host, r.PID, r.State, r.Cells)
		if r.State == px.Lost {
			lost = append(lost, r.Rank)
		}
	}
	if text := p.LauncherText(); text != "" {
		b.WriteString("launcher output:\n" + text)
	}
	out.Stream("stdout", b.String())
	if len(lost) > 0 {
		return report.RankError(report.RankList(lost)+" died: %ranks restart starts the ranks afresh", nil)
	}
	return nil
}

// Px runs a %px cell: args are the words after %px, body the rest of the
// cell, count its execution count.
func (m *Magic) Px(ctx context.Context, count int, args []string, body string, out cellio.Output) (cellio.Result, error) {
	ctx, end, err := m.track(ctx)
	if err != nil {
		return cellio.Result{}, report.MagicError(err)
	}
	defer end()
	c, help, err := parsePx(args)
	switch {
	case err != nil:
		return cellio.Result{}, report.UsageError(err.Error(), PxUsage)
	case help:
		out.Stream("stdout", PxUsage)
		return cellio.Result{}, nil
	case strings.TrimSpace(body) == "":
		return cellio.Result{}, report.UsageError("the cell is empty: write Go statements on the lines below %px", PxUsage)
	}
	p := m.pool()
	if p == nil {
		return cellio.Result{}, report.UsageError("no ranks run: start them with %ranks start -n N", PxUsage)
	}
	if err := m.checkJob(ctx, p); err != nil {
		return cellio.Result{}, err
	}
	// The ranks number the cell's lines as the user sees them, the %px line
	// being line 1 (as %mpirun does).
	code := "\n" + body
	if err := m.missingOnRanks(count, code); err != nil {
		return cellio.Result{}, err
	}
	c.Count, c.Code = count, code
	return p.Run(ctx, c, out)
}

// parsePx reads %px's flags.
func parsePx(args []string) (c px.Cell, help bool, err error) {
	fs := flag.NewFlagSet("px", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ranks := fs.String("ranks", "", "")
	fs.StringVar(&c.Out, "out", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, true, nil
		}
		return c, false, err
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Out != "" && !isIdent(c.Out) {
		return c, false, fmt.Errorf("--out %q: want a Go identifier", c.Out)
	}
	if *ranks != "" {
		if c.Ranks, err = parseRankList(*ranks); err != nil {
			return c, false, fmt.Errorf("--ranks %q: %v", *ranks, err)
		}
	}
	return c, false, nil
}

// parseRankList reads "0,2-3" into increasing ranks without repeats.
func parseRankList(s string) ([]int, error) {
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a {
			return nil, fmt.Errorf("want ranks and ranges such as 0,2-3, not %q", part)
		}
		for i := a; i <= b && len(seen) <= 1<<16; i++ {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out, nil
}

// isIdent reports whether s is a Go identifier.
func isIdent(s string) bool {
	for i, r := range s {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok || r > 127 {
			return false
		}
	}
	return s != ""
}

// checkJob reports the end of the batch job p's ranks ran in, which ended
// by itself since the last cell (its time limit, a scancel outside the
// notebook), and forgets p: nothing of it is left.
func (m *Magic) checkJob(ctx context.Context, p *px.Pool) error {
	s, ended := p.JobEnded(ctx)
	if !ended {
		return nil
	}
	m.mu.Lock()
	if m.ranks.pool == p {
		m.ranks.pool = nil
	}
	m.mu.Unlock()
	_ = p.Close()
	return jobEndedError(p.JobID(), s)
}

// jobEndedError is the error of a %px or %ranks that found the ranks' job
// ended in state s.
func jobEndedError(id string, s slurm.JobState) *cellio.Error {
	why, how := launch.StopCancelled, "ended"
	switch s.State {
	case "TIMEOUT":
		why, how = launch.StopTimeout, "reached its time limit and SLURM stopped it"
	case "CANCELLED":
		how = "was cancelled outside this notebook (scancel, or by an administrator)"
	}
	value := fmt.Sprintf("the ranks' job %s %s (%s): the ranks are gone, with their state; %%ranks restart submits a new job", id, how, s.Final())
	return report.Stopped(why, value)
}

// closeRanks stops the ranks for Close.
func (m *Magic) closeRanks() error {
	m.mu.Lock()
	p := m.ranks.pool
	m.ranks.pool = nil
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Close()
}

// RankBuilder builds the rank interpreter for the MPI of tc: what
// Config.BuildRank holds.
// It returns the command that runs it and the packages (beyond the
// standard library, mpi and display) compiled in.
type RankBuilder func(ctx context.Context, tc *build.Toolchain, env environ.Env, progress func(string)) (cmd, pkgs []string, err error)
