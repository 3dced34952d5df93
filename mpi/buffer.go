package mpi

// #include "mpigo.h"
import "C"

import (
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// kind is an MPI element type; the values are the MPIGO_* codes of mpigo.h.
type kind uint8

const (
	kNone       kind = C.MPIGO_NONE
	kInt8       kind = C.MPIGO_INT8
	kInt16      kind = C.MPIGO_INT16
	kInt32      kind = C.MPIGO_INT32
	kInt64      kind = C.MPIGO_INT64
	kUint8      kind = C.MPIGO_UINT8
	kUint16     kind = C.MPIGO_UINT16
	kUint32     kind = C.MPIGO_UINT32
	kUint64     kind = C.MPIGO_UINT64
	kFloat32    kind = C.MPIGO_FLOAT32
	kFloat64    kind = C.MPIGO_FLOAT64
	kComplex64  kind = C.MPIGO_COMPLEX64
	kComplex128 kind = C.MPIGO_COMPLEX128
	kBool       kind = C.MPIGO_BOOL
	kByte       kind = C.MPIGO_BYTE // MPI_BYTE, for the object calls
	nKinds           = C.MPIGO_NKINDS
)

// int, uint and uintptr map to the fixed-size MPI type of their size
// (kInt64 == kInt32+1, and likewise for the unsigned codes).
const (
	kInt     = kInt32 + kind(^uint(0)>>63)
	kUint    = kUint32 + kind(^uint(0)>>63)
	kUintptr = kUint32 + kind(^uintptr(0)>>63)
)

var kindSize = [nKinds]uintptr{
	kInt8: 1, kInt16: 2, kInt32: 4, kInt64: 8,
	kUint8: 1, kUint16: 2, kUint32: 4, kUint64: 8,
	kFloat32: 4, kFloat64: 8, kComplex64: 8, kComplex128: 16,
	kBool: 1, kByte: 1,
}

// kindShift is log2 of kindSize: counts are byte counts shifted right.
var kindShift = [nKinds]uint8{
	kInt8: 0, kInt16: 1, kInt32: 2, kInt64: 3,
	kUint8: 0, kUint16: 1, kUint32: 2, kUint64: 3,
	kFloat32: 2, kFloat64: 3, kComplex64: 3, kComplex128: 4,
	kBool: 0, kByte: 0,
}

var kindName = [nKinds]string{
	kNone: "none", kInt8: "int8", kInt16: "int16", kInt32: "int32", kInt64: "int64",
	kUint8: "uint8", kUint16: "uint16", kUint32: "uint32", kUint64: "uint64",
	kFloat32: "float32", kFloat64: "float64", kComplex64: "complex64", kComplex128: "complex128",
	kBool: "bool", kByte: "byte",
}

func (k kind) isInteger() bool { return k >= kInt8 && k <= kUint64 || k == kByte }
func (k kind) isFloat() bool   { return k == kFloat32 || k == kFloat64 }
func (k kind) isComplex() bool { return k == kComplex64 || k == kComplex128 }

// buffer is a Go value seen as n elements of kind k at ptr, without copying.
type buffer struct {
	ptr unsafe.Pointer
	n   int
	k   kind
}

func (b buffer) bytes() uintptr { return uintptr(b.n) * kindSize[b.k] }

// addr is the buffer's address as the hot C helpers take it: not a pointer,
// so that cgo does not check the memory for Go pointers on every call (it
// holds numbers only, by construction). The caller keeps the Go value
// alive until the call returns (runtime.KeepAlive). Memory on the calling
// goroutine's stack is safe too: a goroutine's stack does not move while
// it is in a cgo call.
func (b buffer) addr() C.uintptr_t { return C.uintptr_t(uintptr(b.ptr)) }

// addrOf is addr for the object calls' byte slices.
func addrOf(data []byte) C.uintptr_t {
	return C.uintptr_t(uintptr(unsafe.Pointer(unsafe.SliceData(data))))
}

// count returns n as a C int, panicking if MPI's int count cannot hold it.
func (b buffer) count(call, arg string) C.int {
	if b.n > math.MaxInt32 {
		panic(usagef(call, arg, "%d elements are more than an MPI count can hold (%d); send the data in parts", b.n, math.MaxInt32))
	}
	return C.int(b.n)
}

// typeName returns the Go type of x for messages. It uses reflect, not
// fmt's %T, so that x does not escape: buffers passed as any then cost no
// allocation.
func typeName(x any) string {
	t := reflect.TypeOf(x)
	if t == nil {
		return "nil"
	}
	return t.String()
}

// bufferOf returns the buffer view of buf, which must be a slice of a
// supported element type, or a pointer to one such value or to an array of
// them. The common types take a type switch, named types reflect.
//
// Escape analysis: buf flows only to the result, and from there to C
// functions declared `#cgo noescape` (the blocking calls, which do not keep
// the pointer; see cgo_directives.go), so passing a slice as buf costs no
// heap allocation at the call site. Isend and Irecv pin the memory instead.
func bufferOf(call, arg string, buf any) buffer {
	switch v := buf.(type) {
	case []float64:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kFloat64}
	case []int:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kInt}
	case []byte:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kUint8}
	case []float32:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kFloat32}
	case []int64:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kInt64}
	case []int32:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kInt32}
	case []int16:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kInt16}
	case []int8:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kInt8}
	case []uint:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kUint}
	case []uint64:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kUint64}
	case []uint32:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kUint32}
	case []uint16:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kUint16}
	case []uintptr:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kUintptr}
	case []complex128:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kComplex128}
	case []complex64:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kComplex64}
	case []bool:
		return buffer{unsafe.Pointer(unsafe.SliceData(v)), len(v), kBool}
	case *float64:
		return pointerBuffer(call, arg, unsafe.Pointer(v), kFloat64, buf)
	case *int:
		return pointerBuffer(call, arg, unsafe.Pointer(v), kInt, buf)
	case *int64:
		return pointerBuffer(call, arg, unsafe.Pointer(v), kInt64, buf)
	case *int32:
		return pointerBuffer(call, arg, unsafe.Pointer(v), kInt32, buf)
	case *uint64:
		return pointerBuffer(call, arg, unsafe.Pointer(v), kUint64, buf)
	case *float32:
		return pointerBuffer(call, arg, unsafe.Pointer(v), kFloat32, buf)
	case *bool:
		return pointerBuffer(call, arg, unsafe.Pointer(v), kBool, buf)
	}
	return bufferReflect(call, arg, buf)
}

