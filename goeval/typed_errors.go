package goeval

// Package errors with the session's error types.
//
// yaegi v0.16 gives compiled code a value of an interpreted type as a value
// of a reflect type without methods (a struct type made by reflect.StructOf,
// or the underlying type), or, where an interface with methods is expected,
// as a wrapper (interp._error for error) that has the interface's methods
// only. So compiled errors.As, errors.Is and errors.Unwrap:
//
//   - panic for errors.As(err, &t) when t's type is a session type ("errors:
//     *target must be interface or implement error": **struct{...} has no
//     Error method) or an interface type that yaegi interprets (an interface
//     literal with methods, or one of the session's: interp.valueInterface,
//     a struct, represents it);
//   - do not see the Is, As and Unwrap methods of the session's types: a
//     wrapper has only Error;
//   - compare no two errors of session types: a wrapper holds a func, and
//     is not comparable.
//
// Besides, fmt.Errorf("%w", v) gets v itself when v's static type is a
// session type (yaegi wraps a value only for a parameter of an interface
// type with methods; fmt.Errorf takes ...any): fmt sees no error, prints
// %!w(...) and wraps nothing; errors.Join(v) panics ("cannot use int as
// type error": yaegi wraps no value passed to a variadic parameter); `var
// e error = v` stores v itself (e.(T) then panics: "reflect: call of
// reflect.Value.Elem on struct Value"); and yaegi's wrapper of a value of a
// struct type holds the struct's last non-zero field instead of the struct
// (value.go's getConcreteValue takes a struct without methods for an
// emulated interface), so that err.(T) and errors.As fail for it.
//
// When the session declares a type that implements error, the type check
// records two rewrites (facts.boxes, facts.errs):
//
//   - a value of a session type T (or *T) converted to error (returned,
//     assigned, passed, put in a composite literal or a channel, compared,
//     converted) or passed to a %w verb of fmt.Errorf becomes
//     __mpigo_errors.Box(v, "T", func(x interface{}) string { return
//     x.(T).Error() }): an error (errs.errBox) that holds v itself, under
//     the field name of yaegi's wrappers so that yaegi's type assertions look
//     inside it, with T's Error method, shared by all the boxes of T so that
//     two boxes of equal values are equal;
//   - errors.Is(err, target) becomes __mpigo_errors.Is(err, target, m),
//     errors.Unwrap(err) __mpigo_errors.Unwrap(err, m), where m is a type
//     switch over the session's types that have an Is, As or Unwrap method
//     (written at the call: the session's types at its compilation), which
//     returns those methods as method values; errors.As(err, &t) becomes
//     __mpigo_errors.As(err, &t, match, methods, name, m), where match is a
//     function that stores a value in t if it is of t's type T: a type
//     assertion to a concrete T; for an interface T with methods (error
//     aside), a type switch over the session's types that implement T
//     (and, for a compiled interface T, a type assertion to T). errors.As
//     with a target of an interpreted interface type is rewritten even in a
//     session without error types.
//
// The helpers (stdsrc/errors.go.txt, and the compiled ones of errs.go)
// walk the tree of errors as package errors does; none is generic (yaegi
// fails to define a variable at the top level of a cell from a call of a
// generic function of a package: "constant definition loop"). What stays
// out of reach:
// a value of a session struct type that yaegi wrapped itself (converted to
// error where the check could not type the code, or in a cell that names
// no error type of the session) has lost its identity; a value of a
// compiled type cannot be stored in a variable of an interface type that
// yaegi interprets (yaegi's type assertion to such a type accepts only an
// interpreted value), so As panics, saying so, when one matches; two
// values of different non-struct session types with the same underlying
// type and value compare equal in Is (CodeA(1) and CodeB(1): yaegi gives
// both the same reflect type); type switches on errors (switch
// err.(type)) still do not see the session's types (yaegi's type switch
// does not look inside its wrappers nor inside boxes); types declared
// inside functions are not boxed, and a function compiled before a type
// was declared does not know it.

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/tools/go/ast/astutil"
)

// errArg is the placeholder of argument i in a replacement: errArg + i.
const errArg = "__mpigo_errarg"

// errFact is the rewrite of a call of package errors.
type errFact struct {
	pkg, fun string // the call's package name and function, as written: guards against stale facts
	src      string // the replacement, with the arguments as placeholders
}

