package goeval

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"strings"
)

// typedScan tells, without types, whether code has a form that the
// type-directed rewrites handle: a range whose operand may be a function,
// a use of a generic function without all its type arguments, or a call
// with a function literal argument of a function it does not know.
type typedScan struct {
	s     *Session
	c     *cellCode
	kind  kindFunc
	sig   sigFunc
	isInt func(ast.Expr) bool // made at first use
	// values caches the reflect kinds of session expressions evaluated.
	values map[string]reflect.Kind
	// results caches the first result types of the session's functions,
	// structs the struct types of its type names.
	results map[string]ast.Expr
	structs map[string]*ast.StructType
	// methodNames are the types that have methods (see methodTypes).
	methodNames map[string]bool
}

// newTypedScan returns the scanner of a cell (nil: of stored code).
func (s *Session) newTypedScan(c *cellCode) *typedScan {
	if c == nil {
		c = &cellCode{declared: map[string]string{}, generics: map[string]*ast.FuncType{}} // sigOf needs one
	}
	return &typedScan{s: s, c: c, kind: s.kindOf(c), sig: s.sigOf(c),
		values: map[string]reflect.Kind{}, results: map[string]ast.Expr{}, structs: map[string]*ast.StructType{}}
}

// mayNeed reports whether n has a range statement or a call: the scan
// looks for nothing else, and most cells of one expression have neither.
func mayNeed(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(m ast.Node) bool {
		switch m.(type) {
		case *ast.RangeStmt, *ast.CallExpr, *ast.AssignStmt, *ast.ValueSpec, *ast.ReturnStmt, *ast.TypeSwitchStmt:
			found = true
		}
		return !found
	})
	return found
}

// needs reports whether n has a form that needs the type check.
func (sc *typedScan) needs(n ast.Node) bool {
	if n == nil {
		return false
	}
	if semanticNeeds(n, sc) {
		return true
	}
	found := sc.showsFinal(n) || sc.recovers(n) || sc.mayAssertSessionType(n)
	ast.Inspect(n, func(m ast.Node) bool {
		if found {
			return false
		}
		switch x := m.(type) {
		case *ast.RangeStmt:
			found = !sc.notFunc(x.X, 0) || (x.Value == nil && sc.mayBeInt(x.X)) ||
				(x.Key != nil && x.Value == nil && sc.mayBeString(x.X))
		case *ast.CallExpr:
			found = sc.genericUse(x.Fun) || sc.unknownWithFuncLit(x) || sc.printCall(x) || sc.errorsCall(x)
			for _, a := range x.Args {
				found = found || sc.genericUse(a)
			}
		case *ast.SelectorExpr:
			found = sc.methodExpr(x)
		case *ast.AssignStmt:
			for _, r := range x.Rhs {
				found = found || sc.genericUse(r)
			}
		case *ast.GenDecl:
			found = hasConstBoolOp(x)
		case *ast.Ident:
			found = sc.errTypeName(x)
		case *ast.ValueSpec:
			for _, v := range x.Values {
				found = found || sc.genericUse(v)
			}
		case *ast.ReturnStmt:
			for _, r := range x.Results {
				found = found || sc.genericUse(r)
			}
		}
		return !found
	})
	return found
}

// genericUse reports whether e names a generic function without all its
// type arguments.
func (sc *typedScan) genericUse(e ast.Expr) bool {
	switch ast.Unparen(e).(type) {
	case *ast.Ident, *ast.SelectorExpr, *ast.IndexExpr, *ast.IndexListExpr:
	default:
		return false
	}
	ft, targs := sc.sig(e)
	return ft != nil && len(targs) < len(typeParams(ft))
}

