package goeval

import (
	"fmt"
	"go/token"
	"go/types"
	"sort"
	"strconv"
)

// unwritableError says why a type cannot be written as Go source where the
// rewritten code needs it.
type unwritableError struct {
	typ string // the type, its packages named by their names
	why string
}

// Error implements error.
func (e *unwritableError) Error() string {
	return fmt.Sprintf("type %s cannot be written there: %s", e.typ, e.why)
}

// names are the checks of the type names a type uses (see walkType).
type names struct {
	// obj checks a named type, an alias or a type parameter.
	obj func(obj *types.TypeName) string
	// basic checks a predeclared type.
	basic func(b *types.Basic) string
}

// walkType checks that t can be written as Go source: that its
// components are not untyped, that the fields and methods it lists are
// not unexported ones of another package than pkg, and that the type names
// it uses pass the checks of n. It returns why not, or "".
func walkType(t types.Type, pkg *types.Package, n names, seen map[types.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	walk := func(t types.Type) string { return walkType(t, pkg, n, seen) }
	switch t := t.(type) {
	case *types.Basic:
		if t.Info()&types.IsUntyped != 0 || t.Kind() == types.UnsafePointer || t.Kind() == types.Invalid {
			return t.Name() + " has no name here"
		}
		return n.basic(t)
	case *types.Pointer:
		return walk(t.Elem())
	case *types.Slice:
		return walk(t.Elem())
	case *types.Array:
		return walk(t.Elem())
	case *types.Chan:
		return walk(t.Elem())
	case *types.Map:
		return firstProblem(walk(t.Key()), walk(t.Elem()))
	case *types.Signature:
		return firstProblem(walk(t.Params()), walk(t.Results()))
	case *types.Tuple:
		for i := range t.Len() {
			if why := walk(t.At(i).Type()); why != "" {
				return why
			}
		}
	case *types.Struct:
		for i := range t.NumFields() {
			f := t.Field(i)
			if !f.Exported() && f.Pkg() != pkg {
				return "it has the unexported field " + f.Name() + " of package " + f.Pkg().Path()
			}
			if why := walk(f.Type()); why != "" {
				return why
			}
		}
	case *types.Interface:
		for i := range t.NumExplicitMethods() {
			m := t.ExplicitMethod(i)
			if !m.Exported() && m.Pkg() != pkg {
				return "it has the unexported method " + m.Name() + " of package " + m.Pkg().Path()
			}
			if why := walk(m.Type()); why != "" {
				return why
			}
		}
		for i := range t.NumEmbeddeds() {
			if why := walk(t.EmbeddedType(i)); why != "" {
				return why
			}
		}
	case *types.Named:
		if why := n.obj(t.Obj()); why != "" {
			return why
		}
		return walkTypeList(t.TypeArgs(), walk)
	case *types.Alias:
		if why := n.obj(t.Obj()); why != "" {
			return why
		}
		return walkTypeList(t.TypeArgs(), walk)
	case *types.TypeParam:
		return n.obj(t.Obj())
	default:
		return fmt.Sprintf("%T is not supported", t)
	}
	return ""
}

// walkTypeList applies walk to the types of a list (nil: none).
func walkTypeList(l *types.TypeList, walk func(types.Type) string) string {
	for i := range l.Len() {
		if why := walk(l.At(i)); why != "" {
			return why
		}
	}
	return ""
}

// firstProblem returns the first non-empty reason.
func firstProblem(whys ...string) string {
	for _, w := range whys {
		if w != "" {
			return w
		}
	}
	return ""
}

// typeWriter writes types as Go source at positions of the checked
// package pkg, with its packages named as the cell imports them.
type typeWriter struct {
	pkg     *types.Package
	imports map[string]string // import name → path
}

// write returns t as Go source valid at pos: every name it uses must
// resolve there to the same object.
func (w *typeWriter) write(t types.Type, pos token.Pos) (string, error) {
	scope := w.pkg.Scope().Innermost(pos)
	if scope == nil {
		return "", &unwritableError{typ: typeName(t), why: "no scope at its position"}
	}
	visible := func(name string, obj types.Object) bool {
		_, o := scope.LookupParent(name, pos)
		return o == obj
	}
	qual := map[string]string{} // path → name used
	n := names{
		basic: func(b *types.Basic) string {
			if _, o := scope.LookupParent(b.Name(), pos); o == nil || o.Parent() != types.Universe {
				return b.Name() + " is redeclared"
			}
			return ""
		},
		obj: func(obj *types.TypeName) string {
			if obj.Pkg() == nil || obj.Pkg() == w.pkg {
				if !visible(obj.Name(), obj) {
					return obj.Name() + " is not in scope"
				}
				return ""
			}
			return w.qualify(obj, scope, pos, qual)
		},
	}
	if why := walkType(t, w.pkg, n, map[types.Type]bool{}); why != "" {
		return "", &unwritableError{typ: typeName(t), why: why}
	}
	return types.TypeString(t, func(p *types.Package) string {
		if p == w.pkg {
			return ""
		}
		return qual[p.Path()]
	}), nil
}

// qualify finds the name under which the package of obj is visible at pos
// (or "" when a dot import makes obj visible unqualified) and records it
// in qual; it returns why there is none.
func (w *typeWriter) qualify(obj *types.TypeName, scope *types.Scope, pos token.Pos, qual map[string]string) string {
	path := obj.Pkg().Path()
	if !obj.Exported() {
		return obj.Name() + " is not exported by " + path
	}
	if _, ok := qual[path]; ok {
		return ""
	}
	var cands []string
	for name, p := range w.imports {
		if p == path {
			cands = append(cands, name)
		}
	}
	sort.Strings(cands)
	for _, name := range cands {
		if _, o := scope.LookupParent(name, pos); o != nil {
			if pn, ok := o.(*types.PkgName); ok && pn.Imported().Path() == path {
				qual[path] = name
				return ""
			}
		}
	}
	if _, o := scope.LookupParent(obj.Name(), pos); o == obj {
		qual[path] = ""
		return ""
	}
	if len(cands) > 0 {
		return "the name " + cands[0] + " of package " + path + " is hidden by a local name here"
	}
	return "package " + path + " is not imported (import it in the cell)"
}

// typeName prints a type with its packages named by their names.
func typeName(t types.Type) string {
	return types.TypeString(t, func(p *types.Package) string { return p.Name() })
}

// varRecord is the type of a session variable, as Go source for a file of
// its own (variables whose type is a local type cannot be recorded).
type varRecord struct {
	typ     string            // the type, packages written as aliases
	imports map[string]string // alias → path
}

// recordType returns the record of a variable's type, or why it has none:
// it may only use package-level types, exported ones of other packages.
func recordType(t types.Type, pkg *types.Package) (varRecord, error) {
	r := varRecord{imports: map[string]string{}}
	alias := map[string]string{} // path → alias
	n := names{
		basic: func(*types.Basic) string { return "" },
		obj: func(obj *types.TypeName) string {
			switch {
			case obj.Pkg() == nil:
				return ""
			case obj.Parent() == nil || obj.Parent() != obj.Pkg().Scope():
				return obj.Name() + " is not a package-level type"
			case obj.Pkg() == pkg:
				return ""
			case !obj.Exported():
				return obj.Name() + " is not exported by " + obj.Pkg().Path()
			}
			if _, ok := alias[obj.Pkg().Path()]; !ok {
				a := "__mpigo_t" + strconv.Itoa(len(alias))
				alias[obj.Pkg().Path()] = a
				r.imports[a] = obj.Pkg().Path()
			}
			return ""
		},
	}
	if why := walkType(t, pkg, n, map[types.Type]bool{}); why != "" {
		return varRecord{}, &unwritableError{typ: typeName(t), why: why}
	}
	r.typ = types.TypeString(t, func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return alias[p.Path()]
	})
	return r, nil
}
