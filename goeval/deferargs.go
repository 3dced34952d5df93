package goeval

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// Go evaluates the function value, the receiver and the arguments of a
// deferred call at the defer statement; yaegi v0.16 keeps, at the defer
// statement, where they are stored (a variable's storage, the slot of an
// expression's value), and reads them when the call runs: x := 1; defer
// fmt.Println(x); x = 3 printed 3. How yaegi runs a function adds three
// more differences:
//
//   - a function literal deferred directly runs on the frame of the
//     function as it is when the call runs, so that in a loop it sees the
//     variables of the last iteration, not those of the iteration that
//     deferred it: for i := range 3 { defer func() { fmt.Print(i) }() }
//     printed 2 2 2;
//   - a deferred method call (and a method value) reads its receiver from
//     the variable when the call runs; in a loop, that is the last
//     iteration's variable: for ... { r := open(n); defer r.Close() }
//     closed the last r every time;
//   - a function literal evaluated in a function (a closure) locks that
//     function's frame when it returns, and the frame is locked while the
//     function runs its deferred calls: a closure that a deferred call runs
//     (cleanup := func() { ... }; defer cleanup()) deadlocked.
//
// rewriteDefers rewrites each defer statement (those at the top level of
// a cell are already calls of the helper Defer: see deferReplacement) so
// that what Go evaluates at the defer statement is evaluated there, into
// new variables (a define gives a variable new storage every time it runs,
// and nothing changes them after):
//
//	defer f(a, b)              { __mpigo_dv0 := a; __mpigo_dv1 := b; defer f(__mpigo_dv0, __mpigo_dv1) }
//	defer fs[i](a)             { __mpigo_dv0 := fs[i]; __mpigo_dv1 := a; defer __mpigo_dv0(__mpigo_dv1) }
//	defer getConn().Close()    { __mpigo_dv0 := getConn(); defer __mpigo_dv0.Close() }
//	defer func(x int) {...}(a) { __mpigo_dv0 := a; defer func(x int) {...}(__mpigo_dv0) }
//
// Constants stay in place, so that untyped ones keep their conversion to
// the parameter's type; so do a declared function, a package's function, a
// built-in and a function literal, which evaluate to themselves. A
// function literal stays the deferred function, so that recover in it
// works. The receiver of a method call is evaluated as far as a copy is
// exact whatever its type: the parts that are not addressable (a call's
// result, a type assertion) and the indices; the variable it names stays
// a variable, so that a method with a pointer receiver (defer mu.Unlock())
// works on it, not on a copy.
//
// In a loop (or in a function with a goto), the deferred call is made
// apart when the frame it would read at the end is not the iteration's: a
// function literal that names a variable declared in the loop (unless it
// calls recover, which works only in the literal deferred directly), and a
// method call whose receiver does or has parts bound. The literal (or a
// literal that makes the call) is then evaluated in a helper function
// called at once, whose frame keeps the iteration's variables, and the
// result is deferred:
//
//	defer func() { use(i) }()  { __mpigo_df := func() func() { return func() { use(i) } }(); defer __mpigo_df() }
//	defer r.Close()            { __mpigo_df := func() func() { return func() { r.Close() } }(); defer __mpigo_df() }
//
// So is a call with xs...: yaegi passes the slice as one value to a
// deferred interpreted function (recover in a function so deferred then
// does not stop a panic).
//
// For the deadlock, the function literals evaluated in a function that has
// defer statements (but those called at once, deferred or started as
// goroutines) are evaluated the same way, in a helper function: a closure
// locks the frame it was made in, the helper's.
//
// What remains: the receiver itself is not copied, as its type is not
// known (a value receiver is copied at the defer statement in Go: with
// t := T{1}; defer t.Show(); t.n = 2, Show sees 2 here, 1 in Go; a pointer
// or interface variable assigned after the defer statement is seen
// changed), and a literal that calls recover and names a variable of its
// loop sees the last iteration's variable.
func rewriteDefers(root ast.Node, kind kindFunc) {
	r := &deferRewrite{kind: kind, called: map[*ast.FuncLit]bool{}, names: map[ast.Node][]string{}}
	astutil.Apply(root, r.pre, r.post)
}

