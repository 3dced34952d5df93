package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval"
)

// maxStack bounds a goroutine's stack in the child so that endless recursion
// fails in a fraction of a second instead of growing to Go's default 1 GB.
const maxStack = 256 << 20

// Serve is the child side: it runs a goeval session on the pipes its parent
// set up (fd 3 requests, fd 4 replies, fds 0-2 the cell's stdio) until the
// parent closes fd 3. `mpigo worker` calls it; it is not meant for users.
func Serve() error {
	if os.Getenv(envToken) == "" {
		return errors.New("mpigo worker: started outside the kernel (no " + envToken + ")")
	}
	// A fatal error here ends only this process; the parent reports it to the
	// user, and a goroutine dump of interpreter internals would only bury it.
	debug.SetTraceback("none")
	debug.SetMaxStack(maxStack)
	// Requests are read through the runtime's poller, so that a read can
	// be cut short by a deadline (see awaitInput).
	if err := syscall.SetNonblock(3, true); err != nil {
		return fmt.Errorf("mpigo worker: fd 3: %w", err)
	}
	exitOnHangup(3)
	reqs := os.NewFile(3, "requests")
	events := os.NewFile(4, "events")
	stderr := os.NewFile(5, "/dev/stderr")
	if reqs == nil || events == nil || stderr == nil {
		return errors.New("mpigo worker: fds 3 to 5 are not open")
	}
	// Cells write their stderr to fd 5; fd 2 stays for the Go runtime's own
	// report should this process die. The old *os.File must stay reachable:
	// its finalizer would close fd 2.
	crashOut := os.Stderr
	defer runtime.KeepAlive(crashOut)
	os.Stderr = stderr
	log.SetOutput(stderr)
	c := &child{enc: json.NewEncoder(events), reqs: newRequests(reqs), stdin: newStdinFeed()}
	// The parent interrupts cells with SIGINT once it knows it is handled.
	c.sigint()
	c.send(reply{Op: opReady})
	sess, err := goeval.New(goeval.Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		return fmt.Errorf("mpigo worker: %w", err)
	}
	c.sess = sess
	for {
		req, err := c.next()
		if errors.Is(err, io.EOF) {
			return nil // the parent is gone or closed us: nothing left to serve
		}
		if err != nil {
			return fmt.Errorf("mpigo worker: %w", err)
		}
		c.handle(req)
	}
}

// child holds the state of the serving process.
type child struct {
	sess *goeval.Session

	encMu sync.Mutex
	enc   *json.Encoder

	// reqs is read by the goroutine that runs the operations, between
	// operations: handing each request to another goroutine would wake a
	// second thread on every one. While an operation runs, nothing is
	// read but the answer to an input_request (awaitInput); interrupts
	// come as SIGINT.
	reqs     *requests
	deferred []request // read by awaitInput, for the request loop
	stdin    *stdinFeed

	mu     sync.Mutex // guards cancel and deferred
	cancel context.CancelFunc

	// dbg runs cells under the debugger (debugchild.go), once the parent
	// asked; bpPaths are the paths it has breakpoints for.
	dbg     *goeval.DebugSession
	bpPaths map[string]bool
}

func (c *child) send(r reply) {
	c.encMu.Lock()
	defer c.encMu.Unlock()
	if err := c.enc.Encode(r); err != nil {
		// The parent is gone: nothing can be reported any more.
		os.Exit(3)
	}
}

// sigint makes SIGINT (Jupyter signals the kernel's whole process group)
// interrupt the running cell instead of killing the interpreter.
func (c *child) sigint() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	go func() {
		for range ch {
			c.interrupt()
		}
	}()
}

func (c *child) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

// next returns the next request for the request loop.
func (c *child) next() (request, error) {
	c.mu.Lock()
	if len(c.deferred) > 0 {
		req := c.deferred[0]
		c.deferred = c.deferred[1:]
		c.mu.Unlock()
		return req, nil
	}
	c.mu.Unlock()
	return c.reqs.next()
}

// handle runs one request and answers it. Interrupts and input are handled
// at once; they only come here between operations, when they are late.
func (c *child) handle(req request) {
	switch req.Op {
	case opInterrupt:
		c.interrupt()
	case opInput:
		c.stdin.deliver(req.Value, req.EOF)
	default:
		c.send(c.do(req))
	}
}