// unknownWithFuncLit reports whether a call with a function literal
// argument calls something the scanner does not know (it may be generic).
func (sc *typedScan) unknownWithFuncLit(call *ast.CallExpr) bool {
	lit := false
	for _, a := range call.Args {
		if _, ok := a.(*ast.FuncLit); ok {
			lit = true
		}
	}
	if !lit {
		return false
	}
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		return f.Obj == nil && sc.kind(f.Name) == ""
	case *ast.SelectorExpr:
		x, ok := f.X.(*ast.Ident)
		if !ok || x.Obj != nil || !isPkgKind(sc.kind(x.Name)) {
			return false
		}
		p := packages().byPath[sc.s.pkgPath(sc.c, x.Name)]
		return p == nil || !p.has(f.Sel.Name)
	}
	return false
}

// notFunc reports whether a range operand is visibly not a function: a
// literal, an operation, a conversion, a call whose result type is visibly
// not a function, a variable declared or defined so, or a variable of the
// session whose value is not one.
func (sc *typedScan) notFunc(e ast.Expr, depth int) bool {
	if depth > 8 {
		return false
	}
	switch x := e.(type) {
	case *ast.BasicLit, *ast.BinaryExpr, *ast.SliceExpr:
		return true
	case *ast.CompositeLit:
		switch x.Type.(type) {
		case *ast.ArrayType, *ast.MapType:
			return true
		}
	case *ast.ParenExpr:
		return sc.notFunc(x.X, depth+1)
	case *ast.UnaryExpr:
		switch x.Op {
		case token.AND, token.SUB, token.ADD, token.XOR, token.NOT:
			return true
		}
	case *ast.CallExpr:
		return sc.callNotFunc(x, depth)
	case *ast.Ident:
		if x.Obj != nil {
			return sc.declNotFunc(x, depth)
		}
		switch sc.kind(x.Name) {
		case "const":
			return true
		case "var", "define":
			return sc.sessionNotFunc(x)
		}
	case *ast.SelectorExpr:
		return sc.fieldNotFunc(x) || sc.sessionNotFunc(x)
	case *ast.IndexExpr, *ast.StarExpr:
		return sc.sessionNotFunc(x)
	}
	if sc.isInt == nil {
		sc.isInt = sc.s.intExpr(sc.c)
	}
	return sc.isInt(e)
}

// typeNotFunc reports whether a type expression is visibly not a function
// type.
func (sc *typedScan) typeNotFunc(t ast.Expr) bool {
	switch x := t.(type) {
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.StarExpr, *ast.Ellipsis:
		return true
	case *ast.Ident:
		return builtinTypes[x.Name] && (x.Obj == nil && sc.kind(x.Name) == "type")
	}
	return false
}

// declNotFunc reports whether an identifier resolved in its file is
// declared visibly not a function.
func (sc *typedScan) declNotFunc(id *ast.Ident, depth int) bool {
	switch d := id.Obj.Decl.(type) {
	case *ast.Field:
		return sc.typeNotFunc(d.Type)
	case *ast.ValueSpec:
		if d.Type != nil {
			return sc.typeNotFunc(d.Type)
		}
		for i, n := range d.Names {
			if n.Name == id.Name && i < len(d.Values) && len(d.Values) == len(d.Names) {
				return sc.notFunc(d.Values[i], depth+1)
			}
		}
	case *ast.AssignStmt:
		if len(d.Lhs) != len(d.Rhs) {
			return false
		}
		for i, l := range d.Lhs {
			if l, ok := l.(*ast.Ident); ok && l.Name == id.Name {
				if u, ok := d.Rhs[i].(*ast.UnaryExpr); ok && u.Op == token.RANGE {
					return false // a range variable: anything
				}
				return sc.notFunc(d.Rhs[i], depth+1)
			}
		}
	}
	return false
}

