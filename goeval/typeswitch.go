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
	"strconv"

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
		if via, ok := facts.caseSwitches[keyOf(fset, ts.Switch)]; ok {
			cur.Replace(exprSwitch(ts, func(e ast.Expr) boxCase { return via[keyOf(fset, e.Pos())] }))
		}
		return true
	})
}

// exprSwitch returns the expression switch of ts (see
// rewriteTypeSwitchCases); viaBox tells the cases that look inside a box
// of an error (see typeTest).
func exprSwitch(ts *ast.TypeSwitchStmt, viaBox func(ast.Expr) boxCase) ast.Stmt {
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
			if t := typeTest(v(), e, viaBox(e)); cond == nil {
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
				val = typeValue(v(), cc.List[0], viaBox(cc.List[0]))
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

// boxCase is a case or an assertion of an error type of the session on an
// interface{}, where an error of the type is in a box (typed_errors.go):
// the type as the box names it ("" for other cases), and whether it is an
// empty struct (yaegi cannot assert what a box holds then).
type boxCase struct {
	name  string
	empty bool
}

// emptyStruct reports whether t is a struct without fields.
func emptyStruct(t types.Type) bool {
	s, ok := t.Underlying().(*types.Struct)
	return ok && s.NumFields() == 0
}

// typeTest returns the condition that v holds a value of type t (nil: is
// nil): func() bool { _, ok := v.(T); return ok }(), after, for a case of
// a box, if _, ok := BoxOf(v, "T"); ok { return true }.
func typeTest(v *ast.Ident, t ast.Expr, box boxCase) ast.Expr {
	pos := t.Pos()
	if isNilIdent(t) {
		return &ast.BinaryExpr{X: v, OpPos: pos, Op: token.EQL, Y: ident("nil", pos)}
	}
	id := func(name string) *ast.Ident { return ident(name, pos) }
	var body []ast.Stmt
	if box.name != "" {
		body = append(body, boxed(v, box.name, pos, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{id("true")}}))
	}
	body = append(body,
		assignStmt(pos, token.DEFINE, []ast.Expr{id("_"), id("ok")}, &ast.TypeAssertExpr{X: v, Lparen: pos, Type: t, Rparen: pos}),
		&ast.ReturnStmt{Return: pos, Results: []ast.Expr{id("ok")}})
	return callLit(pos, id("bool"), body)
}

// typeValue returns v.(t), after, for a case of a box, what the box holds:
// func() T { if b, ok := BoxOf(v, "T"); ok { return b.(T) }; return v.(T) }().
func typeValue(v *ast.Ident, t ast.Expr, box boxCase) ast.Expr {
	pos := t.Pos()
	if box.name == "" {
		return &ast.TypeAssertExpr{X: v, Lparen: pos, Type: t, Rparen: pos}
	}
	return callLit(pos, t, []ast.Stmt{
		boxed(v, box.name, pos, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{boxValue(t, box, pos)}}),
		&ast.ReturnStmt{Return: pos, Results: []ast.Expr{&ast.TypeAssertExpr{X: v, Lparen: pos, Type: t, Rparen: pos}}},
	})
}

// boxValue returns __mpigo_b.(T), the value of a box, or for an empty
// struct *new(T) (the only value of the type, which yaegi cannot assert).
func boxValue(t ast.Expr, box boxCase, pos token.Pos) ast.Expr {
	if box.empty {
		return &ast.StarExpr{Star: pos, X: &ast.CallExpr{Fun: ident("new", pos), Lparen: pos, Args: []ast.Expr{t}, Rparen: pos}}
	}
	return &ast.TypeAssertExpr{X: ident("__mpigo_b", pos), Lparen: pos, Type: t, Rparen: pos}
}

// boxed returns: if __mpigo_b, ok := BoxOf(v, "T"); ok { then... }.
func boxed(v *ast.Ident, name string, pos token.Pos, then ...ast.Stmt) ast.Stmt {
	call := &ast.CallExpr{Fun: &ast.SelectorExpr{X: ident(errorsPkg, pos), Sel: ident("BoxOf", pos)}, Lparen: pos,
		Args: []ast.Expr{v, &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(name)}}, Rparen: pos}
	return &ast.IfStmt{If: pos,
		Init: assignStmt(pos, token.DEFINE, []ast.Expr{ident("__mpigo_b", pos), ident("ok", pos)}, call),
		Cond: ident("ok", pos),
		Body: &ast.BlockStmt{Lbrace: pos, List: then, Rbrace: pos}}
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
func (ck *check) collectTypeAsserts(d ast.Decl, w *typeWriter, facts *typedFacts) {
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
				ck.boxAssert(x, w, facts)
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
			ck.caseSwitch(x, operand, w, facts)
		}
		return true
	})
}

