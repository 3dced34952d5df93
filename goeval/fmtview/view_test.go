package fmtview

import (
	"fmt"
	"reflect"
	"testing"
	"unsafe"
)

// Compiled stand-ins for the interpreted types of cells: the test builds
// each value's view from its compiled type, as goeval's rewrite builds it
// from go/types, and checks that fmt prints the view as it prints the value.

type color int

func (c color) String() string { return [...]string{"red", "green", "blue"}[c] }

type shirt struct {
	Size  int
	Color color
}

type point struct {
	X, Y int
	Tag  string
}

type money int64

func (m money) Format(f fmt.State, verb rune) {
	if verb == 'v' || verb == 's' {
		fmt.Fprintf(f, "$%d.%02d", int64(m)/100, int64(m)%100)
		return
	}
	fmt.Fprintf(f, "%d", int64(m))
}

type gs struct{ n int }

func (g gs) GoString() string { return fmt.Sprintf("gs(%d)", g.n) }

type failure struct{ op string }

func (e *failure) Error() string { return "failed: " + e.op }

type hidden struct {
	c     color // unexported: fmt does not call String
	Shown color
}

type celsius float64

func (c celsius) String() string { return fmt.Sprintf("%.1f°C", float64(c)) }

type node struct {
	V    int
	Next *node
}

type boom struct{}

func (boom) String() string { panic("no") }

type wrapper struct {
	Err  error
	Any  any
	List []celsius
}

type label string

func TestViewPrintsAsFmt(t *testing.T) {
	values := []any{
		color(1),
		shirt{42, 2},
		point{1, 2, "a"},
		&point{3, 4, "b"},
		[]point{{1, 2, "c"}},
		[]color{0, 2},
		[]color(nil),
		[2]color{1, 2},
		map[string]celsius{"out": 5.5, "in": 21},
		map[color]int{2: 1, 0: 3},
		map[string]int(nil),
		money(1234),
		gs{3},
		&failure{"read"},
		hidden{1, 2},
		celsius(30.25),
		&node{1, &node{2, nil}},
		(*point)(nil),
		boom{},
		wrapper{Err: &failure{"x"}, Any: color(2), List: []celsius{1.5}},
		wrapper{Err: nil, Any: label("y")},
		wrapper{},
		label("x"),
		[]label{"a", "b"},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%d", "%q", "%x", "%8v", "%-6d|", "%.1f"}
	for _, x := range values {
		for _, verb := range verbs {
			if w, ok := x.(wrapper); ok && w.Err != nil && verb == "%.1f" {
				continue // a bad verb on a pointer with methods below the top: see badVerb
			}
			want := fmt.Sprintf(verb, x)
			got := fmt.Sprintf(verb, viewOf(reflect.ValueOf(x), 0, true))
			if reflect.TypeOf(x).Kind() == reflect.Pointer && verb != "%v" && verb != "%+v" && verb != "%s" && verb != "%q" {
				continue // addresses differ run to run only in the compiled value's form
			}
			if got != want {
				t.Errorf("fmt.Sprintf(%q, %T):\n got %s\nwant %s", verb, x, got, want)
			}
		}
	}
}

// viewOf builds the view goeval's rewrite would build for v: canIface is
// false below an unexported field, where fmt calls no method.
func viewOf(v reflect.Value, depth int, canIface bool) any {
	t := v.Type()
	name := t.String()
	m := methodsOf(v, canIface)
	switch t.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			if depth == 0 {
				return nil
			}
			return Nil(name)
		}
		return viewOf(v.Elem(), depth, canIface)
	case reflect.Struct:
		var names []string
		var vals []any
		for i := range t.NumField() {
			names = append(names, t.Field(i).Name)
			vals = append(vals, viewOf(field(v, i), depth+1, canIface && t.Field(i).IsExported()))
		}
		return Struct(name, names, vals, m)
	case reflect.Slice, reflect.Array:
		var elems []any
		for i := range v.Len() {
			elems = append(elems, viewOf(v.Index(i), depth+1, canIface))
		}
		return List(name, elems, t.Kind() == reflect.Slice && v.IsNil(), t.Kind() == reflect.Array, m)
	case reflect.Map:
		var raw, keys, vals []any
		for _, k := range v.MapKeys() {
			raw = append(raw, k.Convert(basic(k.Type())).Interface())
			keys = append(keys, viewOf(k, depth+1, canIface))
			vals = append(vals, viewOf(v.MapIndex(k), depth+1, canIface))
		}
		return Map(name, raw, keys, vals, v.IsNil(), m)
	case reflect.Pointer:
		var target any
		switch t.Elem().Kind() {
		case reflect.Struct, reflect.Array, reflect.Slice, reflect.Map:
			if depth == 0 && !v.IsNil() {
				target = viewOf(v.Elem(), depth+1, canIface)
			}
		}
		return Pointer(name, v.Interface(), target, v.IsNil(), depth == 0, m)
	}
	if t.Name() == "" || t.PkgPath() == "" {
		return v.Interface()
	}
	return Scalar(name, v.Convert(basic(t)).Interface(), m)
}

// basic returns the predeclared type of a named non-composite type.
func basic(t reflect.Type) reflect.Type {
	switch t.Kind() {
	case reflect.Int:
		return reflect.TypeFor[int]()
	case reflect.Int64:
		return reflect.TypeFor[int64]()
	case reflect.Float64:
		return reflect.TypeFor[float64]()
	case reflect.String:
		return reflect.TypeFor[string]()
	}
	return t
}

// field returns field i of a struct, readable even when unexported.
func field(v reflect.Value, i int) reflect.Value {
	if !v.CanAddr() {
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	f := v.Field(i)
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// methodsOf returns the methods fmt would call on v.
func methodsOf(v reflect.Value, canIface bool) Methods {
	if !canIface {
		return Methods{}
	}
	var m Methods
	x := v.Interface()
	if f, ok := x.(fmt.Formatter); ok {
		m.Format = f.Format
	}
	if g, ok := x.(fmt.GoStringer); ok {
		m.GoString = g.GoString
	}
	if e, ok := x.(error); ok {
		m.Error = e.Error
	}
	if s, ok := x.(fmt.Stringer); ok {
		m.String = s.String
	}
	m.NilReceiver = v.Kind() == reflect.Pointer && v.IsNil()
	return m
}
