package goeval

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ast/astutil"
)

// yaegi v0.16 compiles the top level of a cell (the body of its REPL
// pseudo-main) through its global type analysis, which cannot type several
// forms: a comma-ok define (v, ok := m[k], x.(T), <-ch), a define from a call
// of a generic function whose result type depends on its type parameters
// (z := Max(a, b)), a type switch with a binding, a select case that defines
// variables, and a return statement. Some crash the compiler, others leave
// the variables undefined. fixTopLevel rewrites the top-level statements
// around them:
//
//   - a compound statement (if, for, switch, select, block) that contains one
//     of these forms runs in a function literal called at once: what it
//     defines is local to it anyway;
//   - a top-level define whose type yaegi cannot find is split into a define
//     with values of the right types that yaegi can type (the map index
//     itself, *new(T) for an assertion or a generic result whose type does
//     not depend on inference, or the argument whose type parameter the
//     result has), then an assignment of the real values in a function
//     literal, where yaegi compiles them correctly;
//   - return ends the cell (it panics with a value Eval recognises), and
//     defer registers its call to run when the cell ends: yaegi would run a
//     top-level defer again at the end of every later cell.
//
// What it cannot rewrite is reported as a compile error that says how to
// write it instead.

// sigFunc returns the signature of the generic function a call's function
// expression names, and the explicit type arguments, or nil.
type sigFunc func(fun ast.Expr) (*ast.FuncType, []ast.Expr)

// sigOf returns the generic signature resolver of a cell.
func (s *Session) sigOf(c *cellCode) sigFunc {
	kind := s.kindOf(c)
	return func(fun ast.Expr) (*ast.FuncType, []ast.Expr) {
		var targs []ast.Expr
		switch f := ast.Unparen(fun).(type) {
		case *ast.IndexExpr:
			targs, fun = []ast.Expr{f.Index}, f.X
		case *ast.IndexListExpr:
			targs, fun = f.Indices, f.X
		}
		switch f := ast.Unparen(fun).(type) {
		case *ast.Ident:
			if f.Obj != nil && f.Obj.Kind != ast.Fun || kind(f.Name) != "func" {
				return nil, nil
			}
			if ft := c.generics[f.Name]; ft != nil {
				return ft, targs
			}
			if e := s.store.get(f.Name); e != nil && e.sig != nil {
				return e.sig, targs
			}
		case *ast.SelectorExpr:
			x, ok := f.X.(*ast.Ident)
			if !ok || x.Obj != nil || !isPkgKind(kind(x.Name)) {
				return nil, nil
			}
			if p := packages().byPath[s.pkgPath(c, x.Name)]; p != nil {
				if m, ok := p.generic[f.Sel.Name]; ok && m.sig != nil {
					return m.sig, targs
				}
			}
		}
		return nil, nil
	}
}

// typeParams returns the type parameter names of a generic signature.
func typeParams(ft *ast.FuncType) []string {
	var names []string
	if ft.TypeParams != nil {
		for _, f := range ft.TypeParams.List {
			for _, n := range f.Names {
				names = append(names, n.Name)
			}
		}
	}
	return names
}

// fieldTypes flattens a field list into one type per value.
func fieldTypes(fl *ast.FieldList) []ast.Expr {
	var out []ast.Expr
	if fl == nil {
		return nil
	}
	for _, f := range fl.List {
		n := max(len(f.Names), 1)
		for range n {
			out = append(out, f.Type)
		}
	}
	return out
}

