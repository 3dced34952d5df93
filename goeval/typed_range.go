package goeval

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strconv"

	"golang.org/x/tools/go/ast/astutil"
)

// A range over a function becomes a call of the function with the loop
// body as a function literal, as the Go compiler does it:
//
//	for k, v := range seq { body }
//
// becomes, on the same lines,
//
//	{
//		var __mpigo_rs0 int
//		seq(func(k K, v V) bool {
//			if __mpigo_rs0 == 1 { panic(...) } // and 2, 3
//			__mpigo_rs0 = 3
//			body'
//			__mpigo_rs0 = 0
//			return true
//		})
//		if __mpigo_rs0 == 3 { panic(...) }
//		__mpigo_rs0 = 2
//	}
//
// The state __mpigo_rsN is Go's: 0 ready for the next iteration, 1 the
// body asked to stop, 2 the loop is over, 3 the body is running (or
// panicked); an iterator that calls yield when it must not, or that
// swallows a panic of the body, gets the runtime error Go raises. The
// literal's parameters are fresh for each iteration, as Go 1.22's loop
// variables; with = instead of :=, they are assigned to the loop's
// variables first. In body', continue (of this loop) is return true and
// break is return false. A return of the enclosing function, and a break or
// continue of an outer statement, set __mpigo_rcN (and the results), return
// false, and are done after the call:
//
//	if __mpigo_rc0 == 1 { return __mpigo_rr0_0, __mpigo_rr0_1 }
//	if __mpigo_rc0 == 3 { continue outer }
//
// Loops nested in the body are lowered first, so that what they turn into
// a return or a branch after their call is handled by the enclosing loop.
// A defer in the body would run at the end of the literal, once per
// iteration, and a goto cannot leave it: both are refused. At the top level
// of a cell a defer is registered to run when the cell ends, as the
// session's other top-level defers (see deferReplacement).

// lowering applies the facts of a type check to a syntax tree.
type lowering struct {
	fset   *token.FileSet
	facts  *typedFacts
	kind   kindFunc
	sig    sigFunc
	root   ast.Node
	top    bool // root is the statements of a cell
	cellNo int
	// The enclosing functions of the node visited, innermost last.
	funcs  []*ast.FuncType
	bodies []*ast.BlockStmt
	n      int // range loops lowered, to name their variables
	// keep are the generic functions of calls that must stay as they are.
	keep map[ast.Expr]bool
	err  error
}

// apply rewrites the tree.
func (l *lowering) apply() error {
	l.keep = map[ast.Expr]bool{}
	astutil.Apply(l.root, l.pre, l.post)
	return l.err
}

// pre enters functions and instantiates generic function uses.
func (l *lowering) pre(c *astutil.Cursor) bool {
	if l.err != nil {
		return false
	}
	switch x := c.Node().(type) {
	case *ast.FuncDecl:
		l.funcs, l.bodies = append(l.funcs, x.Type), append(l.bodies, x.Body)
	case *ast.FuncLit:
		l.funcs, l.bodies = append(l.funcs, x.Type), append(l.bodies, x.Body)
	case *ast.CallExpr:
		// The call is copied, not changed: the session decides whether to
		// show a cell's final call from its function expression as written.
		repl, skip := l.instantiate(x.Fun, l.topDefine(x, c.Parent()))
		switch {
		case repl != nil:
			cp := *x
			cp.Fun = repl
			c.Replace(&cp)
		case skip:
			l.keep[ast.Unparen(x.Fun)] = true // not allowed there
		}
	case *ast.BinaryExpr:
		if repl := l.foldBool(x); repl != nil {
			c.Replace(repl)
			return false
		}
	case *ast.Ident, *ast.SelectorExpr, *ast.IndexExpr, *ast.IndexListExpr:
		if l.keep[x.(ast.Expr)] {
			return false
		}
		repl, skip := l.instantiate(x.(ast.Expr), nil)
		if repl != nil {
			c.Replace(repl)
		}
		return !skip
	}
	return true
}

// replaceExpr replaces x, the node of c, by n (x itself, or a rewrite of
// it), boxed if x is a value of the session's types converted to error
// (see boxExpr).
func (l *lowering) replaceExpr(c *astutil.Cursor, x, n ast.Expr) {
	if b := l.boxExpr(x, c.Parent()); b != nil {
		if call, ok := b.(*ast.CallExpr); ok && len(call.Args) > 0 && call.Args[0] == x {
			call.Args[0] = n // the box's facts are those of x as written
		}
		n = b
	}
	if n != x {
		c.Replace(n)
	}
}

