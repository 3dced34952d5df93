// Package goeval runs notebook cells of Go in an in-process yaegi
// interpreter and keeps their state from cell to cell.
//
// A cell may mix imports, declarations (func, type, const, var) and
// statements in any order. Eval evaluates its imports first, then all its
// declarations at once, then its statements, each group compiled from the
// whole cell with the other parts blanked out, so that positions in errors
// and panics are the cell's own lines and columns ("cell[3]:2:5"). When a
// declaration uses a variable that a statement of the same cell defines,
// the cell runs in source order instead (runs of declarations and of
// statements).
//
// Besides what yaegi does by itself, a Session
//   - adds missing imports of the standard library and display, as
//     goimports would (see MissingImports);
//   - keeps a declaration store (Decls) of every import and top-level
//     declaration, for %mpirun to compile into programs;
//   - rebuilds the interpreter from the store when a cell redefines a type, a
//     method or an import name, which yaegi cannot do in place, and compiles
//     again the stored functions that use a redefined function or variable,
//     which would otherwise keep using the old one;
//   - rewrites go statements so that a panic in a goroutine is reported on
//     standard error instead of killing the process;
//   - rewrites the top level of cells around forms yaegi's REPL mode cannot
//     compile (comma-ok defines, defines from generic calls, type switches,
//     return, defer: see fixTopLevel), and range loops over integers, which
//     yaegi v0.16 does not know (see rewriteRangeInt);
//   - gives cells today's Go where yaegi's is older or wrong: Go 1.22
//     per-iteration loop variables (loopvar.go), the built-ins min, max and
//     clear (builtins.go), interpreted generic slices, maps, cmp and iter
//     (stdsrc.go), and, from a go/types check of the cells that need it,
//     range over functions and written-out inferred type arguments
//     (typed.go); it also corrects yaegi where it silently differs from the
//     compiler: bare breaks of selects (selectbreak.go), key-only ranges
//     over strings, loops with only an init statement, the keys of ranges
//     over strings with invalid UTF-8, receives as operands of && and ||,
//     type switches with cases of compiled interfaces (semantics_*.go),
//     what defer and go statements evaluate at once and the closures
//     deferred calls run (deferargs.go), assignments of several values
//     (multiassign.go),
//     the initialization order of package-level variables (initorder.go),
//     constant comparisons (typed_consts.go), errors.Is, As and Unwrap with
//     the cells' error types (typed_errors.go), and it stops a cell that
//     would store a nil pointer of its types in an interface of a compiled
//     package, which yaegi makes a nil interface;
//   - turns compile errors, panics (with a traceback of cell lines), os.Exit
//     and log.Fatal (which end the cell at once, deferred calls unrun: see
//     exit.go) and interrupts into *Error values, keeping the session's
//     state;
//   - shows the value of a final bare expression (Value);
//   - makes the packages compiled into the binary and registered (Register)
//     importable like the standard library, and refuses with a clear error
//     their generic functions and types, which yaegi cannot use
//     (compiled.go);
//   - encodes its variables to carry them into another interpreter
//     (ExportVars, ImportVars: carry.go).
//
// Only yaegi's restricted standard library (stdlib.Symbols), display, the
// packages compiled into the binary and registered (Register) and a hidden
// helper package are available to cells.
//
// Known limitations (yaegi v0.16): stored functions see a variable that the
// cell's statements redefine with := only from the next cell on; a variable
// initialized from a comma-ok receive, or from a generic call whose result
// type must be inferred from constants, cannot be defined at the top level
// (the error says how to write it); as with fmt in yaegi, the elements of a
// composite value are shown without the methods of their interpreted types;
// a panic in a goroutine that compiled code starts (time.AfterFunc with an
// interpreted function, for instance) still ends the process, as does a
// stack overflow; a call that blocks in compiled code (time.Sleep, I/O) is
// not interrupted before it returns; a range over an integer that is not
// visibly one (a call's result, a field) does not compile; a recover at the
// top level of a cell does not stop the cell's panic.
package goeval

