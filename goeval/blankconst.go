package goeval

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"strconv"

	"golang.org/x/tools/go/ast/astutil"
)

// rewriteConsts works around three faults of yaegi in const declarations:
//
//   - a spec with several names that repeats the previous spec's
//     expressions implicitly (c, d under a, b = iota, iota*10) fails with
//     "constant definition loop";
//
//   - iota counts names, not specs, after a spec with several names (e, f
//     two specs below a, b get 6, 60 instead of 3, 30), silently; and a
//     group that failed to compile shifts the iota of the next one;
//
//   - a shift of a constant of a float type by a count that is an
//     expression (KB ByteSize = 1 << (10 * iota)) fails with "constant
//     definition loop";
//
// so every implicit repetition is written out (the previous spec's type
// and expressions), iota is replaced by the spec's index (an untyped
// integer constant, as iota is) and a shift count made of literals alone
// by its value;
//   - a blank name in a repeating spec ("_, _") is refused ("cannot use _
//     as value"): each blank constant gets a hidden name of its own, which
//     nothing refers to.
func rewriteConsts(fset *token.FileSet, root ast.Node) {
	ast.Inspect(root, func(n ast.Node) bool {
		d, ok := n.(*ast.GenDecl)
		if !ok || d.Tok != token.CONST {
			return true
		}
		var lastType ast.Expr     // of the last spec with expressions
		var lastValues []ast.Expr // its expressions, with iota
		for i, sp := range d.Specs {
			vs := sp.(*ast.ValueSpec)
			if len(vs.Values) > 0 {
				lastType, lastValues = vs.Type, copyExprs(fset, vs.Values)
			} else if lastValues != nil {
				vs.Type, vs.Values = copyExpr(fset, lastType), copyExprs(fset, lastValues)
			}
			for j, v := range vs.Values {
				vs.Values[j] = foldShiftCounts(replaceIota(v, i))
			}
			for _, id := range vs.Names {
				if id.Name == "_" {
					id.Name = fmt.Sprintf("%s%d", blankConstPrefix, id.NamePos)
				}
			}
		}
		return false
	})
}

// replaceIota returns e with the uses of iota replaced by the integer i.
func replaceIota(e ast.Expr, i int) ast.Expr {
	return astutil.Apply(e, nil, func(c *astutil.Cursor) bool {
		if id, ok := c.Node().(*ast.Ident); ok && id.Name == "iota" {
			if _, isSel := c.Parent().(*ast.SelectorExpr); !isSel || c.Name() != "Sel" {
				c.Replace(&ast.BasicLit{ValuePos: id.NamePos, Kind: token.INT, Value: strconv.Itoa(i)})
			}
		}
		return true
	}).(ast.Expr)
}

// foldShiftCounts returns e with the counts of its shifts that are made of
// literals alone replaced by their values.
func foldShiftCounts(e ast.Expr) ast.Expr {
	return astutil.Apply(e, nil, func(c *astutil.Cursor) bool {
		b, ok := c.Node().(*ast.BinaryExpr)
		if !ok || (b.Op != token.SHL && b.Op != token.SHR) {
			return true
		}
		if _, lit := b.Y.(*ast.BasicLit); lit {
			return true
		}
		var src bytes.Buffer
		if printer.Fprint(&src, token.NewFileSet(), b.Y) != nil {
			return true
		}
		tv, err := types.Eval(token.NewFileSet(), nil, token.NoPos, src.String())
		if err != nil || tv.Value == nil || tv.Value.Kind() != constant.Int {
			return true
		}
		cp := *b
		cp.Y = &ast.BasicLit{ValuePos: b.Y.Pos(), Kind: token.INT, Value: tv.Value.ExactString()}
		c.Replace(&cp)
		return true
	}).(ast.Expr)
}

// blankConstPrefix starts the names given to blank constants.
const blankConstPrefix = "__mpigo_blank"

// copyExprs returns copies of es (see copyExpr).
func copyExprs(fset *token.FileSet, es []ast.Expr) []ast.Expr {
	out := make([]ast.Expr, len(es))
	for i, e := range es {
		out[i] = copyExpr(fset, e)
	}
	return out
}

// copyExpr returns a copy of e, printed and parsed again (in a file of the
// session's file name, where yaegi finds the package names it uses); nil
// for nil, and e itself if it cannot be parsed again.
func copyExpr(fset *token.FileSet, e ast.Expr) ast.Expr {
	if e == nil {
		return nil
	}
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, e); err != nil {
		return e
	}
	c, err := parser.ParseExprFrom(fset, srcName, b.Bytes(), 0)
	if err != nil {
		return e
	}
	return c
}
