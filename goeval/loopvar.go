package goeval

import (
	"fmt"
	"go/ast"
	"go/token"
	"slices"

	"golang.org/x/tools/go/ast/astutil"
)

// Since Go 1.22 each iteration of a loop that declares its variables with
// := has its own copy of them; yaegi v0.16 keeps the older semantics, one
// variable shared by all iterations, so that closures created in a loop all
// see its last value: a silently wrong answer. rewriteLoopVars gives such
// loops the new semantics where the difference can be observed: when
// something in the loop can keep the address of a loop variable, that is a
// function literal, a go or defer statement (yaegi reads the arguments of
// a deferred call from the variables they name only when it runs), an
// address-of, a slice expression or a selector (a pointer method takes the
// address implicitly, and without types a method cannot be told from a
// field) that uses one. Other loops, the hot ones of numeric code in
// particular, are left as they are.
//
// A range loop assigns its variables from the iteration every time, so
// copies at the start of the body are exact:
//
//	for k, v := range x { body }
//
// becomes
//
//	for k, v := range x { k, v := k, v; { body } }
//
// (the inner block lets the body declare k or v again, as it may). A
// three-clause loop hands the variables of one iteration on to the next:
//
//	L: for i, j := a, b; cond; post { body }
//
// becomes
//
//	L: for __mpigo_i, __mpigo_j, __mpigo_first := a, b, true; ; __mpigo_first = false {
//		i, j := __mpigo_i, __mpigo_j
//		if !__mpigo_first { post }
//		if !(cond) { break }
//		{ body }
//	__mpigo_nextN:
//		__mpigo_i, __mpigo_j = i, j
//	}
//
// which is Go's definition: each iteration's variables are new, initialized
// from the previous iteration's at its end, and post and cond run on them,
// so that a closure in cond or post sees the same variables as the body. A
// continue of the loop (bare, or with its label, also from nested loops)
// becomes goto __mpigo_nextN, so that the values reach the next iteration;
// break, break L and goto keep their meaning as the structure of loops is
// unchanged, as does goto L (the loop starts again, flag included). When the
// init is a call with several results (i, j := f()), the flag cannot join
// it and lives in a one-pass loop around, which then carries the label:
//
//	L: for __mpigo_first, __mpigo_again := true, true; __mpigo_again; __mpigo_again = false {
//		for __mpigo_i, __mpigo_j := f(); ; __mpigo_first = false { ... }
//	}
//
// (The flag is reset in the loop's post even when there is no post to
// skip: yaegi v0.16 runs the init again at every iteration of a loop with
// an init and neither condition nor post.)
//
// Two more yaegi behaviours matter for closures made in loops. A function
// literal passed straight to a compiled function reads the variables of
// the frame when it runs, not the iteration's: closureArgs makes it a
// value first. A deferred function literal has the same problem and no
// cure (see closureArgs): pass it the variables as arguments instead,
// defer func(i int) { ... }(i), which are bound to the iteration's.
//
// At the top level of a cell (root is the body of the statements' wrapper),
// the statement that holds such a loop runs in a function literal called at
// once, like the statements fixTopLevel wraps: in yaegi's global scope, a
// := in an inner block reuses any variable of the same name in scope, the
// loop's own included, so the copies would not be new variables. Statements
// at the top level define nothing outside themselves, and fixTopLevel has
// already turned return and defer into forms that work in the literal;
// only a goto that jumps into or out of the statement forbids it: the
// error is a compile error of the cell that says so.
func rewriteLoopVars(fset *token.FileSet, root ast.Node, c *cellCode) error {
	if body, ok := root.(*ast.BlockStmt); ok {
		if err := wrapGlobalLoops(fset, body, c); err != nil {
			return err
		}
	}
	n := 0
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		switch x := cur.Node().(type) {
		case *ast.RangeStmt:
			closureArgs(x.Body)
			if vars := rangeVars(x); observable(vars, x.Body) {
				x.Body = rangeCopies(x, vars)
			}
		case *ast.ForStmt:
			closureArgs(x.Body)
			if vars := forVars(x); observable(vars, x.Cond, x.Post, x.Body) {
				n++
				label := ""
				if ls, ok := cur.Parent().(*ast.LabeledStmt); ok {
					label = ls.Label.Name
				}
				cur.Replace(perIteration(x, label, n))
			}
		}
		return true
	})
	hoistLoneInits(root)
	return nil
}

