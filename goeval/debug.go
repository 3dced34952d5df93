package goeval

// Debugging cells with yaegi's debugger (interp.Debug).
//
// The kernel runs every cell with EvalDebug while the debugger is on,
// giving the file path JupyterLab derived for the cell (dumpCell). Cells
// are still compiled under "_.go" with line directives "cell[N]/_.go:L:C"
// (yaegi keys imports by the base name of a node's file, which must be
// the same for every cell): a DebugSession maps cell N to its path, and
// since the directives make positions the cell's own lines, frames and
// breakpoints come out in the cell's lines under JupyterLab's path.
//
// What yaegi v0.16.1's debugger API could not do, and what this file does
// instead:
//   - PathBreakpointTarget matches the raw file name a source was parsed
//     under (fset.File(root.pos).Name(), never the //line name), and only
//     the first compiled root with that name: every cell is "_.go". The
//     session keeps instead the programs compiled from each path and sets
//     breakpoints with ProgramBreakpointTarget on each, by line (yaegi
//     matches lines through the //line directives, so cell lines work).
//     SetBreakpoints needs a *Debugger, which exists only while a cell
//     runs: breakpoints are stored by path and applied at the start of
//     every execution (and at once when a cell is running). yaegi clears
//     a root's breakpoints only when some line is requested: clearing
//     requests line -1.
//   - yaegi knows nothing of the cells a program came from. The session
//     records every program compiled from a single cell (run under the
//     debugger or not) and every cell's code; a debug session names a cell
//     it did not run by the path JupyterLab derives from its code
//     (PathOf), so the functions of cells run before the debugger was
//     attached hold breakpoints too. A rebuild of the interpreter replays
//     every cell's declarations in one program, and yaegi matches
//     breakpoints by line alone within a program, so a line of one cell
//     would stop in every other: that program holds no breakpoints (its
//     functions still show their cell's path and lines, and stepping into
//     them works); a cell that declares them again makes them breakable.
//   - DebugEvent.Frames leaves out the goroutine's root frame, the cell's
//     top level, as soon as a function is called: StackTrace adds it
//     (debug_vars.go), so a stop in a function shows the cell that called
//     it, with its variables.
//   - Stepping stops at the next node, not the next line (several per
//     line, and the session's own wrapper code has no cell position): a
//     step is repeated until the line, the frame depth or the file
//     changes, and positions outside cells are stepped over (or out of).
//   - Step refuses a goroutine whose event handler has not yet returned
//     (ErrRunning; the flag is not synchronized): the step is retried,
//     within stepRetry.
//   - The cell's top-level frame has no variables in DebugFrameScope (its
//     root frame has no scope): its block variables (a loop's i) and the
//     session's globals are read from yaegi's unexported scope and frame
//     structures by reflection (debug_vars.go), pinned to v0.16.1 and
//     guarded: if the layout differs, those scopes are empty.
//   - An expression cannot be evaluated by the interpreter in a stopped
//     frame (compiling and running code while a run is paused would run it
//     under the paused goroutine's debug state): Evaluate interprets a
//     bounded subset of Go over the frame's variables (names, literals,
//     fields, indexes, *, unary and binary operators, len and cap) and
//     says what else is not supported.
//   - There is no exception event: a panic ends the cell as it does
//     without the debugger (setExceptionBreakpoints can verify nothing).
//   - Debugger.Wait returns as soon as the context is cancelled, before
//     the results are written, and the interpreter's debugger field is
//     reset after the Terminate event: execute waits for Terminate, then
//     for the field to be nil (detached), before it returns. Both are
//     unsynchronized in yaegi, so debug tests are skipped under -race.
//   - yaegi finds the node a goroutine executes from the exec closure it
//     runs (runCfg compares closures by code pointer, which many nodes
//     share): after a for loop's post statement, the closure of the
//     condition is not the condition node's, the node is lost, and the
//     search from the root lands on a node of the session's wrapper
//     (measured with a patched copy of yaegi). A breakpoint inside a loop
//     then stops on every iteration when the body is simple, but only on
//     the first when the body also calls a function. Not worked around: it
//     needs a change in yaegi (a node per exec step); the tests check the
//     first hit, steps and step-in only.
//   - yaegi waits for every goroutine a debugged program started: a cell
//     run under the debugger ends when its goroutines end (or on
//     interrupt).

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/traefik/yaegi/interp"
)

