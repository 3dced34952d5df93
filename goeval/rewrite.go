package goeval

import (
	"fmt"
	"go/ast"
	"go/token"
	"strconv"

	"golang.org/x/tools/go/ast/astutil"
)

// Names the rewrites introduce; user code cannot clash with them in practice.
const (
	rtName   = "__mpigo_rt"                       // the hidden import of rtPath
	fmtName  = "__mpigo_fmt"                      // a hidden import of fmt
	rtPath   = "github.com/mpigo/mpigo/goeval/rt" // symbols for rewritten code
	mainName = "__mpigo_main"                     // a cell's func main, renamed
	tmpName  = "__mpigo_a"                        // temporaries of go statements
	recName  = "__mpigo_r"                        // the recovered value
)

// kindFunc classifies an identifier the parser could not resolve within the
// file: "func", "type", "var", "const", "define" (a variable defined by a
// statement), "import" or "pkg" (a package name), "builtin", or "" when
// unknown.
type kindFunc func(name string) string

// rewriteGo replaces every go statement under root so that a panic in the
// goroutine is recovered and reported instead of killing the process:
//
//	go f(x, y)
//
// becomes, on the same line,
//
//	{ __mpigo_a0, __mpigo_a1 := x, y; go func() { defer func() { if __mpigo_r := recover(); __mpigo_r != nil { __mpigo_rt.GoPanic("cell[N]:L", __mpigo_r) } }(); f(__mpigo_a0, __mpigo_a1) }() }
//
// The function value (unless it is a declared function, a builtin, a package
// member or a function literal) and the arguments (unless they are
// constants) are bound to temporaries, so they are evaluated when the go
// statement runs, as in Go; untyped constants stay inline so they keep their
// untyped conversion to the parameter type. Of a method call (go w.run()),
// the receiver's parts that can be copied are (see bindReceiver); its
// variable is read in the goroutine, through the literal, which has the
// variables of the go statement's iteration. New nodes get the position of
// the go statement, so positions in errors are unchanged.
func rewriteGo(fset *token.FileSet, root ast.Node, kind kindFunc) {
	astutil.Apply(root, nil, func(c *astutil.Cursor) bool {
		if gs, ok := c.Node().(*ast.GoStmt); ok {
			c.Replace(goReplacement(fset, gs, kind))
		}
		return true
	})
}

// goReplacement builds the replacement of one go statement.
func goReplacement(fset *token.FileSet, gs *ast.GoStmt, kind kindFunc) ast.Stmt {
	pos := gs.Go
	p := fset.Position(pos)
	where := fmt.Sprintf("%s:%d", cleanFile(p.Filename, 0), p.Line)
	assign, inner := bindCall(gs.Call, kind)
	report := &ast.ExprStmt{X: &ast.CallExpr{
		Fun:    rtSel(pos, "GoPanic"),
		Lparen: pos,
		Args:   []ast.Expr{&ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote(where)}, ident(recName, pos)},
		Rparen: pos,
	}}
	recoverer := &ast.DeferStmt{Defer: pos, Call: &ast.CallExpr{
		Fun: funcLit(pos, &ast.IfStmt{
			If: pos,
			Init: &ast.AssignStmt{Lhs: []ast.Expr{ident(recName, pos)}, TokPos: pos, Tok: token.DEFINE,
				Rhs: []ast.Expr{&ast.CallExpr{Fun: ident("recover", pos), Lparen: pos, Rparen: pos}}},
			Cond: &ast.BinaryExpr{X: ident(recName, pos), OpPos: pos, Op: token.NEQ, Y: ident("nil", pos)},
			Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{report}},
		}),
		Lparen: pos, Rparen: pos,
	}}
	goStmt := &ast.GoStmt{Go: pos, Call: &ast.CallExpr{
		Fun:    funcLit(pos, recoverer, &ast.ExprStmt{X: inner}),
		Lparen: pos, Rparen: pos,
	}}
	if assign == nil {
		return goStmt
	}
	return &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{assign, goStmt}}
}

// deferReplacement replaces a defer statement of the top level of a cell
// (which yaegi would run again at the end of every later cell) by the
// registration of the call, its function and arguments evaluated now, to
// run when the cell ends:
//
//	{ __mpigo_a0 := x; __mpigo_rt.Defer(func() { f(__mpigo_a0) }) }
func deferReplacement(ds *ast.DeferStmt, kind kindFunc) ast.Stmt {
	pos := ds.Defer
	assign, inner := bindCall(ds.Call, kind)
	reg := &ast.ExprStmt{X: &ast.CallExpr{
		Fun:    rtSel(pos, "Defer"),
		Lparen: pos,
		Args:   []ast.Expr{funcLit(pos, &ast.ExprStmt{X: inner})},
		Rparen: pos,
	}}
	if assign == nil {
		return reg
	}
	return &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{assign, reg}}
}