// mentions reports whether e refers to one of names.
func mentions(e ast.Node, names []string) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			for _, name := range names {
				if id.Name == name {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// inferred reports whether a generic signature has a result whose type
// depends on its type parameters.
func inferred(ft *ast.FuncType) bool {
	tps := typeParams(ft)
	for _, r := range fieldTypes(ft.Results) {
		if mentions(r, tps) {
			return true
		}
	}
	return false
}

// inferredCall reports whether e is a call of a generic function with an
// inferred result type and no explicit type arguments for all its type
// parameters.
func inferredCall(e ast.Expr, sig sigFunc) (*ast.CallExpr, *ast.FuncType, []ast.Expr, bool) {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok {
		return nil, nil, nil, false
	}
	ft, targs := sig(call.Fun)
	if ft == nil || !inferred(ft) {
		return nil, nil, nil, false
	}
	return call, ft, targs, true
}

// walkNoFunc visits the nodes under n, function literals excluded.
func walkNoFunc(n ast.Node, f func(ast.Node) bool) {
	ast.Inspect(n, func(m ast.Node) bool {
		if _, ok := m.(*ast.FuncLit); ok {
			return false
		}
		return f(m)
	})
}

// containsInferred reports whether n (function literals excluded) calls a
// generic function with an inferred result type.
func containsInferred(n ast.Node, sig sigFunc) bool {
	found := false
	walkNoFunc(n, func(m ast.Node) bool {
		if e, ok := m.(ast.Expr); ok {
			if _, _, _, ok := inferredCall(e, sig); ok {
				found = true
			}
		}
		return !found
	})
	return found
}

// needsWrap reports whether a top-level compound statement holds a form the
// top level cannot compile.
func needsWrap(st ast.Stmt, sig sigFunc) bool {
	found, hasGoto := false, false
	walkNoFunc(st, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AssignStmt:
			if x.Tok == token.DEFINE && len(x.Lhs) > len(x.Rhs) {
				found = true
			}
		case *ast.TypeSwitchStmt:
			if _, ok := x.Assign.(*ast.AssignStmt); ok {
				found = true
			}
		case *ast.CommClause:
			if a, ok := x.Comm.(*ast.AssignStmt); ok && a.Tok == token.DEFINE {
				found = true
			}
		case *ast.BranchStmt:
			if x.Tok == token.GOTO {
				hasGoto = true
			}
		case ast.Expr:
			if _, _, _, ok := inferredCall(x, sig); ok {
				found = true
			}
		}
		return true
	})
	return found && !hasGoto
}

// fixTopLevel rewrites the top-level statements of a statement group (see
// above); it returns a compile error for what it cannot rewrite.
func (s *Session) fixTopLevel(fset *token.FileSet, c *cellCode, body *ast.BlockStmt) error {
	sig := s.sigOf(c)
	var out []ast.Stmt
	kind := s.kindOf(c)
	for _, st := range body.List {
		st = replaceExits(st, kind)
		if x, ok := st.(*ast.AssignStmt); ok && x.Tok == token.DEFINE {
			repl, err := s.fixDefine(fset, c, x, sig)
			if err != nil {
				return err
			}
			if repl != nil {
				out = append(out, repl...)
				continue
			}
		}
		out = append(out, wrapCompound(st, sig))
	}
	body.List = out
	return nil
}

// wrapCompound runs a top-level compound statement (if, for, switch,
// select, a block, a labelled one) that needsWrap in a function literal
// called at once; any other statement is returned as it is.
func wrapCompound(st ast.Stmt, sig sigFunc) ast.Stmt {
	switch st.(type) {
	case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt, *ast.BlockStmt, *ast.LabeledStmt:
		if needsWrap(st, sig) {
			return callNow(st.Pos(), st.End()-1, []ast.Stmt{st})
		}
	}
	return st
}

// callNow returns the statement func() { list }().
func callNow(pos, end token.Pos, list []ast.Stmt) ast.Stmt {
	return &ast.ExprStmt{X: &ast.CallExpr{
		Fun: &ast.FuncLit{
			Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
			Body: &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: end},
		},
		Lparen: end, Rparen: end,
	}}
}

// stopCell is the panic value of a return at the top level of a cell.
type stopCell struct{}

