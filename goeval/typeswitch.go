package goeval

// Type switches and type assertions on the notebook's types.
//
// yaegi v0.16's type switches miss cases of types declared in a cell
// where the operand is an empty interface or an interface of a compiled
// package (on an interface declared in a cell they are right): a switch
// without a variable on an any holding a point goes to default, a switch
// on an error holding a *NotFound too, while type assertions get them
// right. Such switches become expression switches over type assertions.
//
// On those operands yaegi cannot tell apart two types with the same
// underlying type (type Add struct{ L, R Expr } and type Mul struct{ L, R
// Expr }): a switch with cases of both is refused.
//
// And a value of a cell's type whose underlying type is a basic one (type
// celsius float64) is stored in an interface as that basic type: a type
// assertion or a case of the type matches a float64 too, and a case
// float64 matches a celsius. Those assertions and cases are refused, with
// the way out: a struct type, or a method of an interface.

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ast/astutil"
)

// typeSwitchVar holds the operand of a rewritten type switch.
const typeSwitchVar = "__mpigo_tsv"

// rewriteTypeSwitchCases turns a type switch with a case of a type the
// session declares into an expression switch over type assertions, which
// yaegi gets right where its type switch does not (a switch on an error
// holding a *NotFound went to default):
//
//	switch e := err.(type) { case *NotFound: A; case nil: B; default: C }
//
// becomes
//
//	switch __v := err; {
//	case func() bool { _, ok := __v.(*NotFound); return ok }(): e := __v.(*NotFound); _ = e; A
//	case __v == nil: e := __v; _ = e; B
//	default: e := __v; _ = e; C
//	}
//
// (in a block with the switch's own init statement, if it has one), so
// that the cases are tried in order and break still ends the switch.
func (s *Session) rewriteTypeSwitchCases(fset *token.FileSet, root ast.Node, c *cellCode) {
	facts := s.semanticFacts(root, c)
	if facts == nil || len(facts.caseSwitches) == 0 {
		return
	}
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		ts, ok := cur.Node().(*ast.TypeSwitchStmt)
		if !ok {
			return true
		}
		if facts.caseSwitches[keyOf(fset, ts.Switch)] {
			cur.Replace(exprSwitch(ts))
		}
		return true
	})
}

// exprSwitch returns the expression switch of ts (see
// rewriteTypeSwitchCases).
func exprSwitch(ts *ast.TypeSwitchStmt) ast.Stmt {
	var bound string // the switch's variable, if any
	var ta *ast.TypeAssertExpr
	switch a := ts.Assign.(type) {
	case *ast.ExprStmt:
		ta = a.X.(*ast.TypeAssertExpr)
	case *ast.AssignStmt:
		ta = a.Rhs[0].(*ast.TypeAssertExpr)
		bound = a.Lhs[0].(*ast.Ident).Name
	}
	pos := ts.Switch
	v := func() *ast.Ident { return ident(typeSwitchVar, pos) }
	sw := &ast.SwitchStmt{Switch: pos, Init: assignStmt(pos, token.DEFINE, []ast.Expr{v()}, ta.X), Body: &ast.BlockStmt{Lbrace: ts.Body.Lbrace, Rbrace: ts.Body.Rbrace}}
	for _, st := range ts.Body.List {
		cc := st.(*ast.CaseClause)
		out := &ast.CaseClause{Case: cc.Case, Colon: cc.Colon}
		// One condition: yaegi misses the later expressions of a case
		// of a tagless switch (case f(), g(): when g() is true).
		var cond ast.Expr
		for _, e := range cc.List {
			if t := typeTest(v(), e); cond == nil {
				cond = t
			} else {
				cond = &ast.BinaryExpr{X: cond, OpPos: e.Pos(), Op: token.LOR, Y: t}
			}
		}
		if cond != nil {
			out.List = []ast.Expr{cond}
		}
		if bound != "" {
			var val ast.Expr = v()
			if len(cc.List) == 1 && !isNilIdent(cc.List[0]) {
				val = &ast.TypeAssertExpr{X: v(), Lparen: cc.Colon, Type: cc.List[0], Rparen: cc.Colon}
			}
			out.Body = append(out.Body,
				assignStmt(cc.Colon, token.DEFINE, []ast.Expr{ident(bound, cc.Colon)}, val),
				assignStmt(cc.Colon, token.ASSIGN, []ast.Expr{ident("_", cc.Colon)}, ident(bound, cc.Colon)))
		}
		out.Body = append(out.Body, cc.Body...)
		sw.Body.List = append(sw.Body.List, out)
	}
	if ts.Init == nil {
		return sw
	}
	return &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{ts.Init, sw}, Rbrace: ts.Body.Rbrace}
}

