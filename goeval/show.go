package goeval

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"
)

// show decisions.
const (
	showNo     = iota
	showYes    // show the value
	showCallee // show if the called function returns exactly one value
)

// showRule decides whether the final expression is shown. A call shows its
// value only when its function returns exactly one value (yaegi returns the
// first result of any call: fmt.Println("hi") evaluates to 3); when that
// cannot be told from declarations, the function expression is evaluated
// after the cell ran (callee is its source).
func (s *Session) showRule(c *cellCode, final ast.Expr) (rule int, callee string) {
	if final == nil {
		return showNo, ""
	}
	call, ok := ast.Unparen(final).(*ast.CallExpr)
	if !ok {
		return showYes, ""
	}
	kind := s.kindOf(c)
	funcOut := func(name string) int {
		for _, d := range c.decls {
			if d.key == name && d.kind == "func" {
				return d.out
			}
		}
		if e := s.store.get(name); e != nil && e.Kind == "func" {
			return e.out
		}
		return -1
	}
	byKind := func(name string) int {
		switch kind(name) {
		case "type":
			return showYes
		case "builtin":
			if valueBuiltins[name] {
				return showYes
			}
			return showNo
		case "func":
			if out := funcOut(name); out >= 0 {
				return boolRule(out == 1)
			}
		}
		return -1
	}
	fun := ast.Unparen(call.Fun)
	switch f := fun.(type) {
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType, *ast.StructType, *ast.StarExpr:
		return showYes, "" // a conversion
	case *ast.FuncLit:
		return boolRule(f.Type.Results.NumFields() == 1), ""
	case *ast.Ident:
		if r := byKind(f.Name); r >= 0 {
			return r, ""
		}
	case *ast.IndexExpr, *ast.IndexListExpr:
		var x ast.Expr
		if ie, ok := f.(*ast.IndexExpr); ok {
			x = ie.X
		} else {
			x = f.(*ast.IndexListExpr).X
		}
		if id, ok := x.(*ast.Ident); ok {
			if r := byKind(id.Name); r >= 0 {
				return r, ""
			}
		}
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok && isPkgKind(kind(x.Name)) {
			p := packages().byPath[s.pkgPath(c, x.Name)]
			if p == nil {
				return showNo, ""
			}
			switch k, out := p.kindOf(f.Sel.Name); k {
			case "type":
				return showYes, ""
			case "func", "var":
				return boolRule(out == 1), ""
			}
			return showNo, ""
		}
	}
	if !pureExpr(fun) {
		// A method of a value computed by the call (T{}.M(), f().M()):
		// known if every method of that name returns as many values.
		if se, ok := fun.(*ast.SelectorExpr); ok {
			return s.methodRule(c, se.Sel.Name), ""
		}
		return showNo, ""
	}
	// The source of the function expression, from the final expression's.
	off := int(fun.Pos() - final.Pos())
	end := int(fun.End() - final.Pos())
	if off < 0 || end > len(c.finalSrc) {
		return showNo, ""
	}
	return showCallee, c.finalSrc[off:end]
}

// methodRule decides on a call of a method named name of an unknown
// receiver: it shows if every method of that name, of the session's types
// and of the standard library's, returns exactly one value.
func (s *Session) methodRule(c *cellCode, name string) int {
	outs := map[int]bool{}
	for _, d := range c.decls {
		if d.kind == "func" && strings.HasSuffix(d.key, "."+name) {
			outs[d.out] = true
		}
	}
	for _, e := range s.store.list() {
		if e.Kind == "func" && strings.HasSuffix(e.key, "."+name) {
			outs[e.out] = true
		}
	}
	for n := range stdMethods()[name] {
		outs[n] = true
	}
	return boolRule(len(outs) == 1 && outs[1])
}

// stdMethods maps the name of every method of the exported types of the
// importable packages to the numbers of results methods of that name have.
var stdMethods = (&derived[map[string]map[int]bool]{build: func() map[string]map[int]bool {
	m := map[string]map[int]bool{}
	add := func(name string, out int) {
		if m[name] == nil {
			m[name] = map[int]bool{}
		}
		m[name][out] = true
	}
	for _, p := range packages().byPath {
		for name, v := range p.syms {
			if strings.HasPrefix(name, "_") || v.Kind() != reflect.Pointer || !v.IsNil() || v.CanAddr() {
				continue
			}
			t := v.Type().Elem()
			if t.Kind() != reflect.Interface {
				t = reflect.PointerTo(t)
			}
			for i := 0; i < t.NumMethod(); i++ {
				add(t.Method(i).Name, t.Method(i).Type.NumOut())
			}
		}
	}
	return m
}}).get

