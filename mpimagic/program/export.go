package program

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"

	"github.com/mpigo/mpigo/goeval"
)

// ExportSources makes the program to export: plain is the cell's program
// with comments instead of //line directives, gofmt'ed; tidy is plain with
// only the `_ = x` a variable may need and the imports in one block.
func ExportSources(body string, decls []goeval.Decl, exports []string, cellName string) (plain, tidy []byte, err error) {
	g, err := generate(body, decls, exports, genOptions{export: true, cell: cellName})
	if err != nil {
		return nil, nil, err
	}
	if plain, err = format.Source([]byte(g.Source)); err != nil {
		return nil, nil, fmt.Errorf("formatting the program: %w", err)
	}
	g, err = generate(body, decls, exports, genOptions{export: true, cell: cellName, tidy: true})
	if err != nil {
		return plain, plain, nil
	}
	if tidy, err = format.Source([]byte(g.Source)); err != nil {
		return plain, plain, nil
	}
	if tidy, err = tidyImports(tidy); err != nil {
		return plain, plain, nil
	}
	return plain, tidy, nil
}

// tidyImports gathers the imports of src, a gofmt'ed program, into one
// block (standard library first), and calls MPI through the name mpi
// rather than MPIAlias when nothing else in the file goes by that name.
// A program with comments among its imports is left as it is.
func tidyImports(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "main.go", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	first, last := importRange(f)
	if first == nil {
		return src, nil
	}
	for _, cg := range f.Comments {
		if cg.Pos() >= first.Pos() && cg.End() <= last.End() {
			return src, nil
		}
	}
	specs, mpiTaken := importSpecs(f)
	var eds []textEdit
	if !mpiTaken {
		specs = withPlainMPI(specs)
		eds = aliasEdits(fset, f)
	}
	sortImports(specs)
	eds = append(eds, textEdit{fset.Position(first.Pos()).Offset, fset.Position(last.End()).Offset, importBlock(specs)})
	sort.Slice(eds, func(i, j int) bool { return eds[i].from > eds[j].from })
	out := append([]byte(nil), src...)
	for _, e := range eds {
		out = append(out[:e.from], append([]byte(e.text), out[e.to:]...)...)
	}
	return format.Source(out)
}

// textEdit replaces src[from:to] with text.
type textEdit struct {
	from, to int
	text     string
}

// importSpec is one import: its name ("" for the package's own) and path.
type importSpec struct{ name, path string }

// importRange returns the first and last import declarations of f (nil
// when it has none).
func importRange(f *ast.File) (first, last *ast.GenDecl) {
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			if first == nil {
				first = gd
			}
			last = gd
		}
	}
	return first, last
}

// importSpecs lists the imports of f once each, and reports whether the
// name mpi means something other than package mpi there (a function, a
// type, a variable, another import).
func importSpecs(f *ast.File) (specs []importSpec, mpiTaken bool) {
	seen := map[importSpec]bool{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "mpi" {
				mpiTaken = true
			}
			continue
		}
		for _, s := range gd.Specs {
			switch s := s.(type) {
			case *ast.ImportSpec:
				p, _ := strconv.Unquote(s.Path.Value)
				sp := importSpec{path: p}
				if s.Name != nil && s.Name.Name != pathName(p) {
					sp.name = s.Name.Name
				}
				mpiTaken = mpiTaken || importName(s) == "mpi" && p != mpiPath
				if !seen[sp] {
					seen[sp] = true
					specs = append(specs, sp)
				}
			case *ast.TypeSpec:
				mpiTaken = mpiTaken || s.Name.Name == "mpi"
			case *ast.ValueSpec:
				for _, n := range s.Names {
					mpiTaken = mpiTaken || n.Name == "mpi"
				}
			}
		}
	}
	return specs, mpiTaken
}

// withPlainMPI replaces the import of package mpi as MPIAlias by a plain
// one.
func withPlainMPI(specs []importSpec) []importSpec {
	kept := specs[:0]
	hasMPI := false
	for _, sp := range specs {
		if sp.path == mpiPath && sp.name == MPIAlias {
			continue
		}
		hasMPI = hasMPI || (sp.path == mpiPath && sp.name == "")
		kept = append(kept, sp)
	}
	if !hasMPI {
		kept = append(kept, importSpec{"", mpiPath})
	}
	return kept
}

// aliasEdits rename every MPIAlias.X of f to mpi.X.
func aliasEdits(fset *token.FileSet, f *ast.File) []textEdit {
	var eds []textEdit
	ast.Inspect(f, func(n ast.Node) bool {
		if se, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := se.X.(*ast.Ident); ok && id.Name == MPIAlias && id.Obj == nil {
				off := fset.Position(id.Pos()).Offset
				eds = append(eds, textEdit{off, off + len(MPIAlias), "mpi"})
			}
		}
		return true
	})
	return eds
}

// stdPath reports whether p is a package of the standard library (its
// first element has no dot).
func stdPath(p string) bool { return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") }

// sortImports orders specs as goimports does: the standard library first,
// then by path and name.
func sortImports(specs []importSpec) {
	sort.SliceStable(specs, func(i, j int) bool {
		if stdPath(specs[i].path) != stdPath(specs[j].path) {
			return stdPath(specs[i].path)
		}
		if specs[i].path != specs[j].path {
			return specs[i].path < specs[j].path
		}
		return specs[i].name < specs[j].name
	})
}

// importBlock writes sorted specs as one import declaration, a blank line
// between the standard library and the rest.
func importBlock(specs []importSpec) string {
	var b strings.Builder
	b.WriteString("import (\n")
	for i, sp := range specs {
		if i > 0 && stdPath(specs[i-1].path) && !stdPath(sp.path) {
			b.WriteString("\n")
		}
		b.WriteString("\t")
		if sp.name != "" {
			b.WriteString(sp.name + " ")
		}
		b.WriteString(strconv.Quote(sp.path) + "\n")
	}
	b.WriteString(")")
	return b.String()
}