// EvalDebug runs a cell as Eval does, under yaegi's debugger: d's
// breakpoints stop it, d's events report it, and d's methods, called from
// other goroutines while it is stopped, inspect and resume it. path is the
// file JupyterLab derived for the cell: frames of the cell, and of the
// functions it declares when later cells call them, report it with the
// cell's own lines. Cancelling ctx ends the cell (an Interrupted error)
// even while it is stopped. Eval itself never pays for the debugger.
func (s *Session) EvalDebug(ctx context.Context, cellNo int, src, path string, d *DebugSession) (Value, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.beginCell(cellNo, path)
	s.dbg = d
	defer func() { s.dbg = nil }()
	return s.evalCell(ctx, cellNo, src)
}

// DebugSession is the state of a debugger across cells: breakpoints by
// path, the programs compiled from each path, and, while a cell runs, the
// stopped goroutines and the references to their frames and variables
// (valid until the goroutine resumes, as in DAP). Its methods may be
// called from any goroutine.
type DebugSession struct {
	// OnEvent, when set before the first cell, receives the debugger's
	// events, one at a time, from the goroutine that runs the cell. It
	// must not block for long, and may call the session's methods.
	OnEvent func(DebugEvent)
	// PathOf, when set, names the source file of a cell from its code, as
	// the front end does (debugproto.Paths.Path): cells run before the
	// debugger, or without it, are found by the paths of their
	// breakpoints. Without it only cells run by EvalDebug have a path.
	PathOf func(code string) string

	mu          sync.Mutex
	ip          *interp.Interpreter          // the interpreter progs belong to
	breakpoints map[string][]int             // path → lines
	progs       map[string][]*interp.Program // path → programs compiled from it
	learnt      int                          // how many of the session's programs progs holds
	paths       map[int]string               // cell number → path
	cellNo      int                          // the cell running
	dbg         *interp.Debugger             // nil when no cell runs
	stopped     map[int]*interp.DebugEvent   // thread → its stop
	steps       map[int]stepRequest          // thread → the step it is doing
	frames      map[int]frameRef             // frame id → frame, while stopped
	refs        map[int]func() []namedValue  // variable reference → children
	nextID      int                          // the last frame id or reference given
	retained    map[int]map[int]bool         // thread → its frame ids and references
}

// NewDebugSession returns a debug session with no breakpoints.
func NewDebugSession() *DebugSession {
	return &DebugSession{
		breakpoints: map[string][]int{},
		progs:       map[string][]*interp.Program{},
		paths:       map[int]string{},
		stopped:     map[int]*interp.DebugEvent{},
		steps:       map[int]stepRequest{},
		frames:      map[int]frameRef{},
		refs:        map[int]func() []namedValue{},
		retained:    map[int]map[int]bool{},
	}
}

// DebugEventKind is what a DebugEvent reports.
type DebugEventKind string

// The kinds of DebugEvent.
const (
	// EventStopped: a thread stopped (Reason says why).
	EventStopped DebugEventKind = "stopped"
	// EventThreadStarted: a goroutine started (the cell, or a go
	// statement).
	EventThreadStarted DebugEventKind = "thread-started"
	// EventThreadExited: a goroutine ended.
	EventThreadExited DebugEventKind = "thread-exited"
)

// The reasons of stopped events, as DAP spells them.
const (
	ReasonBreakpoint = "breakpoint"
	ReasonStep       = "step"
	ReasonPause      = "pause"
	ReasonEntry      = "entry"
)

// DebugEvent is an event of a cell run under the debugger.
type DebugEvent struct {
	Kind DebugEventKind
	// Reason is, for EventStopped, ReasonBreakpoint, ReasonStep,
	// ReasonPause or ReasonEntry.
	Reason string
	// Thread is the goroutine's id (the cell's own is MainThread).
	Thread int
}

// MainThread is the id of the goroutine that runs the cell.
const MainThread = 1

// BreakpointResult is the outcome of a requested breakpoint line.
type BreakpointResult struct {
	// Line is the line requested.
	Line int
	// Verified is true when code of that line was found in a program
	// compiled from the path; a breakpoint is kept (and applied to the
	// path's programs compiled later) whether or not it is verified.
	Verified bool
}

// Thread is a goroutine of the cell being debugged.
type Thread struct {
	ID      int
	Name    string
	Stopped bool
}