import (
	"fmt"
	"go/ast"
	"go/parser"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing/fstest"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/goeval/fmtview"
	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// Options configure a Session.
type Options struct {
	// Stdin, Stdout and Stderr are the standard streams of cells; nil means
	// the process's. They are files because yaegi only gives os.Stdin,
	// os.Stdout and os.Stderr to cells when they are.
	Stdin, Stdout, Stderr *os.File
	// Env is the initial environment of cells; os.Environ() when nil.
	Env []string
	// MPI lets cells use package mpi, which must then be registered
	// (Register): the session runs on an MPI rank (%px), where the binding
	// is compiled in, instead of in the notebook's interpreter, which cannot
	// call MPI.
	MPI bool
}

// Session is an interpreter session: the state that cells build up. Its
// methods may be called from several goroutines; they run one at a time,
// except that Complete and Inspect do not wait for a running cell (they
// then know the standard library and the code given, not the session).
type Session struct {
	opts Options
	pipe *errPipe // the interpreter's standard error

	mu      sync.Mutex
	ip      *interp.Interpreter
	store   *declStore
	imports map[string]string // name → path of the packages imported in ip
	vars    []string          // variables defined by statements, in order
	varSet  map[string]bool
	docs    *docCache
	// finished tells when the statements of a cell have stopped running,
	// which an interrupted cell may do after Eval returned.
	finished *tracker
	// typed is the state of the type checks (see lowerTyped), created at
	// first use.
	typed *typeState

	deferMu sync.Mutex
	defers  []func() // the cell's top-level defers, registered as it runs

	exit exitState // os.Exit in cells (exit.go)

	// last is the value of the final expression of the last cell, for
	// LastValue (%px --out); finalName names it when the expression is a
	// variable, whose type the type check knows, and finalType is the type
	// a composite literal spells out.
	last      reflect.Value
	finalName string
	finalType string

	// dbg is the debug session of the cell that EvalDebug runs, nil
	// otherwise: execute's only test when not debugging (debug.go).
	dbg *DebugSession
	// progs are the programs compiled from a single cell in progsIP, and
	// srcs the code of every cell, kept so that a debugger attached later
	// finds the functions of cells run before it by their paths (debug.go).
	progs   []cellProg
	progsIP *interp.Interpreter
	srcs    map[int]string
}

// cellProg is a program compiled from one cell's code.
type cellProg struct {
	cell int
	prog *interp.Program
}

// noteProg records a program compiled from cell cellNo alone, before it
// runs. Programs of an earlier interpreter are dropped with it.
func (s *Session) noteProg(cellNo int, prog *interp.Program) {
	if s.progsIP != s.ip {
		s.progs, s.progsIP = nil, s.ip
	}
	s.progs = append(s.progs, cellProg{cellNo, prog})
}

// cellProgs returns the programs compiled from single cells in the current
// interpreter (none yet after a rebuild, whose program replays them all).
func (s *Session) cellProgs() []cellProg {
	if s.progsIP != s.ip {
		return nil
	}
	return s.progs
}

// addDefer registers a top-level defer of the running cell.
func (s *Session) addDefer(f func()) {
	s.deferMu.Lock()
	s.defers = append(s.defers, f)
	s.deferMu.Unlock()
}

// runDefers runs the top-level defers of the cell, last first; a panic in
// one is the cell's error.
func (s *Session) runDefers() (err error) {
	for {
		s.deferMu.Lock()
		n := len(s.defers)
		if n == 0 {
			s.deferMu.Unlock()
			return err
		}
		f := s.defers[n-1]
		s.defers = s.defers[:n-1]
		s.deferMu.Unlock()
		if xerr := s.exit.guarded(func() {
			defer func() {
				if r := recover(); r != nil && err == nil {
					err = panicError(r)
				}
			}()
			f()
		}); xerr != nil {
			return xerr
		}
	}
}

// Value is the value of a cell's final bare expression.
type Value struct {
	// Text is its text/plain representation: strconv.Quote for a string (so
	// "" and " " are visible, as gonb shows them), fmt's %v for anything
	// else (with the String and Error methods of the session's types when
	// the expression is a variable, a selector or an index).
	Text string
	// Ok is false when the cell has nothing to show: no final bare
	// expression, or a call of a function that returns no value or several.
	Ok bool
}

// Error is a cell that failed. Each kind has one constructor:
// newSyntaxError, newCompileError, newImportError, panicError, exitError
// and interrupted.
type Error struct {
	// Name is the kind: cellio.SyntaxError, CompileError, ImportError,
	// Panic, Exit or Interrupted.
	Name cellio.Kind
	// Value is the message: "cell[3]:2:5: undefined: foo", the panic value,
	// "exit status 2", "cell interrupted".
	Value string
	// Line and Col locate a syntax or compile error in the cell that was
	// evaluated (0 when the error is elsewhere, in a declaration replayed from
	// an earlier cell for instance). Col counts bytes, as Go does.
	Line, Col int
	// Traceback is what a notebook shows: "Name: Value", then for a panic
	// the interpreter's frames, innermost first ("cell[2]:2:5: main.g(...)").
	Traceback []string
}

// Error implements error.
func (e *Error) Error() string { return string(e.Name) + ": " + e.Value }

// newSyntaxError is the error of a cell that does not parse: msg, at line
// and col of the cell (0 when elsewhere). It has no traceback: front ends
// show "SyntaxError: msg".
func newSyntaxError(msg string, line, col int) *Error {
	return &Error{Name: cellio.SyntaxError, Value: msg, Line: line, Col: col}
}

// newCompileError is the error of a cell that does not compile: msg, at
// line and col of the cell (0 when elsewhere).
func newCompileError(msg string, line, col int) *Error {
	return &Error{Name: cellio.CompileError, Value: msg, Line: line, Col: col, Traceback: []string{string(cellio.CompileError) + ": " + msg}}
}

// newImportError is the error of a cell that imports path, which the
// interpreter does not have, at line and col of cell cellNo.
func newImportError(cellNo int, path string, line, col int) *Error {
	msg := fmt.Sprintf("cell[%d]:%d:%d: package %s is not available in mpigo cells: only the standard library, %s and the packages compiled into the interpreter can be imported", cellNo, line, col, path, displayPath)
	return &Error{Name: cellio.ImportError, Value: msg, Line: line, Col: col, Traceback: []string{string(cellio.ImportError) + ": " + msg}}
}

// New starts a session.
func New(opts Options) (*Session, error) {
	var dst io.Writer = os.Stderr
	if opts.Stderr != nil {
		dst = opts.Stderr
	}
	pipe, err := newErrPipe(dst)
	if err != nil {
		return nil, err
	}
	s := &Session{opts: opts, pipe: pipe, docs: newDocCache(), finished: newTracker()}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	if err := s.reset(env); err != nil {
		pipe.close()
		return nil, err
	}
	return s, nil
}

// Close releases the session's resources (the standard error pipe and its
// copier goroutine). The session must not be used afterwards.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.pipe.close(); err != nil {
		return fmt.Errorf("goeval: closing the session: %w", err)
	}
	return nil
}

