// Package pxrank is the rank side of persistent ranks (%ranks, %px): the
// main loop of the interpreter the launcher starts on every rank. It
// initialises MPI, connects to the kernel named by $MPIGO_PX (see package
// pxwire), and runs the cells the kernel sends in one goeval session per
// rank, which keeps its state from cell to cell and has package mpi
// compiled in, with the cells' output (fds 1 and 2 included) sent back as
// Output events before each cell's Done.
//
// No rank outlives its kernel: when the connection breaks (the kernel
// exited or was killed), the rank exits at once with status 1, without
// finalizing MPI; every rank loses its connection together, and the
// launcher (mpirun, srun) ends when its ranks have.
package pxrank

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/mpi"
	"github.com/mpigo/mpigo/mpimagic/px/pxwire"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// maxStack bounds a goroutine's stack, as in the plain-cell worker, so
// that endless recursion in a cell fails fast instead of growing to 1 GB.
const maxStack = 256 << 20

// dialTimeout bounds the connection to the kernel.
const dialTimeout = 20 * time.Second

// exitGone is the status of a rank whose kernel is gone.
const exitGone = 1

// SetupError is a rank that could not start serving: no $MPIGO_PX, the
// kernel unreachable, or the process's streams not redirectable.
type SetupError struct{ Why string }

// Error says why.
func (e *SetupError) Error() string { return "mpigo rank: " + e.Why }

// setupError is a rank that could not start serving.
func setupError(format string, args ...any) *SetupError {
	return &SetupError{Why: fmt.Sprintf(format, args...)}
}

// Serve is the rank's main loop; the rank interpreter's main calls it on
// the main goroutine (package mpi keeps it on the main thread, which
// initialises and finalizes MPI). It returns nil after a Stop request,
// with MPI finalized; when the kernel goes away it exits the process.
func Serve() error {
	spec := os.Getenv(pxwire.EnvVar)
	if spec == "" {
		return setupError("started outside a kernel (no $%s)", pxwire.EnvVar)
	}
	debug.SetMaxStack(maxStack)
	mpi.Init()
	goeval.Register(mpiPackage())
	addr := rankio.ParseAddress(spec)
	host := rankio.Hostname()
	c, err := rankio.DialAny(addr.From(host), dialTimeout)
	if err != nil {
		return setupError("rank %d cannot reach the kernel: %v", mpi.World.Rank(), err)
	}
	r, err := newRank(c)
	if err != nil {
		c.Close()
		return err
	}
	r.sendOrExit(pxwire.Hello{Token: addr.Token, Rank: mpi.World.Rank(), Size: mpi.World.Size(), Host: host, PID: os.Getpid()})
	go r.readRequests(pxwire.NewReader(c))
	r.interruptOnSIGINT()
	return r.serve()
}

// rank is the state of a serving rank.
type rank struct {
	sess    *goeval.Session
	fwd     *forwarder
	streams []*stream
	reqs    chan pxwire.Request // for the main loop: all but interrupts

	connMu sync.Mutex
	conn   net.Conn
	w      *bufio.Writer

	mu      sync.Mutex // guards running, cancel and early
	running int64
	cancel  context.CancelFunc
	// early is the last cell interrupted before it began running: the
	// interrupt can overtake the cell, which the main loop takes up
	// after the request reader has passed it on.
	early int64
}

// newRank redirects the process's output and starts the session.
func newRank(c net.Conn) (*rank, error) {
	r := &rank{conn: c, w: bufio.NewWriterSize(c, 64<<10), reqs: make(chan pxwire.Request, 64)}
	r.fwd = newForwarder(os.Getenv(display.EnvToken), r.sendEvents)
	if err := r.redirectOutput(); err != nil {
		return nil, err
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, setupError("%v", err)
	}
	// Stdin is /dev/null: the launcher gives the ranks no terminal.
	sess, err := goeval.New(goeval.Options{Stdin: devNull, Stdout: os.Stdout, Stderr: os.Stderr, MPI: true})
	if err != nil {
		return nil, setupError("%v", err)
	}
	r.sess = sess
	return r, nil
}

// redirectOutput points fds 1 and 2 at pipes the rank reads. The Go
// runtime's report of a crash goes to the original standard error (the
// launcher's), where it can still be read once the rank is gone.
func (r *rank) redirectOutput() error {
	if orig, err := dupFile(2, "/dev/stderr"); err == nil {
		_ = debug.SetCrashOutput(orig, debug.CrashOptions{})
		orig.Close() // SetCrashOutput keeps its own duplicate
	}
	for _, s := range []struct {
		fd   int
		name string
	}{{1, "stdout"}, {2, "stderr"}} {
		st, err := redirect(s.fd, s.name, r.fwd.write)
		if err != nil {
			return setupError("%v", err)
		}
		r.streams = append(r.streams, st)
		go st.run()
	}
	return nil
}

// send writes lines to the kernel, in order; an error means it is gone.
func (r *rank) send(vs ...any) error {
	r.connMu.Lock()
	defer r.connMu.Unlock()
	for _, v := range vs {
		if err := pxwire.Encode(r.w, v); err != nil {
			return err
		}
	}
	return r.w.Flush()
}

// sendOrExit sends v, or exits when the kernel is gone.
func (r *rank) sendOrExit(v any) {
	if err := r.send(v); err != nil {
		gone()
	}
}

