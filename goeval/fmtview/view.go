// Package fmtview prints values of interpreted types as package fmt prints
// the compiled types they stand for.
//
// yaegi hands compiled code a value of an interpreted type as a value of
// its underlying type: fmt sees neither the type's name (%T, %#v) nor its
// methods (String, Error, Format, GoString) on values inside other values,
// and it sees unexported fields renamed. goeval rewrites the arguments of
// fmt's print functions that hold such values into views built here from
// the types go/types gave (see goeval/typed_fmt.go): a View implements
// fmt.Formatter and prints what fmt would print for the compiled type,
// following fmt's rules (print.go: handleMethods, printValue).
package fmtview

import (
	"fmt"
	"reflect"
	"strings"
)

// Methods are the methods of a value that fmt calls, nil where the type
// has none (or where fmt would not call it: an unexported field).
type Methods struct {
	Format   func(fmt.State, rune)
	GoString func() string
	Error    func() string
	String   func() string
	// NilReceiver tells that the value is a nil pointer: a method that
	// panics on it prints "<nil>", as fmt does.
	NilReceiver bool
}

func (m *Methods) any() bool {
	return m.Format != nil || m.GoString != nil || m.Error != nil || m.String != nil
}

// kind is the shape of a view.
type kind int

const (
	scalar   kind = iota // a value fmt prints itself (a number, a string...)
	structK              // fields
	listK                // a slice or an array
	mapK                 // keys and values
	pointer              // &{...} at the top, an address deeper
	nilIface             // a nil interface inside another value
)

// View is a value of an interpreted type, ready for fmt.
type View struct {
	kind    kind
	name    string // the type as fmt's %T writes it: "main.T", "[]main.T"
	methods Methods

	value  any      // scalar: the underlying value; pointer: the raw pointer
	fields []string // struct: field names
	elems  []any    // struct fields, list elements, map values (Views or raw)
	keys   []any    // map keys as printed
	isNil  bool     // a nil slice, map or pointer
	array  bool     // list: an array
	top    bool     // pointer: at the top of an argument (&{...})
	target any      // pointer at the top: what it points to
}

// Scalar returns the view of a value of a named non-composite type, given
// as its underlying value.
func Scalar(name string, value any, m Methods) *View {
	return &View{kind: scalar, name: name, value: value, methods: m}
}

// Struct returns the view of a struct: its field names and values.
func Struct(name string, fields []string, values []any, m Methods) *View {
	return &View{kind: structK, name: name, fields: fields, elems: values, methods: m}
}

// List returns the view of a slice (isNil for a nil one) or of an array.
func List(name string, elems []any, isNil, array bool, m Methods) *View {
	return &View{kind: listK, name: name, elems: elems, isNil: isNil, array: array, methods: m}
}

// Map returns the view of a map: its keys (raw, for the order fmt sorts
// them in), the keys as printed and the values, in any order.
func Map(name string, raw, keys, values []any, isNil bool, m Methods) *View {
	sortByKeys(raw, keys, values)
	return &View{kind: mapK, name: name, keys: keys, elems: values, isNil: isNil, methods: m}
}

// Pointer returns the view of a pointer: raw is the pointer itself (its
// address is printed below the top), target the view of what it points to
// when it is at the top of an argument and points to a struct, an array,
// a slice or a map (nil otherwise).
func Pointer(name string, raw, target any, isNil, top bool, m Methods) *View {
	return &View{kind: pointer, name: name, value: raw, target: target, isNil: isNil, top: top, methods: m}
}

// Nil returns the view of a nil interface of type name inside another
// value (fmt writes "<nil>", or "error(nil)" with %#v).
func Nil(name string) *View {
	return &View{kind: nilIface, name: name}
}

// Values returns its arguments, and Append appends one: the fields and
// elements of a view are collected by compiled code because yaegi gives
// compiled code its own representation of an interface value held in an
// interpreted slice, where an argument becomes the value it holds.
func Values(xs ...any) []any { return xs }