// Reset forgets every declaration and variable: the next cell starts with a
// fresh interpreter. The environment is kept.
func (s *Session) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reset(s.environ())
}

func (s *Session) reset(env []string) error {
	ip, err := s.newInterp(env)
	if err != nil {
		return err
	}
	s.ip = ip
	s.store = newStore()
	s.imports = map[string]string{}
	s.vars, s.varSet = nil, map[string]bool{}
	return nil
}

// newInterp creates an interpreter with the restricted standard library,
// display, the registered compiled packages and the hidden helper package imported as rtName (and fmt as
// fmtName, to show values of types with methods).
func (s *Session) newInterp(env []string) (*interp.Interpreter, error) {
	o := interp.Options{
		GoPath:               os.DevNull, // no source packages
		SourcecodeFilesystem: fstest.MapFS{},
		Env:                  env,
		Stderr:               s.pipe.w,
	}
	if s.opts.Stdin != nil {
		o.Stdin = s.opts.Stdin
	}
	if s.opts.Stdout != nil {
		o.Stdout = s.opts.Stdout
	}
	ip := interp.New(o)
	for _, x := range []interp.Exports{stdlib.Symbols, s.exitSymbols(s.pipe.w), displaySymbols, registeredExports(), s.rtSymbols()} {
		if err := ip.Use(x); err != nil {
			return nil, fmt.Errorf("goeval: loading symbols: %w", err)
		}
	}
	if err := loadStdSources(ip); err != nil {
		return nil, fmt.Errorf("goeval: loading the generic standard library: %w", err)
	}
	src := declPrefix + "import " + rtName + " " + strconv.Quote(rtPath) + "\nimport " + fmtName + ` "fmt"`
	f, err := parser.ParseFile(ip.FileSet(), srcName, src, 0)
	if err == nil {
		var prog *interp.Program
		if prog, err = compileAST(ip, f); err == nil {
			_, err = ip.Execute(prog)
		}
	}
	if err == nil {
		// The end-of-execution hook (see tracker).
		f, err = parser.ParseFile(ip.FileSet(), srcName, stmtPrefix+"defer "+rtName+".Finished()\n}", 0)
		if err == nil {
			var prog *interp.Program
			if prog, err = compileAST(ip, wrapperBody(f)); err == nil {
				_, err = ip.Execute(prog)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("goeval: importing the helper package: %w", err)
	}
	return ip, nil
}

// rtSymbols is the helper package for rewritten code.
func (s *Session) rtSymbols() interp.Exports {
	return interp.Exports{rtPath + "/rt": {
		"GoPanic":  reflect.ValueOf(s.pipe.goPanic),
		"StopCell": reflect.ValueOf(stopCell{}),
		"Finished": reflect.ValueOf(s.finished.finish),
		"Defer":    reflect.ValueOf(s.addDefer),
		// Views of printed values of the session's types (typed_fmt.go).
		"ViewScalar":  reflect.ValueOf(fmtview.Scalar),
		"ViewStruct":  reflect.ValueOf(fmtview.Struct),
		"ViewList":    reflect.ValueOf(fmtview.List),
		"ViewMap":     reflect.ValueOf(fmtview.Map),
		"ViewPointer": reflect.ValueOf(fmtview.Pointer),
		"ViewNil":     reflect.ValueOf(fmtview.Nil),
		"ViewValues":  reflect.ValueOf(fmtview.Values),
		"ViewAppend":  reflect.ValueOf(fmtview.Append),
		"ViewMethods": reflect.ValueOf((*fmtview.Methods)(nil)),
		"NextRune":    reflect.ValueOf(nextRune),
		"TypeCase":    reflect.ValueOf(typeCase),
		"CaseEnd":     reflect.ValueOf(&markEnd).Elem(),
		"CaseNil":     reflect.ValueOf(&markNil).Elem(),
		"CaseAny":     reflect.ValueOf(&markAny).Elem(),

		"NilInterface": reflect.ValueOf(nilInterface),
		"CheckIndex":   reflect.ValueOf(checkIndex),
		"CheckSlice":   reflect.ValueOf(checkSlice),
		"Recovered":    reflect.ValueOf(recovered),
	},
		// yaegi hands an interface value of a session type with a String or
		// Format method to these as a wrapper with the method, as to fmt.
		".": {"MapTypes": reflect.ValueOf(map[reflect.Value][]reflect.Type{
			reflect.ValueOf(fmtview.Values): stdlib.MapTypes[reflect.ValueOf(fmt.Println)],
			reflect.ValueOf(fmtview.Append): stdlib.MapTypes[reflect.ValueOf(fmt.Println)],
		})},
	}
}

// compileAST compiles n, turning an internal panic of yaegi into an error.
func compileAST(ip *interp.Interpreter, n ast.Node) (prog *interp.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaegi internal error (%v): the interpreter cannot compile a form of this code", r)
		}
	}()
	return ip.CompileAST(n)
}

