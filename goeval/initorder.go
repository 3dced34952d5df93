package goeval

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"
)

// Package-level variables are initialized in dependency order (the Go
// spec's "Package initialization"): repeatedly, the variable earliest in
// declaration order that is ready, that is, whose initialization
// expression refers to no variable not yet initialized, directly or
// through the functions and methods it refers to, however deeply. yaegi
// follows direct references only (genGlobalVarDecl): `var a = c + b;
// var b = f(); var d = 3` with f using d initializes b and c before d.
//
// orderVarInit computes Go's order from the syntax of a file of
// declarations (a cell's, or the store a rebuild replays) and moves the
// var declarations, one spec each (split when it has one value per name),
// in that order, after the file's other declarations: yaegi initializes
// them in source order then, and it types `var a, b = g()` wrongly ("g
// returns 0 values") when func g comes after it. References are the
// identifiers the parser resolved to the file's package-level variables
// and functions (a composite literal key may be a field name: it only
// orders); a selector x.m may refer to any method m declared in the file,
// the type of x being unknown without a type check: such a reference
// orders too, but a cycle through one is not reported, and it does not
// keep a variable from being initialized when no other is ready. A cycle
// through identifiers is an error, as in Go. Variables of earlier cells
// are not in the file: they were initialized when their cells ran (a
// declaration that uses one directly is evaluated with the statements,
// see varChunks).

// initUnit is what one var spec, or one name of it, initializes.
type initUnit struct {
	spec  *ast.ValueSpec // the spec, split when it has one value per name
	names []string
	pos   token.Pos
	// exact are the units it depends on through identifiers, approx
	// those through selectors of methods as well.
	exact, approx map[*initUnit]bool
	done          bool
}

// initGraph is the dependency graph of a file's package-level variables.
type initGraph struct {
	units   []*initUnit
	byName  map[string]*initUnit
	specs   map[*ast.ValueSpec][]*initUnit
	funcs   map[string]*ast.FuncDecl   // functions by name
	methods map[string][]*ast.FuncDecl // methods by name
	// refs caches the references of functions and methods, by FuncDecl.
	refs map[*ast.FuncDecl]*initRefs
}

// initRefs are the references of one expression or function body.
type initRefs struct {
	vars    []string // package-level variables, in order of appearance
	funcs   []string // functions
	methods []string // possible methods (selectors)
	keyVars []string // variables named by composite literal keys
}

// orderVarInit moves the var declarations of f to its end, in Go's
// initialization order, or reports an initialization cycle.
func orderVarInit(fset *token.FileSet, f *ast.File) error {
	if f == nil {
		return nil
	}
	g := newInitGraph(f)
	if err := g.cycleError(fset); err != nil || !g.initialized() {
		return err
	}
	g.rewrite(fset, f, g.order())
	return nil
}

// initialized reports whether a variable of the graph has an
// initialization expression.
func (g *initGraph) initialized() bool {
	for _, u := range g.units {
		if len(u.spec.Values) > 0 {
			return true
		}
	}
	return false
}

// newInitGraph builds the graph of f's variables.
func newInitGraph(f *ast.File) *initGraph {
	g := &initGraph{byName: map[string]*initUnit{}, specs: map[*ast.ValueSpec][]*initUnit{},
		funcs: map[string]*ast.FuncDecl{}, methods: map[string][]*ast.FuncDecl{}, refs: map[*ast.FuncDecl]*initRefs{}}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil {
				g.methods[d.Name.Name] = append(g.methods[d.Name.Name], d)
			} else if d.Name.Name != "init" && d.Name.Name != "_" {
				g.funcs[d.Name.Name] = d
			}
		case *ast.GenDecl:
			if d.Tok != token.VAR {
				continue
			}
			for _, sp := range d.Specs {
				vs := sp.(*ast.ValueSpec)
				if len(vs.Values) > 1 && len(vs.Values) == len(vs.Names) {
					for _, n := range vs.Names {
						g.add(vs, []*ast.Ident{n}, n.Pos())
					}
					continue
				}
				g.add(vs, vs.Names, vs.Pos())
			}
		}
	}
	for _, u := range g.units {
		u.exact, u.approx = map[*initUnit]bool{}, map[*initUnit]bool{}
		for _, e := range g.values(u) {
			g.deps(g.exprRefs(e), u)
		}
	}
	return g
}