// awaitInput reads requests while a cell waits for the answer to its
// input_request, until the answer comes or the cell ends (c.reqs.cut).
func (c *child) awaitInput() {
	for {
		req, err := c.reqs.next()
		if err != nil {
			return
		}
		switch req.Op {
		case opInput:
			c.stdin.deliver(req.Value, req.EOF)
			return
		case opInterrupt:
			c.interrupt()
		default: // not sent while a cell runs; kept for the request loop
			c.mu.Lock()
			c.deferred = append(c.deferred, req)
			c.mu.Unlock()
		}
	}
}

func (c *child) do(req request) reply {
	r := reply{ID: req.ID, Op: opDone}
	switch req.Op {
	case opExecute:
		return c.execute(req)
	case opComplete:
		cands, start, end := c.sess.Completions(req.Code, req.Cursor)
		r.Completion = completion(cands, start, end)
	case opInspect:
		text, found := c.sess.Inspect(req.Code, req.Cursor, req.Detail)
		r.Inspection = &Inspection{Found: found, Data: map[string]any{}}
		if found {
			r.Inspection.Data["text/plain"] = text
		}
	case opReset:
		if err := c.sess.Reset(); err != nil {
			r.Fail = err.Error()
		}
		r.DeclsSet = true
	case opSetenv:
		if err := c.sess.Setenv(req.Key, req.Value, req.Unset); err != nil {
			r.Fail = err.Error()
		}
	case opChdir:
		if err := c.sess.Chdir(req.Dir); err != nil {
			r.Fail = err.Error()
		}
	case opRestore:
		if err := c.sess.Restore(req.Decls); err != nil {
			r.Fail = err.Error()
		}
		r.Decls, r.DeclsSet = c.sess.Decls(), true
	case opExportVars:
		r.Vars, r.Lost = c.sess.ExportVars()
	case opImportSlice:
		if err := c.sess.ImportSlice(req.Name, req.Vars, req.JSONs); err != nil {
			r.Fail = err.Error()
		}
		r.Decls, r.DeclsSet = c.sess.Decls(), true
	case opVariables:
		r.Variables = c.sess.Variables()
	case opVariableText:
		text, err := c.sess.VariableText(req.Name)
		if err != nil {
			r.Fail = err.Error()
		}
		r.Text = text
	case opImportVars:
		r.Lost = c.sess.ImportVars(req.Vars)
		r.Decls, r.DeclsSet = c.sess.Decls(), true
	default:
		r.Fail = "unknown operation " + strconv.Quote(req.Op)
	}
	return r
}

func (c *child) execute(req request) reply {
	r := reply{ID: req.ID, Op: opDone}
	if err := c.stdin.begin(req.AllowStdin); err != nil {
		r.Fail = err.Error()
		return r
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	var stop func()
	if req.AllowStdin {
		stop = c.stdin.watch(func() {
			c.send(reply{ID: req.ID, Op: opInputRequest})
			c.awaitInput()
		}, c.reqs.cut)
	}

	before := c.sess.Decls()
	var v goeval.Value
	var err error
	if req.Debug != nil {
		v, err = c.evalDebug(ctx, req)
	} else {
		v, err = c.sess.Eval(ctx, req.Cell, req.Code)
	}

	if stop != nil {
		stop()
	}
	c.mu.Lock()
	c.cancel = nil
	c.mu.Unlock()
	cancel()
	c.stdin.end()

	switch e := err.(type) {
	case nil:
		if v.Ok {
			r.Result = &Result{Data: map[string]any{"text/plain": v.Text}}
		}
	case *goeval.Error:
		r.CellError = &Error{Name: e.Name, Value: e.Value, Traceback: e.Traceback}
	default:
		r.CellError = genericError(err)
	}
	if after := c.sess.Decls(); !reflect.DeepEqual(before, after) {
		r.Decls, r.DeclsSet = after, true
	}
	// The cell's output is in the pipes now (goeval has forwarded its
	// stderr): the parent forwards what is left of it when it gets this
	// reply, before it answers the front end.
	return r
}

// genericError is the error of a cell that failed with an error that has
// no kind of its own.
func genericError(err error) *Error {
	return &Error{Name: cellio.GenericError, Value: err.Error()}
}

// completion turns goeval's candidates into a Completion.
func completion(cands []goeval.Candidate, start, end int) *Completion {
	comp := &Completion{Matches: []string{}, Start: start, End: end}
	for _, c := range cands {
		comp.Matches = append(comp.Matches, c.Text)
		comp.Types = append(comp.Types, c.Kind)
		comp.Signatures = append(comp.Signatures, c.Signature)
	}
	return comp
}