// StackFrame is a call frame of a stopped thread, innermost first.
type StackFrame struct {
	// ID names the frame for Scopes and Evaluate until the thread resumes.
	ID int
	// Name is the function's name, "cell[N]" for a cell's top level.
	Name string
	// Path is the file of the cell the code is in: the path given to
	// EvalDebug for that cell, else "cell[N]"; "" outside cells.
	Path string
	// Line and Column are 1-based, in the cell's lines.
	Line, Column int
}

// stepRequest is a step in progress: where it started, so that steps are
// repeated while they stay on that line.
type stepRequest struct {
	reason interp.DebugEventReason
	path   string
	line   int
	depth  int
	tries  int
	pause  bool // a pause moved to a cell's line
}

// frameRef is a stack frame handed out by StackTrace.
type frameRef struct {
	thread int
	frame  *interp.DebugFrame
	root   bool
}

// DebugError is a request the debug session cannot answer. Each kind has
// one constructor: errNotRunning, errNotStopped, errUnknownFrame,
// errUnknownRef, errUnsupported and errEval.
type DebugError struct {
	// Kind is "not-running", "not-stopped", "unknown-frame",
	// "unknown-reference", "unsupported" or "eval".
	Kind string
	Msg  string
}

// Error implements error.
func (e *DebugError) Error() string { return "goeval debugger: " + e.Msg }

// Stale reports whether the error is a frame or variables reference of a
// stop that has ended: a client that fetches a stop's variables while the
// thread resumes asks for them.
func (e *DebugError) Stale() bool { return e.Kind == "unknown-frame" || e.Kind == "unknown-reference" }

func errNotRunning() *DebugError {
	return &DebugError{Kind: "not-running", Msg: "no cell is running under the debugger"}
}

func errNotStopped(thread int) *DebugError {
	return &DebugError{Kind: "not-stopped", Msg: fmt.Sprintf("thread %d is not stopped", thread)}
}

func errUnknownFrame(id int) *DebugError {
	return &DebugError{Kind: "unknown-frame", Msg: fmt.Sprintf("no frame %d (frames are valid while their thread is stopped)", id)}
}

func errUnknownRef(ref int) *DebugError {
	return &DebugError{Kind: "unknown-reference", Msg: fmt.Sprintf("no variables reference %d (references are valid while their thread is stopped)", ref)}
}

func errUnsupported(what string) *DebugError {
	return &DebugError{Kind: "unsupported", Msg: what + " cannot be evaluated in a stopped frame: only variables, literals, fields, indexes, *, unary and binary operators, len and cap can"}
}

func errEval(msg string) *DebugError {
	return &DebugError{Kind: "eval", Msg: msg}
}

// beginCell records the path of the cell about to run.
func (d *DebugSession) beginCell(cellNo int, path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cellNo = cellNo
	if path != "" {
		d.paths[cellNo] = path
	}
}

// SetBreakpoints replaces the breakpoints of path with lines (the cell's
// own line numbers) and says which are verified: found in code compiled
// from path. They apply to the cells compiled from path later as well.
func (d *DebugSession) SetBreakpoints(path string, lines []int) []BreakpointResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.breakpoints[path] = append([]int(nil), lines...)
	verified := map[int]bool{}
	if d.dbg != nil {
		verified = d.applyLocked(path)
	}
	out := make([]BreakpointResult, len(lines))
	for i, l := range lines {
		out[i] = BreakpointResult{Line: l, Verified: verified[l] || d.dbg == nil && d.knownLine(path, l)}
	}
	return out
}

// knownLine is the verification of a breakpoint set while no cell runs:
// yaegi can only check lines with a debugger, so a line of a path the
// session compiled counts as verified; yaegi checks it at the next run.
func (d *DebugSession) knownLine(path string, line int) bool {
	return len(d.progs[path]) > 0 && line > 0
}

// applyLocked sets path's breakpoints on its programs with the running
// debugger and returns the lines yaegi found.
func (d *DebugSession) applyLocked(path string) map[int]bool {
	lines := d.breakpoints[path]
	reqs := []interp.BreakpointRequest{interp.LineBreakpoint(-1)} // clears the old ones
	for _, l := range lines {
		reqs = append(reqs, interp.LineBreakpoint(l))
	}
	found := map[int]bool{}
	for _, p := range d.progs[path] {
		for i, b := range d.dbg.SetBreakpoints(interp.ProgramBreakpointTarget(p), reqs...) {
			if i > 0 && b.Valid {
				found[lines[i-1]] = true
			}
		}
	}
	return found
}

