package goeval

import (
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
	"golang.org/x/tools/go/ast/astutil"
)

// Type switches with a case of an interface type of a compiled package.
//
// yaegi v0.16 matches the cases of a type switch by comparing type names
// in most paths, so that a case of an interface type of a compiled package
// misses values that implement it: `case error` misses the errors of the
// standard library (*errors.errorString, *fs.PathError) always, `case
// fmt.Stringer` misses time.Duration in a switch without a binding, and
// `case any` panics on a nil interface. How a value of an interpreted type
// implements an interface is beyond what the interpreter tells compiled
// code, but a value of a compiled type can be matched exactly: its
// reflect type is the real one. rewriteTypeSwitches lowers such switches
// (on an operand of an empty interface type) to
//
//	L: switch init; x := e.(type) {
//	case A, B: body1
//	case error: body2
//	default: body3
//	}
//
// becomes
//
//	{
//		init
//		__mpigo_vN := e
//		__mpigo_kN := __mpigo_rt.TypeCase(__mpigo_vN, (*A)(nil), __mpigo_rt.CaseEnd, ...)
//		if __mpigo_kN == -2 {
//			switch __mpigo_xN := __mpigo_vN.(type) {
//			case A, B: __mpigo_kN = 0
//			case error: __mpigo_kN = 1
//			default: __mpigo_kN = -1
//			}
//		}
//		L: switch __mpigo_kN {
//		case 0: x := __mpigo_vN; _ = x; body1
//		case 1: x := __mpigo_vN.(error); _ = x; body2
//		default: x := __mpigo_vN; _ = x; body3
//		}
//	}
//
// TypeCase decides for nil and for the values of compiled types (their
// reflect type is a named type of a compiled package, or a pointer to
// one): the first case that is nil, that type, an interface of a
// compiled package it implements or an empty interface. For any other
// value it answers -2, unless a case of the empty interface comes first,
// and the original cases decide, in yaegi's own type switch, as before. Each case is described to TypeCase by the type check
// (typeSwitchFact): a type of a compiled package is passed as (*T)(nil);
// other types (the cell's, unnamed ones, predeclared ones) are never the
// type of such a value and are left out. A switch with a case of an
// interface type of the cell, an interface literal, a type parameter, or a
// type of a package whose reflect type the interpreter does not have, is
// left as it is, and so is one whose label a goto names.

// caseKind is what TypeCase is told about one type of a case.
type caseKind int

const (
	caseNever caseKind = iota // no value of a compiled type has it
	caseNil                   // nil
	caseType                  // a type of a compiled package, or a pointer to one
	caseIface                 // a non-empty interface of a compiled package
	caseAny                   // the empty interface, as the operand's type
)

// typeSwitchFact describes the cases of a type switch that
// rewriteTypeSwitches lowers, clause by clause, type by type.
type typeSwitchFact struct {
	clauses [][]caseKind
}

// mayHaveInterfaceCase reports whether a type switch has a case that may be
// an interface of a compiled package or the empty interface: error, any,
// interface{} or a qualified name.
func mayHaveInterfaceCase(ts *ast.TypeSwitchStmt) bool {
	for _, st := range ts.Body.List {
		cc, ok := st.(*ast.CaseClause)
		if !ok {
			continue
		}
		for _, e := range cc.List {
			switch x := ast.Unparen(e).(type) {
			case *ast.Ident:
				if x.Name == "error" || x.Name == "any" {
					return true
				}
			case *ast.InterfaceType:
				return true
			case *ast.SelectorExpr:
				return true
			}
		}
	}
	return false
}

// typeSwitchGuard returns the operand of a type switch (e in e.(type)) and
// the variable it binds, if any.
func typeSwitchGuard(ts *ast.TypeSwitchStmt) (ast.Expr, *ast.Ident) {
	var ta *ast.TypeAssertExpr
	var bound *ast.Ident
	switch a := ts.Assign.(type) {
	case *ast.ExprStmt:
		ta, _ = a.X.(*ast.TypeAssertExpr)
	case *ast.AssignStmt:
		if len(a.Lhs) == 1 && len(a.Rhs) == 1 {
			ta, _ = a.Rhs[0].(*ast.TypeAssertExpr)
			bound, _ = a.Lhs[0].(*ast.Ident)
			if bound == nil {
				return nil, nil
			}
		}
	}
	if ta == nil || ta.Type != nil {
		return nil, nil
	}
	return ta.X, bound
}