// Append appends x to xs (see Values).
func Append(xs []any, x ...any) []any { return append(xs, x...) }

// Format implements fmt.Formatter.
func (v *View) Format(f fmt.State, verb rune) {
	if v.methods.any() && v.handleMethods(f, verb) {
		return
	}
	sharp := verb == 'v' && f.Flag('#')
	switch v.kind {
	case scalar:
		v.formatScalar(f, verb)
	case structK:
		v.formatStruct(f, verb, sharp)
	case listK:
		v.formatList(f, verb, sharp)
	case mapK:
		v.formatMap(f, verb, sharp)
	case pointer:
		v.formatPointer(f, verb, sharp)
	case nilIface:
		if sharp {
			fmt.Fprint(f, v.name+"(nil)")
		} else {
			fmt.Fprint(f, "<nil>")
		}
	}
}

// formatScalar prints the underlying value, or fmt's bad-verb text with
// the type's name where the verb does not fit the value's kind.
func (v *View) formatScalar(f fmt.State, verb rune) {
	if !verbFits(verb, reflect.ValueOf(v.value).Kind()) {
		badVerb(f, verb, v.name, v.value)
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), v.value)
}

// badVerb writes what fmt writes for a verb that does not fit a value of
// type name: %!d(main.T=value). (fmt prints the value without calling its
// methods; a pointer below the top with methods gets them called here.)
func badVerb(f fmt.State, verb rune, name string, value any) {
	fmt.Fprintf(f, "%%!%c(%s=", verb, name)
	fmt.Fprintf(f, fmt.FormatString(f, 'v'), value)
	fmt.Fprint(f, ")")
}

// verbFits reports whether fmt prints a value of kind k with verb (the
// verbs of fmtBool, fmtInteger, fmtFloat, fmtComplex and fmtString).
func verbFits(verb rune, k reflect.Kind) bool {
	switch k {
	case reflect.Bool:
		return strings.ContainsRune("tv", verb)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strings.ContainsRune("vdboOxXcqU", verb)
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return strings.ContainsRune("vbgGxXfFeE", verb)
	case reflect.String:
		return strings.ContainsRune("vsxXq", verb)
	}
	return true
}

// handleMethods calls the method fmt would call, as fmt does, and reports
// whether there was one.
func (v *View) handleMethods(f fmt.State, verb rune) (handled bool) {
	m := &v.methods
	defer v.catchPanic(f, verb, &handled)
	if m.Format != nil {
		m.Format(f, verb)
		return true
	}
	if verb == 'v' && f.Flag('#') {
		if m.GoString != nil {
			fmt.Fprint(f, m.GoString())
			return true
		}
		return false
	}
	switch verb {
	case 'v', 's', 'x', 'X', 'q':
		if m.Error != nil {
			fmt.Fprintf(f, fmt.FormatString(f, verb), m.Error())
			return true
		}
		if m.String != nil {
			fmt.Fprintf(f, fmt.FormatString(f, verb), m.String())
			return true
		}
	}
	return false
}

// catchPanic prints a panic of a method as fmt does.
func (v *View) catchPanic(f fmt.State, verb rune, handled *bool) {
	r := recover()
	if r == nil {
		return
	}
	*handled = true
	if v.methods.NilReceiver {
		fmt.Fprint(f, "<nil>")
		return
	}
	method := "String"
	switch {
	case v.methods.Format != nil:
		method = "Format"
	case verb == 'v' && f.Flag('#'):
		method = "GoString"
	case v.methods.Error != nil:
		method = "Error"
	}
	fmt.Fprintf(f, "%%!%c(PANIC=%s method: %v)", verb, method, r)
}

// element prints one field, element, key or value with the verb and
// flags of the whole.
func element(f fmt.State, verb rune, x any) {
	if x == nil {
		if verb == 'v' && f.Flag('#') {
			fmt.Fprint(f, "interface {}(nil)")
			return
		}
		fmt.Fprint(f, "<nil>")
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), unwrap(x))
}

