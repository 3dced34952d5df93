package goeval

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// checkMain names the function whose body holds a cell's statements in the
// type-checked source (the cell may declare its own func main).
const checkMain = "__mpigo_cell"

// typeCheck type-checks the cell c (nil: the stored declarations alone)
// as one package with the session around it, and returns the facts of the
// rewrites. The package is made of: a file of the stored declarations that
// the cell does not replace (function bodies that have nothing to rewrite
// replaced by a panic, so that they cost nothing and old errors in them do
// not matter), the cell's declarations, its statements as the body of a
// function, and the session's variables (see sessionVars). Every file
// imports the session's packages. Facts come only from declarations
// without errors (soft errors, unused variables and imports, do not
// count); a range over a function in a declaration with an error gets
// that error, which says more than the interpreter's "nil type".
func (s *Session) typeCheck(c *cellCode, sc *typedScan) *typedFacts {
	facts := &typedFacts{ranges: map[posKey]rangeFact{}, ints: map[posKey]bool{}, strs: map[posKey]bool{}, insts: map[posKey]instFact{}, fmts: map[posKey]fmtFact{}, mexprs: map[posKey]methodExprFact{}, bounds: map[posKey]boundsFact{}, asserts: map[posKey]string{}, bools: map[posKey]bool{}, errs: map[posKey]errFact{}, boxes: map[posKey]boxFact{},
		defs: map[string]varRecord{}, defTypes: map[string]types.Type{}}
	ck := &check{s: s, c: c, sc: sc, ts: s.typeState(), fset: token.NewFileSet()}
	ck.ts.checks++
	if err := ck.build(); err != nil {
		facts.failed = err
		return facts
	}
	if err := ck.run(); err != nil {
		facts.failed = err
		return facts
	}
	ck.collect(facts)
	return facts
}

// check is one type check under way.
type check struct {
	s    *Session
	c    *cellCode
	sc   *typedScan
	ts   *typeState
	fset *token.FileSet

	imports map[string]string // import name → path, as cells see them
	dots    []string          // paths imported with "."
	files   []*ast.File       // the files whose declarations give facts
	vars    *ast.File         // the session variables with recorded types
	wrapper *ast.FuncDecl     // the function holding the cell's statements
	// reflectedObjs are the session variables typed from their values,
	// declared in the package scope before the check.
	reflectedObjs map[*types.Var]bool

	pkg    *types.Package
	info   *types.Info
	errs   []types.Error // hard errors
	unsure []token.Pos   // uses of variables of unsure types
	// errTypes are the session's error types (see typed_errors.go), once
	// needed.
	errTypes *errTypes
}

// checkError is why a type check could not run.
type checkError struct {
	what string
	err  error
}

// Error implements error.
func (e *checkError) Error() string { return "type check: " + e.what + ": " + e.err.Error() }

// Unwrap returns the underlying error.
func (e *checkError) Unwrap() error { return e.err }

// build parses the files of the check.
func (ck *check) build() error {
	ck.imports, ck.dots = ck.s.cellImports(ck.c)
	ctx, err := ck.contextFile()
	if err != nil {
		return &checkError{"parsing the stored declarations", err}
	}
	ck.files = append(ck.files, ctx)
	if ck.c != nil {
		if err := ck.cellFiles(); err != nil {
			return &checkError{"parsing the cell", err}
		}
	}
	refs := map[string]bool{}
	for _, f := range ck.files {
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				refs[id.Name] = true
			}
			return true
		})
	}
	vars, values, err := ck.sessionVars(refs)
	if err != nil {
		return &checkError{"typing the session's variables", err}
	}
	ck.vars = vars
	ck.ts.prefetch(ck.importPaths(values))
	ck.pkg = types.NewPackage("main", "main")
	ck.reflectedObjs = map[*types.Var]bool{}
	ck.declareReflected(values)
	return nil
}

// importPaths returns the packages the check imports: the cell's, those
// of the recorded types of variables, and those of the types of the
// variables typed from their values.
func (ck *check) importPaths(values map[string]reflect.Type) map[string]bool {
	paths := reflectPaths(values)
	for _, p := range ck.imports {
		paths[p] = true
	}
	for _, p := range ck.dots {
		paths[p] = true
	}
	if ck.vars != nil {
		for _, sp := range ck.vars.Imports {
			p, _ := strconv.Unquote(sp.Path.Value)
			paths[p] = true
		}
	}
	return paths
}

