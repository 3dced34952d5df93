package goeval

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
)

// IsTypeText reports whether s is a type expression of the kinds a value
// gob carries has (names, package.Name, pointers, slices, arrays, maps,
// structs, instantiated generics) and nothing else, with at most maxElems
// array elements along any path. ImportSlice evaluates the type of values
// that other processes sent (ranks): whatever else such text holds (a
// call, a func literal) must never reach the interpreter.
func IsTypeText(s string, maxElems int64) bool {
	e, err := parser.ParseExpr(s)
	return err == nil && isTypeExpr(e, maxElems)
}

// isTypeExpr is isTypeText for a parsed expression, with at most limit
// array elements along any path: declaring the slice allocates them.
func isTypeExpr(e ast.Expr, limit int64) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return true
	case *ast.SelectorExpr:
		_, ok := e.X.(*ast.Ident)
		return ok
	case *ast.StarExpr:
		return isTypeExpr(e.X, limit)
	case *ast.ArrayType:
		return isArrayType(e, limit)
	case *ast.MapType:
		return isTypeExpr(e.Key, limit) && isTypeExpr(e.Value, limit)
	case *ast.StructType:
		for _, f := range e.Fields.List {
			if !isTypeExpr(f.Type, limit) {
				return false
			}
		}
		return true
	case *ast.IndexExpr:
		return isTypeExpr(e.X, limit) && isTypeExpr(e.Index, limit)
	case *ast.IndexListExpr:
		for _, x := range e.Indices {
			if !isTypeExpr(x, limit) {
				return false
			}
		}
		return isTypeExpr(e.X, limit)
	}
	return false
}

// isArrayType is isTypeExpr for a slice or an array type.
func isArrayType(e *ast.ArrayType, limit int64) bool {
	if e.Len == nil {
		return isTypeExpr(e.Elt, limit)
	}
	lit, ok := e.Len.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return false
	}
	n, err := strconv.ParseInt(lit.Value, 0, 64)
	if err != nil || n > limit {
		return false
	}
	return isTypeExpr(e.Elt, limit/max(n, 1))
}