// typeSwitchFact returns the fact of a type switch to lower, or nil.
func (ck *check) typeSwitchFact(ts *ast.TypeSwitchStmt) *typeSwitchFact {
	guard, _ := typeSwitchGuard(ts)
	if guard == nil {
		return nil
	}
	tv, ok := ck.info.Types[guard]
	if !ok || tv.Type == nil {
		return nil
	}
	if gi, ok := types.Unalias(tv.Type).(*types.Interface); !ok || !gi.Empty() {
		return nil
	}
	f := &typeSwitchFact{}
	useful := false
	for _, st := range ts.Body.List {
		cc, ok := st.(*ast.CaseClause)
		if !ok {
			return nil
		}
		kinds := []caseKind{}
		for _, e := range cc.List {
			k, ok := ck.caseKindOf(e, tv.Type)
			if !ok {
				return nil
			}
			useful = useful || k == caseIface || k == caseAny
			kinds = append(kinds, k)
		}
		f.clauses = append(f.clauses, kinds)
	}
	if !useful {
		return nil
	}
	return f
}

// caseKindOf classifies a type of a case; false when the switch cannot be
// lowered because of it.
func (ck *check) caseKindOf(e ast.Expr, guard types.Type) (caseKind, bool) {
	tv, ok := ck.info.Types[e]
	if !ok {
		return 0, false
	}
	if tv.IsNil() {
		return caseNil, true
	}
	if !tv.IsType() || tv.Type == nil {
		return 0, false
	}
	t := types.Unalias(tv.Type)
	if _, ok := t.(*types.TypeParam); ok {
		return 0, false
	}
	if it, ok := t.Underlying().(*types.Interface); ok {
		switch {
		case it.Empty() && types.Identical(t, types.Unalias(guard)):
			return caseAny, true
		case t == types.Universe.Lookup("error").Type():
			return caseIface, true
		}
		if n, ok := t.(*types.Named); ok && ck.compiledType(n) {
			return caseIface, true
		}
		return 0, false
	}
	base := t
	if p, ok := t.(*types.Pointer); ok {
		base = types.Unalias(p.Elem())
	}
	if n, ok := base.(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg() != ck.pkg {
		if ck.compiledType(n) {
			return caseType, true
		}
		return 0, false
	}
	return caseNever, true
}

// compiledTypes are the types of the compiled packages that cells use
// (stdlib.Symbols, package display and the registered packages), by
// "path.Name".
var compiledTypes = (&derived[map[string]bool]{build: func() map[string]bool {
	m := map[string]bool{}
	for _, x := range []interp.Exports{stdlib.Symbols, displaySymbols, registeredExports()} {
		for key, syms := range x {
			path := key[:max(strings.LastIndexByte(key, '/'), 0)]
			for name, v := range syms {
				if v.IsValid() && v.Kind() == reflect.Ptr && v.IsNil() {
					if t := v.Type().Elem(); t.Name() == name && t.PkgPath() == path {
						m[path+"."+name] = true
					}
				}
			}
		}
	}
	return m
}}).get

// compiledType reports whether a named type of another package is a
// compiled type of the interpreter, whose reflect type is the real one.
func (ck *check) compiledType(n *types.Named) bool {
	if n.TypeArgs().Len() > 0 || n.Obj().Pkg() == nil || n.Obj().Pkg() == ck.pkg {
		return false
	}
	return compiledTypes()[n.Obj().Pkg().Path()+"."+n.Obj().Name()]
}

// rewriteTypeSwitches lowers the type switches the type check described
// (see above).
func (s *Session) rewriteTypeSwitches(fset *token.FileSet, root ast.Node, c *cellCode) {
	noteDefinedTypes(root)
	facts := s.semanticFacts(root, c)
	if facts == nil || len(facts.typeSwitches) == 0 {
		return
	}
	gotos := map[string]bool{}
	ast.Inspect(root, func(n ast.Node) bool {
		if b, ok := n.(*ast.BranchStmt); ok && b.Tok == token.GOTO && b.Label != nil {
			gotos[b.Label.Name] = true
		}
		return true
	})
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		var ts *ast.TypeSwitchStmt
		var label *ast.LabeledStmt
		switch x := cur.Node().(type) {
		case *ast.TypeSwitchStmt:
			if _, ok := cur.Parent().(*ast.LabeledStmt); ok {
				return true // with its label
			}
			ts = x
		case *ast.LabeledStmt:
			label = x
			ts, _ = x.Stmt.(*ast.TypeSwitchStmt)
			if ts != nil && gotos[label.Label.Name] {
				return true
			}
		}
		if ts == nil {
			return true
		}
		f := facts.typeSwitches[keyOf(fset, ts.Switch)]
		if f == nil || !f.fits(ts) {
			return true
		}
		cur.Replace(lowerTypeSwitch(fset, ts, label, f))
		return true
	})
}