// typeTest returns the condition that v holds a value of type t (nil: is
// nil): func() bool { _, ok := v.(T); return ok }().
func typeTest(v *ast.Ident, t ast.Expr) ast.Expr {
	pos := t.Pos()
	if isNilIdent(t) {
		return &ast.BinaryExpr{X: v, OpPos: pos, Op: token.EQL, Y: ident("nil", pos)}
	}
	body := []ast.Stmt{
		assignStmt(pos, token.DEFINE, []ast.Expr{ident("_", pos), ident("ok", pos)}, &ast.TypeAssertExpr{X: v, Lparen: pos, Type: t, Rparen: pos}),
		&ast.ReturnStmt{Return: pos, Results: []ast.Expr{ident("ok", pos)}},
	}
	return callLit(pos, ident("bool", pos), body)
}

// callLit returns the call of a function literal without parameters, of
// one result of type result, with body.
func callLit(pos token.Pos, result ast.Expr, body []ast.Stmt) ast.Expr {
	lit := &ast.FuncLit{
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{}, Results: &ast.FieldList{List: []*ast.Field{{Type: result}}}},
		Body: &ast.BlockStmt{Lbrace: pos, List: body, Rbrace: pos},
	}
	return &ast.CallExpr{Fun: lit, Lparen: pos, Rparen: pos}
}

// isNilIdent reports whether e is the identifier nil.
func isNilIdent(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "nil"
}

// mayAssertSessionType reports, without types, whether n has a type
// assertion or a type switch case that names a type of the session.
func (sc *typedScan) mayAssertSessionType(n ast.Node) bool {
	found := false
	isType := func(e ast.Expr) bool {
		id, ok := ast.Unparen(e).(*ast.Ident)
		return ok && sc.kind(id.Name) == "type" && types.Universe.Lookup(id.Name) == nil
	}
	ast.Inspect(n, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.TypeAssertExpr:
			found = found || x.Type != nil && isType(x.Type)
		case *ast.CaseClause:
			for _, e := range x.List {
				found = found || isType(e)
			}
		}
		return !found
	})
	return found
}

// collectTypeAsserts records the refusals of the type assertions and
// cases of d whose type is a session type with a basic underlying type
// that the operand's interface may hold a value of the basic type, or of
// another session type with the same underlying type, in its place (an
// any may; an interface with a method of the type's only may not).
func (ck *check) collectTypeAsserts(d ast.Decl, facts *typedFacts) {
	check := func(e, operand ast.Expr) {
		tv, ok := ck.info.Types[e]
		if !ok || !tv.IsType() {
			return
		}
		n, ok := tv.Type.(*types.Named)
		p, isPtr := tv.Type.(*types.Pointer)
		if isPtr {
			n, ok = p.Elem().(*types.Named)
		}
		if !ok || n.Obj().Pkg() != ck.pkg {
			return
		}
		iface, ok := ck.info.TypeOf(operand).Underlying().(*types.Interface)
		if !ok {
			return
		}
		if b, ok := n.Underlying().(*types.Basic); ok && !isPtr && ck.lookalike(n, b, iface) {
			facts.asserts[keyOf(ck.fset, e.Pos())] = fmt.Sprintf("mpigo cannot tell %s from %s in a type assertion or a type switch: "+
				"the interpreter stores a %s in an interface as a %s; use a struct type (type %s struct{ v %s }) or a method of an interface",
				reflectTypeString(n), b.Name(), reflectTypeString(n), b.Name(), n.Obj().Name(), b.Name())
		}
	}
	ast.Inspect(d, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.TypeAssertExpr:
			if x.Type != nil {
				check(x.Type, x.X)
			}
		case *ast.TypeSwitchStmt:
			var operand ast.Expr
			switch a := x.Assign.(type) {
			case *ast.ExprStmt:
				operand = a.X.(*ast.TypeAssertExpr).X
			case *ast.AssignStmt:
				operand = a.Rhs[0].(*ast.TypeAssertExpr).X
			}
			for _, st := range x.Body.List {
				for _, e := range st.(*ast.CaseClause).List {
					check(e, operand)
				}
			}
			ck.caseSwitch(x, operand, facts)
		}
		return true
	})
}

