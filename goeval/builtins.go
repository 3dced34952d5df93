package goeval

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/tools/go/ast/astutil"
)

// The built-ins min, max (Go 1.21) and clear, which yaegi v0.16 lacks, are
// rewritten (rewriteBuiltins) when their names are not the user's:
//
//   - a call of min or max whose arguments are all constants that mpigo
//     knows (literals, constants of the session, the cell or the function,
//     untyped constants of packages, and expressions of those) is evaluated
//     by go/types (go/constant) and replaced by its value, a constant of
//     the same type and kind: const c = max(1, 2.5) still declares the
//     untyped float 2.5;
//   - another call of min or max becomes a call of a generic function of
//     the helper package (stdsrc/builtin.go.txt): __mpigo_builtin.Min(w,
//     x, y...). yaegi infers the type argument from the first argument
//     only, and w is there for that: a copy of an argument that is not
//     constant and has no side effects. The values are all in the variadic
//     parameter, which keeps a negative zero (yaegi loses it in a float
//     parameter). When every argument that is not constant has side
//     effects, MinV(x, y...) takes the first of them as its first value;
//   - clear(x) becomes __mpigo_builtin.Clear(x), which clears a map or a
//     slice through reflect and panics for anything else.
//
// Go's errors for constants (min(), clear(3), min(1, "a")) and for
// variables of earlier cells of the wrong kinds (clear of an int) are
// compile errors at the call, in Go's words; for other values, yaegi
// reports them when it instantiates the helper ([]int does not implement
// __mpigo_builtin.cmp_Ordered), or Clear panics.
//
// yaegi cannot type a variable defined at the top level of a cell from a
// generic call, so the top-level statements are fixed as fixTopLevel fixes
// the generic calls it sees (fixTopLevel runs before the rewrite, and sees
// only min and max): x := min(a, b) becomes a define of a variable set to
// the type argument, a define from it and an assignment; compound
// statements run in a function literal. A package-level var initialized
// with min or max of non-constant values is an error.

// builtinPkg is the interpreted package of the helpers of min, max and
// clear (stdsrc/builtin.go.txt).
const builtinPkg = "__mpigo_builtin"

// builtinSigs returns the signatures of the generic helpers.
var builtinSigs = sync.OnceValue(func() map[string]*ast.FuncType {
	f, err := parser.ParseFile(token.NewFileSet(), "", builtinSource, parser.SkipObjectResolution)
	if err != nil {
		panic(err)
	}
	sigs := map[string]*ast.FuncType{}
	for name, m := range topLevelMembers(f) {
		if m.sig != nil {
			sigs[name] = m.sig
		}
	}
	return sigs
})

// builtinRewrite is the rewrite of the built-in calls of one source.
type builtinRewrite struct {
	s      *Session
	fset   *token.FileSet
	c      *cellCode // nil when a stored function is compiled again
	kind   kindFunc
	consts constEval
	// inConst holds the calls in the values of const declarations, which
	// must be folded.
	inConst map[*ast.CallExpr]bool
	temps   int // the variables fixDefine added
	err     error
}

// rewriteBuiltins rewrites the calls of min, max and clear under root (see
// above), and the calls of the interpreted standard library that need it
// (see redirectStdCalls); the error is a compile error of a call.
func (s *Session) rewriteBuiltins(fset *token.FileSet, root ast.Node, c *cellCode) error {
	kind := s.kindOf(c)
	s.redirectStdCalls(root, c, kind)
	calls, repeats := constDecls(root)
	b := &builtinRewrite{s: s, fset: fset, c: c, kind: kind, inConst: calls}
	b.consts = constEval{s: s, c: c, kind: kind, repeats: repeats}
	if !b.rewriteCalls(root) || b.err != nil {
		return b.err
	}
	switch r := root.(type) {
	case *ast.BlockStmt:
		if c != nil {
			return b.fixStatements(r)
		}
	case *ast.File:
		return b.checkVars(r)
	}
	return nil
}

