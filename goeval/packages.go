package goeval

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/traefik/yaegi/stdlib"
	"github.com/traefik/yaegi/stdlib/generic"
)

// pkgInfo is one package cells can import.
type pkgInfo struct {
	path, name string
	// syms are the binary symbols (yaegi Exports); members compiled from
	// source by the interpreter (generic functions of slices, maps, cmp,
	// and package iter: see stdsrc.go) are in generic with their number of
	// results.
	syms    map[string]reflect.Value
	generic map[string]member
	// uncallable are the generic members of a registered compiled package
	// (CompiledPackage.Generic): yaegi extract cannot export them, and
	// cells cannot use them (see genericOfCompiled).
	uncallable map[string]member
	members    []string // exported member names, sorted
}

// member describes a package member found in source.
type member struct {
	kind string        // "func", "type", "var", "const"
	out  int           // number of results of a func
	sig  *ast.FuncType // signature of a generic func
}

// has reports whether the package exports name.
func (p *pkgInfo) has(name string) bool {
	if _, ok := p.generic[name]; ok {
		return true
	}
	if _, ok := p.uncallable[name]; ok {
		return true
	}
	_, ok := p.syms[name]
	return ok && ast.IsExported(name)
}

// kindOf returns the kind of member name ("func", "type", "var", "const")
// and, for a func, its number of results; "" if it is unknown.
func (p *pkgInfo) kindOf(name string) (string, int) {
	if m, ok := p.generic[name]; ok {
		return m.kind, m.out
	}
	if m, ok := p.uncallable[name]; ok {
		return m.kind, m.out
	}
	v, ok := p.syms[name]
	if !ok {
		return "", 0
	}
	switch {
	case v.Kind() == reflect.Func && !v.CanAddr():
		return "func", v.Type().NumOut()
	case v.Kind() == reflect.Pointer && v.IsNil() && !v.CanAddr():
		return "type", 0
	case v.CanAddr():
		if v.Kind() == reflect.Func {
			return "var", v.Type().NumOut()
		}
		return "var", 0
	}
	return "const", 0
}

// candidates returns the package's exported members as completion
// candidates, with the signature of each function known from its symbol.
func (p *pkgInfo) candidates() []Candidate {
	out := make([]Candidate, 0, len(p.members))
	for _, name := range p.members {
		kind, _ := p.kindOf(name)
		c := Candidate{Text: name, Kind: declKinds[kind]}
		if c.Kind == "" {
			c.Kind = KindText
		}
		if v, ok := p.syms[name]; ok && kind == "func" {
			c.Signature = v.Type().String()
		}
		out = append(out, c)
	}
	return out
}

// pkgIndex is the table of importable packages: yaegi's restricted standard
// library, display and the registered compiled packages (see Register). It
// is built again only after Register.
type pkgIndex struct {
	byPath map[string]*pkgInfo
	byName map[string][]*pkgInfo // in order of preference
	names  []string              // distinct package names, sorted
}

// majorSuffix matches a "/v2"-style last path element.
var majorSuffix = regexp.MustCompile(`/v[0-9]+$`)

// packages returns the package index.
func packages() *pkgIndex { return pkgIndexNow.get() }

// pkgIndexNow is the package index of the registry as it is now.
var pkgIndexNow = &derived[*pkgIndex]{build: buildIndex}