// fits reports whether the fact describes this switch (a guard against
// stale facts).
func (f *typeSwitchFact) fits(ts *ast.TypeSwitchStmt) bool {
	if guard, _ := typeSwitchGuard(ts); guard == nil || len(ts.Body.List) != len(f.clauses) {
		return false
	}
	for i, st := range ts.Body.List {
		cc, ok := st.(*ast.CaseClause)
		if !ok || len(cc.List) != len(f.clauses[i]) {
			return false
		}
	}
	return true
}

// lowerTypeSwitch builds the replacement of a type switch.
func lowerTypeSwitch(fset *token.FileSet, ts *ast.TypeSwitchStmt, label *ast.LabeledStmt, f *typeSwitchFact) ast.Stmt {
	pos := ts.Switch
	guard, bound := typeSwitchGuard(ts)
	v := posName(fset, "__mpigo_v", pos)
	k := posName(fset, "__mpigo_k", pos)
	id := func(name string) *ast.Ident { return ident(name, pos) }
	num := func(n int) ast.Expr { return &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: strconv.Itoa(n)} }
	neg := func(n int) ast.Expr { return &ast.UnaryExpr{OpPos: pos, Op: token.SUB, X: num(n)} }

	// The arguments of TypeCase, and the cases of the fallback switch.
	args := []ast.Expr{id(v)}
	var fallback []ast.Stmt
	for i, st := range ts.Body.List {
		cc := st.(*ast.CaseClause)
		for j, e := range cc.List {
			switch f.clauses[i][j] {
			case caseNil:
				args = append(args, rtSel(pos, "CaseNil"))
			case caseAny:
				args = append(args, rtSel(pos, "CaseAny"))
			case caseType, caseIface:
				args = append(args, &ast.CallExpr{
					Fun:    &ast.ParenExpr{Lparen: pos, X: &ast.StarExpr{Star: pos, X: cloneExpr(fset, e)}, Rparen: pos},
					Lparen: pos, Args: []ast.Expr{id("nil")}, Rparen: pos,
				})
			}
		}
		args = append(args, rtSel(pos, "CaseEnd"))
		set := num(i)
		if cc.List == nil {
			set = neg(1)
		}
		fallback = append(fallback, &ast.CaseClause{Case: cc.Case, List: cc.List, Colon: cc.Colon,
			Body: []ast.Stmt{assignStmt(pos, token.ASSIGN, []ast.Expr{id(k)}, set)}})
	}
	var assign ast.Stmt = &ast.ExprStmt{X: &ast.TypeAssertExpr{X: id(v), Lparen: pos, Rparen: pos}}
	if bound != nil {
		assign = assignStmt(pos, token.DEFINE, []ast.Expr{id(posName(fset, "__mpigo_x", pos))}, &ast.TypeAssertExpr{X: id(v), Lparen: pos, Rparen: pos})
	}
	ask := &ast.IfStmt{If: pos,
		Cond: &ast.BinaryExpr{X: id(k), OpPos: pos, Op: token.EQL, Y: neg(2)},
		Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{&ast.TypeSwitchStmt{
			Switch: pos, Assign: assign,
			Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: fallback},
		}}},
	}

	// The dispatch: the original clauses, on the number of the case.
	var clauses []ast.Stmt
	for i, st := range ts.Body.List {
		cc := st.(*ast.CaseClause)
		body := cc.Body
		if bound != nil {
			var val ast.Expr = id(v)
			if len(cc.List) == 1 && (f.clauses[i][0] == caseType || f.clauses[i][0] == caseIface || f.clauses[i][0] == caseNever) {
				val = &ast.TypeAssertExpr{X: id(v), Lparen: pos, Type: cloneExpr(fset, cc.List[0]), Rparen: pos}
			}
			x := func() *ast.Ident { return ident(bound.Name, bound.Pos()) }
			body = append([]ast.Stmt{
				assignStmt(pos, token.DEFINE, []ast.Expr{x()}, val),
				assignStmt(pos, token.ASSIGN, []ast.Expr{id("_")}, x()),
			}, body...)
		}
		var list []ast.Expr
		if cc.List != nil {
			list = []ast.Expr{num(i)}
		}
		clauses = append(clauses, &ast.CaseClause{Case: cc.Case, List: list, Colon: cc.Colon, Body: body})
	}
	var dispatch ast.Stmt = &ast.SwitchStmt{Switch: pos, Tag: id(k), Body: &ast.BlockStmt{Lbrace: ts.Body.Lbrace, List: clauses, Rbrace: ts.Body.Rbrace}}
	if label != nil {
		label.Stmt = dispatch
		dispatch = label
	}

	var list []ast.Stmt
	if ts.Init != nil {
		list = append(list, ts.Init)
	}
	list = append(list,
		assignStmt(pos, token.DEFINE, []ast.Expr{id(v)}, guard),
		assignStmt(pos, token.DEFINE, []ast.Expr{id(k)}, &ast.CallExpr{Fun: rtSel(pos, "TypeCase"), Lparen: pos, Args: args, Rparen: pos}),
		ask,
		dispatch,
	)
	return &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: ts.Body.Rbrace}
}