// post leaves functions and lowers range loops, children first.
func (l *lowering) post(c *astutil.Cursor) bool {
	switch x := c.Node().(type) {
	case *ast.FuncDecl, *ast.FuncLit:
		l.funcs, l.bodies = l.funcs[:len(l.funcs)-1], l.bodies[:len(l.bodies)-1]
	case *ast.CallExpr:
		var n ast.Expr = x
		if r := l.printArgs(x); r != nil {
			n = r
		} else if r := l.errorsCall(x); r != nil {
			n = r
		}
		l.replaceExpr(c, x, n)
	case *ast.SelectorExpr:
		var n ast.Expr = x
		if r := l.methodExprLit(x); r != nil {
			n = r
		}
		l.replaceExpr(c, x, n)
	case *ast.IndexExpr, *ast.SliceExpr:
		var n = x.(ast.Expr)
		if r := l.checkBounds(x); r != nil {
			n = r.(ast.Expr)
		}
		l.replaceExpr(c, x.(ast.Expr), n)
	case *ast.TypeAssertExpr:
		var n ast.Expr = x
		if x.Type != nil {
			l.refuseTypeAssert(x.Type)
			if box, ok := l.facts.sem.boxAsserts[keyOf(l.fset, x.Lparen)]; ok {
				n = assertViaBox(x, box, twoResults(x, c.Parent()))
			}
		}
		l.replaceExpr(c, x, n)
	case *ast.CaseClause:
		for _, e := range x.List {
			l.refuseTypeAssert(e)
		}
	case ast.Expr:
		l.replaceExpr(c, x, x)
	case *ast.RangeStmt:
		if ls, ok := c.Parent().(*ast.LabeledStmt); ok && ls.Stmt == x {
			return true // with its label
		}
		if st := l.lowerRange(x, nil); st != nil {
			c.Replace(st)
		}
	case *ast.LabeledStmt:
		if rs, ok := x.Stmt.(*ast.RangeStmt); ok {
			if st := l.lowerRange(rs, x); st != nil {
				c.Replace(st)
			}
		}
	}
	return l.err == nil
}

// rangeNames are the variables of one lowered loop.
type rangeNames struct{ state, ctl, ret, param string }

// ctlReturn, ctlBare and ctlBranch are the values of __mpigo_rcN: a return
// with values, a bare return, and the first outer branch.
const (
	ctlReturn = 1
	ctlBare   = 2
	ctlBranch = 3
)

// lowerRange returns the replacement of a range loop over a function (nil
// when the facts do not know it as one).
func (l *lowering) lowerRange(rs *ast.RangeStmt, label *ast.LabeledStmt) ast.Stmt {
	f, ok := l.facts.ranges[keyOf(l.fset, rs.For)]
	if !ok || f.x != keyOf(l.fset, rs.X.Pos()) {
		return nil
	}
	if f.err != nil {
		l.fail(rs.For, "cannot lower this range over a function: %v", f.err)
		return nil
	}
	n := strconv.Itoa(l.n)
	l.n++
	b := &bodyLowering{
		l:     l,
		pos:   rs.For,
		inner: innerLabels(rs.Body),
		nm:    rangeNames{state: "__mpigo_rs" + n, ctl: "__mpigo_rc" + n, ret: "__mpigo_rr" + n + "_", param: "__mpigo_rp" + n + "_"},
		top:   l.top && len(l.funcs) == 0,
	}
	if label != nil {
		b.label = label.Label.Name
	}
	if len(l.funcs) > 0 {
		b.results = fieldTypes(l.funcs[len(l.funcs)-1].Results)
	}
	b.stmts(rs.Body.List, true, true)
	if l.err != nil {
		return nil
	}
	cb, err := b.callback(rs, f.params)
	if err != nil {
		l.fail(rs.For, "cannot lower this range over a function: %v", err)
		return nil
	}
	block := b.block(rs, cb)
	if label != nil && l.gotoTargets()[label.Label.Name] {
		return &ast.LabeledStmt{Label: label.Label, Colon: label.Colon, Stmt: block}
	}
	return block
}

// fail records a compile error at pos.
func (l *lowering) fail(pos token.Pos, format string, args ...any) {
	if l.err != nil {
		return
	}
	p := l.fset.Position(pos)
	msg := posString(p) + ": " + fmt.Sprintf(format, args...)
	e := newCompileError(msg, 0, 0)
	if p.Filename == fmt.Sprintf("cell[%d]/%s", l.cellNo, srcName) {
		e.Line, e.Col = p.Line, p.Column
	}
	l.err = e
}

