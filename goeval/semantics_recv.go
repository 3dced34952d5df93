package goeval

import (
	"go/ast"
	"go/token"
)

// rewriteRecvOperands makes a channel receive that is the left operand of
// && or || give its value:
//
//	<-ch && x
//
// becomes
//
//	!!<-ch && x
//
// yaegi v0.16 compiles the left operand of && and || as a branch, and the
// operator then reads that operand's value again from the frame. A receive
// compiled as a branch stores the value it received only when the channel
// had one ready; when the receive blocks (and, without the cancellable
// channels that sessions use, whenever the value is false) the slot keeps
// what it held before, false at first: `<-done && ok` is false though true
// was received. Under ! the receive is not a branch, so it stores its value,
// and ! (twice) gives it to the operator, of the same type.
func rewriteRecvOperands(root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		b, ok := n.(*ast.BinaryExpr)
		if !ok || b.Op != token.LAND && b.Op != token.LOR {
			return true
		}
		if u, ok := ast.Unparen(b.X).(*ast.UnaryExpr); ok && u.Op == token.ARROW {
			pos := b.X.Pos()
			b.X = &ast.UnaryExpr{OpPos: pos, Op: token.NOT, X: &ast.UnaryExpr{OpPos: pos, Op: token.NOT, X: b.X}}
		}
		return true
	})
}
