package worker

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/mpigo/mpigo/debugproto"
	"github.com/mpigo/mpigo/goeval"
)

// ErrBusy is the error of a debugger request that needs the interpreter
// while it runs a cell: the child reads no request then, and the kernel's
// control channel, which asks, must not wait for the cell.
var ErrBusy = debugproto.ErrInterpreterBusy

// ErrNoStoppedDebugger is the error of DebugRequest when no cell runs
// under the debugger.
var ErrNoStoppedDebugger = errors.New("no cell runs under the debugger")

// debugConfig is the debug session's configuration, which the interpreter
// side reads when it runs cells under the debugger.
type debugConfig struct {
	mu      sync.Mutex
	cfg     debugproto.Config
	proc    *process // whose cell runs under the debugger
	seq     int64
	waiters map[int64]chan reply // debugger requests sent, by id
}

// tryCall runs a short operation if no other runs, else fails with ErrBusy.
func (e *Engine) tryCall(ctx context.Context, req request) (reply, error) {
	if !e.ops.TryLock() {
		return reply{}, ErrBusy
	}
	defer e.ops.Unlock()
	return e.callLocked(ctx, req)
}

// DebugVariables lists the session's variables for the variable explorer;
// see kernel.Debugger. It fails with ErrBusy while a cell runs.
func (e *Engine) DebugVariables(ctx context.Context) ([]debugproto.Variable, error) {
	r, err := e.tryCall(ctx, request{Op: opVariables})
	if err != nil {
		return nil, err
	}
	out := make([]debugproto.Variable, len(r.Variables))
	for i, v := range r.Variables {
		out[i] = toVariable(v)
		out[i].EvaluateName = v.Name
	}
	return out, nil
}

// toVariable turns a variable of the interpreter into the protocol's.
func toVariable(v goeval.VarInfo) debugproto.Variable {
	dv := debugproto.Variable{Name: v.Name, Type: v.Type, Value: v.Value}
	for _, c := range v.Children {
		dv.Children = append(dv.Children, toVariable(c))
	}
	return dv
}

// DebugRichVariable returns the MIME bundle of a session variable: its
// value as text, as a final expression shows it. It fails with ErrBusy
// while a cell runs.
func (e *Engine) DebugRichVariable(ctx context.Context, name string) (map[string]any, error) {
	r, err := e.tryCall(ctx, request{Op: opVariableText, Name: name})
	if err != nil {
		return nil, err
	}
	return map[string]any{"text/plain": r.Text}, nil
}

// DebugConfigure keeps the debug session's configuration; see
// kernel.Debugger.
func (e *Engine) DebugConfigure(ctx context.Context, cfg debugproto.Config) error {
	e.debug.mu.Lock()
	e.debug.cfg = cfg
	e.debug.mu.Unlock()
	// A cell running under the debugger takes the new breakpoints at once
	// (clearing the one it is stopped at, say), not only the next cell.
	if e.debug.running() == nil {
		return nil
	}
	args, err := json.Marshal(breakpointLines(cfg))
	if err != nil {
		return err
	}
	resp, err := e.DebugRequest(ctx, debugproto.Request{Command: "setBreakpoints", Arguments: args})
	if err == nil && !resp.Success {
		err = errors.New(resp.Message)
	}
	return err
}

// breakpointLines are cfg's breakpoints as the interpreter takes them:
// lines by path; none at all when debugging is off.
func breakpointLines(cfg debugproto.Config) map[string][]int {
	out := map[string][]int{}
	if !cfg.Enabled {
		return out
	}
	for path, bps := range cfg.Breakpoints {
		for _, b := range bps {
			out[path] = append(out[path], b.Line)
		}
	}
	return out
}

// DebugRequest has the interpreter answer a request that needs a cell
// running under the debugger (stopped, or to pause): the request goes to
// the child while the cell runs, and the reply comes back through the
// cell's read loop (Execute), which hands it over here.
func (e *Engine) DebugRequest(ctx context.Context, req debugproto.Request) (debugproto.Response, error) {
	p := e.debug.running()
	if p == nil {
		return debugproto.Response{}, ErrNoStoppedDebugger
	}
	id, ch := e.debug.wait()
	defer e.debug.forget(id)
	if err := p.send(request{ID: id, Op: opDebug, Command: req.Command, Args: req.Arguments}); err != nil {
		return debugproto.Response{}, err
	}
	timer := time.NewTimer(debugReplyTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.Fail != "" {
			return debugproto.Response{Success: false, Message: r.Fail}, nil
		}
		resp := debugproto.Response{Success: true}
		if len(r.DebugBody) > 0 {
			resp.Body = r.DebugBody
		}
		return resp, nil
	case <-ctx.Done():
		return debugproto.Response{}, ctx.Err()
	case <-timer.C:
		return debugproto.Response{}, errDebugTimeout
	}
}

// debugReplyTimeout bounds the wait for the interpreter's answer to a
// debugger request (a step may run the cell for a while).
const debugReplyTimeout = 10 * time.Second

// errDebugTimeout is a debugger request the interpreter did not answer.
var errDebugTimeout = errors.New("the interpreter did not answer the debugger in time")

// debugIDBase puts the ids of debugger requests apart from the engine's
// own, which a cell's read loop compares with the cell's.
const debugIDBase = 1 << 40

// running is the process whose cell runs under the debugger, or nil.
func (d *debugConfig) running() *process {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.proc
}

// setRunning records the process whose cell runs under the debugger (nil
// when it ends).
func (d *debugConfig) setRunning(p *process) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.proc = p
}

// wait registers a debugger request and returns its id and where its reply
// will come.
func (d *debugConfig) wait() (int64, chan reply) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	id := debugIDBase + d.seq
	ch := make(chan reply, 1)
	if d.waiters == nil {
		d.waiters = map[int64]chan reply{}
	}
	d.waiters[id] = ch
	return id, ch
}

// forget drops a request's waiter.
func (d *debugConfig) forget(id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.waiters, id)
}

// deliver hands a reply to the debugger request it answers; false if it
// answers none.
func (d *debugConfig) deliver(r reply) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch := d.waiters[r.ID]
	if ch == nil {
		return false
	}
	ch <- r
	return true
}

// event passes an event of the interpreter's debugger to the kernel.
func (d *debugConfig) event(ev *debugproto.Event) {
	d.mu.Lock()
	publish := d.cfg.Events
	d.mu.Unlock()
	if publish == nil || ev == nil {
		return
	}
	// The body crossed the pipe as JSON: a thread event's is a ThreadBody
	// again, which the kernel reads the stopped threads from.
	if ev.Event == "stopped" || ev.Event == "continued" {
		var tb debugproto.ThreadBody
		if b, err := json.Marshal(ev.Body); err == nil && json.Unmarshal(b, &tb) == nil {
			ev.Body = tb
		}
	}
	publish(*ev)
}

// run returns how cells run under the debugger, or nil when
// no client is attached.
func (d *debugConfig) run() *debugRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.cfg.Enabled {
		return nil
	}
	return &debugRun{Paths: d.cfg.Paths, Breakpoints: breakpointLines(d.cfg)}
}
