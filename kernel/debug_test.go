package kernel

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpigo/mpigo/debugproto"
)

// fakeDebugEngine is a fakeEngine with a debugger: it records the
// configuration it is given and answers forwarded requests with their
// command as body.
type fakeDebugEngine struct {
	*fakeEngine
	dmu       sync.Mutex
	busy      bool // DebugVariables fails with ErrInterpreterBusy
	cfg       debugproto.Config
	forwarded []string
}

func (e *fakeDebugEngine) DebugVariables(context.Context) ([]debugproto.Variable, error) {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	if e.busy {
		return nil, fmt.Errorf("worker: %w", debugproto.ErrInterpreterBusy)
	}
	return []debugproto.Variable{
		{Name: "x", Type: "int", Value: "42"},
		{Name: "p", Type: "Point", Value: "{1 2}", Children: []debugproto.Variable{{Name: "X", Type: "int", Value: "1"}}},
	}, nil
}

func (e *fakeDebugEngine) DebugRichVariable(_ context.Context, name string) (map[string]any, error) {
	return map[string]any{"text/plain": "value of " + name}, nil
}

func (e *fakeDebugEngine) DebugConfigure(_ context.Context, cfg debugproto.Config) error {
	e.dmu.Lock()
	e.cfg = cfg
	e.dmu.Unlock()
	return nil
}

func (e *fakeDebugEngine) DebugRequest(_ context.Context, req debugproto.Request) (debugproto.Response, error) {
	e.dmu.Lock()
	e.forwarded = append(e.forwarded, req.Command)
	e.dmu.Unlock()
	return debugproto.Response{Success: true, Body: map[string]any{"answered": req.Command}}, nil
}

func (e *fakeDebugEngine) config() debugproto.Config {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	return e.cfg
}

// debugRequest sends a DAP request on control and returns the response.
func (tk *testKernel) debugRequest(command string, args map[string]any) map[string]any {
	tk.t.Helper()
	c := tk.client
	id := c.send(c.control, "debug_request", map[string]any{"type": "request", "seq": 7, "command": command, "arguments": args})
	r := c.reply(c.control, id)
	if r.Header.MsgType != "debug_reply" {
		tk.t.Fatalf("%s: reply %s", command, r.Header.MsgType)
	}
	ct := content(tk.t, r)
	if ct["type"] != "response" || ct["command"] != command || ct["request_seq"] != 7.0 {
		tk.t.Fatalf("%s: response %v", command, ct)
	}
	return ct
}

func TestKernelInfoAnnouncesTheDebugger(t *testing.T) {
	tests := []struct {
		name     string
		debugger bool
		ready    bool
		want     bool
	}{
		{"no debugger", false, true, false},
		{"debugger not ready", true, false, false},
		{"debugger ready", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := startKernelWith(t, func(cfg *Config) {
				if tt.debugger {
					cfg.Engine = &fakeDebugEngine{fakeEngine: cfg.Engine.(*fakeEngine)}
				}
				cfg.DebuggerReady = tt.ready
			})
			c := tk.client
			ct := content(t, c.reply(c.shell, c.send(c.shell, "kernel_info_request", map[string]any{})))
			if ct["debugger"] != tt.want {
				t.Errorf("debugger = %v, want %v", ct["debugger"], tt.want)
			}
		})
	}
}

// JupyterLab asks inspectVariables whenever a cell starts or ends, and
// breaks on a failed response: while the interpreter is busy the kernel
// answers with the last list it had (none yet: an empty one).
func TestDebugInspectVariablesWhileBusy(t *testing.T) {
	var eng *fakeDebugEngine
	tk := startKernelWith(t, func(cfg *Config) {
		eng = &fakeDebugEngine{fakeEngine: cfg.Engine.(*fakeEngine), busy: true}
		cfg.Engine = eng
	})
	tk.debugRequest("initialize", nil)
	names := func(r map[string]any) []string {
		body, _ := r["body"].(map[string]any)
		vars, ok := body["variables"].([]any)
		if r["success"] != true || !ok {
			t.Fatalf("inspectVariables: %v", r)
		}
		var out []string
		for _, v := range vars {
			out = append(out, v.(map[string]any)["name"].(string))
		}
		return out
	}
	if got := names(tk.debugRequest("inspectVariables", nil)); len(got) != 0 {
		t.Errorf("busy before any list: %v, want none", got)
	}
	eng.dmu.Lock()
	eng.busy = false
	eng.dmu.Unlock()
	if got := names(tk.debugRequest("inspectVariables", nil)); strings.Join(got, ",") != "x,p" {
		t.Errorf("idle: %v, want x,p", got)
	}
	eng.dmu.Lock()
	eng.busy = true
	eng.dmu.Unlock()
	if got := names(tk.debugRequest("inspectVariables", nil)); strings.Join(got, ",") != "x,p" {
		t.Errorf("busy: %v, want the last list x,p", got)
	}
	// its references still expand
	if r := tk.debugRequest("variables", map[string]any{"variablesReference": 1}); r["success"] != true {
		t.Errorf("variables of the last list: %v", r)
	}
}

