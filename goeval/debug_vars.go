package goeval

// Variables and expressions of stopped frames (see debug.go for what
// yaegi's API lacks here).

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"reflect"
	"sort"
	"strings"
	"unsafe"

	"github.com/traefik/yaegi/interp"
)

// Scope is a group of variables of a frame.
type Scope struct {
	// Name is "Locals" or "Globals".
	Name string
	// Ref lists its variables (Variables) while the thread is stopped.
	Ref int
}

// Variable is a variable, a field, an element or the value of an
// expression.
type Variable struct {
	Name, Value, Type string
	// Ref, when not 0, lists its fields, elements, entries or pointee
	// (Variables) while the thread is stopped.
	Ref int
}

// Bounds of what a variable shows.
const (
	maxChildren   = 100 // fields, elements or entries listed
	maxValueBytes = 200 // bytes of a value's text
)

// namedValue is a variable found in a frame or a value.
type namedValue struct {
	name string
	v    reflect.Value
}

// Scopes returns the scopes of a frame: its locals (a function's
// variables, or the block variables of a cell's top level) and the
// session's globals.
func (d *DebugSession) Scopes(frameID int) ([]Scope, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fr, ok := d.frames[frameID]
	if !ok {
		return nil, errUnknownFrame(frameID)
	}
	locals := d.retainLocked(fr.thread)
	d.refs[locals] = func() []namedValue { return frameLocals(fr) }
	globals := d.retainLocked(fr.thread)
	d.refs[globals] = func() []namedValue { return frameGlobals(fr.frame) }
	return []Scope{{Name: "Locals", Ref: locals}, {Name: "Globals", Ref: globals}}, nil
}

// Variables lists the variables of a scope, or the children of a
// variable, at most maxChildren.
func (d *DebugSession) Variables(ref int) ([]Variable, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	list, ok := d.refs[ref]
	if !ok {
		return nil, errUnknownRef(ref)
	}
	thread := d.threadOfRef(ref)
	var out []Variable
	for _, nv := range list() {
		out = append(out, d.variableLocked(thread, nv.name, nv.v))
	}
	return out, nil
}

// threadOfRef returns the thread a reference belongs to.
func (d *DebugSession) threadOfRef(ref int) int {
	for t, ids := range d.retained {
		if ids[ref] {
			return t
		}
	}
	return 0
}

// variableLocked describes v, with a reference to its children if it has
// any.
func (d *DebugSession) variableLocked(thread int, name string, v reflect.Value) Variable {
	out := Variable{Name: name, Value: valueText(v)}
	if !v.IsValid() {
		return out
	}
	out.Type = v.Type().String()
	if len(children(v)) > 0 {
		ref := d.retainLocked(thread)
		d.refs[ref] = func() []namedValue { return children(v) }
		out.Ref = ref
	}
	return out
}

// valueText is fmt's %v of v (fmt reads unexported fields through
// reflect.Value), cut at maxValueBytes.
func valueText(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	var s string
	if v.Kind() == reflect.String {
		s = fmt.Sprintf("%q", v)
	} else {
		s = fmt.Sprintf("%v", v)
	}
	if len(s) > maxValueBytes {
		s = s[:maxValueBytes] + "…"
	}
	return s
}

// children returns what a value expands to: fields, elements, map
// entries (sorted by key text), a pointer's or an interface's value.
func children(v reflect.Value) []namedValue {
	var out []namedValue
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField() && i < maxChildren; i++ {
			out = append(out, namedValue{cellFieldName(v.Type().Field(i).Name), v.Field(i)})
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len() && i < maxChildren; i++ {
			out = append(out, namedValue{fmt.Sprintf("[%d]", i), v.Index(i)})
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return valueText(keys[i]) < valueText(keys[j]) })
		for i := 0; i < len(keys) && i < maxChildren; i++ {
			out = append(out, namedValue{"[" + valueText(keys[i]) + "]", v.MapIndex(keys[i])})
		}
	case reflect.Ptr, reflect.Interface:
		if !v.IsNil() {
			out = append(out, namedValue{"*", v.Elem()})
		}
	}
	return out
}

