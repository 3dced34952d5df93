package goeval

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// The variables that statements defined in earlier cells have no
// declaration to type-check. Their types come, in order of preference,
// from the type check of the cell that last defined them (recorded by
// noteDefines, as Go source), or from their values: reflect gives the
// static type of a variable of the interpreter for types made of
// predeclared types, types of compiled packages and interfaces any and
// error; it does not know the interpreter's own types (their structs and
// interfaces have no usable reflect type, and a named type is seen as its
// underlying type). A variable typed from its value is unsure when a
// component of its type could be one of the session's named types: the
// declarations that use it give no facts (see markUnsure). A variable that
// cannot be typed is not declared: code that uses it fails to type-check,
// and is compiled as it is.

// noteDefines records, after a statement group of cell c compiled, the
// types of the variables it defines, for the checks of later cells: the
// type the cell's check found, or else the cell, to type-check when a
// later check needs one of its variables (see recheck).
func (s *Session) noteDefines(c *cellCode, names []string) {
	ts := s.typeState()
	var pc *cellCode
	for _, n := range names {
		ts.defCell[n] = c.no
		if r, ok := c.typed.definedType(n); ok {
			ts.vars[n] = r
			delete(ts.pending, n)
			continue
		}
		delete(ts.vars, n)
		if pc == nil {
			pc = c.source()
		}
		ts.pending[n] = pc
	}
}

// source returns the parts of a cell that a type check uses, without its
// syntax trees.
func (c *cellCode) source() *cellCode {
	return &cellCode{no: c.no, src: c.src, chunks: c.chunks, imports: c.imports, decls: c.decls,
		declared: c.declared, defines: c.defines, generics: c.generics}
}

// recheck type-checks, in the session as it is now, the cell that last
// defined variable n when it was not checked then, and records the types
// of its variables that no later cell defined again; it reports whether n
// has a recorded type now. A type is kept only if it agrees with the
// variable's value (the session's declarations may have changed since).
// Each cell is checked this way at most once.
func (ck *check) recheck(n string) bool {
	ts := ck.ts
	pc := ts.pending[n]
	if pc == nil || ts.rechecking[pc.no] {
		return false
	}
	ts.rechecking[pc.no] = true
	defer delete(ts.rechecking, pc.no)
	for m, c := range ts.pending {
		if c == pc {
			delete(ts.pending, m)
		}
	}
	facts := ck.s.typeCheck(pc, ck.s.newTypedScan(pc))
	for m, r := range facts.defs {
		if ts.defCell[m] != pc.no || !ck.s.varSet[m] {
			continue
		}
		v, err := ck.s.evalExpr(m)
		if err != nil || !v.IsValid() || !reflectAgrees(facts.defTypes[m], v.Type(), 0) {
			continue
		}
		ts.vars[m] = r
	}
	_, ok := ts.vars[n]
	return ok
}

// basicKinds are the reflect kinds of the basic types.
var basicKinds = map[types.BasicKind]reflect.Kind{
	types.Bool: reflect.Bool, types.Int: reflect.Int, types.Int8: reflect.Int8, types.Int16: reflect.Int16,
	types.Int32: reflect.Int32, types.Int64: reflect.Int64, types.Uint: reflect.Uint, types.Uint8: reflect.Uint8,
	types.Uint16: reflect.Uint16, types.Uint32: reflect.Uint32, types.Uint64: reflect.Uint64,
	types.Uintptr: reflect.Uintptr, types.Float32: reflect.Float32, types.Float64: reflect.Float64,
	types.Complex64: reflect.Complex64, types.Complex128: reflect.Complex128, types.String: reflect.String,
	types.UnsafePointer: reflect.UnsafePointer,
}

