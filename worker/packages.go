package worker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/goeval"
)

// Packager builds interpreters with packages compiled in, so that a cell
// that imports a package the running interpreter lacks calls it compiled.
// The kernel's is built on packages gomod (the session's modules) and
// interpbuild.
type Packager interface {
	// Interpreter returns an interpreter with the packages paths compiled
	// in, building it if needed; progress hears what it does, a line at a
	// time.
	Interpreter(ctx context.Context, paths []string, progress func(line string)) (Interpreter, error)
	// Key is the key of the interpreter Interpreter would return for paths
	// now, found without building or downloading anything.
	Key(ctx context.Context, paths []string) (string, error)
}

// Interpreter is an interpreter a Packager built.
type Interpreter struct {
	Command []string // starts it as the worker
	Key     string   // what it was built from
	// About says what it has, for the user: "gonum.org/v1/gonum/mat
	// v0.17.0 (built in 4.1 s)".
	About string
}

// neededPackages returns the imports of code that the running interpreter
// lacks, and the first of them (for the error's position).
func (e *Engine) neededPackages(code string) ([]string, goeval.Import) {
	have := map[string]bool{}
	for _, p := range e.pkgs {
		have[p] = true
	}
	var need []string
	var first goeval.Import
	for _, imp := range goeval.CellImports(code) {
		if goeval.Builtin(imp.Path) || have[imp.Path] {
			continue
		}
		if len(need) == 0 {
			first = imp
		}
		have[imp.Path] = true
		need = append(need, imp.Path)
	}
	return need, first
}

// ensurePackages switches to an interpreter that has the packages the cell
// imports, and rebuilds the running one when what it was built from has
// changed (another version required, a local module edited). Until the new
// interpreter runs, the old one is left as it is: a failure loses nothing.
func (e *Engine) ensurePackages(ctx context.Context, req Request) error {
	if e.cfg.Packages == nil {
		return nil
	}
	need, first := e.neededPackages(req.Code)
	if len(need) == 0 {
		if len(e.pkgs) == 0 {
			return nil
		}
		key, err := e.cfg.Packages.Key(ctx, e.pkgs)
		if err != nil || key == e.interpKey {
			return nil // a session that cannot say stays as it is
		}
	}
	all := append(append([]string(nil), e.pkgs...), need...)
	sort.Strings(all)
	prog := e.newProgress(all)
	defer prog.stop()
	it, err := e.cfg.Packages.Interpreter(ctx, all, prog.set)
	if err != nil {
		prog.fail()
		if ctx.Err() != nil {
			return interruptedError()
		}
		return importError(req.Cell, first, need, err)
	}
	return e.switchTo(it, all, prog)
}

// switchTo replaces the running interpreter with it: the session's
// declarations are replayed into the new one, and its variables carried
// over where they can be (goeval.Session.ExportVars says which cannot).
func (e *Engine) switchTo(it Interpreter, pkgs []string, prog *progress) error {
	old, oldCmd := e.proc, e.command
	var carried []goeval.CarriedVar
	var lost []goeval.LostVar
	if old != nil {
		if r, err := e.roundTrip(old, request{Op: opExportVars}); err == nil {
			carried, lost = r.Vars, r.Lost
		}
	}
	e.command = it.Command
	p, err := e.start()
	if err != nil {
		e.command = oldCmd
		prog.fail()
		return &Error{Name: cellio.ImportError, Value: fmt.Sprintf("starting the interpreter with %s: %v", strings.Join(pkgs, ", "), err)}
	}
	if old != nil {
		old.stop()
	}
	e.proc = p
	e.pkgs, e.interpKey = pkgs, it.Key
	failed := e.replay(p)
	if len(carried) > 0 {
		if r, err := e.roundTrip(p, request{Op: opImportVars, Vars: carried}); err == nil {
			lost = append(lost, r.Lost...)
			if r.DeclsSet {
				e.decls = r.Decls
			}
		} else {
			lost = append(lost, goeval.LostVar{Name: "(all)", Why: err.Error()})
		}
	}
	prog.done(switchNote(it, len(e.decls) > 0, failed, carried, lost))
	return nil
}