func boolRule(b bool) int {
	if b {
		return showYes
	}
	return showNo
}

// pureExpr reports whether evaluating e has no side effects: identifiers,
// selectors, and indexes by identifiers or literals.
func pureExpr(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return true
	case *ast.SelectorExpr:
		return pureExpr(x.X)
	case *ast.ParenExpr:
		return pureExpr(x.X)
	case *ast.StarExpr:
		return pureExpr(x.X)
	case *ast.IndexExpr:
		return pureExpr(x.X) && pureExpr(x.Index)
	case *ast.BasicLit:
		return true
	}
	return false
}

// calleeShows evaluates a function expression and tells whether the
// function returns exactly one value (anything else than a function is a
// type: the call is a conversion).
func (s *Session) calleeShows(callee string) int {
	v, err := s.evalExpr(callee)
	if err != nil || !v.IsValid() {
		return showNo
	}
	if v.Kind() == reflect.Func {
		return boolRule(v.Type().NumOut() == 1)
	}
	return showYes
}

// evalExpr evaluates a side-effect free expression in the session.
func (s *Session) evalExpr(expr string) (reflect.Value, error) {
	f, err := parser.ParseFile(s.ip.FileSet(), srcName, stmtPrefix+expr+"\n}", 0)
	if err != nil {
		return reflect.Value{}, err
	}
	body := wrapperBody(f)
	if len(body.List) != 1 {
		return reflect.Value{}, errors.New("not an expression")
	}
	if _, ok := body.List[0].(*ast.ExprStmt); !ok {
		return reflect.Value{}, errors.New("not an expression")
	}
	prog, err := compileAST(s.ip, body)
	if err != nil {
		return reflect.Value{}, err
	}
	return s.ip.Execute(prog)
}

// showText renders the value of a final expression. Values of interpreted
// types do not carry their methods in reflect, so when the session declares
// String, Error or GoString methods, a side-effect free expression is
// formatted again by fmt inside the interpreter, which sees them.
func (s *Session) showText(final ast.Expr, src, view string, v reflect.Value) string {
	if final != nil && view != "" && v.IsValid() {
		// A function of the value, not the expression again: it may
		// have effects.
		if f, err := s.evalExpr(view); err == nil && f.Kind() == reflect.Func && f.Type().NumIn() == 1 && v.Type().AssignableTo(f.Type().In(0)) {
			if out := f.Call([]reflect.Value{v}); len(out) == 1 && out[0].Kind() == reflect.String {
				return out[0].String()
			}
		}
	}
	if final != nil && pureExpr(ast.Unparen(final)) && s.hasFormatMethods() {
		for v.IsValid() && v.Kind() == reflect.Interface && !v.IsNil() {
			v = v.Elem()
		}
		if !v.IsValid() || v.Kind() != reflect.String {
			if t, err := s.evalExpr(fmtName + ".Sprint(" + src + ")"); err == nil && t.Kind() == reflect.String {
				return t.String()
			}
		}
	}
	return formatValue(v)
}

// hasFormatMethods reports whether the session declares a method fmt uses.
func (s *Session) hasFormatMethods() bool {
	for _, e := range s.store.list() {
		if e.Kind == "func" && (strings.HasSuffix(e.key, ".String") || strings.HasSuffix(e.key, ".Error") || strings.HasSuffix(e.key, ".GoString")) {
			return true
		}
	}
	return false
}

// formatValue renders a value as text/plain.
func formatValue(v reflect.Value) (text string) {
	defer func() {
		if r := recover(); r != nil {
			text = fmt.Sprintf("%s (formatting it panicked: %v)", v.Type(), r)
		}
	}()
	for v.IsValid() && v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "<nil>"
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return "<nil>"
	}
	if v.Kind() == reflect.String {
		return strconv.Quote(v.String())
	}
	if !v.CanInterface() {
		return v.String()
	}
	return fmt.Sprintf("%v", v.Interface())
}

// posString formats a position as a cell position.
func posString(p token.Position) string {
	return fmt.Sprintf("%s:%d:%d", cleanFile(p.Filename, 0), p.Line, p.Column)
}
