package program

import (
	"fmt"
	"go/ast"
	"go/token"
)

// OutError is a cell that %mpirun --out cannot take a value from. At is
// where, in the cell (CellFile).
type OutError struct {
	At  Pos
	Why string
}

// Error says where and why, the position named after CellFile.
func (e *OutError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", CellFile, e.At.Line, e.At.Col, e.Why)
}

// noFinalExpr is a --out cell whose last statement, at, is not an
// expression.
func noFinalExpr(at Pos) *OutError {
	return &OutError{At: at, Why: "the cell's last statement is not an expression: --out takes the value of a final expression (end the cell with one, e.g. sum)"}
}

// noStatements is a --out cell of declarations only; at is its last.
func noStatements(at Pos) *OutError {
	return &OutError{At: at, Why: "the cell has no statements, so no final expression for --out to take the value of"}
}

// outWithMain is a --out cell that declares func main, at: its program
// has no final expression of the cell's.
func outWithMain(at Pos) *OutError {
	return &OutError{At: at, Why: "the cell declares func main: --out takes the value of the final expression of a cell that is main's body"}
}

// mainChunk is the chunk that declares func main (the first if none does).
func mainChunk(chunks []chunk) chunk {
	for _, c := range chunks {
		if c.kind == chunkDecl && c.name == "main" {
			return c
		}
	}
	return chunks[0]
}

// sendFinal wraps the final statement of the cell's function literal in
// f, an expression, in OutAlias.Send(...), keeping every position, and
// returns where it is; body and its chunks place the errors.
func sendFinal(fset *token.FileSet, f *ast.File, ed *edits, body string, chunks []chunk) (Pos, error) {
	list := cellStmts(f)
	for len(list) > 0 {
		if _, empty := list[len(list)-1].(*ast.EmptyStmt); !empty {
			break
		}
		list = list[:len(list)-1]
	}
	if len(list) == 0 {
		return Pos{}, noStatements(chunkPos(body, chunks[len(chunks)-1]))
	}
	last := list[len(list)-1]
	at := cellPos(fset, last.Pos())
	es, ok := last.(*ast.ExprStmt)
	if !ok {
		return Pos{}, noFinalExpr(at)
	}
	ed.insert(fset, es.X.Pos(), OutAlias+".Send("+lineComment(fset, es.X.Pos()))
	ed.insert(fset, es.X.End(), ")")
	return at, nil
}

// cellStmts returns the statements of the function literal main calls,
// which holds the cell's statements.
func cellStmts(f *ast.File) []ast.Stmt {
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != "main" || fd.Body == nil {
			continue
		}
		for _, s := range fd.Body.List {
			if es, ok := s.(*ast.ExprStmt); ok {
				if call, ok := es.X.(*ast.CallExpr); ok {
					if lit, ok := call.Fun.(*ast.FuncLit); ok {
						return lit.Body.List
					}
				}
			}
		}
	}
	return nil
}

// chunkPos is where c starts in the cell whose body is body.
func chunkPos(body string, c chunk) Pos {
	line, col := lineCol(body, c.start)
	return Pos{Line: line + 1, Col: col} // the %mpirun line is line 1
}

// cellPos is the cell position of p, as the //line directives give it.
func cellPos(fset *token.FileSet, p token.Pos) Pos {
	pos := fset.Position(p)
	return Pos{Line: pos.Line, Col: pos.Column}
}