// gotoTargets returns the labels that goto statements of the enclosing
// function name.
func (l *lowering) gotoTargets() map[string]bool {
	var body ast.Node = l.root
	if len(l.bodies) > 0 {
		body = l.bodies[len(l.bodies)-1]
	}
	out := map[string]bool{}
	ast.Inspect(body, func(n ast.Node) bool {
		if br, ok := n.(*ast.BranchStmt); ok && br.Tok == token.GOTO && br.Label != nil {
			out[br.Label.Name] = true
		}
		return true
	})
	return out
}

// innerLabels returns the labels declared in a loop body (function
// literals excluded).
func innerLabels(body *ast.BlockStmt) map[string]bool {
	out := map[string]bool{}
	walkNoFunc(body, func(n ast.Node) bool {
		if ls, ok := n.(*ast.LabeledStmt); ok {
			out[ls.Label.Name] = true
		}
		return true
	})
	return out
}

// bodyLowering rewrites the body of one loop.
type bodyLowering struct {
	l       *lowering
	pos     token.Pos
	label   string          // the loop's label, or ""
	inner   map[string]bool // labels declared in the body
	nm      rangeNames
	results []ast.Expr // result types of the enclosing function
	top     bool       // the loop is at the top level of a cell
	// What the body does that is acted on after the call.
	valued, bare bool
	exits        []*ast.BranchStmt // outer branches, ctlBranch+i
}

// stmts rewrites a statement list in place. brk and cont tell whether an
// unlabelled break and continue there are the loop's.
func (b *bodyLowering) stmts(list []ast.Stmt, brk, cont bool) {
	for i, s := range list {
		list[i] = b.stmt(s, brk, cont)
	}
}

// stmt rewrites a statement of the body (function literals are left as
// they are: their statements are theirs).
func (b *bodyLowering) stmt(s ast.Stmt, brk, cont bool) ast.Stmt {
	switch x := s.(type) {
	case *ast.BlockStmt:
		b.stmts(x.List, brk, cont)
	case *ast.IfStmt:
		b.stmts(x.Body.List, brk, cont)
		if x.Else != nil {
			x.Else = b.stmt(x.Else, brk, cont)
		}
	case *ast.ForStmt:
		b.stmts(x.Body.List, false, false)
	case *ast.RangeStmt:
		b.stmts(x.Body.List, false, false)
	case *ast.SwitchStmt:
		b.clauses(x.Body, cont)
	case *ast.TypeSwitchStmt:
		b.clauses(x.Body, cont)
	case *ast.SelectStmt:
		b.clauses(x.Body, cont)
	case *ast.LabeledStmt:
		x.Stmt = b.stmt(x.Stmt, brk, cont)
	case *ast.BranchStmt:
		return b.branch(x, brk, cont)
	case *ast.ReturnStmt:
		return b.ret(x)
	case *ast.DeferStmt:
		if b.top {
			return deferReplacement(x, b.l.kind)
		}
		b.l.fail(x.Defer, "defer in the body of a range over a function is not supported: mpigo runs the body as a function literal, "+
			"so the call would run at the end of each iteration instead of when the function returns; "+
			"defer it before or after the loop, or range over a slice of the values (slices.Collect)")
	}
	return s
}

// clauses rewrites the clauses of a switch or select, where an unlabelled
// break is the switch's.
func (b *bodyLowering) clauses(body *ast.BlockStmt, cont bool) {
	for _, c := range body.List {
		switch c := c.(type) {
		case *ast.CaseClause:
			b.stmts(c.Body, false, cont)
		case *ast.CommClause:
			b.stmts(c.Body, false, cont)
		}
	}
}

// branch rewrites a break, continue or goto of the body.
func (b *bodyLowering) branch(x *ast.BranchStmt, brk, cont bool) ast.Stmt {
	name := ""
	if x.Label != nil {
		name = x.Label.Name
	}
	ours := name != "" && name == b.label
	switch {
	case x.Tok == token.GOTO:
		if !b.inner[name] {
			b.l.fail(x.TokPos, "goto %s out of the body of a range over a function is not supported: mpigo runs the body as a function literal; "+
				"use a labelled break or continue, or set a variable and test it after the loop", name)
		}
	case x.Tok == token.BREAK && (ours || name == "" && brk):
		return b.exit(x.TokPos, 0)
	case x.Tok == token.CONTINUE && (ours || name == "" && cont):
		return b.next(x.TokPos)
	case (x.Tok == token.BREAK || x.Tok == token.CONTINUE) && name != "" && !b.inner[name]:
		b.exits = append(b.exits, x)
		return b.exit(x.TokPos, ctlBranch+len(b.exits)-1)
	}
	return x
}

