package goeval

import (
	"fmt"
	"go/token"
	"go/types"
	"strconv"
	"strings"
)

// viewGen writes the source of an expression that builds the view of a
// value (see typed_fmt.go and package fmtview): function literals called
// on the value, one per level of its type, so that it is evaluated once.
type viewGen struct {
	ck    *check
	w     *typeWriter
	pos   token.Pos // where the code goes: the types are written there
	names bool      // the format prints type names (%#v)
	n     int       // variables named so far
	ok    bool      // false once a type cannot be written at pos
	init  bool
}

// viewVarPrefix starts the names of the variables of the views' code.
const viewVarPrefix = "__mpigo_fv"

// maxViewDepth bounds the levels of a value the view follows; below, fmt
// prints the value as yaegi gives it.
const maxViewDepth = 6

// expr returns the source of the view of x, of type t, at depth (0: an
// argument of the print call); methods is false below an unexported
// field, where fmt calls no method. It returns x where no view is needed.
func (g *viewGen) expr(x string, t types.Type, depth int, methods bool) string {
	if !g.init {
		g.ok, g.init = true, true
	}
	if depth > maxViewDepth || !g.ok {
		return x
	}
	t = types.Unalias(t)
	if types.IsInterface(t) {
		return g.dynamic(x, t, depth)
	}
	if !g.needs(t, methods) {
		return x
	}
	ms := g.methods(t, methods)
	name := strconv.Quote(reflectTypeString(t))
	switch u := t.Underlying().(type) {
	case *types.Struct:
		return g.structView(x, t, u, name, ms, depth, methods)
	case *types.Slice:
		return g.listView(x, t, u.Elem(), name, ms, depth, methods, false)
	case *types.Array:
		return g.listView(x, t, u.Elem(), name, ms, depth, methods, true)
	case *types.Map:
		return g.mapView(x, t, u, name, ms, depth, methods)
	case *types.Pointer:
		return g.pointerView(x, t, u, name, ms, depth, methods)
	case *types.Basic:
		return g.lit(t, func(v string) string {
			return rtName + ".ViewScalar(" + name + ", " + g.typ(u) + "(" + v + "), " + ms(v) + ")"
		}, x)
	}
	return x
}

// needs reports whether a value of type t prints differently from what
// fmt prints of yaegi's value: it has methods fmt calls, a name %#v shows,
// or holds such a value.
func (g *viewGen) needs(t types.Type, methods bool) bool {
	if !mentionsSessionType(t, g.ck.pkg, 0) && !holdsInterface(t, 0) {
		return false
	}
	if g.names {
		return true
	}
	return g.holdsMethods(t, methods, 0) || hasUnexported(t, 0) || holdsInterface(t, 0)
}

// holdsMethods reports whether t or a value it holds has a method fmt
// calls, or is an interface (which may hold one).
func (g *viewGen) holdsMethods(t types.Type, methods bool, depth int) bool {
	if depth > maxViewDepth {
		return false
	}
	if methods && len(fmtMethods(t)) > 0 {
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			if g.holdsMethods(f.Type(), methods && f.Exported(), depth+1) {
				return true
			}
		}
	case *types.Slice:
		return g.holdsMethods(u.Elem(), methods, depth+1)
	case *types.Array:
		return g.holdsMethods(u.Elem(), methods, depth+1)
	case *types.Map:
		return g.holdsMethods(u.Key(), methods, depth+1) || g.holdsMethods(u.Elem(), methods, depth+1)
	case *types.Pointer:
		return depth == 0 && g.holdsMethods(u.Elem(), methods, depth+1)
	}
	return false
}