// cellFieldName undoes yaegi's renaming of unexported fields ("Xname").
func cellFieldName(n string) string {
	if len(n) > 1 && n[0] == 'X' && n[1] >= 'a' && n[1] <= 'z' {
		return n[1:]
	}
	return n
}

// frameLocals returns a frame's variables: yaegi's for a function; for a
// cell's top level, which yaegi gives none, the block variables visible at
// the stop, read from yaegi's internals.
func frameLocals(fr frameRef) []namedValue {
	if !fr.root {
		var out []namedValue
		for _, sc := range fr.frame.Scopes() {
			for _, v := range sc.Variables() {
				if !internalName(v.Name) {
					out = append(out, namedValue{v.Name, v.Value})
				}
			}
		}
		return out
	}
	out, _ := scopeVars(fr.frame, false)
	return out
}

// frameGlobals returns the session's variables (the package scope).
func frameGlobals(f *interp.DebugFrame) []namedValue {
	_, out := scopeVars(f, true)
	return out
}

// internalName reports the session's own names, hidden from the user.
func internalName(n string) bool { return n == "_" || strings.HasPrefix(n, "__mpigo") }

// varSymKind is yaegi v0.16.1's sKind of variables (interp/scope.go).
const varSymKind = 9

// scopeVars reads, from yaegi's unexported structures, the variables
// visible where a frame stopped: those of the block scopes up to the
// package scope (locals: the cell's own variables and its blocks', read
// in the frame's root data, so only meaningful for a cell's top level)
// or, if globals, those of the package scope (earlier cells'), sorted by
// name. A layout it does not know gives nothing.
func scopeVars(df *interp.DebugFrame, globals bool) (locals, pkg []namedValue) {
	defer func() {
		if recover() != nil {
			locals, pkg = nil, nil
		}
	}()
	f := reflect.ValueOf(df).Elem().FieldByName("frames").Index(0).Elem()
	data := f.FieldByName("root").Elem().FieldByName("data")
	sc := f.FieldByName("debug").Elem().FieldByName("node").Elem().FieldByName("scope")
	seen := map[string]bool{}
	for ; !sc.IsNil(); sc = sc.Elem().FieldByName("anc") {
		isPkg := sc.Elem().FieldByName("anc").IsNil() // the universe is not an ancestor
		if isPkg != globals {
			continue
		}
		vars := symVars(sc.Elem().FieldByName("sym"), data, seen)
		if isPkg {
			sort.Slice(vars, func(i, j int) bool { return vars[i].name < vars[j].name })
			pkg = vars
		} else {
			locals = append(locals, vars...)
		}
	}
	return locals, pkg
}

// symVars returns the variables of a scope's symbol table, values from
// the root frame's data, skipping names already seen (shadowed).
func symVars(syms, data reflect.Value, seen map[string]bool) []namedValue {
	var out []namedValue
	it := syms.MapRange()
	for it.Next() {
		name := it.Key().String()
		sym := it.Value().Elem()
		idx := int(sym.FieldByName("index").Int())
		if seen[name] || internalName(name) || sym.FieldByName("kind").Uint() != varSymKind || idx < 0 || idx >= data.Len() {
			continue
		}
		seen[name] = true
		out = append(out, namedValue{name, frameValue(data.Index(idx))})
	}
	return out
}

// rootFrame returns the frame of the cell's top level when yaegi's
// Frames left it out (it does as soon as a function is called: see
// debug.go), built from yaegi's unexported structures; nil when it is
// already there, belongs to another goroutine, or the layout is not
// v0.16.1's.
func rootFrame(fs []*interp.DebugFrame) (root *interp.DebugFrame) {
	defer func() {
		if recover() != nil {
			root = nil
		}
	}()
	if len(fs) == 0 {
		return nil
	}
	last := fs[len(fs)-1]
	inner := reflect.ValueOf(last).Elem().FieldByName("frames").Index(0)
	r := inner.Elem().FieldByName("root")
	goroutine := func(f reflect.Value) uintptr {
		return f.Elem().FieldByName("debug").Elem().FieldByName("g").Pointer()
	}
	if r.Pointer() == inner.Pointer() || goroutine(r) != goroutine(inner) {
		return nil
	}
	c := *last
	frames := reflect.ValueOf(&c).Elem().FieldByName("frames")
	one := reflect.MakeSlice(frames.Type(), 1, 1)
	settable(one.Index(0)).Set(settable(r))
	settable(frames).Set(one)
	return &c
}

