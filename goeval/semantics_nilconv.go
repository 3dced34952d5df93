package goeval

import (
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// Nil pointers of the cell's types in interfaces of compiled packages.
//
// In Go, an interface that holds a nil pointer is not nil: a function that
// returns a nil *MyErr as an error returns an error that is not nil. yaegi
// v0.16 represents a value of an interpreted type in an interface of a
// compiled package (error, fmt.Stringer, io.Reader...) by a wrapper that
// it makes only for a value that is not nil: a nil pointer (or a nil map,
// slice, function or channel) becomes the nil interface, which compares
// equal to nil (yaegi's genInterfaceWrapper). No rewrite can give the
// interface the pointer, so the conversion refuses at run time, when the
// value is nil:
//
//	return p          // p *MyErr, the result an error
//
// becomes
//
//	return func(__mpigo_p *MyErr) error {
//		if __mpigo_p == nil {
//			panic(__mpigo_rt.NilInterface("*main.MyErr", "error"))
//		}
//		return __mpigo_p
//	}(p)
//
// so that the cell fails with a message that says why, where Go's answer
// and yaegi's would differ, instead of going on with the wrong one. The
// conversions are found by the type check: a value of a pointer, map,
// slice, function or channel type of the cell (or a pointer to one), given
// to a non-empty interface type of a compiled package by
// a return, an assignment, a var declaration with a type, an argument, an
// element of a composite literal, a send or a conversion. A value that is
// never nil (&T{...}, new(T), make, a literal) and a value assigned to the
// blank identifier (var _ error = (*T)(nil)) are left alone. Cells are
// type-checked for this only when they name a type that has methods.

// nilConvFact is a conversion to check, by the position of its operand.
type nilConvFact struct {
	expr   string // the operand, as types.ExprString writes it: a guard
	typ    string // its type, as Go source valid there
	target string // the interface type, as Go source valid there
	what   string // its type, for the message
	iface  string // the interface type, for the message
}

// nilInterfaceError is the panic value of a refused conversion.
type nilInterfaceError struct{ what, iface string }

// Error implements error.
func (e *nilInterfaceError) Error() string {
	return "mpigo cannot convert a nil " + e.what + " to " + e.iface + ": yaegi would make it a nil " + e.iface +
		", equal to nil, where Go keeps the pointer; use nil itself, or a value that is not nil"
}

// nilInterface is NilInterface, the helper of the checked conversions.
func nilInterface(what, iface string) error { return &nilInterfaceError{what, iface} }

// methodTypes returns the names of the types of the session and of the
// cell that have methods (nil when none).
func (sc *typedScan) methodTypes() map[string]bool {
	if sc.methodNames != nil {
		return sc.methodNames
	}
	m := map[string]bool{}
	add := func(key string) {
		if i := strings.IndexByte(key, '.'); i > 0 {
			m[key[:i]] = true
		}
	}
	for _, e := range sc.s.store.list() {
		if e.Kind == "func" {
			add(e.key)
		}
	}
	if sc.c != nil {
		for _, d := range sc.c.decls {
			if d.kind == "func" {
				add(d.key)
			}
		}
	}
	sc.methodNames = m
	return m
}

// collectNilConvs records the conversions of d to check.
func (ck *check) collectNilConvs(d ast.Decl, facts *semanticFacts) {
	w := &typeWriter{pkg: ck.pkg, imports: ck.imports}
	var stack []ast.Node
	site := func(e ast.Expr, target types.Type) {
		if fact, ok := ck.nilConv(e, target, w); ok {
			if facts.nilConvs == nil {
				facts.nilConvs = map[posKey]nilConvFact{}
			}
			facts.nilConvs[keyOf(ck.fset, e.Pos())] = fact
		}
	}
	typeOf := func(e ast.Expr) types.Type {
		if tv, ok := ck.info.Types[e]; ok {
			return tv.Type
		}
		return nil
	}
	ast.Inspect(d, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch x := n.(type) {
		case *ast.ReturnStmt:
			sig := enclosingSig(stack, ck.info)
			if sig != nil && sig.Results().Len() == len(x.Results) {
				for i, r := range x.Results {
					site(r, sig.Results().At(i).Type())
				}
			}
		case *ast.AssignStmt:
			if x.Tok == token.ASSIGN && len(x.Lhs) == len(x.Rhs) {
				for i, l := range x.Lhs {
					if !isBlank(l) {
						site(x.Rhs[i], typeOf(l))
					}
				}
			}
		case *ast.ValueSpec:
			if x.Type != nil && len(x.Values) == len(x.Names) {
				for i, v := range x.Values {
					if x.Names[i].Name != "_" {
						site(v, typeOf(x.Type))
					}
				}
			}
		case *ast.SendStmt:
			if ch, ok := under(typeOf(x.Chan)).(*types.Chan); ok {
				site(x.Value, ch.Elem())
			}
		case *ast.CallExpr:
			ck.callSites(x, site)
		case *ast.CompositeLit:
			compositeSites(x, typeOf(x), site)
		}
		return true
	})
}

