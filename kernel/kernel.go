// Package kernel is the Jupyter kernel process of mpigo: it speaks the Jupyter
// messaging protocol (5.4) over ZeroMQ, runs the line magics (!cmd, %env, %cd,
// ...) itself, and hands Go code to an Engine.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/mpigo/mpigo/cellio"
)

// CellMagic runs a whole cell whose first line is %name or %%name. args are
// the words after the name, split shell-like; body is the cell after its
// first line (so body line 1 is cell line 2). ExecutionCount(ctx) is the
// cell's execution count.
type CellMagic func(ctx context.Context, args []string, body string, out cellio.Output) (cellio.Result, error)

// countKey is the context key of a cell's execution count.
type countKey struct{}

// ExecutionCount returns the execution count of the cell whose CellMagic
// was given ctx (what positions in the cell call it: cell[N]); ok is false
// for any other context.
func ExecutionCount(ctx context.Context) (n int, ok bool) {
	n, ok = ctx.Value(countKey{}).(int)
	return n, ok
}

// Config configures Run.
type Config struct {
	// ConnectionFile is the path of the connection file Jupyter wrote.
	ConnectionFile string
	// Engine runs Go cells. Run closes it before returning.
	Engine Engine
	// StartEngine, used when Engine is nil, starts the engine once the
	// sockets are bound: a front end connects as soon as it has started
	// the kernel, and one that finds a port still closed waits for
	// libzmq's reconnect interval (100 ms, then more) before it tries again.
	StartEngine func() (Engine, error)
	// IsComplete answers is_complete_request for Go code: status is
	// "complete", "incomplete", "invalid" or "unknown"; indent goes with
	// "incomplete". Nil answers "unknown".
	IsComplete func(code string) (status, indent string)
	// CellMagics are the cell magics, keyed by name without '%'; the
	// kernel knows no other.
	CellMagics map[string]CellMagic
	// CellMagicDocs say what %help shows of cell magics, by name; a cell
	// magic without one is only named.
	CellMagicDocs map[string]MagicDoc
	// LineMagics are line magics besides the kernel's own (%env, %cd,
	// %pwd, %reset, %help), keyed by name without '%', each with what
	// %help and inspection show of it.
	LineMagics map[string]LineMagic
	// ResetAll, if set, is called by `%reset --all` after the engine was
	// reset, to forget what the session keeps besides the interpreter's
	// state (its Go modules).
	ResetAll func(ctx context.Context) error
	// Logger receives the kernel's logs; nil logs to stderr at the level
	// named by $MPIGO_LOG (see NewLogger).
	Logger *slog.Logger
	// DebuggerReady makes kernel_info announce the debugger (JupyterLab then
	// shows its bug icon) when the engine implements Debugger. cmd/mpigo sets
	// it: its engine runs cells under yaegi's debugger once a client
	// attached, so breakpoints stop. An embedder whose engine cannot stop
	// leaves it false, so that no icon offers breakpoints that never stop;
	// debug_request is served either way (the variable explorer, dumpCell,
	// breakpoints).
	DebuggerReady bool
	// Version is reported as implementation_version; empty means "dev".
	Version string
	// HandleSignals makes Run treat SIGINT as an interrupt_request (instead of
	// dying) and SIGTERM as a shutdown, for the duration of Run.
	HandleSignals bool
	// ParentPID is the process whose exit shuts the kernel down (Run then
	// returns ErrParentExited): the front end that started it, as
	// WatchedParent chooses. It must be the kernel's parent; 0 watches none.
	ParentPID int

	// getppid returns the parent PID; nil means os.Getppid. Tests replace it.
	getppid func() int
	// beforeHandle, if set, runs before each request's handler; tests make
	// it panic to check the request boundary's recover (see serve).
	beforeHandle func(*message)
}