// callNotFunc reports whether a call's result is visibly not a function.
func (sc *typedScan) callNotFunc(call *ast.CallExpr, depth int) bool {
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.ArrayType, *ast.MapType, *ast.ChanType:
		return true // a conversion
	case *ast.Ident:
		if f.Obj != nil {
			if fd, ok := f.Obj.Decl.(*ast.FuncDecl); ok {
				return sc.resultNotFunc(fd.Type)
			}
			return false
		}
		switch sc.kind(f.Name) {
		case "builtin":
			return true
		case "type":
			return builtinTypes[f.Name]
		case "func":
			if r := sc.funcResult(f.Name); r != nil {
				return sc.typeNotFunc(r)
			}
		}
	case *ast.SelectorExpr:
		x, ok := f.X.(*ast.Ident)
		if !ok || x.Obj != nil || !isPkgKind(sc.kind(x.Name)) {
			return false
		}
		p := packages().byPath[sc.s.pkgPath(sc.c, x.Name)]
		if p == nil {
			return false
		}
		if m, ok := p.generic[f.Sel.Name]; ok && m.sig != nil {
			return sc.resultNotFunc(m.sig)
		}
		if v, ok := p.syms[f.Sel.Name]; ok && v.Kind() == reflect.Func && !v.CanAddr() {
			t := v.Type()
			return t.NumOut() > 0 && t.Out(0).Kind() != reflect.Func
		}
	}
	return false
}

// resultNotFunc reports whether the first result of a signature is visibly
// not a function.
func (sc *typedScan) resultNotFunc(ft *ast.FuncType) bool {
	if r := fieldTypes(ft.Results); len(r) > 0 {
		return sc.typeNotFunc(r[0])
	}
	return false
}

// funcResult returns the first result type of a function of the cell or
// of the session, or nil.
func (sc *typedScan) funcResult(name string) ast.Expr {
	if r, ok := sc.results[name]; ok {
		return r
	}
	var r ast.Expr
	if fd, ok := sc.declOf(name, "func").(*ast.FuncDecl); ok {
		if rs := fieldTypes(fd.Type.Results); len(rs) > 0 {
			r = rs[0]
		}
	}
	sc.results[name] = r
	return r
}

// fieldNotFunc reports whether x.f selects a field that is visibly not a
// function: x a variable or parameter (a method's receiver) declared of a
// struct type T or *T of the cell or of the session.
func (sc *typedScan) fieldNotFunc(sel *ast.SelectorExpr) bool {
	t := sc.fieldType(sel)
	return t != nil && sc.typeNotFunc(t)
}

// fieldType returns the type expression of the field sel selects from a
// local variable or parameter of a struct type declared in the source; nil
// when it cannot tell.
func (sc *typedScan) fieldType(sel *ast.SelectorExpr) ast.Expr {
	id, ok := sel.X.(*ast.Ident)
	if !ok || id.Obj == nil {
		return nil
	}
	var t ast.Expr
	switch d := id.Obj.Decl.(type) {
	case *ast.Field:
		t = d.Type
	case *ast.ValueSpec:
		t = d.Type
	}
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	name, ok := t.(*ast.Ident)
	if !ok {
		return nil
	}
	st := sc.structType(name)
	if st == nil {
		return nil
	}
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			if n.Name == sel.Sel.Name {
				return f.Type
			}
		}
	}
	return nil
}

// structType returns the struct type that a type name declares, or nil.
func (sc *typedScan) structType(name *ast.Ident) *ast.StructType {
	if name.Obj != nil {
		if ts, ok := name.Obj.Decl.(*ast.TypeSpec); ok {
			st, _ := ts.Type.(*ast.StructType)
			return st
		}
		return nil
	}
	if st, ok := sc.structs[name.Name]; ok {
		return st
	}
	var st *ast.StructType
	if ts, ok := sc.declOf(name.Name, "type").(*ast.TypeSpec); ok {
		st, _ = ts.Type.(*ast.StructType)
	}
	sc.structs[name.Name] = st
	return st
}