// reflectAgrees reports whether a value of reflect type rt can have the
// static type t: the same kinds, element by element, fields and
// parameters counted (interfaces agree with anything: the interpreter
// represents its own with a struct).
func reflectAgrees(t types.Type, rt reflect.Type, depth int) bool {
	if t == nil {
		return false
	}
	if depth > 4 {
		return true
	}
	agree := func(t types.Type, rt reflect.Type) bool { return reflectAgrees(t, rt, depth+1) }
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return basicKinds[u.Kind()] == rt.Kind()
	case *types.Pointer:
		return rt.Kind() == reflect.Pointer && agree(u.Elem(), rt.Elem())
	case *types.Slice:
		return rt.Kind() == reflect.Slice && agree(u.Elem(), rt.Elem())
	case *types.Array:
		return rt.Kind() == reflect.Array && int64(rt.Len()) == u.Len() && agree(u.Elem(), rt.Elem())
	case *types.Map:
		return rt.Kind() == reflect.Map && agree(u.Key(), rt.Key()) && agree(u.Elem(), rt.Elem())
	case *types.Chan:
		return rt.Kind() == reflect.Chan && agree(u.Elem(), rt.Elem())
	case *types.Signature:
		return rt.Kind() == reflect.Func && rt.NumIn() == u.Params().Len() && rt.NumOut() == u.Results().Len()
	case *types.Struct:
		if rt.Kind() != reflect.Struct || rt.NumField() != u.NumFields() {
			return false
		}
		for i := range u.NumFields() {
			if !agree(u.Field(i).Type(), rt.Field(i).Type) {
				return false
			}
		}
		return true
	case *types.Interface:
		return true
	}
	return false
}

// definedType returns the recorded type of a variable the cell defines.
func (f *typedFacts) definedType(name string) (varRecord, bool) {
	if f == nil {
		return varRecord{}, false
	}
	r, ok := f.defs[name]
	return r, ok
}

// sessionVars returns the declarations of the session variables that refs
// names and that the check does not declare otherwise: a file of those
// with recorded types, and the reflect types of the others.
func (ck *check) sessionVars(refs map[string]bool) (*ast.File, map[string]reflect.Type, error) {
	declared := map[string]bool{}
	for _, f := range ck.files[:1] { // the stored declarations
		for n := range f.Scope.Objects {
			declared[n] = true
		}
	}
	if ck.c != nil {
		for _, d := range ck.c.decls {
			for _, n := range d.names {
				if !d.stmt {
					declared[n] = true
				}
			}
		}
	}
	var text strings.Builder
	imports := map[string]string{}
	values := map[string]reflect.Type{}
	for _, n := range ck.s.vars {
		if !refs[n] || declared[n] || !ck.s.varSet[n] {
			continue
		}
		r, ok := ck.ts.vars[n]
		if !ok && ck.recheck(n) {
			r, ok = ck.ts.vars[n]
		}
		if ok {
			// Aliases are renumbered so that records do not clash.
			typ := r.typ
			for a, p := range r.imports {
				b := "__mpigo_v" + strconv.Itoa(len(imports))
				imports[b] = p
				typ = strings.ReplaceAll(typ, a+".", b+".")
			}
			text.WriteString("var " + n + " " + typ + "\n")
			continue
		}
		if v, err := ck.s.evalExpr(n); err == nil && v.IsValid() {
			values[n] = v.Type()
		}
	}
	if text.Len() == 0 {
		return nil, values, nil
	}
	f, err := parser.ParseFile(ck.fset, "vars.go", "package main;"+importText(imports, nil)+"\n"+text.String(), 0)
	if err != nil {
		return nil, nil, err
	}
	return f, values, nil
}

// reflectPaths returns the packages of the named types reflect types use.
func reflectPaths(ts map[string]reflect.Type) map[string]bool {
	paths := map[string]bool{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		if t.PkgPath() != "" {
			paths[t.PkgPath()] = true
			return
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Func:
			for i := range t.NumIn() {
				walk(t.In(i))
			}
			for i := range t.NumOut() {
				walk(t.Out(i))
			}
		}
	}
	for _, t := range ts {
		walk(t)
	}
	return paths
}

