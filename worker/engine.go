package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/goeval"
)

// Config says how to start the child process.
type Config struct {
	// Command starts the child, e.g. {"/usr/local/bin/mpigo", "worker"}; the
	// child must call Serve.
	Command []string
	// Env is the child's environment; nil means the parent's at each start, so
	// that %env changes made in the kernel carry over to a restarted child.
	Env []string
	// Dir is the child's working directory; "" means the parent's at each start.
	Dir string
	// Logger receives the engine's diagnostics; nil discards them.
	Logger *slog.Logger
	// Packages builds interpreters with the packages cells import compiled
	// in; nil: cells can import what Command's interpreter has.
	Packages Packager
}

// Timeouts of the supervision.
const (
	// interruptGrace is how long a cell may take to stop after an interrupt
	// before its process is killed and restarted. goeval gives up waiting
	// for an uninterruptible call after goeval.InterruptGrace (200 ms) and
	// replies; the rest (three times as much again) is margin for that reply
	// on a busy machine.
	interruptGrace = 4 * goeval.InterruptGrace
)

// Engine runs cells in a supervised child process and restarts it, with the
// declarations made so far, whenever it dies. It implements kernel.Engine.
// Its methods may be called from several goroutines; operations run one at a
// time.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	token string

	ops   sync.Mutex // one operation at a time
	proc  *process
	decls []goeval.Decl
	seq   int64
	// command starts the running interpreter: Config.Command, or one with
	// the packages pkgs compiled in (from what interpKey identifies).
	command   []string
	pkgs      []string
	interpKey string

	outMu sync.Mutex // serialises Stream and Display calls
	out   Output     // where output goes: the running or the last cell's
	shown map[string]bool

	debug debugConfig // the debugger's session, for cells run under it
}

// Start starts the child process.
func Start(ctx context.Context, cfg Config) (*Engine, error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("worker: no command to start the interpreter")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("worker: token: %w", err)
	}
	e := &Engine{cfg: cfg, log: log, token: hex.EncodeToString(b), command: cfg.Command}
	p, err := e.start()
	if err != nil {
		return nil, err
	}
	e.proc = p
	return e, nil
}

// Decls returns the declarations (imports, types, funcs, consts, vars) made
// by the cells so far, the latest definition of each name.
func (e *Engine) Decls() []goeval.Decl {
	e.ops.Lock()
	defer e.ops.Unlock()
	return append([]goeval.Decl(nil), e.decls...)
}

// Execute runs one cell; see kernel.Engine.
func (e *Engine) Execute(ctx context.Context, req Request, out Output) (Result, error) {
	e.ops.Lock()
	defer e.ops.Unlock()
	e.outMu.Lock()
	e.out, e.shown = out, map[string]bool{}
	e.outMu.Unlock()

	if err := e.ensurePackages(ctx, req); err != nil {
		return Result{}, err
	}
	p, err := e.alive()
	if err != nil {
		return Result{}, err
	}
	id := e.next()
	dr := e.debug.run()
	if err := p.send(request{ID: id, Op: opExecute, Cell: req.Cell, Code: req.Code, AllowStdin: req.AllowStdin, Debug: dr}); err != nil {
		return Result{}, fmt.Errorf("worker: sending cell: %w", err)
	}
	if dr != nil {
		e.debug.setRunning(p)
		defer e.debug.setRunning(nil)
	}
	defer p.wakeOn(ctx)()
	var deadline time.Time // once interrupted: when to give up on the cell
	for {
		r, err := p.recv(deadline)
		switch {
		case err == nil && r.Op == opDebugEvent:
			e.debug.event(r.Event)
		case err == nil && r.ID != id && e.debug.deliver(r):
		case err == nil && r.ID != id:
			e.log.Debug("stale reply", "id", r.ID)
		case err == nil && r.Op == opInputRequest:
			go e.answerInput(p, out, req.AllowStdin)
		case err == nil:
			return e.finish(p, r)
		case !errors.Is(err, os.ErrDeadlineExceeded):
			why := p.crashReport()
			e.restart()
			return Result{}, crashedError(why)
		case deadline.IsZero() && ctx.Err() != nil:
			p.interrupt()
			deadline = time.Now().Add(interruptGrace)
		case !deadline.IsZero() && !time.Now().Before(deadline):
			// The cell ignores the interrupt (blocked in compiled code): the
			// only way to stop it is to stop its process.
			e.log.Info("cell did not stop; restarting the interpreter")
			p.kill()
			e.restart()
			return Result{}, killedError()
		}
	}
}

