package goeval

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/traefik/yaegi/interp"
)

// Eval runs one cell; cellNo (the execution count) names it in positions.
// A failure is an *Error; the session's state survives it. Cancelling ctx
// interrupts the cell. Everything the cell wrote to standard error has been
// forwarded to Options.Stderr when Eval returns, and the cell's top-level
// defers have run (unless it called os.Exit: see exit.go); the session's
// own notes (a rebuild, functions that no longer compile) are lines on
// standard error starting with "mpigo: ".
// Standard error must be read while a cell runs.
func (s *Session) Eval(ctx context.Context, cellNo int, src string) (Value, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evalCell(ctx, cellNo, src)
}

// evalCell is Eval with s.mu held (EvalDebug shares it).
func (s *Session) evalCell(ctx context.Context, cellNo int, src string) (Value, error) {
	if ctx.Err() != nil {
		return Value{}, interrupted()
	}
	s.exit.beginCell()
	s.last, s.finalName, s.finalType = reflect.Value{}, "", ""
	if s.srcs == nil {
		s.srcs = map[int]string{}
	}
	s.srcs[cellNo] = src
	v, err := s.eval(ctx, cellNo, strings.ReplaceAll(src, "\r\n", "\n"))
	if e, ok := err.(*Error); (!ok || e.Name != cellio.Interrupted) && !s.exit.exited() {
		if derr := s.runDefers(); err == nil && derr != nil {
			v, err = Value{}, derr
		}
	}
	s.deferMu.Lock()
	s.defers = nil
	s.deferMu.Unlock()
	if code, exited := s.exit.endCell(); exited {
		v, err = Value{}, exitError(code)
	}
	frames := s.pipe.sync()
	var e *Error
	if errors.As(err, &e) && e.Name == cellio.Panic {
		e.Traceback = append(e.Traceback, frames...)
	}
	return v, err
}

