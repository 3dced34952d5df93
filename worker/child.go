package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"

	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/goeval"
)

// maxStack bounds a goroutine's stack in the child so that endless recursion
// fails in a fraction of a second instead of growing to Go's default 1 GB.
const maxStack = 256 << 20

// Serve is the child side: it runs a goeval session on the pipes its parent
// set up (fd 3 requests, fd 4 replies, fds 0-2 the cell's stdio) until the
// parent closes fd 3. `mpigo worker` calls it; it is not meant for users.
func Serve() error {
	token := os.Getenv(envToken)
	if token == "" {
		return errors.New("mpigo worker: started outside the kernel (no " + envToken + ")")
	}
	// A fatal error here ends only this process; the parent reports it to the
	// user, and a goroutine dump of interpreter internals would only bury it.
	debug.SetTraceback("none")
	debug.SetMaxStack(maxStack)
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
	sess, err := goeval.New(goeval.Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	if err != nil {
		return fmt.Errorf("mpigo worker: %w", err)
	}
	c := &child{sess: sess, token: token, enc: json.NewEncoder(events)}
	c.sigint()
	sc := bufio.NewScanner(reqs)
	sc.Buffer(make([]byte, 64<<10), 1<<30)
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return fmt.Errorf("mpigo worker: bad request: %w", err)
		}
		c.handle(req)
	}
	// The parent is gone or closed us: nothing left to serve.
	return sc.Err()
}

// child holds the state of the serving process.
type child struct {
	sess  *goeval.Session
	token string

	encMu sync.Mutex
	enc   *json.Encoder

	// run serialises session operations: goeval is not safe for concurrent use.
	run sync.Mutex

	mu     sync.Mutex // guards the fields of the running cell
	cancel context.CancelFunc
	input  *stdinFeed
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

// handle dispatches one request. Interrupts and input are handled at once;
// every other operation runs on its own goroutine, one at a time, so that the
// request loop stays free to receive them.
func (c *child) handle(req request) {
	switch req.Op {
	case opInterrupt:
		c.interrupt()
		return
	case opInput:
		c.mu.Lock()
		in := c.input
		c.mu.Unlock()
		if in != nil {
			in.deliver(req.Value, req.EOF)
		}
		return
	}
	go func() {
		c.run.Lock()
		defer c.run.Unlock()
		c.send(c.do(req))
	}()
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
		if err := restore(c.sess, req.Decls); err != nil {
			r.Fail = err.Error()
		}
		r.Decls, r.DeclsSet = c.sess.Decls(), true
	default:
		r.Fail = "unknown operation " + strconv.Quote(req.Op)
	}
	return r
}

func (c *child) execute(req request) reply {
	r := reply{ID: req.ID, Op: opDone}
	in, err := newStdinFeed(req.AllowStdin)
	if err != nil {
		r.Fail = err.Error()
		return r
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cancel, c.input = cancel, in
	c.mu.Unlock()
	var stop func()
	if req.AllowStdin {
		stop = in.watch(func() { c.send(reply{ID: req.ID, Op: opInputRequest}) })
	}

	before := c.sess.Decls()
	v, err := c.sess.Eval(ctx, req.Cell, req.Code)

	if stop != nil {
		stop()
	}
	c.mu.Lock()
	c.cancel, c.input = nil, nil
	c.mu.Unlock()
	cancel()
	in.close()

	switch e := err.(type) {
	case nil:
		if v.Ok {
			r.Result = &Result{Data: map[string]any{"text/plain": v.Text}}
		}
	case *goeval.Error:
		r.CellError = &Error{Name: e.Name, Value: e.Value, Traceback: e.Traceback}
	default:
		r.CellError = &Error{Name: "Error", Value: err.Error()}
	}
	if after := c.sess.Decls(); !reflect.DeepEqual(before, after) {
		r.Decls, r.DeclsSet = after, true
	}
	// Mark the end of this cell's output on both streams, so that the parent
	// forwards all of it before it answers the front end.
	mark := display.EncodeRecord(c.token, "sync", []byte(strconv.FormatInt(req.ID, 10)))
	_, err1 := os.Stdout.WriteString(mark)
	_, err2 := os.Stderr.WriteString(mark)
	r.Synced = err1 == nil && err2 == nil
	return r
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

// restore replays a declaration store into a fresh session: all of it at once
// (so declarations may refer to each other), else one by one, keeping what
// still compiles.
func restore(sess *goeval.Session, decls []goeval.Decl) error {
	if len(decls) == 0 {
		return nil
	}
	var imports, rest string
	for _, d := range decls {
		if d.Kind == "import" {
			imports += d.Src + "\n"
		} else {
			rest += d.Src + "\n"
		}
	}
	ctx := context.Background()
	if _, err := sess.Eval(ctx, 0, imports+rest); err == nil {
		return nil
	}
	var failed []string
	for _, d := range decls {
		if _, err := sess.Eval(ctx, d.Cell, d.Src); err != nil {
			failed = append(failed, d.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not restore %v", failed)
	}
	return nil
}

// stdinFeed is the read end a cell sees as os.Stdin (dup'ed onto fd 0 for the
// duration of the cell) and the write end that input replies go to. Without
// allow_stdin the write end is closed at once, so reads see end-of-file.
type stdinFeed struct {
	mu sync.Mutex
	w  *os.File
	// asked is set while an input_request is outstanding.
	asked bool
}

func newStdinFeed(allow bool) (*stdinFeed, error) {
	// A blocking pipe: fd 0 is read with plain read(2) calls, which a
	// non-blocking descriptor would fail with EAGAIN.
	p, err := blockingPipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	if err := dup2(p[0], 0); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	syscall.Close(p[0])
	f := &stdinFeed{w: os.NewFile(uintptr(p[1]), "stdin-feed")}
	if !allow {
		f.close()
	}
	return f, nil
}

func (f *stdinFeed) deliver(value string, eof bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = false
	if f.w == nil {
		return
	}
	if eof {
		f.w.Close()
		f.w = nil
		return
	}
	f.w.WriteString(value + "\n")
}

func (f *stdinFeed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.w != nil {
		f.w.Close()
		f.w = nil
	}
}
