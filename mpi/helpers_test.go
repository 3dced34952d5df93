package mpi

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// needChild skips a test that needs MPI when this process is not a rank.
func needChild(t *testing.T) *Comm {
	t.Helper()
	if !child() {
		t.Skip("needs mpirun; `go test` runs it through TestMPI")
	}
	return World
}

type myFloat float64 // a named element type: goes through the reflect path

// typeCase generates slices of one element type: values(n, seed) returns a
// []T whose elements depend on seed (usually a rank) and the index, using
// the type's whole range where it can.
type typeCase struct {
	name   string
	values func(n, seed int) any
}

func gen[T any](f func(seed, i int) T) func(n, seed int) any {
	return func(n, seed int) any {
		s := make([]T, n)
		for i := range s {
			s[i] = f(seed, i)
		}
		return s
	}
}

var typeCases = []typeCase{
	{"int", gen(func(s, i int) int { return math.MinInt + s<<40 + i*977 })},
	{"int8", gen(func(s, i int) int8 { return int8(s*31 + i*7 - 100) })},
	{"int16", gen(func(s, i int) int16 { return int16(-32000 + s*1000 + i*37) })},
	{"int32", gen(func(s, i int) int32 { return int32(-2_000_000_000 + s*10_000_000 + i*13) })},
	{"int64", gen(func(s, i int) int64 { return math.MinInt64 + int64(s)<<40 + int64(i)*977 })},
	{"uint", gen(func(s, i int) uint { return 1<<63 + uint(s)<<40 + uint(i)*977 })},
	{"uint8", gen(func(s, i int) uint8 { return uint8(200 + s*7 + i) })},
	{"uint16", gen(func(s, i int) uint16 { return uint16(60000 + s*100 + i) })},
	{"uint32", gen(func(s, i int) uint32 { return 4_000_000_000 + uint32(s)*1_000_000 + uint32(i) })},
	{"uint64", gen(func(s, i int) uint64 { return 1<<63 + uint64(s)<<40 + uint64(i)*977 })},
	{"uintptr", gen(func(s, i int) uintptr { return ^uintptr(0) - uintptr(s)<<20 - uintptr(i) })},
	{"float32", gen(func(s, i int) float32 { return float32(s*1000+i)*0.25 - 1e5 })},
	{"float64", gen(func(s, i int) float64 { return float64(s)*1e10 + float64(i)*0.5 - 1e300 })},
	{"complex64", gen(func(s, i int) complex64 { return complex(float32(s)+0.5, -float32(i)) })},
	{"complex128", gen(func(s, i int) complex128 { return complex(float64(s)*1e10, -float64(i)*0.25) })},
	{"bool", gen(func(s, i int) bool { return (s+i)%3 == 0 })},
	{"byte", gen(func(s, i int) byte { return byte(s*16 + i) })},
	{"myFloat", gen(func(s, i int) myFloat { return myFloat(s) + myFloat(i)/8 })},
}

// asBytes views a slice's elements as bytes.
func asBytes(s any) []byte {
	v := reflect.ValueOf(s)
	n := v.Len() * int(v.Type().Elem().Size())
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(v.UnsafePointer()), n)
}

const guardElems = 3
const guardByte = 0xA5

// guarded is a sub-slice of a larger buffer whose elements around it, and
// itself, start as guardByte bytes: a call that writes past its count, or
// short of it, shows.
type guarded struct {
	whole any
	sub   any
	n     int
}

func newGuarded(like any, n int) *guarded {
	t := reflect.TypeOf(like)
	w := reflect.MakeSlice(t, n+2*guardElems, n+2*guardElems)
	for i := range asBytes(w.Interface()) {
		asBytes(w.Interface())[i] = guardByte
	}
	return &guarded{whole: w.Interface(), sub: w.Slice(guardElems, guardElems+n).Interface(), n: n}
}

// check reports whether sub holds exactly (bit for bit) want and the guards
// are intact.
func (g *guarded) check(t *testing.T, want any, format string, args ...any) bool {
	t.Helper()
	return g.compare(t, want, true, format, args...)
}

// checkValues is check comparing elements with == (so -0 == +0, as a
// reduction's order of operations may give either).
func (g *guarded) checkValues(t *testing.T, want any, format string, args ...any) bool {
	t.Helper()
	return g.compare(t, want, false, format, args...)
}

func (g *guarded) compare(t *testing.T, want any, exact bool, format string, args ...any) bool {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	all := asBytes(g.whole)
	esz := len(all) / (g.n + 2*guardElems)
	for i, b := range all {
		if i >= guardElems*esz && i < (guardElems+g.n)*esz {
			continue
		}
		if b != guardByte {
			side := "before"
			if i >= guardElems*esz {
				side = "after"
			}
			t.Errorf("%s: guard byte %d %s the buffer was overwritten (0x%02x): the call wrote outside its %d elements", what, i, side, b, g.n)
			return false
		}
	}
	if !exact && reflect.TypeOf(want).Elem().Kind() != reflect.Bool {
		if !equalValues(g.sub, want) {
			t.Errorf("%s: got %v, want %v", what, short(g.sub), short(want))
			return false
		}
		return true
	}
	if got, w := asBytes(g.sub), asBytes(want); !bytes.Equal(got, w) {
		t.Errorf("%s: got %v, want %v", what, short(g.sub), short(want))
		return false
	}
	return true
}

func short(s any) string {
	str := fmt.Sprint(s)
	if len(str) > 200 {
		str = str[:200] + "..."
	}
	return str
}

// expectPanic runs f and checks that it panics with a *UsageError (or
// *Error if mpiErr) whose message contains every want string.
func expectPanic(t *testing.T, name string, mpiErr bool, f func(), want ...string) {
	t.Helper()
	var got any
	func() {
		defer func() { got = recover() }()
		f()
	}()
	if got == nil {
		t.Errorf("%s: did not panic", name)
		return
	}
	var msg string
	if mpiErr {
		e, ok := got.(*Error)
		if !ok {
			t.Errorf("%s: panicked with %T %v, want *mpi.Error", name, got, got)
			return
		}
		msg = e.Error()
	} else {
		e, ok := got.(*UsageError)
		if !ok {
			t.Errorf("%s: panicked with %T %v, want *mpi.UsageError", name, got, got)
			return
		}
		msg = e.Error()
	}
	for _, w := range want {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
			t.Errorf("%s: panic message %q does not contain %q", name, msg, w)
		}
	}
}

// equalValues compares two slices of the same type element by element
// with ==.
func equalValues(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Len() != vb.Len() {
		return false
	}
	for i := 0; i < va.Len(); i++ {
		if !va.Index(i).Equal(vb.Index(i)) {
			return false
		}
	}
	return true
}
