package goeval

// Calls of compiled packages that would see yaegi's representation of the
// session's types and answer wrong, silently: encoding/json encodes an
// unexported field (yaegi exports it with an X prefix), nests an embedded
// struct instead of promoting its fields and never calls MarshalJSON or
// UnmarshalJSON; reflect describes the underlying type, with neither the
// type's name nor its methods. These calls are refused at compile time,
// with the type and the field or method that would go wrong.

import (
	"fmt"
	"go/ast"
	"go/types"
	"reflect"
)

// checkedFuncs are the functions refused on such values, by package path
// and name, with the index of the argument that holds the value.
var checkedFuncs = map[string]map[string]int{
	"encoding/json": {"Marshal": 0, "MarshalIndent": 0, "Unmarshal": 1},
	"reflect":       {"TypeOf": 0, "ValueOf": 0},
}

// checkedCall returns the refusal of a call of checkedFuncs whose argument
// would be seen wrong.
func (ck *check) checkedCall(call *ast.CallExpr) (fmtFact, bool) {
	pn, name, ok := ck.pkgFunc(call)
	if !ok {
		return fmtFact{}, false
	}
	i, ok := checkedFuncs[pn.Imported().Path()][name]
	if !ok || i >= len(call.Args) {
		return fmtFact{}, false
	}
	t := ck.info.TypeOf(call.Args[i])
	if t == nil {
		return fmtFact{}, false
	}
	var why string
	switch name {
	case "TypeOf", "ValueOf":
		why = ck.reflectProblem(t)
	case "Unmarshal":
		why = ck.jsonProblem(t, 0, []string{"UnmarshalJSON", "UnmarshalText"})
	default:
		why = ck.jsonProblem(t, 0, []string{"MarshalJSON", "MarshalText"})
	}
	if why == "" {
		return fmtFact{}, false
	}
	what := pn.Imported().Name() + "." + name
	return fmtFact{fun: name, refused: map[int]string{i: fmt.Sprintf("mpigo cannot pass %s to %s: %s", reflectTypeString(t), what, why)}}, true
}

// reflectProblem says why reflect would describe t, or what it points
// to, wrong: a session type that is not a struct is all name (reflect
// sees its underlying type); a struct's unexported and embedded fields
// are renamed and flattened. (The name of a session struct type is lost
// too, and not refused: its fields and tags, what programs read through
// reflect, are right.)
func (ck *check) reflectProblem(t types.Type) string {
	for depth := 0; depth < 4; depth++ {
		p, ok := t.(*types.Pointer)
		if !ok {
			break
		}
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() != ck.pkg || types.IsInterface(n) {
		return ""
	}
	st, ok := n.Underlying().(*types.Struct)
	if !ok {
		return "reflect would see " + reflectTypeString(n) + " as its underlying type " + reflectTypeString(n.Underlying()) +
			", without its name and methods (the interpreter has no reflect type for the notebook's types)"
	}
	for i := range st.NumFields() {
		if f := st.Field(i); f.Embedded() || !f.Exported() {
			return "reflect would see the field " + f.Name() + " of " + reflectTypeString(n) + " as an exported field X" + f.Name() +
				" (the interpreter exports unexported and embedded fields under new names)"
		}
	}
	return ""
}

// jsonProblem says why encoding/json would encode or decode t wrong:
// methods are those json would call. (On the value itself, below any
// pointers, yaegi calls them: only those of values inside it are lost.)
func (ck *check) jsonProblem(t types.Type, depth int, methods []string) string {
	if depth > maxViewDepth {
		return ""
	}
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() == ck.pkg {
		for _, m := range methods {
			if !hasMethod(n, m) {
				continue
			}
			if depth > 0 && n.TypeArgs() == nil {
				return "encoding/json would not call the " + m + " method of " + reflectTypeString(n) +
					" (the interpreter gives compiled code the underlying type): convert the value yourself before encoding"
			}
			return "" // json calls the method, not looking inside
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Pointer:
		d := depth + 1
		if depth == 0 {
			d = 0 // what the argument points to is still the value itself
		}
		return ck.jsonProblem(u.Elem(), d, methods)
	case *types.Slice:
		return ck.jsonProblem(u.Elem(), depth+1, methods)
	case *types.Array:
		return ck.jsonProblem(u.Elem(), depth+1, methods)
	case *types.Map:
		return ck.jsonProblem(u.Elem(), depth+1, methods)
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			if reflect.StructTag(u.Tag(i)).Get("json") == "-" {
				continue
			}
			if f.Embedded() {
				return "encoding/json would nest the embedded field " + f.Name() + " instead of promoting its fields " +
					"(the interpreter cannot embed in the types it gives compiled code): name the field, or copy its fields"
			}
			if !f.Exported() {
				return "encoding/json would encode the unexported field " + f.Name() + " as X" + f.Name() +
					" (the interpreter exports it under that name): tag it `json:\"-\"` or export it"
			}
			if why := ck.jsonProblem(f.Type(), depth+1, methods); why != "" {
				return why
			}
		}
	}
	return ""
}

// hasMethod reports whether T or *T has the method name.
func hasMethod(t types.Type, name string) bool {
	for _, x := range []types.Type{t, types.NewPointer(t)} {
		if types.NewMethodSet(x).Lookup(nil, name) != nil {
			return true
		}
	}
	return false
}