// holdsInterface reports whether t holds an interface value inside
// another value.
func holdsInterface(t types.Type, depth int) bool {
	if depth > maxViewDepth {
		return false
	}
	if depth > 0 && types.IsInterface(t) {
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			if holdsInterface(u.Field(i).Type(), depth+1) {
				return true
			}
		}
	case *types.Slice:
		return holdsInterface(u.Elem(), depth+1)
	case *types.Array:
		return holdsInterface(u.Elem(), depth+1)
	case *types.Map:
		return holdsInterface(u.Key(), depth+1) || holdsInterface(u.Elem(), depth+1)
	case *types.Pointer:
		return depth == 0 && holdsInterface(u.Elem(), depth+1)
	}
	return false
}

// hasUnexported reports whether t holds a struct with an unexported field
// (%+v prints its name, which yaegi changes).
func hasUnexported(t types.Type, depth int) bool {
	if depth > maxViewDepth {
		return false
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			if !u.Field(i).Exported() || hasUnexported(u.Field(i).Type(), depth+1) {
				return true
			}
		}
	case *types.Slice:
		return hasUnexported(u.Elem(), depth+1)
	case *types.Array:
		return hasUnexported(u.Elem(), depth+1)
	case *types.Map:
		return hasUnexported(u.Key(), depth+1) || hasUnexported(u.Elem(), depth+1)
	case *types.Pointer:
		return depth == 0 && hasUnexported(u.Elem(), depth+1)
	}
	return false
}

// fmtMethods returns the methods of t's method set that fmt calls.
func fmtMethods(t types.Type) []string {
	var out []string
	ms := types.NewMethodSet(t)
	for _, m := range []string{"Format", "GoString", "Error", "String"} {
		sel := ms.Lookup(nil, m)
		if sel == nil {
			continue
		}
		sig := sel.Type().(*types.Signature)
		want := "func() string"
		if m == "Format" {
			want = "func(fmt.State, rune)"
		}
		if types.TypeString(sig, func(p *types.Package) string { return p.Name() }) == want {
			out = append(out, m)
		}
	}
	return out
}

// methods returns a writer of the fmtview.Methods of a value v of type t.
func (g *viewGen) methods(t types.Type, allowed bool) func(v string) string {
	var names []string
	if allowed {
		names = fmtMethods(t)
	}
	_, isPtr := t.Underlying().(*types.Pointer)
	return func(v string) string {
		var parts []string
		for _, m := range names {
			parts = append(parts, m+": "+v+"."+m)
		}
		if isPtr && len(names) > 0 {
			parts = append(parts, "NilReceiver: "+v+" == nil")
		}
		return rtName + ".ViewMethods{" + strings.Join(parts, ", ") + "}"
	}
}

// lit returns the call of a function literal of a parameter of type t
// whose body returns body(the parameter), on x.
func (g *viewGen) lit(t types.Type, body func(v string) string, x string) string {
	v := g.name()
	return "func(" + v + " " + g.typ(t) + ") any { return " + body(v) + " }(" + x + ")"
}

// name returns a new variable name.
func (g *viewGen) name() string {
	g.n++
	return fmt.Sprintf("%s%d", viewVarPrefix, g.n)
}

// typ writes t at the position of the code.
func (g *viewGen) typ(t types.Type) string {
	s, err := g.w.write(t, g.pos)
	if err != nil {
		g.ok = false
		return "any"
	}
	return s
}

func (g *viewGen) structView(x string, t types.Type, u *types.Struct, name string, ms func(string) string, depth int, methods bool) string {
	return g.lit(t, func(v string) string {
		var names, vals []string
		for i := range u.NumFields() {
			f := u.Field(i)
			names = append(names, strconv.Quote(f.Name()))
			vals = append(vals, g.expr(v+"."+f.Name(), f.Type(), depth+1, methods && f.Exported()))
		}
		return rtName + ".ViewStruct(" + name + ", []string{" + strings.Join(names, ", ") + "}, " + rtName + ".ViewValues(" +
			strings.Join(vals, ", ") + "), " + ms(v) + ")"
	}, x)
}

