package goeval

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/traefik/yaegi/interp"
)

// The compiled half of the interpreted errors helpers (stdsrc/errors.go.txt,
// see typed_errors.go): what interpreted code cannot do with compiled
// values in yaegi v0.16, which type-asserts a compiled value to an
// interpreted interface type never.

// errsPath is the import path of the compiled helpers.
const errsPath = "github.com/mpigo/mpigo/goeval/errs"

// newErrsSymbols returns the compiled helpers of an interpreter.
func newErrsSymbols() interp.Exports {
	r := &boxRegistry{m: map[boxKey]*errMethod{}}
	return interp.Exports{errsPath + "/errs": {
		"Box":        reflect.ValueOf(r.box),
		"Concrete":   reflect.ValueOf(errConcrete),
		"BoxOf":      reflect.ValueOf(errBoxOf),
		"Equal":      reflect.ValueOf(errEqual),
		"Unwrap":     reflect.ValueOf(errUnwrap),
		"IsMethod":   reflect.ValueOf(errIsMethod),
		"AsMethod":   reflect.ValueOf(errAsMethod),
		"Implements": reflect.ValueOf(errImplements),
		"NilTarget":  reflect.ValueOf(errNilTarget),
	}}
}

// errBox is an error of a session type as compiled code holds it. yaegi's
// own wrapper (interp._error) holds, for a struct type without methods in
// reflect, which all interpreted struct types are, the last non-zero field
// instead of the struct (getConcreteValue takes the struct for an
// emulated interface): a type assertion to the struct type fails on it;
// and it holds a func: no two are comparable. A box holds the value
// itself, in a field named as yaegi's wrappers name it, so that yaegi's
// type assertions look inside it, and the Error method of its type, the
// same for all values of the type: two boxes are equal when their values
// are, as two errors are in Go.
type errBox struct {
	IValue any
	m      *errMethod
}

// errMethod is the Error method of a session type, as a function of a
// value of the type (yaegi's method expressions cannot be called from
// compiled code).
type errMethod struct {
	fn   func(any) string
	name string // the session type, as the rewrite wrote it ("*NotFound")
}

// Error implements error.
func (b errBox) Error() string { return b.m.fn(b.IValue) }

// boxKey identifies a session type: its reflect type (the same for two
// session struct types with the same fields) and its name.
type boxKey struct {
	t    reflect.Type
	name string
}

// boxRegistry holds the Error methods of the session's types, once each.
type boxRegistry struct {
	mu sync.Mutex
	m  map[boxKey]*errMethod
}

// box returns v, of the session type named name whose Error method
// errorFn calls, as an error.
func (r *boxRegistry) box(v any, name string, errorFn func(any) string) error {
	k := boxKey{reflect.TypeOf(v), name}
	r.mu.Lock()
	m := r.m[k]
	if m == nil {
		m = &errMethod{errorFn, name}
		r.m[k] = m
	}
	r.mu.Unlock()
	return errBox{v, m}
}

// errBoxOf returns the value v holds if it is a box of the session type
// name (as the rewrite writes it), and whether it is: yaegi's type
// assertions on an interface{} do not look inside a box (see
// typeswitch.go), and fail on what one holds when it is an empty struct.
func errBoxOf(v any, name string) (any, bool) {
	if b, ok := v.(errBox); ok && b.m.name == name {
		return b.IValue, true
	}
	return nil, false
}

// errConcrete returns the value of a session type that e holds (in a box
// or a wrapper of yaegi's), or e.
func errConcrete(e error) any {
	v := reflect.ValueOf(e)
	if v.Kind() == reflect.Struct && v.NumField() > 0 && v.Type().Field(0).Name == "IValue" {
		if f := v.Field(0); f.CanInterface() {
			return f.Interface()
		}
	}
	return e
}

// errEqual reports whether a and b hold the same comparable value, as
// err == target does in errors.Is.
func errEqual(a, b error) bool {
	x, y := errConcrete(a), errConcrete(b)
	if x == nil || y == nil {
		return x == nil && y == nil
	}
	t := reflect.TypeOf(x)
	if t != reflect.TypeOf(y) || !t.Comparable() {
		return false
	}
	return x == y
}

// errUnwrap returns what e's Unwrap method returns, for a compiled e: one
// error (n = 1) or a list (n = 2); n = 0 when it has no such method.
func errUnwrap(e error) (one error, many []error, n int) {
	switch x := e.(type) {
	case interface{ Unwrap() error }:
		return x.Unwrap(), nil, 1
	case interface{ Unwrap() []error }:
		return nil, x.Unwrap(), 2
	}
	return nil, nil, 0
}

// errIsMethod calls the Is method of a compiled e; has is false when it
// has none.
func errIsMethod(e, target error) (is, has bool) {
	if x, ok := e.(interface{ Is(error) bool }); ok {
		return x.Is(target), true
	}
	return false, false
}

// errAsMethod calls the As method of a compiled e.
func errAsMethod(e error, target any) (as, has bool) {
	if x, ok := e.(interface{ As(any) bool }); ok {
		return x.As(target), true
	}
	return false, false
}

// errImplements reports whether a compiled value has the methods of an
// interface, given as "Name func(params) results" with types named by
// their packages' names, as reflect writes them; when it does, it panics
// if the interface is the session's (iface names it): yaegi cannot store
// a compiled value in a variable of an interpreted interface type.
func errImplements(v any, methods []string, iface string) bool {
	if v == nil {
		return false
	}
	rv := reflect.ValueOf(v)
	for _, m := range methods {
		name, sig, _ := strings.Cut(m, " ")
		f := rv.MethodByName(name)
		if !f.IsValid() || f.Type().String() != sig {
			return false
		}
	}
	if iface != "" {
		panic(fmt.Sprintf("errors.As: the error %T has the methods of %s, but mpigo cannot store a value of a compiled type in a variable of an interface type that cells declare (a limit of the interpreter, yaegi)", v, iface))
	}
	return true
}

// errNilTarget reports whether the target of errors.As is not a non-nil
// pointer.
func errNilTarget(target any) bool {
	v := reflect.ValueOf(target)
	return v.Kind() != reflect.Pointer || v.IsNil()
}

// errorsPkg is the interpreted package of the errors helpers.
const errorsPkg = "__mpigo_errors"
