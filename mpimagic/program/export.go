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
	var first, last *ast.GenDecl
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			if first == nil {
				first = gd
			}
			last = gd
		}
	}
	if first == nil {
		return src, nil
	}
	for _, cg := range f.Comments {
		if cg.Pos() >= first.Pos() && cg.End() <= last.End() {
			return src, nil
		}
	}
	type spec struct{ name, path string }
	var specs []spec
	seen := map[spec]bool{}
	mpiTaken := false // the name mpi means something other than package mpi
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
				name := ""
				if s.Name != nil {
					name = s.Name.Name
				}
				if importName(s) == "mpi" && p != mpiPath {
					mpiTaken = true
				}
				sp := spec{name, p}
				if name == pathName(p) {
					sp.name = ""
				}
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
	type textEdit struct {
		from, to int
		text     string
	}
	var eds []textEdit
	if !mpiTaken {
		kept := specs[:0]
		hasMPI := false
		for _, sp := range specs {
			if sp.path == mpiPath && sp.name == MPIAlias {
				continue
			}
			hasMPI = hasMPI || (sp.path == mpiPath && sp.name == "")
			kept = append(kept, sp)
		}
		specs = kept
		if !hasMPI {
			specs = append(specs, spec{"", mpiPath})
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if se, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := se.X.(*ast.Ident); ok && id.Name == MPIAlias && id.Obj == nil {
					off := fset.Position(id.Pos()).Offset
					eds = append(eds, textEdit{off, off + len(MPIAlias), "mpi"})
				}
			}
			return true
		})
	}
	std := func(p string) bool { return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") }
	sort.SliceStable(specs, func(i, j int) bool {
		if std(specs[i].path) != std(specs[j].path) {
			return std(specs[i].path)
		}
		if specs[i].path != specs[j].path {
			return specs[i].path < specs[j].path
		}
		return specs[i].name < specs[j].name
	})
	var b strings.Builder
	b.WriteString("import (\n")
	for i, sp := range specs {
		if i > 0 && std(specs[i-1].path) && !std(sp.path) {
			b.WriteString("\n")
		}
		b.WriteString("\t")
		if sp.name != "" {
			b.WriteString(sp.name + " ")
		}
		b.WriteString(strconv.Quote(sp.path) + "\n")
	}
	b.WriteString(")")
	eds = append(eds, textEdit{fset.Position(first.Pos()).Offset, fset.Position(last.End()).Offset, b.String()})
	sort.Slice(eds, func(i, j int) bool { return eds[i].from > eds[j].from })
	out := append([]byte(nil), src...)
	for _, e := range eds {
		out = append(out[:e.from], append([]byte(e.text), out[e.to:]...)...)
	}
	return format.Source(out)
}
