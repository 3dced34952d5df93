package goeval

import (
	"bytes"
	"context"
	"encoding"
	"encoding/gob"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"reflect"
	"strings"
)

// CarriedVar is a session variable encoded to be carried into another
// interpreter.
type CarriedVar struct {
	Name string
	// Type is the Go type as a cell would write it ("[]float64",
	// "*mat.Dense", "Point" for a type declared in a cell). It is "" for a
	// variable of a var declaration that gives no type, when the value
	// cannot tell: the replayed declarations declare it.
	Type string
	// Value is the gob encoding of the value; nil for a nil pointer, map,
	// slice or interface, which the importing session leaves at its zero
	// value.
	Value []byte
}

// LostVar is a variable that could not be carried, and why.
type LostVar struct{ Name, Why string }

// ExportVars encodes the session's variables (those statements defined and
// those declared by var) to be carried into another interpreter, with the
// ones it cannot carry and why. gob carries values of basic types, slices,
// arrays, maps, pointers and structs of those (structs declared in cells
// included: the interpreter renames their unexported fields, which gob
// then sees), and values of compiled types that implement gob.GobEncoder
// or encoding.BinaryMarshaler.
func (s *Session) ExportVars() ([]CarriedVar, []LostVar) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CarriedVar
	var lost []LostVar
	for _, n := range s.varNames() {
		cv, why := s.exportVar(n)
		if why != "" {
			lost = append(lost, LostVar{Name: n, Why: why})
			continue
		}
		out = append(out, cv)
	}
	return out, lost
}

// varNames returns the session's variables: those declared by var (in
// first-declaration order), then those statements defined.
func (s *Session) varNames() []string {
	var names []string
	seen := map[string]bool{"_": true}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, e := range s.store.list() {
		if e.Kind == "var" {
			for _, n := range e.names {
				add(n)
			}
		}
	}
	for _, n := range s.vars {
		if s.varSet[n] {
			add(n)
		}
	}
	return names
}

// exportVar encodes variable n, or says why it cannot.
func (s *Session) exportVar(n string) (CarriedVar, string) {
	v, err := s.evalExpr(n)
	if err != nil {
		return CarriedVar{}, "its value could not be read: " + cleanPositions(err.Error())
	}
	if !v.IsValid() {
		return CarriedVar{}, "its value could not be read"
	}
	typ, why := s.carriedType(n, v.Type())
	if why != "" {
		return CarriedVar{}, why
	}
	return encodeCarried(n, typ, v)
}

// encodeCarried gob-encodes v, of type typ as a cell writes it, as the
// variable name; or says why it cannot. A nil pointer, map or slice
// travels as an empty Value.
func encodeCarried(name, typ string, v reflect.Value) (CarriedVar, string) {
	if why := notCarriable(v.Type(), "", map[reflect.Type]bool{}); why != "" {
		return CarriedVar{}, why
	}
	cv := CarriedVar{Name: name, Type: typ}
	if isNilValue(v) {
		return cv, ""
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).EncodeValue(v); err != nil {
		return CarriedVar{}, "gob cannot encode it: " + err.Error()
	}
	cv.Value = b.Bytes()
	return cv, ""
}

// isNilValue reports whether v is a nil pointer, map, slice or interface,
// which gob does not encode at the top level.
func isNilValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}

var (
	gobEncoderType = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshal  = reflect.TypeFor[encoding.BinaryMarshaler]()
)

// notCarriable says why gob cannot carry values of type t from one
// interpreter to another ("" if it can); at names the part of the value
// ("" for the variable itself, ".f", "[key]").
func notCarriable(t reflect.Type, at string, seen map[reflect.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	compiled := t.PkgPath() != ""
	if compiled && (t.Implements(gobEncoderType) || reflect.PointerTo(t).Implements(gobEncoderType) ||
		t.Implements(binaryMarshal) || reflect.PointerTo(t).Implements(binaryMarshal)) {
		return ""
	}
	what := "it"
	if at != "" {
		what = "its part " + at
	}
	switch t.Kind() {
	case reflect.Func:
		return what + " is a func, which cannot be encoded"
	case reflect.Chan:
		return what + " is a channel, which cannot be encoded"
	case reflect.UnsafePointer, reflect.Uintptr:
		return what + " is a raw pointer, which means nothing in another process"
	case reflect.Interface:
		return what + " is an interface value: its dynamic type cannot be carried"
	case reflect.Pointer, reflect.Slice, reflect.Array:
		elem := "[]"
		if t.Kind() == reflect.Pointer {
			elem = "*"
		}
		return notCarriable(t.Elem(), at+elem, seen)
	case reflect.Map:
		if why := notCarriable(t.Key(), at+"[key]", seen); why != "" {
			return why
		}
		return notCarriable(t.Elem(), at+"[value]", seen)
	case reflect.Struct:
		return structNotCarriable(t, at, what, seen)
	}
	return ""
}

// structNotCarriable is notCarriable for a struct type.
func structNotCarriable(t reflect.Type, at, what string, seen map[reflect.Type]bool) string {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			// Only compiled structs have them: the interpreter exports
			// the fields of its own ("Xname" for name).
			return fmt.Sprintf("%s is a %s, whose field %s is unexported: gob would lose it", what, t, f.Name)
		}
		if why := notCarriable(f.Type, at+"."+fieldName(f.Name), seen); why != "" {
			return why
		}
	}
	return ""
}