// replaceExits rewrites the return and defer statements of a top-level
// statement (function literals excluded): return ends the cell (it panics
// with __mpigo_rt.StopCell), defer registers its call to run when the cell
// ends (see deferReplacement).
func replaceExits(st ast.Stmt, kind kindFunc) ast.Stmt {
	out := astutil.Apply(st, func(c *astutil.Cursor) bool {
		_, isFunc := c.Node().(*ast.FuncLit)
		return !isFunc
	}, func(c *astutil.Cursor) bool {
		switch x := c.Node().(type) {
		case *ast.ReturnStmt:
			c.Replace(stopStmt(x.Pos()))
		case *ast.DeferStmt:
			c.Replace(deferReplacement(x, kind))
		}
		return true
	})
	return out.(ast.Stmt)
}

// stopStmt returns panic(__mpigo_rt.StopCell) at pos.
func stopStmt(pos token.Pos) ast.Stmt {
	return &ast.ExprStmt{X: &ast.CallExpr{
		Fun:    &ast.Ident{NamePos: pos, Name: "panic"},
		Lparen: pos,
		Args:   []ast.Expr{&ast.SelectorExpr{X: &ast.Ident{NamePos: pos, Name: rtName}, Sel: &ast.Ident{NamePos: pos, Name: "StopCell"}}},
		Rparen: pos,
	}}
}

// fixDefine rewrites a top-level define yaegi cannot type (nil: keep it).
func (s *Session) fixDefine(fset *token.FileSet, c *cellCode, d *ast.AssignStmt, sig sigFunc) ([]ast.Stmt, error) {
	kind := s.kindOf(c)
	pos := d.Pos()
	fail := func(why string) error {
		p := fset.Position(pos)
		msg := fmt.Sprintf("%s: yaegi cannot define %s at the top level of a cell: %s; declare the variable first (var x T) and assign it, or move this code into a function", posString(p), exprList(d.Lhs), why)
		e := newCompileError(msg, 0, 0)
		if p.Filename == fmt.Sprintf("cell[%d]/%s", c.no, srcName) {
			e.Line, e.Col = p.Line, p.Column
		}
		return e
	}
	// The values whose types yaegi can find, and the assignments to do in
	// a function literal.
	var inits []ast.Expr
	var assignL, assignR []ast.Expr
	var pre []ast.Stmt // temporaries evaluated first
	switch {
	case len(d.Rhs) == len(d.Lhs):
		for i, r := range d.Rhs {
			call, ft, targs, ok := inferredCall(r, sig)
			if !ok {
				if containsInferred(r, sig) {
					return nil, fail("the type of an expression with a call of a generic function is inferred")
				}
				inits = append(inits, r)
				continue
			}
			if len(fieldTypes(ft.Results)) != 1 {
				return nil, nil // a compile error anyway
			}
			init, err := typingExpr(fset, call, 0, ft, targs, kind)
			if err != nil {
				return nil, fail(err.Error())
			}
			inits = append(inits, init)
			assignL = append(assignL, d.Lhs[i])
			assignR = append(assignR, r)
		}
		if len(assignL) == 0 {
			return nil, nil
		}
	case len(d.Rhs) == 1:
		r := ast.Unparen(d.Rhs[0])
		switch x := r.(type) {
		case *ast.CallExpr:
			call, ft, targs, ok := inferredCall(x, sig)
			if !ok {
				return nil, nil
			}
			for i := range d.Lhs {
				init, err := typingExpr(fset, call, i, ft, targs, kind)
				if err != nil {
					return nil, fail(err.Error())
				}
				inits = append(inits, init)
			}
		case *ast.IndexExpr: // v, ok := m[k]
			// The map and the key are evaluated once, before.
			for i, e := range []*ast.Expr{&x.X, &x.Index} {
				if pureExpr(*e) || constLike(*e, kind) {
					continue
				}
				tmp := fmt.Sprintf("__mpigo_k%d", i)
				pre = append(pre, &ast.AssignStmt{Lhs: []ast.Expr{ident(tmp, (*e).Pos())}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{*e}})
				*e = ident(tmp, (*e).Pos())
			}
			inits = []ast.Expr{cloneExpr(fset, x), &ast.Ident{NamePos: pos, Name: "false"}}
		case *ast.TypeAssertExpr: // v, ok := x.(T)
			if x.Type == nil {
				return nil, nil
			}
			init, err := reparse(fset, fset.Position(x.Type.Pos()), "*new("+types.ExprString(x.Type)+")")
			if err != nil {
				return nil, fail(err.Error())
			}
			inits = []ast.Expr{init, &ast.Ident{NamePos: pos, Name: "false"}}
		case *ast.UnaryExpr:
			if x.Op != token.ARROW || len(d.Lhs) != 2 {
				return nil, nil
			}
			if id, ok := d.Lhs[0].(*ast.Ident); !ok || id.Name != "_" {
				return nil, fail("the type of a comma-ok receive is not known there")
			}
			inits = []ast.Expr{&ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: "0"}, &ast.Ident{NamePos: pos, Name: "false"}}
		default:
			return nil, nil
		}
		if len(inits) != len(d.Lhs) {
			return nil, nil
		}
		assignL, assignR = d.Lhs, d.Rhs
	default:
		return nil, nil
	}

	// Values of the variables being redefined that the right side uses are
	// saved first: the define replaces them.
	out := pre
	renames := map[string]string{}
	for _, l := range d.Lhs {
		id, ok := l.(*ast.Ident)
		if !ok || id.Name == "_" {
			continue
		}
		for _, r := range append(append([]ast.Expr(nil), assignR...), inits...) {
			if usesName(r, id.Name) {
				tmp := fmt.Sprintf("__mpigo_o%d", len(renames))
				renames[id.Name] = tmp
				out = append(out, &ast.AssignStmt{Lhs: []ast.Expr{&ast.Ident{NamePos: pos, Name: tmp}}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{&ast.Ident{NamePos: pos, Name: id.Name}}})
				break
			}
		}
	}
	for _, e := range append(append([]ast.Expr(nil), assignR...), inits...) {
		renameUses(e, renames)
	}
	allBlank := true
	for _, l := range d.Lhs {
		if id, ok := l.(*ast.Ident); !ok || id.Name != "_" {
			allBlank = false
		}
	}
	if !allBlank {
		out = append(out, &ast.AssignStmt{Lhs: d.Lhs, TokPos: d.TokPos, Tok: token.DEFINE, Rhs: inits})
	}
	lhs := make([]ast.Expr, len(assignL))
	for i, l := range assignL {
		lhs[i] = &ast.Ident{NamePos: l.Pos(), Name: l.(*ast.Ident).Name}
	}
	assign := &ast.AssignStmt{Lhs: lhs, TokPos: d.TokPos, Tok: token.ASSIGN, Rhs: assignR}
	out = append(out, callNow(pos, d.End()-1, []ast.Stmt{assign}))
	return out, nil
}