// rewriteCalls replaces the calls of the built-ins under root, inner calls
// first, and reports whether there were any; it stops at the first error,
// in b.err.
func (b *builtinRewrite) rewriteCalls(root ast.Node) bool {
	rewritten := false
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		call, ok := cur.Node().(*ast.CallExpr)
		if !ok {
			return true
		}
		var repl ast.Expr
		switch name := b.builtinName(call); name {
		case "":
			return true
		case "clear":
			repl, b.err = b.clearCall(call)
		default:
			repl, b.err = b.minMaxCall(name, call)
		}
		if b.err != nil {
			return false
		}
		cur.Replace(repl)
		rewritten = true
		return true
	})
	return rewritten
}

// builtinName returns the name of the built-in a call calls, "min", "max"
// or "clear", or "" for another call (one of a function of the user's of
// the same name included).
func (b *builtinRewrite) builtinName(call *ast.CallExpr) string {
	id, ok := call.Fun.(*ast.Ident)
	if !ok || id.Obj != nil || b.kind(id.Name) != "builtin" {
		return ""
	}
	switch id.Name {
	case "min", "max", "clear":
		return id.Name
	}
	return ""
}

// constDecls returns the calls in the values of the const declarations
// under root, which must be constants, and the specs of those declarations
// that repeat the values of an earlier one, with that one.
func constDecls(root ast.Node) (map[*ast.CallExpr]bool, map[*ast.ValueSpec]*ast.ValueSpec) {
	calls := map[*ast.CallExpr]bool{}
	repeats := map[*ast.ValueSpec]*ast.ValueSpec{}
	ast.Inspect(root, func(n ast.Node) bool {
		g, ok := n.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			return true
		}
		var last *ast.ValueSpec
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			if len(vs.Values) > 0 {
				last = vs
			} else if last != nil {
				repeats[vs] = last
			}
		}
		ast.Inspect(g, func(m ast.Node) bool {
			if call, ok := m.(*ast.CallExpr); ok {
				calls[call] = true
			}
			return true
		})
		return false
	})
	return calls, repeats
}

// errorAt returns a compile error at pos.
func (b *builtinRewrite) errorAt(pos token.Pos, format string, args ...any) error {
	p := b.fset.Position(pos)
	msg := posString(p) + ": " + fmt.Sprintf(format, args...)
	e := newCompileError(msg, 0, 0)
	if b.c != nil && p.Filename == fmt.Sprintf("cell[%d]/%s", b.c.no, srcName) {
		e.Line, e.Col = p.Line, p.Column
	}
	return e
}

// typesError returns the error go/types found in an expression mpigo
// evaluated for a call, at the call.
func (b *builtinRewrite) typesError(call *ast.CallExpr, err error) error {
	msg := err.Error()
	if te, ok := err.(types.Error); ok {
		msg = te.Msg
	}
	return b.errorAt(call.Pos(), "%s", msg)
}

// minMaxCall returns the replacement of a call of min or max.
func (b *builtinRewrite) minMaxCall(name string, call *ast.CallExpr) (ast.Expr, error) {
	if call.Ellipsis.IsValid() {
		return nil, b.errorAt(call.Ellipsis, "invalid operation: invalid use of ... with built-in %s", name)
	}
	texts := make([]string, len(call.Args))
	var consts []string // the constant arguments
	for i, a := range call.Args {
		if t, ok := b.consts.text(a, -1, 0); ok {
			texts[i] = t
			consts = append(consts, t)
		}
	}
	// Errors among the constants (none, mismatched types, not ordered).
	tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, name+"("+strings.Join(consts, ", ")+")")
	if err != nil && (len(consts) > 0 || len(call.Args) == 0) {
		return nil, b.typesError(call, err)
	}
	if len(consts) == len(call.Args) {
		return b.literal(call, tv)
	}
	if err := b.checkOrdered(call, texts); err != nil {
		return nil, err
	}
	if b.inConst[call] {
		return nil, b.errorAt(call.Pos(), "%s is not a constant mpigo can evaluate: a constant %s takes literals and constants of basic types", types.ExprString(call), name)
	}
	return b.helperCall(name, call, texts), nil
}

