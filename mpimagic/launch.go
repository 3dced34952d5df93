package mpimagic

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/shell"

	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

const (
	// failStopDelay is how long the launcher gets to stop the other ranks
	// after one failed before the magic stops them itself.
	failStopDelay = 1500 * time.Millisecond
	// stopDeadline bounds a stop: after it the launcher and every rank
	// have been SIGKILLed and the magic stops waiting.
	stopDeadline = 1800 * time.Millisecond
	// launcherHold is how long a launcher line waits before it is shown
	// live: time for a rank's failure to arrive first, which makes the
	// launcher's own report of it redundant.
	launcherHold = 150 * time.Millisecond
	// maxLauncherText bounds the launcher output kept for the summary.
	maxLauncherText = 32 << 10
)

// job is one launch.
type job struct {
	req      Request
	l        *launcher
	wrapper  []string // runs the rank wrapper: the rankio binary, or mpigo rankio
	program  []string // the program and its arguments
	em       *emitter
	rewrite  func(string) string
	progress func(started, ended int)
	verbose  func(string)
}

// outcome is how a launch ended.
// stopReason is why the magic stopped the ranks of a run.
type stopReason int

const (
	ranToEnd      stopReason = iota // it did not: the run ended by itself
	stopInterrupt                   // the cell was interrupted
	stopTimeout                     // --timeout expired
	stopFailure                     // a rank failed: the others were stopped
	stopCancelled                   // the batch job was cancelled (scancel, SLURM)
)

type outcome struct {
	results      []rankResult
	launcherText string        // everything the launcher wrote
	launcherErr  error         // its exit status (nil: 0)
	reason       stopReason    // why the magic stopped the ranks, if it did
	launcherExit time.Duration // from the start to the launcher's exit
	running      []int         // ranks still running when the stop began
	took         time.Duration
}

// launch runs j and collects its ranks until the launcher and every rank
// are gone. Cancelling ctx stops everything within about two seconds:
// SIGTERM to the launcher's process group and to every rank's program
// (through its wrapper), SIGKILL to all of them after rankio.KillGrace.
func (m *Magic) launch(ctx context.Context, j job) (*outcome, error) {
	remote := j.l.remote(j.req, j.req.Environ.Get)
	c, err := newCollector(j.req.N, remote, j.em, j.rewrite, m.log)
	if err != nil {
		return nil, err
	}
	defer c.close()
	rankEnv := c.rankEnv(remote, j.req.Env)
	argv, env := j.l.command(j.req, launchSpec{wrapper: j.wrapper, program: j.program, env: rankEnv, cores: physicalCores(), euid: os.Geteuid()})
	if j.verbose != nil {
		var shown []string
		for _, kv := range env {
			if strings.HasPrefix(kv, rankio.EnvVar+"=") || strings.HasPrefix(kv, display.EnvToken+"=") {
				k, _, _ := strings.Cut(kv, "=")
				kv = k + "=…"
			}
			shown = append(shown, kv)
		}
		j.verbose("launch: " + shell.Join(shown) + " " + shell.Join(argv))
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = environ.Merge(j.req.Environ.Child(), env)
	cmd.SysProcAttr = launcherProcAttr()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", j.l.name(), err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("starting %s: %w", j.l.name(), err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	start := time.Now()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("starting %s: %w", j.l.name(), err)
	}
	lo := newLauncherOutput(c, j.em)
	lo.read(outR, "stdout")
	lo.read(errR, "stderr")
	g := &launcherGroup{pgid: cmd.Process.Pid, c: c, progress: j.progress, log: m.log, exits: make(chan backendNews, 1)}
	go g.wait(cmd, start)

	// --timeout is ctx's deadline (the callers set it): here it counts
	// from the launch, and the supervisor has no clock of its own to run.
	o := newSupervisor(g, c, j.req.N).run(ctx)
	lo.wait()
	if j.progress != nil {
		j.progress(c.counts())
	}
	o.took = time.Since(start)
	o.launcherText = lo.text()
	o.launcherErr, o.launcherExit = g.err, g.exit
	return o, nil
}

// launcherGroup is the backend of a launch here: the launcher process and
// its process group, which holds the ranks it starts on this host.
type launcherGroup struct {
	pgid     int
	c        *collector
	progress func(started, ended int)
	log      *slog.Logger
	exits    chan backendNews // the launcher's exit (room for it: it may come after the supervisor gave up)
	err      error            // the launcher's exit status, once it exited
	exit     time.Duration    // from the start to its exit
}

// wait waits for the launcher to exit and reports it.
func (g *launcherGroup) wait(cmd *exec.Cmd, start time.Time) {
	err := cmd.Wait()
	g.exits <- backendNews{ended: true, apply: func() { g.err, g.exit = err, time.Since(start) }}
}

func (g *launcherGroup) news() <-chan backendNews { return g.exits }

// ranksChanged shows the ranks' counts.
func (g *launcherGroup) ranksChanged(bool) {
	if g.progress != nil {
		g.progress(g.c.counts())
	}
}

// terminate passes SIGTERM to the launcher's group, for every reason:
// after a failure, failStopDelay went by without the launcher stopping
// the other ranks itself.
func (g *launcherGroup) terminate(stopReason) { _ = syscall.Kill(-g.pgid, syscall.SIGTERM) }

// kill SIGKILLs the launcher's group and the wrappers of the ranks here.
func (g *launcherGroup) kill() {
	_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
	g.c.killLocal()
}

// ranksEnded does nothing: the launcher exits by itself once its ranks
// ended (an interrupt stops one that does not).
func (g *launcherGroup) ranksEnded() {}

// giveUp: the launcher did not exit by the stop's deadline, SIGKILL
// notwithstanding: the cell ends without it, and the log says so.
func (g *launcherGroup) giveUp() {
	g.log.Warn("mpirun: the launcher did not exit after SIGKILL", "pid", g.pgid)
}

// passOutput does nothing: the launcher's pipes have readers of their own
// (launcherOutput).
func (g *launcherGroup) passOutput() {}

// wrapUp SIGKILLs what is left of the launcher's group.
func (g *launcherGroup) wrapUp() { _ = syscall.Kill(-g.pgid, syscall.SIGKILL) }

// stoppedBy: a launcher does not stop ranks on its own account.
func (g *launcherGroup) stoppedBy() stopReason { return ranToEnd }

// launcherOutput passes the launcher's own output on, each line held back
// a moment and dropped from the live output (not from the summary) when a
// rank failed or the ranks are being stopped: the launcher then only
// repeats what the magic reports better.
type launcherOutput struct {
	c     *collector
	em    *emitter
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

func newLauncherOutput(c *collector, em *emitter) *launcherOutput {
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
				if lo.buf.Len() < maxLauncherText {
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
		if !lo.c.quiet() {
			lo.em.text(l.stream, []byte(l.text))
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

// text is everything the launcher wrote (up to maxLauncherText).
func (lo *launcherOutput) text() string {
	lo.mu.Lock()
	defer lo.mu.Unlock()
	return lo.buf.String()
}