// markUnsure records the uses of the variables typed
// from their values whose type has a component that could be a named type
// of the session seen as its underlying type.
func (ck *check) markUnsure() {
	var patterns []types.Type
	scope := ck.pkg.Scope()
	for _, n := range scope.Names() {
		if tn, ok := scope.Lookup(n).(*types.TypeName); ok && !tn.IsAlias() {
			patterns = append(patterns, tn.Type().Underlying())
		}
	}
	if len(patterns) == 0 || len(ck.reflectedObjs) == 0 {
		return
	}
	unsure := map[types.Object]bool{}
	for obj := range ck.reflectedObjs {
		for _, c := range components(obj.Type()) {
			for _, p := range patterns {
				if shapeMatch(c, p) {
					unsure[obj] = true
				}
			}
		}
	}
	for id, obj := range ck.info.Uses {
		if unsure[obj] {
			ck.unsure = append(ck.unsure, id.Pos())
		}
	}
}

// components returns t and the types it is made of (not looking into
// named types: those come from compiled packages).
func components(t types.Type) []types.Type {
	out := []types.Type{t}
	switch t := t.(type) {
	case *types.Pointer:
		out = append(out, components(t.Elem())...)
	case *types.Slice:
		out = append(out, components(t.Elem())...)
	case *types.Array:
		out = append(out, components(t.Elem())...)
	case *types.Chan:
		out = append(out, components(t.Elem())...)
	case *types.Map:
		out = append(out, components(t.Key())...)
		out = append(out, components(t.Elem())...)
	case *types.Signature:
		for _, tu := range []*types.Tuple{t.Params(), t.Results()} {
			for i := range tu.Len() {
				out = append(out, components(tu.At(i).Type())...)
			}
		}
	}
	return out
}

// shapeMatch reports whether t could be the type p, in which type
// parameters stand for any type (p is the underlying type of a named type
// of the session, possibly generic).
func shapeMatch(t, p types.Type) bool {
	if _, ok := p.(*types.TypeParam); ok {
		return true
	}
	switch p := p.(type) {
	case *types.Pointer:
		t, ok := t.(*types.Pointer)
		return ok && shapeMatch(t.Elem(), p.Elem())
	case *types.Slice:
		t, ok := t.(*types.Slice)
		return ok && shapeMatch(t.Elem(), p.Elem())
	case *types.Array:
		t, ok := t.(*types.Array)
		return ok && t.Len() == p.Len() && shapeMatch(t.Elem(), p.Elem())
	case *types.Chan:
		t, ok := t.(*types.Chan)
		return ok && t.Dir() == p.Dir() && shapeMatch(t.Elem(), p.Elem())
	case *types.Map:
		t, ok := t.(*types.Map)
		return ok && shapeMatch(t.Key(), p.Key()) && shapeMatch(t.Elem(), p.Elem())
	case *types.Signature:
		t, ok := t.(*types.Signature)
		return ok && t.Variadic() == p.Variadic() && tupleMatch(t.Params(), p.Params()) && tupleMatch(t.Results(), p.Results())
	case *types.Interface, *types.Struct:
		_, ti := t.(*types.Interface)
		_, ts := t.(*types.Struct)
		return ti || ts // the interpreter's own are not converted anyway
	}
	return types.Identical(t, p)
}

// tupleMatch applies shapeMatch to the types of two tuples.
func tupleMatch(t, p *types.Tuple) bool {
	if t.Len() != p.Len() {
		return false
	}
	for i := range t.Len() {
		if !shapeMatch(t.At(i).Type(), p.At(i).Type()) {
			return false
		}
	}
	return true
}

// declareReflected converts the reflect types of session variables and
// declares those that convert in the package scope.
func (ck *check) declareReflected(values map[string]reflect.Type) {
	conv := &reflectTypes{imp: ck.ts.importer}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t, ok := conv.convert(values[n], ck.pkg)
		if !ok {
			continue
		}
		v := types.NewVar(token.NoPos, ck.pkg, n, t)
		ck.pkg.Scope().Insert(v)
		ck.reflectedObjs[v] = true
	}
}