// checkOrdered reports the arguments of min or max that are variables of
// earlier cells of a type that is not ordered, or of another type than the
// one before (texts[i] is "" for the arguments that are not constants).
// For other variables yaegi reports it, but in the words of the helper.
func (b *builtinRewrite) checkOrdered(call *ast.CallExpr, texts []string) error {
	var prev reflect.Type
	for i, a := range call.Args {
		t := b.sessionType(a)
		switch {
		case texts[i] != "" || t == nil:
		case !orderedKinds[t.Kind()]:
			return b.errorAt(a.Pos(), "invalid argument: %s (variable of type %s) cannot be ordered", types.ExprString(a), t)
		case prev != nil && t != prev:
			return b.errorAt(a.Pos(), "invalid argument: mismatched types %s (previous argument) and %s (type of %s)", prev, t, types.ExprString(a))
		default:
			prev = t
		}
	}
	return nil
}

// orderedKinds are the kinds of the ordered types.
var orderedKinds = map[reflect.Kind]bool{
	reflect.Int: true, reflect.Int8: true, reflect.Int16: true, reflect.Int32: true, reflect.Int64: true,
	reflect.Uint: true, reflect.Uint8: true, reflect.Uint16: true, reflect.Uint32: true, reflect.Uint64: true,
	reflect.Uintptr: true, reflect.Float32: true, reflect.Float64: true, reflect.String: true,
}

// helperCall returns the call of the helper for min or max of values of
// which some are not constants that mpigo knows (texts[i] is "" for those).
// The type argument comes from the first of them that has no side effects
// and is not a constant either (whose type may be untyped); else from the
// first with side effects, which MinV takes as its first value; else from
// the first (a typed constant, with luck).
func (b *builtinRewrite) helperCall(name string, call *ast.CallExpr, texts []string) ast.Expr {
	fn := strings.ToUpper(name[:1]) + name[1:]
	first := func(ok func(a ast.Expr) bool) int {
		for i, a := range call.Args {
			if texts[i] == "" && ok(ast.Unparen(a)) {
				return i
			}
		}
		return -1
	}
	w := first(func(a ast.Expr) bool { return pureExpr(a) && !constLike(a, b.kind) })
	v := first(func(a ast.Expr) bool { return !pureExpr(a) })
	if w < 0 && v < 0 {
		w = first(func(ast.Expr) bool { return true })
	}
	switch {
	case w >= 0:
		return b.helper(call, fn, append([]ast.Expr{cloneExpr(b.fset, call.Args[w])}, call.Args...))
	case len(call.Args) == 1:
		return b.helper(call, "Ordered", call.Args)
	}
	// The arguments before v have no side effects: they can come after it.
	args := []ast.Expr{call.Args[v]}
	for i, a := range call.Args {
		if i != v {
			args = append(args, a)
		}
	}
	return b.helper(call, fn+"V", args)
}

// helper returns the call __mpigo_builtin.fn(args...) at the place of call.
func (b *builtinRewrite) helper(call *ast.CallExpr, fn string, args []ast.Expr) *ast.CallExpr {
	pos := call.Pos()
	return &ast.CallExpr{
		Fun:    &ast.SelectorExpr{X: ident(builtinPkg, pos), Sel: ident(fn, pos)},
		Lparen: call.Lparen,
		Args:   args,
		Rparen: call.Rparen,
	}
}

// literal returns the constant value of a call as an expression at its
// place.
func (b *builtinRewrite) literal(call *ast.CallExpr, tv types.TypeAndValue) (ast.Expr, error) {
	text, ok := constLiteral(tv)
	if !ok {
		return nil, b.errorAt(call.Pos(), "mpigo cannot write the value of %s", types.ExprString(call))
	}
	e, err := reparse(b.fset, b.fset.Position(call.Pos()), text)
	if err != nil {
		return nil, b.errorAt(call.Pos(), "mpigo cannot write the value of %s: %v", types.ExprString(call), err)
	}
	return &ast.ParenExpr{Lparen: call.Pos(), X: e, Rparen: call.End() - 1}, nil
}

