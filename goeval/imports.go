package goeval

import (
	"go/token"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/traefik/yaegi/stdlib"
)

// Import is an import of a cell, at its position in the cell.
type Import struct {
	Path      string
	Line, Col int
}

// CellImports returns the imports a cell declares, in order, with their
// positions; a cell whose imports do not parse gives nil (running it
// reports the syntax error). The kernel reads them before it sends the cell
// to the interpreter, to bring in the packages the interpreter lacks.
func CellImports(src string) []Import {
	fset := token.NewFileSet()
	f, err := parseGroup(fset, src, splitCell(src), groupImport, 0)
	if err != nil || f == nil {
		return nil
	}
	var out []Import
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		pos := fset.Position(imp.Pos())
		out = append(out, Import{Path: p, Line: pos.Line, Col: pos.Column})
	}
	return out
}

// Builtin reports whether every interpreter has package path: the standard
// library cells can import, and display.
func Builtin(path string) bool {
	return path == mpiPath || builtinPackages()[path]
}

// builtinPackages are the import paths of the packages every interpreter
// has, whatever else its binary was built with.
var builtinPackages = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for key := range stdlib.Symbols {
		if key != "." && !strings.HasPrefix(key, "github.com/traefik/") {
			m[path.Dir(key)] = true
		}
	}
	for key := range displaySymbols {
		m[path.Dir(key)] = true
	}
	for _, p := range stdSources {
		m[p.name] = true
	}
	return m
})
