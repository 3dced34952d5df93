package goeval

import (
	"go/ast"
	"go/constant"
	"go/token"
	"strconv"
)

// yaegi v0.16 folds the arithmetic of constant declarations but not their
// comparisons and logical operators (cfg.go's constOp has neither): the
// constant of `const c = 3 < 4`, or of `const ok = debug && n > 2`, is
// false. The type check records the values of those operations in
// constant declarations (facts.bools, by operator position), and the
// lowering writes them as true or false. An operation that uses iota is
// left alone: an implicit repetition of its spec copies it, and each copy
// has its own value.

// boolOps are the operators whose constant results yaegi does not fold.
var boolOps = map[token.Token]bool{
	token.EQL: true, token.NEQ: true, token.LSS: true, token.LEQ: true, token.GTR: true, token.GEQ: true,
	token.LAND: true, token.LOR: true,
}

// constBoolOps calls f with the operations of boolOps in the values of the
// constant declarations under n that do not use iota, outermost first; f
// returns whether to look inside.
func constBoolOps(n ast.Node, f func(*ast.BinaryExpr) bool) {
	ast.Inspect(n, func(m ast.Node) bool {
		gd, ok := m.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			return true
		}
		for _, sp := range gd.Specs {
			for _, v := range sp.(*ast.ValueSpec).Values {
				ast.Inspect(v, func(m ast.Node) bool {
					be, ok := m.(*ast.BinaryExpr)
					if !ok || !boolOps[be.Op] || usesName(be, "iota") {
						return true
					}
					return f(be)
				})
			}
		}
		return false
	})
}

// hasConstBoolOp reports whether n declares a constant with a comparison
// or a logical operator.
func hasConstBoolOp(n ast.Node) bool {
	found := false
	constBoolOps(n, func(*ast.BinaryExpr) bool {
		found = true
		return false
	})
	return found
}

// collectBools records the constant values of the operations of boolOps
// in the constant declarations of d.
func (ck *check) collectBools(d ast.Decl, facts *typedFacts) {
	constBoolOps(d, func(be *ast.BinaryExpr) bool {
		tv, ok := ck.info.Types[be]
		if !ok || tv.Value == nil || tv.Value.Kind() != constant.Bool {
			return true
		}
		facts.bools[keyOf(ck.fset, be.OpPos)] = constant.BoolVal(tv.Value)
		return false
	})
}

// foldBool returns the replacement of a constant operation yaegi does not
// fold, or nil.
func (l *lowering) foldBool(be *ast.BinaryExpr) ast.Expr {
	if !boolOps[be.Op] {
		return nil
	}
	v, ok := l.facts.bools[keyOf(l.fset, be.OpPos)]
	if !ok {
		return nil
	}
	return ident(strconv.FormatBool(v), be.Pos())
}