// errorsFuncs are the functions whose calls are rewritten, by package path.
var errorsFuncs = map[string]map[string]bool{
	"errors": {"Is": true, "As": true, "Unwrap": true},
}

// errorsCall reports whether call calls a function of errorsFuncs
// (without types): As always (its target may be an interface literal),
// the others in a session that declares types.
func (sc *typedScan) errorsCall(call *ast.CallExpr) bool {
	path, name, ok := sc.pkgCall(call)
	return ok && errorsFuncs[path][name] && (name == "As" || sc.declaresTypes())
}

// errTypeName reports whether id may name a type of the cell or the
// session that has an Error method: its values converted to error are
// boxed (without types: a type of that name with a method of that name).
func (sc *typedScan) errTypeName(id *ast.Ident) bool {
	if id.Obj != nil && id.Obj.Kind != ast.Typ || sc.kind(id.Name) != "type" {
		return false
	}
	key := id.Name + ".Error"
	for _, d := range sc.c.decls {
		if d.key == key {
			return true
		}
	}
	return sc.s.store.get(key) != nil
}

// declaresTypes reports whether the cell or the session declares a type.
func (sc *typedScan) declaresTypes() bool {
	for _, k := range sc.c.declared {
		if k == "type" {
			return true
		}
	}
	for _, e := range sc.s.store.list() {
		if e.Kind == "type" {
			return true
		}
	}
	return false
}

// errTypes are the session's named types that matter to package errors.
type errTypes struct {
	errs    []*types.Named // those whose values or pointers are errors
	methods []*types.Named // those with an Is, As or Unwrap method
}

// sessionErrTypes returns the package-level named types of the checked
// package that implement error (or whose pointers do), generic ones aside.
func (ck *check) sessionErrTypes() *errTypes {
	et := &errTypes{}
	errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	scope := ck.pkg.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		n, ok := tn.Type().(*types.Named)
		if !ok || n.TypeParams().Len() > 0 || types.IsInterface(n) {
			continue
		}
		if !types.Implements(types.NewPointer(n), errType) {
			continue
		}
		et.errs = append(et.errs, n)
		if len(errMethods(types.NewPointer(n))) > 0 {
			et.methods = append(et.methods, n)
		}
	}
	return et
}

// errMethods returns which of Unwrap() error, Unwrap() []error, Is(error)
// bool and As(any) bool the method set of t has, by name ("Unwrap" for the
// first, "UnwrapAll" for the second).
func errMethods(t types.Type) map[string]bool {
	out := map[string]bool{}
	ms := types.NewMethodSet(t)
	errT := types.Universe.Lookup("error").Type()
	boolT := types.Typ[types.Bool]
	for i := range ms.Len() {
		f, ok := ms.At(i).Obj().(*types.Func)
		if !ok {
			continue
		}
		sig := f.Type().(*types.Signature)
		params, results := sig.Params(), sig.Results()
		if sig.Variadic() || results.Len() != 1 {
			continue
		}
		r := results.At(0).Type()
		switch f.Name() {
		case "Unwrap":
			if params.Len() != 0 {
				continue
			}
			if types.Identical(r, errT) {
				out["Unwrap"] = true
			} else if s, ok := r.(*types.Slice); ok && types.Identical(s.Elem(), errT) {
				out["UnwrapAll"] = true
			}
		case "Is":
			if params.Len() == 1 && types.Identical(params.At(0).Type(), errT) && types.Identical(r, boolT) {
				out["Is"] = true
			}
		case "As":
			if params.Len() == 1 && types.Identical(params.At(0).Type(), types.NewInterfaceType(nil, nil)) && types.Identical(r, boolT) {
				out["As"] = true
			}
		}
	}
	return out
}

// collectErrors records the boxes of the values of the session's types
// converted to error in d, and the rewrites of its calls of package
// errors.
func (ck *check) collectErrors(d ast.Decl, w *typeWriter, facts *typedFacts) {
	if ck.errTypes == nil {
		ck.errTypes = ck.sessionErrTypes()
	}
	if len(ck.errTypes.errs) > 0 {
		ck.collectBoxes(d, w, facts)
	}
	ast.Inspect(d, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || call.Ellipsis.IsValid() {
			return true
		}
		sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		pn, ok := ck.info.Uses[x].(*types.PkgName)
		if !ok || !errorsFuncs[pn.Imported().Path()][sel.Sel.Name] {
			return true
		}
		if len(ck.errTypes.errs) == 0 && sel.Sel.Name != "As" {
			return true // compiled package errors sees only compiled values
		}
		if src := ck.errorsRewrite(call, sel.Sel.Name, w); src != "" {
			facts.errs[keyOf(ck.fset, call.Lparen)] = errFact{pkg: x.Name, fun: sel.Sel.Name, src: src}
		}
		return true
	})
}

