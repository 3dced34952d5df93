package fmtview

import (
	"cmp"
	"reflect"
	"sort"
)

// sortByKeys orders a map's keys and values as fmt prints them: by the
// raw keys, with the rules of internal/fmtsort.
func sortByKeys(raw, keys, values []any) {
	sort.Stable(byKey{raw, keys, values})
}

type byKey struct{ raw, keys, values []any }

func (b byKey) Len() int { return len(b.raw) }
func (b byKey) Less(i, j int) bool {
	return compare(reflect.ValueOf(b.raw[i]), reflect.ValueOf(b.raw[j])) < 0
}
func (b byKey) Swap(i, j int) {
	b.raw[i], b.raw[j] = b.raw[j], b.raw[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.values[i], b.values[j] = b.values[j], b.values[i]
}

// compare is internal/fmtsort's: -1, 0 or 1 as a is less than, equal to
// or greater than b. Values of different types (the keys of a map of
// interfaces) compare by their types' names first.
func compare(a, b reflect.Value) int {
	if !a.IsValid() || !b.IsValid() {
		return cmp.Compare(boolInt(a.IsValid()), boolInt(b.IsValid()))
	}
	if a.Type() != b.Type() {
		if c := cmp.Compare(a.Type().String(), b.Type().String()); c != 0 {
			return c
		}
		return -1
	}
	switch a.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmp.Compare(a.Int(), b.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cmp.Compare(a.Uint(), b.Uint())
	case reflect.String:
		return cmp.Compare(a.String(), b.String())
	case reflect.Float32, reflect.Float64:
		return cmp.Compare(a.Float(), b.Float())
	case reflect.Complex64, reflect.Complex128:
		x, y := a.Complex(), b.Complex()
		if c := cmp.Compare(real(x), real(y)); c != 0 {
			return c
		}
		return cmp.Compare(imag(x), imag(y))
	case reflect.Bool:
		return cmp.Compare(boolInt(a.Bool()), boolInt(b.Bool()))
	case reflect.Pointer, reflect.UnsafePointer, reflect.Chan:
		return cmp.Compare(a.Pointer(), b.Pointer())
	case reflect.Struct:
		for i := range a.NumField() {
			if c := compare(a.Field(i), b.Field(i)); c != 0 {
				return c
			}
		}
	case reflect.Array:
		for i := range a.Len() {
			if c := compare(a.Index(i), b.Index(i)); c != 0 {
				return c
			}
		}
	case reflect.Interface:
		return compare(a.Elem(), b.Elem())
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
