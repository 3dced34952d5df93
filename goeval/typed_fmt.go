package goeval

// Printing values of the session's types as compiled Go prints them.
//
// yaegi gives compiled code a value of an interpreted type as a value of
// its underlying type, so package fmt sees neither the type's name (%T,
// %#v) nor its methods on values inside other values (a []Celsius whose
// String fmt never calls) and sees unexported fields renamed (%+v). The
// arguments of fmt's and log's print functions that hold such values are
// rewritten, with the types go/types gives them, into views (package
// fmtview) that print what fmt prints for the compiled type; a %T of a
// session type gets the type's name written out. Values in interfaces are
// left as they are (see viewGen.dynamic); a %T of an interface that may
// hold a session type is refused.

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// printFunc describes a print function: the index of its format
// parameter (-1: none) and of its first printed argument.
type printFunc struct{ format, first int }

// printFuncs are the print functions whose arguments are rewritten, by
// package path and name.
var printFuncs = map[string]map[string]printFunc{
	"fmt": {
		"Print": {-1, 0}, "Println": {-1, 0}, "Printf": {0, 1},
		"Sprint": {-1, 0}, "Sprintln": {-1, 0}, "Sprintf": {0, 1},
		"Fprint": {-1, 1}, "Fprintln": {-1, 1}, "Fprintf": {1, 2},
		"Append": {-1, 1}, "Appendln": {-1, 1}, "Appendf": {1, 2},
		"Errorf": {0, 1},
	},
	"log": {
		"Print": {-1, 0}, "Println": {-1, 0}, "Printf": {0, 1},
		"Fatal": {-1, 0}, "Fatalln": {-1, 0}, "Fatalf": {0, 1},
		"Panic": {-1, 0}, "Panicln": {-1, 0}, "Panicf": {0, 1},
	},
}

// fmtFact is the rewrite of one print call: new source for some of its
// arguments (fmtArg stands for the argument as written).
type fmtFact struct {
	fun  string         // the function's name: a guard against stale facts
	args map[int]string // argument index → replacement source
	// refused says why an argument cannot be printed right, by index.
	refused map[int]string
}

// fmtArg is the placeholder of an argument in its replacement.
const fmtArg = "__mpigo_fmtarg"

// printCall reports whether call calls a print function of printFuncs
// (without types: a selector on an imported package's name).
func (sc *typedScan) printCall(call *ast.CallExpr) bool {
	path, name, ok := sc.pkgCall(call)
	if !ok {
		return false
	}
	_, ok = printFuncs[path][name]
	_, checked := checkedFuncs[path][name]
	return (ok || checked) && sc.sessionTypes()
}

// pkgCall returns the package path and the name of the function call
// calls, when it is a selector on an imported package's name.
func (sc *typedScan) pkgCall(call *ast.CallExpr) (path, name string, ok bool) {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return "", "", false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok || x.Obj != nil || !isPkgKind(sc.kind(x.Name)) {
		return "", "", false
	}
	return sc.s.pkgPath(sc.c, x.Name), sel.Sel.Name, true
}

// sessionTypes reports whether the session or the cell may declare a type
// (only then can a printed value need a view).
func (sc *typedScan) sessionTypes() bool {
	for _, k := range sc.c.declared {
		if k == "type" {
			return true
		}
	}
	if strings.Contains(sc.c.src, "type ") {
		return true // perhaps a type declared in a function
	}
	for _, e := range sc.s.store.list() {
		if e.Kind == "type" || strings.Contains(e.Src, "type ") {
			return true
		}
	}
	return false
}

// collectFmt records the rewrites of the print calls of d.
func (ck *check) collectFmt(d ast.Decl, w *typeWriter, facts *typedFacts) {
	var impl []types.Type // made at first need
	ast.Inspect(d, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if f, ok := ck.checkedCall(call); ok {
			facts.fmts[keyOf(ck.fset, call.Lparen)] = f
			return true
		}
		pf, name, ok := ck.printFunc(call)
		if !ok {
			return true
		}
		if impl == nil {
			impl = ck.sessionTypes()
		}
		if f := ck.fmtRewrite(call, pf, w, impl); len(f.args) > 0 || len(f.refused) > 0 {
			f.fun = name
			facts.fmts[keyOf(ck.fset, call.Lparen)] = f
		}
		return true
	})
}

