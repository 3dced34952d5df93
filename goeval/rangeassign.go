package goeval

import (
	"fmt"
	"go/ast"
	"go/token"
)

// rewriteRangeAssigns makes range loops that assign to existing variables
// (for k, v = range xs) assign: yaegi v0.16 assigns nothing. They range
// into new variables, assigned to the existing ones at the start of each
// iteration. (Assignments of several values, which yaegi also gets
// wrong, are multiassign.go's.)
func rewriteRangeAssigns(root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		if rs, ok := n.(*ast.RangeStmt); ok {
			defineRange(rs)
		}
		return true
	})
}

// defineRange makes a range loop that assigns to existing variables range
// into new ones, assigned to them first thing in the body.
func defineRange(rs *ast.RangeStmt) {
	if rs.Tok != token.ASSIGN || rs.Body == nil {
		return
	}
	var lhs, news []ast.Expr
	for i, e := range []ast.Expr{rs.Key, rs.Value} {
		if e == nil {
			continue
		}
		if id, ok := e.(*ast.Ident); ok && id.Name == "_" {
			continue
		}
		t := fmt.Sprintf("__mpigo_rv%d_%d", rs.For, i)
		lhs, news = append(lhs, e), append(news, ident(t, e.Pos()))
		if i == 0 {
			rs.Key = ident(t, e.Pos())
		} else {
			rs.Value = ident(t, e.Pos())
		}
	}
	if len(lhs) == 0 {
		return
	}
	if rs.Key == nil || isBlank(rs.Key) {
		rs.Key = ident("_", rs.For)
	}
	rs.Tok = token.DEFINE
	rs.Body.List = append([]ast.Stmt{assignStmt(rs.Body.Lbrace, token.ASSIGN, lhs, news...)}, rs.Body.List...)
}