// clearCall returns the replacement of a call of clear.
func (b *builtinRewrite) clearCall(call *ast.CallExpr) (ast.Expr, error) {
	if call.Ellipsis.IsValid() {
		return nil, b.errorAt(call.Ellipsis, "invalid operation: invalid use of ... with built-in clear")
	}
	switch len(call.Args) {
	case 0:
		return nil, b.errorAt(call.Rparen, "invalid operation: not enough arguments for clear() (expected 1, found 0)")
	case 1:
	default:
		return nil, b.errorAt(call.Args[1].Pos(), "invalid operation: too many arguments for %s (expected 1, found %d)", types.ExprString(call), len(call.Args))
	}
	a := call.Args[0]
	if t, ok := b.consts.text(a, -1, 0); ok || isNil(a, b.kind) {
		if !ok {
			t = "nil"
		}
		_, err := types.Eval(token.NewFileSet(), nil, token.NoPos, "clear("+t+")")
		if err == nil {
			err = fmt.Errorf("cannot clear %s", types.ExprString(a))
		}
		return nil, b.typesError(call, err)
	}
	if t := b.sessionType(a); t != nil && t.Kind() != reflect.Map && t.Kind() != reflect.Slice {
		return nil, b.errorAt(call.Pos(), "invalid argument: cannot clear %s (variable of type %s): argument must be (or constrained by) map or slice", types.ExprString(a), t)
	}
	return b.helper(call, "Clear", call.Args), nil
}

// sessionType returns the type of the value of e when e names a variable
// that earlier cells defined, nil otherwise.
func (b *builtinRewrite) sessionType(e ast.Expr) reflect.Type {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok || id.Obj != nil || b.c != nil && b.c.declared[id.Name] != "" {
		return nil
	}
	if k := b.kind(id.Name); k != "define" && k != "var" {
		return nil
	}
	v, err := b.s.evalExpr(id.Name)
	if err != nil || !v.IsValid() {
		return nil
	}
	return v.Type()
}

// isNil reports whether e is the predeclared nil.
func isNil(e ast.Expr, kind kindFunc) bool {
	id, ok := ast.Unparen(e).(*ast.Ident)
	return ok && id.Obj == nil && id.Name == "nil" && kind("nil") == "const"
}

// helperSig is the sigFunc of the generic helpers of min and max.
func helperSig(fun ast.Expr) (*ast.FuncType, []ast.Expr) {
	se, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return nil, nil
	}
	if x, ok := se.X.(*ast.Ident); !ok || x.Name != builtinPkg {
		return nil, nil
	}
	return builtinSigs()[se.Sel.Name], nil
}

// fixStatements fixes the top-level statements of a cell that call the
// helpers of min and max: defines, and compound statements (see above).
func (b *builtinRewrite) fixStatements(body *ast.BlockStmt) error {
	var out []ast.Stmt
	for _, st := range body.List {
		switch x := st.(type) {
		case *ast.AssignStmt:
			if x.Tok == token.DEFINE && containsInferred(x, helperSig) {
				repl, err := b.fixDefine(x)
				if err != nil {
					return err
				}
				out = append(out, repl...)
				continue
			}
		case *ast.DeclStmt:
			if g, ok := x.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR && containsInferred(g, helperSig) {
				repl, err := b.fixVar(g)
				if err != nil {
					return err
				}
				out = append(out, repl...)
				continue
			}
		}
		out = append(out, wrapCompound(st, helperSig))
	}
	body.List = out
	return nil
}

// fixDefine rewrites a top-level define of values of which some are min or
// max of non-constant values: the type argument of each helper call is
// first stored in a variable (__mpigo_b0 := w), from which fixDefine (in
// toplevel.go) can then type the variable defined.
func (b *builtinRewrite) fixDefine(d *ast.AssignStmt) ([]ast.Stmt, error) {
	var pre []ast.Stmt
	for i, r := range d.Rhs {
		call, _, _, direct := inferredCall(r, helperSig)
		if !direct {
			if containsInferred(r, helperSig) {
				return nil, b.errorAt(d.Pos(), "yaegi cannot define %s at the top level of a cell: its type is that of min or max of values that are not constant, in an expression; define a variable with the min or max first, or declare the variable (var x T) and assign it", exprList(d.Lhs))
			}
			continue
		}
		w := call.Args[0]
		if !pureExpr(ast.Unparen(w)) && i > 0 {
			return nil, b.errorAt(d.Pos(), "yaegi cannot define %s at the top level of a cell with min or max of values that are not constant after another value; define them one by one", exprList(d.Lhs))
		}
		tmp := fmt.Sprintf("__mpigo_b%d", b.temps)
		b.temps++
		pre = append(pre, &ast.AssignStmt{Lhs: []ast.Expr{ident(tmp, w.Pos())}, TokPos: d.TokPos, Tok: token.DEFINE, Rhs: []ast.Expr{w}})
		sel := call.Fun.(*ast.SelectorExpr)
		if fn, ok := valueHelpers[sel.Sel.Name]; ok {
			// The first argument was a value: it is now a variable, which
			// can also give the type argument (see helperCall).
			sel.Sel.Name = fn
			call.Args = append([]ast.Expr{ident(tmp, w.Pos()), ident(tmp, w.Pos())}, call.Args[1:]...)
		} else {
			call.Args[0] = ident(tmp, w.Pos())
		}
	}
	repl, err := b.s.fixDefine(b.fset, b.c, d, helperSig)
	if err != nil {
		return nil, err
	}
	if repl == nil { // nothing to fix after all (a compile error follows)
		repl = []ast.Stmt{d}
	}
	return append(pre, repl...), nil
}

