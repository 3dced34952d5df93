package program

import (
	"go/ast"
	"go/token"
	"sort"
	"strings"
)

// edits collects changes to a source that keep the positions of the text
// around them: blanking (same length) and insertions on a line followed by
// an inline /*line*/ directive.
type edits struct {
	list []edit
}

// edit blanks n bytes at off, or inserts text there.
type edit struct {
	off, n int
	blank  bool
	text   string
}

// blank replaces the source between from and to with spaces (newlines kept).
func (e *edits) blank(fset *token.FileSet, from, to token.Pos) {
	f := fset.File(from)
	e.list = append(e.list, edit{off: f.Offset(from), n: f.Offset(to) - f.Offset(from), blank: true})
}

// insert inserts text at pos.
func (e *edits) insert(fset *token.FileSet, pos token.Pos, text string) {
	e.list = append(e.list, edit{off: fset.File(pos).Offset(pos), text: text})
}

// apply returns src with the edits made.
func (e *edits) apply(src string) string {
	sort.SliceStable(e.list, func(i, j int) bool { return e.list[i].off > e.list[j].off })
	b := []byte(src)
	for _, ed := range e.list {
		if ed.blank {
			blankBytes(b[ed.off : ed.off+ed.n])
			continue
		}
		b = append(b[:ed.off], append([]byte(ed.text), b[ed.off:]...)...)
	}
	return string(b)
}

// markUsed adds `; _, _ = a, b` after every statement that declares local
// variables (a, b := ... and var a, b ...), so that a variable the cell
// declares and never reads is no compile error. Variables of if, for,
// switch and select headers and of range clauses are left alone: they are
// used by their statement, or are the cell's to name _. A variable for
// which used (when not nil) reports true is left alone too.
func markUsed(fset *token.FileSet, f *ast.File, ed *edits, used func(*ast.Ident) bool) {
	var stmts func(list []ast.Stmt)
	stmts = func(list []ast.Stmt) {
		for _, s := range list {
			var names []string
			switch s := s.(type) {
			case *ast.AssignStmt:
				if s.Tok == token.DEFINE {
					for _, l := range s.Lhs {
						if id, ok := l.(*ast.Ident); ok && id.Name != "_" && (used == nil || !used(id)) {
							names = append(names, id.Name)
						}
					}
				}
			case *ast.DeclStmt:
				if gd, ok := s.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
					for _, sp := range gd.Specs {
						for _, id := range sp.(*ast.ValueSpec).Names {
							if id.Name != "_" && (used == nil || !used(id)) {
								names = append(names, id.Name)
							}
						}
					}
				}
			}
			if len(names) > 0 {
				blanks := strings.TrimSuffix(strings.Repeat("_, ", len(names)), ", ")
				ed.insert(fset, s.End(), "; "+blanks+" = "+strings.Join(names, ", ")+lineComment(fset, s.End()))
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BlockStmt:
			stmts(n.List)
		case *ast.CaseClause:
			stmts(n.Body)
		case *ast.CommClause:
			stmts(n.Body)
		}
		return true
	})
}

// readVars returns a function reporting whether the variable an identifier
// declares is surely read somewhere in f, going by go/parser's resolution
// of identifiers. It errs on the side of "no": an assignment to the bare
// variable (x = 1, x += 1, x++, for x = range) is no read for the compiler,
// and a composite literal's key may be a field name the parser took for the
// variable. A "no" only costs a `_ = x` that was not needed.
func readVars(f *ast.File) func(*ast.Ident) bool {
	notRead := map[*ast.Ident]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					notRead[id] = true
				}
			}
		case *ast.IncDecStmt:
			if id, ok := n.X.(*ast.Ident); ok {
				notRead[id] = true
			}
		case *ast.RangeStmt:
			for _, e := range []ast.Expr{n.Key, n.Value} {
				if id, ok := e.(*ast.Ident); ok {
					notRead[id] = true
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				notRead[id] = true
			}
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok {
				notRead[id] = true
			}
		}
		return true
	})
	read := map[*ast.Object]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Obj != nil && id.Obj.Kind == ast.Var && !notRead[id] {
			read[id.Obj] = true
		}
		return true
	})
	return func(id *ast.Ident) bool { return id.Obj != nil && read[id.Obj] }
}