func (g *viewGen) listView(x string, t, elem types.Type, name string, ms func(string) string, depth int, methods, array bool) string {
	v, e, i := g.name(), g.name(), g.name()
	isNil := v + " == nil"
	if array {
		isNil = "false"
	}
	return "func(" + v + " " + g.typ(t) + ") any { var " + e + " []any; for " + i + " := range " + v +
		" { " + e + " = " + rtName + ".ViewAppend(" + e + ", " + g.expr(v+"["+i+"]", elem, depth+1, methods) + ") }; return " + rtName +
		".ViewList(" + name + ", " + e + ", " + isNil + ", " + strconv.FormatBool(array) + ", " + ms(v) + ") }(" + x + ")"
}

func (g *viewGen) mapView(x string, t types.Type, u *types.Map, name string, ms func(string) string, depth int, methods bool) string {
	v, r, ks, es, k, e := g.name(), g.name(), g.name(), g.name(), g.name(), g.name()
	return "func(" + v + " " + g.typ(t) + ") any { var " + r + ", " + ks + ", " + es + " []any; for " + k + ", " + e + " := range " + v +
		" { " + r + " = " + rtName + ".ViewAppend(" + r + ", " + g.raw(k, u.Key()) + "); " + ks + " = " + rtName + ".ViewAppend(" + ks + ", " +
		g.expr(k, u.Key(), depth+1, methods) + "); " + es + " = " + rtName + ".ViewAppend(" + es + ", " + g.expr(e, u.Elem(), depth+1, methods) +
		") }; return " + rtName +
		".ViewMap(" + name + ", " + r + ", " + ks + ", " + es + ", " + v + " == nil, " + ms(v) + ") }(" + x + ")"
}

// raw returns x converted to a type without methods, so that yaegi does
// not wrap it when it becomes an interface (map keys are sorted by it).
func (g *viewGen) raw(x string, t types.Type) string {
	if len(fmtMethods(t)) == 0 {
		return x
	}
	if b, ok := t.Underlying().(*types.Basic); ok {
		return g.typ(b) + "(" + x + ")"
	}
	return g.typ(t.Underlying()) + "(" + x + ")"
}

func (g *viewGen) pointerView(x string, t types.Type, u *types.Pointer, name string, ms func(string) string, depth int, methods bool) string {
	v := g.name()
	raw := v
	if len(fmtMethods(t)) > 0 || len(fmtMethods(u.Elem())) > 0 {
		raw = "(*" + g.typ(u.Elem().Underlying()) + ")(" + v + ")" // no methods: yaegi passes it as it is
	}
	target := "nil"
	switch u.Elem().Underlying().(type) {
	case *types.Struct, *types.Array, *types.Slice, *types.Map:
		if depth == 0 {
			target = g.expr("*"+v, u.Elem(), depth+1, methods)
		}
	}
	top := strconv.FormatBool(depth == 0)
	return "func(" + v + " " + g.typ(t) + ") any { if " + v + " == nil { return " + rtName + ".ViewPointer(" + name + ", " + raw +
		", nil, true, " + top + ", " + ms(v) + ") }; return " + rtName + ".ViewPointer(" + name + ", " + raw + ", " + target +
		", false, " + top + ", " + ms(v) + ") }(" + x + ")"
}

// dynamic returns the view of an interface value: the value as it is (a
// type switch cannot tell the session's types from their underlying types
// in yaegi, so what it holds is left to yaegi, and a %T of one that may
// hold a session type is refused: see hiddenTypeName). Inside another
// value, with %#v, a nil one names its type (error(nil)). The element
// lists are built by compiled code (ViewAppend, ViewValues): an interface
// value passed to it becomes the value it holds, as an argument of fmt
// does, where yaegi would hand fmt its own representation of it.
func (g *viewGen) dynamic(x string, t types.Type, depth int) string {
	if depth == 0 || !g.names {
		return x
	}
	return g.lit(t, func(v string) string {
		return "func() any { if " + v + " == nil { return " + rtName + ".ViewNil(" + strconv.Quote(reflectTypeString(t)) + ") }; return " + v + " }()"
	}, x)
}