// settable returns an addressable value of an unexported field that
// reflection lets be read and set.
func settable(v reflect.Value) reflect.Value {
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

// frameValue returns the reflect.Value held in an element of a frame's
// data, which reflection only lets out read-only: its bits are read.
func frameValue(elem reflect.Value) reflect.Value {
	v := *(*reflect.Value)(unsafe.Pointer(elem.UnsafeAddr()))
	if v.IsValid() && v.Kind() == reflect.Interface && !v.IsNil() {
		return v.Elem()
	}
	return v
}

// Evaluate evaluates an expression in a stopped frame, from its variables
// (locals first, then globals): a bounded subset of Go, since yaegi cannot
// run code in a stopped frame (see debug.go).
func (d *DebugSession) Evaluate(frameID int, expr string) (Variable, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fr, v, err := d.evalLocked(frameID, expr)
	if err != nil {
		return Variable{}, err
	}
	return d.variableLocked(fr.thread, expr, v), nil
}

// maxRichBytes bounds the text of Text.
const maxRichBytes = 1 << 20

// Text is the whole text of an expression in a stopped frame (fmt's %v,
// at most maxRichBytes), for a front end's rich view of a variable; the
// expression is of Evaluate's subset.
func (d *DebugSession) Text(frameID int, expr string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, v, err := d.evalLocked(frameID, expr)
	if err != nil {
		return "", err
	}
	if !v.IsValid() {
		return "nil", nil
	}
	s := fmt.Sprintf("%v", v)
	if len(s) > maxRichBytes {
		s = s[:maxRichBytes] + "…"
	}
	return s, nil
}

// evalLocked evaluates expr in a frame, from its variables (locals first,
// then globals).
func (d *DebugSession) evalLocked(frameID int, expr string) (frameRef, reflect.Value, error) {
	fr, ok := d.frames[frameID]
	if !ok {
		return fr, reflect.Value{}, errUnknownFrame(frameID)
	}
	x, err := parser.ParseExpr(expr)
	if err != nil {
		return fr, reflect.Value{}, errEval(err.Error())
	}
	vars := map[string]reflect.Value{}
	for _, nv := range frameGlobals(fr.frame) {
		vars[nv.name] = nv.v
	}
	for _, nv := range frameLocals(fr) {
		vars[nv.name] = nv.v
	}
	v, err := evalNode(x, vars)
	return fr, v, err
}

// evalNode evaluates an expression of the supported subset.
func evalNode(x ast.Expr, vars map[string]reflect.Value) (reflect.Value, error) {
	switch x := x.(type) {
	case *ast.ParenExpr:
		return evalNode(x.X, vars)
	case *ast.Ident:
		return evalIdent(x.Name, vars)
	case *ast.BasicLit:
		return evalLit(x)
	case *ast.SelectorExpr:
		return evalSelector(x, vars)
	case *ast.IndexExpr:
		return evalIndex(x, vars)
	case *ast.StarExpr:
		v, err := evalNode(x.X, vars)
		if err != nil {
			return v, err
		}
		if v.Kind() != reflect.Ptr || v.IsNil() {
			return reflect.Value{}, errEval("cannot indirect " + valueText(v))
		}
		return v.Elem(), nil
	case *ast.UnaryExpr:
		return evalUnary(x, vars)
	case *ast.BinaryExpr:
		return evalBinary(x, vars)
	case *ast.CallExpr:
		return evalCall(x, vars)
	}
	return reflect.Value{}, errUnsupported(fmt.Sprintf("%T", x))
}

func evalIdent(name string, vars map[string]reflect.Value) (reflect.Value, error) {
	switch name {
	case "true", "false":
		return reflect.ValueOf(name == "true"), nil
	case "nil":
		return reflect.Value{}, nil
	}
	v, ok := vars[name]
	if !ok {
		return reflect.Value{}, errEval("undefined in this frame: " + name)
	}
	return v, nil
}

func evalLit(x *ast.BasicLit) (reflect.Value, error) {
	c := constant.MakeFromLiteral(x.Value, x.Kind, 0)
	switch c.Kind() {
	case constant.Int:
		if n, ok := constant.Int64Val(c); ok {
			return reflect.ValueOf(int(n)), nil
		}
	case constant.Float:
		f, _ := constant.Float64Val(c)
		return reflect.ValueOf(f), nil
	case constant.String:
		return reflect.ValueOf(constant.StringVal(c)), nil
	}
	if x.Kind == token.CHAR {
		n, _ := constant.Int64Val(c)
		return reflect.ValueOf(rune(n)), nil
	}
	return reflect.Value{}, errEval("bad literal " + x.Value)
}

// deref follows pointers and interfaces.
func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Ptr || v.Kind() == reflect.Interface) && !v.IsNil() {
		v = v.Elem()
	}
	return v
}