// NewLogger returns a text logger writing to w at the level named by level
// ("debug", "info", "warn" or "error"; anything else means warn).
func NewLogger(w io.Writer, level string) *slog.Logger {
	l := slog.LevelWarn
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		l = slog.LevelDebug
	case "info":
		l = slog.LevelInfo
	case "error":
		l = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// kernel is the state of one Run.
type kernel struct {
	cfg     Config
	log     *slog.Logger
	engine  Engine
	session string
	signer  signer
	replay  *replayGuard
	socks   *sockets

	runCtx context.Context // cancelled when the kernel stops

	mu        sync.Mutex
	cancelRun context.CancelFunc // interrupts the running execute, if any
	running   *message           // the running execute_request, if any
	input     chan string        // waiting Input call, if any

	quitOnce sync.Once
	quit     chan struct{} // closed by shutdown_request
	shellQ   chan *message // shell requests waiting for their turn
	deferred []*message    // shell requests set aside by abortQueued (shell goroutine)

	// Owned by the shell goroutine.
	execCount int
	history   history
	oldpwd    string // for %cd -

	debug debugState // the debugger's session (debug_request, control goroutine)
}

// Run runs a kernel until a shutdown_request arrives (it then returns nil),
// SIGTERM arrives with cfg.HandleSignals (nil too), the process
// cfg.ParentPID exits (ErrParentExited), or ctx is cancelled (ctx.Err()).
// Every way out takes the same path: the running cell is interrupted (which
// stops an %mpirun cell's ranks), then the sockets and cfg.Engine are closed
// before Run returns.
func Run(ctx context.Context, cfg Config) error {
	return run(ctx, cfg, nil)
}

// run is Run; tests pass started to reach the kernel's internals.
func run(ctx context.Context, cfg Config, started func(*kernel)) error {
	if cfg.Engine == nil && cfg.StartEngine == nil {
		return errors.New("kernel: Config.Engine and Config.StartEngine are nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = NewLogger(os.Stderr, os.Getenv("MPIGO_LOG"))
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.getppid == nil {
		cfg.getppid = os.Getppid
	}
	ci, socks, err := listen(&cfg)
	if err != nil {
		return err
	}

	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	k := &kernel{
		cfg:     cfg,
		log:     cfg.Logger,
		engine:  cfg.Engine,
		session: uuid.NewString(),
		signer:  signer{key: []byte(ci.Key)},
		replay:  newReplayGuard(1 << 14),
		socks:   socks,
		runCtx:  runCtx,
		quit:    make(chan struct{}),
		shellQ:  make(chan *message, 256),
	}

	var sigs chan os.Signal
	if cfg.HandleSignals {
		sigs = make(chan os.Signal, 4)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sigs)
	}

	shellQ := k.shellQ
	controlQ := make(chan *message, 64)
	var loops sync.WaitGroup
	go heartbeat(socks.hb, k.log)
	enqueue := func(q chan *message) func(*message) {
		return func(m *message) {
			select {
			case q <- m:
			case <-runCtx.Done():
			}
		}
	}
	toShell := enqueue(shellQ)
	go k.readLoop(socks.shell, func(m *message) {
		if m.Header.MsgType == "is_complete_request" {
			k.answerIsComplete(m)
			return
		}
		toShell(m)
	})
	go k.readLoop(socks.control, enqueue(controlQ))
	go k.readLoop(socks.stdin, k.handleStdin)
	loops.Add(2)
	go func() { defer loops.Done(); k.shellLoop(shellQ) }()
	go func() { defer loops.Done(); k.controlLoop(controlQ) }()

	k.publish(nil, "status", map[string]any{"execution_state": "starting"})
	if started != nil {
		started(k)
	}
	k.log.Info("kernel started", "session", k.session, "transport", ci.Transport, "ip", ci.IP, "shell_port", ci.ShellPort, "parent", cfg.ParentPID)
	parentGone := watchParent(runCtx, cfg.ParentPID, cfg.getppid, k.log)

	var result error
wait:
	for {
		select {
		case <-k.quit:
			k.log.Info("shutdown requested")
			break wait
		case <-ctx.Done():
			result = ctx.Err()
			break wait
		case <-parentGone:
			k.log.Warn("the front end that started the kernel exited; shutting down", "pid", cfg.ParentPID)
			result = ErrParentExited
			break wait
		case s := <-sigs:
			if s == os.Interrupt {
				k.log.Info("SIGINT: interrupting")
				k.interrupt()
				continue
			}
			k.log.Info("SIGTERM: shutting down")
			break wait
		}
	}

	// Stop the running cell and the loops, give the cell's error and idle
	// messages a moment to go out, then close everything.
	stop()
	done := make(chan struct{})
	go func() { loops.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		k.log.Warn("cell did not stop in time; closing the engine")
	}
	if err := k.engine.Close(); err != nil {
		k.log.Debug("closing engine", "err", err)
	}
	socks.close()
	k.closeDebug()
	return result
}

// listen binds the sockets the connection file names, then starts the
// engine if cfg has none yet. On failure it closes what it opened, and
// cfg.Engine.
func listen(cfg *Config) (ConnectionInfo, *sockets, error) {
	closeEngine := func() {
		if cfg.Engine != nil {
			cfg.Engine.Close()
		}
	}
	ci, err := ReadConnectionFile(cfg.ConnectionFile)
	if err != nil {
		closeEngine()
		return ci, nil, fmt.Errorf("kernel: %w", err)
	}
	socks, err := bindSockets(ci, cfg.Logger)
	if err != nil {
		closeEngine()
		return ci, nil, fmt.Errorf("kernel: %w", err)
	}
	cfg.Logger.Info("listening", "transport", ci.Transport, "ip", ci.IP, "shell_port", ci.ShellPort)
	if cfg.Engine == nil {
		if cfg.Engine, err = cfg.StartEngine(); err != nil {
			socks.close()
			return ci, nil, fmt.Errorf("kernel: starting the engine: %w", err)
		}
	}
	return ci, socks, nil
}

// readLoop receives, decodes and authenticates messages from a ROUTER socket
// and hands them to handle. Bad messages are logged and dropped, except
// signed requests that can be answered: they reach handle with Invalid set.
func (k *kernel) readLoop(l *link, handle func(*message)) {
	for {
		zm, err := l.sock.Recv()
		if err != nil {
			if errors.Is(err, context.Canceled) || k.runCtx.Err() != nil {
				return
			}
			k.log.Warn("receive failed", "socket", l.name, "err", err)
			time.Sleep(50 * time.Millisecond) // no hot loop on a persistent error
			continue
		}
		m := k.accept(l, zm.Frames) // nil: dropped, and logged
		if m == nil {
			continue
		}
		k.log.Debug("received", "socket", l.name, "msg_type", clip(m.Header.MsgType), "msg_id", clip(m.Header.MsgID))
		if k.runCtx.Err() != nil {
			return
		}
		k.deliver(l, m, handle)
	}
}

// shellLoop handles shell requests one at a time, in order.
func (k *kernel) shellLoop(q chan *message) {
	for {
		var m *message
		if len(k.deferred) > 0 {
			m, k.deferred = k.deferred[0], k.deferred[1:]
		} else {
			select {
			case <-k.runCtx.Done():
				return
			case m = <-q:
			}
		}
		if k.runCtx.Err() != nil {
			return
		}
		k.dispatch(k.socks.shell, m, true)
	}
}

// abortQueued answers the execute requests already queued behind a failed
// cell with status "aborted", as ipykernel does, so that "Run all" stops at the
// first error. It runs before the failed request's idle status, so a client
// that waits for that idle before sending its next cell never sees it
// aborted. Other queued requests are kept, in order, for the shell loop.
func (k *kernel) abortQueued() {
	for {
		select {
		case m := <-k.shellQ:
			if m.Header.MsgType != "execute_request" {
				k.deferred = append(k.deferred, m)
				continue
			}
			k.log.Info("aborting execute_request queued behind an error", "msg_id", m.Header.MsgID)
			k.publishStatus(m, "busy")
			k.reply(k.socks.shell, m, "execute_reply", map[string]any{
				"status":          "aborted",
				"execution_count": k.execCount,
			})
			k.publishStatus(m, "idle")
		default:
			return
		}
	}
}

// controlLoop handles control requests, concurrently with the shell so that
// interrupt and shutdown work while a cell runs.
func (k *kernel) controlLoop(q chan *message) {
	for {
		select {
		case <-k.runCtx.Done():
			return
		case m := <-q:
			k.dispatch(k.socks.control, m, false)
		}
	}
}

// interrupt cancels the running execute, if any.
func (k *kernel) interrupt() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cancelRun != nil {
		k.cancelRun()
	}
}

// requestQuit makes Run return.
func (k *kernel) requestQuit() {
	k.quitOnce.Do(func() { close(k.quit) })
}

// send encodes m and queues it on l.
func (k *kernel) send(l *link, m *message) {
	l.send(encode(m, k.signer))
}

// reply sends a reply to req on l, to the identities req came from.
func (k *kernel) reply(l *link, req *message, msgType string, content any) {
	m, err := newMessage(k.session, msgType, req, content)
	if err != nil {
		k.log.Error("building reply", "msg_type", msgType, "err", err)
		return
	}
	m.Identities = req.Identities
	req.replied = true
	k.send(l, m)
}

// publish broadcasts a message on iopub with parent as parent header.
func (k *kernel) publish(parent *message, msgType string, content any) {
	m, err := newMessage(k.session, msgType, parent, content)
	if err != nil {
		k.log.Error("building iopub message", "msg_type", msgType, "err", err)
		return
	}
	m.Identities = [][]byte{[]byte("kernel." + k.session + "." + msgType)}
	k.send(k.socks.iopub, m)
}

func (k *kernel) publishStatus(parent *message, state string) {
	k.publish(parent, "status", map[string]any{"execution_state": state})
}
