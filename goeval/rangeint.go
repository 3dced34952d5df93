package goeval

import (
	"go/ast"
	"go/token"
	"reflect"

	"golang.org/x/tools/go/ast/astutil"
)

// intTypes are the predeclared integer types.
var intTypes = map[string]bool{
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"uintptr": true, "byte": true, "rune": true,
}

// rewriteRangeInt replaces the range loops over an integer (Go 1.22),
// which yaegi v0.16 cannot compile, by three-clause loops:
//
//	for i := range n { ... }
//
// becomes
//
//	{ __mpigo_n := n; for i := __mpigo_n - __mpigo_n; i < __mpigo_n; i++ { ... } }
//
// so that n is evaluated once and i has its type. A range operand is taken
// for an integer when it visibly is one: a constant, len or cap, a
// conversion to an integer type, arithmetic on those, a parameter or a
// variable declared so, or a variable of the session whose value is an
// integer (isInt).
func rewriteRangeInt(root ast.Node, isInt func(ast.Expr) bool) {
	astutil.Apply(root, nil, func(c *astutil.Cursor) bool {
		rs, ok := c.Node().(*ast.RangeStmt)
		if !ok || rs.Value != nil || !isInt(rs.X) {
			return true
		}
		if _, ok := c.Parent().(*ast.LabeledStmt); ok {
			return true // handled with its label below
		}
		c.Replace(rangeIntLoop(rs, nil))
		return true
	})
	astutil.Apply(root, nil, func(c *astutil.Cursor) bool {
		ls, ok := c.Node().(*ast.LabeledStmt)
		if !ok {
			return true
		}
		if rs, ok := ls.Stmt.(*ast.RangeStmt); ok && rs.Value == nil && isInt(rs.X) {
			c.Replace(rangeIntLoop(rs, ls))
		}
		return true
	})
}

// rangeIntLoop builds the replacement of a range loop over an integer.
func rangeIntLoop(rs *ast.RangeStmt, label *ast.LabeledStmt) ast.Stmt {
	pos := rs.For
	n := func() ast.Expr { return ident("__mpigo_n", pos) }
	key := ast.Expr(ident("__mpigo_i", pos))
	define := true
	if rs.Key != nil {
		if id, ok := rs.Key.(*ast.Ident); !ok || id.Name != "_" {
			key = rs.Key
			define = rs.Tok == token.DEFINE
		}
	}
	keyCopy := func() ast.Expr {
		if id, ok := key.(*ast.Ident); ok {
			return ident(id.Name, id.Pos())
		}
		return key
	}
	var init ast.Stmt
	zero := &ast.BinaryExpr{X: n(), OpPos: pos, Op: token.SUB, Y: n()}
	if define {
		init = &ast.AssignStmt{Lhs: []ast.Expr{keyCopy()}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{zero}}
	} else {
		init = &ast.AssignStmt{Lhs: []ast.Expr{keyCopy()}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{zero}}
	}
	loop := &ast.ForStmt{
		For:  pos,
		Init: init,
		Cond: &ast.BinaryExpr{X: keyCopy(), OpPos: pos, Op: token.LSS, Y: n()},
		Post: &ast.IncDecStmt{X: keyCopy(), TokPos: pos, Tok: token.INC},
		Body: rs.Body,
	}
	var inner ast.Stmt = loop
	if label != nil {
		label.Stmt = loop
		inner = label
	}
	return &ast.BlockStmt{Lbrace: pos, Rbrace: rs.Body.Rbrace, List: []ast.Stmt{
		&ast.AssignStmt{Lhs: []ast.Expr{n()}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{rs.X}},
		inner,
	}}
}

