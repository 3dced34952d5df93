package goeval

import (
	"go/ast"
	"go/token"
	"strconv"

	"golang.org/x/tools/go/ast/astutil"
)

// rewriteSelectBreaks makes each bare break of a select statement's
// clauses name the select, labelling it if it has no label: yaegi v0.16
// takes a bare break there for a break of the enclosing loop, so
// `for { select { case v := <-ch: if v == 0 { break } ... } }` left the
// loop instead of the select, silently. A labelled break of a select is
// right in yaegi.
func rewriteSelectBreaks(root ast.Node) {
	n := 0
	astutil.Apply(root, nil, func(cur *astutil.Cursor) bool {
		sel, ok := cur.Node().(*ast.SelectStmt)
		if !ok {
			return true
		}
		breaks := bareBreaks(sel.Body)
		if len(breaks) == 0 {
			return true
		}
		var label *ast.Ident
		if ls, ok := cur.Parent().(*ast.LabeledStmt); ok && ls.Stmt == sel {
			label = ls.Label
		} else {
			n++
			label = ident("__mpigo_sel"+strconv.Itoa(n), sel.Select)
			cur.Replace(&ast.LabeledStmt{Label: label, Colon: sel.Select, Stmt: sel})
		}
		for _, b := range breaks {
			b.Label = ident(label.Name, b.TokPos)
		}
		return true
	})
}

// bareBreaks returns the unlabelled break statements of a select's clauses
// that break the select: not those of nested loops, switches, selects and
// function literals, which break those.
func bareBreaks(body *ast.BlockStmt) []*ast.BranchStmt {
	var out []*ast.BranchStmt
	for _, cl := range body.List {
		for _, st := range cl.(*ast.CommClause).Body {
			ast.Inspect(st, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt, *ast.FuncLit:
					return false
				case *ast.BranchStmt:
					if x.Tok == token.BREAK && x.Label == nil {
						out = append(out, x)
					}
				}
				return true
			})
		}
	}
	return out
}
