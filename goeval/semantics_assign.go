package goeval

import (
	"fmt"
	"go/ast"
	"go/token"
)

// rewriteMultiAssigns works around two faults of yaegi v0.16 that lose
// values silently:
//
//   - in an assignment of several values where one holds a call, a
//     receive or a composite literal (a, b = 5, inc(b); c, d := 0,
//     []int{}), the other values are never stored (cfg.go gives the whole
//     statement a no-op generator). The values are computed into
//     temporaries first, one statement each, in order, then assigned
//     together, which keeps the spec's two phases;
//   - a range loop that assigns to existing variables (for k, v = range
//     xs) assigns nothing: it ranges into new variables and assigns them
//     at the start of each iteration.
func rewriteMultiAssigns(root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BlockStmt:
			x.List = splitAssigns(x.List)
		case *ast.CaseClause:
			x.Body = splitAssigns(x.Body)
		case *ast.CommClause:
			x.Body = splitAssigns(x.Body)
		case *ast.RangeStmt:
			defineRange(x)
		}
		return true
	})
}

// splitAssigns returns list with its multi-value assignments that yaegi
// gets wrong written as single-value ones.
func splitAssigns(list []ast.Stmt) []ast.Stmt {
	var out []ast.Stmt
	for _, st := range list {
		as, ok := st.(*ast.AssignStmt)
		if !ok || !lostValues(as) {
			out = append(out, st)
			continue
		}
		var temps []ast.Stmt
		var vals []ast.Expr
		for i, r := range as.Rhs {
			t := ident(fmt.Sprintf("__mpigo_mv%d_%d", as.Pos(), i), r.Pos())
			temps = append(temps, assignStmt(r.Pos(), token.DEFINE, []ast.Expr{t}, r))
			vals = append(vals, ident(t.Name, r.Pos()))
		}
		final := &ast.AssignStmt{Lhs: as.Lhs, TokPos: as.TokPos, Tok: as.Tok, Rhs: vals}
		if as.Tok == token.DEFINE {
			// The variables belong to the enclosing block.
			out = append(append(out, temps...), final)
		} else {
			out = append(out, &ast.BlockStmt{Lbrace: as.Pos(), List: append(temps, final), Rbrace: as.End()})
		}
	}
	return out
}

// lostValues reports whether yaegi loses values of an assignment: several
// values, one of which holds a call, a receive or a composite literal.
func lostValues(as *ast.AssignStmt) bool {
	if len(as.Lhs) < 2 || len(as.Lhs) != len(as.Rhs) || (as.Tok != token.ASSIGN && as.Tok != token.DEFINE) {
		return false
	}
	found := false
	for _, r := range as.Rhs {
		ast.Inspect(r, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr, *ast.CompositeLit, *ast.FuncLit:
				found = true
			case *ast.UnaryExpr:
				found = found || x.Op == token.ARROW
			}
			return !found
		})
	}
	return found
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
