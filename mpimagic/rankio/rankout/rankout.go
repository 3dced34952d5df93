// Package rankout is what the program of an %mpirun --out cell calls with
// the value of the cell's final expression: Send encodes it (Encode) and
// writes it to the rank wrapper's value channel, which takes it to the
// magic beside the rank's output (see package rankio). The generated
// main.go imports it only for --out; it depends on the standard library
// only, like package rankio.
package rankout

import (
	"bytes"
	"encoding"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// Send sends v to the magic as this rank's --out value: T, the static
// type of the cell's final expression, is the type the notebook session
// declares the slice of. Outside the rank wrapper (no value channel, e.g.
// the program run by hand) it does nothing.
func Send[T any](v T) {
	fd, err := strconv.Atoi(os.Getenv(rankio.ValueEnvVar))
	if err != nil || fd < 3 {
		return
	}
	f := os.NewFile(uintptr(fd), "mpigo-value")
	if f == nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(Marshal(v))
}

// Marshal is Encode's Value as JSON, or a Value with the error that it is
// too large when it exceeds rankio.MaxValue.
func Marshal[T any](v T) []byte {
	b, err := json.Marshal(Encode(v))
	if err == nil && len(b) <= rankio.MaxValue {
		return b
	}
	why := "it could not be encoded"
	if err == nil {
		why = fmt.Sprintf("the value is too large to bring back (%d bytes encoded, at most %d)", len(b), rankio.MaxValue)
	}
	b, _ = json.Marshal(rankio.Value{Err: why})
	return b
}

// Encode encodes v with gob, with its static type T written as a plain
// cell writes it (TypeName), and with encoding/json. Either may fail: the
// Value then leaves it out, and Err says why when both did.
func Encode[T any](v T) rankio.Value {
	t := reflect.TypeFor[T]()
	var out rankio.Value
	rv := reflect.ValueOf(&v).Elem()
	gobBytes, gobWhy := encodeGob(rv)
	if gobWhy == "" {
		out.Type, out.Gob = TypeName(t), gobBytes
	}
	js, jerr := json.Marshal(v)
	if jerr == nil {
		out.JSON = js
	}
	if gobWhy != "" && jerr != nil {
		out.Err = gobWhy + "; encoding/json: " + jerr.Error()
	}
	return out
}

// encodeGob gob-encodes v, or says why gob cannot carry it; a nil pointer,
// map or slice encodes as nothing (gob does not encode them at the top
// level), which the session reads as the zero value.
func encodeGob(v reflect.Value) ([]byte, string) {
	if why := notCarriable(v.Type(), "", map[reflect.Type]bool{}); why != "" {
		return nil, why
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if v.IsNil() {
			return nil, ""
		}
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).EncodeValue(v); err != nil {
		return nil, "gob cannot encode it: " + err.Error()
	}
	return b.Bytes(), ""
}

var (
	gobEncoderType = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshal  = reflect.TypeFor[encoding.BinaryMarshaler]()
)

// notCarriable says why gob cannot carry values of type t into the
// notebook ("" if it can): gob refuses funcs and channels, cannot name an
// interface's dynamic type to a session that did not register it, and
// silently drops unexported fields. at names the part of the value.
func notCarriable(t reflect.Type, at string, seen map[reflect.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	if t.Implements(gobEncoderType) || reflect.PointerTo(t).Implements(gobEncoderType) ||
		t.Implements(binaryMarshal) || reflect.PointerTo(t).Implements(binaryMarshal) {
		return ""
	}
	what := "it"
	if at != "" {
		what = "its part " + at
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Uintptr:
		return fmt.Sprintf("%s is a %s, which gob cannot encode", what, TypeName(t))
	case reflect.Interface:
		return fmt.Sprintf("%s is an interface value (%s): gob cannot carry its dynamic type", what, TypeName(t))
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
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				return fmt.Sprintf("%s is a %s, whose field %s is unexported: gob would lose it", what, TypeName(t), f.Name)
			}
			if why := notCarriable(f.Type, at+"."+f.Name, seen); why != "" {
				return why
			}
		}
	}
	return ""
}

// TypeName writes t as a plain cell of the notebook writes it: reflect's
// name with the "main." of the program's own types left out (a type the
// program declared came from a cell, which names it bare: Point, not
// main.Point), other packages by their names (*mat.Dense).
func TypeName(t reflect.Type) string { return stripMain(t.String()) }

// stripMain leaves out of a type's text the "main." that qualifies names
// of package main, and no other package's name that ends in main.
func stripMain(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "main.") && (i == 0 || !isIdentByte(s[i-1])) {
			i += len("main.") - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isIdentByte reports whether c may be part of a Go identifier (any byte
// of a multi-byte rune counts: it cannot start a package name here).
func isIdentByte(c byte) bool {
	return c == '_' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