// Names of the variables the rewrite of defer statements introduces.
const (
	deferValue = "__mpigo_dv" // a value of a deferred call (numbered)
	deferApart = "__mpigo_df" // a deferred function made apart
)

// deferRewrite is the state of rewriteDefers.
type deferRewrite struct {
	kind  kindFunc
	funcs []*deferFunc // the functions around the node visited, innermost last
	// called holds the function literals called where they are (deferred,
	// started as goroutines, called at once).
	called map[*ast.FuncLit]bool
	// names caches the variables declared in a loop (or a function's body).
	names map[ast.Node][]string
}

// deferFunc is a function whose body is being visited.
type deferFunc struct {
	body   *ast.BlockStmt
	defers bool       // it has defer statements of its own
	jumps  bool       // it has a goto of the user's
	loops  []ast.Node // the loops around the node visited, outermost first
}

func (r *deferRewrite) pre(c *astutil.Cursor) bool {
	switch x := c.Node().(type) {
	case *ast.FuncDecl:
		if x.Body != nil {
			r.enter(x.Body)
		}
	case *ast.FuncLit:
		r.enter(x.Body)
	case *ast.ForStmt, *ast.RangeStmt:
		if f := r.top(); f != nil {
			f.loops = append(f.loops, x)
		}
	case *ast.CallExpr:
		if lit, ok := ast.Unparen(x.Fun).(*ast.FuncLit); ok {
			r.called[lit] = true
		}
	}
	return true
}

func (r *deferRewrite) post(c *astutil.Cursor) bool {
	switch x := c.Node().(type) {
	case *ast.FuncDecl:
		if x.Body != nil {
			r.funcs = r.funcs[:len(r.funcs)-1]
		}
	case *ast.FuncLit:
		r.funcs = r.funcs[:len(r.funcs)-1]
		if f := r.top(); f != nil && f.defers && !r.called[x] {
			c.Replace(madeApart(x))
		}
	case *ast.ForStmt, *ast.RangeStmt:
		if f := r.top(); f != nil {
			f.loops = f.loops[:len(f.loops)-1]
		}
	case *ast.DeferStmt:
		if f := r.top(); f != nil {
			if st := r.deferStmt(x, f); st != nil {
				c.Replace(st)
			}
		}
	}
	return true
}

// enter starts the visit of a function's body.
func (r *deferRewrite) enter(body *ast.BlockStmt) {
	f := &deferFunc{body: body}
	walkNoFunc(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.DeferStmt:
			f.defers = true
		case *ast.BranchStmt:
			if x.Tok == token.GOTO && !strings.HasPrefix(x.Label.Name, "__mpigo_") {
				f.jumps = true
			}
		}
		return true
	})
	r.funcs = append(r.funcs, f)
}

// top returns the innermost function around the node visited, or nil at
// the top level.
func (r *deferRewrite) top() *deferFunc {
	if len(r.funcs) == 0 {
		return nil
	}
	return r.funcs[len(r.funcs)-1]
}

// again returns the variables that a new iteration (or a goto) can declare
// again while a call deferred where f is now waits: those declared in the
// loops around, or anywhere in the function's body when it has a goto.
func (r *deferRewrite) again(f *deferFunc) []string {
	scopes := f.loops
	if f.jumps {
		scopes = []ast.Node{f.body}
	}
	var out []string
	for _, s := range scopes {
		names, ok := r.names[s]
		if !ok {
			names = declaredNames(s)
			r.names[s] = names
		}
		out = append(out, names...)
	}
	return out
}

// declaredNames returns the names of the variables declared in n, function
// literals excluded.
func declaredNames(n ast.Node) []string {
	var out []string
	add := func(e ast.Expr) {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			out = append(out, id.Name)
		}
	}
	walkNoFunc(n, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.AssignStmt:
			if x.Tok == token.DEFINE {
				for _, l := range x.Lhs {
					add(l)
				}
			}
		case *ast.RangeStmt:
			if x.Tok == token.DEFINE {
				add(x.Key)
				add(x.Value)
			}
		case *ast.ValueSpec:
			for _, id := range x.Names {
				add(id)
			}
		}
		return true
	})
	return out
}