// carriedType returns the type of variable n (of reflect type rt) as a cell
// writes it, or why it is unknown: the type its cell's type check found,
// else the reflect type when it cannot be one of the session's types
// (reflect sees those as their underlying types).
func (s *Session) carriedType(n string, rt reflect.Type) (string, string) {
	ts := s.typeState()
	r, ok := ts.vars[n]
	if !ok && ts.pending[n] != nil {
		ck := &check{s: s, ts: ts}
		if ck.recheck(n) {
			r, ok = ts.vars[n]
		}
	}
	if ok {
		typ := r.typ
		for alias, p := range r.imports {
			typ = strings.ReplaceAll(typ, alias+".", s.importName(p)+".")
		}
		return typ, ""
	}
	if typ, ok := s.declaredType(n); ok {
		return typ, ""
	}
	if !s.declaresTypes() {
		return s.reflectTypeText(rt), ""
	}
	if e := s.store.lookup(n); e != nil && e.Kind == "var" {
		return "", "" // the replayed declarations declare it
	}
	return "", "its type is unknown (its cell was not type-checked) and could be one of the session's types"
}

// declaredType returns the type a var declaration of the store writes for
// n, if it writes one.
func (s *Session) declaredType(n string) (string, bool) {
	e := s.store.lookup(n)
	if e == nil || e.Kind != "var" {
		return "", false
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+e.Src, parser.SkipObjectResolution)
	if err != nil {
		return "", false
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, sp := range g.Specs {
			vs, ok := sp.(*ast.ValueSpec)
			if !ok || vs.Type == nil {
				continue
			}
			for _, id := range vs.Names {
				if id.Name == n {
					return types.ExprString(vs.Type), true
				}
			}
		}
	}
	return "", false
}

// declaresTypes reports whether the session declares types.
func (s *Session) declaresTypes() bool {
	for _, e := range s.store.list() {
		if e.Kind == "type" {
			return true
		}
	}
	return false
}

// importName returns the name cells use for the package of path: the
// session's import, else its name.
func (s *Session) importName(path string) string {
	for name, p := range s.imports {
		if p == path {
			return name
		}
	}
	if p := packages().byPath[path]; p != nil {
		return p.name
	}
	return defaultName(path)
}

// reflectTypeText writes a reflect type as a cell would, packages named as
// the session imports them.
func (s *Session) reflectTypeText(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		return s.importName(t.PkgPath()) + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + s.reflectTypeText(t.Elem())
	case reflect.Slice:
		return "[]" + s.reflectTypeText(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), s.reflectTypeText(t.Elem()))
	case reflect.Map:
		return "map[" + s.reflectTypeText(t.Key()) + "]" + s.reflectTypeText(t.Elem())
	}
	return t.String()
}

// ImportVars declares, after the declarations were replayed, each variable
// that is not declared yet, and decodes its value into it; it returns the
// variables it could not carry, and why.
func (s *Session) ImportVars(vars []CarriedVar) []LostVar {
	var lost []LostVar
	for _, v := range vars {
		if why := s.importVar(v); why != "" {
			lost = append(lost, LostVar{Name: v.Name, Why: why})
		}
	}
	return lost
}

// importVar declares and sets one variable, or says why it could not.
func (s *Session) importVar(v CarriedVar) string {
	s.mu.Lock()
	declared := s.isVar(v.Name)
	s.mu.Unlock()
	if !declared {
		// A statement, not a declaration: the variable is one statements
		// set, as it was, and %mpirun does not compile it.
		if _, err := s.Eval(context.Background(), 0, v.Name+" := *new("+v.Type+")"); err != nil {
			return "it could not be declared: " + err.Error()
		}
	}
	if len(v.Value) == 0 {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.evalExpr("&" + v.Name)
	if err != nil || p.Kind() != reflect.Pointer {
		return "its address could not be taken"
	}
	// gob leaves out zero fields and merges into maps: the value the
	// replayed declaration gave must not show through.
	p.Elem().Set(reflect.Zero(p.Elem().Type()))
	if err := gob.NewDecoder(bytes.NewReader(v.Value)).DecodeValue(p); err != nil {
		return "gob cannot decode it into a " + v.Type + ": " + err.Error()
	}
	return ""
}
