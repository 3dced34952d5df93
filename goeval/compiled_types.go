package goeval

import (
	"go/constant"
	"go/token"
	"go/types"
	"reflect"
	"sort"
)

// compiledPackage builds a registered package for go/types from its
// symbols: its source may be out of reach of the go command that lists
// export data (see listExports), and the symbols are what cells see. Its
// types are declared before anything is converted, so that the conversion
// of a type of the package finds the package (through the importer) with
// its types in it.
func (im *cellImporter) compiledPackage(cp *pkgInfo) *types.Package {
	if p := im.compiled[cp.path]; p != nil {
		return p
	}
	pkg := types.NewPackage(cp.path, cp.name)
	im.compiled[cp.path] = pkg
	names := make([]string, 0, len(cp.syms))
	for n := range cp.syms {
		names = append(names, n)
	}
	sort.Strings(names)
	named := map[string]*types.Named{}
	for _, n := range names {
		if v := cp.syms[n]; isTypeSymbol(v) && v.Type().Elem().Name() == n {
			named[n] = types.NewNamed(types.NewTypeName(token.NoPos, pkg, n, nil), nil, nil)
			pkg.Scope().Insert(named[n].Obj())
		}
	}
	conv := &reflectTypes{imp: im}
	for _, n := range names {
		v := cp.syms[n]
		if t := named[n]; t != nil {
			im.defineNamed(conv, t, v.Type().Elem(), pkg)
			continue
		}
		if obj := symbolObject(conv, pkg, n, v); obj != nil {
			pkg.Scope().Insert(obj)
		}
	}
	pkg.MarkComplete()
	return pkg
}

// isTypeSymbol reports whether a symbol of yaegi's table is a type: a nil
// pointer to it.
func isTypeSymbol(v reflect.Value) bool {
	return v.IsValid() && v.Kind() == reflect.Pointer && v.IsNil() && !v.CanAddr()
}

// defineNamed sets the underlying type and the methods of a named type of
// a compiled package from its reflect type.
func (im *cellImporter) defineNamed(conv *reflectTypes, t *types.Named, rt reflect.Type, pkg *types.Package) {
	var under types.Type
	switch rt.Kind() {
	case reflect.Struct:
		fields := make([]*types.Var, rt.NumField())
		for i := range rt.NumField() {
			f := rt.Field(i)
			ft, _ := conv.convert(f.Type, pkg)
			fields[i] = types.NewField(token.NoPos, pkg, f.Name, ft, f.Anonymous)
		}
		under = types.NewStruct(fields, nil)
	case reflect.Interface:
		var ms []*types.Func
		for i := range rt.NumMethod() {
			m := rt.Method(i)
			sig, _ := conv.convert(m.Type, pkg)
			ms = append(ms, types.NewFunc(token.NoPos, pkg, m.Name, sig.(*types.Signature)))
		}
		under = types.NewInterfaceType(ms, nil).Complete()
	default:
		under, _ = conv.convert(reflect.Zero(rt).Type(), pkg)
		if n, ok := under.(*types.Named); ok {
			under = n.Underlying()
		}
		if under == t || under == nil {
			under = types.Typ[types.Invalid]
		}
	}
	t.SetUnderlying(under.Underlying())
	if rt.Kind() == reflect.Interface {
		return
	}
	// Methods of T, then those only *T has, with their receivers.
	seen := map[string]bool{}
	for _, recv := range []reflect.Type{rt, reflect.PointerTo(rt)} {
		for i := range recv.NumMethod() {
			m := recv.Method(i)
			if seen[m.Name] {
				continue
			}
			seen[m.Name] = true
			var rtyp types.Type = t
			if recv.Kind() == reflect.Pointer {
				rtyp = types.NewPointer(t)
			}
			ft := m.Type // the receiver is its first parameter
			sig, _ := conv.signature(ft, pkg)
			s := sig.(*types.Signature)
			params := make([]*types.Var, 0, s.Params().Len())
			for j := 1; j < s.Params().Len(); j++ {
				params = append(params, s.Params().At(j))
			}
			s = types.NewSignatureType(types.NewVar(token.NoPos, pkg, "", rtyp), nil, nil, types.NewTuple(params...), s.Results(), s.Variadic())
			t.AddMethod(types.NewFunc(token.NoPos, pkg, m.Name, s))
		}
	}
}

// symbolObject returns the object of a function, variable or constant of a
// compiled package's table, or nil.
func symbolObject(conv *reflectTypes, pkg *types.Package, name string, v reflect.Value) types.Object {
	if !v.IsValid() || isTypeSymbol(v) {
		return nil
	}
	if c, ok := v.Interface().(constant.Value); ok && !v.CanAddr() {
		kinds := map[constant.Kind]types.BasicKind{constant.Bool: types.UntypedBool, constant.String: types.UntypedString,
			constant.Int: types.UntypedInt, constant.Float: types.UntypedFloat, constant.Complex: types.UntypedComplex}
		return types.NewConst(token.NoPos, pkg, name, types.Typ[kinds[c.Kind()]], c)
	}
	t, _ := conv.convert(v.Type(), pkg)
	switch {
	case v.CanAddr():
		return types.NewVar(token.NoPos, pkg, name, t)
	case v.Kind() == reflect.Func:
		if sig, ok := t.(*types.Signature); ok {
			return types.NewFunc(token.NoPos, pkg, name, sig)
		}
		return nil
	}
	// A typed constant: extract writes its value.
	return types.NewConst(token.NoPos, pkg, name, t, constant.Make(v.Interface()))
}