// caseSwitch records how a type switch with a case of a session type is
// rewritten, by its operand's type (see rewriteTypeSwitchCases), or
// refuses two of its cases that yaegi cannot tell apart.
func (ck *check) caseSwitch(ts *ast.TypeSwitchStmt, operand ast.Expr, facts *typedFacts) {
	t := ck.info.TypeOf(operand)
	if t == nil || !types.IsInterface(t) {
		return
	}
	switch n := t.(type) {
	case *types.Named:
		if n.Obj().Pkg() == ck.pkg {
			return // an interface of the session: yaegi is right
		}
	case *types.Interface:
		if n.NumMethods() > 0 {
			return
		}
	}
	var cases []types.Type
	var at []ast.Expr
	for _, st := range ts.Body.List {
		for _, e := range st.(*ast.CaseClause).List {
			if tv, ok := ck.info.Types[e]; ok && tv.IsType() && !types.IsInterface(tv.Type) {
				cases, at = append(cases, tv.Type), append(at, e)
			}
		}
	}
	session := false
	for i, c := range cases {
		session = session || mentionsSessionType(c, ck.pkg, 0)
		for j := range i {
			if !types.Identical(c, cases[j]) && types.Identical(c.Underlying(), cases[j].Underlying()) {
				facts.asserts[keyOf(ck.fset, at[i].Pos())] = fmt.Sprintf("mpigo cannot tell %s from %s in a type switch on %s: "+
					"the interpreter stores both as %s; switch on an interface of your own with a method each implements",
					reflectTypeString(cases[j]), reflectTypeString(c), reflectTypeString(t), reflectTypeString(c.Underlying()))
				return
			}
		}
	}
	if session {
		if facts.sem.caseSwitches == nil {
			facts.sem.caseSwitches = map[posKey]bool{}
		}
		facts.sem.caseSwitches[keyOf(ck.fset, ts.Switch)] = true
	}
}

// lookalike reports whether an interface iface may hold, where a value of
// n is expected, a value stored the same way: of n's basic underlying type
// b, or of another session type with underlying type b.
func (ck *check) lookalike(n *types.Named, b *types.Basic, iface *types.Interface) bool {
	if types.Implements(b, iface) {
		return true
	}
	for _, t := range ck.sessionTypes() {
		if o, ok := t.(*types.Named); ok && o != n && types.Identical(o.Underlying(), b) && types.Implements(o, iface) {
			return true
		}
	}
	return false
}

// refuseTypeAssert fails the lowering at a refused type (see
// collectTypeAsserts).
func (l *lowering) refuseTypeAssert(e ast.Expr) {
	if why, ok := l.facts.asserts[keyOf(l.fset, e.Pos())]; ok {
		l.fail(e.Pos(), "%s", why)
	}
}

// rewriteTaglessCases joins the expressions of each case of a switch
// without a tag with ||: yaegi v0.16 misses the later ones (switch { case
// x < 0, x > 1: } does not match x == 2), silently. Go tries them in
// order until one is true, as || does.
func rewriteTaglessCases(root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		sw, ok := n.(*ast.SwitchStmt)
		if !ok || sw.Tag != nil {
			return true
		}
		for _, st := range sw.Body.List {
			cc := st.(*ast.CaseClause)
			if len(cc.List) < 2 {
				continue
			}
			cond := cc.List[0]
			for _, e := range cc.List[1:] {
				cond = &ast.BinaryExpr{X: cond, OpPos: e.Pos(), Op: token.LOR, Y: e}
			}
			cc.List = []ast.Expr{cond}
		}
		return true
	})
}
