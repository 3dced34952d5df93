package goeval

import (
	"go/ast"
	"go/token"
)

// A use of a generic function whose type arguments go/types inferred gets
// them written out: Map(xs, func(i int) string {...}) becomes
// Map[int, string](xs, func(i int) string {...}). yaegi v0.16 infers type
// arguments itself, but unifies a function literal's type with the wrong
// type parameters ("cannot use type func(int) string as type func(int)
// int"), cannot infer one that only a constraint determines (E of
// S ~[]E: "undefined type for E", in slices.Clone), nor the default type
// of an untyped constant argument (Max(1.5, 2)); with explicit type
// arguments it compiles all of these. Uses whose type arguments cannot be
// written where they are (a type of a package the cell does not import)
// are left as they are.
//
// The top level of a cell (outside function bodies) is compiled by yaegi's
// global analysis, which fails on explicit instantiations of a package's
// generic functions ("not a generic type"; the value of a final
// expression is lost) and on a define from an explicit instantiation
// ("constant definition loop"). There, only functions of the session are
// instantiated, and the call that a define assigns only when its result
// type depends on the type arguments and fixTopLevel cannot type the
// variable otherwise: fixTopLevel then moves the call into a function
// literal. Package functions are instantiated in the function literals
// fixTopLevel makes (rewrite runs after it).

// instantiate returns the replacement of e, an inferred use of a generic
// function, with its type arguments (nil if none or not allowed there),
// and whether the traversal must skip e's children: they are the
// function's name and type arguments, which must not be instantiated
// again. define is the call that a top-level define assigns, when e is its
// function, or nil.
func (l *lowering) instantiate(e ast.Expr, define *ast.CallExpr) (ast.Expr, bool) {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		return l.instantiateName(x, x, define)
	case *ast.SelectorExpr:
		return l.instantiateName(x, x.Sel, define)
	case *ast.IndexExpr:
		return l.completeTypeArgs(x.X, 1, define)
	case *ast.IndexListExpr:
		return l.completeTypeArgs(x.X, len(x.Indices), define)
	}
	return nil, false
}

// instantiateName handles fun, a function named by id, without type
// arguments.
func (l *lowering) instantiateName(fun ast.Expr, id *ast.Ident, define *ast.CallExpr) (ast.Expr, bool) {
	f, ok := l.instFact(id)
	if !ok {
		return nil, false
	}
	if !l.allowed(fun, f, define) {
		return nil, true
	}
	return l.withTypeArgs(fun, f), true
}

// completeTypeArgs handles fun[explicit...]: the replacement when go/types
// inferred more type arguments than the explicit ones.
func (l *lowering) completeTypeArgs(fun ast.Expr, explicit int, define *ast.CallExpr) (ast.Expr, bool) {
	id := funcName(fun)
	if id == nil {
		return nil, false
	}
	f, ok := l.instFact(id)
	if !ok {
		return nil, false
	}
	if explicit >= len(f.targs) || !l.allowed(fun, f, define) {
		return nil, true
	}
	return l.withTypeArgs(fun, f), true
}

// topDefine returns call if its parent makes it the value of a define or
// of a var declaration at the top level of a cell, else nil.
func (l *lowering) topDefine(call *ast.CallExpr, parent ast.Node) *ast.CallExpr {
	if !l.atTop() {
		return nil
	}
	switch p := parent.(type) {
	case *ast.AssignStmt:
		if p.Tok == token.DEFINE {
			return call
		}
	case *ast.ValueSpec:
		return call
	}
	return nil
}

// atTop reports whether the node visited is at the top level of a cell.
func (l *lowering) atTop() bool { return l.top && len(l.funcs) == 0 }

// allowed reports whether a use of a generic function, fun (a name, or a
// package member), may be instantiated where it is (see above). call is
// the call that a top-level define assigns, or nil.
func (l *lowering) allowed(fun ast.Expr, f instFact, call *ast.CallExpr) bool {
	if !l.atTop() {
		return true
	}
	if call != nil {
		return f.resultGeneric && !l.typable(call) // the call moves into a function literal
	}
	_, member := ast.Unparen(fun).(*ast.SelectorExpr)
	return !member
}

// typable reports whether fixTopLevel can type the variables of a define
// from a generic call as it is written: it then uses an argument of the
// result's type (yaegi v0.16 mistypes the other way, *new(T), when the
// define redefines a variable that the call uses), and the call, moved
// into a function literal, is instantiated there.
func (l *lowering) typable(call *ast.CallExpr) bool {
	ft, targs := l.sig(call.Fun)
	if ft == nil {
		return false
	}
	for i := range fieldTypes(ft.Results) {
		if _, err := typingExpr(l.fset, call, i, ft, targs, l.kind); err != nil {
			return false
		}
	}
	return true
}

// instFact returns the instantiation fact of a function name.
func (l *lowering) instFact(id *ast.Ident) (instFact, bool) {
	f, ok := l.facts.insts[keyOf(l.fset, id.Pos())]
	return f, ok && f.name == id.Name
}

// withTypeArgs returns fun[targs...] at fun's position (fun itself if a
// type argument does not parse, which the check rules out).
func (l *lowering) withTypeArgs(fun ast.Expr, f instFact) ast.Expr {
	at := l.fset.Position(fun.Pos())
	var args []ast.Expr
	for _, s := range f.targs {
		t, err := reparse(l.fset, at, s)
		if err != nil {
			return fun
		}
		args = append(args, t)
	}
	end := fun.End()
	if len(args) == 1 {
		return &ast.IndexExpr{X: fun, Lbrack: end, Index: args[0], Rbrack: end}
	}
	return &ast.IndexListExpr{X: fun, Lbrack: end, Indices: args, Rbrack: end}
}
