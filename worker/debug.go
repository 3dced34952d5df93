package worker

import (
	"context"
	"errors"
	"sync"

	"github.com/mpigo/mpigo/debugproto"
	"github.com/mpigo/mpigo/goeval"
)

// ErrBusy is the error of a debugger request that needs the interpreter
// while it runs a cell: the child reads no request then, and the kernel's
// control channel, which asks, must not wait for the cell.
var ErrBusy = errors.New("the interpreter is running a cell")

// ErrNoStoppedDebugger is the error of DebugRequest until cells run under
// yaegi's debugger: nothing can be stopped yet.
var ErrNoStoppedDebugger = errors.New("cells do not run under the interpreter's debugger yet")

// debugConfig is the debug session's configuration, which the interpreter
// side reads when it runs cells under the debugger.
type debugConfig struct {
	mu  sync.Mutex
	cfg debugproto.Config
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
func (e *Engine) DebugConfigure(_ context.Context, cfg debugproto.Config) error {
	e.debug.mu.Lock()
	e.debug.cfg = cfg
	e.debug.mu.Unlock()
	return nil
}

// DebugRequest fails with ErrNoStoppedDebugger: cells do not run under the
// interpreter's debugger yet, so nothing is ever stopped.
func (e *Engine) DebugRequest(context.Context, debugproto.Request) (debugproto.Response, error) {
	return debugproto.Response{}, ErrNoStoppedDebugger
}
