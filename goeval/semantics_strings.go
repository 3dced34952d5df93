package goeval

import (
	"go/ast"
	"go/token"
	"reflect"
	"unicode/utf8"

	"golang.org/x/tools/go/ast/astutil"
)

// rewriteStringRanges gives the key of a range loop over a string its
// value in Go, the byte offset of the rune:
//
//	L: for i, r := range s { body }
//
// becomes
//
//	{
//		__mpigo_strN := string(s)
//		__mpigo_posN := 0
//		L: for i, r := range __mpigo_strN {
//			i = __mpigo_posN
//			__mpigo_posN = __mpigo_rt.NextRune(__mpigo_strN, __mpigo_posN)
//			body
//		}
//	}
//
// yaegi v0.16 ranges over []rune(s) and computes the key as the length of
// the string of the runes before: right for valid UTF-8, but an invalid
// byte becomes U+FFFD, three bytes long, so the keys after it are too
// large (Go: the byte steps one). The loop itself, its value, labels,
// break and continue are left as they are; only the key is assigned again,
// before the body (and before the copies rewriteLoopVars puts there).
// (One assignment a statement: yaegi v0.16 loses the other values of an
// assignment of several when one is a call.) Which loops range over a
// string comes from the type check; a loop of the
// assignment form (for k, v = range s) is rewritten when its key is a
// variable, so that assigning it again has no other effect.
func (s *Session) rewriteStringRanges(fset *token.FileSet, root ast.Node, c *cellCode) {
	facts := s.semanticFacts(root, c)
	if facts == nil || len(facts.strRanges) == 0 {
		return
	}
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		var rs *ast.RangeStmt
		var label *ast.LabeledStmt
		switch x := cur.Node().(type) {
		case *ast.RangeStmt:
			if _, ok := cur.Parent().(*ast.LabeledStmt); ok {
				return true // with its label
			}
			rs = x
		case *ast.LabeledStmt:
			label = x
			rs, _ = x.Stmt.(*ast.RangeStmt)
		}
		if rs == nil || !facts.strRanges[keyOf(fset, rs.For)] || !namedKey(rs.Key) {
			return true
		}
		if _, ok := rs.Key.(*ast.Ident); !ok {
			return true
		}
		cur.Replace(stringRange(fset, rs, label))
		return true
	})
}

// stringRange builds the replacement of a range loop over a string.
func stringRange(fset *token.FileSet, rs *ast.RangeStmt, label *ast.LabeledStmt) ast.Stmt {
	pos := rs.For
	str := posName(fset, "__mpigo_str", pos)
	at := posName(fset, "__mpigo_pos", pos)
	key := rs.Key.(*ast.Ident)
	conv := &ast.CallExpr{Fun: ident("string", pos), Lparen: pos, Args: []ast.Expr{rs.X}, Rparen: pos}
	next := &ast.CallExpr{Fun: rtSel(pos, "NextRune"), Lparen: pos, Args: []ast.Expr{ident(str, pos), ident(at, pos)}, Rparen: pos}
	rs.X = ident(str, pos)
	rs.Body.List = append([]ast.Stmt{
		assignStmt(pos, token.ASSIGN, []ast.Expr{ident(key.Name, key.Pos())}, ident(at, pos)),
		assignStmt(pos, token.ASSIGN, []ast.Expr{ident(at, pos)}, next),
	}, rs.Body.List...)
	var loop ast.Stmt = rs
	if label != nil {
		loop = label
	}
	return &ast.BlockStmt{Lbrace: pos, Rbrace: rs.Body.Rbrace, List: []ast.Stmt{
		assignStmt(pos, token.DEFINE, []ast.Expr{ident(str, pos)}, conv),
		assignStmt(pos, token.DEFINE, []ast.Expr{ident(at, pos)}, &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: "0"}),
		loop,
	}}
}

// nextRune is the helper of the rewritten loops: the offset of the rune
// after the one at offset i of s, as range over a string steps.
func nextRune(s string, i int) int {
	if i < 0 || i >= len(s) {
		return i + 1
	}
	if s[i] < utf8.RuneSelf {
		return i + 1
	}
	_, w := utf8.DecodeRuneInString(s[i:])
	return i + w
}

// mayBeStringRange reports whether a range operand may be a string (the
// type check then tells): anything but what is visibly of another kind.
func (sc *typedScan) mayBeStringRange(e ast.Expr, depth int) bool {
	if depth > 8 {
		return true
	}
	switch x := ast.Unparen(e).(type) {
	case *ast.BasicLit:
		return x.Kind == token.STRING
	case *ast.CompositeLit, *ast.FuncLit:
		return false
	case *ast.UnaryExpr:
		return x.Op == token.ARROW
	case *ast.SliceExpr:
		return sc.mayBeStringRange(x.X, depth+1)
	case *ast.CallExpr:
		switch f := ast.Unparen(x.Fun).(type) {
		case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType:
			return false
		case *ast.Ident:
			if f.Obj == nil && sc.kind(f.Name) == "builtin" {
				return f.Name != "make" && f.Name != "new" && f.Name != "append" && f.Name != "len" && f.Name != "cap"
			}
		}
	case *ast.Ident:
		if x.Obj != nil {
			return sc.declMayBeString(x, depth)
		}
		switch sc.kind(x.Name) {
		case "var", "define", "const":
			if k := sc.sessionKind(x); k != reflect.Invalid {
				return k == reflect.String
			}
		}
	case *ast.SelectorExpr:
		switch sc.fieldType(x).(type) {
		case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.StarExpr:
			return false
		}
		if k := sc.sessionKind(x); k != reflect.Invalid {
			return k == reflect.String
		}
	}
	return true
}

// declMayBeString reports whether an identifier resolved in its file may
// be declared as a string.
func (sc *typedScan) declMayBeString(id *ast.Ident, depth int) bool {
	switch d := id.Obj.Decl.(type) {
	case *ast.Field:
		return typeMayBeString(d.Type)
	case *ast.ValueSpec:
		if d.Type != nil {
			return typeMayBeString(d.Type)
		}
		for i, n := range d.Names {
			if n.Name == id.Name && i < len(d.Values) && len(d.Values) == len(d.Names) {
				return sc.mayBeStringRange(d.Values[i], depth+1)
			}
		}
	case *ast.AssignStmt:
		if len(d.Lhs) != len(d.Rhs) {
			return true
		}
		for i, l := range d.Lhs {
			if l, ok := l.(*ast.Ident); ok && l.Name == id.Name {
				return sc.mayBeStringRange(d.Rhs[i], depth+1)
			}
		}
	}
	return true
}

// typeMayBeString reports whether a type expression may denote a string
// type: string, or a name that is not another predeclared type.
func typeMayBeString(t ast.Expr) bool {
	switch x := t.(type) {
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.StarExpr, *ast.FuncType, *ast.Ellipsis, *ast.StructType, *ast.InterfaceType:
		return false
	case *ast.Ident:
		return x.Name == "string" || !builtinTypes[x.Name] || x.Obj != nil
	}
	return true
}