func pointerBuffer(call, arg string, p unsafe.Pointer, k kind, buf any) buffer {
	if p == nil {
		panic(usagef(call, arg, "is a nil %s; pass a pointer to a variable (&x) or a slice", typeName(buf)))
	}
	return buffer{p, 1, k}
}

// kindOf maps a reflect kind to an MPI element kind (kNone if unsupported).
func kindOf(k reflect.Kind) kind {
	switch k {
	case reflect.Int8:
		return kInt8
	case reflect.Int16:
		return kInt16
	case reflect.Int32:
		return kInt32
	case reflect.Int64:
		return kInt64
	case reflect.Int:
		return kInt
	case reflect.Uint8:
		return kUint8
	case reflect.Uint16:
		return kUint16
	case reflect.Uint32:
		return kUint32
	case reflect.Uint64:
		return kUint64
	case reflect.Uint:
		return kUint
	case reflect.Uintptr:
		return kUintptr
	case reflect.Float32:
		return kFloat32
	case reflect.Float64:
		return kFloat64
	case reflect.Complex64:
		return kComplex64
	case reflect.Complex128:
		return kComplex128
	case reflect.Bool:
		return kBool
	}
	return kNone
}

const supported = "a slice of int, int8..int64, uint, uint8..uint64, uintptr, float32, float64, complex64, complex128, bool or byte (or a pointer to one such value)"

func bufferReflect(call, arg string, buf any) buffer {
	if buf == nil {
		panic(usagef(call, arg, "is nil; pass %s", supported))
	}
	v := reflect.ValueOf(buf)
	t := v.Type()
	switch t.Kind() {
	case reflect.Slice:
		if k := kindOf(t.Elem().Kind()); k != kNone {
			return buffer{v.UnsafePointer(), v.Len(), k}
		}
	case reflect.Pointer:
		e := t.Elem()
		if k := kindOf(e.Kind()); k != kNone {
			return pointerBuffer(call, arg, v.UnsafePointer(), k, buf)
		}
		if e.Kind() == reflect.Array {
			if k := kindOf(e.Elem().Kind()); k != kNone {
				b := pointerBuffer(call, arg, v.UnsafePointer(), k, buf)
				b.n = e.Len()
				return b
			}
		}
	case reflect.Array:
		panic(usagef(call, arg, "is an array (%s), passed by value; pass a slice of it (a[:]) or a pointer (&a)", typeName(buf)))
	}
	hint := ""
	if len(call) > 5 && call[:5] == "Comm." {
		switch call[5:] {
		case "Send", "Recv", "Bcast", "Scatter", "Gather", "Allgather":
			hint = fmt.Sprintf("; to send any Go value (strings, structs, maps...) use %sObj, which encodes it with encoding/gob", call)
		}
	}
	panic(usagef(call, arg, "unsupported type %s; pass %s%s", typeName(buf), supported, hint))
}

// sameMemory reports whether a and b are the same memory (an in-place
// operation) and panics if they overlap otherwise.
func sameMemory(call string, a, b buffer) bool {
	if a.n == 0 || b.n == 0 {
		return false
	}
	a0, a1 := uintptr(a.ptr), uintptr(a.ptr)+a.bytes()
	b0, b1 := uintptr(b.ptr), uintptr(b.ptr)+b.bytes()
	if a0 == b0 && a1 == b1 {
		return true
	}
	if a0 < b1 && b0 < a1 {
		panic(usage(call, "recv", "overlaps send without being the same memory; use separate slices, or pass the same slice as send and recv to operate in place"))
	}
	return false
}

// mpiTypeSize returns MPI_Type_size of the MPI datatype kind k maps to, or
// -1; the tests check it against kindSize.
func mpiTypeSize(k kind) int { return int(C.mpigo_type_size(C.int(k))) }
