package kernel

import (
	"context"
	"sync"

	"github.com/mpigo/mpigo/debugproto"
)

// debugState is the kernel's debugger. Its session is made on the first
// debug_request, so that a kernel nobody debugs creates no directory.
type debugState struct {
	once sync.Once
	sess *debugproto.Session

	mu       sync.Mutex
	lastVars []debugproto.Variable // what inspectVariables answered last from the engine
}

// session returns the debug session, made on first use; when the private
// directory cannot be made, cells cannot be dumped (dumpCell says why) but
// everything else works.
func (k *kernel) debugSession() *debugproto.Session {
	k.debug.once.Do(func() {
		paths, err := debugproto.NewPaths()
		if err != nil {
			k.log.Warn("debugger: no directory for the cells' sources", "err", err)
			paths = debugproto.Paths{Suffix: debugproto.Suffix, Seed: debugproto.HashSeed}
		}
		k.debug.sess = debugproto.NewSession(paths)
	})
	return k.debug.sess
}

// closeDebug removes the dumped cells when the kernel ends.
func (k *kernel) closeDebug() {
	k.debug.once.Do(func() {}) // no session made after this
	if k.debug.sess != nil {
		if err := k.debug.sess.Paths().Remove(); err != nil {
			k.log.Debug("removing the debugger's directory", "err", err)
		}
	}
}

// debugger returns the engine's debugger, if it has one.
func (k *kernel) debugger() (Debugger, bool) {
	d, ok := k.engine.(Debugger)
	return d, ok
}

// debuggerReady reports what kernel_info says of the debugger: only an
// engine that implements it, with Config.DebuggerReady, shows JupyterLab's
// bug icon.
func (k *kernel) debuggerReady() bool {
	_, ok := k.debugger()
	return ok && k.cfg.DebuggerReady
}

// handleDebug answers a debug_request (a DAP request) with a debug_reply
// (its DAP response), then publishes the events it caused as debug_event.
// A request that is no DAP request gets a failed response too: the
// protocol has no other way to say so.
func (k *kernel) handleDebug(l *link, m *message) {
	s := k.debugSession()
	req, err := debugproto.ParseRequest(m.Content)
	var resp debugproto.Response
	var events []debugproto.Event
	if err != nil {
		resp = debugproto.Fail(req, err)
	} else {
		resp, events = k.debugAnswer(s, req)
	}
	if !resp.Success {
		k.log.Info("debug request failed", "command", req.Command, "why", resp.Message)
	}
	resp.Seq = s.Stamp()
	k.reply(l, m, "debug_reply", resp)
	for _, ev := range events {
		k.publishDebugEvent(m, ev)
	}
}

// publishDebugEvent numbers ev, records what it says of stopped threads,
// and publishes it on IOPub with parent as parent header.
func (k *kernel) publishDebugEvent(parent *message, ev debugproto.Event) {
	s := k.debugSession()
	s.Observe(ev)
	ev.Type, ev.Seq = "event", s.Stamp()
	k.publish(parent, "debug_event", ev)
}

// engineEvent publishes an event of the engine, under the running cell if
// there is one (it is what stopped or resumed).
func (k *kernel) engineEvent(ev debugproto.Event) {
	k.mu.Lock()
	parent := k.running
	k.mu.Unlock()
	k.publishDebugEvent(parent, ev)
}

// debugAnswer answers req, and returns the events to publish after.
func (k *kernel) debugAnswer(s *debugproto.Session, req debugproto.Request) (debugproto.Response, []debugproto.Event) {
	if startedCommands[req.Command] && !s.Started() {
		return debugproto.Fail(req, debugproto.ErrNotStarted(req.Command)), nil
	}
	ctx, cancel := context.WithTimeout(k.runCtx, engineTimeout)
	defer cancel()
	if req.Command == "initialize" {
		s.Start()
		return debugproto.OK(req, debugproto.DefaultCapabilities()),
			[]debugproto.Event{debugproto.NewEvent("initialized", nil)}
	}
	if forwardedCommands[req.Command] && (s.Stopped() || req.Command == "pause") {
		return k.forwardDebug(ctx, req), nil
	}
	handle, ok := k.debugHandlers()[req.Command]
	if !ok && forwardedCommands[req.Command] {
		return debugproto.Fail(req, debugproto.ErrNotStopped(req.Command)), nil
	}
	if !ok {
		return debugproto.Fail(req, debugproto.ErrUnsupported(req.Command)), nil
	}
	body, err := handle(ctx, s, req)
	if err != nil {
		return debugproto.Fail(req, err), nil
	}
	return debugproto.OK(req, body), nil
}

// debugHandler answers one command the kernel serves itself, with the body
// of its response.
type debugHandler func(ctx context.Context, s *debugproto.Session, req debugproto.Request) (any, error)

// debugHandlers are the commands the kernel serves itself (variables only
// while nothing is stopped: then it expands what inspectVariables listed).
func (k *kernel) debugHandlers() map[string]debugHandler {
	return map[string]debugHandler{
		"attach":            k.debugAttach,
		"disconnect":        k.debugDisconnect,
		"configurationDone": func(context.Context, *debugproto.Session, debugproto.Request) (any, error) { return nil, nil },
		"debugInfo": func(_ context.Context, s *debugproto.Session, _ debugproto.Request) (any, error) {
			return s.Info(), nil
		},
		"modules":                 debugModules,
		"dumpCell":                debugDumpCell,
		"source":                  debugSource,
		"setBreakpoints":          k.debugSetBreakpoints,
		"setExceptionBreakpoints": k.debugSetExceptionBreakpoints,
		"inspectVariables":        k.debugInspectVariables,
		"richInspectVariables":    k.debugRichInspectVariables,
		"variables":               debugChildren,
	}
}