// hoistLoneInits rewrites the loops that have an init statement but neither
// a condition nor a post statement, `for i := 0; ; { ... }`, as
// `{ i := 0; for { ... } }` (the label, if any, stays on the loop): yaegi
// v0.16 runs such an init again before every iteration, so the loop never
// ends. The loops rewritten for per-iteration variables always have a post
// statement and are left alone; without one that observes them, one
// variable for the whole loop is not observable.
func hoistLoneInits(root ast.Node) {
	lone := func(n ast.Node) (*ast.ForStmt, bool) {
		f, ok := n.(*ast.ForStmt)
		return f, ok && f.Init != nil && f.Cond == nil && f.Post == nil
	}
	hoist := func(f *ast.ForStmt, loop ast.Stmt) ast.Stmt {
		init := f.Init
		f.Init = nil
		return &ast.BlockStmt{Lbrace: f.For, List: []ast.Stmt{init, loop}, Rbrace: f.Body.Rbrace}
	}
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		switch x := cur.Node().(type) {
		case *ast.LabeledStmt:
			if f, ok := lone(x.Stmt); ok {
				cur.Replace(hoist(f, x))
			}
		case *ast.ForStmt:
			if _, labelled := cur.Parent().(*ast.LabeledStmt); !labelled {
				if f, ok := lone(x); ok {
					cur.Replace(hoist(f, f))
				}
			}
		}
		return true
	})
}

// wrapGlobalLoops puts each top-level statement of a statement group that
// holds a loop with per-iteration variables that something can observe into
// a function literal called at once (see rewriteLoopVars). That includes
// the variables the loop's body declares, which the global scope would
// share too (fixTopLevel, for instance, binds the arguments of a deferred
// call to such variables). A goto that jumps into or out of the statement
// makes that impossible: a compile error when the loop's own variables
// need copies, the statement left as it is otherwise.
func wrapGlobalLoops(fset *token.FileSet, body *ast.BlockStmt, c *cellCode) error {
	for i, st := range body.List {
		loop, captures := globalLoop(st)
		if !captures {
			continue
		}
		if g := gotoAcross(body.List, i); g != nil {
			if loop != nil {
				return loopGotoError(fset, loop, g, c)
			}
			continue
		}
		body.List[i] = callNow(st.Pos(), st.End()-1, []ast.Stmt{st})
	}
	return nil
}

// globalLoop returns the first loop of a top-level statement, function
// literals excluded, whose variables need copies per iteration (or nil),
// and whether the body of any of its loops holds a function literal, a go
// or defer statement, an address-of or a slice expression.
func globalLoop(st ast.Stmt) (loop ast.Stmt, captures bool) {
	walkNoFunc(st, func(n ast.Node) bool {
		var body *ast.BlockStmt
		switch x := n.(type) {
		case *ast.RangeStmt:
			body = x.Body
			if loop == nil && observable(rangeVars(x), x.Body) {
				loop = x
			}
		case *ast.ForStmt:
			body = x.Body
			if loop == nil && observable(forVars(x), x.Cond, x.Post, x.Body) {
				loop = x
			}
		}
		if body != nil && !captures {
			ast.Inspect(body, func(m ast.Node) bool {
				switch x := m.(type) {
				case *ast.FuncLit, *ast.GoStmt, *ast.DeferStmt, *ast.SliceExpr:
					captures = true
				case *ast.UnaryExpr:
					captures = captures || x.Op == token.AND
				}
				return !captures
			})
		}
		return true
	})
	return loop, captures || loop != nil
}

// loopGotoError is the error of a top-level loop in need of per-iteration
// variables that a goto prevents from running in a function literal.
func loopGotoError(fset *token.FileSet, loop ast.Node, g *ast.BranchStmt, c *cellCode) error {
	p := fset.Position(loop.Pos())
	msg := fmt.Sprintf("%s: mpigo: cannot give this loop one copy of its variables per iteration (Go 1.22), which its closures, go, defer or & can observe: "+
		"at the top level of a cell that needs the statement holding the loop to run in a function, but the goto at %s jumps across it; "+
		"move the code into a function, or do without the goto", posString(p), posString(fset.Position(g.Pos())))
	e := newCompileError(msg, 0, 0)
	if c != nil && p.Filename == fmt.Sprintf("cell[%d]/%s", c.no, srcName) {
		e.Line, e.Col = p.Line, p.Column
	}
	return e
}

// gotoAcross returns a goto of list (function literals excluded) that
// jumps into or out of list[i], or nil.
func gotoAcross(list []ast.Stmt, i int) *ast.BranchStmt {
	inside := map[string]bool{}
	walkNoFunc(list[i], func(n ast.Node) bool {
		if ls, ok := n.(*ast.LabeledStmt); ok {
			inside[ls.Label.Name] = true
		}
		return true
	})
	var found *ast.BranchStmt
	for j, st := range list {
		walkNoFunc(st, func(n ast.Node) bool {
			if b, ok := n.(*ast.BranchStmt); ok && b.Tok == token.GOTO && inside[b.Label.Name] != (j == i) {
				found = b
			}
			return found == nil
		})
		if found != nil {
			return found
		}
	}
	return nil
}