// crashedError is the error of a cell whose interpreter process died (why:
// its crash report); the interpreter was restarted.
func crashedError(why string) *Error {
	return &Error{Name: cellio.InterpreterCrashed, Value: why + "; the Go interpreter was restarted: declarations were restored, variables are lost"}
}

// killedError is the error of an interrupted cell that did not stop, so
// that its interpreter process was killed and restarted.
func killedError() *Error {
	return &Error{Name: cellio.Interrupted, Value: "the cell did not stop, so the Go interpreter was restarted: declarations were restored, variables are lost"}
}

// answerInput relays one input_request to the front end and its answer back.
func (e *Engine) answerInput(p *process, out Output, allowed bool) {
	if !allowed {
		p.send(request{Op: opInput, EOF: true})
		return
	}
	v, err := out.Input("", false)
	if err != nil {
		p.send(request{Op: opInput, EOF: true})
		return
	}
	p.send(request{Op: opInput, Value: v})
}

// finish forwards the cell's last output, then turns the reply into a result.
func (e *Engine) finish(p *process, r reply) (Result, error) {
	p.drain()
	if r.DeclsSet {
		e.decls = r.Decls
	}
	if r.Fail != "" {
		return Result{}, errors.New(r.Fail)
	}
	if r.CellError != nil {
		return Result{}, r.CellError
	}
	if r.Result != nil {
		return *r.Result, nil
	}
	return Result{}, nil
}

// Complete answers a completion request.
func (e *Engine) Complete(ctx context.Context, code string, cursor int) (Completion, error) {
	r, err := e.call(ctx, request{Op: opComplete, Code: code, Cursor: cursor})
	if err != nil || r.Completion == nil {
		return Completion{Matches: []string{}, Start: cursor, End: cursor}, err
	}
	return *r.Completion, nil
}

// Inspect answers an inspection request.
func (e *Engine) Inspect(ctx context.Context, code string, cursor, detail int) (Inspection, error) {
	r, err := e.call(ctx, request{Op: opInspect, Code: code, Cursor: cursor, Detail: detail})
	if err != nil || r.Inspection == nil {
		return Inspection{Data: map[string]any{}}, err
	}
	return *r.Inspection, nil
}

// Reset forgets every declaration and variable.
func (e *Engine) Reset(ctx context.Context) error {
	_, err := e.call(ctx, request{Op: opReset})
	return err
}

// Setenv sets or unsets an environment variable in the interpreter.
func (e *Engine) Setenv(ctx context.Context, key, value string, unset bool) error {
	_, err := e.call(ctx, request{Op: opSetenv, Key: key, Value: value, Unset: unset})
	return err
}

// Chdir changes the interpreter's working directory.
func (e *Engine) Chdir(ctx context.Context, dir string) error {
	_, err := e.call(ctx, request{Op: opChdir, Dir: dir})
	return err
}

// Close stops the child process.
func (e *Engine) Close() error {
	e.ops.Lock()
	defer e.ops.Unlock()
	if e.proc != nil {
		e.proc.stop()
		e.proc = nil
	}
	return nil
}

// call runs a short operation and waits for its reply.
func (e *Engine) call(ctx context.Context, req request) (reply, error) {
	e.ops.Lock()
	defer e.ops.Unlock()
	return e.callLocked(ctx, req)
}