// sendEvents is the forwarder's sink.
func (r *rank) sendEvents(evs []pxwire.Event) {
	vs := make([]any, len(evs))
	for i := range evs {
		vs[i] = evs[i]
	}
	if err := r.send(vs...); err != nil {
		gone()
	}
}

// gone ends a rank whose kernel is gone: at once, so that no rank
// outlives its kernel. MPI is not finalized (a collective call: the other
// ranks may be anywhere) nor aborted (MPI_Abort can hang when the job is
// half gone); the launcher sees its ranks exit and exits too.
func gone() {
	os.Exit(exitGone)
}

// readRequests reads the kernel's requests: it handles interrupts itself,
// so that they reach a running cell, and hands the others to the main
// loop. The kernel gone (the connection closed or broken), the rank exits.
func (r *rank) readRequests(rd *pxwire.Reader) {
	for {
		var req pxwire.Request
		if err := rd.Next(&req, pxwire.MaxLine); err != nil {
			gone()
		}
		if req.Op == pxwire.OpInterrupt {
			r.interrupt(req.ID)
			continue
		}
		r.reqs <- req
		if req.Op == pxwire.OpStop {
			return // the kernel closes the connection after a stop: no exit then
		}
	}
}

// interruptOnSIGINT makes SIGINT interrupt the running cell, as in the
// worker, instead of killing the rank.
func (r *rank) interruptOnSIGINT() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	go func() {
		for range ch {
			r.interrupt(0)
		}
	}()
}

// interrupt cancels the running cell if it is id (any cell for 0).
func (r *rank) interrupt(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.cancel != nil && (id == 0 || id == r.running):
		r.cancel()
	case id != 0:
		r.early = id
	}
}

// serve runs requests one at a time until a stop.
func (r *rank) serve() error {
	for req := range r.reqs {
		if req.Op == pxwire.OpStop {
			r.stop(req)
			return nil
		}
		r.sendOrExit(r.handle(req))
	}
	return nil
}

// stop finalizes MPI, says so, and closes the connection.
func (r *rank) stop(req pxwire.Request) {
	r.fwd.begin(req.ID, r.streams...)
	mpi.Finalize()
	r.fwd.end(r.streams...)
	_ = r.send(pxwire.Event{ID: req.ID, Kind: pxwire.EventDone})
	r.conn.Close()
}

// handle runs one request and returns its Done.
func (r *rank) handle(req pxwire.Request) pxwire.Event {
	switch req.Op {
	case pxwire.OpExecute:
		return r.execute(req)
	case pxwire.OpRestore:
		return r.session(req, func() error { return r.sess.Restore(req.Decls) })
	case pxwire.OpReset:
		return r.session(req, r.sess.Reset)
	}
	return pxwire.Event{ID: req.ID, Kind: pxwire.EventDone, Error: genericError(unknownOpError(req.Op))}
}

// session runs an operation on the session that is not a cell, its
// output attributed to the request.
func (r *rank) session(req pxwire.Request, op func() error) pxwire.Event {
	r.fwd.begin(req.ID, r.streams...)
	err := op()
	r.fwd.end(r.streams...)
	done := pxwire.Event{ID: req.ID, Kind: pxwire.EventDone}
	if err != nil {
		done.Error = genericError(err)
	}
	return done
}

// execute runs a cell, interruptible by an Interrupt for its ID.
func (r *rank) execute(req pxwire.Request) pxwire.Event {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.fwd.begin(req.ID, r.streams...)
	r.mu.Lock()
	r.running, r.cancel = req.ID, cancel
	if r.early == req.ID {
		cancel()
	}
	r.mu.Unlock()

	v, err := r.sess.Eval(ctx, req.Cell, req.Code)

	r.mu.Lock()
	r.running, r.cancel = 0, nil
	r.mu.Unlock()
	done := pxwire.Event{ID: req.ID, Kind: pxwire.EventDone, Error: cellError(err)}
	if err == nil && v.Ok {
		done.Result = v.Text
	}
	if err == nil && req.Out {
		r.addOut(&done)
	}
	r.fwd.end(r.streams...)
	return done
}

// outRoom is what a Done line needs besides its value.
const outRoom = 64 << 10

// addOut adds the cell's final value to its Done (%px --out).
func (r *rank) addOut(done *pxwire.Event) {
	cv, js, err := r.sess.LastValue()
	switch {
	case err != nil:
		done.OutErr = err.Error()
	case (len(cv.Value)*4+2)/3+len(js) > pxwire.MaxLine-len(done.Result)-outRoom:
		done.OutErr = fmt.Sprintf("the value is too large to bring back (%d bytes encoded)", len(cv.Value)+len(js))
	default:
		if cv.Type != "" {
			done.Out = &cv
		}
		done.OutJSON = js
	}
}

// cellError is the Done error of a cell that failed, as the worker
// reports it; nil if it did not.
func cellError(err error) *cellio.Error {
	var e *goeval.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return &cellio.Error{Name: e.Name, Value: e.Value, Traceback: e.Traceback}
	}
	return genericError(err)
}

// genericError is the error of an operation that failed with an error of
// no kind of its own.
func genericError(err error) *cellio.Error {
	return &cellio.Error{Name: cellio.GenericError, Value: err.Error()}
}

// UnknownOpError is a request this rank does not know.
type UnknownOpError struct{ Op string }

// Error names the operation.
func (e *UnknownOpError) Error() string { return fmt.Sprintf("unknown operation %q", e.Op) }

// unknownOpError is a request this rank does not know.
func unknownOpError(op string) *UnknownOpError { return &UnknownOpError{Op: op} }