func evalSelector(x *ast.SelectorExpr, vars map[string]reflect.Value) (reflect.Value, error) {
	v, err := evalNode(x.X, vars)
	if err != nil {
		return v, err
	}
	v = deref(v)
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, errUnsupported("selecting " + x.Sel.Name + " of a " + v.Kind().String() + " (methods)")
	}
	for _, n := range []string{x.Sel.Name, "X" + x.Sel.Name} {
		if f := v.FieldByName(n); f.IsValid() {
			return f, nil
		}
	}
	return reflect.Value{}, errEval("no field " + x.Sel.Name)
}

func evalIndex(x *ast.IndexExpr, vars map[string]reflect.Value) (reflect.Value, error) {
	v, err := evalNode(x.X, vars)
	if err != nil {
		return v, err
	}
	k, err := evalNode(x.Index, vars)
	if err != nil {
		return k, err
	}
	v = deref(v)
	switch v.Kind() {
	case reflect.Map:
		if !k.IsValid() || !k.Type().ConvertibleTo(v.Type().Key()) {
			return reflect.Value{}, errEval("bad map key " + valueText(k))
		}
		e := v.MapIndex(k.Convert(v.Type().Key()))
		if !e.IsValid() {
			return reflect.Zero(v.Type().Elem()), nil
		}
		return e, nil
	case reflect.Slice, reflect.Array, reflect.String:
		if !isInt(k) {
			return reflect.Value{}, errEval("index is not an integer: " + valueText(k))
		}
		i := int(k.Int())
		if i < 0 || i >= v.Len() {
			return reflect.Value{}, errEval(fmt.Sprintf("index %d out of range [0:%d]", i, v.Len()))
		}
		return v.Index(i), nil
	}
	return reflect.Value{}, errEval("cannot index a " + v.Kind().String())
}

func evalCall(x *ast.CallExpr, vars map[string]reflect.Value) (reflect.Value, error) {
	id, ok := x.Fun.(*ast.Ident)
	if !ok || (id.Name != "len" && id.Name != "cap") || len(x.Args) != 1 {
		return reflect.Value{}, errUnsupported("a function call")
	}
	v, err := evalNode(x.Args[0], vars)
	if err != nil {
		return v, err
	}
	defer func() { recover() }() // len of a kind that has none: the zero Value
	if id.Name == "len" {
		return reflect.ValueOf(v.Len()), nil
	}
	return reflect.ValueOf(v.Cap()), nil
}

func isInt(v reflect.Value) bool {
	return v.IsValid() && v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64
}

func isUint(v reflect.Value) bool {
	return v.IsValid() && v.Kind() >= reflect.Uint && v.Kind() <= reflect.Uintptr
}

func isFloat(v reflect.Value) bool {
	return v.IsValid() && (v.Kind() == reflect.Float32 || v.Kind() == reflect.Float64)
}

func evalUnary(x *ast.UnaryExpr, vars map[string]reflect.Value) (reflect.Value, error) {
	v, err := evalNode(x.X, vars)
	if err != nil {
		return v, err
	}
	switch {
	case x.Op == token.NOT && v.Kind() == reflect.Bool:
		return reflect.ValueOf(!v.Bool()), nil
	case x.Op == token.SUB && isInt(v):
		return reflect.ValueOf(-v.Int()).Convert(v.Type()), nil
	case x.Op == token.SUB && isFloat(v):
		return reflect.ValueOf(-v.Float()).Convert(v.Type()), nil
	case x.Op == token.ADD && (isInt(v) || isFloat(v)):
		return v, nil
	}
	return reflect.Value{}, errUnsupported("operator " + x.Op.String() + " on " + valueText(v))
}