// declOf returns the declaration of a function (a *ast.FuncDecl) or of a
// type (its *ast.TypeSpec) of the cell, or else of the session, or nil.
func (sc *typedScan) declOf(name, kind string) ast.Node {
	find := func(f *ast.File) ast.Node {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if kind == "func" && d.Recv == nil && d.Name.Name == name {
					return d
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					if ts, ok := sp.(*ast.TypeSpec); ok && kind == "type" && ts.Name.Name == name {
						return ts
					}
				}
			}
		}
		return nil
	}
	if sc.c.declFile != nil {
		if n := find(sc.c.declFile); n != nil {
			return n
		}
	}
	if e := sc.s.store.lookup(name); e != nil && e.Kind == kind {
		if f, err := parser.ParseFile(token.NewFileSet(), "", declPrefix+e.Src, parser.SkipObjectResolution); err == nil {
			return find(f)
		}
	}
	return nil
}

// sessionNotFunc reports whether an expression made of session variables
// (a variable, a field, an element) has a value that is not a function;
// it evaluates the expression, which has no side effects.
func (sc *typedScan) sessionNotFunc(e ast.Expr) bool {
	k := sc.sessionKind(e)
	return k != reflect.Invalid && k != reflect.Func && k != reflect.Interface
}

// sessionKind returns the kind of the value of an expression over the
// session's variables (evaluated once per scan), Invalid when unknown.
func (sc *typedScan) sessionKind(e ast.Expr) reflect.Kind {
	if !pureExpr(e) || !sc.sessionOnly(e) {
		return reflect.Invalid
	}
	src := types.ExprString(e)
	k, ok := sc.values[src]
	if !ok {
		k = reflect.Invalid
		if v, err := sc.s.evalExpr(src); err == nil && v.IsValid() {
			k = v.Kind()
		}
		sc.values[src] = k
	}
	return k
}

// sessionOnly reports whether the identifiers an expression uses are all
// variables, constants or packages of the session that already have values.
func (sc *typedScan) sessionOnly(e ast.Expr) bool {
	ok := true
	inspectRefs(e, func(id *ast.Ident) {
		if id.Obj != nil || strings.HasPrefix(id.Name, "__mpigo") {
			ok = false
			return
		}
		if sc.c != nil {
			if _, mine := sc.c.declared[id.Name]; mine && sc.c.declared[id.Name] != "import" {
				ok = false // the cell's own: not evaluated yet
				return
			}
		}
		switch sc.kind(id.Name) {
		case "var", "define", "const", "import":
		default:
			ok = false
		}
	})
	return ok
}

// mayBeInt reports whether a range operand may be an integer that intExpr
// cannot see (a call, a field, an element, a conversion to a named type, a
// variable of the cell): the type check then tells.
func (sc *typedScan) mayBeInt(e ast.Expr) bool {
	if sc.isInt == nil {
		sc.isInt = sc.s.intExpr(sc.c)
	}
	if sc.isInt(e) {
		return false
	}
	switch x := ast.Unparen(e).(type) {
	case *ast.SelectorExpr:
		switch sc.fieldType(x).(type) {
		case *ast.ArrayType, *ast.MapType, *ast.ChanType:
			return false
		}
		return true
	case *ast.CallExpr, *ast.IndexExpr, *ast.StarExpr:
		return true
	case *ast.Ident:
		return x.Obj != nil
	}
	return false
}

// mayBeString reports whether the operand of a range loop with a key only
// may be a string (anything but a composite literal, slice expression or
// address visibly of another kind): the type check then tells, for
// rewriteStringKeys.
func (sc *typedScan) mayBeString(e ast.Expr) bool {
	switch x := ast.Unparen(e).(type) {
	case *ast.BasicLit:
		return x.Kind == token.STRING
	case *ast.CompositeLit, *ast.SliceExpr, *ast.UnaryExpr:
		return false
	case *ast.Ident:
		if x.Obj != nil {
			return true
		}
		if k := sc.kind(x.Name); k != "var" && k != "define" {
			return false
		}
		return sc.sessionKind(x) == reflect.String
	}
	return true
}
