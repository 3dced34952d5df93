package goeval

import (
	"go/ast"
	"go/token"
)

// rewriteMultiValues puts in parentheses the calls, composite literals and
// receives among the values of an assignment, a define or a var
// declaration of several variables from as many values:
//
//	n, err = -1, fmt.Errorf("bad")   →   n, err = -1, (fmt.Errorf("bad"))
//
// yaegi v0.16 compiles a single assignment from a call, a composite literal
// or a receive by having the value written straight to the variable, and
// applies that to an assignment of several values too, where it then drops
// the assignment of the other values: n stayed as it was (it is how a
// named result that a deferred function set after a recovered panic was
// lost), as did b in a, b = x, f(), i, j = 0, len(s), t, b := T{}, 1 or
// var v, w = <-ch, 2, and a loop whose post statement was i, j = i+1, f()
// did not end. (A define of several values from calls is compiled right.)
// A parenthesized value is not one of those forms for yaegi, and changes
// nothing for Go.
func rewriteMultiValues(root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AssignStmt:
			if len(x.Lhs) > 1 && len(x.Lhs) == len(x.Rhs) && (x.Tok == token.ASSIGN || x.Tok == token.DEFINE) {
				parenValues(x.Rhs)
			}
		case *ast.ValueSpec:
			if len(x.Names) > 1 && len(x.Names) == len(x.Values) {
				parenValues(x.Values)
			}
		}
		return true
	})
}

// parenValues puts the calls, composite literals and receives of values in
// parentheses.
func parenValues(values []ast.Expr) {
	for i, v := range values {
		switch x := v.(type) {
		case *ast.CallExpr, *ast.CompositeLit:
		case *ast.UnaryExpr:
			if x.Op != token.ARROW {
				continue
			}
		default:
			continue
		}
		values[i] = &ast.ParenExpr{Lparen: v.Pos(), X: v, Rparen: v.End() - 1}
	}
}