// fixVar rewrites a top-level var declaration of values of which some are
// min or max of non-constant values, which yaegi compiles but leaves zero:
// var x T = v becomes var x T, then x = v; var x = v becomes x := v, fixed
// as a define.
func (b *builtinRewrite) fixVar(g *ast.GenDecl) ([]ast.Stmt, error) {
	var out []ast.Stmt
	for _, sp := range g.Specs {
		vs := sp.(*ast.ValueSpec)
		switch {
		case !containsInferred(vs, helperSig):
			out = append(out, &ast.DeclStmt{Decl: &ast.GenDecl{TokPos: vs.Pos(), Tok: token.VAR, Specs: []ast.Spec{vs}}})
		case vs.Type != nil:
			values := vs.Values
			vs.Values = nil
			lhs := make([]ast.Expr, len(vs.Names))
			for i, n := range vs.Names {
				lhs[i] = ident(n.Name, n.Pos())
			}
			out = append(out,
				&ast.DeclStmt{Decl: &ast.GenDecl{TokPos: vs.Pos(), Tok: token.VAR, Specs: []ast.Spec{vs}}},
				&ast.AssignStmt{Lhs: lhs, TokPos: vs.Pos(), Tok: token.ASSIGN, Rhs: values})
		default:
			lhs := make([]ast.Expr, len(vs.Names))
			for i, n := range vs.Names {
				lhs[i] = n
			}
			repl, err := b.fixDefine(&ast.AssignStmt{Lhs: lhs, TokPos: vs.Pos(), Tok: token.DEFINE, Rhs: vs.Values})
			if err != nil {
				return nil, err
			}
			out = append(out, repl...)
		}
	}
	return out, nil
}

// valueHelpers maps the helpers whose first argument is a value to the
// helper that takes the same values after a type argument.
var valueHelpers = map[string]string{"MinV": "Min", "MaxV": "Max", "Ordered": "Min"}

// checkVars reports a package-level var initialized with min or max of
// non-constant values: yaegi cannot type it (see checkDeclInferred).
func (b *builtinRewrite) checkVars(f *ast.File) error {
	if vs := varSpecWith(f, func(v ast.Expr) bool { return containsInferred(v, helperSig) }); vs != nil {
		return b.errorAt(vs.Pos(), "yaegi cannot initialize a package-level var with min or max of values that are not constant; define it in a statement instead (%s := ...)", vs.Names[0].Name)
	}
	return nil
}

// constEval finds the constants mpigo knows, for min and max.
type constEval struct {
	s    *Session
	c    *cellCode
	kind kindFunc
	// repeats maps the const specs of the source that repeat the values of
	// an earlier spec (const (a = iota; b)) to that spec.
	repeats map[*ast.ValueSpec]*ast.ValueSpec
}

// maxConstDepth bounds the nesting of the expressions and constants that
// constEval follows.
const maxConstDepth = 32

