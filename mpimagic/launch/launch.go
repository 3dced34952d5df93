package launch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/mpimagic/shell"
)

// MaxLauncherText bounds the launcher output kept for the summary.
const MaxLauncherText = 32 << 10

// launcherHold is how long a launcher line waits before it is shown live:
// time for a rank's failure to arrive first, which makes the launcher's
// own report of it redundant.
const launcherHold = 150 * time.Millisecond

// Job is one launch.
type Job struct {
	Req      Request
	Launcher *Launcher
	Wrapper  []string // runs the rank wrapper: the rankio binary, or mpigo rankio
	Program  []string // the program and its arguments
	// Value gives each rank's program the wrapper's value channel
	// (rankio.ValueFlag), for %mpirun --out: RankResult.Value holds what
	// came through it.
	Value    bool
	Emitter  *Emitter
	Rewrite  func(string) string
	Progress func(started, ended int)
	Verbose  func(string)
	Log      *slog.Logger // diagnostics
}

// StopReason is why the magic stopped the ranks of a run.
type StopReason int

const (
	RanToEnd      StopReason = iota // it did not: the run ended by itself
	StopInterrupt                   // the cell was interrupted
	StopTimeout                     // --timeout expired
	StopFailure                     // a rank failed: the others were stopped
	StopCancelled                   // the batch job was cancelled (scancel, SLURM)
)

// String names r, for logs and test names.
func (r StopReason) String() string {
	switch r {
	case RanToEnd:
		return "ranToEnd"
	case StopInterrupt:
		return "interrupt"
	case StopTimeout:
		return "timeout"
	case StopFailure:
		return "failure"
	case StopCancelled:
		return "cancelled"
	}
	return "StopReason(" + strconv.Itoa(int(r)) + ")"
}

// Outcome is how a launch ended.
type Outcome struct {
	Results      []RankResult
	LauncherText string        // everything the launcher wrote
	LauncherErr  error         // its exit status (nil: 0)
	Reason       StopReason    // why the magic stopped the ranks, if it did
	LauncherExit time.Duration // from the start to the launcher's exit
	Running      []int         // ranks still running when the stop began
	Took         time.Duration
}

// launch runs j and collects its ranks until the launcher and every rank
// are gone. Cancelling ctx stops everything within about two seconds:
// SIGTERM to the launcher's process group and to every rank's program
// (through its wrapper), SIGKILL to all of them after rankio.KillGrace.
func Run(ctx context.Context, j Job) (*Outcome, error) {
	remote := j.Launcher.Remote(j.Req, j.Req.Environ.Get)
	c, err := NewCollector(j.Req.N, remote, j.Emitter, j.Rewrite, j.Log)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rankEnv := c.RankEnv(remote, j.Req.Env)
	wrapper := j.Wrapper
	if j.Value && len(wrapper) > 0 {
		wrapper = append(slices.Clone(wrapper), rankio.ValueFlag)
	}
	argv, env := j.Launcher.Command(j.Req, commandSpec{wrapper: wrapper, program: j.Program, env: rankEnv, cores: Cores(), euid: os.Geteuid()})
	if j.Verbose != nil {
		j.Verbose("launch: " + ShownCommand(env, argv))
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = environ.Merge(j.Req.Environ.Child(), env)
	cmd.SysProcAttr = LauncherProcAttr()
	start := time.Now()
	outR, errR, err := rankio.StartPiped(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", j.Launcher.Name(), err)
	}
	lo := newLauncherOutput(c, j.Emitter)
	lo.read(outR, "stdout")
	lo.read(errR, "stderr")
	g := &launcherGroup{pgid: cmd.Process.Pid, c: c, progress: j.Progress, log: j.Log, exits: make(chan News, 1)}
	go g.wait(cmd, start)

	// --timeout is ctx's deadline (the callers set it): here it counts
	// from the launch, and the supervisor has no clock of its own to run.
	o := NewSupervisor(g, c, j.Req.N).Run(ctx)
	lo.wait()
	if j.Progress != nil {
		j.Progress(c.Counts())
	}
	o.Took = time.Since(start)
	o.LauncherText = lo.text()
	o.LauncherErr, o.LauncherExit = g.err, g.exit
	return o, nil
}

// ShownCommand is the launcher's command for --verbose, with the values of
// the tokens of the rank I/O channel, of display records and of the
// variables secret left out.
func ShownCommand(env, argv []string, secret ...string) string {
	var shown []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == rankio.EnvVar || k == display.EnvToken || slices.Contains(secret, k) {
			kv = k + "=…"
		}
		shown = append(shown, kv)
	}
	return shell.Join(shown) + " " + shell.Join(argv)
}

