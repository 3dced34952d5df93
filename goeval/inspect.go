package goeval

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
)

// docCache holds the documentation of the standard library packages that
// Inspect read, per session.
type docCache struct {
	mu     sync.Mutex
	goroot string
	found  bool
	pkgs   map[string]*docPkg
}

// docPkg is a parsed package.
type docPkg struct {
	fset *token.FileSet
	doc  *doc.Package
}

func newDocCache() *docCache { return &docCache{pkgs: map[string]*docPkg{}} }

// root returns GOROOT: runtime.GOROOT(), else `go env GOROOT`.
func (d *docCache) root() string {
	if d.found {
		return d.goroot
	}
	d.found = true
	d.goroot = runtime.GOROOT() //nolint:staticcheck // the documented fallback follows
	if d.goroot == "" {
		if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
			d.goroot = strings.TrimSpace(string(out))
		}
	}
	return d.goroot
}

// pkg returns the documentation of a standard library package or of a
// registered package whose directory is known, or nil.
func (d *docCache) pkg(path string) *docPkg {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.pkgs[path]; ok {
		return p
	}
	d.pkgs[path] = nil
	dir := registeredDir(path)
	if dir == "" {
		root := d.root()
		if root == "" {
			return nil
		}
		dir = filepath.Join(root, "src", filepath.FromSlash(path))
	}
	fset, files := parsePackageDir(dir, parser.ParseComments)
	if len(files) == 0 {
		return nil
	}
	var mode doc.Mode
	if path == "builtin" {
		mode = doc.AllDecls // its declarations are not exported
	}
	dp, err := doc.NewFromFiles(fset, files, path, mode)
	if err != nil {
		return nil
	}
	p := &docPkg{fset: fset, doc: dp}
	d.pkgs[path] = p
	return p
}

// parsePackageDir parses the Go files of the package in dir that build on
// this platform, tests excluded; files that do not parse are left out.
func parsePackageDir(dir string, mode parser.Mode) (*token.FileSet, []*ast.File) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fset, nil
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		if f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, mode); err == nil {
			files = append(files, f)
		}
	}
	return fset, files
}

// Inspect describes the identifier or selector at or just before the
// cursor (a code point offset): for a standard library member, its
// declaration and documentation from GOROOT; for a declaration of the
// session, its source with its doc comment; for a variable, its type and
// value ("x int = 3"). detail is accepted for the Jupyter protocol; the
// text is the same at every level. found is false when nothing is known.
func (s *Session) Inspect(code string, cursor, detail int) (text string, found bool) {
	off := runeOffset(code, cursor)
	start, end := identStart(code, off), identEnd(code, off)
	if start == end {
		// Just after a call's parenthesis: the function called.
		i := off
		for i > 0 && (code[i-1] == ' ' || code[i-1] == '\t') {
			i--
		}
		if i > 0 && code[i-1] == '(' {
			i--
			start, end = identStart(code, i), i
		}
		if start == end {
			return "", false
		}
	}
	chain := code[start:end]
	if start > 0 && code[start-1] == '.' {
		prefix := chainBefore(code, start-1)
		if prefix == "" {
			return "", false
		}
		chain = prefix + "." + chain
	}
	if r, _ := utf8.DecodeRuneInString(chain); r >= '0' && r <= '9' {
		return "", false
	}
	v := s.view()
	if v == s {
		defer s.mu.Unlock()
	}
	return v.inspect(chain)
}

func (s *Session) inspect(chain string) (string, bool) {
	parts := strings.Split(chain, ".")
	first := parts[0]
	// A package member.
	if !s.varSet[first] {
		if p := s.packageNamed(first); p != nil {
			if len(parts) == 1 {
				if d := s.docs.pkg(p.path); d != nil {
					return fmt.Sprintf("package %s // import %q\n\n%s", p.name, p.path, d.doc.Doc), true
				}
				return fmt.Sprintf("package %s // import %q", p.name, p.path), true
			}
			if p.path == displayPath {
				return "", false
			}
			return s.stdDoc(p.path, parts[1:])
		}
	}
	// A declaration of the session.
	if len(parts) <= 2 {
		if e := s.store.get(chain); e != nil && e.Kind != "var" {
			return e.Src, true
		}
		if len(parts) == 1 {
			if e := s.store.lookup(first); e != nil && e.Kind != "var" && e.Kind != "import" {
				return e.Src, true
			}
		}
	}
	// A variable.
	if e := s.store.lookup(first); s.varSet[first] || e != nil && e.Kind == "var" {
		v, err := s.evalExpr(chain)
		if err != nil {
			return "", false
		}
		typ := "nil"
		if v.IsValid() {
			typ = v.Type().String()
			if v.Kind() == reflect.Interface && !v.IsNil() {
				typ = v.Elem().Type().String()
			}
		}
		text := fmt.Sprintf("%s %s = %s", chain, typ, formatValue(v))
		if e != nil && len(parts) == 1 {
			text += "\n\n" + e.Src
		}
		return text, true
	}
	// A builtin.
	if len(parts) == 1 && universe[first] {
		return s.stdDoc("builtin", parts)
	}
	return "", false
}

// stdDoc returns the declaration and documentation of a member of a
// standard library package: Name or Type.Method.
func (s *Session) stdDoc(path string, names []string) (string, bool) {
	p := s.docs.pkg(path)
	if p == nil {
		return "", false
	}
	d := p.doc
	show := func(decl ast.Decl, text string) (string, bool) {
		var b bytes.Buffer
		if fd, ok := decl.(*ast.FuncDecl); ok {
			cp := *fd
			cp.Body, cp.Doc = nil, nil
			decl = &cp
		}
		if gd, ok := decl.(*ast.GenDecl); ok {
			cp := *gd
			cp.Doc = nil
			decl = &cp
		}
		(&printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}).Fprint(&b, p.fset, decl)
		if text != "" {
			b.WriteString("\n\n" + strings.TrimRight(text, "\n"))
		}
		return b.String(), true
	}
	name := names[0]
	for _, f := range d.Funcs {
		if f.Name == name && len(names) == 1 {
			return show(f.Decl, f.Doc)
		}
	}
	for _, t := range d.Types {
		if t.Name == name {
			if len(names) == 1 {
				return show(t.Decl, t.Doc)
			}
			for _, m := range t.Methods {
				if m.Name == names[1] {
					return show(m.Decl, m.Doc)
				}
			}
			return "", false
		}
		if len(names) == 1 {
			for _, f := range t.Funcs {
				if f.Name == name {
					return show(f.Decl, f.Doc)
				}
			}
		}
	}
	if len(names) > 1 {
		return "", false
	}
	values := append(append([]*doc.Value(nil), d.Consts...), d.Vars...)
	for _, t := range d.Types {
		values = append(append(values, t.Consts...), t.Vars...)
	}
	for _, v := range values {
		for _, n := range v.Names {
			if n == name {
				return show(v.Decl, v.Doc)
			}
		}
	}
	return "", false
}
