package px

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/px/pxwire"
	"github.com/mpigo/mpigo/mpimagic/rankio"
	"github.com/mpigo/mpigo/mpimagic/report"
	"github.com/mpigo/mpigo/mpimagic/slurm"
)

// Defaults of Config's durations.
const (
	DefaultStartTimeout = 2 * time.Minute // MPI_Init on many ranks, a slow srun
	DefaultGrace        = 3 * time.Second // for a cell to stop after an interrupt
	helloTimeout        = 10 * time.Second
	stopWait            = 3 * time.Second // for the ranks to finalize and the launcher to exit
	termWait            = 2 * time.Second // after SIGTERM, before SIGKILL
	writeTimeout        = 5 * time.Second // a rank that reads no request is lost
	maxLauncherText     = 32 << 10
)

// Config is what a Pool is given: the rank interpreter's build and the
// notebook's side of the cells, injected so that the pool knows neither.
type Config struct {
	// Build returns the command that runs the rank interpreter (built with
	// MPI compiled in); progress shows how the build goes.
	Build func(ctx context.Context, progress func(string)) ([]string, error)
	// Decls returns the declarations of the notebook's plain cells, which
	// are replayed into the ranks before a cell when they changed; nil:
	// none.
	Decls func() []goeval.Decl
	// SetOut puts the ranks' values of a cell run with --out into the
	// notebook session as a slice called name.
	SetOut func(ctx context.Context, name string, vals []goeval.CarriedVar, jsons []json.RawMessage) error
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the wait for every rank's hello (0: the default).
	StartTimeout time.Duration
	// Grace is how long an interrupted cell has to stop on every rank
	// before the ranks that did not are named (0: the default).
	Grace time.Duration
	// Verbose shows the launcher's command (%ranks start --verbose).
	Verbose bool
}

// Spec is how the ranks start: the %mpirun launch flags (Req.N ranks) and
// the launcher found for them (launch.FindLauncher, checked with
// launch.CheckAllocation).
type Spec struct {
	Req      launch.Request
	Launcher *launch.Launcher
	// Submit, when set, runs the ranks in a batch job instead of under the
	// launcher here: it submits program (the rank interpreter) to run on
	// every rank with env in each rank's environment (%ranks start
	// --sbatch). An error it returns as a *cellio.Error is the start's.
	Submit func(ctx context.Context, program, env []string) (Job, error)
}

// Pool is a set of running ranks. Its methods are safe for concurrent use;
// cells run one at a time.
type Pool struct {
	cfg     Config
	spec    Spec
	log     *slog.Logger
	token   string // the ranks' hellos must carry it
	display string // token of display records in the ranks' output
	ln      net.Listener
	cmd     *exec.Cmd
	job     Job           // instead of cmd, with Spec.Submit
	exited  chan struct{} // closed when the launcher exited (the job ended)
	exitErr error         // its exit status, once exited
	started time.Time
	// helloTimeout bounds the wait for a connection's hello (tests
	// shorten it).
	helloTimeout time.Duration

	runMu sync.Mutex // one cell at a time

	mu       sync.Mutex
	ranks    []*rank // by rank; nil until its hello
	helloed  chan struct{}
	calls    map[int64]*call
	nextID   int64
	launcher strings.Builder // what the launcher wrote, bounded
	shown    int             // of launcher, the bytes shown already
	live     *launch.Emitter // the running cell's, for the launcher's lines
	closed   bool
	conns    sync.WaitGroup
	pending  int            // connections before their hello
	jobState slurm.JobState // the job's, as last heard while starting
	// unstuck is closed (and replaced) when a stuck rank's interrupted
	// cell ends at last.
	unstuck chan struct{}
	notice  cellio.Output // see setNotice
}

// maxPending bounds the connections waiting for their hello: past it, new
// ones are closed at once (a flood holds no file descriptors).
const maxPending = 256

// Start builds the rank interpreter, launches spec.Req.N ranks under the
// launcher and waits for each one's hello, showing a progress line on out.
// A start that fails (or is interrupted through ctx) leaves nothing
// running and returns a *cellio.Error.
func Start(ctx context.Context, cfg Config, spec Spec, out cellio.Output) (*Pool, error) {
	em := launch.NewEmitter(out)
	defer em.Close()
	pr := report.NewMagicProgress(em, "%ranks")
	p := newPool(cfg, spec)
	what := report.Plural(spec.Req.N, "rank") + " with " + spec.Launcher.Name()
	pr.Set("building the rank interpreter…", false)
	argv, err := cfg.Build(ctx, func(s string) { pr.Set("building the rank interpreter: "+s, false) })
	switch {
	case err != nil && ctx.Err() != nil:
		pr.Set("interrupted while building", true)
		return nil, report.Stopped(launch.StopInterrupt, "%ranks start was interrupted while the rank interpreter was being built")
	case err != nil:
		pr.Set("the rank interpreter does not build", true)
		return nil, report.BuildError("building the rank interpreter: " + err.Error())
	case len(argv) == 0:
		return nil, report.MagicError(errors.New("%ranks: the rank interpreter's build gave no command"))
	}
	if spec.Submit != nil {
		pr.Set("submitting the ranks' job (sbatch)…", false)
	} else {
		pr.Set("starting "+what+"…", false)
	}
	if err := p.launch(ctx, argv, em); err != nil {
		pr.Set("failed: "+err.Error(), true)
		var cerr *cellio.Error
		if errors.As(err, &cerr) {
			return nil, cerr
		}
		return nil, report.MPIError(err)
	}
	if werr := p.awaitHellos(ctx, func(n int) { pr.Set(p.startText(what, n), false) }); werr != nil {
		_ = p.Close()
		pr.Set(werr.Value, true)
		return nil, werr
	}
	pr.Set(p.startedText(what), true)
	p.setNotice(out)
	return p, nil
}

