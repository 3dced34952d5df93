package mpimagic

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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
	opts     Options
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
	remote := j.l.remote(j.opts, j.opts.env.Get)
	c, err := newCollector(j.opts.N, remote, j.em, j.rewrite, m.log)
	if err != nil {
		return nil, err
	}
	defer c.close()
	rankEnv := c.rankEnv(remote, j.opts.Env)
	argv, env := j.l.command(j.opts, launchSpec{wrapper: j.wrapper, program: j.program, env: rankEnv, cores: physicalCores(), euid: os.Geteuid()})
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
	cmd.Env = environ.Merge(j.opts.env.Child(), env)
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
	pgid := cmd.Process.Pid
	lo := newLauncherOutput(c, j.em)
	lo.read(outR, "stdout")
	lo.read(errR, "stderr")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	o := &outcome{}
	var stopAt time.Time
	var escalate, deadline, failTimer <-chan time.Time
	beginStop := func(reason stopReason) {
		if !stopAt.IsZero() {
			return
		}
		o.reason, stopAt = reason, time.Now()
		o.running = c.stop()
		c.control(rankio.CtlTerminate)
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		escalate, deadline = time.After(rankio.KillGrace), time.After(stopDeadline)
	}
	killAll := func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		c.control(rankio.CtlKill)
		c.killLocal()
	}
	done := ctx.Done()
	launcherDone := false
	for !launcherDone {
		select {
		case <-done:
			done = nil
			reason := stopInterrupt
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				reason = stopTimeout
			}
			beginStop(reason)
		case err := <-exited:
			o.launcherErr, launcherDone = err, true
			o.launcherExit = time.Since(start)
		case <-c.changed:
			if j.progress != nil {
				j.progress(c.counts())
			}
			if failTimer == nil && !c.firstFailure().IsZero() {
				failTimer = time.After(failStopDelay)
			}
		case <-failTimer:
			beginStop(stopFailure)
		case <-escalate:
			escalate = nil
			killAll()
		case <-deadline:
			m.log.Warn("mpirun: the launcher did not exit after SIGKILL", "pid", pgid)
			launcherDone = true
		}
	}
	// The launcher is gone; give the ranks' connections a moment to end,
	// then make sure no rank outlives the cell.
	until := time.Now().Add(time.Second)
	if !stopAt.IsZero() {
		until = stopAt.Add(stopDeadline)
	}
	grace := time.After(time.Until(until))
	for c.open() {
		select {
		case <-c.changed:
			continue
		case <-done:
			done = nil
			beginStop(stopInterrupt)
			continue
		case <-escalate:
			escalate = nil
			killAll()
			continue
		case <-grace:
		}
		break
	}
	if c.open() {
		killAll()
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // leftovers of the launcher's group
	c.close()
	lo.wait()
	if j.progress != nil {
		j.progress(c.counts())
	}
	o.took = time.Since(start)
	o.launcherText = lo.text()
	o.results = c.results()
	markStopped(o.results, o.running, stopAt, c.firstFailure())
	return o, nil
}

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
