package worker

import (
	"bufio"
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
	"strconv"
	"strings"
	"sync"
	"time"

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
}

// Timeouts of the supervision.
const (
	// interruptGrace is how long a cell may take to stop after an interrupt
	// before its process is killed and restarted. goeval gives up waiting
	// for an uninterruptible call after 200 ms and replies; the rest is
	// margin for that reply on a busy machine.
	interruptGrace = 800 * time.Millisecond
	// syncWait bounds the wait for a cell's last output once it has finished.
	syncWait = 5 * time.Second
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

	outMu sync.Mutex // serialises Stream and Display calls
	out   Output     // where output goes: the running or the last cell's
	shown map[string]bool
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
	e := &Engine{cfg: cfg, log: log, token: hex.EncodeToString(b)}
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

	p, err := e.alive()
	if err != nil {
		return Result{}, err
	}
	id := e.next()
	err = p.send(request{ID: id, Op: opExecute, Cell: req.Cell, Code: req.Code, AllowStdin: req.AllowStdin})
	interrupted := false
	var deadline <-chan time.Time
	for err == nil {
		select {
		case r := <-p.replies:
			switch {
			case r.ID != id:
				e.log.Debug("stale reply", "id", r.ID)
			case r.Op == opInputRequest:
				go e.answerInput(p, out, req.AllowStdin)
			default:
				return e.finish(p, r)
			}
		case <-ctx.Done():
			if !interrupted {
				interrupted = true
				p.send(request{Op: opInterrupt})
				deadline = time.After(interruptGrace)
			}
		case <-deadline:
			// The cell ignores the interrupt (blocked in compiled code): the
			// only way to stop it is to stop its process.
			e.log.Info("cell did not stop; restarting the interpreter")
			p.kill()
			e.restart()
			return Result{}, &Error{Name: "Interrupted", Value: "the cell did not stop, so the Go interpreter was restarted: declarations were restored, variables are lost"}
		case <-p.dead:
			why := p.crashReport()
			e.restart()
			return Result{}, &Error{Name: "InterpreterCrashed", Value: why + "; the Go interpreter was restarted: declarations were restored, variables are lost"}
		}
	}
	return Result{}, fmt.Errorf("worker: sending cell: %w", err)
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

// finish waits for the cell's last output, then turns the reply into a result.
func (e *Engine) finish(p *process, r reply) (Result, error) {
	if r.Synced {
		p.waitSync(r.ID, syncWait)
	}
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
	p, err := e.alive()
	if err != nil {
		return reply{}, err
	}
	req.ID = e.next()
	if err := p.send(req); err != nil {
		return reply{}, fmt.Errorf("worker: %s: %w", req.Op, err)
	}
	for {
		select {
		case r := <-p.replies:
			if r.ID != req.ID || r.Op != opDone {
				continue
			}
			if r.DeclsSet {
				e.decls = r.Decls
			}
			if r.Fail != "" {
				return r, fmt.Errorf("%s: %s", req.Op, r.Fail)
			}
			return r, nil
		case <-p.dead:
			e.restart()
			return reply{}, fmt.Errorf("worker: %s: the interpreter process died and was restarted", req.Op)
		case <-ctx.Done():
			return reply{}, ctx.Err()
		}
	}
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
	if len(e.decls) == 0 {
		return
	}
	id := e.next()
	if err := p.send(request{ID: id, Op: opRestore, Decls: e.decls}); err != nil {
		return
	}
	for {
		select {
		case r := <-p.replies:
			if r.ID == id {
				if r.Fail != "" {
					e.emit("stderr", "mpigo: "+r.Fail+"\n")
				}
				if r.DeclsSet {
					e.decls = r.Decls
				}
				return
			}
		case <-p.dead:
			return
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
	e.outMu.Lock()
	defer e.outMu.Unlock()
	if e.out == nil {
		return
	}
	d := Display{Data: m.Data, Metadata: m.Metadata, DisplayID: m.DisplayID, Clear: m.Clear, Wait: m.Wait}
	if m.DisplayID != "" {
		// The first use of an id in a cell shows it; later ones update it.
		d.Update = m.Update && e.shown[m.DisplayID]
		e.shown[m.DisplayID] = true
	}
	e.out.Display(d)
}

// process is one child and the goroutines that read its pipes.
type process struct {
	cmd     *exec.Cmd
	reqMu   sync.Mutex
	reqs    *os.File
	replies chan reply
	dead    chan struct{} // closed when the child has exited

	readers sync.WaitGroup // stdout, stderr and the crash output
	syncs   chan string    // "stream:id" for each sync marker seen

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
	cmd := exec.Command(e.cfg.Command[0], e.cfg.Command[1:]...)
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
	if err := cmd.Start(); err != nil {
		for _, p := range pipes {
			p[0].Close()
			p[1].Close()
		}
		return nil, fmt.Errorf("worker: starting %s: %w", e.cfg.Command[0], err)
	}
	reqR.Close()
	evW.Close()
	errW.Close()
	p := &process{cmd: cmd, reqs: reqW, replies: make(chan reply, 64), dead: make(chan struct{}), syncs: make(chan string, 16)}
	p.readers.Add(3)
	go e.pump(p, "stdout", stdout)
	go e.pump(p, "stderr", errR)
	go p.collectCrash(crash)
	go func() {
		sc := bufio.NewScanner(evR)
		sc.Buffer(make([]byte, 64<<10), 1<<30)
		for sc.Scan() {
			var r reply
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				e.log.Warn("bad reply from interpreter", "err", err)
				continue
			}
			select {
			case p.replies <- r:
			default:
				e.log.Warn("dropping reply nobody waits for", "id", r.ID, "op", r.Op)
			}
		}
		evR.Close()
		// Wait closes stdout and stderr: let the readers finish first (a
		// grandchild holding them open must not keep us waiting).
		e.drain(p)
		errR.Close()
		p.exit = cmd.Wait()
		e.log.Debug("interpreter exited", "err", p.exit, "stderr", string(p.crash))
		close(p.dead)
	}()
	e.log.Debug("interpreter started", "pid", cmd.Process.Pid)
	return p, nil
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

// pump forwards one output stream of the child: text to the cell's Output,
// display records as displays, sync markers to waitSync.
func (e *Engine) pump(p *process, stream string, r io.Reader) {
	defer p.readers.Done()
	sp := display.NewSplitter(e.token)
	forward := func(pieces []display.Piece) {
		for _, pc := range pieces {
			switch {
			case pc.Record == nil:
				e.emit(stream, string(pc.Text))
			case pc.Record.Kind == "display":
				e.display(pc.Record.Payload)
			case pc.Record.Kind == "sync":
				select {
				case p.syncs <- stream + ":" + string(pc.Record.Payload):
				default:
				}
			}
		}
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			forward(sp.Split(buf[:n]))
		}
		if err != nil {
			forward(sp.Flush())
			return
		}
	}
}

// waitSync waits until both streams have delivered everything up to the sync
// marker of request id.
func (p *process) waitSync(id int64, limit time.Duration) {
	want := map[string]bool{"stdout:" + strconv.FormatInt(id, 10): true, "stderr:" + strconv.FormatInt(id, 10): true}
	timeout := time.After(limit)
	for len(want) > 0 {
		select {
		case s := <-p.syncs:
			delete(want, s)
		case <-timeout:
			return
		}
	}
}

// drain waits briefly for the output of a child that has exited.
func (e *Engine) drain(p *process) {
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
