package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/mpigo/mpigo/debugproto"
	"github.com/mpigo/mpigo/goeval"
)

// The child's side of the debugger: a cell the parent sends with Debug set
// runs under yaegi's debugger (goeval.EvalDebug), and while it runs the
// child reads the parent's requests (debugger requests, interrupts, the
// answer to an input request) instead of only between operations, since a
// cell stopped at a breakpoint waits for them.

// evalDebug runs req's cell under the debugger, serving debugger requests
// until it ends.
func (c *child) evalDebug(ctx context.Context, req request) (goeval.Value, error) {
	if c.dbg == nil {
		c.dbg = goeval.NewDebugSession()
	}
	d := c.dbg
	d.PathOf = req.Debug.Paths.Path
	c.setBreakpoints(d, req.Debug.Breakpoints)
	d.OnEvent = func(ev goeval.DebugEvent) {
		if e, ok := dapEvent(ev); ok {
			c.send(reply{Op: opDebugEvent, Event: &e})
		}
	}
	stop := c.serveDuringCell(d)
	defer stop()
	return c.sess.EvalDebug(ctx, req.Cell, req.Code, req.Debug.Paths.Path(req.Code), d)
}

// setBreakpoints gives d the breakpoints by path, clearing those of paths
// that have none any more.
func (c *child) setBreakpoints(d *goeval.DebugSession, bps map[string][]int) {
	for path := range c.bpPaths {
		if _, ok := bps[path]; !ok {
			d.SetBreakpoints(path, nil)
		}
	}
	c.bpPaths = map[string]bool{}
	for path, lines := range bps {
		d.SetBreakpoints(path, lines)
		c.bpPaths[path] = true
	}
}

// dapEvent is the DAP event of a debugger event.
func dapEvent(ev goeval.DebugEvent) (debugproto.Event, bool) {
	switch ev.Kind {
	case goeval.EventStopped:
		return debugproto.NewEvent("stopped", debugproto.ThreadBody{Reason: ev.Reason, ThreadID: ev.Thread, AllThreadsStopped: true}), true
	case goeval.EventThreadStarted:
		return debugproto.NewEvent("thread", map[string]any{"reason": "started", "threadId": ev.Thread}), true
	case goeval.EventThreadExited:
		return debugproto.NewEvent("thread", map[string]any{"reason": "exited", "threadId": ev.Thread}), true
	}
	return debugproto.Event{}, false
}

// serveDuringCell reads the parent's requests while a cell runs under the
// debugger; the returned function stops it (at the cell's end).
func (c *child) serveDuringCell(d *goeval.DebugSession) (stop func()) {
	var quit atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !quit.Load() {
			req, err := c.reqs.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				continue // cut (the cell ended), or a bad line
			}
			c.duringCell(d, req)
		}
	}()
	// The read deadline stays in the past until the reader has seen quit
	// and ended: cleared earlier, the woken read would wait again.
	return func() { c.reqs.cut(func() { quit.Store(true); <-done }) }
}

// duringCell handles one request read while a debugged cell runs.
func (c *child) duringCell(d *goeval.DebugSession, req request) {
	switch req.Op {
	case opDebug:
		body, err := c.debugAnswer(d, req.Command, req.Args)
		r := reply{ID: req.ID, Op: opDone}
		if err != nil {
			r.Fail = err.Error()
		} else if body != nil {
			r.DebugBody, _ = json.Marshal(body)
		}
		c.send(r)
	case opInterrupt:
		c.interrupt()
	case opInput:
		c.stdin.deliver(req.Value, req.EOF)
	default: // not sent while a cell runs; kept for the request loop
		c.mu.Lock()
		c.deferred = append(c.deferred, req)
		c.mu.Unlock()
	}
}

// errUnknownCommand is a debugger command the interpreter does not answer.
func errUnknownCommand(cmd string) error {
	return fmt.Errorf("the interpreter does not answer %q", cmd)
}

