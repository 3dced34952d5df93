package program

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Import is a package a generated program imports from outside the
// standard library and mpigo's own module: one a module must provide.
type Import struct {
	Path string
	// File and Line say where the import was written: CellFile and the
	// %mpirun cell's line (its %mpirun line is line 1), or cell[N] and the
	// line of that earlier cell. File is "" for an import that generate
	// added itself.
	File string
	Line int
}

// mpigoModule is mpigo's own module: its packages come from the embedded
// sources, never from a module.
const mpigoModule = "github.com/mpigo/mpigo"

// ModuleImport reports whether importing path needs a module: it is
// neither in the standard library (whose paths have no dot in their first
// element) nor in mpigo's own module, nor cgo's "C".
func ModuleImport(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") {
		return false
	}
	return path != mpigoModule && !strings.HasPrefix(path, mpigoModule+"/")
}

// moduleImports lists the imports of src that need a module (ModuleImport),
// each with the position its //line directives give it, sorted by path;
// a path imported twice is listed at its first position.
func moduleImports(src string) []Import {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "main.go", src, parser.ImportsOnly)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []Import
	for _, s := range f.Imports {
		p, err := strconv.Unquote(s.Path.Value)
		if err != nil || !ModuleImport(p) || seen[p] {
			continue
		}
		seen[p] = true
		pos := fset.Position(s.Pos())
		imp := Import{Path: p, Line: pos.Line}
		if pos.Filename != "main.go" {
			imp.File = pos.Filename
		}
		out = append(out, imp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// FileImports lists the imports that need a module (ModuleImport) of the
// Go files of a program (file name → content), each at its first
// position, File being the file's name under dir (as the user named the
// program); files that do not parse are skipped (go build says why).
func FileImports(files map[string][]byte, dir string) []Import {
	names := make([]string, 0, len(files))
	for n := range files {
		if strings.HasSuffix(n, ".go") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	seen := map[string]bool{}
	var out []Import
	for _, n := range names {
		for _, imp := range moduleImports(string(files[n])) {
			if !seen[imp.Path] {
				seen[imp.Path] = true
				imp.File = filepath.Join(dir, n)
				out = append(out, imp)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