// Markers of the arguments of TypeCase.
type caseMarker int

const (
	caseEndMark caseMarker = iota
	caseNilMark
	caseAnyMark
)

// The markers as variables, for the helper package (CaseEnd, CaseNil,
// CaseAny).
var markEnd, markNil, markAny = caseEndMark, caseNilMark, caseAnyMark

// definedTypes are the names of the compiled types that a type of a cell
// is defined as (type D time.Duration, type P *bytes.Buffer): the
// interpreter gives such a type's values the compiled type, so TypeCase
// cannot tell them from the compiled type's. It only grows, and is shared
// by the sessions of the process: a name there only sends more values to
// the fallback.
var definedTypes sync.Map

// noteDefinedTypes records the compiled types the type declarations of
// root are defined as, by name (without package: a superset is safe).
func noteDefinedTypes(root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		spec, ok := n.(*ast.TypeSpec)
		if !ok || spec.Assign.IsValid() {
			return true
		}
		t := ast.Unparen(spec.Type)
		if st, ok := t.(*ast.StarExpr); ok {
			t = ast.Unparen(st.X)
		}
		switch x := t.(type) {
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		}
		if sel, ok := t.(*ast.SelectorExpr); ok {
			definedTypes.Store(sel.Sel.Name, true)
		}
		return true
	})
}

// yaegiPath is the package path of the interpreter, whose own types
// (valueInterface, the wrappers of interfaces) stand for interpreted values.
const yaegiPath = "github.com/traefik/yaegi"

// compiledValueType reports whether a dynamic type is a named type of a
// compiled package, or a pointer to one, that no interpreted type shares.
func compiledValueType(t reflect.Type) bool {
	if t.Kind() == reflect.Ptr && t.Name() == "" {
		t = t.Elem()
	}
	if t.Name() == "" || t.PkgPath() == "" || strings.HasPrefix(t.PkgPath(), yaegiPath) {
		return false
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	_, defined := definedTypes.Load(name)
	return !defined
}

// typeCase is TypeCase, the helper of the lowered type switches: the
// number of the clause a value selects (cases: the types of each clause,
// then CaseEnd), -1 for none (the default clause), -2 when the value is of
// an interpreted type (the fallback decides).
func typeCase(v any, cases ...any) int {
	if v == nil {
		clause := 0
		for _, c := range cases {
			switch c {
			case caseEndMark:
				clause++
			case caseNilMark:
				return clause
			}
		}
		return -1
	}
	dyn := reflect.TypeOf(v)
	if !compiledValueType(dyn) {
		return anyCase(cases)
	}
	clause := 0
	for _, c := range cases {
		switch c {
		case caseEndMark:
			clause++
			continue
		case caseAnyMark:
			return clause
		case caseNilMark, nil:
			continue
		}
		p := reflect.TypeOf(c)
		if p.Kind() != reflect.Ptr {
			continue
		}
		t := p.Elem()
		if t == dyn || t.Kind() == reflect.Interface && dyn.Implements(t) {
			return clause
		}
	}
	return -1
}

// anyCase returns the clause of a type switch that a non-nil value of an
// interpreted type selects when a case of the empty interface comes before
// any case that may match it, -2 otherwise.
func anyCase(cases []any) int {
	clause := 0
	for _, c := range cases {
		switch c {
		case caseEndMark:
			clause++
		case caseAnyMark:
			return clause
		case caseNilMark:
		default:
			return -2
		}
	}
	return -2
}