// execute runs prog, compiled in s, under the debugger for
// Session.execute.
func (d *DebugSession) execute(ctx context.Context, s *Session, prog *interp.Program) (reflect.Value, error) {
	q := newEventQueue()
	dbg := s.ip.Debug(ctx, prog, q.push, &interp.DebugOptions{GoRoutineStartAt1: true})
	d.attach(s, dbg)
	if err := dbg.Continue(MainThread); err != nil {
		return reflect.Value{}, fmt.Errorf("goeval: starting the debugger: %w", err)
	}
	for e := q.pop(); e.Reason() != interp.DebugTerminate; e = q.pop() {
		d.handle(e)
	}
	d.detach()
	waitDetached(s.ip)
	return dbg.Wait() // safe now: Terminate comes after the results are written
}

// attach makes dbg the running debugger, learns the programs s compiled
// since the last execution, and applies every breakpoint.
func (d *DebugSession) attach(s *Session, dbg *interp.Debugger) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ip != s.ip { // a new interpreter: the old programs are gone
		d.ip = s.ip
		d.progs = map[string][]*interp.Program{}
		d.learnt = 0
	}
	d.nameCellsLocked(s.srcs)
	progs := s.cellProgs()
	for _, cp := range progs[d.learnt:] { // the session only appends to them
		if path, ok := d.paths[cp.cell]; ok {
			d.progs[path] = append(d.progs[path], cp.prog)
		}
	}
	d.learnt = len(progs)
	d.dbg = dbg
	for path := range d.breakpoints {
		d.applyLocked(path)
	}
}

// nameCellsLocked gives the cells that have no path yet (run before the
// debugger, or without it) the one PathOf derives from their code.
func (d *DebugSession) nameCellsLocked(srcs map[int]string) {
	if d.PathOf == nil {
		return
	}
	for n, src := range srcs {
		if _, ok := d.paths[n]; !ok {
			d.paths[n] = d.PathOf(src)
		}
	}
}

// detach forgets the debugger of a finished execution.
func (d *DebugSession) detach() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dbg = nil
	for t := range d.stopped {
		d.releaseLocked(t)
	}
	d.stopped = map[int]*interp.DebugEvent{}
	d.steps = map[int]stepRequest{}
}

// handle processes one event of yaegi's debugger.
func (d *DebugSession) handle(e *interp.DebugEvent) {
	switch e.Reason() {
	case interp.DebugEnterGoRoutine:
		d.emit(DebugEvent{Kind: EventThreadStarted, Thread: e.GoRoutine()})
		return
	case interp.DebugExitGoRoutine:
		d.mu.Lock()
		delete(d.stopped, e.GoRoutine())
		d.mu.Unlock()
		d.emit(DebugEvent{Kind: EventThreadExited, Thread: e.GoRoutine()})
		return
	}
	if d.stepAgain(e) || d.pauseInCell(e) {
		return
	}
	t := e.GoRoutine()
	reason := reasonText(e.Reason())
	d.mu.Lock()
	if d.steps[t].pause {
		reason = ReasonPause
	}
	d.stopped[t] = e
	delete(d.steps, t)
	d.mu.Unlock()
	d.emit(DebugEvent{Kind: EventStopped, Reason: reason, Thread: t})
}

// pauseInCell turns a pause that stopped outside the cells (the session's
// wrapper code, or a node yaegi gives no position) into steps to the next
// line of a cell, still reported as a pause; it reports whether it did.
func (d *DebugSession) pauseInCell(e *interp.DebugEvent) bool {
	if e.Reason() != interp.DebugPause {
		return false
	}
	if path, _, _ := d.where(e); path != "" {
		return false
	}
	t := e.GoRoutine()
	d.mu.Lock()
	d.steps[t] = stepRequest{reason: interp.DebugStepOver, depth: e.FrameDepth(), pause: true}
	dbg := d.dbg
	d.mu.Unlock()
	return stepWhenStopped(dbg, t, interp.DebugStepOver) == nil
}

// maxAutoSteps bounds the steps repeated for one user step: a step out of
// a long function of the standard library's sources stops after it.
const maxAutoSteps = 100000

