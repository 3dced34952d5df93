package goeval

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio"
)

// debugWait bounds every wait for a debugger event.
const debugWait = 20 * time.Second

// debugRun is a cell running under the debugger in the background.
type debugRun struct {
	d      *DebugSession
	events chan DebugEvent
	done   chan struct{}
	cancel context.CancelFunc
	val    Value
	err    error
}

// startDebug runs cell cellNo with EvalDebug in the background.
func startDebug(t *testing.T, ts *testSession, d *DebugSession, cellNo int, path, src string) *debugRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &debugRun{d: d, events: make(chan DebugEvent, 1024), done: make(chan struct{}), cancel: cancel}
	d.OnEvent = func(e DebugEvent) { r.events <- e }
	go func() {
		defer close(r.done)
		r.val, r.err = ts.EvalDebug(ctx, cellNo, src, path, d)
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// stopped waits for the next stopped event.
func (r *debugRun) stopped(t *testing.T) DebugEvent {
	t.Helper()
	timeout := time.After(debugWait)
	for {
		select {
		case e := <-r.events:
			if e.Kind == EventStopped {
				return e
			}
		case <-r.done:
			t.Fatalf("the cell ended (%v, %v) instead of stopping", r.val, r.err)
		case <-timeout:
			t.Fatal("no stopped event")
		}
	}
}

// finish waits for the cell to end.
func (r *debugRun) finish(t *testing.T) (Value, error) {
	t.Helper()
	select {
	case <-r.done:
		return r.val, r.err
	case <-time.After(debugWait):
		t.Fatal("the cell did not end")
	}
	return Value{}, nil
}

// top returns the innermost frame of a stopped thread.
func (r *debugRun) top(t *testing.T, thread int) StackFrame {
	t.Helper()
	fs, err := r.d.StackTrace(thread)
	if err != nil || len(fs) == 0 {
		t.Fatalf("StackTrace: %v %v", fs, err)
	}
	return fs[0]
}

// vars returns a frame's variables of scope name (Locals, Globals).
func (r *debugRun) vars(t *testing.T, frame int, scope string) map[string]Variable {
	t.Helper()
	scopes, err := r.d.Scopes(frame)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scopes {
		if sc.Name == scope {
			return r.children(t, sc.Ref)
		}
	}
	t.Fatalf("no scope %s in %v", scope, scopes)
	return nil
}

func (r *debugRun) children(t *testing.T, ref int) map[string]Variable {
	t.Helper()
	vs, err := r.d.Variables(ref)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]Variable{}
	for _, v := range vs {
		m[v.Name] = v
	}
	return m
}

func skipDebugUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("yaegi's debugger has unsynchronized state (see debug.go)")
	}
}

const (
	pathA = "/tmp/mpigo-debug-1/1111.go"
	pathB = "/tmp/mpigo-debug-1/2222.go"
)