// text returns e as a source of literals, operators and calls of
// predeclared functions that go/types can evaluate, when e is a constant
// that mpigo knows: literals, constants (of the function, the cell, the
// session, a package), and expressions of those. iotaVal is the value of
// iota in the const declaration e comes from, or -1.
func (ce constEval) text(e ast.Expr, iotaVal, depth int) (string, bool) {
	if depth > maxConstDepth {
		return "", false
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		return x.Value, true
	case *ast.ParenExpr:
		t, ok := ce.text(x.X, iotaVal, depth+1)
		return "(" + t + ")", ok
	case *ast.UnaryExpr:
		if x.Op == token.AND || x.Op == token.ARROW {
			return "", false
		}
		t, ok := ce.text(x.X, iotaVal, depth+1)
		return x.Op.String() + t, ok
	case *ast.BinaryExpr:
		l, okl := ce.text(x.X, iotaVal, depth+1)
		r, okr := ce.text(x.Y, iotaVal, depth+1)
		return l + " " + x.Op.String() + " " + r, okl && okr
	case *ast.Ident:
		return ce.ident(x, iotaVal, depth)
	case *ast.SelectorExpr:
		return ce.pkgConst(x)
	case *ast.CallExpr:
		return ce.call(x, iotaVal, depth)
	}
	return "", false
}

// constFuncs are the predeclared functions whose calls can be constants.
var constFuncs = map[string]bool{"min": true, "max": true, "len": true, "real": true, "imag": true, "complex": true}

// call returns the text of a conversion to a predeclared type or a call of
// a predeclared function (constant when its arguments are).
func (ce constEval) call(x *ast.CallExpr, iotaVal, depth int) (string, bool) {
	id, ok := x.Fun.(*ast.Ident)
	if !ok || id.Obj != nil || x.Ellipsis.IsValid() {
		return "", false
	}
	if !ce.predeclaredType(id.Name) && !(constFuncs[id.Name] && ce.kind(id.Name) == "builtin") {
		return "", false
	}
	args := make([]string, len(x.Args))
	for i, a := range x.Args {
		t, ok := ce.text(a, iotaVal, depth+1)
		if !ok {
			return "", false
		}
		args[i] = t
	}
	return id.Name + "(" + strings.Join(args, ", ") + ")", true
}

// predeclaredType reports whether name is a predeclared type that the
// user has not redefined.
func (ce constEval) predeclaredType(name string) bool {
	return builtinTypes[name] && ce.kind(name) == "type" && !ce.userName(name)
}

// userName reports whether the cell or the session declares name.
func (ce constEval) userName(name string) bool {
	return ce.c != nil && ce.c.declared[name] != "" || ce.s.store.lookup(name) != nil || ce.s.varSet[name]
}

// ident returns the text of a constant named by an identifier.
func (ce constEval) ident(x *ast.Ident, iotaVal, depth int) (string, bool) {
	if x.Obj != nil { // declared in the same source: a constant of a function
		spec, ok := x.Obj.Decl.(*ast.ValueSpec)
		n, isInt := x.Obj.Data.(int) // the parser's iota
		if x.Obj.Kind != ast.Con || !ok || !isInt {
			return "", false
		}
		return ce.specValue(spec, x.Name, n, depth)
	}
	if ce.kind(x.Name) != "const" {
		return "", false
	}
	if !ce.userName(x.Name) { // true, false, iota
		if x.Name == "iota" {
			return strconv.Itoa(iotaVal), iotaVal >= 0
		}
		return x.Name, x.Name != "nil"
	}
	return ce.declValue(x.Name, depth)
}

// declValue returns the text of the value of a constant of the cell or of
// the session, from its declaration.
func (ce constEval) declValue(name string, depth int) (string, bool) {
	src := ""
	if ce.c != nil {
		for _, d := range ce.c.decls {
			if d.kind == "const" && slices.Contains(d.names, name) {
				src = d.src
			}
		}
	}
	if e := ce.s.store.lookup(name); src == "" && e != nil && e.Kind == "const" {
		src = e.Src
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+src, 0)
	if err != nil || len(f.Decls) != 1 {
		return "", false
	}
	g, ok := f.Decls[0].(*ast.GenDecl)
	if !ok || g.Tok != token.CONST {
		return "", false
	}
	_, ce.repeats = constDecls(f)
	for i, sp := range g.Specs {
		if v, ok := ce.specValue(sp.(*ast.ValueSpec), name, i, depth); ok {
			return v, true
		}
	}
	return "", false
}