// printFunc returns the description of the print function call calls.
func (ck *check) printFunc(call *ast.CallExpr) (printFunc, string, bool) {
	pn, name, ok := ck.pkgFunc(call)
	if !ok {
		return printFunc{}, "", false
	}
	pf, ok := printFuncs[pn.Imported().Path()][name]
	return pf, name, ok && call.Ellipsis == token.NoPos
}

// pkgFunc returns the package and the name of the function call calls,
// when it is a function of an imported package.
func (ck *check) pkgFunc(call *ast.CallExpr) (*types.PkgName, string, bool) {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return nil, "", false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return nil, "", false
	}
	pn, ok := ck.info.Uses[x].(*types.PkgName)
	return pn, sel.Sel.Name, ok
}

// fmtRewrite returns the rewrite of a print call's arguments.
func (ck *check) fmtRewrite(call *ast.CallExpr, pf printFunc, w *typeWriter, impl []types.Type) fmtFact {
	f := fmtFact{args: map[int]string{}, refused: map[int]string{}}
	var verbs []verbUse
	if pf.format >= 0 {
		if pf.format >= len(call.Args) {
			return f
		}
		tv := ck.info.Types[call.Args[pf.format]]
		if tv.Value == nil || tv.Value.Kind() != constant.String {
			if sel := ast.Unparen(call.Fun).(*ast.SelectorExpr); sel.Sel.Name == "Errorf" {
				return f // a %w argument must stay the error it is
			}
		} else {
			format := constant.StringVal(tv.Value)
			var newFormat string
			verbs, newFormat = parseFormat(format, len(call.Args)-pf.first, func(i int) bool {
				return ck.typeNameSource(call.Args[pf.first+i]) != ""
			})
			if verbs == nil {
				return f // argument indexes ([n]): too clever to follow
			}
			if newFormat != format {
				f.args[pf.format] = strconv.Quote(newFormat)
			}
		}
	}
	for i := pf.first; i < len(call.Args); i++ {
		arg := call.Args[i]
		use := verbUse{verb: 'v'}
		if verbs != nil {
			use = verbs[i-pf.first]
		}
		switch use.verb {
		case 'w', 0:
			continue // wrapped by Errorf, or not printed
		case 'T':
			if src := ck.typeNameSource(arg); src != "" {
				f.args[i] = src
			} else if why := ck.hiddenTypeName(arg, impl); why != "" {
				f.refused[i] = why
			}
			continue
		}
		t := ck.info.TypeOf(arg)
		if t == nil {
			continue
		}
		g := &viewGen{ck: ck, w: w, pos: arg.Pos(), names: use.sharp}
		if src := g.expr(fmtArg, t, 0, true); src != fmtArg && g.ok {
			f.args[i] = src
		}
	}
	return f
}

// typeNameSource returns the source of the type name fmt's %T prints for
// arg, where its type is a session type ("" where fmt gets it right
// itself, or for an interface: see hiddenTypeName).
func (ck *check) typeNameSource(arg ast.Expr) string {
	t := ck.info.TypeOf(arg)
	if t == nil || types.IsInterface(t) || !mentionsSessionType(t, ck.pkg, 0) {
		return ""
	}
	return strconv.Quote(reflectTypeString(t))
}

// hiddenTypeName says why the %T of arg, of an interface type, cannot be
// printed right: a session type that implements it is printed as its
// underlying type ("" when no session type implements it).
func (ck *check) hiddenTypeName(arg ast.Expr, impl []types.Type) string {
	t := ck.info.TypeOf(arg)
	if t == nil || !types.IsInterface(t) {
		return ""
	}
	for _, c := range impl {
		if types.AssignableTo(c, t) {
			return fmt.Sprintf("mpigo cannot print the type of an interface value with %%T when it may hold a type declared in the notebook "+
				"(%s would print as %s): use %%T on a value of the concrete type, or a type switch", reflectTypeString(c), reflectTypeString(c.Underlying()))
		}
	}
	return ""
}