func TestDebugRequests(t *testing.T) {
	var eng *fakeDebugEngine
	tk := startKernelWith(t, func(cfg *Config) {
		eng = &fakeDebugEngine{fakeEngine: cfg.Engine.(*fakeEngine)}
		cfg.Engine = eng
	})
	if r := tk.debugRequest("stackTrace", nil); r["success"] != false || !strings.Contains(r["message"].(string), "no thread is stopped") {
		t.Fatalf("stackTrace before any stop: %v", r)
	}
	if r := tk.debugRequest("attach", nil); r["success"] != false || !strings.Contains(r["message"].(string), "not started") {
		t.Fatalf("attach before initialize: %v", r)
	}
	steps := []struct {
		command string
		args    map[string]any
		check   func(body map[string]any) bool
	}{
		{"initialize", nil, func(b map[string]any) bool { return b["supportsConfigurationDoneRequest"] == true }},
		{"attach", nil, func(map[string]any) bool { return eng.config().Enabled }},
		{"setBreakpoints", map[string]any{"source": map[string]any{"path": "/p/1.go"}, "breakpoints": []any{map[string]any{"line": 3}}},
			func(map[string]any) bool { return eng.config().Breakpoints["/p/1.go"][0].Line == 3 }},
		{"inspectVariables", nil, func(b map[string]any) bool {
			vars := b["variables"].([]any)
			return len(vars) == 2 && vars[1].(map[string]any)["variablesReference"].(float64) > 0
		}},
		{"variables", map[string]any{"variablesReference": 1}, func(b map[string]any) bool {
			vars := b["variables"].([]any)
			return len(vars) == 1 && vars[0].(map[string]any)["name"] == "X"
		}},
		{"richInspectVariables", map[string]any{"variableName": "x"}, func(b map[string]any) bool {
			return b["data"].(map[string]any)["text/plain"] == "value of x"
		}},
	}
	for _, st := range steps {
		r := tk.debugRequest(st.command, st.args)
		body, _ := r["body"].(map[string]any)
		if r["success"] != true || !st.check(body) {
			t.Errorf("%s: %v", st.command, r)
		}
	}

	// The engine stops: the kernel publishes the event, records the thread
	// and forwards what needs the stopped interpreter.
	eng.config().Events(debugproto.NewEvent("stopped", debugproto.ThreadBody{Reason: "breakpoint", ThreadID: 1}))
	waitDebugEvent(t, tk, "stopped")
	info := tk.debugRequest("debugInfo", nil)["body"].(map[string]any)
	if ids := info["stoppedThreads"].([]any); len(ids) != 1 || ids[0] != 1.0 {
		t.Errorf("stoppedThreads = %v", ids)
	}
	if r := tk.debugRequest("stackTrace", map[string]any{"threadId": 1}); r["success"] != true || r["body"].(map[string]any)["answered"] != "stackTrace" {
		t.Errorf("stackTrace while stopped: %v", r)
	}
	eng.config().Events(debugproto.NewEvent("continued", debugproto.ThreadBody{ThreadID: 1}))
	waitDebugEvent(t, tk, "continued")
	if r := tk.debugRequest("next", map[string]any{"threadId": 1}); r["success"] != false {
		t.Errorf("next after continued: %v", r)
	}

	if r := tk.debugRequest("disconnect", nil); r["success"] != true || eng.config().Enabled {
		t.Errorf("disconnect: %v, engine enabled %v", r, eng.config().Enabled)
	}
}

// waitDebugEvent waits for a debug_event named name on iopub.
func waitDebugEvent(t *testing.T, tk *testKernel, name string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		tk.client.box.mu.Lock()
		for _, m := range tk.client.box.msgs {
			if m.Header.MsgType == "debug_event" && strings.Contains(string(m.Content), `"event":"`+name+`"`) {
				tk.client.box.mu.Unlock()
				return
			}
		}
		tk.client.box.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s debug_event", name)
}