// rangeVars returns the variables a range loop declares ("_" excluded).
func rangeVars(rs *ast.RangeStmt) []string {
	if rs.Tok != token.DEFINE {
		return nil
	}
	var vars []string
	for _, e := range []ast.Expr{rs.Key, rs.Value} {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			vars = append(vars, id.Name)
		}
	}
	return vars
}

// forVars returns the variables the init of a three-clause loop declares
// ("_" excluded).
func forVars(fs *ast.ForStmt) []string {
	init, ok := fs.Init.(*ast.AssignStmt)
	if !ok || init.Tok != token.DEFINE {
		return nil
	}
	var vars []string
	for _, e := range init.Lhs {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			vars = append(vars, id.Name)
		}
	}
	return vars
}

// observable reports whether nodes (the parts of a loop run at each
// iteration) can tell a variable shared by all iterations from one per
// iteration: whether a function literal, or a go or defer statement, uses
// one of vars, or an address-of, slice expression or selector applies to
// one (or to a part of one: v.f, v[i]). Names are compared without regard
// to scopes, which can only make a loop rewritten for nothing.
func observable(vars []string, nodes ...ast.Node) bool {
	if len(vars) == 0 {
		return false
	}
	found := false
	for _, n := range nodes {
		if n == nil {
			continue
		}
		ast.Inspect(n, func(m ast.Node) bool {
			if found {
				return false
			}
			switch x := m.(type) {
			case *ast.FuncLit, *ast.GoStmt, *ast.DeferStmt:
				found = mentions(x, vars)
				return false // all seen
			case *ast.UnaryExpr:
				found = x.Op == token.AND && slices.Contains(vars, rootName(x.X))
			case *ast.SliceExpr:
				found = slices.Contains(vars, rootName(x.X))
			case *ast.SelectorExpr:
				found = slices.Contains(vars, rootName(x.X))
			}
			return !found
		})
	}
	return found
}

// rootName returns the variable an expression such as v, v.f, v[i] or (v)
// is part of, or "".
func rootName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		default:
			return ""
		}
	}
}

// rangeCopies returns the body of a range loop that starts with copies of
// the loop's variables: { k, v := k, v; { body } }.
func rangeCopies(rs *ast.RangeStmt, vars []string) *ast.BlockStmt {
	pos := rs.For
	return &ast.BlockStmt{Lbrace: rs.Body.Lbrace, Rbrace: rs.Body.Rbrace, List: []ast.Stmt{
		assign(idents(vars, "", pos), token.DEFINE, idents(vars, "", pos)),
		rs.Body,
	}}
}

// perIteration builds the replacement of a three-clause loop (see
// rewriteLoopVars); label is the loop's own label, if any, and n numbers
// the loop in the rewritten source, for the label of its end.
func perIteration(fs *ast.ForStmt, label string, n int) ast.Stmt {
	pos := fs.For
	init := fs.Init.(*ast.AssignStmt)
	var carriers []ast.Expr
	for _, e := range init.Lhs {
		name := "_"
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			name = "__mpigo_" + id.Name
		}
		carriers = append(carriers, ident(name, pos))
	}
	loop := &ast.ForStmt{For: pos,
		Post: assign([]ast.Expr{ident(loopFirst, pos)}, token.ASSIGN, []ast.Expr{ident("false", pos)}),
		Body: iteration(fs, label, n),
	}
	if len(init.Rhs) == len(init.Lhs) {
		loop.Init = assign(append(carriers, ident(loopFirst, pos)), token.DEFINE, append(slices.Clone(init.Rhs), ident("true", pos)))
		return loop
	}
	// i, j := f(): the flag is set by a one-pass loop around.
	loop.Init = assign(carriers, token.DEFINE, init.Rhs)
	const again = "__mpigo_again"
	return &ast.ForStmt{For: pos,
		Init: assign([]ast.Expr{ident(loopFirst, pos), ident(again, pos)}, token.DEFINE, []ast.Expr{ident("true", pos), ident("true", pos)}),
		Cond: ident(again, pos),
		Post: assign([]ast.Expr{ident(again, pos)}, token.ASSIGN, []ast.Expr{ident("false", pos)}),
		Body: &ast.BlockStmt{Lbrace: pos, Rbrace: fs.Body.Rbrace, List: []ast.Stmt{loop}},
	}
}

// loopFirst is the flag of a rewritten three-clause loop that is true in
// its first iteration only.
const loopFirst = "__mpigo_first"