// ret rewrites a return of the enclosing function.
func (b *bodyLowering) ret(x *ast.ReturnStmt) ast.Stmt {
	pos := x.Return
	if len(x.Results) == 0 {
		b.bare = true
		return b.exit(pos, ctlBare)
	}
	b.valued = true
	var list []ast.Stmt
	if len(x.Results) == len(b.results) {
		// One at a time: yaegi v0.16 fails on a tuple assignment of nil.
		for i, r := range x.Results {
			list = append(list, assignStmt(pos, token.ASSIGN, []ast.Expr{ident(b.nm.ret+strconv.Itoa(i), pos)}, r))
		}
	} else {
		var lhs []ast.Expr
		for i := range b.results {
			lhs = append(lhs, ident(b.nm.ret+strconv.Itoa(i), pos))
		}
		list = append(list, assignStmt(pos, token.ASSIGN, lhs, x.Results...))
	}
	blk := b.exit(pos, ctlReturn).(*ast.BlockStmt)
	blk.List = append(list, blk.List...)
	return blk
}

// exit returns the statements that stop the iteration: { __mpigo_rcN =
// ctl; __mpigo_rsN = 1; return false } (no ctl when 0).
func (b *bodyLowering) exit(pos token.Pos, ctl int) ast.Stmt {
	var list []ast.Stmt
	if ctl != 0 {
		list = append(list, assignStmt(pos, token.ASSIGN, []ast.Expr{ident(b.nm.ctl, pos)}, intLit(pos, ctl)))
	}
	list = append(list, b.setState(pos, rangeDone), returnBool(pos, false))
	return &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: pos}
}

// next returns the statements that end an iteration normally: {
// __mpigo_rsN = 0; return true }.
func (b *bodyLowering) next(pos token.Pos) ast.Stmt {
	return &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{b.setState(pos, rangeReady), returnBool(pos, true)}, Rbrace: pos}
}

// setState returns __mpigo_rsN = state.
func (b *bodyLowering) setState(pos token.Pos, state int) ast.Stmt {
	return assignStmt(pos, token.ASSIGN, []ast.Expr{ident(b.nm.state, pos)}, intLit(pos, state))
}

// The states of a lowered loop (Go's, see cmd/compile/internal/rangefunc),
// and the runtime errors of an iterator that calls yield in the others.
const (
	rangeReady     = 0
	rangeDone      = 1 // the body returned false
	rangeExhausted = 2 // the loop is over
	rangeBody      = 3 // the body is running, or panicked
)

var rangeStateErrors = map[int]string{
	rangeDone:      "range function continued iteration after function for loop body returned false",
	rangeExhausted: "range function continued iteration after whole loop exit",
	rangeBody:      "range function continued iteration after loop body panic",
}

// callback builds the function literal given to the iterator: params are
// the types of the yield function's parameters.
func (b *bodyLowering) callback(rs *ast.RangeStmt, params []string) (*ast.FuncLit, error) {
	pos := b.pos
	at := b.l.fset.Position(pos)
	vars := []ast.Expr{rs.Key, rs.Value}
	fields := &ast.FieldList{Opening: pos, Closing: pos}
	var lhs, rhs []ast.Expr
	for i, p := range params {
		t, err := reparse(b.l.fset, at, p)
		if err != nil {
			return nil, err
		}
		name := "_"
		if i < len(vars) && vars[i] != nil {
			switch rs.Tok {
			case token.DEFINE:
				id, ok := vars[i].(*ast.Ident)
				if !ok {
					return nil, fmt.Errorf("loop variable %s is not a name", types.ExprString(vars[i]))
				}
				name = id.Name
			case token.ASSIGN:
				name = b.nm.param + strconv.Itoa(i)
				lhs, rhs = append(lhs, vars[i]), append(rhs, ident(name, pos))
			}
		}
		fields.List = append(fields.List, &ast.Field{Names: []*ast.Ident{ident(name, pos)}, Type: t})
	}
	var list []ast.Stmt
	for _, st := range []int{rangeDone, rangeExhausted, rangeBody} {
		list = append(list, b.stateCheck(st, rangeStateErrors[st]))
	}
	list = append(list, b.setState(pos, rangeBody))
	if len(lhs) > 0 {
		list = append(list, assignStmt(pos, token.ASSIGN, lhs, rhs...))
	}
	list = append(list, rs.Body.List...)
	list = append(list, b.setState(rs.Body.Rbrace, rangeReady), returnBool(rs.Body.Rbrace, true))
	return &ast.FuncLit{
		Type: &ast.FuncType{Func: pos, Params: fields, Results: &ast.FieldList{List: []*ast.Field{{Type: ident("bool", pos)}}}},
		Body: &ast.BlockStmt{Lbrace: rs.Body.Lbrace, List: list, Rbrace: rs.Body.Rbrace},
	}, nil
}