// caseSwitch records how a type switch with a case of a session type is
// rewritten, by its operand's type (see rewriteTypeSwitchCases), or
// refuses two of its cases that yaegi cannot tell apart.
func (ck *check) caseSwitch(ts *ast.TypeSwitchStmt, operand ast.Expr, w *typeWriter, facts *typedFacts) {
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
	// On an interface{} in a session that boxes its errors, an error of
	// a session type is in a box: those cases look inside it.
	viaBox := map[posKey]boxCase{}
	empty := t.Underlying().(*types.Interface).NumMethods() == 0
	errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	session := false
	for i, c := range cases {
		if empty && mentionsSessionType(c, ck.pkg, 0) && types.Implements(c, errType) {
			if name, err := w.write(c, at[i].Pos()); err == nil {
				viaBox[keyOf(ck.fset, at[i].Pos())] = boxCase{name, emptyStruct(c)}
			}
		}
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
			facts.sem.caseSwitches = map[posKey]map[posKey]boxCase{}
		}
		facts.sem.caseSwitches[keyOf(ck.fset, ts.Switch)] = viaBox
	}
}

// boxAssert records a type assertion of an interface{} to an error type of
// the session, which looks inside a box of an error first (see
// assertViaBox).
func (ck *check) boxAssert(x *ast.TypeAssertExpr, w *typeWriter, facts *typedFacts) {
	t, ot := ck.info.TypeOf(x.Type), ck.info.TypeOf(x.X)
	if t == nil || ot == nil || types.IsInterface(t) || !mentionsSessionType(t, ck.pkg, 0) {
		return
	}
	iface, ok := ot.Underlying().(*types.Interface)
	errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	if !ok || iface.NumMethods() != 0 || !types.Implements(t, errType) {
		return
	}
	if name, err := w.write(t, x.Type.Pos()); err == nil {
		if facts.sem.boxAsserts == nil {
			facts.sem.boxAsserts = map[posKey]boxCase{}
		}
		facts.sem.boxAsserts[keyOf(ck.fset, x.Lparen)] = boxCase{name, emptyStruct(t)}
	}
}

// assertViaBox returns a type assertion x that looks inside a box of an
// error first (an error of a session type stored in an interface{} is in
// one, and yaegi's assertion does not look inside): a call of a function
// literal of the operand, of two results where x gives two (v, ok :=
// x.(T)).
func assertViaBox(x *ast.TypeAssertExpr, box boxCase, twoResults bool) ast.Expr {
	pos := x.Lparen
	id := func(name string) *ast.Ident { return ident(name, pos) }
	v := id("__mpigo_v")
	assert := func(y ast.Expr) ast.Expr { return &ast.TypeAssertExpr{X: y, Lparen: pos, Type: x.Type, Rparen: pos} }
	var body []ast.Stmt
	results := &ast.FieldList{List: []*ast.Field{{Type: x.Type}}}
	if twoResults {
		results.List = append(results.List, &ast.Field{Type: id("bool")})
		body = []ast.Stmt{
			boxed(v, box.name, pos, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{boxValue(x.Type, box, pos), id("true")}}),
			assignStmt(pos, token.DEFINE, []ast.Expr{id("__mpigo_t"), id("ok")}, assert(v)),
			&ast.ReturnStmt{Return: pos, Results: []ast.Expr{id("__mpigo_t"), id("ok")}},
		}
	} else {
		body = []ast.Stmt{
			boxed(v, box.name, pos, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{boxValue(x.Type, box, pos)}}),
			&ast.ReturnStmt{Return: pos, Results: []ast.Expr{assert(v)}},
		}
	}
	lit := &ast.FuncLit{
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{List: []*ast.Field{{Names: []*ast.Ident{id("__mpigo_v")}, Type: id("any")}}}, Results: results},
		Body: &ast.BlockStmt{Lbrace: pos, List: body, Rbrace: pos},
	}
	return &ast.CallExpr{Fun: lit, Lparen: pos, Args: []ast.Expr{x.X}, Rparen: pos}
}

// twoResults reports whether x is the only value of an assignment or a
// declaration of two variables (v, ok := x).
func twoResults(x ast.Expr, parent ast.Node) bool {
	switch p := parent.(type) {
	case *ast.AssignStmt:
		return len(p.Lhs) == 2 && len(p.Rhs) == 1 && p.Rhs[0] == x
	case *ast.ValueSpec:
		return len(p.Names) == 2 && len(p.Values) == 1 && p.Values[0] == x
	}
	return false
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