// sessionTypes returns the named types the cell's package declares (not
// generic ones) and pointers to them.
func (ck *check) sessionTypes() []types.Type {
	out := []types.Type{}
	for _, obj := range ck.info.Defs {
		if tn, ok := obj.(*types.TypeName); ok && !tn.IsAlias() && tn.Pkg() == ck.pkg {
			if n, ok := tn.Type().(*types.Named); ok && n.TypeParams() == nil && !types.IsInterface(n) {
				out = append(out, n)
				if _, isPtr := n.Underlying().(*types.Pointer); !isPtr {
					out = append(out, types.NewPointer(n))
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return reflectTypeString(out[i]) < reflectTypeString(out[j]) })
	sort.SliceStable(out, func(i, j int) bool { // the named types first: they name the problem
		_, pi := out[i].(*types.Pointer)
		_, pj := out[j].(*types.Pointer)
		return !pi && pj
	})
	return out
}

// mentionsSessionType reports whether t is or contains a named type of pkg
// (the cell's package), or a struct with an unexported field (which yaegi
// renames).
func mentionsSessionType(t types.Type, pkg *types.Package, depth int) bool {
	if depth > 8 {
		return false
	}
	switch x := t.(type) {
	case *types.Named:
		if x.Obj().Pkg() == pkg {
			return true
		}
		if x.Obj().Pkg() == nil { // error
			return false
		}
		// A type of a compiled package is printed right, whatever it holds.
		return false
	case *types.Alias:
		return mentionsSessionType(types.Unalias(x), pkg, depth)
	case *types.Pointer:
		return mentionsSessionType(x.Elem(), pkg, depth+1)
	case *types.Slice:
		return mentionsSessionType(x.Elem(), pkg, depth+1)
	case *types.Array:
		return mentionsSessionType(x.Elem(), pkg, depth+1)
	case *types.Map:
		return mentionsSessionType(x.Key(), pkg, depth+1) || mentionsSessionType(x.Elem(), pkg, depth+1)
	case *types.Struct:
		for i := range x.NumFields() {
			if !x.Field(i).Exported() || mentionsSessionType(x.Field(i).Type(), pkg, depth+1) {
				return true
			}
		}
	}
	return false
}

// verbUse is how a format prints one argument.
type verbUse struct {
	verb  rune // 0: not printed (a width or precision, or missing)
	sharp bool // with the # flag
}

// parseFormat returns how format prints each of n arguments, and the
// format with %T turned into %s for the arguments for which typeName is
// true (their type's name is passed instead). It returns nil verbs for a
// format with explicit argument indexes.
func parseFormat(format string, n int, typeName func(int) bool) ([]verbUse, string) {
	verbs := make([]verbUse, n)
	var b strings.Builder
	arg := 0
	for i := 0; i < len(format); i++ {
		b.WriteByte(format[i])
		if format[i] != '%' {
			continue
		}
		sharp := false
		i++
		for ; i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0; i++ {
			sharp = sharp || format[i] == '#'
			b.WriteByte(format[i])
		}
		for ; i < len(format) && (format[i] == '*' || format[i] == '.' || (format[i] >= '0' && format[i] <= '9')); i++ {
			if format[i] == '*' {
				arg++ // a width or precision argument
			}
			b.WriteByte(format[i])
		}
		if i >= len(format) {
			break
		}
		if format[i] == '[' {
			return nil, format
		}
		if format[i] == '%' {
			b.WriteByte('%')
			continue
		}
		verb := rune(format[i])
		if verb >= 0x80 {
			return nil, format // a non-ASCII verb: leave the call alone
		}
		if arg < n {
			verbs[arg] = verbUse{verb: verb, sharp: sharp}
			if verb == 'T' && typeName(arg) {
				verb = 's'
			}
		}
		arg++
		b.WriteRune(verb)
	}
	return verbs, b.String()
}

// printArgs returns a copy of a print call with the arguments rewritten by
// its fact, or nil when it has none.
func (l *lowering) printArgs(call *ast.CallExpr) *ast.CallExpr {
	f, ok := l.facts.fmts[keyOf(l.fset, call.Lparen)]
	if !ok {
		return nil
	}
	if id := funcName(call.Fun); id == nil || id.Name != f.fun {
		return nil // stale
	}
	for i, why := range f.refused {
		if i < len(call.Args) {
			l.fail(call.Args[i].Pos(), "%s", why)
			return nil
		}
	}
	cp := *call
	cp.Args = append([]ast.Expr(nil), call.Args...)
	for i, src := range f.args {
		if i >= len(cp.Args) {
			return nil
		}
		if isView(cp.Args[i]) {
			continue // rewritten already: the tree is lowered again
		}
		// In a file of the name of the session's files: yaegi finds a
		// package name by the base name of the file that uses it.
		e, err := parser.ParseExprFrom(l.fset, srcName, src, 0)
		if err != nil {
			l.err = fmt.Errorf("goeval: printing: rewriting an argument: %w", err)
			return nil
		}
		orig := cp.Args[i]
		cp.Args[i] = astutil.Apply(e, func(c *astutil.Cursor) bool {
			if id, ok := c.Node().(*ast.Ident); ok && id.Name == fmtArg {
				c.Replace(orig)
				return false
			}
			return true
		}, nil).(ast.Expr)
	}
	return &cp
}

// isView reports whether e is an argument rewritten by printArgs.
func isView(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	switch f := call.Fun.(type) {
	case *ast.FuncLit:
		ps := f.Type.Params.List
		return len(ps) == 1 && len(ps[0].Names) == 1 && strings.HasPrefix(ps[0].Names[0].Name, viewVarPrefix)
	}
	return false
}

// showsFinal reports whether n holds the final expression of the cell,
// whose value the kernel shows, in a session that declares types (a
// value of one needs a view, as for fmt.Print).
func (sc *typedScan) showsFinal(n ast.Node) bool {
	if sc.c.final == nil || n.Pos() > sc.c.final.Pos() || sc.c.final.End() > n.End() {
		return false
	}
	return sc.sessionTypes()
}

// collectFinal records the view of the cell's final expression: the last
// statement of the checked function, "_ = x" (see useTopValues) or a call.
func (ck *check) collectFinal(w *typeWriter, facts *typedFacts) {
	body := ck.wrapper.Body.List
	if ck.c.final == nil || len(body) == 0 {
		return
	}
	var x ast.Expr
	switch st := body[len(body)-1].(type) {
	case *ast.ExprStmt:
		x = st.X
	case *ast.AssignStmt:
		if id, ok := st.Lhs[0].(*ast.Ident); ok && id.Name == "_" && len(st.Lhs) == 1 && len(st.Rhs) == 1 {
			x = st.Rhs[0]
		}
	}
	if x == nil {
		return
	}
	t := ck.info.TypeOf(x)
	if t == nil {
		return
	}
	g := &viewGen{ck: ck, w: w, pos: x.Pos()}
	if src := g.expr(fmtArg, t, 0, true); src != fmtArg && g.ok {
		if typ := g.typ(t); g.ok {
			facts.final = "func(" + fmtArg + " " + typ + ") string { return " + fmtName + ".Sprint(" + src + ") }"
			facts.finalAt = keyOf(ck.fset, x.Pos())
		}
	}
}

// finalView returns the view of the final expression of c (see
// collectFinal), or "".
func (s *Session) finalView(c *cellCode, final ast.Expr) string {
	if final == nil || c.typed == nil || c.typed.final == "" || keyOf(s.ip.FileSet(), final.Pos()) != c.typed.finalAt {
		return ""
	}
	return c.typed.final
}