// errorsRewrite returns the replacement of a call of errorsFuncs, or "".
func (ck *check) errorsRewrite(call *ast.CallExpr, fun string, w *typeWriter) string {
	args := make([]string, len(call.Args))
	for i := range call.Args {
		args[i] = errArg + strconv.Itoa(i)
	}
	pos := call.Lparen
	switch fun {
	case "Is":
		if len(args) != 2 {
			return ""
		}
		return errorsPkg + ".Is(" + args[0] + ", " + args[1] + ", " + ck.methodSwitch(w, pos) + ")"
	case "Unwrap":
		if len(args) != 1 {
			return ""
		}
		return errorsPkg + ".Unwrap(" + args[0] + ", " + ck.methodSwitch(w, pos) + ")"
	case "As":
		if len(args) != 2 {
			return ""
		}
		return ck.asRewrite(call, args, w)
	}
	return ""
}

// sessionNamed reports whether t is a package-level named type of the
// checked package or a pointer to one (the boxes of a type are keyed by
// its name).
func (ck *check) sessionNamed(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() == ck.pkg && n.Obj().Parent() == ck.pkg.Scope()
}

// mentionsSession reports whether t refers to a named type of the checked
// package.
func (ck *check) mentionsSession(t types.Type) bool {
	found := false
	n := names{
		basic: func(*types.Basic) string { return "" },
		obj: func(obj *types.TypeName) string {
			found = found || obj.Pkg() == ck.pkg
			return ""
		},
	}
	walkType(t, ck.pkg, n, map[types.Type]bool{})
	return found
}

// asRewrite returns the replacement of errors.As(err, target), or "".
func (ck *check) asRewrite(call *ast.CallExpr, args []string, w *typeWriter) string {
	pt, ok := ck.info.TypeOf(call.Args[1]).(*types.Pointer)
	if !ok {
		return "" // errors.As panics, as compiled
	}
	pos := call.Lparen
	elem := pt.Elem()
	ts, err := w.write(elem, pos)
	if err != nil {
		return ""
	}
	errType := types.Universe.Lookup("error").Type()
	iface, isIface := elem.Underlying().(*types.Interface)
	compiled := !ck.mentionsSession(elem) && !ck.literalIface(elem)
	const v, t = "__mpigo_asv", "__mpigo_ast"
	store := "*" + t + ".(*" + ts + ") = x; return true"
	var b strings.Builder
	b.WriteString("func(" + v + ", " + t + " interface{}) bool {")
	switch {
	case compiled && len(ck.errTypes.errs) == 0:
		return "" // only compiled values: compiled errors.As does it
	case !isIface:
		if !types.Implements(elem, errType.Underlying().(*types.Interface)) {
			return "" // errors.As panics, as compiled
		}
		b.WriteString("if x, ok := " + v + ".(" + ts + "); ok {" + store + "}; return false }")
		return errorsPkg + ".As(" + args[0] + ", " + args[1] + ", " + b.String() + `, nil, "", ` + ck.methodSwitch(w, pos) + ")"
	case iface.NumMethods() == 0 || types.Identical(elem, errType):
		return "" // any error is one: compiled errors.As does it
	}
	// An interface with methods: the session's types that implement it.
	var cases []string
	for _, n := range ck.errTypes.errs {
		for _, t := range []types.Type{n, types.NewPointer(n)} {
			if !types.Implements(t, iface) {
				continue
			}
			s, err := w.write(t, pos)
			if err != nil {
				continue
			}
			cases = append(cases, "case "+s+": "+store+";")
		}
	}
	if len(cases) > 0 {
		b.WriteString("switch x := " + v + ".(type) {" + strings.Join(cases, " ") + "};")
	}
	if compiled {
		b.WriteString("if x, ok := " + v + ".(" + ts + "); ok {" + store + "};")
	}
	b.WriteString("return false }")
	var methods []string
	name := `""`
	if !compiled {
		name = strconv.Quote(typeName(elem))
		for i := range iface.NumMethods() {
			m := iface.Method(i)
			methods = append(methods, strconv.Quote(m.Name()+" "+reflectSig(m.Type().(*types.Signature))))
		}
	}
	return errorsPkg + ".As(" + args[0] + ", " + args[1] + ", " + b.String() +
		", []string{" + strings.Join(methods, ", ") + "}, " + name + ", " + ck.methodSwitch(w, pos) + ")"
}