// unwrap returns the view of a value of a session type that yaegi wrapped
// to give it a method (a struct of its package stdlib with the value in
// IValue: fmt would print the struct with a verb that calls no method),
// or x.
func unwrap(x any) any {
	t := reflect.TypeOf(x)
	if t.Kind() != reflect.Struct || !strings.HasSuffix(t.PkgPath(), "yaegi/stdlib") || t.NumField() == 0 || t.Field(0).Name != "IValue" {
		return x
	}
	var m Methods
	if s, ok := x.(fmt.Stringer); ok {
		m.String = s.String
	}
	if fm, ok := x.(fmt.Formatter); ok {
		m.Format = fm.Format
	}
	if e, ok := x.(error); ok {
		m.Error = e.Error
	}
	value := reflect.ValueOf(x).Field(0).Interface()
	return Scalar(fmt.Sprintf("%T", value), value, m)
}

func (v *View) formatStruct(f fmt.State, verb rune, sharp bool) {
	if sharp {
		fmt.Fprint(f, v.name)
	}
	fmt.Fprint(f, "{")
	for i, x := range v.elems {
		if i > 0 {
			fmt.Fprint(f, sep(sharp))
		}
		if sharp || (verb == 'v' && f.Flag('+')) {
			fmt.Fprint(f, v.fields[i]+":")
		}
		element(f, verb, x)
	}
	fmt.Fprint(f, "}")
}

func sep(sharp bool) string {
	if sharp {
		return ", "
	}
	return " "
}

// open writes the opening of a list or a map: "main.T{" with %#v (or
// "main.T(nil)", and it reports false), plain otherwise.
func (v *View) open(f fmt.State, sharp bool, plain string) bool {
	switch {
	case sharp && v.isNil:
		fmt.Fprint(f, v.name+"(nil)")
		return false
	case sharp:
		fmt.Fprint(f, v.name+"{")
	default:
		fmt.Fprint(f, plain)
	}
	return true
}

func (v *View) formatList(f fmt.State, verb rune, sharp bool) {
	if !v.open(f, sharp, "[") {
		return
	}
	for i, x := range v.elems {
		if i > 0 {
			fmt.Fprint(f, sep(sharp))
		}
		element(f, verb, x)
	}
	fmt.Fprint(f, map[bool]string{true: "}", false: "]"}[sharp])
}

func (v *View) formatMap(f fmt.State, verb rune, sharp bool) {
	if !v.open(f, sharp, "map[") {
		return
	}
	for i := range v.keys {
		if i > 0 {
			fmt.Fprint(f, sep(sharp))
		}
		element(f, verb, v.keys[i])
		fmt.Fprint(f, ":")
		element(f, verb, v.elems[i])
	}
	fmt.Fprint(f, map[bool]string{true: "}", false: "]"}[sharp])
}

func (v *View) formatPointer(f fmt.State, verb rune, sharp bool) {
	switch {
	case v.top && !v.isNil && v.target != nil:
		fmt.Fprint(f, "&")
		element(f, verb, v.target)
	case sharp:
		// fmt writes (*main.T)(0xc000...) or (*main.T)(nil).
		fmt.Fprint(f, "("+v.name+")(")
		if v.isNil {
			fmt.Fprint(f, "nil")
		} else {
			fmt.Fprintf(f, "%p", v.value)
		}
		fmt.Fprint(f, ")")
	case v.top:
		fmt.Fprintf(f, fmt.FormatString(f, verb), v.value)
	case v.isNil && verb == 'v':
		fmt.Fprint(f, "<nil>")
	case strings.ContainsRune("vp", verb):
		// Below the top fmt prints an address (fmtPointer), never &{...};
		// a + of %+v is plusV there, not a sign.
		fmt.Fprintf(f, strings.Replace(fmt.FormatString(f, 'p'), "+", "", 1), v.value)
	case strings.ContainsRune("bodxX", verb):
		fmt.Fprintf(f, fmt.FormatString(f, verb), reflect.ValueOf(v.value).Pointer())
	default:
		badVerb(f, verb, v.name, v.value)
	}
}