// setNotice makes out, the output of the latest %ranks start or %px cell,
// where the loss of a rank between cells is told at once: the front end
// shows it under that cell, as it shows a background thread's output.
func (p *Pool) setNotice(out cellio.Output) {
	p.mu.Lock()
	p.notice = out
	p.mu.Unlock()
}

// newPool is a pool not started yet.
func newPool(cfg Config, spec Spec) *Pool {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	return &Pool{
		cfg: cfg, spec: spec, log: log, token: launch.NewToken(), display: launch.NewToken(),
		exited: make(chan struct{}), ranks: make([]*rank, spec.Req.N), helloed: make(chan struct{}, 1),
		calls: map[int64]*call{}, helloTimeout: helloTimeout, unstuck: make(chan struct{}),
	}
}

// N is the number of ranks.
func (p *Pool) N() int { return p.spec.Req.N }

// Spec is how the ranks were started (for %ranks restart).
func (p *Pool) Spec() Spec { return p.spec }

// launch listens for the ranks and starts the launcher in a process group
// of its own (or submits their job), with the channel's address in every
// rank's environment.
func (p *Pool) launch(ctx context.Context, program []string, em *launch.Emitter) error {
	req, l := p.spec.Req, p.spec.Launcher
	// a batch job's ranks run on the cluster's nodes
	remote := p.spec.Submit != nil || l.Remote(req, req.Environ.Get)
	ln, err := launch.Listen(remote)
	if err != nil {
		return fmt.Errorf("listening for the ranks: %w", err)
	}
	p.ln = ln
	go p.accept()
	env := append([]string{
		pxwire.EnvVar + "=" + launch.ListenAddress(ln, remote, p.token).String(),
		display.EnvToken + "=" + p.display,
	}, req.Env...)
	if p.spec.Submit != nil {
		return p.submit(ctx, program, env)
	}
	argv, addEnv := l.ProgramCommand(req, program, env)
	p.log.Debug("ranks: launch", "argv", argv)
	if p.cfg.Verbose {
		em.Text("stdout", []byte("mpigo: launch: "+launch.ShownCommand(addEnv, argv, pxwire.EnvVar)+"\n"))
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = environ.Merge(req.Environ.Child(), addEnv)
	cmd.SysProcAttr = launch.LauncherProcAttr()
	outR, errR, err := rankio.StartPiped(cmd)
	if err != nil {
		ln.Close()
		close(p.exited)
		return fmt.Errorf("starting %s: %w", l.Name(), err)
	}
	p.cmd, p.started = cmd, time.Now()
	go p.readLauncher(outR, "stdout")
	go p.readLauncher(errR, "stderr")
	go p.waitLauncher()
	return nil
}

// submit hands the ranks to Spec.Submit and follows their job.
func (p *Pool) submit(ctx context.Context, program, env []string) error {
	job, err := p.spec.Submit(ctx, program, env)
	if err != nil {
		p.ln.Close()
		close(p.exited)
		return err
	}
	p.job, p.started = job, time.Now()
	p.jobState = slurm.JobState{State: "PENDING"}
	go p.followJob()
	return nil
}

// waitLauncher reaps the launcher. Its pipes' readers end when the last
// process holding them (a rank) is gone.
func (p *Pool) waitLauncher() {
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exitErr = err
	p.mu.Unlock()
	close(p.exited)
}

// readLauncher passes the launcher's own output (MPI's warnings, a rank's
// output before its channel connected) to the running cell, else keeps it
// for the next %ranks or %px.
func (p *Pool) readLauncher(r io.ReadCloser, stream string) {
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if !strings.HasSuffix(line, "\n") {
				line += "\n"
			}
			p.mu.Lock()
			if p.launcher.Len() < maxLauncherText {
				p.launcher.WriteString(line)
			}
			em := p.live
			if em != nil {
				p.shown = p.launcher.Len()
			}
			p.mu.Unlock()
			if em != nil {
				em.Text(stream, []byte(line))
			}
		}
		if err != nil {
			return
		}
	}
}