// specValue returns the text of the value of constant name of a spec, in
// which iota is iotaVal.
func (ce constEval) specValue(spec *ast.ValueSpec, name string, iotaVal, depth int) (string, bool) {
	values := spec
	if len(spec.Values) == 0 {
		if values = ce.repeats[spec]; values == nil {
			return "", false
		}
	}
	for j, n := range spec.Names {
		if n.Name == name && j < len(values.Values) {
			return ce.value(values.Values[j], values.Type, iotaVal, depth)
		}
	}
	return "", false
}

// value evaluates the value of a constant declared with type typ (nil if
// none) to a literal.
func (ce constEval) value(e, typ ast.Expr, iotaVal, depth int) (string, bool) {
	t, ok := ce.text(e, iotaVal, depth+1)
	if !ok {
		return "", false
	}
	if typ != nil {
		id, ok := typ.(*ast.Ident)
		if !ok || !ce.predeclaredType(id.Name) {
			return "", false
		}
		t = id.Name + "(" + t + ")"
	}
	tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, t)
	if err != nil {
		return "", false
	}
	lit, ok := constLiteral(tv)
	return "(" + lit + ")", ok
}

// pkgConst returns the text of an untyped constant of a package.
func (ce constEval) pkgConst(x *ast.SelectorExpr) (string, bool) {
	id, ok := x.X.(*ast.Ident)
	if !ok || id.Obj != nil || !isPkgKind(ce.kind(id.Name)) {
		return "", false
	}
	p := packages().byPath[ce.s.pkgPath(ce.c, id.Name)]
	if p == nil {
		return "", false
	}
	v, ok := p.syms[x.Sel.Name]
	if !ok || !v.IsValid() || !v.CanInterface() {
		return "", false
	}
	cv, ok := v.Interface().(constant.Value)
	if !ok {
		return "", false
	}
	var t types.Type
	switch cv.Kind() {
	case constant.Bool:
		t = types.Typ[types.UntypedBool]
	case constant.String:
		t = types.Typ[types.UntypedString]
	case constant.Int:
		t = types.Typ[types.UntypedInt]
	case constant.Float:
		t = types.Typ[types.UntypedFloat]
	default:
		return "", false
	}
	lit, ok := constLiteral(types.TypeAndValue{Type: t, Value: cv})
	return "(" + lit + ")", ok
}

// constLiteral writes a constant of a predeclared type as an expression of
// the same type, and kind for an untyped one: 2.5, "a", int8(-3),
// ('\x00' + 97) for an untyped rune, (1.0/3) for an untyped float that a
// decimal cannot write exactly.
func constLiteral(tv types.TypeAndValue) (string, bool) {
	basic, ok := tv.Type.(*types.Basic)
	if !ok || tv.Value == nil {
		return "", false
	}
	v, info := tv.Value, basic.Info()
	var lit string
	switch {
	case info&types.IsBoolean != 0:
		lit = strconv.FormatBool(constant.BoolVal(v))
	case info&types.IsString != 0:
		lit = strconv.Quote(constant.StringVal(v))
	case basic.Kind() == types.UntypedRune:
		return "('\\x00' + " + v.ExactString() + ")", true
	case info&types.IsInteger != 0:
		lit = v.ExactString()
	case info&types.IsFloat != 0:
		lit = floatLiteral(v)
	default:
		return "", false // complex numbers are not ordered
	}
	if info&types.IsUntyped == 0 {
		return basic.Name() + "(" + lit + ")", true
	}
	if strings.HasPrefix(lit, "-") {
		lit = "(" + lit + ")"
	}
	return lit, true
}

// floatLiteral writes a floating-point constant as a decimal literal when
// a float64 holds it exactly, else as a quotient of two integers (exact),
// else (when it is too large or small for a fraction) as the nearest
// float64.
func floatLiteral(v constant.Value) string {
	v = constant.ToFloat(v)
	f, exact := constant.Float64Val(v)
	num, den := constant.Num(v), constant.Denom(v)
	if !exact && num.Kind() == constant.Int && den.Kind() == constant.Int {
		return "(" + num.ExactString() + ".0/" + den.ExactString() + ")"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}