// iteration returns the body of the rewritten three-clause loop fs: the
// copies of the variables, post (but in the first iteration), the test of
// cond, the loop's body and the copy back for the next iteration, labelled
// for the continue statements of the body, which it retargets.
func iteration(fs *ast.ForStmt, label string, n int) *ast.BlockStmt {
	pos := fs.For
	vars := forVars(fs)
	next := fmt.Sprintf("__mpigo_next%d", n)
	list := []ast.Stmt{assign(idents(vars, "", pos), token.DEFINE, idents(vars, "__mpigo_", pos))}
	if fs.Post != nil {
		list = append(list, ifThen(&ast.UnaryExpr{OpPos: pos, Op: token.NOT, X: ident(loopFirst, pos)}, fs.Post))
	}
	if fs.Cond != nil {
		list = append(list, ifThen(&ast.UnaryExpr{OpPos: pos, Op: token.NOT, X: &ast.ParenExpr{Lparen: pos, X: fs.Cond, Rparen: pos}},
			&ast.BranchStmt{TokPos: pos, Tok: token.BREAK}))
	}
	var carry ast.Stmt = assign(idents(vars, "__mpigo_", pos), token.ASSIGN, idents(vars, "", pos))
	if retargetContinues(fs.Body, label, next) {
		carry = &ast.LabeledStmt{Label: ident(next, pos), Colon: pos, Stmt: carry}
	}
	list = append(list, fs.Body, carry)
	return &ast.BlockStmt{Lbrace: fs.Body.Lbrace, Rbrace: fs.Body.Rbrace, List: list}
}

// ifThen returns the statement if cond { then } at the position of cond.
func ifThen(cond ast.Expr, then ast.Stmt) *ast.IfStmt {
	pos := cond.Pos()
	return &ast.IfStmt{If: pos, Cond: cond, Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{then}}}
}

// closureArgs replaces the function literals that are arguments of calls
// of package functions or methods (pkg.F, x.M) in a loop's body (function
// literals and defer statements excluded) by []func(...){lit}[0]. yaegi
// turns a literal passed straight to a compiled function (time.AfterFunc(d,
// func() { ... }), or the registration of a top-level defer) into a
// function that reads the variables of the frame when it runs, those of
// the last iteration, whereas a literal evaluated as a value is a closure
// of the iteration's variables. Literals passed to the cell's own functions
// or to builtins are fine as they are. (A deferred call cannot be helped
// so: yaegi deadlocks running a deferred closure made in a loop's inner
// block.)
func closureArgs(body *ast.BlockStmt) {
	walkNoFunc(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.DeferStmt:
			return false
		case *ast.CallExpr:
			if _, ok := ast.Unparen(x.Fun).(*ast.SelectorExpr); !ok {
				break
			}
			for i, a := range x.Args {
				if lit, ok := a.(*ast.FuncLit); ok {
					x.Args[i] = closureValue(lit)
				}
			}
		}
		return true
	})
}

// closureValue returns []func(...){lit}[0].
func closureValue(lit *ast.FuncLit) ast.Expr {
	pos := lit.Pos()
	typ := &ast.FuncType{Func: pos, Params: unnamedFields(lit.Type.Params), Results: unnamedFields(lit.Type.Results)}
	return &ast.IndexExpr{
		X:      &ast.CompositeLit{Type: &ast.ArrayType{Lbrack: pos, Elt: typ}, Lbrace: pos, Elts: []ast.Expr{lit}, Rbrace: lit.End() - 1},
		Lbrack: pos, Index: &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: "0"}, Rbrack: pos,
	}
}

// retargetContinues turns the continue statements of a loop's body that
// continue the loop (bare ones outside nested loops, and those naming its
// label) into goto next, and reports whether there were any.
func retargetContinues(body *ast.BlockStmt, label, next string) bool {
	found := false
	var walk func(n ast.Node, own bool)
	walk = func(n ast.Node, own bool) {
		ast.Inspect(n, func(m ast.Node) bool {
			switch x := m.(type) {
			case *ast.FuncLit:
				return false
			case *ast.ForStmt:
				walk(x.Body, false)
				return false
			case *ast.RangeStmt:
				walk(x.Body, false)
				return false
			case *ast.BranchStmt:
				if x.Tok == token.CONTINUE && (x.Label == nil && own || x.Label != nil && x.Label.Name == label) {
					x.Tok, x.Label = token.GOTO, ident(next, x.TokPos)
					found = true
				}
			}
			return true
		})
	}
	walk(body, true)
	return found
}

// assign returns the statement lhs tok rhs at the position of lhs[0].
func assign(lhs []ast.Expr, tok token.Token, rhs []ast.Expr) *ast.AssignStmt {
	return &ast.AssignStmt{Lhs: lhs, TokPos: lhs[0].Pos(), Tok: tok, Rhs: rhs}
}

// idents returns identifiers at pos for names with a prefix.
func idents(names []string, prefix string, pos token.Pos) []ast.Expr {
	out := make([]ast.Expr, len(names))
	for i, n := range names {
		out[i] = ident(prefix+n, pos)
	}
	return out
}