// typingExpr returns an expression, without side effects, of the type of
// result i of a generic call: *new(R) when R needs no inference (or the call
// gives every type argument), else the argument of a parameter whose type is
// R.
func typingExpr(fset *token.FileSet, call *ast.CallExpr, i int, ft *ast.FuncType, targs []ast.Expr, kind kindFunc) (ast.Expr, error) {
	results := fieldTypes(ft.Results)
	if i >= len(results) {
		return nil, fmt.Errorf("too many variables")
	}
	r := results[i]
	tps := typeParams(ft)
	at := fset.Position(call.Pos())
	if !mentions(r, tps) {
		return reparse(fset, at, "*new("+types.ExprString(r)+")")
	}
	if len(targs) == len(tps) {
		sub := map[string]string{}
		for j, tp := range tps {
			sub[tp] = types.ExprString(targs[j])
		}
		return reparse(fset, at, "*new("+substitute(r, sub)+")")
	}
	params := fieldTypes(ft.Params)
	want := types.ExprString(r)
	for j, p := range params {
		if _, ok := p.(*ast.Ellipsis); ok || j >= len(call.Args) || types.ExprString(p) != want {
			continue
		}
		a := call.Args[j]
		if pureExpr(a) && !constLike(a, kind) {
			return cloneExpr(fset, a), nil
		}
	}
	return nil, fmt.Errorf("its type is inferred from the generic call %s", types.ExprString(call.Fun))
}