func (s *Session) eval(ctx context.Context, cellNo int, src string) (Value, error) {
	c, err := analyzeCell(s.ip.FileSet(), cellNo, src, s.isVar)
	if err != nil {
		return Value{}, err
	}
	// Names the cell redefines: functions compiled before keep using the
	// old definitions in yaegi, so they are compiled again afterwards.
	var redefined []string
	defer func() {
		if len(redefined) > 0 {
			s.refreshDependents(c, redefined)
		}
	}()
	newImports, rebuildWhy, err := s.planImports(c)
	if err != nil {
		return Value{}, err
	}
	rebuildWhy = append(rebuildWhy, s.redefinitions(c)...)
	if len(rebuildWhy) > 0 {
		if err := s.rebuild(ctx, c, rebuildWhy); err != nil {
			return Value{}, err
		}
	} else {
		if err := s.evalImports(ctx, s.ip, cellNo, newImports); err != nil {
			return Value{}, err
		}
		storeImports(s.store, c)
		s.imports = importsOf(s.store)
	}

	steps, err := s.steps(c, len(rebuildWhy) > 0)
	if err != nil {
		return Value{}, err
	}
	if c.hasMain {
		// The cell's func main runs after its statements.
		if len(steps) == 0 || steps[len(steps)-1].g != groupStmt {
			f, err := parser.ParseFile(s.ip.FileSet(), srcName, stmtPrefix+directive(cellNo, 1, 1)+"\n}", 0)
			if err != nil {
				return Value{}, syntaxError(cellNo, err)
			}
			steps = append(steps, step{g: groupStmt, file: f})
		}
		body := wrapperBody(steps[len(steps)-1].file)
		body.List = append(body.List, &ast.ExprStmt{X: &ast.CallExpr{Fun: &ast.Ident{NamePos: body.Rbrace, Name: mainName}, Lparen: body.Rbrace, Rparen: body.Rbrace}})
	}
	var res reflect.Value
	for i, st := range steps {
		last := i == len(steps)-1
		if st.g == groupDecl {
			if err := s.evalDecls(ctx, c, st, &redefined); err != nil {
				return Value{}, err
			}
			continue
		}
		body := wrapperBody(st.file)
		defines := definedNames(body.List)
		// Before fixTopLevel, which needs the type arguments written out
		// and handles the returns the lowering leaves at the top level.
		if err := s.lowerTyped(s.ip.FileSet(), body, c); err != nil {
			return Value{}, err
		}
		if err := s.fixTopLevel(s.ip.FileSet(), c, body); err != nil {
			return Value{}, err
		}
		if err := s.rewrite(s.ip.FileSet(), body, c); err != nil {
			return Value{}, err
		}
		prog, err := compileAST(s.ip, body)
		if err != nil {
			return Value{}, s.compileError(cellNo, err)
		}
		for _, n := range defines {
			if e := s.store.lookup(n); s.varSet[n] || e != nil && e.Kind == "var" {
				redefined = append(redefined, n)
			}
			if !s.varSet[n] {
				s.varSet[n] = true
				s.vars = append(s.vars, n)
			}
		}
		s.noteDefines(c, defines)
		var stmtDecls []declInfo
		for _, d := range c.decls {
			for _, ch := range st.chunks {
				if d.stmt && ch.group == groupStmt && d.off >= ch.start && d.off < ch.end {
					stmtDecls = append(stmtDecls, d)
					break
				}
			}
		}
		storeDecls(s.store, c.no, stmtDecls, c.generics)
		seq := s.finished.begin()
		s.noteProg(cellNo, prog)
		r, err := s.execute(ctx, cellNo, prog)
		if e, ok := err.(*Error); ok && e.Name == cellio.Interrupted && !s.finished.wait(seq, InterruptGrace) {
			fmt.Fprintf(s.pipe.w, "mpigo: the interrupted cell is still in a call that cannot be interrupted (time.Sleep, I/O...); it stops when the call returns\n")
		}
		if err == errStopped {
			return Value{}, nil
		}
		if err != nil {
			return Value{}, err
		}
		if last {
			res = r
		}
	}
	final := c.final
	if c.hasMain || len(steps) == 0 || steps[len(steps)-1].g != groupStmt {
		final = nil
	}
	show, callee := s.showRule(c, final)
	if show == showCallee {
		show = s.calleeShows(callee)
	}
	if show != showYes {
		return Value{}, nil
	}
	var text string
	if err := s.exit.guarded(func() { text = s.showText(final, c.finalSrc, s.finalView(c, final), res) }); err != nil {
		return Value{}, err
	}
	s.last = res
	if id, ok := final.(*ast.Ident); ok {
		s.finalName = id.Name
	}
	s.finalType = literalType(final)
	return Value{Text: text, Ok: true}, nil
}

// literalType is the type a final expression spells out: T of a
// composite literal T{...} (or *T of &T{...}) with a named type; "" for
// any other expression. reflect cannot name a struct type of the session,
// the source can.
func literalType(e ast.Expr) string {
	ptr := ""
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		ptr, e = "*", u.X
	}
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return ""
	}
	switch t := cl.Type.(type) {
	case *ast.Ident:
		return ptr + t.Name
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok {
			return ptr + x.Name + "." + t.Sel.Name
		}
	}
	return ""
}

// step is one compilation of a cell: its declarations or its statements,
// or in source order, a run of consecutive declarations or statements.
type step struct {
	g      group
	file   *ast.File
	chunks []chunk // the cell's chunks it holds
}