// reflectTypeString writes t as package reflect (and so fmt's %T) does:
// packages by name, "struct { X int }", "interface {}".
func reflectTypeString(t types.Type) string {
	var b strings.Builder
	writeReflectType(&b, t, 0)
	return b.String()
}

func writeReflectType(b *strings.Builder, t types.Type, depth int) {
	if depth > 16 {
		b.WriteString("...")
		return
	}
	w := func(t types.Type) { writeReflectType(b, t, depth+1) }
	switch x := t.(type) {
	case *types.Named:
		if x.Obj().Pkg() != nil {
			b.WriteString(x.Obj().Pkg().Name() + ".")
		}
		b.WriteString(x.Obj().Name())
		if args := x.TypeArgs(); args != nil {
			b.WriteString("[")
			for i := range args.Len() {
				if i > 0 {
					b.WriteString(",")
				}
				w(args.At(i))
			}
			b.WriteString("]")
		}
	case *types.Alias:
		w(types.Unalias(x))
	case *types.Basic:
		b.WriteString(x.Name())
	case *types.Pointer:
		b.WriteString("*")
		w(x.Elem())
	case *types.Slice:
		b.WriteString("[]")
		w(x.Elem())
	case *types.Array:
		b.WriteString("[" + strconv.FormatInt(x.Len(), 10) + "]")
		w(x.Elem())
	case *types.Map:
		b.WriteString("map[")
		w(x.Key())
		b.WriteString("]")
		w(x.Elem())
	case *types.Chan:
		switch x.Dir() {
		case types.SendOnly:
			b.WriteString("chan<- ")
		case types.RecvOnly:
			b.WriteString("<-chan ")
		default:
			b.WriteString("chan ")
		}
		w(x.Elem())
	case *types.Struct:
		if x.NumFields() == 0 {
			b.WriteString("struct {}")
			return
		}
		b.WriteString("struct { ")
		for i := range x.NumFields() {
			if i > 0 {
				b.WriteString("; ")
			}
			f := x.Field(i)
			if !f.Embedded() {
				b.WriteString(f.Name() + " ")
			}
			w(f.Type())
			if tag := x.Tag(i); tag != "" {
				b.WriteString(" " + strconv.Quote(tag))
			}
		}
		b.WriteString(" }")
	case *types.Interface:
		if x.NumMethods() == 0 {
			b.WriteString("interface {}")
			return
		}
		b.WriteString("interface { ")
		for i := range x.NumMethods() {
			if i > 0 {
				b.WriteString("; ")
			}
			m := x.Method(i)
			b.WriteString(m.Name())
			writeSignature(b, m.Type().(*types.Signature), depth)
		}
		b.WriteString(" }")
	case *types.Signature:
		b.WriteString("func")
		writeSignature(b, x, depth)
	default:
		b.WriteString(types.TypeString(t, func(p *types.Package) string { return p.Name() }))
	}
}

// writeSignature writes "(A, B) R" or "(A) (R, S)" as reflect does.
func writeSignature(b *strings.Builder, sig *types.Signature, depth int) {
	b.WriteString("(")
	for i := range sig.Params().Len() {
		if i > 0 {
			b.WriteString(", ")
		}
		t := sig.Params().At(i).Type()
		if sig.Variadic() && i == sig.Params().Len()-1 {
			b.WriteString("...")
			t = t.(*types.Slice).Elem()
		}
		writeReflectType(b, t, depth+1)
	}
	b.WriteString(")")
	switch r := sig.Results(); r.Len() {
	case 0:
	case 1:
		b.WriteString(" ")
		writeReflectType(b, r.At(0).Type(), depth+1)
	default:
		b.WriteString(" (")
		for i := range r.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeReflectType(b, r.At(i).Type(), depth+1)
		}
		b.WriteString(")")
	}
}