// cellImports returns the packages a cell sees by name (the session's and
// its own) and those it sees with a dot import.
func (s *Session) cellImports(c *cellCode) (map[string]string, []string) {
	m := map[string]string{}
	for n, p := range s.imports {
		m[n] = p
	}
	var dots []string
	for _, e := range s.store.list() {
		if e.Kind == "import" && e.Name == "." {
			dots = append(dots, e.path)
		}
	}
	if c != nil {
		for _, sp := range c.imports {
			switch sp.name {
			case "_":
			case ".":
				dots = append(dots, sp.path)
			default:
				m[sp.name] = sp.path
			}
		}
	}
	return m, dots
}

// importText returns import declarations on one line.
func importText(m map[string]string, dots []string) string {
	if len(m) == 0 && len(dots) == 0 {
		return ""
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("import (")
	for _, n := range names {
		b.WriteString(n + " " + strconv.Quote(m[n]) + ";")
	}
	for _, p := range dots {
		b.WriteString(". " + strconv.Quote(p) + ";")
	}
	b.WriteString(");")
	return b.String()
}

// contextEntries returns the stored declarations the check includes: all
// but the imports, those the cell replaces at package level, and variables
// that statements defined again since.
func (ck *check) contextEntries() []*storeEntry {
	fresh, mine := map[string]bool{}, map[string]bool{}
	if ck.c != nil {
		for _, d := range ck.c.decls {
			if d.stmt {
				continue // local to the cell's statements
			}
			fresh[d.key] = true
			for _, n := range d.names {
				mine[n] = true
			}
		}
	}
	var out []*storeEntry
	for _, e := range ck.s.store.list() {
		if e.Kind == "import" || fresh[e.key] {
			continue
		}
		keep := true
		for _, n := range e.names {
			if mine[n] || ck.s.varSet[n] && ck.ts.defCell[n] > e.Cell {
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return out
}

// contextFile parses the stored declarations, each at its cell position,
// and empties the function bodies that have nothing to rewrite.
func (ck *check) contextFile() (*ast.File, error) {
	var b strings.Builder
	b.WriteString("package main;" + importText(ck.imports, ck.dots) + "\n")
	for _, e := range ck.contextEntries() {
		b.WriteString(directive(e.Cell, max(e.Line, 1), 1) + e.Src + "\n")
	}
	f, err := parser.ParseFile(ck.fset, "context.go", b.String(), 0)
	if err != nil {
		return nil, err
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil && !ck.sc.needs(fd.Body) {
			fd.Body = panicBody(fd.Body)
		}
	}
	return f, nil
}

// panicBody returns a body that only panics: it satisfies any signature.
func panicBody(b *ast.BlockStmt) *ast.BlockStmt {
	call := &ast.CallExpr{Fun: ident("panic", b.Lbrace), Lparen: b.Lbrace, Args: []ast.Expr{ident("nil", b.Lbrace)}, Rparen: b.Lbrace}
	return &ast.BlockStmt{Lbrace: b.Lbrace, List: []ast.Stmt{&ast.ExprStmt{X: call}}, Rbrace: b.Rbrace}
}

// cellFiles parses the cell's declarations and statements, at their cell
// positions, the statements as the body of a function.
func (ck *check) cellFiles() error {
	c := ck.c
	imp := importText(ck.imports, ck.dots)
	if masked, ok := mask(c.src, c.chunks, groupDecl); ok {
		f, err := parser.ParseFile(ck.fset, "decls.go", "package main;"+imp+directive(c.no, 1, 1)+masked, 0)
		if err != nil {
			return err
		}
		ck.files = append(ck.files, f)
	}
	if masked, ok := mask(c.src, c.chunks, groupStmt); ok {
		src := "package main;" + imp + "func " + checkMain + "() {" + directive(c.no, 1, 1) + masked + "\n}"
		f, err := parser.ParseFile(ck.fset, "stmts.go", src, 0)
		if err != nil {
			return err
		}
		ck.wrapper = f.Decls[len(f.Decls)-1].(*ast.FuncDecl)
		dropTopResults(ck.wrapper.Body)
		useTopValues(ck.wrapper.Body, ck.sc.kind, func(sel *ast.SelectorExpr) bool { return ck.s.memberKind(c, sel) == "type" })
		ck.files = append(ck.files, f)
	}
	return nil
}

// dropTopResults removes the values of the return statements of the top
// level of a cell: the session ends the cell there and ignores them.
func dropTopResults(body *ast.BlockStmt) {
	astutil.Apply(body, func(c *astutil.Cursor) bool {
		_, lit := c.Node().(*ast.FuncLit)
		return !lit
	}, func(c *astutil.Cursor) bool {
		if r, ok := c.Node().(*ast.ReturnStmt); ok {
			r.Results = nil
		}
		return true
	})
}

// useTopValues turns the bare expressions of the top level of a cell,
// which it shows, into assignments to _: Go allows only calls of functions
// and receives as statements. typeMember tells whether a selector names a
// type of a package.
func useTopValues(body *ast.BlockStmt, kind kindFunc, typeMember func(*ast.SelectorExpr) bool) {
	for i, st := range body.List {
		es, ok := st.(*ast.ExprStmt)
		if !ok || isStatement(es.X, kind, typeMember) {
			continue
		}
		body.List[i] = assignStmt(es.Pos(), token.ASSIGN, []ast.Expr{ident("_", es.Pos())}, es.X)
	}
}

// isStatement reports whether an expression may be a statement: a receive,
// or a call that is neither a conversion nor a call of a builtin with a
// value.
func isStatement(e ast.Expr, kind kindFunc, typeMember func(*ast.SelectorExpr) bool) bool {
	switch x := ast.Unparen(e).(type) {
	case *ast.UnaryExpr:
		return x.Op == token.ARROW
	case *ast.CallExpr:
		fun := ast.Unparen(x.Fun)
		if ix, ok := fun.(*ast.IndexExpr); ok {
			fun = ix.X
		} else if ix, ok := fun.(*ast.IndexListExpr); ok {
			fun = ix.X
		}
		switch f := fun.(type) {
		case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType, *ast.StructType, *ast.StarExpr:
			return false
		case *ast.Ident:
			k := kind(f.Name)
			if f.Obj != nil {
				k = map[ast.ObjKind]string{ast.Typ: "type"}[f.Obj.Kind]
			}
			return k != "type" && !(k == "builtin" && valueBuiltins[f.Name])
		case *ast.SelectorExpr:
			return !typeMember(f)
		}
		return true
	}
	return false
}

// memberKind returns the kind of a package member named by a selector
// ("type", "func", "var", "const"), or "" when it names none.
func (s *Session) memberKind(c *cellCode, sel *ast.SelectorExpr) string {
	x, ok := sel.X.(*ast.Ident)
	if !ok || x.Obj != nil || !isPkgKind(s.kindOf(c)(x.Name)) {
		return ""
	}
	p := packages().byPath[s.pkgPath(c, x.Name)]
	if p == nil {
		return ""
	}
	k, _ := p.kindOf(sel.Sel.Name)
	return k
}

// run type-checks the files.
func (ck *check) run() error {
	ck.info = &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Instances:  map[*ast.Ident]types.Instance{},
		Scopes:     map[ast.Node]*types.Scope{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	conf := types.Config{
		Importer: ck.ts.importer,
		Error: func(err error) {
			if te, ok := err.(types.Error); ok && !te.Soft {
				ck.errs = append(ck.errs, te)
			}
		},
	}
	files := ck.files
	if ck.vars != nil {
		files = append(append([]*ast.File(nil), files...), ck.vars)
	}
	checker := types.NewChecker(&conf, ck.fset, ck.pkg, ck.info)
	if err := safeCheck(checker, files); err != nil {
		return &checkError{"go/types", err}
	}
	ck.markUnsure()
	return nil
}

// safeCheck runs a checker, turning a panic of go/types into an error: a
// cell must never fail because of the checker.
func safeCheck(checker *types.Checker, files []*ast.File) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	checker.Files(files) // errors are collected by Config.Error
	return nil
}

// firstError returns the first hard error in a declaration, or nil.
func (ck *check) firstError(d ast.Node) *types.Error {
	for i, e := range ck.errs {
		if e.Pos >= d.Pos() && e.Pos < d.End() {
			return &ck.errs[i]
		}
	}
	return nil
}

// isBad reports whether a declaration has an error or uses a variable of
// unsure type.
func (ck *check) isBad(d ast.Node) bool {
	for _, p := range ck.unsure {
		if p >= d.Pos() && p < d.End() {
			return true
		}
	}
	return ck.firstError(d) != nil
}

// typeCheckError is an error of go/types in code with a range over a
// function: yaegi cannot compile the range, and says only "nil type".
type typeCheckError struct {
	pos token.Position
	msg string
}

// Error implements error.
func (e *typeCheckError) Error() string {
	return "the code has an error: " + posString(e.pos) + ": " + e.msg
}

// collect records the facts of the declarations without errors.
func (ck *check) collect(facts *typedFacts) {
	w := &typeWriter{pkg: ck.pkg, imports: ck.imports}
	for _, f := range ck.files {
		for _, d := range f.Decls {
			if e := ck.firstError(d); e != nil {
				ck.blockRanges(d, e, facts)
			}
			if ck.isBad(d) {
				continue
			}
			ck.collectRanges(d, w, facts)
			ck.collectInsts(d, w, facts)
			ck.collectFmt(d, w, facts)
			ck.collectMethodExprs(d, w, facts)
			ck.collectBounds(d, facts)
			ck.collectTypeAsserts(d, w, facts)
			ck.collectSemantics(d, facts)
			ck.collectBools(d, facts)
			ck.collectErrors(d, w, facts)
		}
	}
	if ck.wrapper != nil && !ck.isBad(ck.wrapper) {
		ck.collectFinal(w, facts)
		scope := ck.info.Scopes[ck.wrapper.Type]
		for _, n := range ck.c.defines {
			if v, ok := scope.Lookup(n).(*types.Var); ok {
				if r, err := recordType(v.Type(), ck.pkg); err == nil {
					facts.defs[n] = r
					facts.defTypes[n] = v.Type()
				}
			}
		}
	}
}

// collectRanges records the range statements over functions and over
// integers of d.
func (ck *check) collectRanges(d ast.Decl, w *typeWriter, facts *typedFacts) {
	ast.Inspect(d, func(n ast.Node) bool {
		rs, ok := n.(*ast.RangeStmt)
		if !ok {
			return true
		}
		tv, ok := ck.info.Types[rs.X]
		if !ok || tv.Type == nil {
			return true
		}
		if b, ok := tv.Type.Underlying().(*types.Basic); ok {
			switch {
			case b.Info()&types.IsInteger != 0:
				facts.ints[keyOf(ck.fset, rs.X.Pos())] = true
			case b.Info()&types.IsString != 0 && rs.Key != nil && rs.Value == nil:
				facts.strs[keyOf(ck.fset, rs.For)] = true
			}
			return true
		}
		params, ok := yieldParams(tv.Type)
		if !ok {
			return true
		}
		f := rangeFact{x: keyOf(ck.fset, rs.X.Pos())}
		for _, p := range params {
			s, err := w.write(p, rs.For)
			if err != nil {
				f.err = err
				break
			}
			f.params = append(f.params, s)
		}
		facts.ranges[keyOf(ck.fset, rs.For)] = f
		return true
	})
}

// blockRanges records the ranges over functions of a declaration that has
// an error: they cannot be lowered, and the error says why better than
// the interpreter would.
func (ck *check) blockRanges(d ast.Decl, e *types.Error, facts *typedFacts) {
	ast.Inspect(d, func(n ast.Node) bool {
		if rs, ok := n.(*ast.RangeStmt); ok {
			if tv, ok := ck.info.Types[rs.X]; ok && tv.Type != nil {
				if _, ok := yieldParams(tv.Type); ok {
					facts.ranges[keyOf(ck.fset, rs.For)] = rangeFact{x: keyOf(ck.fset, rs.X.Pos()),
						err: &typeCheckError{pos: ck.fset.Position(e.Pos), msg: e.Msg}}
				}
			}
		}
		return true
	})
}

// yieldParams returns the parameter types of the yield function of an
// iterator type: func(yield func(...) bool).
func yieldParams(t types.Type) ([]types.Type, bool) {
	sig, ok := t.Underlying().(*types.Signature)
	if !ok || sig.Params().Len() != 1 || sig.Results().Len() != 0 {
		return nil, false
	}
	y, ok := sig.Params().At(0).Type().Underlying().(*types.Signature)
	if !ok || y.Results().Len() != 1 || y.Params().Len() > 2 || y.Variadic() {
		return nil, false
	}
	if b, ok := y.Results().At(0).Type().Underlying().(*types.Basic); !ok || b.Kind() != types.Bool {
		return nil, false
	}
	var out []types.Type
	for i := range y.Params().Len() {
		out = append(out, y.Params().At(i).Type())
	}
	return out, true
}

// collectInsts records the uses of generic functions of d whose type
// arguments are inferred, in part or all.
func (ck *check) collectInsts(d ast.Decl, w *typeWriter, facts *typedFacts) {
	fd, _ := d.(*ast.FuncDecl)
	inMethod := fd != nil && fd.Recv != nil
	explicit := map[*ast.Ident]int{}
	ast.Inspect(d, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.IndexExpr:
			if id := funcName(x.X); id != nil {
				explicit[id] = 1
			}
		case *ast.IndexListExpr:
			if id := funcName(x.X); id != nil {
				explicit[id] = len(x.Indices)
			}
		}
		return true
	})
	ast.Inspect(d, func(n ast.Node) bool {
		id, ok := n.(*ast.Ident)
		if !ok {
			return true
		}
		inst, ok := ck.info.Instances[id]
		if !ok || explicit[id] >= inst.TypeArgs.Len() {
			return true
		}
		fn, ok := ck.info.Uses[id].(*types.Func)
		if !ok || fn.Signature().Recv() != nil {
			return true
		}
		if inMethod && mentionsTypeParam(inst.TypeArgs) {
			// In a method of a generic type, yaegi cannot compile an
			// instantiation with the receiver's type parameters
			// (yaegi's _test/issue-1460.go); its own inference
			// does there.
			return true
		}
		f := instFact{name: id.Name, resultGeneric: resultGeneric(fn.Origin().Signature())}
		for i := range inst.TypeArgs.Len() {
			s, err := w.write(inst.TypeArgs.At(i), id.Pos())
			if err != nil {
				return true // left to the interpreter
			}
			f.targs = append(f.targs, s)
		}
		facts.insts[keyOf(ck.fset, id.Pos())] = f
		return true
	})
}

// resultGeneric reports whether a result type of a generic signature
// uses its type parameters.
func resultGeneric(sig *types.Signature) bool {
	tps := sig.TypeParams()
	found := false
	n := names{
		basic: func(*types.Basic) string { return "" },
		obj: func(obj *types.TypeName) string {
			for j := range tps.Len() {
				found = found || tps.At(j).Obj() == obj
			}
			return ""
		},
	}
	walkType(sig.Results(), nil, n, map[types.Type]bool{})
	return found
}

// funcName returns the identifier that names a function in e (f or
// pkg.f), or nil.
func funcName(e ast.Expr) *ast.Ident {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		return x
	case *ast.SelectorExpr:
		return x.Sel
	}
	return nil
}

// mentionsTypeParam reports whether a type argument list refers to a type
// parameter anywhere (T, []T, map[string]T, func(T) V, ...).
func mentionsTypeParam(targs *types.TypeList) bool {
	for i := range targs.Len() {
		if hasTypeParam(targs.At(i), 0) {
			return true
		}
	}
	return false
}

// hasTypeParam reports whether t refers to a type parameter; depth bounds
// the walk through recursive types.
func hasTypeParam(t types.Type, depth int) bool {
	if depth > 16 {
		return false
	}
	switch x := t.(type) {
	case *types.TypeParam:
		return true
	case *types.Pointer:
		return hasTypeParam(x.Elem(), depth+1)
	case *types.Slice:
		return hasTypeParam(x.Elem(), depth+1)
	case *types.Array:
		return hasTypeParam(x.Elem(), depth+1)
	case *types.Chan:
		return hasTypeParam(x.Elem(), depth+1)
	case *types.Map:
		return hasTypeParam(x.Key(), depth+1) || hasTypeParam(x.Elem(), depth+1)
	case *types.Named:
		if args := x.TypeArgs(); args != nil {
			for i := range args.Len() {
				if hasTypeParam(args.At(i), depth+1) {
					return true
				}
			}
		}
	case *types.Signature:
		return tupleHasTypeParam(x.Params(), depth) || tupleHasTypeParam(x.Results(), depth)
	case *types.Struct:
		for i := range x.NumFields() {
			if hasTypeParam(x.Field(i).Type(), depth+1) {
				return true
			}
		}
	}
	return false
}

// tupleHasTypeParam reports whether a parameter list refers to a type
// parameter.
func tupleHasTypeParam(tu *types.Tuple, depth int) bool {
	for i := range tu.Len() {
		if hasTypeParam(tu.At(i).Type(), depth+1) {
			return true
		}
	}
	return false
}