// TestDebugSession drives one session through the debugger: a function
// from an earlier cell, a breakpoint in a loop, continue, next, step in,
// evaluate, and the cell finishing with its output in order.
func TestDebugSession(t *testing.T) {
	skipDebugUnderRace(t)
	ts := newTestSession(t)
	d := NewDebugSession()
	r := startDebug(t, ts, d, 1, pathA, "func twice(n int) int {\n\tm := n * 2\n\treturn m\n}")
	if _, err := r.finish(t); err != nil {
		t.Fatal(err)
	}
	src := "total := 0\nfor i := 0; i < 3; i++ {\n\tfmt.Println(\"i\", i)\n\ttotal += twice(i)\n}\ntotal"
	if res := d.SetBreakpoints(pathB, []int{3}); len(res) != 1 {
		t.Fatalf("SetBreakpoints: %v", res)
	}
	r = startDebug(t, ts, d, 2, pathB, src)

	e := r.stopped(t)
	if e.Reason != ReasonBreakpoint || e.Thread != MainThread {
		t.Fatalf("first stop: %+v", e)
	}
	top := r.top(t, e.Thread)
	if top.Path != pathB || top.Line != 3 || top.Name != "cell[2]" {
		t.Fatalf("frame at the breakpoint: %+v", top)
	}
	if v := r.vars(t, top.ID, "Locals")["i"]; v.Value != "0" || v.Type != "int" {
		t.Fatalf("i at the first stop: %+v", v)
	}
	if v, err := d.Evaluate(top.ID, "i*2 + 1"); err != nil || v.Value != "1" {
		t.Fatalf("Evaluate: %+v %v", v, err)
	}

	steps := []struct {
		name       string
		do         func(int) error
		reason     string
		path, fn   string
		line       int
		varName, v string
	}{
		{"next", d.Next, ReasonStep, pathB, "cell[2]", 4, "i", "0"},
		{"step in", d.StepIn, ReasonStep, pathA, "twice", 2, "n", "0"},
		{"next in twice", d.Next, ReasonStep, pathA, "twice", 3, "m", "0"},
	}
	for _, st := range steps {
		if err := st.do(MainThread); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		e := r.stopped(t)
		top := r.top(t, e.Thread)
		if e.Reason != st.reason || top.Path != st.path || top.Name != st.fn || top.Line != st.line {
			t.Fatalf("%s: stopped %+v at %+v", st.name, e, top)
		}
		if v := r.vars(t, top.ID, "Locals")[st.varName]; v.Value != st.v {
			t.Fatalf("%s: %s = %+v", st.name, st.varName, v)
		}
	}
	// Inside twice, the caller's frame follows, with its variables.
	fs, err := d.StackTrace(MainThread)
	if err != nil || len(fs) != 2 || fs[1].Name != "cell[2]" || fs[1].Path != pathB || fs[1].Line != 4 {
		t.Fatalf("stack inside twice: %+v %v", fs, err)
	}
	if v := r.vars(t, fs[1].ID, "Locals")["i"]; v.Value != "0" {
		t.Fatalf("the caller's i: %+v", v)
	}
	if v, err := d.Evaluate(fs[1].ID, "total"); err != nil || v.Value != "0" {
		t.Fatalf("Evaluate in the caller's frame: %+v %v", v, err)
	}
	if text, err := d.Text(fs[0].ID, "n*10"); err != nil || text != "0" {
		t.Fatalf("Text in twice's frame: %q %v", text, err)
	}
	d.SetBreakpoints(pathB, nil)
	if err := d.Continue(MainThread); err != nil {
		t.Fatal(err)
	}
	v, err := r.finish(t)
	if err != nil || v.Text != "6" {
		t.Fatalf("result: %+v %v", v, err)
	}
	if out, _ := ts.output(t); out != "i 0\ni 1\ni 2\n" {
		t.Fatalf("stdout %q", out)
	}
	if len(d.Stopped()) != 0 || d.Threads() != nil {
		t.Fatalf("left stopped: %v %v", d.Stopped(), d.Threads())
	}

	// A breakpoint in the earlier cell's function stops a later cell.
	d.SetBreakpoints(pathA, []int{3})
	r = startDebug(t, ts, d, 3, "/tmp/mpigo-debug-1/3333.go", "x := twice(21)\nx")
	e = r.stopped(t)
	if top := r.top(t, e.Thread); top.Path != pathA || top.Line != 3 || top.Name != "twice" {
		t.Fatalf("breakpoint in an earlier cell's function: %+v", top)
	}
	d.SetBreakpoints(pathA, nil)
	if err := d.Continue(MainThread); err != nil {
		t.Fatal(err)
	}
	if v, err := r.finish(t); err != nil || v.Text != "42" {
		t.Fatalf("result: %+v %v", v, err)
	}

	// Without the debugger afterwards, as before.
	if v, err := ts.Eval(context.Background(), 4, "twice(total)"); err != nil || v.Text != "12" {
		t.Fatalf("plain Eval after debugging: %+v %v", v, err)
	}
	assertNoDebugger(t, ts)
}

// TestDebugCellsRunBefore sets a breakpoint in a function declared by a
// cell run without the debugger, found by the path PathOf derives from
// the cell's code, as JupyterLab does.
func TestDebugCellsRunBefore(t *testing.T) {
	skipDebugUnderRace(t)
	ts := newTestSession(t)
	decl := "func square(n int) int {\n\tr := n * n\n\treturn r\n}"
	if _, err := ts.Eval(context.Background(), 1, decl); err != nil {
		t.Fatal(err)
	}
	pathOf := func(code string) string { return "/tmp/mpigo-debug-2/" + strconv.Itoa(len(code)) + ".go" }
	d := NewDebugSession()
	d.PathOf = pathOf
	if res := d.SetBreakpoints(pathOf(decl), []int{3}); len(res) != 1 {
		t.Fatalf("SetBreakpoints: %v", res)
	}
	r := startDebug(t, ts, d, 2, pathOf("y := square(7)\ny"), "y := square(7)\ny")
	e := r.stopped(t)
	fs, err := d.StackTrace(e.Thread)
	if err != nil || len(fs) != 2 || fs[0].Name != "square" || fs[0].Path != pathOf(decl) || fs[0].Line != 3 || fs[1].Name != "cell[2]" {
		t.Fatalf("stack at the breakpoint: %+v %v", fs, err)
	}
	if v := r.vars(t, fs[0].ID, "Locals")["r"]; v.Value != "49" {
		t.Fatalf("r: %+v", v)
	}
	d.SetBreakpoints(pathOf(decl), nil)
	if err := d.Continue(MainThread); err != nil {
		t.Fatal(err)
	}
	if v, err := r.finish(t); err != nil || v.Text != "49" {
		t.Fatalf("result: %+v %v", v, err)
	}
}

// assertNoDebugger checks that nothing of the debugger is left on the
// session's path: Eval runs ExecuteWithContext with no debugger attached,
// exactly as when the debugger was never used.
func assertNoDebugger(t *testing.T, ts *testSession) {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.dbg != nil {
		t.Fatal("the session still has a debug session")
	}
	if f := reflect.ValueOf(ts.ip).Elem().FieldByName("debugger"); !f.IsNil() {
		t.Fatal("the interpreter still has a debugger")
	}
}

