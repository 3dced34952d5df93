package mpi

// #include "mpigo.h"
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// Error is the panic value when the MPI library itself reports a failure
// (communicators use MPI_ERRORS_RETURN, so MPI returns the error instead of
// aborting the job). It names the Go call, the rank and MPI's own message.
// The package never returns errors: a panicking rank exits, and mpirun (or
// %mpirun) shows its output, which starts with this message.
//
//	defer func() {
//		if e, ok := recover().(*mpi.Error); ok {
//			log.Printf("rank %d: %s failed: %s", e.Rank, e.Call, e.Msg)
//			panic(e)
//		}
//	}()
type Error struct {
	Call  string // the call with its arguments, e.g. "Comm.Recv(source=1, tag=7)"
	Rank  int    // rank in World of the process that got the error, -1 before Init
	Code  int    // MPI error code
	Class int    // MPI error class of Code
	Msg   string // MPI_Error_string(Code)
}

// Error formats the error as "mpi: rank R: CALL: MESSAGE".
//
//	fmt.Println(err) // mpi: rank 0: Comm.Recv(source=1, tag=0): MPI_ERR_TRUNCATE: message truncated
func (e *Error) Error() string {
	return fmt.Sprintf("mpi: rank %d: %s: %s", e.Rank, e.Call, e.Msg)
}

// mpiError builds the Error for an MPI error code.
func mpiError(code, rank int, call string) *Error {
	buf := make([]byte, int(C.mpigo_max_error_string())+1)
	var n C.int
	msg := ""
	if C.mpigo_error_string(C.int(code), (*C.char)(unsafe.Pointer(&buf[0])), &n) == 0 {
		msg = strings.TrimRight(string(buf[:n]), "\x00\n ")
	}
	if msg == "" {
		msg = fmt.Sprintf("MPI error code %d", code)
	}
	return &Error{Call: call, Rank: rank, Code: code, Class: int(C.mpigo_error_class(C.int(code))), Msg: msg}
}

// UsageError is the panic value for misuse the package detects before
// calling MPI: an unsupported element type, a buffer of the wrong length, a
// rank or tag out of range, a call before Init. Its message says what is
// wrong and how to fix it; Err holds an underlying error (from encoding/gob
// for the object calls).
//
//	defer func() {
//		if e, ok := recover().(*mpi.UsageError); ok {
//			fmt.Println(e.Call, e.Arg, e.Msg)
//		}
//	}()
//	mpi.World.Send([]string{"x"}, 1, 0) // panics: strings are not MPI elements; use SendObj
type UsageError struct {
	Call string // the package call, e.g. "Comm.Scatter"
	Arg  string // the offending argument, e.g. "recv"; empty if none
	Msg  string // what is wrong and the fix
	Err  error  // the underlying error, or nil
}

// Error formats the error as "mpi: CALL: ARG: MESSAGE[: ERR]".
//
//	fmt.Println(err) // mpi: Comm.Send: dest: rank 4 is out of range ...
func (e *UsageError) Error() string {
	var b strings.Builder
	b.WriteString("mpi: ")
	b.WriteString(e.Call)
	if e.Arg != "" {
		b.WriteString(": ")
		b.WriteString(e.Arg)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error (from encoding/gob, for the object
// calls), for errors.Is and errors.As.
//
//	if e, ok := recover().(*mpi.UsageError); ok && e.Unwrap() != nil {
//		log.Print("gob: ", e.Unwrap())
//	}
func (e *UsageError) Unwrap() error { return e.Err }

func usage(call, arg, msg string) *UsageError {
	return &UsageError{Call: call, Arg: arg, Msg: msg}
}

func usagef(call, arg, format string, args ...any) *UsageError {
	return &UsageError{Call: call, Arg: arg, Msg: fmt.Sprintf(format, args...)}
}