// launcherGroup is the backend of a launch here: the launcher process and
// its process group, which holds the ranks it starts on this host.
type launcherGroup struct {
	pgid     int
	c        *Collector
	progress func(started, ended int)
	log      *slog.Logger
	exits    chan News     // the launcher's exit (room for it: it may come after the supervisor gave up)
	err      error         // the launcher's exit status, once it exited
	exit     time.Duration // from the start to its exit
}

// wait waits for the launcher to exit and reports it.
func (g *launcherGroup) wait(cmd *exec.Cmd, start time.Time) {
	err := cmd.Wait()
	g.exits <- News{Ended: true, Apply: func() { g.err, g.exit = err, time.Since(start) }}
}

func (g *launcherGroup) News() <-chan News { return g.exits }

// RanksChanged shows the ranks' counts.
func (g *launcherGroup) RanksChanged(bool) {
	if g.progress != nil {
		g.progress(g.c.Counts())
	}
}

// Terminate passes SIGTERM to the launcher's group, for every reason:
// after a failure, failStopDelay went by without the launcher stopping
// the other ranks itself.
func (g *launcherGroup) Terminate(StopReason) { _ = syscall.Kill(-g.pgid, syscall.SIGTERM) }

// Kill SIGKILLs the launcher's group and the wrappers of the ranks here.
func (g *launcherGroup) Kill() {
	_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
	g.c.killLocal()
}

// RanksEnded does nothing: the launcher exits by itself once its ranks
// ended (an interrupt stops one that does not).
func (g *launcherGroup) RanksEnded() {}

// GiveUp: the launcher did not exit by the stop's deadline, SIGKILL
// notwithstanding: the cell ends without it, and the log says so.
func (g *launcherGroup) GiveUp() {
	g.log.Warn("mpirun: the launcher did not exit after SIGKILL", "pid", g.pgid)
}

// PassOutput does nothing: the launcher's pipes have readers of their own
// (launcherOutput).
func (g *launcherGroup) PassOutput() {}

// WrapUp SIGKILLs what is left of the launcher's group.
func (g *launcherGroup) WrapUp() { _ = syscall.Kill(-g.pgid, syscall.SIGKILL) }

// StoppedBy: a launcher does not stop ranks on its own account.
func (g *launcherGroup) StoppedBy() StopReason { return RanToEnd }

// launcherOutput passes the launcher's own output on, each line held back
// a moment and dropped from the live output (not from the summary) when a
// rank failed or the ranks are being stopped: the launcher then only
// repeats what the magic reports better.
type launcherOutput struct {
	c     *Collector
	em    *Emitter
	lines chan launcherLine
	wg    sync.WaitGroup
	mu    sync.Mutex
	buf   strings.Builder
	pipes []io.Closer
	done  chan struct{}
}

type launcherLine struct {
	stream string
	text   string
	at     time.Time
}

func newLauncherOutput(c *Collector, em *Emitter) *launcherOutput {
	lo := &launcherOutput{c: c, em: em, lines: make(chan launcherLine, 256), done: make(chan struct{})}
	go lo.show()
	return lo
}

// read reads one of the launcher's pipes.
func (lo *launcherOutput) read(r io.ReadCloser, stream string) {
	lo.wg.Add(1)
	lo.mu.Lock()
	lo.pipes = append(lo.pipes, r)
	lo.mu.Unlock()
	go func() {
		defer lo.wg.Done()
		defer r.Close()
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				if !strings.HasSuffix(line, "\n") {
					line += "\n"
				}
				lo.mu.Lock()
				if lo.buf.Len() < MaxLauncherText {
					lo.buf.WriteString(line)
				}
				lo.mu.Unlock()
				lo.lines <- launcherLine{stream: stream, text: line, at: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
}

func (lo *launcherOutput) show() {
	defer close(lo.done)
	for l := range lo.lines {
		if d := time.Until(l.at.Add(launcherHold)); d > 0 {
			time.Sleep(d)
		}
		if !lo.c.Quiet() {
			lo.em.Text(l.stream, []byte(l.text))
		}
	}
}

// wait waits until both pipes are read and shown; a pipe still open a
// second later (held by a stray process) is closed.
func (lo *launcherOutput) wait() {
	read := make(chan struct{})
	go func() { lo.wg.Wait(); close(read) }()
	select {
	case <-read:
	case <-time.After(time.Second):
		lo.mu.Lock()
		for _, p := range lo.pipes {
			p.Close()
		}
		lo.mu.Unlock()
		<-read
	}
	close(lo.lines)
	<-lo.done
}

// text is everything the launcher wrote (up to MaxLauncherText).
func (lo *launcherOutput) text() string {
	lo.mu.Lock()
	defer lo.mu.Unlock()
	return lo.buf.String()
}