// Decls returns the declaration store: every import and top-level
// declaration evaluated so far, latest definition of each name, in
// first-definition order.
func (s *Session) Decls() []Decl {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Decl
	for _, e := range s.store.list() {
		d := e.Decl
		d.Names = append([]string(nil), e.Decl.Names...)
		out = append(out, d)
	}
	return out
}

// Setenv sets (or with unset, removes) an environment variable for cells
// and for the process, so that compiled code and child processes see it too.
func (s *Session) Setenv(key, value string, unset bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	syms := s.ip.Symbols("os")["os"]
	if unset {
		if f, ok := syms["Unsetenv"].Interface().(func(string) error); ok {
			f(key)
		}
		if err := os.Unsetenv(key); err != nil {
			return fmt.Errorf("goeval: unsetting %s: %w", key, err)
		}
		return nil
	}
	if f, ok := syms["Setenv"].Interface().(func(string, string) error); ok {
		f(key, value)
	}
	if err := os.Setenv(key, value); err != nil {
		return fmt.Errorf("goeval: setting %s: %w", key, err)
	}
	return nil
}

// environ returns the environment of cells.
func (s *Session) environ() []string {
	if s.ip == nil {
		return os.Environ()
	}
	if f, ok := s.ip.Symbols("os")["os"]["Environ"].Interface().(func() []string); ok {
		env := f()
		sort.Strings(env)
		return env
	}
	return os.Environ()
}

// Chdir changes the working directory of cells (the process's).
func (s *Session) Chdir(dir string) error {
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("goeval: %w", err)
	}
	return nil
}