// callLocked is call, with e.ops held.
func (e *Engine) callLocked(ctx context.Context, req request) (reply, error) {
	p, err := e.alive()
	if err != nil {
		return reply{}, err
	}
	req.ID = e.next()
	if err := p.send(req); err != nil {
		return reply{}, fmt.Errorf("worker: %s: %w", req.Op, err)
	}
	defer p.wakeOn(ctx)()
	for {
		r, err := p.recv(time.Time{})
		switch {
		case err == nil && (r.ID != req.ID || r.Op != opDone):
			continue
		case err == nil:
			if r.DeclsSet {
				e.decls = r.Decls
			}
			if r.Fail != "" {
				return r, fmt.Errorf("%s: %s", req.Op, r.Fail)
			}
			return r, nil
		case !errors.Is(err, os.ErrDeadlineExceeded):
			e.restart()
			return reply{}, fmt.Errorf("worker: %s: the interpreter process died and was restarted", req.Op)
		case ctx.Err() != nil:
			return reply{}, ctx.Err()
		}
	}
}

// SetSlice declares name in the session as a slice indexed by rank of the
// values %px --out brought back (see goeval.Session.ImportSlice): a []T of
// the ranks' common type when the session knows it, else a []any of the
// JSON values.
func (e *Engine) SetSlice(ctx context.Context, name string, vals []goeval.CarriedVar, jsons []json.RawMessage) error {
	_, err := e.call(ctx, request{Op: opImportSlice, Name: name, Vars: vals, JSONs: jsons})
	return err
}

func (e *Engine) next() int64 { e.seq++; return e.seq }

// alive returns the running child, restarting it if it has died.
func (e *Engine) alive() (*process, error) {
	if e.proc == nil {
		return nil, errors.New("worker: engine closed")
	}
	select {
	case <-e.proc.dead:
		e.restart()
	default:
	}
	return e.proc, nil
}

// restart replaces the child with a fresh one and replays the declarations.
func (e *Engine) restart() {
	if e.proc != nil {
		e.proc.stop()
	}
	p, err := e.start()
	if err != nil {
		e.log.Error("restarting the interpreter", "err", err)
		e.proc = &process{dead: closedChan()}
		return
	}
	e.proc = p
	if failed := e.replay(p); failed != "" {
		e.emit("stderr", "mpigo: "+failed+"\n")
	}
}

// replay restores the session's declarations into a new child and says
// what could not be restored ("" when all was).
func (e *Engine) replay(p *process) (failed string) {
	if len(e.decls) == 0 {
		return ""
	}
	r, err := e.roundTrip(p, request{Op: opRestore, Decls: e.decls})
	if err != nil {
		return "could not restore the declarations: " + err.Error()
	}
	if r.DeclsSet {
		e.decls = r.Decls
	}
	return r.Fail
}

// roundTrip sends a request to p and waits for its reply, for operations
// that run under e.ops already (a restart, a switch of interpreters).
func (e *Engine) roundTrip(p *process, req request) (reply, error) {
	req.ID = e.next()
	if err := p.send(req); err != nil {
		return reply{}, err
	}
	for {
		r, err := p.recv(time.Time{})
		if err != nil {
			return reply{}, err
		}
		if r.ID == req.ID && r.Op == opDone {
			return r, nil
		}
	}
}

func closedChan() chan struct{} { c := make(chan struct{}); close(c); return c }

// emit forwards output to the current cell's Output.
func (e *Engine) emit(stream, text string) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	if e.out != nil && text != "" {
		e.out.Stream(stream, text)
	}
}

// record handles a display record from the child's stdout.
func (e *Engine) display(payload []byte) {
	var m display.Message
	if err := json.Unmarshal(payload, &m); err != nil {
		e.log.Warn("bad display record", "err", err)
		return
	}
	e.show(m)
}

// show delivers a display to the current cell's Output.
func (e *Engine) show(m display.Message) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	if e.out == nil {
		return
	}
	e.out.Display(m.InCell(e.shown)) // the first use of an id in a cell shows it
}