// buildIndex builds the package index.
func buildIndex() *pkgIndex {
	idx := &pkgIndex{byPath: map[string]*pkgInfo{}, byName: map[string][]*pkgInfo{}}
	add := func(key string, syms map[string]reflect.Value) {
		p := &pkgInfo{path: path.Dir(key), name: path.Base(key), syms: syms}
		idx.byPath[p.path] = p
	}
	for key, syms := range stdlib.Symbols {
		if key == "." || strings.HasPrefix(key, "github.com/traefik/") {
			continue
		}
		add(key, syms)
	}
	for key, syms := range displaySymbols {
		add(key, syms)
	}
	// Generic members the interpreter compiles from source: yaegi's, then
	// mpigo's (stdsrc.go), which replace those of the same name.
	for _, src := range genericSources() {
		f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		p := idx.byPath[f.Name.Name]
		if p == nil {
			p = &pkgInfo{path: f.Name.Name, name: f.Name.Name}
			idx.byPath[p.path] = p
		}
		if p.generic == nil {
			p.generic = map[string]member{}
		}
		for name, m := range topLevelMembers(f) {
			if ast.IsExported(name) {
				p.generic[name] = m
			}
		}
	}
	idx.addRegistered()
	for _, p := range idx.byPath {
		seen := map[string]bool{}
		for name := range p.syms {
			if ast.IsExported(name) {
				seen[name] = true
			}
		}
		for name := range p.generic {
			seen[name] = true
		}
		for name := range p.uncallable {
			seen[name] = true
		}
		for name := range seen {
			p.members = append(p.members, name)
		}
		sort.Strings(p.members)
		idx.byName[p.name] = append(idx.byName[p.name], p)
	}
	for name, ps := range idx.byName {
		sort.Slice(ps, func(i, j int) bool { return preferPath(ps[i].path, ps[j].path) })
		idx.names = append(idx.names, name)
	}
	sort.Strings(idx.names)
	return idx
}

// genericSources returns the sources of the packages compiled from source
// that cells can import, in the order the interpreter compiles them:
// yaegi's, then mpigo's (without the hidden helper package).
func genericSources() []string {
	srcs := append([]string(nil), generic.Sources[:]...)
	for _, p := range stdSources {
		if p.name != builtinPkg {
			srcs = append(srcs, p.src)
		}
	}
	return srcs
}

// preferPath orders candidate import paths for one package name: without a
// "/v2"-style major version suffix first, then the shortest, then lexical.
func preferPath(a, b string) bool {
	ma, mb := majorSuffix.MatchString(a), majorSuffix.MatchString(b)
	if ma != mb {
		return !ma
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// topLevelMembers lists the top-level declarations of a file.
func topLevelMembers(f *ast.File) map[string]member {
	m := map[string]member{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				mb := member{kind: "func", out: d.Type.Results.NumFields()}
				if d.Type.TypeParams != nil {
					mb.sig = d.Type
				}
				m[d.Name.Name] = mb
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					m[s.Name.Name] = member{kind: "type"}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						m[n.Name] = member{kind: strings.ToLower(d.Tok.String())}
					}
				}
			}
		}
	}
	return m
}

// lookup returns the preferred package named name that exports every one of
// sels, or nil.
func (idx *pkgIndex) lookup(name string, sels []string, extra []Package) *pkgInfo {
	var cands []*pkgInfo
	for _, e := range extra {
		if e.Name == name {
			p := &pkgInfo{path: e.Path, name: e.Name, generic: map[string]member{}}
			for _, x := range e.Exports {
				p.generic[x] = member{}
			}
			cands = append(cands, p)
		}
	}
	cands = append(cands, idx.byName[name]...)
	sort.SliceStable(cands, func(i, j int) bool { return preferPath(cands[i].path, cands[j].path) })
	for _, p := range cands {
		ok := true
		for _, s := range sels {
			if !p.has(s) {
				ok = false
				break
			}
		}
		if ok {
			return p
		}
	}
	return nil
}

// Package describes a package that MissingImports may add besides the
// standard library and display: its import path, its name and its exported
// members.
type Package struct {
	Path, Name string
	Exports    []string
}

// MissingImports returns, sorted, the import paths a Go source needs, as
// goimports would add them: for each selector X.Sel where X is neither
// declared nor imported in src and known(X) is false, the package named X
// (standard library, display, or one of extra) that exports every Sel used
// with X; among several, the one without a "/v2"-style suffix, then the
// shortest path, then the first in lexical order. src is a Go file (with a
// package clause) or a cell: imports, declarations and statements in any
// order. known may be nil. A source that does not parse gives nil.
func MissingImports(src string, known func(name string) bool, extra ...Package) []string {
	fset := token.NewFileSet()
	var files []*ast.File
	declared := map[string]bool{}
	if firstToken(src) == token.PACKAGE {
		f, err := parser.ParseFile(fset, srcName, src, 0)
		if err != nil {
			return nil
		}
		files = append(files, f)
		for name := range groupNames(f, groupDecl) {
			declared[name] = true
		}
	} else {
		chunks := splitCell(src)
		for _, g := range []group{groupImport, groupDecl, groupStmt} {
			f, err := parseGroup(fset, src, chunks, g, 0)
			if err != nil {
				return nil
			}
			if f != nil {
				files = append(files, f)
				for name := range groupNames(f, g) {
					declared[name] = true
				}
			}
		}
	}
	isKnown := func(name string) bool {
		return declared[name] || universe[name] || known != nil && known(name)
	}
	var paths []string
	for _, p := range missingPackages(files, isKnown, extra) {
		paths = append(paths, p.path)
	}
	sort.Strings(paths)
	return paths
}