// stateCheck returns: if __mpigo_rsN == state { panic(runtime error msg) },
// the error Go raises when an iterator calls yield when it must not.
func (b *bodyLowering) stateCheck(state int, msg string) ast.Stmt {
	pos := b.pos
	errorf := &ast.CallExpr{
		Fun:  &ast.SelectorExpr{X: ident(fmtName, pos), Sel: ident("Errorf", pos)},
		Args: []ast.Expr{&ast.BasicLit{ValuePos: pos, Kind: token.STRING, Value: strconv.Quote("runtime error: " + msg)}},
	}
	return &ast.IfStmt{
		If:   pos,
		Cond: &ast.BinaryExpr{X: ident(b.nm.state, pos), OpPos: pos, Op: token.EQL, Y: intLit(pos, state)},
		Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{
			&ast.ExprStmt{X: &ast.CallExpr{Fun: ident("panic", pos), Lparen: pos, Args: []ast.Expr{errorf}, Rparen: pos}},
		}},
	}
}

// block builds the replacement of the loop around the call of the
// iterator with cb.
func (b *bodyLowering) block(rs *ast.RangeStmt, cb *ast.FuncLit) *ast.BlockStmt {
	pos := b.pos
	list := []ast.Stmt{varStmt(pos, b.nm.state, ident("int", pos))}
	if b.valued || b.bare || len(b.exits) > 0 {
		list = append(list, varStmt(pos, b.nm.ctl, ident("int", pos)))
	}
	var rets []ast.Expr
	if b.valued {
		for i, t := range b.results {
			name := b.nm.ret + strconv.Itoa(i)
			list = append(list, varStmt(pos, name, cloneExpr(b.l.fset, t)))
			rets = append(rets, ident(name, pos))
		}
	}
	list = append(list,
		&ast.ExprStmt{X: &ast.CallExpr{Fun: rs.X, Lparen: pos, Args: []ast.Expr{cb}, Rparen: pos}},
		b.stateCheck(rangeBody, "range function recovered a loop body panic and did not resume panicking"),
		b.setState(pos, rangeExhausted))
	after := func(ctl int, st ast.Stmt) {
		list = append(list, &ast.IfStmt{
			If:   pos,
			Cond: &ast.BinaryExpr{X: ident(b.nm.ctl, pos), OpPos: pos, Op: token.EQL, Y: intLit(pos, ctl)},
			Body: &ast.BlockStmt{Lbrace: pos, Rbrace: pos, List: []ast.Stmt{st}},
		})
	}
	if b.valued {
		after(ctlReturn, &ast.ReturnStmt{Return: pos, Results: rets})
	}
	if b.bare {
		after(ctlBare, &ast.ReturnStmt{Return: pos})
	}
	for i, x := range b.exits {
		after(ctlBranch+i, &ast.BranchStmt{TokPos: pos, Tok: x.Tok, Label: ident(x.Label.Name, pos)})
	}
	return &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: rs.Body.Rbrace}
}

// assignStmt returns lhs tok rhs at pos.
func assignStmt(pos token.Pos, tok token.Token, lhs []ast.Expr, rhs ...ast.Expr) ast.Stmt {
	return &ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: tok, Rhs: rhs}
}

// varStmt returns var name typ at pos.
func varStmt(pos token.Pos, name string, typ ast.Expr) ast.Stmt {
	return &ast.DeclStmt{Decl: &ast.GenDecl{TokPos: pos, Tok: token.VAR, Specs: []ast.Spec{
		&ast.ValueSpec{Names: []*ast.Ident{ident(name, pos)}, Type: typ},
	}}}
}

// intLit returns an integer literal at pos.
func intLit(pos token.Pos, n int) ast.Expr {
	return &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: strconv.Itoa(n)}
}

// returnBool returns return true or return false at pos.
func returnBool(pos token.Pos, v bool) ast.Stmt {
	return &ast.ReturnStmt{Return: pos, Results: []ast.Expr{ident(strconv.FormatBool(v), pos)}}
}