// add records a unit of spec vs for names.
func (g *initGraph) add(vs *ast.ValueSpec, names []*ast.Ident, pos token.Pos) {
	u := &initUnit{spec: vs, pos: pos}
	for _, n := range names {
		u.names = append(u.names, n.Name)
		if n.Name != "_" {
			g.byName[n.Name] = u
		}
	}
	g.units = append(g.units, u)
	g.specs[vs] = append(g.specs[vs], u)
}

// values returns the initialization expressions of a unit.
func (g *initGraph) values(u *initUnit) []ast.Expr {
	units := g.specs[u.spec]
	if len(units) > 1 {
		for i, v := range units {
			if v == u {
				return []ast.Expr{u.spec.Values[i]}
			}
		}
	}
	return u.spec.Values
}

// isPkgVar reports whether id was resolved to a package-level variable of
// the file, isPkgFunc to one of its functions.
func (g *initGraph) isPkgVar(id *ast.Ident) bool {
	if id.Obj == nil || id.Obj.Kind != ast.Var {
		return false
	}
	vs, ok := id.Obj.Decl.(*ast.ValueSpec)
	return ok && g.specs[vs] != nil
}

func (g *initGraph) isPkgFunc(id *ast.Ident) bool {
	if id.Obj == nil || id.Obj.Kind != ast.Fun {
		return false
	}
	fd, ok := id.Obj.Decl.(*ast.FuncDecl)
	return ok && g.funcs[id.Name] == fd
}

// exprRefs returns the references of a node. A key of a composite
// literal may be a field name that the parser resolved to a variable: it
// only orders (approx).
func (g *initGraph) exprRefs(n ast.Node) *initRefs {
	r := &initRefs{}
	keys := map[*ast.Ident]bool{}
	ast.Inspect(n, func(m ast.Node) bool {
		switch x := m.(type) {
		case *ast.CompositeLit:
			for _, e := range x.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok {
						keys[id] = true
					}
				}
			}
		case *ast.Ident:
			switch {
			case keys[x]:
				if g.isPkgVar(x) {
					r.keyVars = append(r.keyVars, x.Name)
				}
			case g.isPkgVar(x):
				r.vars = append(r.vars, x.Name)
			case g.isPkgFunc(x):
				r.funcs = append(r.funcs, x.Name)
			}
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Obj == nil {
				return false // a package's member, or a value of an earlier cell
			}
			if len(g.methods[x.Sel.Name]) > 0 {
				r.methods = append(r.methods, x.Sel.Name)
			}
		}
		return true
	})
	return r
}

// funcRefs returns the references of a function's body, once.
func (g *initGraph) funcRefs(fd *ast.FuncDecl) *initRefs {
	if r, ok := g.refs[fd]; ok {
		return r
	}
	r := &initRefs{}
	if fd.Body != nil {
		r = g.exprRefs(fd.Body)
	}
	g.refs[fd] = r
	return r
}

// deps adds to u the variables that r refers to, directly or through
// functions (exact), and through methods as well (approx).
func (g *initGraph) deps(r *initRefs, u *initUnit) {
	var walk func(r *initRefs, withMethods bool, seen map[*ast.FuncDecl]bool, out map[*initUnit]bool)
	walk = func(r *initRefs, withMethods bool, seen map[*ast.FuncDecl]bool, out map[*initUnit]bool) {
		vars := r.vars
		if withMethods {
			vars = append(append([]string(nil), vars...), r.keyVars...)
		}
		for _, n := range vars {
			if v := g.byName[n]; v != nil {
				out[v] = true
			}
		}
		var fds []*ast.FuncDecl
		for _, n := range r.funcs {
			fds = append(fds, g.funcs[n])
		}
		if withMethods {
			for _, n := range r.methods {
				fds = append(fds, g.methods[n]...)
			}
		}
		for _, fd := range fds {
			if fd != nil && !seen[fd] {
				seen[fd] = true
				walk(g.funcRefs(fd), withMethods, seen, out)
			}
		}
	}
	walk(r, false, map[*ast.FuncDecl]bool{}, u.exact)
	walk(r, true, map[*ast.FuncDecl]bool{}, u.approx)
}