// steps returns the compilations of a cell: all its declarations, then all
// its statements; but when one of its declarations uses a variable that
// one of its statements defines, runs of consecutive declarations and of
// consecutive statements in source order. After a rebuild (which evaluated
// the declarations), only the statements, parsed again.
func (s *Session) steps(c *cellCode, rebuilt bool) ([]step, error) {
	var out []step
	if rebuilt {
		if c.stmtFile != nil {
			f, err := parseGroup(s.ip.FileSet(), c.src, c.chunks, groupStmt, c.no)
			if err != nil {
				return nil, syntaxError(c.no, err)
			}
			out = append(out, step{g: groupStmt, file: f, chunks: c.chunks})
		}
		return out, nil
	}
	if !s.needsSourceOrder(c) {
		if c.declFile != nil {
			out = append(out, step{g: groupDecl, file: c.declFile, chunks: c.chunks})
		}
		if c.stmtFile != nil {
			out = append(out, step{g: groupStmt, file: c.stmtFile, chunks: c.chunks})
		}
		return out, nil
	}
	var run []chunk
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		g := run[0].group
		f, err := parseGroup(s.ip.FileSet(), c.src, run, g, c.no)
		if err != nil {
			return syntaxError(c.no, err)
		}
		out = append(out, step{g: g, file: f, chunks: run})
		run = nil
		return nil
	}
	for _, ch := range c.chunks {
		if ch.group != groupDecl && ch.group != groupStmt {
			continue
		}
		if len(run) > 0 && run[0].group != ch.group {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		run = append(run, ch)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// needsSourceOrder reports whether a declaration of the cell uses a
// variable that is new in the session and that a statement of the cell
// defines.
func (s *Session) needsSourceOrder(c *cellCode) bool {
	fresh := map[string]bool{}
	for _, n := range c.defines {
		if !s.varSet[n] && s.store.lookup(n) == nil {
			fresh[n] = true
		}
	}
	if len(fresh) == 0 {
		return false
	}
	for _, d := range c.decls {
		if d.stmt {
			continue
		}
		for n := range identRefs(d.src) {
			if fresh[n] {
				return true
			}
		}
	}
	return false
}

// evalDecls compiles, stores and runs a step of declarations.
func (s *Session) evalDecls(ctx context.Context, c *cellCode, st step, redefined *[]string) error {
	fset := s.ip.FileSet()
	if err := s.checkDeclInferred(fset, c, st.file); err != nil {
		return err
	}
	var decls []declInfo
	for _, d := range c.decls {
		for _, ch := range st.chunks {
			if ch.group == groupDecl && d.off >= ch.start && d.off < ch.end {
				decls = append(decls, d)
				break
			}
		}
	}
	renameMain(st.file)
	if err := orderVarInit(fset, st.file); err != nil {
		return s.compileError(c.no, err)
	}
	if err := s.rewrite(fset, st.file, c); err != nil {
		return err
	}
	prog, err := compileAST(s.ip, st.file)
	if err != nil {
		s.restore(decls)
		return s.compileError(c.no, err)
	}
	for _, d := range decls {
		if d.kind != "type" && !strings.Contains(d.key, ".") {
			for _, n := range d.names {
				if e := s.store.lookup(n); e != nil && e.Kind != "import" {
					*redefined = append(*redefined, n)
				}
			}
		}
	}
	before := s.store.clone()
	storeDecls(s.store, c.no, decls, c.generics)
	s.noteProg(c.no, prog)
	if _, err = s.execute(ctx, c.no, prog); err != nil {
		if e, ok := err.(*Error); ok && e.Name == cellio.CompileError {
			s.store = before // nothing was evaluated
		}
		return err
	}
	// Functions that use what was redefined are compiled again now, so that
	// the cell's statements use them up to date.
	if len(*redefined) > 0 {
		s.refreshDependents(c, *redefined)
		*redefined = nil
	}
	return nil
}

// restore compiles again the stored definitions of the functions that a
// declaration step that failed to compile redefined: yaegi has already
// replaced them with the broken ones.
func (s *Session) restore(decls []declInfo) {
	for _, d := range decls {
		if e := s.store.get(d.key); e != nil && e.Kind == "func" && !strings.Contains(e.key, ".") && e.Name != "init" {
			s.recompile(e)
		}
	}
}

// execute runs a compiled group.
func (s *Session) execute(ctx context.Context, cellNo int, prog *interp.Program) (reflect.Value, error) {
	xctx, end, err := s.exit.section(ctx)
	if err != nil {
		return reflect.Value{}, err
	}
	var res reflect.Value
	if s.dbg == nil {
		res, err = s.ip.ExecuteWithContext(xctx, prog)
	} else {
		res, err = s.dbg.execute(xctx, s, prog) // debug.go
	}
	if xerr := end(); xerr != nil {
		return reflect.Value{}, xerr
	}
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return res, interrupted()
	}
	var p interp.Panic
	if errors.As(err, &p) {
		if isStop(p.Value) {
			return res, errStopped
		}
		return res, panicError(p.Value)
	}
	return res, s.compileError(cellNo, err)
}

// panicError converts a panic value into a cell error.
func panicError(v any) *Error {
	text := panicText(v)
	return &Error{Name: cellio.Panic, Value: text, Traceback: []string{string(cellio.Panic) + ": " + text}}
}

// errStopped is returned by execute for a cell that ran a top-level return.
var errStopped = errors.New("cell stopped by return")

// isStop reports whether a panic value is that of a top-level return.
func isStop(v any) bool {
	if rv, ok := v.(reflect.Value); ok && rv.IsValid() && rv.CanInterface() {
		v = rv.Interface()
	}
	_, ok := v.(stopCell)
	return ok
}

// InterruptGrace is how long Eval waits for an interrupted cell to stop
// before it says the cell goes on in the background (a call that cannot be
// interrupted, such as time.Sleep). A supervisor that kills the
// interpreter when a cell does not stop after an interrupt must wait well
// longer (package worker derives its grace from this one): at 500 ms here
// against 800 ms there, a busy machine sometimes crossed that line with a
// cell that was only sleeping.
const InterruptGrace = 200 * time.Millisecond

// tracker tells when an execution has finished. yaegi keeps the defers of
// the top level of cells in its global frame and runs them all at the end
// of every later execution: the session registers one, at its start,
// `defer __mpigo_rt.Finished()`, which therefore marks the end of each
// execution, however it ends. (It is also why a cell's own top-level defers
// are rewritten: see fixTopLevel.)
type tracker struct {
	mu      sync.Mutex
	cond    *sync.Cond
	current uint64 // the execution running
	ended   uint64 // the last execution that finished
}

func newTracker() *tracker {
	t := &tracker{}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// begin numbers a new execution, which must start right after.
func (t *tracker) begin() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.current++
	return t.current
}

// finish records that the current execution has finished; the deferred
// hook calls it.
func (t *tracker) finish() {
	t.mu.Lock()
	t.ended = t.current
	t.cond.Broadcast()
	t.mu.Unlock()
}

// wait waits up to d for execution n to finish and reports whether it did.
func (t *tracker) wait(n uint64, d time.Duration) bool {
	timer := time.AfterFunc(d, func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.ended < n && time.Now().Before(deadline) {
		t.cond.Wait()
	}
	return t.ended >= n
}

// errorPos matches the position that starts an interpreter error message.
var errorPos = regexp.MustCompile(`^cell\[(\d+)\]:(\d+):(\d+): `)

// interrupted is the error of a cancelled cell.
func interrupted() *Error {
	const msg = "cell interrupted"
	return &Error{Name: cellio.Interrupted, Value: msg, Traceback: []string{string(cellio.Interrupted) + ": " + msg}}
}

// compileError converts an interpreter error into a cell error.
func (s *Session) compileError(cellNo int, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := cleanPositions(err.Error())
	e = newCompileError(msg, 0, 0)
	if m := errorPos.FindStringSubmatch(msg); m != nil && m[1] == strconv.Itoa(cellNo) {
		e.Line, _ = strconv.Atoi(m[2])
		e.Col, _ = strconv.Atoi(m[3])
	}
	return e
}

// planImports adds the missing imports of a cell to c.imports, checks that
// every import is available and returns those to evaluate; rebuild names the
// imports that bind a name already bound to another package.
func (s *Session) planImports(c *cellCode) (eval []importSpec, rebuild []string, err error) {
	var files []*ast.File
	for _, f := range []*ast.File{c.declFile, c.stmtFile} {
		if f != nil {
			files = append(files, f)
		}
	}
	kind := s.kindOf(c)
	if !s.opts.MPI {
		if err := mpiOutsideMagic(s.ip.FileSet(), c, files, kind); err != nil {
			return nil, nil, err
		}
	}
	for _, p := range missingPackages(files, func(name string) bool { return kind(name) != "" }, nil) {
		c.imports = append(c.imports, importSpec{name: p.name, path: p.path})
		c.declared[p.name] = "import"
	}
	if err := s.genericOfCompiled(c, files, kind); err != nil {
		return nil, nil, err
	}
	for _, spec := range c.imports {
		if spec.path == mpiPath && !s.opts.MPI {
			return nil, nil, mpiError(c.no, spec.line, spec.col)
		}
		if packages().byPath[spec.path] == nil {
			return nil, nil, newImportError(c.no, spec.path, spec.line, spec.col)
		}
		old, ok := s.imports[spec.name]
		switch {
		case spec.name == "_" || spec.name == ".":
			eval = append(eval, spec)
		case !ok:
			eval = append(eval, spec)
		case old != spec.path:
			rebuild = append(rebuild, "import "+spec.name)
		}
	}
	return eval, rebuild, nil
}

// evalImports evaluates import declarations in ip.
func (s *Session) evalImports(ctx context.Context, ip *interp.Interpreter, cellNo int, specs []importSpec) error {
	if len(specs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(declPrefix)
	for _, sp := range specs {
		line, col, cell := sp.line, sp.col, cellNo
		if sp.fromCell != 0 {
			cell = sp.fromCell
		}
		if line == 0 {
			line, col = 1, 1
		}
		b.WriteString(directive(cell, line, col) + sp.src() + "\n")
	}
	f, err := parser.ParseFile(ip.FileSet(), srcName, b.String(), 0)
	if err != nil {
		return syntaxError(cellNo, err)
	}
	prog, err := compileAST(ip, f)
	if err != nil {
		return s.compileError(cellNo, err)
	}
	if _, err := ip.ExecuteWithContext(ctx, prog); err != nil {
		return s.compileError(cellNo, err)
	}
	return nil
}

// storeImports records the imports of a cell in st.
func storeImports(st *declStore, c *cellCode) {
	for _, sp := range c.imports {
		e := &storeEntry{Decl: Decl{Kind: "import", Name: sp.name, Src: sp.src(), Cell: c.no, Line: sp.line}, key: sp.key(), out: -1, path: sp.path, explicit: sp.explicit}
		if sp.name != "_" && sp.name != "." {
			e.names = []string{sp.name}
		}
		st.put(e)
	}
}

// importsOf returns the packages a store imports, by name.
func importsOf(st *declStore) map[string]string {
	m := map[string]string{}
	for _, e := range st.list() {
		if e.Kind == "import" && e.Name != "_" && e.Name != "." {
			m[e.Name] = e.path
		}
	}
	return m
}

// storeDecls records declarations of cell cellNo in st.
func storeDecls(st *declStore, cellNo int, decls []declInfo, generics map[string]*ast.FuncType) {
	for _, d := range decls {
		e := &storeEntry{Decl: Decl{Kind: d.kind, Name: d.names[0], Src: d.src, Cell: cellNo, Line: d.line}, key: d.key, names: d.names, out: d.out, sig: generics[d.key], refs: identRefs(d.src)}
		if strings.Contains(d.key, ".") && d.kind == "func" {
			e.Name = d.key
		}
		if len(d.names) > 1 {
			e.Decl.Names = append([]string(nil), d.names...)
		}
		st.put(e)
	}
}

// redefinitions lists the types and methods a cell redefines: yaegi cannot
// replace them in place (a method compiled against the old type fails,
// a method redefined keeps its old body).
func (s *Session) redefinitions(c *cellCode) []string {
	var why []string
	for _, d := range c.decls {
		switch {
		case d.kind == "type":
			if e := s.store.lookup(d.key); e != nil && e.Kind == "type" {
				why = append(why, "type "+d.key)
			}
		case d.kind == "func" && strings.Contains(d.key, "."):
			if s.store.get(d.key) != nil {
				why = append(why, "method "+d.key)
			}
		}
	}
	return why
}

// rebuild replaces the interpreter with a new one into which the store,
// updated with the cell's imports and declarations, is replayed. Nothing
// changes if that fails to compile.
func (s *Session) rebuild(ctx context.Context, c *cellCode, why []string) error {
	ip, err := s.newInterp(s.environ())
	if err != nil {
		return err
	}
	st := s.store.clone()
	storeImports(st, c)
	var imps []importSpec
	for _, e := range st.list() {
		if e.Kind == "import" {
			imps = append(imps, importSpec{name: e.Name, path: e.path, explicit: e.explicit, line: e.Line, col: 1, fromCell: e.Cell})
		}
	}
	if err := s.evalImports(ctx, ip, c.no, imps); err != nil {
		return err
	}

	// The stored declarations the cell does not replace, then the cell's.
	storeDecls(st, c.no, c.decls, c.generics)
	fresh := map[string]bool{}
	for _, d := range c.decls {
		fresh[d.key] = true
	}
	// Vars whose values come from variables set by statements cannot be
	// replayed: they are reset with those.
	dropped := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, e := range st.list() {
			if e.Kind != "var" || fresh[e.key] || dropped[e.key] {
				continue
			}
			for r := range e.refs {
				if d := st.lookup(r); s.varSet[r] && d == nil || d != nil && dropped[d.key] {
					dropped[e.key] = true
					changed = true
					break
				}
			}
		}
	}
	for k := range dropped {
		st.remove(k)
	}
	var b strings.Builder
	b.WriteString(declPrefix + "\n")
	for _, e := range st.list() {
		if e.Kind == "import" || fresh[e.key] {
			continue
		}
		b.WriteString(directive(e.Cell, max(e.Line, 1), 1) + e.Src + "\n")
	}
	if masked, ok := mask(c.src, c.chunks, groupDecl); ok {
		b.WriteString(directive(c.no, 1, 1) + masked + "\n")
	}
	f, err := parser.ParseFile(ip.FileSet(), srcName, b.String(), parser.ParseComments|parser.DeclarationErrors)
	if err != nil {
		return syntaxError(c.no, err)
	}
	renameMain(f)
	if err := orderVarInit(ip.FileSet(), f); err != nil {
		return s.compileError(c.no, err)
	}
	if err := s.rewrite(ip.FileSet(), f, c); err != nil {
		return err
	}
	prog, err := compileAST(ip, f)
	if err != nil {
		return s.compileError(c.no, err)
	}

	// Commit.
	s.ip = ip
	s.store = st
	s.imports = importsOf(st)
	s.vars, s.varSet = nil, map[string]bool{}
	fmt.Fprintf(s.pipe.w, "mpigo: %s redefined: the interpreter was rebuilt from the stored declarations; variables set by statements were reset\n", strings.Join(why, ", "))
	_, err = s.execute(ctx, c.no, prog)
	return err
}

// isVar reports whether name is a variable of the session.
func (s *Session) isVar(name string) bool {
	if s.varSet[name] {
		return true
	}
	e := s.store.lookup(name)
	return e != nil && e.Kind == "var"
}

// refreshDependents compiles again the stored functions that use, directly
// or through other functions, a name the cell redefined, so that they use
// the new definition. Methods cannot be redefined in place by yaegi: a note
// says which ones keep the old definition.
func (s *Session) refreshDependents(c *cellCode, names []string) {
	fresh := map[string]bool{}
	for _, d := range c.decls {
		fresh[d.key] = true
	}
	dirty := map[string]bool{}
	for _, n := range names {
		dirty[n] = true
	}
	inDeps := map[string]bool{}
	var funcs []*storeEntry
	var methods []string
	for changed := true; changed; {
		changed = false
		for _, e := range s.store.list() {
			if e.Kind != "func" || fresh[e.key] || inDeps[e.key] || e.Name == "init" {
				continue
			}
			for n := range dirty {
				if !e.refs[n] {
					continue
				}
				inDeps[e.key] = true
				changed = true
				if strings.Contains(e.key, ".") {
					methods = append(methods, e.key)
				} else {
					funcs = append(funcs, e)
					dirty[e.Name] = true
				}
				break
			}
		}
	}
	if len(methods) > 0 {
		fmt.Fprintf(s.pipe.w, "mpigo: note: %s still use the previous definitions; redefine their types to update them\n", strings.Join(methods, ", "))
	}
	if len(funcs) == 0 {
		return
	}
	// One at a time, so that one that no longer compiles spoils no other.
	var broken []string
	for _, e := range funcs {
		if err := s.recompile(e); err != nil {
			broken = append(broken, fmt.Sprintf("%s (%s)", e.key, cleanPositions(err.Error())))
		}
	}
	if len(broken) > 0 {
		fmt.Fprintf(s.pipe.w, "mpigo: note: no longer compiles with the new definitions: %s\n", strings.Join(broken, "; "))
	}
}

// recompile compiles a stored function again.
func (s *Session) recompile(e *storeEntry) error {
	src := declPrefix + "\n" + directive(e.Cell, max(e.Line, 1), 1) + e.Src + "\n"
	f, err := parser.ParseFile(s.ip.FileSet(), srcName, src, parser.ParseComments)
	if err != nil {
		return err
	}
	if err := s.rewrite(s.ip.FileSet(), f, nil); err != nil {
		return err
	}
	prog, err := compileAST(s.ip, f)
	if err != nil {
		return err
	}
	s.noteProg(e.Cell, prog)
	_, err = s.ip.Execute(prog)
	return err
}

// identRefs returns the identifiers a source uses, selected names excluded.
func identRefs(src string) map[string]bool {
	toks, _ := scanTokens(src)
	refs := map[string]bool{}
	for i, t := range toks {
		if t.tok == token.IDENT && (i == 0 || toks[i-1].tok != token.PERIOD) {
			refs[t.lit] = true
		}
	}
	return refs
}

// kindOf returns the classifier of names for a cell: its own declarations
// first, then the session's, then Go's predeclared identifiers.
func (s *Session) kindOf(c *cellCode) kindFunc {
	return func(name string) string {
		if c != nil {
			if k, ok := c.declared[name]; ok {
				return k
			}
		}
		if e := s.store.lookup(name); e != nil {
			return e.Kind
		}
		if s.varSet[name] {
			return "define"
		}
		if _, ok := s.imports[name]; ok {
			return "import"
		}
		switch {
		case builtinTypes[name]:
			return "type"
		case name == "nil" || name == "true" || name == "false" || name == "iota":
			return "const"
		case universe[name]:
			return "builtin"
		}
		return ""
	}
}

// pkgPath returns the path of the package a cell or the session imports as
// name.
func (s *Session) pkgPath(c *cellCode, name string) string {
	if c != nil {
		for _, sp := range c.imports {
			if sp.name == name {
				return sp.path
			}
		}
	}
	return s.imports[name]
}

// mpiPath is the import path of the MPI binding, which only %mpirun cells
// can use: it is cgo, and the interpreter cannot call C.
const mpiPath = "github.com/mpigo/mpigo/mpi"

// mpiOutsideMagic reports a plain cell that uses package mpi (mpi.X with no
// mpi of the cell's or the session's own): without this check yaegi says
// "undefined: mpi", or fails inside its type checker for *mpi.Comm and
// leaves the session unable to compile the next cell that names mpi.
func mpiOutsideMagic(fset *token.FileSet, c *cellCode, files []*ast.File, kind func(string) string) error {
	if kind("mpi") != "" {
		return nil
	}
	var at token.Pos
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if at.IsValid() {
				return false
			}
			if se, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := se.X.(*ast.Ident); ok && x.Name == "mpi" && x.Obj == nil {
					at = x.Pos()
					return false
				}
			}
			return true
		})
	}
	if !at.IsValid() {
		return nil
	}
	p := fset.Position(at)
	return mpiError(c.no, p.Line, p.Column)
}

// mpiError is the error of package mpi used in a plain cell.
func mpiError(cell, line, col int) *Error {
	return newCompileError(fmt.Sprintf(
		"cell[%d]:%d:%d: package mpi works only in %%mpirun cells: plain cells run in the Go interpreter, which cannot call MPI's C library. "+
			"Start the cell with %%mpirun -n N to run it on N ranks (functions, types and constants of plain cells are compiled into it)", cell, line, col), line, col)
}