// deferStmt returns the replacement of a defer statement of the function
// f, or nil when it needs none.
func (r *deferRewrite) deferStmt(ds *ast.DeferStmt, f *deferFunc) ast.Stmt {
	pos := ds.Defer
	call := ds.Call
	b := &deferBinder{kind: r.kind, pos: pos}
	looping := len(f.loops) > 0 || f.jumps
	fun := call.Fun
	apart := false
	// yaegi cannot defer a call with xs... of an interpreted function: it
	// passes the slice as one value.
	spread := call.Ellipsis.IsValid()
	switch x := ast.Unparen(fun).(type) {
	case *ast.FuncLit:
		apart = looping && mentions(x, r.again(f)) && !callsRecover(x.Body, r.kind)
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok && id.Obj == nil && isPkgKind(r.kind(id.Name)) {
			break // a package's function
		}
		// A method, or a field of function type: the receiver's parts
		// that can be copied are evaluated now, its variable when the
		// call runs.
		fun = &ast.SelectorExpr{X: b.receiver(x.X), Sel: x.Sel}
		apart = looping && (len(b.lhs) > 0 || mentions(x.X, r.again(f)))
	default:
		if !staticCallee(fun, r.kind) {
			fun = b.bind(fun)
		}
	}
	args := make([]ast.Expr, len(call.Args))
	for i, a := range call.Args {
		if constLike(a, r.kind) {
			args[i] = a
		} else {
			args[i] = b.bind(a)
		}
	}
	deferred := &ast.CallExpr{Fun: fun, Lparen: call.Lparen, Args: args, Ellipsis: call.Ellipsis, Rparen: call.Rparen}
	lit, isLit := ast.Unparen(fun).(*ast.FuncLit)
	switch {
	case apart && isLit && !spread:
		// The literal, made apart, is deferred with the arguments.
		b.define(deferApart, madeApart(lit))
		deferred.Fun = ident(deferApart, pos)
	case apart || spread:
		// The call, in a literal made apart after the values it uses,
		// is deferred.
		b.define(deferApart, madeApart(funcLit(pos, &ast.ExprStmt{X: deferred})))
		deferred = &ast.CallExpr{Fun: ident(deferApart, pos), Lparen: pos, Rparen: pos}
	}
	if len(b.lhs) == 0 {
		return nil
	}
	list := append(b.stmts(), &ast.DeferStmt{Defer: pos, Call: deferred})
	return &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: pos}
}

// deferBinder collects the variables that hold the values of a deferred
// call.
type deferBinder struct {
	kind   kindFunc
	pos    token.Pos
	lhs    []string
	values []ast.Expr
}

// bind defines a new variable set to e and returns its name.
func (b *deferBinder) bind(e ast.Expr) ast.Expr {
	name := deferValue + strconv.Itoa(len(b.values))
	b.define(name, e)
	return ident(name, e.Pos())
}

// define adds the definition name := e.
func (b *deferBinder) define(name string, e ast.Expr) {
	b.lhs = append(b.lhs, name)
	b.values = append(b.values, e)
}

// stmts returns the definitions, one statement each: yaegi loses values in
// a define of several values when one is a composite literal.
func (b *deferBinder) stmts() []ast.Stmt {
	out := make([]ast.Stmt, len(b.lhs))
	for i, name := range b.lhs {
		out[i] = &ast.AssignStmt{Lhs: []ast.Expr{ident(name, b.pos)}, TokPos: b.pos, Tok: token.DEFINE, Rhs: []ast.Expr{b.values[i]}}
	}
	return out
}

// receiver returns the receiver of a deferred method call with its parts
// evaluated now bound to variables (see bindReceiver).
func (b *deferBinder) receiver(e ast.Expr) ast.Expr { return bindReceiver(e, b.kind, b.bind) }