// isBlank reports whether e is the blank identifier.
func isBlank(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "_"
}

// under returns the underlying type of t, nil for nil.
func under(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	return t.Underlying()
}

// enclosingSig returns the signature of the innermost function of a stack
// of nodes.
func enclosingSig(stack []ast.Node, info *types.Info) *types.Signature {
	for i := len(stack) - 1; i >= 0; i-- {
		switch f := stack[i].(type) {
		case *ast.FuncLit:
			if tv, ok := info.Types[f]; ok {
				sig, _ := tv.Type.(*types.Signature)
				return sig
			}
			return nil
		case *ast.FuncDecl:
			if obj, ok := info.Defs[f.Name].(*types.Func); ok {
				return obj.Signature()
			}
			return nil
		}
	}
	return nil
}

// callSites reports the arguments of a call, or the operand of a
// conversion, with the types they are given to.
func (ck *check) callSites(call *ast.CallExpr, site func(ast.Expr, types.Type)) {
	tv, ok := ck.info.Types[call.Fun]
	if !ok || tv.Type == nil {
		return
	}
	if tv.IsType() {
		if len(call.Args) == 1 {
			site(call.Args[0], tv.Type)
		}
		return
	}
	if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok {
		if b, ok := ck.info.Uses[id].(*types.Builtin); ok {
			if b.Name() == "append" && len(call.Args) > 1 && !call.Ellipsis.IsValid() {
				if s, ok := under(ck.info.Types[call].Type).(*types.Slice); ok {
					for _, a := range call.Args[1:] {
						site(a, s.Elem())
					}
				}
			}
			return
		}
	}
	sig, ok := tv.Type.Underlying().(*types.Signature)
	if !ok {
		return
	}
	params := sig.Params()
	for i, a := range call.Args {
		switch {
		case sig.Variadic() && i >= params.Len()-1:
			if call.Ellipsis.IsValid() {
				continue
			}
			if s, ok := params.At(params.Len() - 1).Type().(*types.Slice); ok {
				site(a, s.Elem())
			}
		case i < params.Len():
			site(a, params.At(i).Type())
		}
	}
}

// compositeSites reports the elements of a composite literal with the
// types they are given to.
func compositeSites(lit *ast.CompositeLit, t types.Type, site func(ast.Expr, types.Type)) {
	switch u := under(t).(type) {
	case *types.Struct:
		for i, el := range lit.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok {
					for j := range u.NumFields() {
						if u.Field(j).Name() == k.Name {
							site(kv.Value, u.Field(j).Type())
						}
					}
				}
			} else if i < u.NumFields() {
				site(el, u.Field(i).Type())
			}
		}
	case *types.Slice:
		elementSites(lit, nil, u.Elem(), site)
	case *types.Array:
		elementSites(lit, nil, u.Elem(), site)
	case *types.Map:
		elementSites(lit, u.Key(), u.Elem(), site)
	}
}

// elementSites reports the elements (and map keys) of a literal of a
// slice, array or map.
func elementSites(lit *ast.CompositeLit, key, elem types.Type, site func(ast.Expr, types.Type)) {
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if key != nil {
				site(kv.Key, key)
			}
			site(kv.Value, elem)
		} else {
			site(el, elem)
		}
	}
}