// stepAgain repeats a step that stopped on the line it started from, or
// outside the cells; it reports whether it did.
func (d *DebugSession) stepAgain(e *interp.DebugEvent) bool {
	switch e.Reason() {
	case interp.DebugStepInto, interp.DebugStepOver, interp.DebugStepOut:
	default:
		return false
	}
	t := e.GoRoutine()
	d.mu.Lock()
	req, ok := d.steps[t]
	dbg := d.dbg
	d.mu.Unlock()
	if !ok || req.tries >= maxAutoSteps {
		return false
	}
	path, line, depth := d.where(e)
	reason := req.reason
	switch {
	case path == "" && depth > req.depth:
		reason = interp.DebugStepOut // left the cells: come back
	case path == "":
		reason = interp.DebugStepOver
	case path == req.path && line == req.line && depth == req.depth:
	default:
		return false
	}
	req.tries++
	d.mu.Lock()
	d.steps[t] = req
	d.mu.Unlock()
	return stepWhenStopped(dbg, t, reason) == nil
}

// where returns the path (cell path, "cell[N]", or "" outside cells), the
// line and the frame depth of an event.
func (d *DebugSession) where(e *interp.DebugEvent) (string, int, int) {
	depth := e.FrameDepth()
	fs := e.Frames(0, 1)
	if len(fs) == 0 {
		return "", 0, depth
	}
	pos := fs[0].Position()
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pathOf(pos.Filename), pos.Line, depth
}

// cellFile matches the file name of a cell's positions.
var cellFile = regexp.MustCompile(`^cell\[(\d+)\]/` + regexp.QuoteMeta(srcName) + `$`)

// pathOf maps the file name of a position to the cell's path; "" when it
// is not a cell's. d.mu is held.
func (d *DebugSession) pathOf(file string) string {
	m := cellFile.FindStringSubmatch(file)
	if m == nil {
		return ""
	}
	n, _ := strconv.Atoi(m[1])
	if p, ok := d.paths[n]; ok {
		return p
	}
	return "cell[" + m[1] + "]"
}

// stepRetry bounds the wait for a goroutine to be ready for a step.
const stepRetry = 5 * time.Second