// literalIface reports whether t is an interface type that yaegi
// interprets: an interface literal with methods (a named compiled
// interface is compiled).
func (ck *check) literalIface(t types.Type) bool {
	_, named := t.(*types.Named)
	return !named && types.IsInterface(t)
}

// reflectSig writes a method's signature as reflect's Type.String writes
// the type of a method value.
func reflectSig(sig *types.Signature) string {
	s := types.TypeString(types.NewSignatureType(nil, nil, nil, sig.Params(), sig.Results(), sig.Variadic()),
		func(p *types.Package) string { return p.Name() })
	s = strings.ReplaceAll(s, "interface{}", "interface {}")
	s = strings.ReplaceAll(s, "any", "interface {}")
	return s
}

// methodSwitch returns the source of a function that gives the Unwrap,
// Is and As methods of a value of the session's types (see
// stdsrc/errors.go.txt), or "nil" when none has one.
func (ck *check) methodSwitch(w *typeWriter, pos token.Pos) string {
	var cases []string
	for _, n := range ck.errTypes.methods {
		for _, t := range []types.Type{n, types.NewPointer(n)} {
			ms := errMethods(t)
			if len(ms) == 0 {
				continue
			}
			s, err := w.write(t, pos)
			if err != nil {
				continue
			}
			m := func(key, expr string) string {
				if ms[key] {
					return expr
				}
				return "nil"
			}
			cases = append(cases, "case "+s+": return "+m("Unwrap", "x.Unwrap")+", "+m("UnwrapAll", "x.Unwrap")+", "+m("Is", "x.Is")+", "+m("As", "x.As")+";")
		}
	}
	if len(cases) == 0 {
		return "nil"
	}
	sort.Strings(cases)
	return "func(v interface{}) (func() error, func() []error, func(error) bool, func(interface{}) bool) { switch x := v.(type) {" +
		strings.Join(cases, " ") + "}; return nil, nil, nil, nil }"
}

// formatVerbs returns the verbs of the arguments of a print call with a
// constant format (its first argument), in order; false when the format
// is not constant or uses argument indexes.
func (ck *check) formatVerbs(call *ast.CallExpr) ([]rune, bool) {
	if len(call.Args) == 0 {
		return nil, false
	}
	tv := ck.info.Types[call.Args[0]]
	if tv.Value == nil || tv.Value.Kind() != constant.String {
		return nil, false
	}
	format := constant.StringVal(tv.Value)
	verbs := make([]rune, len(call.Args)-1)
	arg := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		// Flags, width and precision; a * takes an argument.
		for ; i < len(format); i++ {
			c := format[i]
			if c == '[' {
				return nil, false
			}
			if c == '*' {
				arg++
				continue
			}
			if !strings.ContainsRune("+-# 0123456789.", rune(c)) {
				break
			}
		}
		if i >= len(format) {
			break
		}
		v, size := utf8.DecodeRuneInString(format[i:])
		i += size - 1
		if v == '%' {
			continue
		}
		if arg < len(verbs) {
			verbs[arg] = v
		}
		arg++
	}
	return verbs, true
}