// debugAnswer answers one DAP command from d, with the response's body.
func (c *child) debugAnswer(d *goeval.DebugSession, cmd string, args json.RawMessage) (any, error) {
	var a struct {
		ThreadID   int    `json:"threadId"`
		FrameID    int    `json:"frameId"`
		Ref        int    `json:"variablesReference"`
		Expression string `json:"expression"`
		Variable   string `json:"variableName"`
		StartFrame int    `json:"startFrame"`
		Levels     int    `json:"levels"`
	}
	if len(args) > 0 && cmd != "setBreakpoints" {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, fmt.Errorf("%s: bad arguments: %v", cmd, err)
		}
	}
	if a.ThreadID == 0 {
		a.ThreadID = goeval.MainThread
	}
	switch cmd {
	case "setBreakpoints": // from the kernel's configuration, not the client
		var bps map[string][]int
		if err := json.Unmarshal(args, &bps); err != nil {
			return nil, fmt.Errorf("setBreakpoints: bad arguments: %v", err)
		}
		c.setBreakpoints(d, bps)
		return nil, nil
	case "threads":
		return threadsBody(d.Threads()), nil
	case "stackTrace":
		frames, err := d.StackTrace(a.ThreadID)
		return stackBody(frames, a.StartFrame, a.Levels), err
	case "scopes":
		scopes, err := d.Scopes(a.FrameID)
		return scopesBody(scopes), staleIsEmpty(err)
	case "variables":
		vars, err := d.Variables(a.Ref)
		return variablesBody(vars), staleIsEmpty(err)
	case "evaluate":
		v, err := d.Evaluate(a.FrameID, a.Expression)
		return map[string]any{"result": v.Value, "type": v.Type, "variablesReference": v.Ref}, err
	case "richInspectVariables":
		// the variable as the stopped frame sees it (JupyterLab passes the
		// frame its Variables panel shows)
		text, err := d.Text(a.FrameID, a.Variable)
		return map[string]any{"data": map[string]any{"text/plain": text}, "metadata": map[string]any{}}, err
	case "pause":
		return nil, d.Pause(a.ThreadID)
	case "continue", "next", "stepIn", "stepOut":
		return c.resume(d, cmd, a.ThreadID)
	}
	return nil, errUnknownCommand(cmd)
}

// resume continues or steps a stopped thread. The continued event goes
// first: the thread may stop again (a step) before the call returns, and
// that stopped event must come after it.
func (c *child) resume(d *goeval.DebugSession, cmd string, thread int) (any, error) {
	ev := debugproto.NewEvent("continued", debugproto.ThreadBody{ThreadID: thread, AllThreadsContinued: true})
	c.send(reply{Op: opDebugEvent, Event: &ev})
	var err error
	switch cmd {
	case "continue":
		err = d.Continue(thread)
	case "next":
		err = d.Next(thread)
	case "stepIn":
		err = d.StepIn(thread)
	default:
		err = d.StepOut(thread)
	}
	if err != nil {
		again := debugproto.NewEvent("stopped", debugproto.ThreadBody{Reason: goeval.ReasonPause, ThreadID: thread, AllThreadsStopped: true})
		c.send(reply{Op: opDebugEvent, Event: &again})
		return nil, err
	}
	if cmd == "continue" {
		return map[string]any{"allThreadsContinued": true}, nil
	}
	return nil, nil
}

func threadsBody(ts []goeval.Thread) any {
	out := []map[string]any{}
	for _, t := range ts {
		out = append(out, map[string]any{"id": t.ID, "name": t.Name})
	}
	return map[string]any{"threads": out}
}

// stackBody is the body of stackTrace: frames from start, at most levels
// of them (0: all).
func stackBody(frames []goeval.StackFrame, start, levels int) any {
	total := len(frames)
	if start > total {
		start = total
	}
	frames = frames[start:]
	if levels > 0 && levels < len(frames) {
		frames = frames[:levels]
	}
	out := []map[string]any{}
	for _, f := range frames {
		fr := map[string]any{"id": f.ID, "name": f.Name, "line": f.Line, "column": f.Column}
		if f.Path != "" {
			fr["source"] = map[string]any{"path": f.Path}
		}
		out = append(out, fr)
	}
	return map[string]any{"stackFrames": out, "totalFrames": total}
}

func scopesBody(scopes []goeval.Scope) any {
	out := []map[string]any{}
	for _, s := range scopes {
		out = append(out, map[string]any{"name": s.Name, "variablesReference": s.Ref, "expensive": false})
	}
	return map[string]any{"scopes": out}
}

// staleIsEmpty turns the error of a reference to a stop that has ended
// into an empty answer: JupyterLab fetches a stop's scopes and variables
// while the user may already continue, and breaks on an error reply
// ("Cannot read properties of undefined (reading 'variables')"); the
// kernel answers unknown references of the variable explorer the same way.
func staleIsEmpty(err error) error {
	var de *goeval.DebugError
	if errors.As(err, &de) && de.Stale() {
		return nil
	}
	return err
}

func variablesBody(vars []goeval.Variable) any {
	out := []map[string]any{}
	for _, v := range vars {
		out = append(out, map[string]any{"name": v.Name, "value": v.Value, "type": v.Type, "variablesReference": v.Ref, "evaluateName": v.Name})
	}
	return map[string]any{"variables": out}
}