// order returns the units in Go's initialization order: repeatedly the
// earliest one ready. When none is ready for the approximate graph (a
// cycle through a method that may not be one), the earliest one ready
// for the exact graph, which has no cycle.
func (g *initGraph) order() []*initUnit {
	ready := func(u *initUnit, deps map[*initUnit]bool) bool {
		for d := range deps {
			if d != u && !d.done {
				return false
			}
		}
		return true
	}
	out := make([]*initUnit, 0, len(g.units))
	for len(out) < len(g.units) {
		var next *initUnit
		for _, exact := range []bool{false, true} {
			for _, u := range g.units {
				deps := u.approx
				if exact {
					deps = u.exact
				}
				if !u.done && ready(u, deps) {
					next = u
					break
				}
			}
			if next != nil {
				break
			}
		}
		if next == nil { // a cycle: reported before
			for _, u := range g.units {
				if !u.done {
					next = u
					break
				}
			}
		}
		next.done = true
		out = append(out, next)
	}
	return out
}

// cycleError reports the first variable, in declaration order, that
// depends on itself through identifiers, with the references that make
// the cycle, as Go does: "initialization cycle: a refers to f, f refers
// to a".
func (g *initGraph) cycleError(fset *token.FileSet) error {
	for _, u := range g.units {
		if !g.inCycle(u) {
			continue
		}
		name := u.names[0]
		for _, n := range u.names {
			if n != "_" {
				name = n
				break
			}
		}
		path := g.cyclePath(u)
		var steps []string
		if len(path) == 0 {
			steps = []string{name + " refers to itself"}
		}
		from := name
		for _, to := range path {
			steps = append(steps, from+" refers to "+to)
			from = to
		}
		p := fset.Position(u.pos)
		return fmt.Errorf("%s:%d:%d: initialization cycle: %s", p.Filename, p.Line, p.Column, strings.Join(steps, ", "))
	}
	return nil
}

// inCycle reports whether u depends on itself, directly or through other
// variables.
func (g *initGraph) inCycle(u *initUnit) bool {
	seen := map[*initUnit]bool{}
	queue := []*initUnit{u}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for w := range v.exact {
			if w == u {
				return true
			}
			if !seen[w] {
				seen[w] = true
				queue = append(queue, w)
			}
		}
	}
	return false
}

// cyclePath returns the names of a shortest chain of references from u
// back to u through functions and variables ([] for a direct reference to
// itself, nil if there is none).
func (g *initGraph) cyclePath(u *initUnit) []string {
	type node struct {
		unit *initUnit
		fd   *ast.FuncDecl
	}
	succ := func(n node) []node {
		var r *initRefs
		if n.fd != nil {
			r = g.funcRefs(n.fd)
		} else {
			r = &initRefs{}
			for _, e := range g.values(n.unit) {
				x := g.exprRefs(e)
				r.vars = append(r.vars, x.vars...)
				r.funcs = append(r.funcs, x.funcs...)
			}
		}
		var out []node
		for _, v := range r.vars {
			if w := g.byName[v]; w != nil {
				out = append(out, node{unit: w})
			}
		}
		for _, f := range r.funcs {
			if fd := g.funcs[f]; fd != nil {
				out = append(out, node{fd: fd})
			}
		}
		return out
	}
	nameOf := func(n node) string {
		if n.fd != nil {
			return n.fd.Name.Name
		}
		for _, s := range n.unit.names {
			if s != "_" {
				return s
			}
		}
		return "_"
	}
	// Breadth first from u, back to u.
	prev := map[node]node{}
	start := node{unit: u}
	queue := []node{start}
	seen := map[node]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range succ(n) {
			if m == start {
				var path []string
				for c := n; c != start; c = prev[c] {
					path = append([]string{nameOf(c)}, path...)
				}
				if n == start {
					return []string{}
				}
				return append(path, nameOf(start))
			}
			if !seen[m] {
				seen[m] = true
				prev[m] = n
				queue = append(queue, m)
			}
		}
	}
	return nil
}

// rewrite replaces the var declarations of f with one declaration per
// unit, in order, where the first of them was.
func (g *initGraph) rewrite(fset *token.FileSet, f *ast.File, order []*initUnit) {
	var decls []ast.Decl
	for _, u := range order {
		sp := u.spec
		if units := g.specs[sp]; len(units) > 1 {
			for i, v := range units {
				if v != u {
					continue
				}
				typ := sp.Type
				if typ != nil && i > 0 {
					typ = cloneExpr(fset, typ)
				}
				sp = &ast.ValueSpec{Names: []*ast.Ident{sp.Names[i]}, Type: typ, Values: []ast.Expr{sp.Values[i]}}
			}
		}
		decls = append(decls, &ast.GenDecl{TokPos: u.pos, Tok: token.VAR, Specs: []ast.Spec{sp}})
	}
	var out []ast.Decl
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.VAR {
			continue
		}
		out = append(out, d)
	}
	f.Decls = append(out, decls...)
}