// process is one child and the goroutines that read its pipes.
type process struct {
	cmd   *exec.Cmd
	reqMu sync.Mutex
	reqs  *os.File
	// The child's replies and events, read by the operation that waits
	// for them (under Engine.ops) rather than by a goroutine of their own:
	// handing each reply to the waiting goroutine woke a second thread.
	events   *os.File
	replies  *lineReader
	deadline time.Time     // the read deadline set on events
	ready    bool          // the child interrupts cells on SIGINT
	exited   chan struct{} // closed when the child has exited, before dead
	dead     chan struct{} // closed when the child has exited

	readers sync.WaitGroup // stdout, stderr and the crash output
	outputs [2]*stream     // the child's stdout and the cell's stderr

	tailMu sync.Mutex
	crash  []byte // the start of the child's own stderr, for crash reports
	exit   error
}

func (e *Engine) start() (*process, error) {
	// fd 3: requests, fd 4: replies, fd 5: the cell's stderr. The child's own
	// fd 2 is kept for what the Go runtime prints when the process dies, so a
	// crash dump never floods the notebook.
	var pipes [3][2]*os.File
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		pipes[i] = [2]*os.File{r, w}
	}
	reqR, reqW := pipes[0][0], pipes[0][1]
	evR, evW := pipes[1][0], pipes[1][1]
	errR, errW := pipes[2][0], pipes[2][1]
	cmd := exec.Command(e.command[0], e.command[1:]...)
	env := e.cfg.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string(nil), env...), envToken+"="+e.token, display.EnvToken+"="+e.token)
	cmd.Dir = e.cfg.Dir
	cmd.ExtraFiles = []*os.File{reqR, evW, errW}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	crash, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	p := &process{cmd: cmd, reqs: reqW, events: evR, replies: newLineReader(evR), exited: make(chan struct{}), dead: make(chan struct{})}
	for i, f := range []io.Reader{stdout, errR} {
		if err == nil {
			p.outputs[i], err = newStream(e, [...]string{"stdout", "stderr"}[i], f.(*os.File))
		}
	}
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		for _, p := range pipes {
			p[0].Close()
			p[1].Close()
		}
		return nil, fmt.Errorf("worker: starting %s: %w", e.command[0], err)
	}
	reqR.Close()
	evW.Close()
	errW.Close()
	p.readers.Add(3)
	for _, s := range p.outputs {
		go s.pump(p.readers.Done)
	}
	go p.collectCrash(crash)
	go e.await(p, stdout, errR, crash)
	e.log.Debug("interpreter started", "pid", cmd.Process.Pid)
	return p, nil
}

// await waits for the child to exit, lets the readers of its output finish
// (a grandchild holding the pipes open must not keep us waiting), closes
// the pipes and then p.dead.
func (e *Engine) await(p *process, pipes ...io.Closer) {
	state, err := p.cmd.Process.Wait()
	close(p.exited)
	// Wake a recv that waits, should something else (a grandchild) hold
	// the child's end of the replies open.
	p.events.SetReadDeadline(time.Now())
	e.waitReaders(p)
	for _, c := range append(pipes, p.events) {
		c.Close()
	}
	switch {
	case err != nil:
		p.exit = err
	case !state.Success():
		p.exit = &exec.ExitError{ProcessState: state}
	}
	e.log.Debug("interpreter exited", "err", p.exit, "stderr", string(p.crash))
	close(p.dead)
}