// missingPackages finds the packages to import for the unresolved selectors
// of files; known reports names that are declared elsewhere.
func missingPackages(files []*ast.File, known func(string) bool, extra []Package) []*pkgInfo {
	sels := map[string][]string{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			se, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := se.X.(*ast.Ident)
			if !ok || x.Obj != nil || known(x.Name) {
				return true
			}
			sels[x.Name] = append(sels[x.Name], se.Sel.Name)
			return true
		})
	}
	names := make([]string, 0, len(sels))
	for name := range sels {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []*pkgInfo
	for _, name := range names {
		if p := packages().lookup(name, sels[name], extra); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// groupNames returns the names a parsed group declares or imports at top
// level; for a statement group, the variables its statements define at the
// top level of the wrapper function.
func groupNames(f *ast.File, g group) map[string]bool {
	names := map[string]bool{}
	if g == groupStmt {
		for _, n := range definedNames(wrapperBody(f).List) {
			names[n] = true
		}
		return names
	}
	for _, imp := range f.Imports {
		names[importName(imp)] = true
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names
}

// definedNames returns the names that top-level statements define
// (x := ..., var x, const x, type x).
func definedNames(list []ast.Stmt) []string {
	var names []string
	for _, s := range list {
		switch s := s.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				for _, l := range s.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
						names = append(names, id.Name)
					}
				}
			}
		case *ast.DeclStmt:
			if g, ok := s.Decl.(*ast.GenDecl); ok {
				for _, sp := range g.Specs {
					switch sp := sp.(type) {
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							if n.Name != "_" {
								names = append(names, n.Name)
							}
						}
					case *ast.TypeSpec:
						names = append(names, sp.Name.Name)
					}
				}
			}
		}
	}
	return names
}

// importName returns the name an import spec binds.
func importName(imp *ast.ImportSpec) string {
	if imp.Name != nil {
		return imp.Name.Name
	}
	p := strings.Trim(imp.Path.Value, "\"`")
	if info := packages().byPath[p]; info != nil {
		return info.name
	}
	base := path.Base(p)
	if majorSuffix.MatchString(p) {
		base = path.Base(path.Dir(p))
	}
	return base
}

// universe holds Go's predeclared identifiers.
var universe = map[string]bool{
	"any": true, "bool": true, "byte": true, "comparable": true, "complex64": true,
	"complex128": true, "error": true, "float32": true, "float64": true, "int": true,
	"int8": true, "int16": true, "int32": true, "int64": true, "rune": true,
	"string": true, "uint": true, "uint8": true, "uint16": true, "uint32": true,
	"uint64": true, "uintptr": true,
	"true": true, "false": true, "iota": true, "nil": true,
	"append": true, "cap": true, "clear": true, "close": true, "complex": true,
	"copy": true, "delete": true, "imag": true, "len": true, "make": true,
	"max": true, "min": true, "new": true, "panic": true, "print": true,
	"println": true, "real": true, "recover": true,
}

// builtinTypes are the predeclared types (a call of one is a conversion).
var builtinTypes = map[string]bool{
	"any": true, "bool": true, "byte": true, "complex64": true, "complex128": true,
	"error": true, "float32": true, "float64": true, "int": true, "int8": true,
	"int16": true, "int32": true, "int64": true, "rune": true, "string": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"uintptr": true,
}

// valueBuiltins are the builtins whose call has a value worth showing.
var valueBuiltins = map[string]bool{
	"len": true, "cap": true, "min": true, "max": true, "append": true,
	"real": true, "imag": true, "complex": true, "new": true, "make": true,
}