// substitute prints a type expression with type parameters replaced.
func substitute(e ast.Expr, sub map[string]string) string {
	cp := cloneAST(e)
	ast.Inspect(cp, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if s, ok := sub[id.Name]; ok {
				id.Name = "(" + s + ")"
			}
		}
		return true
	})
	return types.ExprString(cp)
}

// cloneAST copies an expression by printing and parsing it (positions lost).
func cloneAST(e ast.Expr) ast.Expr {
	x, err := parser.ParseExpr(types.ExprString(e))
	if err != nil {
		return e
	}
	return x
}

// cloneExpr copies an expression into fset at its own position.
func cloneExpr(fset *token.FileSet, e ast.Expr) ast.Expr {
	x, err := reparse(fset, fset.Position(e.Pos()), types.ExprString(e))
	if err != nil {
		return e
	}
	return x
}

// reparse parses an expression into fset so that it is at position at.
func reparse(fset *token.FileSet, at token.Position, expr string) (ast.Expr, error) {
	src := fmt.Sprintf("/*line %s:%d:%d*/%s", at.Filename, at.Line, at.Column, expr)
	return parser.ParseExprFrom(fset, srcName, src, 0)
}

// usesName reports whether an expression refers to name (field and method
// names excluded).
func usesName(e ast.Expr, name string) bool {
	found := false
	inspectRefs(e, func(id *ast.Ident) {
		if id.Name == name {
			found = true
		}
	})
	return found
}

// renameUses renames the references of an expression.
func renameUses(e ast.Expr, renames map[string]string) {
	if len(renames) == 0 {
		return
	}
	inspectRefs(e, func(id *ast.Ident) {
		if n, ok := renames[id.Name]; ok {
			id.Name = n
		}
	})
}

// inspectRefs calls f for the identifiers of e that refer to something
// (not selected field or method names, not composite literal keys).
func inspectRefs(e ast.Expr, f func(*ast.Ident)) {
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(x.X, visit)
			return false
		case *ast.KeyValueExpr:
			if _, ok := x.Key.(*ast.Ident); !ok {
				ast.Inspect(x.Key, visit)
			}
			ast.Inspect(x.Value, visit)
			return false
		case *ast.Ident:
			f(x)
		}
		return true
	}
	ast.Inspect(e, visit)
}

// exprList prints expressions separated by commas.
func exprList(list []ast.Expr) string {
	s := ""
	for i, e := range list {
		if i > 0 {
			s += ", "
		}
		s += types.ExprString(e)
	}
	return s
}

// checkDeclInferred reports a package-level var initialized with a call of
// a generic function whose result type is inferred: yaegi v0.16 compiles it
// but the variable keeps its zero value.
func (s *Session) checkDeclInferred(fset *token.FileSet, c *cellCode, f *ast.File) error {
	sig := s.sigOf(c)
	vs := varSpecWith(f, func(v ast.Expr) bool { return containsInferred(v, sig) })
	if vs == nil {
		return nil
	}
	p := fset.Position(vs.Pos())
	msg := fmt.Sprintf("%s: yaegi cannot initialize a package-level var with a call of a generic function whose result type is inferred; define it in a statement instead (%s := ...)", posString(p), vs.Names[0].Name)
	e := newCompileError(msg, 0, 0)
	if p.Filename == fmt.Sprintf("cell[%d]/%s", c.no, srcName) {
		e.Line, e.Col = p.Line, p.Column
	}
	return e
}

// varSpecWith returns the first package-level var spec of f with a value
// for which pred holds, or nil.
func varSpecWith(f *ast.File, pred func(ast.Expr) bool) *ast.ValueSpec {
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			for _, v := range vs.Values {
				if pred(v) {
					return vs
				}
			}
		}
	}
	return nil
}