// errorsCall returns the replacement of a call of errorsFuncs, or nil.
func (l *lowering) errorsCall(call *ast.CallExpr) ast.Expr {
	f, ok := l.facts.errs[keyOf(l.fset, call.Lparen)]
	if !ok {
		return nil
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != f.fun {
		return nil
	}
	if x, ok := sel.X.(*ast.Ident); !ok || x.Name != f.pkg {
		return nil // rewritten already: the tree is lowered again
	}
	e, err := reparse(l.fset, l.fset.Position(call.Pos()), f.src)
	if err != nil {
		return nil
	}
	args := call.Args
	repl := astutil.Apply(e, func(c *astutil.Cursor) bool {
		if id, ok := c.Node().(*ast.Ident); ok && strings.HasPrefix(id.Name, errArg) {
			if i, err := strconv.Atoi(id.Name[len(errArg):]); err == nil && i < len(args) {
				c.Replace(args[i])
			}
			return false
		}
		return true
	}, nil).(ast.Expr)
	if rc, ok := repl.(*ast.CallExpr); ok {
		rc.Lparen, rc.Rparen = call.Lparen, call.Rparen
	}
	return repl
}

// boxFact is the boxing of an expression converted to error.
type boxFact struct {
	// Guards against stale facts and against code that rewrites wrote at
	// the same position: where the expression ends, its source.
	end  posKey
	text string
	typ  string // its type, as Go source at its position
}

// collectBoxes records the expressions of d whose values, of the
// session's types, are converted to error: returned as one, assigned to
// one, passed for one (a %w argument of fmt.Errorf included), put in one
// in a composite literal, sent as one, compared with one (== and switch
// cases), converted to one.
func (ck *check) collectBoxes(d ast.Decl, w *typeWriter, facts *typedFacts) {
	errType := types.Universe.Lookup("error").Type()
	isErr := func(t types.Type) bool { return t != nil && types.Identical(t, errType) }
	add := func(e ast.Expr) {
		t := ck.info.TypeOf(e)
		if t == nil || types.IsInterface(t) || !ck.sessionNamed(t) || hasTypeParam(t, 0) {
			return
		}
		ts, err := w.write(t, e.Pos())
		if err != nil {
			return
		}
		facts.boxes[keyOf(ck.fset, e.Pos())] = boxFact{end: keyOf(ck.fset, e.End()), text: types.ExprString(e), typ: ts}
	}
	to := func(t types.Type, e ast.Expr) {
		if isErr(t) {
			add(e)
		}
	}
	var sigs []*types.Signature // of the enclosing functions
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncDecl:
			if obj, ok := ck.info.Defs[x.Name].(*types.Func); ok && x.Body != nil {
				sigs = append(sigs, obj.Type().(*types.Signature))
				ast.Inspect(x.Body, visit)
				sigs = sigs[:len(sigs)-1]
			}
			return false
		case *ast.FuncLit:
			if sig, ok := ck.info.TypeOf(x).(*types.Signature); ok {
				sigs = append(sigs, sig)
				ast.Inspect(x.Body, visit)
				sigs = sigs[:len(sigs)-1]
			}
			return false
		case *ast.ReturnStmt:
			if len(sigs) > 0 {
				if res := sigs[len(sigs)-1].Results(); res.Len() == len(x.Results) {
					for i, r := range x.Results {
						to(res.At(i).Type(), r)
					}
				}
			}
		case *ast.AssignStmt:
			if x.Tok == token.ASSIGN && len(x.Lhs) == len(x.Rhs) {
				for i, l := range x.Lhs {
					to(ck.info.TypeOf(l), x.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			if x.Type != nil && len(x.Values) == len(x.Names) {
				for _, v := range x.Values {
					to(ck.info.TypeOf(x.Type), v)
				}
			}
		case *ast.SendStmt:
			if ch, ok := ck.info.TypeOf(x.Chan).Underlying().(*types.Chan); ok {
				to(ch.Elem(), x.Value)
			}
		case *ast.BinaryExpr:
			if x.Op == token.EQL || x.Op == token.NEQ {
				to(ck.info.TypeOf(x.X), x.Y)
				to(ck.info.TypeOf(x.Y), x.X)
			}
		case *ast.SwitchStmt:
			if x.Tag != nil {
				for _, st := range x.Body.List {
					for _, e := range st.(*ast.CaseClause).List {
						to(ck.info.TypeOf(x.Tag), e)
					}
				}
			}
		case *ast.CompositeLit:
			ck.compositeBoxes(x, to)
		case *ast.CallExpr:
			ck.callBoxes(x, to, add)
		}
		return true
	}
	ast.Inspect(d, visit)
}

// compositeBoxes calls to with the type of each element of a composite
// literal.
func (ck *check) compositeBoxes(lit *ast.CompositeLit, to func(types.Type, ast.Expr)) {
	t := ck.info.TypeOf(lit)
	if t == nil {
		return
	}
	if p, ok := t.Underlying().(*types.Pointer); ok { // &T{...} elided in a literal
		t = p.Elem()
	}
	for i, e := range lit.Elts {
		kv, _ := e.(*ast.KeyValueExpr)
		switch u := t.Underlying().(type) {
		case *types.Struct:
			if kv != nil {
				if id, ok := kv.Key.(*ast.Ident); ok {
					if f, ok := ck.info.Uses[id].(*types.Var); ok {
						to(f.Type(), kv.Value)
					}
				}
			} else if i < u.NumFields() {
				to(u.Field(i).Type(), e)
			}
		case *types.Slice:
			if kv != nil {
				e = kv.Value
			}
			to(u.Elem(), e)
		case *types.Array:
			if kv != nil {
				e = kv.Value
			}
			to(u.Elem(), e)
		case *types.Map:
			if kv != nil {
				to(u.Key(), kv.Key)
				to(u.Elem(), kv.Value)
			}
		}
	}
}

// callBoxes calls to with the parameter type of each argument of a call,
// add with the %w arguments of fmt.Errorf; a conversion error(x) is one
// too.
func (ck *check) callBoxes(call *ast.CallExpr, to func(types.Type, ast.Expr), add func(ast.Expr)) {
	tv, ok := ck.info.Types[call.Fun]
	if !ok {
		return
	}
	if tv.IsType() {
		if len(call.Args) == 1 {
			to(tv.Type, call.Args[0])
		}
		return
	}
	if tv.IsBuiltin() {
		// append(s, x...): the elements of s.
		if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok && id.Name == "append" && len(call.Args) > 1 && !call.Ellipsis.IsValid() {
			if sl, ok := ck.info.TypeOf(call.Args[0]).Underlying().(*types.Slice); ok {
				for _, a := range call.Args[1:] {
					to(sl.Elem(), a)
				}
			}
		}
		return
	}
	sig, ok := tv.Type.Underlying().(*types.Signature)
	if !ok {
		return
	}
	if ck.isErrorf(call) {
		if verbs, ok := ck.formatVerbs(call); ok {
			for i, v := range verbs {
				if v == 'w' {
					add(call.Args[i+1])
				}
			}
		}
		return
	}
	params := sig.Params()
	if len(call.Args) == 1 && params.Len() > 1 {
		return // f(g()): g's results
	}
	for i, a := range call.Args {
		switch {
		case sig.Variadic() && i >= params.Len()-1:
			if call.Ellipsis.IsValid() {
				continue
			}
			to(params.At(params.Len()-1).Type().(*types.Slice).Elem(), a)
		case i < params.Len():
			to(params.At(i).Type(), a)
		}
	}
}

// isErrorf reports whether call calls fmt.Errorf.
func (ck *check) isErrorf(call *ast.CallExpr) bool {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Errorf" {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	pn, ok := ck.info.Uses[x].(*types.PkgName)
	return ok && pn.Imported().Path() == "fmt"
}

// boxExpr returns the boxing of e, or nil. parent is e's parent: an
// expression boxed already is not boxed again (the tree is lowered again).
func (l *lowering) boxExpr(e ast.Expr, parent ast.Node) ast.Expr {
	f, ok := l.facts.boxes[keyOf(l.fset, e.Pos())]
	if !ok || keyOf(l.fset, e.End()) != f.end || isBox(e) || types.ExprString(e) != f.text {
		return nil
	}
	if p, ok := parent.(*ast.CallExpr); ok && isBox(p) {
		return nil
	}
	const v = "__mpigo_boxv"
	fn, err := reparse(l.fset, l.fset.Position(e.Pos()), "func("+v+" interface{}) string { return "+v+".("+f.typ+").Error() }")
	if err != nil {
		return nil
	}
	pos := e.Pos()
	return &ast.CallExpr{
		Fun:    &ast.SelectorExpr{X: ident(errorsPkg, pos), Sel: ident("Box", pos)},
		Lparen: pos,
		Args:   []ast.Expr{e, &ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(f.typ)}, fn},
		Rparen: e.End() - 1,
	}
}

// isBox reports whether n is a boxing by boxExpr.
func isBox(n ast.Node) bool {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == errorsPkg && sel.Sel.Name == "Box"
}