func evalBinary(x *ast.BinaryExpr, vars map[string]reflect.Value) (reflect.Value, error) {
	a, err := evalNode(x.X, vars)
	if err != nil {
		return a, err
	}
	b, err := evalNode(x.Y, vars)
	if err != nil {
		return b, err
	}
	switch {
	case a.Kind() == reflect.Bool && b.Kind() == reflect.Bool:
		return boolOp(x.Op, a.Bool(), b.Bool())
	case a.Kind() == reflect.String && b.Kind() == reflect.String:
		return stringOp(x.Op, a.String(), b.String())
	case isInt(a) && isInt(b):
		return numOp(x.Op, constant.MakeInt64(a.Int()), constant.MakeInt64(b.Int()), a.Type())
	case isUint(a) && isUint(b):
		return numOp(x.Op, constant.MakeUint64(a.Uint()), constant.MakeUint64(b.Uint()), a.Type())
	case (isInt(a) || isFloat(a)) && (isInt(b) || isFloat(b)):
		return numOp(x.Op, constant.MakeFloat64(toFloat(a)), constant.MakeFloat64(toFloat(b)), reflect.TypeOf(0.0))
	}
	return reflect.Value{}, errUnsupported("operator " + x.Op.String() + " on " + valueText(a) + " and " + valueText(b))
}

func toFloat(v reflect.Value) float64 {
	if isInt(v) {
		return float64(v.Int())
	}
	return v.Float()
}

func boolOp(op token.Token, a, b bool) (reflect.Value, error) {
	switch op {
	case token.LAND:
		return reflect.ValueOf(a && b), nil
	case token.LOR:
		return reflect.ValueOf(a || b), nil
	case token.EQL:
		return reflect.ValueOf(a == b), nil
	case token.NEQ:
		return reflect.ValueOf(a != b), nil
	}
	return reflect.Value{}, errUnsupported("operator " + op.String() + " on booleans")
}

func stringOp(op token.Token, a, b string) (reflect.Value, error) {
	if op == token.ADD {
		return reflect.ValueOf(a + b), nil
	}
	return numOp(op, constant.MakeString(a), constant.MakeString(b), nil)
}

// numOp applies an arithmetic or comparison operator with go/constant
// (exact, so no overflow surprises), the result of the operands' type.
func numOp(op token.Token, a, b constant.Value, typ reflect.Type) (res reflect.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = reflect.Value{}, errEval(fmt.Sprint(r))
		}
	}()
	switch op {
	case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
		return reflect.ValueOf(constant.Compare(a, op, b)), nil
	case token.QUO:
		if constant.Sign(b) == 0 {
			return reflect.Value{}, errEval("division by zero")
		}
		if a.Kind() == constant.Int {
			op = token.QUO_ASSIGN // integer division in go/constant
		}
	}
	if op == token.QUO_ASSIGN {
		return toType(constant.BinaryOp(a, token.QUO_ASSIGN, b), typ)
	}
	return toType(constant.BinaryOp(a, op, b), typ)
}

// toType converts a constant result to typ (int64/uint64/float64 kinds).
func toType(c constant.Value, typ reflect.Type) (reflect.Value, error) {
	switch {
	case typ == nil:
		return reflect.Value{}, errUnsupported("this operator on strings")
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int64:
		n, _ := constant.Int64Val(constant.ToInt(c))
		return reflect.ValueOf(n).Convert(typ), nil
	case typ.Kind() >= reflect.Uint && typ.Kind() <= reflect.Uintptr:
		n, _ := constant.Uint64Val(constant.ToInt(c))
		return reflect.ValueOf(n).Convert(typ), nil
	}
	f, _ := constant.Float64Val(constant.ToFloat(c))
	return reflect.ValueOf(f).Convert(typ), nil
}
