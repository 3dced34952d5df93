package goeval

import (
	"fmt"
	"go/ast"
	"go/parser"
	"reflect"
	"strings"
	"sync"

	"github.com/traefik/yaegi/interp"
)

// CompiledPackage is a package compiled into the interpreter's binary.
type CompiledPackage struct {
	Path, Name string
	Dir        string                   // its source directory, for inspection's docs; "" if unknown
	Symbols    map[string]reflect.Value // yaegi extract's table for the package
	Generic    []string                 // its exported generic functions and types, which extract cannot export
}

// registry holds the registered packages. gen counts the calls of Register
// that added something, so that what is derived from the package index
// knows when to derive it again.
var registry struct {
	sync.Mutex
	pkgs []CompiledPackage
	gen  int
}

// Register makes packages importable in sessions created afterwards, like the
// standard library: import, auto-import (MissingImports, goimports-style), completion
// (members with kinds and signatures), inspection (declaration + doc from Dir).
// main calls it before worker.Serve; later calls add to earlier ones.
func Register(pkgs ...CompiledPackage) {
	if len(pkgs) == 0 {
		return
	}
	registry.Lock()
	defer registry.Unlock()
	for _, p := range pkgs {
		if p.Name == "" {
			p.Name = defaultName(p.Path)
		}
		registry.pkgs = append(registry.pkgs, p)
	}
	registry.gen++
}

// registered returns the registered packages and the registry's generation.
func registered() ([]CompiledPackage, int) {
	registry.Lock()
	defer registry.Unlock()
	return registry.pkgs, registry.gen
}

// registeredExports returns the symbols of the registered packages as
// interp.Exports, keyed "path/name" as yaegi wants them.
func registeredExports() interp.Exports {
	pkgs, _ := registered()
	x := interp.Exports{}
	for _, p := range pkgs {
		key := p.Path + "/" + p.Name
		if x[key] == nil {
			x[key] = map[string]reflect.Value{}
		}
		for name, v := range p.Symbols {
			x[key][name] = v
		}
	}
	return x
}

// registeredDir returns the source directory of a registered package, or
// "" if it is not registered or its directory is unknown.
func registeredDir(path string) string {
	pkgs, _ := registered()
	dir := ""
	for _, p := range pkgs {
		if p.Path == path && p.Dir != "" {
			dir = p.Dir
		}
	}
	return dir
}

// registeredPath reports whether path is a registered package.
func registeredPath(path string) bool {
	pkgs, _ := registered()
	for _, p := range pkgs {
		if p.Path == path {
			return true
		}
	}
	return false
}

// derived is a value computed from the registered packages (and what never
// changes), computed again after Register added packages. Packages are
// registered before sessions start, so it is computed once in practice.
type derived[T any] struct {
	mu    sync.Mutex
	gen   int
	ok    bool
	v     T
	build func() T
}

// get returns the value for the registry as it is now.
func (d *derived[T]) get() T {
	_, gen := registered()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.ok || d.gen != gen {
		d.v, d.gen, d.ok = d.build(), gen, true
	}
	return d.v
}

// addRegistered adds the registered packages to a package index; a
// registered path replaces a builtin one.
func (idx *pkgIndex) addRegistered() {
	pkgs, _ := registered()
	for _, cp := range pkgs {
		p := idx.byPath[cp.Path]
		if p == nil || p.name != cp.Name {
			p = &pkgInfo{path: cp.Path, name: cp.Name, syms: map[string]reflect.Value{}}
			idx.byPath[cp.Path] = p
		}
		for name, v := range cp.Symbols {
			p.syms[name] = v
		}
		if len(cp.Generic) == 0 {
			continue
		}
		kinds := sourceMembers(cp.Dir)
		if p.uncallable == nil {
			p.uncallable = map[string]member{}
		}
		for _, name := range cp.Generic {
			m, ok := kinds[name]
			if !ok {
				m = member{kind: "func"} // extract leaves out generic functions more often than types
			}
			p.uncallable[name] = m
		}
	}
}

// sourceMembers returns the top-level declarations of the package in dir
// (its files for this platform, tests excluded); nil if dir is "" or
// unreadable.
func sourceMembers(dir string) map[string]member {
	if dir == "" {
		return nil
	}
	_, files := parsePackageDir(dir, parser.SkipObjectResolution)
	out := map[string]member{}
	for _, f := range files {
		for n, m := range topLevelMembers(f) {
			if ast.IsExported(n) {
				out[n] = m
			}
		}
	}
	return out
}

// defaultName is the package name an import path has by default: its last
// element, before a "/v2"-style suffix.
func defaultName(p string) string {
	if majorSuffix.MatchString(p) {
		p = p[:strings.LastIndexByte(p, '/')]
	}
	return p[strings.LastIndexByte(p, '/')+1:]
}

// genericOfCompiled reports the first use in files of a generic member of
// a registered compiled package: yaegi extract exports no generic function
// or type (they have no code until instantiated), so yaegi would only say
// that the package has no such symbol.
func (s *Session) genericOfCompiled(c *cellCode, files []*ast.File, kind kindFunc) error {
	var err error
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			se, ok := n.(*ast.SelectorExpr)
			if !ok || err != nil {
				return err == nil
			}
			x, ok := se.X.(*ast.Ident)
			if !ok || x.Obj != nil || !isPkgKind(kind(x.Name)) {
				return true
			}
			p := packages().byPath[s.pkgPath(c, x.Name)]
			if p == nil {
				return true
			}
			if _, ok := p.uncallable[se.Sel.Name]; ok {
				pos := s.ip.FileSet().Position(se.Pos())
				err = genericError(c.no, x.Name+"."+se.Sel.Name, pos.Line, pos.Column)
			}
			return true
		})
	}
	return err
}

// genericError is the error of a cell that uses sel, a generic function or
// type of a compiled package, at line and col of cell cellNo.
func genericError(cellNo int, sel string, line, col int) *Error {
	return newCompileError(fmt.Sprintf(
		"cell[%d]:%d:%d: %s is generic, and yaegi cannot call generic functions of compiled packages (nor use their generic types): "+
			"call it in an %%mpirun cell, which is compiled Go, or wrap it in a non-generic function in a local module and add that with %%go get ./path",
		cellNo, line, col, sel), line, col)
}