// TestDebugVariables expands a struct, a slice, a map and a pointer.
func TestDebugVariables(t *testing.T) {
	skipDebugUnderRace(t)
	ts := newTestSession(t)
	d := NewDebugSession()
	if _, err := ts.Eval(context.Background(), 1, "type P struct {\n\tX    int\n\tname string\n}"); err != nil {
		t.Fatal(err)
	}
	src := "p := P{X: 1, name: \"a\"}\ns := []int{10, 20, 30}\nm := map[string]int{\"k\": 7}\npp := &p\nfor i := 0; i < 1; i++ {\n\t_ = i\n}\n_ = pp"
	d.SetBreakpoints(pathB, []int{6})
	r := startDebug(t, ts, d, 2, pathB, src)
	e := r.stopped(t)
	top := r.top(t, e.Thread)
	globals := r.vars(t, top.ID, "Locals") // the cell's own variables
	tests := []struct {
		name, child, want string
	}{
		{"p", "X", "1"},
		{"p", "name", `"a"`},
		{"s", "[2]", "30"},
		{"m", `["k"]`, "7"},
		{"pp", "*", "{1 a}"},
	}
	for _, tt := range tests {
		v, ok := globals[tt.name]
		if !ok || v.Ref == 0 {
			t.Fatalf("%s: %+v (globals %v)", tt.name, v, globals)
		}
		if c := r.children(t, v.Ref)[tt.child]; c.Value != tt.want {
			t.Errorf("%s %s = %+v, want %s", tt.name, tt.child, c, tt.want)
		}
	}
	evals := []struct{ expr, want, errKind string }{
		{"p.X + s[1]", "21", ""},
		{"len(s) * 2", "6", ""},
		{"m[\"k\"] == 7", "true", ""},
		{"pp.name + \"b\"", `"ab"`, ""},
		{"fmt.Sprint(1)", "", "unsupported"},
		{"nope", "", "eval"},
	}
	for _, tt := range evals {
		v, err := d.Evaluate(top.ID, tt.expr)
		var de *DebugError
		switch {
		case tt.errKind != "" && (!errors.As(err, &de) || de.Kind != tt.errKind):
			t.Errorf("Evaluate(%s): %v, want a %s error", tt.expr, err, tt.errKind)
		case tt.errKind == "" && (err != nil || v.Value != tt.want):
			t.Errorf("Evaluate(%s) = %+v, %v; want %s", tt.expr, v, err, tt.want)
		}
	}
	if err := d.Continue(MainThread); err != nil {
		t.Fatal(err)
	}
	if _, err := r.finish(t); err != nil {
		t.Fatal(err)
	}
}

// TestDebugEndsCleanly pauses an endless loop, and interrupts cells that
// are stopped: the cell ends with Interrupted and nothing stays paused.
func TestDebugEndsCleanly(t *testing.T) {
	skipDebugUnderRace(t)
	tests := []struct {
		name, src string
		line      int // a breakpoint, 0: pause instead
		reason    string
	}{
		{"pause endless loop", "n := 0\nfor {\n\tn++\n}", 0, ReasonPause},
		{"interrupt at breakpoint", "k := 0\nfor {\n\tk++\n}", 3, ReasonBreakpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestSession(t)
			d := NewDebugSession()
			if tt.line > 0 {
				d.SetBreakpoints(pathB, []int{tt.line})
			}
			r := startDebug(t, ts, d, 1, pathB, tt.src)
			if tt.line == 0 {
				waitThread(t, d)
				if err := d.Pause(0); err != nil {
					t.Fatal(err)
				}
			}
			if e := r.stopped(t); e.Reason != tt.reason {
				t.Fatalf("stopped: %+v", e)
			}
			if top := r.top(t, MainThread); top.Path != pathB || top.Line < 2 || top.Line > 3 {
				t.Fatalf("stopped at %+v", top)
			}
			r.cancel()
			_, err := r.finish(t)
			var e *Error
			if !errors.As(err, &e) || e.Name != cellio.Interrupted {
				t.Fatalf("interrupted cell: %v", err)
			}
			if len(d.Stopped()) != 0 || d.Threads() != nil {
				t.Fatalf("left stopped: %v %v", d.Stopped(), d.Threads())
			}
			if v, err := ts.Eval(context.Background(), 2, `"after"`); err != nil || !strings.Contains(v.Text, "after") {
				t.Fatalf("next cell: %+v %v", v, err)
			}
			assertNoDebugger(t, ts)
		})
	}
}

// waitThread waits until the cell's goroutine runs under the debugger.
func waitThread(t *testing.T, d *DebugSession) {
	t.Helper()
	deadline := time.Now().Add(debugWait)
	for len(d.Threads()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cell did not start")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkEvalPlain is the cost of a small cell without the debugger,
// to compare with the code before debugging existed (execute's only
// addition is a nil test).
func BenchmarkEvalPlain(b *testing.B) {
	ts := newTestSession(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := ts.Eval(ctx, i+1, "x := 1\n_ = x"); err != nil {
			b.Fatal(err)
		}
	}
}