// recv reads the child's next reply, waiting at most until deadline (zero:
// no limit). It fails with os.ErrDeadlineExceeded at the deadline or when
// wakeOn's context is cancelled, and with another error once the child is
// gone (then p.dead is closed). The ready event is taken here.
func (p *process) recv(deadline time.Time) (reply, error) {
	for {
		r, err := p.recvLine(deadline)
		if err == nil && r.Op == opReady {
			p.ready = true
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			select {
			case <-p.exited:
				err = errors.New("the interpreter exited")
			default:
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			p.waitDead()
		}
		return r, err
	}
}

func (p *process) recvLine(deadline time.Time) (reply, error) {
	if p.events == nil {
		return reply{}, errors.New("interpreter not running")
	}
	if !deadline.Equal(p.deadline) {
		p.events.SetReadDeadline(deadline)
		p.deadline = deadline
	}
	line, err := p.replies.next()
	if err != nil {
		return reply{}, err
	}
	var r reply
	if err := json.Unmarshal(line, &r); err != nil {
		return reply{}, fmt.Errorf("bad reply from the interpreter: %w", err)
	}
	return r, nil
}

// waitDead waits for the child that closed its replies to exit, and kills it
// if it does not (a cell can close fd 4).
func (p *process) waitDead() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.dead:
	case <-time.After(time.Second):
		p.kill()
	}
}

// wakeOn makes a recv that waits fail with os.ErrDeadlineExceeded when ctx
// is cancelled, until the returned function is called.
func (p *process) wakeOn(ctx context.Context) (stop func()) {
	if p.events == nil {
		return func() {}
	}
	// A wake of an earlier operation may have been left set.
	p.events.SetReadDeadline(time.Time{})
	p.deadline = time.Time{}
	var mu sync.Mutex
	active := true
	stopWake := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if active {
			p.events.SetReadDeadline(time.Now()) // p.deadline stays: recv keeps this one
		}
	})
	return func() {
		stopWake()
		mu.Lock()
		active = false
		mu.Unlock()
	}
}

// interrupt asks the running cell to stop: SIGINT, once the child has said
// that it handles it (before, it would end the process; the cell is then
// stopped at the grace deadline).
func (p *process) interrupt() {
	if p.ready {
		p.cmd.Process.Signal(os.Interrupt)
	}
}

// collectCrash keeps the beginning of what the child's runtime prints on its
// fd 2 (the fatal error comes first; goroutine dumps follow).
func (p *process) collectCrash(r io.Reader) {
	defer p.readers.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		p.tailMu.Lock()
		if room := 16<<10 - len(p.crash); room > 0 {
			p.crash = append(p.crash, buf[:min(n, room)]...)
		}
		p.tailMu.Unlock()
		if err != nil {
			return
		}
	}
}

// drain forwards what the child has written to its output pipes so far.
func (p *process) drain() {
	for _, s := range p.outputs {
		s.drain()
	}
}

// waitReaders waits briefly for the output of a child that has exited.
func (e *Engine) waitReaders(p *process) {
	done := make(chan struct{})
	go func() { p.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second): // a grandchild may hold the pipes open
	}
}

// crashReport says why the child died, from its exit status and the fatal
// error the Go runtime printed last.
func (p *process) crashReport() string {
	p.tailMu.Lock()
	dump := string(p.crash)
	p.tailMu.Unlock()
	why := "the Go interpreter process died"
	for _, line := range strings.Split(dump, "\n") {
		if strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "panic: ") {
			why += " with " + strings.TrimSpace(line)
			break
		}
	}
	if p.exit != nil {
		why += " (" + p.exit.Error() + ")"
	}
	return why
}

func (p *process) send(r request) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	p.reqMu.Lock()
	defer p.reqMu.Unlock()
	if p.reqs == nil {
		return errors.New("interpreter not running")
	}
	_, err = p.reqs.Write(append(b, '\n'))
	return err
}

// stop closes the child's requests (it exits on end-of-file) and kills it if
// it has not exited shortly after.
func (p *process) stop() {
	p.reqMu.Lock()
	if p.reqs != nil {
		p.reqs.Close()
		p.reqs = nil
	}
	p.reqMu.Unlock()
	select {
	case <-p.dead:
	case <-time.After(time.Second):
		p.kill()
	}
}

func (p *process) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		<-p.dead
	}
}