// LauncherText returns what the launcher wrote that no cell showed yet,
// and marks it shown.
func (p *Pool) LauncherText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.launcher.String()[p.shown:]
	p.shown = p.launcher.Len()
	return s
}

// awaitHellos waits until every rank said hello, the launcher exited,
// ctx is done or Config.StartTimeout passed; progress is told each count.
func (p *Pool) awaitHellos(ctx context.Context, progress func(int)) *cellio.Error {
	// StartTimeout counts from the launch, for a batch job from its start:
	// it may wait in the queue for long (an interrupt cancels it)
	var timeout <-chan time.Time
	tick := time.NewTicker(time.Second) // the time in the queue goes on
	defer tick.Stop()
	for {
		n := p.connected()
		progress(n)
		if n == p.N() {
			p.ln.Close() // nobody else may connect
			if p.job != nil {
				p.job.Unfollow()
			}
			return nil
		}
		if timeout == nil && p.running(n) {
			timer := time.NewTimer(p.cfg.StartTimeout)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-p.helloed:
		case <-tick.C:
		case <-p.exited:
			if p.connected() == p.N() {
				continue
			}
			return report.LaunchError(p.startFailure(p.exitedWhy()))
		case <-ctx.Done():
			return report.Stopped(launch.StopInterrupt, p.interruptedText(n))
		case <-timeout:
			return report.LaunchError(p.startFailure(fmt.Sprintf("only %d of %d ranks connected within %s", n, p.N(), p.cfg.StartTimeout)))
		}
	}
}

// exitedWhy says that the launcher exited, or that the job ended, before
// every rank connected.
func (p *Pool) exitedWhy() string {
	if p.job == nil {
		return "the launcher exited"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exitErr, p.launcher = nil, strings.Builder{}
	p.launcher.WriteString(p.job.Output())
	return "job " + p.job.ID() + " ended: " + p.jobState.Final()
}

// interruptedText is the error of a start interrupted with n ranks
// connected.
func (p *Pool) interruptedText(n int) string {
	text := fmt.Sprintf("%%ranks start was interrupted with %d of %d ranks connected; none is left running", n, p.N())
	if p.job != nil {
		text += " (job " + p.job.ID() + " is cancelled)"
	}
	return text
}

// startFailure is the error of a start that failed for why, with what
// the launcher wrote.
func (p *Pool) startFailure(why string) (string, []string) {
	p.mu.Lock()
	text, err := p.launcher.String(), p.exitErr
	p.mu.Unlock()
	if err != nil {
		why += " (" + err.Error() + ")"
	}
	value := "the ranks did not start: " + why
	tb := []string{string(cellio.LaunchError) + ": " + value}
	if hint := launch.ExplainLauncher(text, p.spec.Req, p.spec.Launcher, launch.Cores()); hint != "" {
		tb = append(tb, hint)
	}
	if text != "" {
		tb = append(tb, "launcher output:")
		tb = append(tb, strings.Split(strings.TrimRight(text, "\n"), "\n")...)
	}
	return value, tb
}

// Close stops the ranks: a stop request to each (MPI finalizes), then
// SIGTERM and SIGKILL to the launcher's process group and to the ranks
// here that are still connected, and waits, within bounds, for all of it.
// Later calls do nothing.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
	}
	p.broadcast(pxwire.Request{Op: pxwire.OpStop})
	var err error
	if p.job != nil {
		err = p.endJob()
	} else {
		err = p.endLauncher()
	}
	p.killLocal()
	p.closeConns()
	p.conns.Wait()
	return err
}

// endLauncher waits for the launcher to exit after the stop requests,
// then terminates and kills its process group.
func (p *Pool) endLauncher() error {
	if p.cmd == nil {
		return nil
	}
	pgid := p.cmd.Process.Pid
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{0, stopWait}, {syscall.SIGTERM, termWait}, {syscall.SIGKILL, termWait}} {
		if step.sig != 0 {
			_ = syscall.Kill(-pgid, step.sig)
		}
		select {
		case <-p.exited:
			// the ranks it started here share its group: none may stay
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return nil
		case <-time.After(step.wait):
		}
	}
	p.log.Warn("ranks: the launcher did not exit after SIGKILL", "pid", pgid)
	return fmt.Errorf("%%ranks: the launcher (pid %d) did not exit after SIGKILL", pgid)
}

// killLocal SIGKILLs the ranks on this host whose connection is still
// open (so whose pid is still theirs): a rank that left the launcher's
// process group must not survive it.
func (p *Pool) killLocal() {
	host := rankio.Hostname()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.ranks {
		if r != nil && !r.lost && r.hello.Host == host && r.hello.PID > 1 {
			_ = syscall.Kill(r.hello.PID, syscall.SIGKILL)
		}
	}
}

// closeConns closes every rank's connection, which ends its reader.
func (p *Pool) closeConns() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.ranks {
		if r != nil {
			r.conn.Close()
		}
	}
}