// intExpr returns the integer test of rewriteRangeInt for a cell; a
// variable of the session is evaluated to see its type.
func (s *Session) intExpr(c *cellCode) func(ast.Expr) bool {
	kind := s.kindOf(c)
	var isInt func(e ast.Expr, depth int) bool
	isInt = func(e ast.Expr, depth int) bool {
		if depth > 8 {
			return false
		}
		switch x := e.(type) {
		case *ast.BasicLit:
			return x.Kind == token.INT || x.Kind == token.CHAR
		case *ast.ParenExpr:
			return isInt(x.X, depth+1)
		case *ast.UnaryExpr:
			return (x.Op == token.SUB || x.Op == token.ADD || x.Op == token.XOR) && isInt(x.X, depth+1)
		case *ast.BinaryExpr:
			switch x.Op {
			case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.AND, token.OR, token.XOR, token.AND_NOT:
				return isInt(x.X, depth+1) || isInt(x.Y, depth+1)
			case token.SHL, token.SHR:
				return isInt(x.X, depth+1)
			}
		case *ast.CallExpr:
			if id, ok := x.Fun.(*ast.Ident); ok && id.Obj == nil {
				switch {
				case (id.Name == "len" || id.Name == "cap") && kind(id.Name) == "builtin":
					return true
				case intTypes[id.Name] && kind(id.Name) == "type":
					return true
				}
			}
		case *ast.Ident:
			if x.Obj != nil {
				return declaredInt(x, isInt, depth)
			}
			switch kind(x.Name) {
			case "define", "var", "const":
				if c != nil && c.declared[x.Name] == "define" {
					return false // defined by this cell's statements: not run yet
				}
				v, err := s.evalExpr(x.Name)
				if err != nil || !v.IsValid() {
					return false
				}
				switch v.Kind() {
				case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
					reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
					return true
				}
			}
		}
		return false
	}
	return func(e ast.Expr) bool { return isInt(e, 0) }
}

// declaredInt reports whether a resolved identifier is declared as an
// integer: a parameter or var of an integer type, or defined from an
// integer expression.
func declaredInt(id *ast.Ident, isInt func(ast.Expr, int) bool, depth int) bool {
	switch d := id.Obj.Decl.(type) {
	case *ast.Field:
		t, ok := d.Type.(*ast.Ident)
		return ok && intTypes[t.Name]
	case *ast.ValueSpec:
		if d.Type != nil {
			t, ok := d.Type.(*ast.Ident)
			return ok && intTypes[t.Name]
		}
		for i, n := range d.Names {
			if n.Name == id.Name && i < len(d.Values) {
				return isInt(d.Values[i], depth+1)
			}
		}
	case *ast.AssignStmt:
		if len(d.Lhs) != len(d.Rhs) {
			return false
		}
		for i, l := range d.Lhs {
			if l, ok := l.(*ast.Ident); ok && l.Name == id.Name {
				return isInt(d.Rhs[i], depth+1)
			}
		}
	}
	return false
}

// rewrite applies the rewrites every compiled source needs: the
// type-directed lowering, loop variables, builtins, breaks of selects,
// range loops over integers and strings, then go statements. Its error is
// a construct that cannot be lowered.
func (s *Session) rewrite(fset *token.FileSet, root ast.Node, c *cellCode) error {
	if err := s.lowerTyped(fset, root, c); err != nil {
		return err
	}
	if err := rewriteLoopVars(fset, root, c); err != nil {
		return err
	}
	rewriteDefers(root, s.kindOf(c))
	if err := s.rewriteBuiltins(fset, root, c); err != nil {
		return err
	}
	rewriteRangeAssigns(root)
	s.rewriteTypeSwitchCases(fset, root, c)
	rewriteTaglessCases(root)
	rewriteRecovers(root)
	rewriteSelectBreaks(root)
	rewriteConsts(fset, root)
	rewriteRangeInt(root, s.typedIntExpr(fset, c))
	rewriteStringKeys(fset, root, c)
	rewriteRecvOperands(root)
	s.rewriteStringRanges(fset, root, c)
	s.rewriteTypeSwitches(fset, root, c)
	s.rewriteNilConvs(fset, root, c)
	rewriteGo(fset, root, s.kindOf(c))
	rewriteMultiValues(root)
	return nil
}

// typedIntExpr is intExpr, told also by the type check of the cell (when
// it ran) which range operands are integers.
func (s *Session) typedIntExpr(fset *token.FileSet, c *cellCode) func(ast.Expr) bool {
	visible := s.intExpr(c)
	if c == nil || c.typed == nil || len(c.typed.ints) == 0 {
		return visible
	}
	return func(e ast.Expr) bool { return c.typed.ints[keyOf(fset, e.Pos())] || visible(e) }
}

// rewriteStringKeys gives a blank value to the range loops over strings that
// have a key only (known from the type check of the cell): yaegi sets such
// a key to the rune's number, not its byte offset as Go does, while with a
// value it sets both right.
func rewriteStringKeys(fset *token.FileSet, root ast.Node, c *cellCode) {
	if c == nil || c.typed == nil || len(c.typed.strs) == 0 {
		return
	}
	ast.Inspect(root, func(n ast.Node) bool {
		if rs, ok := n.(*ast.RangeStmt); ok && rs.Value == nil && rs.Key != nil && c.typed.strs[keyOf(fset, rs.For)] {
			rs.Value = ident("_", rs.Key.End())
		}
		return true
	})
}