// nilConv returns the fact of a conversion of e to target when it must be
// checked.
func (ck *check) nilConv(e ast.Expr, target types.Type, w *typeWriter) (nilConvFact, bool) {
	if target == nil {
		return nilConvFact{}, false
	}
	t := types.Unalias(target)
	it, ok := t.Underlying().(*types.Interface)
	if !ok || it.Empty() {
		return nilConvFact{}, false
	}
	if n, ok := t.(*types.Named); !ok || t != types.Universe.Lookup("error").Type() && !ck.compiledType(n) {
		return nilConvFact{}, false
	}
	tv, ok := ck.info.Types[e]
	if !ok || tv.Type == nil || tv.IsNil() {
		return nilConvFact{}, false
	}
	src := tv.Type
	switch src.Underlying().(type) {
	case *types.Pointer, *types.Map, *types.Slice, *types.Signature, *types.Chan:
	default:
		return nilConvFact{}, false
	}
	if !cellType(src, ck.pkg) || neverNil(e, ck.info) {
		return nilConvFact{}, false
	}
	written, err := w.write(src, e.Pos())
	if err != nil {
		return nilConvFact{}, false
	}
	iface, err := w.write(target, e.Pos())
	if err != nil {
		return nilConvFact{}, false
	}
	return nilConvFact{expr: types.ExprString(e), typ: written, target: iface, what: typeName(src), iface: typeName(t)}, true
}

// cellType reports whether t is a type of the cells (pkg) or a pointer to
// one: a type yaegi interprets.
func cellType(t types.Type, pkg *types.Package) bool {
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() == pkg
}

// neverNil reports whether an expression is visibly not nil: &T{...},
// new(T), make(...), a literal, or a conversion of one.
func neverNil(e ast.Expr, info *types.Info) bool {
	switch x := ast.Unparen(e).(type) {
	case *ast.UnaryExpr:
		return x.Op == token.AND
	case *ast.CompositeLit, *ast.FuncLit:
		return true
	case *ast.CallExpr:
		if tv, ok := info.Types[x.Fun]; ok && tv.IsType() && len(x.Args) == 1 {
			return neverNil(x.Args[0], info)
		}
		if id, ok := ast.Unparen(x.Fun).(*ast.Ident); ok {
			if b, ok := info.Uses[id].(*types.Builtin); ok {
				return b.Name() == "new" || b.Name() == "make"
			}
		}
	}
	return false
}

// rewriteNilConvs wraps the conversions the type check found (see above).
func (s *Session) rewriteNilConvs(fset *token.FileSet, root ast.Node, c *cellCode) {
	facts := s.semanticFacts(root, c)
	if facts == nil || len(facts.nilConvs) == 0 {
		return
	}
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		e, ok := cur.Node().(ast.Expr)
		if !ok {
			return true
		}
		f, ok := facts.nilConvs[keyOf(fset, e.Pos())]
		if !ok || types.ExprString(e) != f.expr {
			return true
		}
		if isBox(cur.Parent()) {
			return true // boxed for error (typed_errors.go): a nil pointer stays one
		}
		if repl := nilCheck(fset, e, f); repl != nil {
			cur.Replace(repl)
		}
		return true
	})
}

// nilCheck returns the checked conversion of e, or nil when its type cannot
// be parsed back.
func nilCheck(fset *token.FileSet, e ast.Expr, f nilConvFact) ast.Expr {
	pos := e.Pos()
	typ := func(src string) ast.Expr {
		t, err := reparse(fset, fset.Position(pos), src)
		if err != nil {
			return nil
		}
		return t
	}
	param, result := typ(f.typ), typ(f.target)
	if param == nil || result == nil {
		return nil
	}
	p := func() *ast.Ident { return ident("__mpigo_p", pos) }
	str := func(s string) ast.Expr {
		return &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(s)}
	}
	refuse := &ast.IfStmt{If: pos,
		Cond: &ast.BinaryExpr{X: p(), OpPos: pos, Op: token.EQL, Y: ident("nil", pos)},
		Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{&ast.ExprStmt{X: &ast.CallExpr{
			Fun: ident("panic", pos), Lparen: pos, Rparen: pos,
			Args: []ast.Expr{&ast.CallExpr{Fun: rtSel(pos, "NilInterface"), Lparen: pos, Args: []ast.Expr{str(f.what), str(f.iface)}, Rparen: pos}},
		}}}},
	}
	lit := &ast.FuncLit{
		Type: &ast.FuncType{Func: pos,
			Params:  &ast.FieldList{Opening: pos, List: []*ast.Field{{Names: []*ast.Ident{p()}, Type: param}}, Closing: pos},
			Results: &ast.FieldList{Opening: pos, List: []*ast.Field{{Type: result}}, Closing: pos},
		},
		Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{refuse, &ast.ReturnStmt{Return: pos, Results: []ast.Expr{p()}}}},
	}
	return &ast.CallExpr{Fun: lit, Lparen: pos, Args: []ast.Expr{e}, Rparen: pos}
}