// switchNote tells the user what changed with a new interpreter.
func switchNote(it Interpreter, decls bool, failed string, carried []goeval.CarriedVar, lost []goeval.LostVar) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Interpreter with %s compiled in.", it.About)
	if decls {
		b.WriteString(" Declarations of earlier cells replayed")
		if failed != "" {
			b.WriteString(" (" + failed + ")")
		}
		b.WriteString(".")
	}
	lostNames := map[string]bool{}
	for _, l := range lost {
		lostNames[l.Name] = true
	}
	var kept []string
	for _, v := range carried {
		if !lostNames[v.Name] {
			kept = append(kept, v.Name)
		}
	}
	if len(kept) > 0 {
		b.WriteString(" Variables carried over: " + strings.Join(kept, ", ") + ".")
	}
	if len(lost) > 0 {
		b.WriteString(" Not carried over (re-run the cells that set them):")
		for i, l := range lost {
			if i > 0 {
				b.WriteString(";")
			}
			b.WriteString(" " + l.Name + " (" + l.Why + ")")
		}
		b.WriteString(".")
	}
	return b.String()
}

// importError is a cell whose imports could not be brought in.
func importError(cell int, at goeval.Import, need []string, err error) *Error {
	pos := fmt.Sprintf("cell[%d]", cell)
	if at.Line > 0 {
		pos = fmt.Sprintf("cell[%d]:%d:%d", cell, at.Line, at.Col)
	}
	what := "rebuilding the interpreter"
	if len(need) > 0 {
		what = "cannot import " + strings.Join(need, ", ")
	}
	return &Error{Name: cellio.ImportError, Value: pos + ": " + what + ": " + err.Error() + "\nnothing of the session was lost: the interpreter is the one before this cell"}
}

// DropPackages goes back to the interpreter without packages compiled in
// (%reset --all, after the session's requirements were forgotten). The
// declarations, if any, are replayed.
func (e *Engine) DropPackages() {
	e.ops.Lock()
	defer e.ops.Unlock()
	if len(e.pkgs) == 0 {
		return
	}
	e.command, e.pkgs, e.interpKey = e.cfg.Command, nil, ""
	e.restart()
}

// Packages returns the packages compiled into the running interpreter.
func (e *Engine) Packages() []string {
	e.ops.Lock()
	defer e.ops.Unlock()
	return append([]string(nil), e.pkgs...)
}

// progress is the line a cell shows while an interpreter is built: one
// display updated in place, with the time so far.
type progress struct {
	e     *Engine
	id    string
	what  string
	start time.Time

	mu    sync.Mutex
	line  string
	ended bool
	quit  chan struct{}
}

// newProgress shows the progress line and ticks it every second.
func (e *Engine) newProgress(pkgs []string) *progress {
	p := &progress{e: e, id: fmt.Sprintf("mpigo-interp-%d", e.next()), what: strings.Join(pkgs, ", "), start: time.Now(), quit: make(chan struct{})}
	p.set("resolving modules")
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-t.C:
				p.show()
			}
		}
	}()
	return p
}

// set changes what the line says the build is doing.
func (p *progress) set(line string) {
	p.mu.Lock()
	p.line = line
	p.mu.Unlock()
	p.show()
}

func (p *progress) show() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	secs := int(time.Since(p.start).Seconds())
	p.e.show(textDisplay(p.id, fmt.Sprintf("Bringing %s into the interpreter: %s… %d s", p.what, p.line, secs)))
}

// done replaces the line with a last word.
func (p *progress) done(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	p.e.show(textDisplay(p.id, text))
}

// fail removes the line: the cell's error says what happened.
func (p *progress) fail() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	p.e.show(textDisplay(p.id, "Bringing "+p.what+" into the interpreter failed (see the error below)."))
}

// stop stops the ticking.
func (p *progress) stop() { close(p.quit) }

// textDisplay is a plain-text display with an id, updated in place.
func textDisplay(id, text string) display.Message {
	return display.Message{Data: map[string]any{"text/plain": text}, DisplayID: id, Update: true}
}

// interruptedError is a cell interrupted while its packages were brought
// in; the interpreter is the one before the cell.
func interruptedError() *Error {
	return &Error{Name: cellio.Interrupted, Value: "interrupted while the cell's packages were brought in; nothing of the session was lost"}
}