// bindReceiver returns the receiver expression of a method call (or the
// operand of a field of function type) with the parts that Go evaluates
// at a defer or go statement and that a copy gives exactly bound by bind:
// a value that is not addressable (a call, a type assertion, a composite
// literal, &x: Go copies those, or they are pointers), and an index. What
// names a variable (x, x.f, *p, x[i]) stays, for a method with a pointer
// receiver to work on the variable; a package's member too.
func bindReceiver(e ast.Expr, kind kindFunc, bind func(ast.Expr) ast.Expr) ast.Expr {
	switch x := e.(type) {
	case *ast.Ident:
		return x
	case *ast.ParenExpr:
		return &ast.ParenExpr{Lparen: x.Lparen, X: bindReceiver(x.X, kind, bind), Rparen: x.Rparen}
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok && id.Obj == nil && isPkgKind(kind(id.Name)) {
			return x
		}
		return &ast.SelectorExpr{X: bindReceiver(x.X, kind, bind), Sel: x.Sel}
	case *ast.StarExpr:
		return &ast.StarExpr{Star: x.Star, X: bindReceiver(x.X, kind, bind)}
	case *ast.IndexExpr:
		out := &ast.IndexExpr{X: bindReceiver(x.X, kind, bind), Lbrack: x.Lbrack, Index: x.Index, Rbrack: x.Rbrack}
		if valueIndex(x.Index, kind) {
			out.Index = bind(x.Index)
		}
		return out
	case *ast.IndexListExpr:
		return x // type arguments (of a method expression)
	}
	if constLike(e, kind) {
		return e
	}
	return bind(e)
}

// valueIndex reports whether the index of a receiver's index expression is
// a value to evaluate now: not a constant, and not what may be a type
// argument (of a generic type in a method expression).
func valueIndex(e ast.Expr, kind kindFunc) bool {
	if constLike(e, kind) {
		return false
	}
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		if x.Obj != nil {
			return x.Obj.Kind == ast.Var
		}
		k := kind(x.Name)
		return k == "var" || k == "define"
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return !ok || id.Obj != nil || !isPkgKind(kind(id.Name))
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.StructType, *ast.InterfaceType, *ast.StarExpr,
		*ast.IndexExpr, *ast.IndexListExpr:
		return false
	}
	return true
}

// callsRecover reports whether body (function literals excluded) calls
// the built-in recover.
func callsRecover(body *ast.BlockStmt, kind kindFunc) bool {
	found := false
	walkNoFunc(body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if id, ok := ast.Unparen(call.Fun).(*ast.Ident); ok && id.Name == "recover" && id.Obj == nil && kind("recover") == "builtin" {
				found = true
			}
		}
		return !found
	})
	return found
}

// madeApart returns func() T { return lit }(), where T is lit's type: the
// closure is made in the frame of that helper function.
func madeApart(lit *ast.FuncLit) ast.Expr {
	pos := lit.Pos()
	typ := &ast.FuncType{Func: pos, Params: unnamedFields(lit.Type.Params), Results: unnamedFields(lit.Type.Results)}
	helper := &ast.FuncLit{
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos},
			Results: &ast.FieldList{List: []*ast.Field{{Type: typ}}}},
		Body: &ast.BlockStmt{Lbrace: pos, Rbrace: lit.End() - 1, List: []ast.Stmt{
			&ast.ReturnStmt{Return: pos, Results: []ast.Expr{lit}},
		}},
	}
	return &ast.CallExpr{Fun: helper, Lparen: lit.End() - 1, Rparen: lit.End() - 1}
}

// unnamedFields returns a field list with the types of fl, one field a
// value, without names.
func unnamedFields(fl *ast.FieldList) *ast.FieldList {
	if fl == nil {
		return nil
	}
	out := &ast.FieldList{Opening: fl.Opening, Closing: fl.Closing}
	for _, f := range fl.List {
		for range max(len(f.Names), 1) {
			out.List = append(out.List, &ast.Field{Type: f.Type})
		}
	}
	return out
}