// bindCall binds the function value (unless it is a declared function, a
// builtin, a package member or a function literal; of a method call, the
// parts of the receiver that bindReceiver binds) and the arguments (unless
// they are constants) of a call to temporaries, so that they are evaluated
// now, as go and defer do; it returns the assignment (nil if none) and the
// call of the temporaries. Untyped constants stay inline so they keep
// their conversion to the parameter type.
func bindCall(call *ast.CallExpr, kind kindFunc) (ast.Stmt, *ast.CallExpr) {
	var lhs, rhs []ast.Expr
	bind := func(e ast.Expr) ast.Expr {
		name := tmpName + strconv.Itoa(len(lhs))
		lhs = append(lhs, ident(name, e.Pos()))
		rhs = append(rhs, e)
		return ident(name, e.Pos())
	}
	fun := call.Fun
	switch sel, ok := ast.Unparen(fun).(*ast.SelectorExpr); {
	case staticCallee(fun, kind):
	case ok:
		// A method: yaegi's method value would read the receiver from its
		// variable when called, that of the last iteration in a loop; the
		// literal the call moves into keeps the variable of the statement.
		fun = &ast.SelectorExpr{X: bindReceiver(sel.X, kind, bind), Sel: sel.Sel}
	default:
		fun = bind(fun)
	}
	args := make([]ast.Expr, len(call.Args))
	for i, a := range call.Args {
		if constLike(a, kind) {
			args[i] = a
		} else {
			args[i] = bind(a)
		}
	}
	inner := &ast.CallExpr{Fun: fun, Lparen: call.Lparen, Args: args, Ellipsis: call.Ellipsis, Rparen: call.Rparen}
	if len(lhs) == 0 {
		return nil, inner
	}
	return &ast.AssignStmt{Lhs: lhs, TokPos: call.Pos(), Tok: token.DEFINE, Rhs: rhs}, inner
}

// ident returns an identifier at pos.
func ident(name string, pos token.Pos) *ast.Ident { return &ast.Ident{NamePos: pos, Name: name} }

// rtSel returns __mpigo_rt.name at pos.
func rtSel(pos token.Pos, name string) ast.Expr {
	return &ast.SelectorExpr{X: ident(rtName, pos), Sel: ident(name, pos)}
}

// funcLit returns func() { list } at pos.
func funcLit(pos token.Pos, list ...ast.Stmt) *ast.FuncLit {
	return &ast.FuncLit{
		Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}},
		Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: list},
	}
}

// staticCallee reports whether the function of a go statement can be named
// inside the goroutine instead of being evaluated before: a declared
// function (possibly instantiated), a builtin, a package member or a
// function literal.
func staticCallee(fun ast.Expr, kind kindFunc) bool {
	switch f := ast.Unparen(fun).(type) {
	case *ast.Ident:
		if f.Obj != nil {
			return f.Obj.Kind == ast.Fun
		}
		k := kind(f.Name)
		return k == "func" || k == "builtin"
	case *ast.SelectorExpr:
		x, ok := f.X.(*ast.Ident)
		return ok && x.Obj == nil && isPkgKind(kind(x.Name))
	case *ast.IndexExpr:
		return staticCallee(f.X, kind)
	case *ast.IndexListExpr:
		return staticCallee(f.X, kind)
	case *ast.FuncLit:
		return true
	}
	return false
}

// constLike reports whether an argument is a constant expression (literals,
// declared constants, package members, operators on them), which can be
// evaluated in the goroutine and must stay untyped there.
func constLike(e ast.Expr, kind kindFunc) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		if x.Obj != nil {
			return x.Obj.Kind == ast.Con
		}
		k := kind(x.Name)
		return k == "const" || x.Name == "nil" && k == "builtin"
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Obj == nil && isPkgKind(kind(id.Name))
	case *ast.ParenExpr:
		return constLike(x.X, kind)
	case *ast.UnaryExpr:
		return x.Op != token.ARROW && x.Op != token.AND && constLike(x.X, kind)
	case *ast.BinaryExpr:
		return constLike(x.X, kind) && constLike(x.Y, kind)
	}
	return false
}

// isPkgKind reports whether a kind names a package.
func isPkgKind(k string) bool { return k == "pkg" || k == "import" }

// renameMain renames a func main declared in f (a cell's declarations) so
// that yaegi does not run it at every later evaluation; it reports whether
// there was one.
func renameMain(f *ast.File) bool {
	found := false
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "main" {
			fd.Name.Name = mainName
			found = true
		}
	}
	return found
}