// stepWhenStopped issues a step to a stopped goroutine. yaegi marks it
// stopped (running=false) only after the event handler returned, without
// synchronization; until then Step says ErrRunning, and is tried again.
func stepWhenStopped(dbg *interp.Debugger, thread int, reason interp.DebugEventReason) error {
	deadline := time.Now().Add(stepRetry)
	for {
		err := dbg.Step(thread, reason)
		if !errors.Is(err, interp.ErrRunning) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// reasonText is the DAP reason of a stop.
func reasonText(r interp.DebugEventReason) string {
	switch r {
	case interp.DebugBreak:
		return ReasonBreakpoint
	case interp.DebugPause:
		return ReasonPause
	case interp.DebugEntry:
		return ReasonEntry
	}
	return ReasonStep
}

// emit hands an event to OnEvent.
func (d *DebugSession) emit(e DebugEvent) {
	if d.OnEvent != nil {
		d.OnEvent(e)
	}
}

// Threads returns the live goroutines of the running cell (none when no
// cell runs).
func (d *DebugSession) Threads() []Thread {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dbg == nil {
		return nil
	}
	var out []Thread
	for _, g := range d.dbg.GoRoutines() {
		_, stopped := d.stopped[g.ID()]
		out = append(out, Thread{ID: g.ID(), Name: g.Name(), Stopped: stopped})
	}
	return out
}

// Stopped returns the stopped threads, in no order.
func (d *DebugSession) Stopped() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int
	for t := range d.stopped {
		out = append(out, t)
	}
	return out
}

// StackTrace returns the frames of a stopped thread, innermost first.
func (d *DebugSession) StackTrace(thread int) ([]StackFrame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.stopped[thread]
	if !ok {
		return nil, errNotStopped(thread)
	}
	fs := e.Frames(0, e.FrameDepth())
	if r := rootFrame(fs); r != nil {
		fs = append(fs, r)
	}
	out := make([]StackFrame, 0, len(fs))
	for i, f := range fs {
		pos := f.Position()
		root := i == len(fs)-1 && f.Name() == "<init>"
		id := d.retainLocked(thread)
		d.frames[id] = frameRef{thread: thread, frame: f, root: root}
		name := f.Name()
		if m := cellFile.FindStringSubmatch(pos.Filename); root && m != nil {
			name = "cell[" + m[1] + "]"
		}
		out = append(out, StackFrame{ID: id, Name: name, Path: d.pathOf(pos.Filename), Line: pos.Line, Column: pos.Column})
	}
	return out, nil
}

// retainLocked allocates a frame id or variables reference that lives
// while thread stays stopped.
func (d *DebugSession) retainLocked(thread int) int {
	d.nextID++
	if d.retained[thread] == nil {
		d.retained[thread] = map[int]bool{}
	}
	d.retained[thread][d.nextID] = true
	return d.nextID
}

// releaseLocked drops the frame ids and references of a thread that
// resumes.
func (d *DebugSession) releaseLocked(thread int) {
	for id := range d.retained[thread] {
		delete(d.frames, id)
		delete(d.refs, id)
	}
	delete(d.retained, thread)
}

// resume takes a thread out of the stopped ones for Continue and the
// steps, recording the step it starts.
func (d *DebugSession) resume(thread int, step interp.DebugEventReason) (*interp.Debugger, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dbg == nil {
		return nil, errNotRunning()
	}
	e, ok := d.stopped[thread]
	if !ok {
		return nil, errNotStopped(thread)
	}
	if step != 0 {
		req := stepRequest{reason: step, depth: e.FrameDepth()}
		if fs := e.Frames(0, 1); len(fs) > 0 {
			pos := fs[0].Position()
			req.path, req.line = d.pathOf(pos.Filename), pos.Line
		}
		d.steps[thread] = req
	}
	delete(d.stopped, thread)
	d.releaseLocked(thread)
	return d.dbg, nil
}

// Continue resumes a stopped thread.
func (d *DebugSession) Continue(thread int) error {
	dbg, err := d.resume(thread, 0)
	if err != nil {
		return err
	}
	return dbg.Continue(thread)
}

// Next steps a stopped thread to the next line of its function (or of its
// caller, when the function returns).
func (d *DebugSession) Next(thread int) error { return d.step(thread, interp.DebugStepOver) }

// StepIn steps a stopped thread to the next line, into calls.
func (d *DebugSession) StepIn(thread int) error { return d.step(thread, interp.DebugStepInto) }

// StepOut runs a stopped thread until its function returns.
func (d *DebugSession) StepOut(thread int) error { return d.step(thread, interp.DebugStepOut) }

func (d *DebugSession) step(thread int, reason interp.DebugEventReason) error {
	dbg, err := d.resume(thread, reason)
	if err != nil {
		return err
	}
	return stepWhenStopped(dbg, thread, reason)
}

// Pause asks a running thread (0: every thread) to stop at its next
// statement; a stopped event follows.
func (d *DebugSession) Pause(thread int) error {
	d.mu.Lock()
	dbg := d.dbg
	d.mu.Unlock()
	if dbg == nil {
		return errNotRunning()
	}
	for _, g := range dbg.GoRoutines() {
		if thread == 0 || g.ID() == thread {
			dbg.Interrupt(g.ID(), interp.DebugPause)
		}
	}
	return nil
}

// eventQueue hands yaegi's events to the goroutine that runs the cell
// without ever blocking yaegi (a goroutine stops only after its handler
// returned; go statements and their ends produce events that nothing
// waits for).
type eventQueue struct {
	mu     sync.Mutex
	events []*interp.DebugEvent
	ready  chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{ready: make(chan struct{}, 1)} }

func (q *eventQueue) push(e *interp.DebugEvent) {
	q.mu.Lock()
	q.events = append(q.events, e)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop waits for the next event.
func (q *eventQueue) pop() *interp.DebugEvent {
	for {
		q.mu.Lock()
		if len(q.events) > 0 {
			e := q.events[0]
			q.events = q.events[1:]
			q.mu.Unlock()
			return e
		}
		q.mu.Unlock()
		<-q.ready
	}
}

// detachWait bounds the wait for yaegi to reset its debugger after the
// Terminate event.
const detachWait = 5 * time.Second

// waitDetached waits until ip's debugger is reset: yaegi resets it after
// the Terminate event, in a goroutine nothing can wait for; a next
// execution must not see it. Read by reflection: the field is unexported.
func waitDetached(ip *interp.Interpreter) {
	f := reflect.ValueOf(ip).Elem().FieldByName("debugger")
	if !f.IsValid() || f.Kind() != reflect.Ptr {
		return
	}
	deadline := time.Now().Add(detachWait)
	for !f.IsNil() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Microsecond)
	}
}
